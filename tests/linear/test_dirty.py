"""DirtyRegressor / DirtyClassifier: optimality against cvxpy in both layouts, the exact limits
(SparseRegressor, scikit-learn's Lasso), an independently recomputed duality gap, the split
tie-break, support recovery and the usual estimator behaviour."""

import warnings

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
from sklearn.linear_model import Lasso
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skmtl.linear import DirtyClassifier, DirtyRegressor, SparseClassifier, SparseRegressor
from skmtl.linear._dirty import dirty_split

N_T = (30, 45, 60, 38)  # unequal samples per task


def _tasks(seed=0, p=7, n_t=N_T, shared=(0, 1), specific=((2, 4),)):
    """Per-task data: features ``shared`` used by all, ``specific`` (task, feature) by one."""
    rng = np.random.default_rng(seed)
    T = len(n_t)
    W = np.zeros((p, T))
    W[list(shared)] = rng.normal(size=(len(shared), T)) + 1.0
    for t, j in specific:
        W[j, t] = 2.0
    Xs = [rng.normal(size=(n, p)) + 0.5 for n in n_t]
    ys = [X @ W[:, t] + 0.3 + 0.3 * rng.normal(size=len(X)) for t, X in enumerate(Xs)]
    return Xs, ys, W


def _wide(Xs, ys):
    """All tasks on one design, missing labels (NaN) giving the unequal n_t."""
    n = max(len(X) for X in Xs)
    X = Xs[int(np.argmax([len(X) for X in Xs]))]
    rng = np.random.default_rng(1)
    Y = np.full((n, len(Xs)), np.nan)
    for t, y in enumerate(ys):
        rows = np.sort(rng.choice(n, size=len(y), replace=False))
        Y[rows, t] = X[rows] @ np.linalg.lstsq(Xs[t], y, rcond=None)[0] + 0.3 * rng.normal(
            size=len(y)
        )
    return X, Y


def _per_task(X, Y):
    return [X[~np.isnan(Y[:, t])] for t in range(Y.shape[1])], [
        Y[~np.isnan(Y[:, t]), t] for t in range(Y.shape[1])
    ]


def _cvx_dirty(Xs, ys, alpha, beta):
    return two_part_least_squares_optimum(
        Xs, ys, lambda P, Q: alpha * cp.sum(cp.norm(P, 2, axis=1)) + beta * cp.sum(cp.abs(Q))
    )


def _objective(model, Xs, ys, alpha, beta):
    P, Q = model.shared_coef_.T, model.specific_coef_.T
    pen = alpha * np.sum(np.linalg.norm(P, axis=1)) + beta * np.sum(np.abs(Q))
    return least_squares_value(Xs, ys, model.coef_.T, model.intercept_) + pen


def _gap(Xs, ys, W, alpha, beta):
    """Duality gap recomputed from scratch: centred per-task least squares, dual point the
    rescaled residual, dual norm ``max(max_j ||G_j|| / alpha, max |G_jt| / beta)``."""
    P, Q = dirty_split(W, alpha, beta)
    pen = alpha * np.sum(np.linalg.norm(P, axis=1)) + beta * np.sum(np.abs(Q))
    return least_squares_gap(
        Xs,
        ys,
        W,
        pen,
        lambda G: max(np.max(np.linalg.norm(G, axis=1)) / alpha, np.max(np.abs(G)) / beta),
    )


@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("alpha, beta", [(0.1, 0.07), (0.05, 0.04), (0.2, 0.12)])
def test_matches_cvxpy(layout, alpha, beta):
    Xs, ys, _ = _tasks()
    if layout == "wide":
        X, Y = _wide(Xs, ys)
        Xs, ys = _per_task(X, Y)
        model = DirtyRegressor(alpha=alpha, beta=beta, tol=1e-10, max_iter=50000).fit(X, Y)
    else:
        X, y = long_task_last(Xs, ys)
        model = DirtyRegressor(alpha=alpha, beta=beta, task_column=X.shape[1] - 1, tol=1e-10,
                               max_iter=50000).fit(X, y)
    assert 0 < beta * np.sqrt(len(Xs)) and beta < alpha  # strictly between the limits
    ref, W_ref = _cvx_dirty(Xs, ys, alpha, beta)
    obj = _objective(model, Xs, ys, alpha, beta)
    assert obj <= ref + 1e-7
    assert_allclose(model.coef_.T, W_ref, atol=1e-4)
    assert_allclose(model.shared_coef_ + model.specific_coef_, model.coef_, atol=1e-14)
    # the certificate: recomputed independently, it bounds the suboptimality
    gap = _gap(Xs, ys, model.coef_.T, alpha, beta)
    assert gap <= model.dual_gap_ * (1 + 1e-6) + 1e-12
    assert obj - ref <= gap + 1e-8


def test_gap_certifies_a_loose_solution():
    Xs, ys, _ = _tasks(seed=3)
    X, y = long_task_last(Xs, ys)
    alpha, beta = 0.1, 0.07
    model = DirtyRegressor(alpha=alpha, beta=beta, task_column=X.shape[1] - 1, tol=1e-2).fit(X, y)
    ref, _ = _cvx_dirty(Xs, ys, alpha, beta)
    obj = _objective(model, Xs, ys, alpha, beta)
    assert obj - ref <= model.dual_gap_ + 1e-9
    scale = sum(np.sum((y - y.mean()) ** 2) / len(y) for y in ys)
    assert model.dual_gap_ <= 1e-2 * scale


def test_beta_at_least_alpha_is_sparse_regressor():
    Xs, ys, _ = _tasks(seed=1)
    X, Y = _wide(Xs, ys)
    for beta in (0.1, 0.3):
        dirty = DirtyRegressor(alpha=0.1, beta=beta, tol=1e-10, max_iter=50000).fit(X, Y)
        sparse = SparseRegressor(alpha=0.1, tol=1e-10, max_iter=50000).fit(X, Y)
        assert_allclose(dirty.coef_, sparse.coef_, atol=1e-8)
        assert_allclose(dirty.intercept_, sparse.intercept_, atol=1e-8)
        assert np.all(dirty.specific_coef_ == 0)
        assert_allclose(dirty.shared_coef_, dirty.coef_)


@pytest.mark.parametrize("ratio", [1.0, 0.7])
def test_small_beta_is_lasso_per_task(ratio):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 9))
    Y = X @ (rng.normal(size=(9, 4)) * (rng.random((9, 4)) < 0.4)) + 0.2 * rng.normal(size=(80, 4))
    alpha = 0.3
    beta = ratio * alpha / np.sqrt(4)
    dirty = DirtyRegressor(alpha=alpha, beta=beta, tol=1e-12, max_iter=50000).fit(X, Y)
    assert np.all(dirty.shared_coef_ == 0)
    for t in range(4):
        lasso = Lasso(alpha=beta, tol=1e-12, max_iter=100000).fit(X, Y[:, t])
        assert_allclose(dirty.coef_[t], lasso.coef_, atol=1e-7)
        assert_allclose(dirty.intercept_[t], lasso.intercept_, atol=1e-7)


def _inner_value(w, alpha, beta):
    p = cp.Variable(len(w))
    prob = cp.Problem(cp.Minimize(alpha * cp.norm(p, 2) + beta * cp.norm(w - p, 1)))
    prob.solve(solver="CLARABEL")
    return prob.value


def test_split_is_the_row_minimiser():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(40, 5)) * (rng.random((40, 5)) < 0.7)
    W[0] = 0.0
    W[1] = [3.0, 0.1, -0.2, 0.0, 0.05]
    for alpha, beta in [(1.0, 0.6), (1.0, 0.47), (1.0, 0.9), (2.0, 0.5)]:
        P, Q = dirty_split(W, alpha, beta)
        assert_allclose(P + Q, W, atol=1e-15)
        values = alpha * np.linalg.norm(P, axis=1) + beta * np.abs(Q).sum(axis=1)
        for j in range(len(W)):
            assert values[j] <= _inner_value(W[j], alpha, beta) + 1e-7


def test_split_tie_break():
    alpha = 1.0
    # beta = alpha: a row with one nonzero entry is shared (the sparse limit)
    W = np.array([[0.0, 2.0, 0.0, 0.0], [1.0, -1.0, 0.5, 0.0]])
    P, Q = dirty_split(W, alpha, alpha)
    assert_allclose(P, W)
    assert np.all(Q == 0)
    # beta = alpha / sqrt(k) with k = 4 nonzero entries: a tie, broken towards specific
    W = np.array([[1.0, -1.0, 1.0, 1.0], [3.0, 1.0, -1.0, 1.0]])
    P, Q = dirty_split(W, alpha, alpha / 2.0)
    assert np.all(P == 0)
    assert_allclose(Q, W)
    # just above the tie the rows have a shared part
    P, Q = dirty_split(W, alpha, 0.6 * alpha)
    assert np.all(np.any(P != 0, axis=1))


def test_support_recovery():
    """Features 0-2 used by every task, (task 1, feature 6) and (task 3, feature 8) by one."""
    rng = np.random.default_rng(0)
    n, p, T = 300, 12, 5
    X = rng.normal(size=(n, p))
    W = np.zeros((p, T))
    W[:3] = 1.0 + 0.3 * rng.normal(size=(3, T))
    W[6, 1], W[8, 3] = 1.5, -1.5
    Y = X @ W + 0.1 * rng.normal(size=(n, T))
    model = DirtyRegressor(alpha=0.05, beta=0.035).fit(X, Y)
    assert set(np.flatnonzero(np.any(model.shared_coef_ != 0, axis=0))) == {0, 1, 2}
    assert {tuple(x) for x in np.argwhere(model.specific_coef_ != 0)} == {(1, 6), (3, 8)}


def _logistic_ref(Xs, ys, alpha, beta):
    return two_part_logistic_optimum(
        Xs, ys, lambda P, Q: alpha * cp.sum(cp.norm(P, 2, axis=1)) + beta * cp.sum(cp.abs(Q))
    )


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_classifier_matches_cvxpy(layout):
    rng = np.random.default_rng(0)
    Xs = [rng.normal(size=(n, 5)) for n in (60, 80, 70)]
    ys = [(X[:, 0] + (t == 1) * 1.5 * X[:, 3] + 0.5 * rng.normal(size=len(X)) > 0).astype(float)
          for t, X in enumerate(Xs)]
    alpha, beta = 0.05, 0.035
    if layout == "long":
        X, y = long_task_last(Xs, ys)
        model = DirtyClassifier(alpha=alpha, beta=beta, task_column=5, tol=1e-9,
                                max_iter=50000).fit(X, y)
        W, b = model.coef_.T, model.intercept_
    else:
        X = np.vstack(Xs)
        Y = np.full((len(X), 3), np.nan)
        start = np.cumsum([0] + [len(x) for x in Xs])
        for t in range(3):
            Y[start[t]:start[t + 1], t] = ys[t]
        model = DirtyClassifier(alpha=alpha, beta=beta, tol=1e-9, max_iter=50000).fit(X, Y)
        W, b = model.coef_.T, model.intercept_
    P, Q = model.shared_coef_.T, model.specific_coef_.T
    obj = sum(np.mean(np.logaddexp(0, X @ W[:, t] + b[t]) - y * (X @ W[:, t] + b[t]))
              for t, (X, y) in enumerate(zip(Xs, ys)))
    obj += alpha * np.sum(np.linalg.norm(P, axis=1)) + beta * np.sum(np.abs(Q))
    ref = _logistic_ref(Xs, ys, alpha, beta)
    assert obj <= ref + 1e-6
    assert obj >= ref - 1e-6


def test_classifier_limit_is_sparse_classifier():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 6))
    Y = np.column_stack([X[:, 0] + 0.3 * k * X[:, 1] > 0 for k in range(3)]).astype(int)
    dirty = DirtyClassifier(alpha=0.03, beta=0.05, tol=1e-8, max_iter=20000).fit(X, Y)
    sparse = SparseClassifier(alpha=0.03, tol=1e-8, max_iter=20000).fit(X, Y)
    assert_allclose(dirty.coef_, sparse.coef_, atol=1e-6)
    assert np.all(dirty.specific_coef_ == 0)


def test_classifier_strings_and_multiclass():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y0 = np.where(X[:, 0] > 0, "yes", "no")
    y1 = np.array(["a", "b", "c"])[np.argmax(X[:, :3], axis=1)]
    Y = np.column_stack([y0, y1]).astype(object)
    clf = DirtyClassifier(alpha=0.02, beta=0.015).fit(X, Y)
    assert clf.coef_.shape == (4, 4)
    assert clf.shared_coef_.shape == clf.coef_.shape
    pred = clf.predict(X)
    assert set(pred[:, 0]) <= {"yes", "no"} and set(pred[:, 1]) <= {"a", "b", "c"}
    assert clf.score(X, Y) > 0.8


def test_sparse_X_equals_dense_and_single_task():
    Xs, ys, _ = _tasks(seed=2)
    X, Y = _wide(Xs, ys)
    X[np.abs(X) < 0.5] = 0.0
    dense = DirtyRegressor(alpha=0.1, beta=0.07, tol=1e-10, max_iter=50000).fit(X, Y)
    sparse = DirtyRegressor(alpha=0.1, beta=0.07, tol=1e-10, max_iter=50000).fit(
        sp.csr_matrix(X), Y
    )
    assert_allclose(dense.coef_, sparse.coef_, atol=1e-7)
    one = DirtyRegressor(alpha=0.1, beta=0.07).fit(X, np.nan_to_num(Y[:, 0]))
    assert one.coef_.shape == one.shared_coef_.shape == (X.shape[1],)


def test_warm_start_and_convergence_warning():
    Xs, ys, _ = _tasks(seed=4)
    X, y = long_task_last(Xs, ys)
    model = DirtyRegressor(alpha=0.1, beta=0.07, task_column=7, tol=1e-8, warm_start=True)
    model.fit(X, y)
    first = model.n_iter_
    model.fit(X, y)
    assert model.n_iter_ < first
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        DirtyRegressor(alpha=0.1, beta=0.07, task_column=7, tol=1e-12, max_iter=3).fit(X, y)


@pytest.mark.parametrize("param, value, exc", [
    ("beta", 0.0, InvalidParameterError), ("alpha", 0.0, ValueError),
    ("beta", -1.0, InvalidParameterError)])
def test_bad_parameters(param, value, exc):
    # beta: the parameter constraints; alpha = 0: the family's own check (alpha is shared)
    X, Y = np.random.default_rng(0).normal(size=(20, 3)), np.zeros((20, 2))
    with pytest.raises(exc, match=param):
        DirtyRegressor(**{param: value}).fit(X, Y)


def test_pipeline_and_grid_search():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6))
    Y = X[:, :2] @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(120, 3))
    pipe = make_pipeline(StandardScaler(), DirtyRegressor())
    grid = GridSearchCV(pipe, {"dirtyregressor__alpha": [0.01, 0.1],
                               "dirtyregressor__beta": [0.008, 0.05]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        grid.fit(X, Y)
    assert grid.best_score_ > 0.9


def test_penalty_protocol_alpha_max_and_path():
    """``alpha_max`` (at a fixed ``beta / alpha``) is where ``W`` becomes zero, ``with_alpha``
    keeps the ratio, and the regularisation path reproduces direct fits."""
    from skmtl.linear._dirty import Dirty
    from skmtl.linear._path import least_squares_path

    Xs, ys, _ = _tasks(seed=5)
    X, Y = _wide(Xs, ys)
    pen = Dirty(0.1, 0.07, Y.shape[1])
    assert pen.with_alpha(0.2).beta == pytest.approx(0.14)
    assert pen.with_alpha(0.2).capabilities == pen.capabilities
    template = DirtyRegressor(alpha=0.1, beta=0.07, tol=1e-10, max_iter=50000)
    alphas, coefs, intercepts, gaps, _, _ = least_squares_path(template, X, Y, n_alphas=4,
                                                               eps=0.1)
    assert np.abs(coefs[0]).max() <= 1e-12  # alpha_max (exact zeros just above it)
    above = DirtyRegressor(alpha=alphas[0] * 1.01, beta=0.7 * alphas[0] * 1.01).fit(X, Y)
    below = DirtyRegressor(alpha=alphas[0] * 0.97, beta=0.7 * alphas[0] * 0.97).fit(X, Y)
    assert np.all(above.coef_ == 0) and np.any(below.coef_ != 0)
    for a, W in zip(alphas[1:], coefs[1:]):
        direct = DirtyRegressor(alpha=a, beta=0.7 * a, tol=1e-10, max_iter=50000).fit(X, Y)
        assert_allclose(W.T, direct.coef_, atol=1e-6)
