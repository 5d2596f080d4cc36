"""RobustLowRankRegressor / RobustLowRankClassifier: optimality against cvxpy in both layouts,
the exact limits (LowRankRegressor / LowRankClassifier, per-task group lasso), an independently
recomputed duality gap, outlier-task recovery and the usual estimator behaviour."""

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from _structure_helpers import (
    least_squares_gap,
    least_squares_value,
    long_task_last,
    two_part_least_squares_optimum,
    two_part_logistic_optimum,
)
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skmtl.linear import (
    LowRankClassifier,
    LowRankRegressor,
    RobustLowRankClassifier,
    RobustLowRankRegressor,
)

N_T = (30, 45, 60, 38, 50)


def _tasks(seed=0, p=6, n_t=N_T, outliers=(2,), noise=0.3):
    """Rank-one shared structure; the ``outliers`` tasks have their own coefficients."""
    rng = np.random.default_rng(seed)
    T = len(n_t)
    W = np.outer(rng.normal(size=p), 1.0 + 0.2 * rng.normal(size=T))
    for t in outliers:
        W[:, t] = 2.0 * rng.normal(size=p)
    Xs = [rng.normal(size=(n, p)) + 0.5 for n in n_t]
    ys = [X @ W[:, t] + 0.3 + noise * rng.normal(size=len(X)) for t, X in enumerate(Xs)]
    return Xs, ys, W


def _wide(seed=0, n=70, p=6, T=5, missing=0.3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + 0.3
    W = np.outer(rng.normal(size=p), np.ones(T))
    W[:, 1] = 2 * rng.normal(size=p)
    Y = X @ W + 0.3 * rng.normal(size=(n, T))
    Y[rng.random((n, T)) < missing] = np.nan
    Xs = [X[~np.isnan(Y[:, t])] for t in range(T)]
    ys = [Y[~np.isnan(Y[:, t]), t] for t in range(T)]
    return X, Y, Xs, ys


def _cvx_robust(Xs, ys, alpha, beta):
    return two_part_least_squares_optimum(
        Xs, ys, lambda L, S: alpha * cp.normNuc(L) + beta * cp.sum(cp.norm(S, 2, axis=0))
    )


def _objective(model, Xs, ys, alpha, beta):
    W, b = model.coef_.T, model.intercept_
    L, S = model.low_rank_coef_.T, model.outlier_coef_.T
    pen = alpha * np.linalg.norm(L, "nuc") + beta * np.sum(np.linalg.norm(S, axis=0))
    return least_squares_value(Xs, ys, W, b) + pen


def _gap(Xs, ys, model, alpha, beta):
    """Duality gap from scratch; dual norm ``max(||G||_2 / alpha, max_t ||g_t|| / beta)``."""
    L, S = model.low_rank_coef_.T, model.outlier_coef_.T
    pen = alpha * np.linalg.norm(L, "nuc") + beta * np.sum(np.linalg.norm(S, axis=0))
    return least_squares_gap(
        Xs,
        ys,
        model.coef_.T,
        pen,
        lambda G: max(np.linalg.norm(G, 2) / alpha, np.max(np.linalg.norm(G, axis=0)) / beta),
    )


@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("alpha, beta", [(0.3, 0.2), (0.1, 0.08), (0.5, 0.3)])
def test_matches_cvxpy(layout, alpha, beta):
    if layout == "wide":
        X, Y, Xs, ys = _wide()
        model = RobustLowRankRegressor(alpha=alpha, beta=beta, tol=1e-10, max_iter=100000)
        model.fit(X, Y)
    else:
        Xs, ys, _ = _tasks()
        X, y = long_task_last(Xs, ys)
        model = RobustLowRankRegressor(alpha=alpha, beta=beta, task_column=X.shape[1] - 1,
                                       tol=1e-10, max_iter=100000).fit(X, y)
    T = len(Xs)
    assert alpha / np.sqrt(T) < beta < alpha
    ref, W_ref = _cvx_robust(Xs, ys, alpha, beta)
    obj = _objective(model, Xs, ys, alpha, beta)
    assert obj <= ref + 1e-7
    assert_allclose(model.coef_.T, W_ref, atol=1e-4)
    assert_allclose(model.low_rank_coef_ + model.outlier_coef_, model.coef_, atol=1e-14)
    gap = _gap(Xs, ys, model, alpha, beta)
    assert gap <= model.dual_gap_ * (1 + 1e-6) + 1e-12
    assert obj - ref <= gap + 1e-8


def test_gap_certifies_a_loose_solution():
    Xs, ys, _ = _tasks(seed=5)
    X, y = long_task_last(Xs, ys)
    model = RobustLowRankRegressor(alpha=0.3, beta=0.2, task_column=6, tol=1e-2).fit(X, y)
    ref, _ = _cvx_robust(Xs, ys, 0.3, 0.2)
    assert _objective(model, Xs, ys, 0.3, 0.2) - ref <= model.dual_gap_ + 1e-9


@pytest.mark.parametrize("beta", [0.3, 0.6])
def test_beta_at_least_alpha_is_low_rank(beta):
    X, Y, _, _ = _wide(seed=1)
    robust = RobustLowRankRegressor(alpha=0.3, beta=beta, tol=1e-10, max_iter=50000).fit(X, Y)
    low = LowRankRegressor(alpha=0.3, tol=1e-10, max_iter=50000).fit(X, Y)
    assert_allclose(robust.coef_, low.coef_, atol=1e-8)
    assert np.all(robust.outlier_coef_ == 0)
    assert robust.outlier_tasks_.size == 0


def test_small_beta_is_independent_group_penalty():
    """``beta <= alpha / sqrt(T)``: ``L = 0`` and every task solves its own problem with
    ``beta ||w_t||_2`` (checked with cvxpy task by task)."""
    X, Y, Xs, ys = _wide(seed=2)
    alpha = 0.5
    beta = alpha / np.sqrt(Y.shape[1])
    model = RobustLowRankRegressor(alpha=alpha, beta=beta, tol=1e-11, max_iter=50000).fit(X, Y)
    assert np.all(model.low_rank_coef_ == 0)
    for t, (Xt, yt) in enumerate(zip(Xs, ys)):
        w, b = cp.Variable(Xt.shape[1]), cp.Variable()
        prob = cp.Problem(cp.Minimize(cp.sum_squares(yt - Xt @ w - b) / (2 * len(yt))
                                      + beta * cp.norm(w, 2)))
        prob.solve(solver="CLARABEL")
        assert_allclose(model.coef_[t], w.value, atol=1e-5)


def test_outlier_tasks_recovered():
    """Eight tasks on one shared direction, tasks 2 and 6 with coefficients of their own."""
    rng = np.random.default_rng(0)
    n, p, T = 150, 10, 8
    X = rng.normal(size=(n, p))
    W = np.outer(rng.normal(size=p), 1.0 + 0.1 * rng.normal(size=T))
    W[:, 2] = 1.5 * rng.normal(size=p)
    W[:, 6] = 1.5 * rng.normal(size=p)
    Y = X @ W + 0.3 * rng.normal(size=(n, T))
    model = RobustLowRankRegressor(alpha=0.3, beta=0.2).fit(X, Y)
    assert model.outlier_tasks_.tolist() == [2, 6]
    assert np.linalg.matrix_rank(model.low_rank_coef_, tol=1e-6) == 1
    assert model.outlier_norms_.shape == (T,)


def test_outlier_tasks_by_name_in_long_layout():
    pd = pytest.importorskip("pandas")
    Xs, ys, _ = _tasks(seed=0, n_t=(80,) * 6, outliers=(4,), noise=0.2)
    X, y = long_task_last(Xs, ys)
    names = np.array(["a", "b", "c", "d", "e", "f"])
    df = pd.DataFrame(X[:, :-1], columns=[f"x{j}" for j in range(6)])
    df["school"] = names[X[:, -1].astype(int)]
    model = RobustLowRankRegressor(alpha=0.3, beta=0.18, task_column="school").fit(df, y)
    assert model.outlier_tasks_.tolist() == ["e"]


def _logistic_ref(Xs, ys, alpha, beta):
    return two_part_logistic_optimum(
        Xs, ys, lambda L, S: alpha * cp.normNuc(L) + beta * cp.sum(cp.norm(S, 2, axis=0))
    )


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_classifier_matches_cvxpy(layout):
    rng = np.random.default_rng(0)
    Xs = [rng.normal(size=(n, 4)) for n in (60, 80, 70, 50)]
    ys = [((X[:, 2] if t == 3 else X[:, 0] - X[:, 1]) + 0.5 * rng.normal(size=len(X)) > 0)
          .astype(float) for t, X in enumerate(Xs)]
    alpha, beta = 0.05, 0.035
    if layout == "long":
        X, y = long_task_last(Xs, ys)
        model = RobustLowRankClassifier(alpha=alpha, beta=beta, task_column=4, tol=1e-9,
                                        max_iter=50000).fit(X, y)
    else:
        X = np.vstack(Xs)
        Y = np.full((len(X), 4), np.nan)
        start = np.cumsum([0] + [len(x) for x in Xs])
        for t in range(4):
            Y[start[t]:start[t + 1], t] = ys[t]
        model = RobustLowRankClassifier(alpha=alpha, beta=beta, tol=1e-9,
                                        max_iter=50000).fit(X, Y)
    W, b = model.coef_.T, model.intercept_
    L, S = model.low_rank_coef_.T, model.outlier_coef_.T
    obj = sum(np.mean(np.logaddexp(0, X @ W[:, t] + b[t]) - y * (X @ W[:, t] + b[t]))
              for t, (X, y) in enumerate(zip(Xs, ys)))
    obj += alpha * np.linalg.norm(L, "nuc") + beta * np.sum(np.linalg.norm(S, axis=0))
    ref = _logistic_ref(Xs, ys, alpha, beta)
    assert abs(obj - ref) <= 1e-6


def test_classifier_limit_and_class_blocks():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 5))
    Y = np.column_stack([X[:, 0] - X[:, 1] + 0.2 * k > 0 for k in range(3)]).astype(int)
    robust = RobustLowRankClassifier(alpha=0.03, beta=0.04, tol=1e-8, max_iter=20000).fit(X, Y)
    low = LowRankClassifier(alpha=0.03, tol=1e-8, max_iter=20000).fit(X, Y)
    assert_allclose(robust.coef_, low.coef_, atol=1e-6)
    # a 3-class task is one group: its three rows of outlier_coef_ are zero or not together
    y3 = np.array(["r", "g", "b"])[np.argmax(X[:, 2:5], axis=1)]
    Y2 = np.column_stack([Y.astype(object), y3])
    clf = RobustLowRankClassifier(alpha=0.03, beta=0.02).fit(X, Y2)
    block = clf.outlier_coef_[3:6]
    assert np.all(block == 0) == np.all(block[0] == 0) == (clf.outlier_norms_[3] == 0)
    assert set(clf.predict(X)[:, 3]) <= {"r", "g", "b"}


def test_sparse_X_warm_start_and_warning():
    X, Y, _, _ = _wide(seed=3)
    X[np.abs(X) < 0.4] = 0.0
    dense = RobustLowRankRegressor(alpha=0.3, beta=0.2, tol=1e-10, max_iter=50000).fit(X, Y)
    sparse = RobustLowRankRegressor(alpha=0.3, beta=0.2, tol=1e-10, max_iter=50000).fit(
        sp.csc_matrix(X), Y
    )
    assert_allclose(dense.coef_, sparse.coef_, atol=1e-7)
    model = RobustLowRankRegressor(alpha=0.3, beta=0.2, tol=1e-8, warm_start=True).fit(X, Y)
    first = model.n_iter_
    model.fit(X, Y)
    assert model.n_iter_ < first
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        RobustLowRankRegressor(alpha=0.3, beta=0.2, tol=1e-12, max_iter=3).fit(X, Y)


@pytest.mark.parametrize("param, value, exc", [
    ("beta", 0.0, InvalidParameterError), ("alpha", -1.0, InvalidParameterError),
    ("alpha", 0.0, ValueError)])
def test_bad_parameters(param, value, exc):
    # beta: the parameter constraints; alpha = 0: the family's own check (alpha is shared)
    X, Y = np.random.default_rng(0).normal(size=(20, 3)), np.zeros((20, 2))
    with pytest.raises(exc, match=param):
        RobustLowRankRegressor(**{param: value}).fit(X, Y)


def test_pipeline_and_grid_search():
    X, Y, _, _ = _wide(seed=4, n=150, missing=0.0)
    pipe = make_pipeline(StandardScaler(), RobustLowRankRegressor())
    grid = GridSearchCV(pipe, {"robustlowrankregressor__alpha": [0.05, 0.3],
                               "robustlowrankregressor__beta": [0.03, 0.2]}, cv=3)
    grid.fit(X, Y)
    assert grid.best_score_ > 0.8


def test_penalty_protocol_alpha_max_and_path():
    from skmtl.linear._path import least_squares_path
    from skmtl.linear._robust import RobustLowRank

    X, Y, _, _ = _wide(seed=6)
    pen = RobustLowRank(0.3, 0.2, [1] * Y.shape[1])
    assert pen.with_alpha(0.6).beta == pytest.approx(0.4)
    template = RobustLowRankRegressor(alpha=0.3, beta=0.2, tol=1e-10, max_iter=50000)
    alphas, coefs, _, _, _, _ = least_squares_path(template, X, Y, n_alphas=3, eps=0.2)
    assert np.all(coefs[0] == 0)
    below = RobustLowRankRegressor(alpha=alphas[0] * 0.97, beta=alphas[0] * 0.97 * 2 / 3)
    assert np.any(below.fit(X, Y).coef_ != 0)
    for a, W in zip(alphas[1:], coefs[1:]):
        direct = RobustLowRankRegressor(alpha=a, beta=a * 2 / 3, tol=1e-10,
                                        max_iter=50000).fit(X, Y)
        assert_allclose(W.T, direct.coef_, atol=1e-5)
