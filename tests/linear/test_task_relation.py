"""TaskRelationRegressor / TaskRelationClassifier (MTRL) against independent references: the
variational identity min_Omega tr(W Omega^+ W') = ||W||_*^2, cvxpy on the eliminated problem,
scikit-learn's Ridge (coupling = 0), low-rank optima where alternation stalls, certificates."""

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from _structure_helpers import (
    check_warm_start,
    cvxpy_datafit,
    datafit_value,
    long_task_first,
)
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import TaskRelationClassifier, TaskRelationRegressor
from skmtl.datasets import make_multitask_regression
from skmtl.linear._task_relation import TaskRelationPenalty, task_correlation


def _nuc(W):
    return float(np.sum(np.linalg.svd(W, compute_uv=False)))


def _tasks(seed=0, T=4, p=3, sizes=(25, 40, 31, 18), classification=False, rank=None):
    rng = np.random.default_rng(seed)
    if rank is None:
        W = rng.normal(size=(T, p))
    else:
        W = rng.normal(size=(T, rank)) @ rng.normal(size=(rank, p))
    data = []
    for t in range(T):
        X = rng.normal(size=(sizes[t], p)) + 0.5
        z = X @ W[t] - 0.3
        if classification:
            y = (z + 0.5 * rng.normal(size=z.size) > -0.3).astype(int)
        else:
            y = z + 0.3 * rng.normal(size=z.size)
        data.append((X, y))
    return data


def _wide(seed=0, n=60, p=3, T=4, missing=0.25, classification=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + 0.3
    w = rng.normal(size=p)
    W = np.array([w, w, -w, rng.normal(size=p)])[:T] + 0.2 * rng.normal(size=(T, p))
    Z = X @ W.T
    if classification:
        Y = (Z + 0.5 * rng.normal(size=Z.shape) > 0).astype(float)
        Y[:4] = np.arange(4 * T).reshape(4, T) % 2
    else:
        Y = Z + 0.3 * rng.normal(size=Z.shape)
    Y[4:][rng.random((n - 4, T)) < missing] = np.nan
    data = [(X[~np.isnan(Y[:, t])], Y[~np.isnan(Y[:, t]), t]) for t in range(T)]
    return X, Y, data


def _cvxpy_mtrl(data, alpha, coupling, classification=False):
    T, p = len(data), data[0][0].shape[1]
    W, b = cp.Variable((p, T)), cp.Variable(T)
    fit = cvxpy_datafit(data, W, b, classification)
    pen = 0.5 * alpha * cp.sum_squares(W) + 0.5 * coupling * cp.square(cp.normNuc(W))
    prob = cp.Problem(cp.Minimize(fit + pen))
    prob.solve(solver=cp.CLARABEL)
    return prob.value, W.value.T, b.value


def _objective(data, coef, intercept, alpha, coupling, classification=False):
    pen = 0.5 * alpha * np.sum(coef**2) + 0.5 * coupling * _nuc(coef) ** 2
    return datafit_value(data, coef, intercept, classification) + pen


# -- the variational identity, the prox, the conjugate ------------------------------------------


@pytest.mark.parametrize("rank", [4, 2, 1])
def test_optimal_omega_turns_the_coupling_term_into_the_squared_trace_norm(rank):
    rng = np.random.default_rng(rank)
    T = 4
    W = rng.normal(size=(6, rank)) @ rng.normal(size=(rank, T))
    pen = TaskRelationPenalty(0.0, 1.0, T)
    Omega = pen.task_covariance(W)
    assert_allclose(np.trace(Omega), 1.0)
    assert np.linalg.eigvalsh(Omega).min() >= -1e-12
    # W is in the range of Omega (its rows lie in the range) and tr(W Omega^+ W') = ||W||_*^2
    assert_allclose(W @ np.linalg.pinv(Omega) @ Omega, W, atol=1e-9)
    assert_allclose(np.trace(W @ np.linalg.pinv(Omega, rcond=1e-10) @ W.T), _nuc(W) ** 2,
                    rtol=1e-8)
    # and no feasible Omega does better (random full-rank ones, and cvxpy's minimum)
    for _ in range(5):
        B = rng.normal(size=(T, T))
        Om = B @ B.T
        Om /= np.trace(Om)
        assert np.trace(W @ np.linalg.solve(Om, W.T)) >= _nuc(W) ** 2 - 1e-9
    if rank == T:
        Om = cp.Variable((T, T), PSD=True)
        prob = cp.Problem(cp.Minimize(cp.matrix_frac(W.T, Om)), [cp.trace(Om) == 1])
        prob.solve(solver=cp.CLARABEL)
        assert_allclose(prob.value, _nuc(W) ** 2, rtol=1e-6)
        assert_allclose(Om.value, Omega, atol=1e-4)


@pytest.mark.parametrize("width", [1, 3])
def test_prox_matches_cvxpy(width):
    rng = np.random.default_rng(0)
    T, p, alpha, coupling, step = 4, 3, 0.3, 2.0, 0.7
    pen = TaskRelationPenalty(alpha, coupling, T, width)
    V = rng.normal(size=(p, T * width))
    P = pen.prox(V, step)
    # the task matrix: one column per task, class blocks stacked
    R = V.reshape(p, T, width).transpose(0, 2, 1).reshape(p * width, T)
    Wv = cp.Variable(R.shape)
    obj = (cp.sum_squares(Wv - R) / (2 * step) + 0.5 * alpha * cp.sum_squares(Wv)
           + 0.5 * coupling * cp.square(cp.normNuc(Wv)))
    cp.Problem(cp.Minimize(obj)).solve(solver=cp.CLARABEL)
    ref = Wv.value.reshape(p, width, T).transpose(0, 2, 1).reshape(p, T * width)
    assert_allclose(P, ref, atol=1e-5)


def test_conjugate_is_the_supremum_and_matches_the_issue_formula_at_alpha_zero():
    rng = np.random.default_rng(1)
    T, p = 4, 3
    V = rng.normal(size=(p, T))
    for alpha, coupling in [(0.5, 2.0), (0.0, 2.0), (1.0, 0.0)]:
        pen = TaskRelationPenalty(alpha, coupling, T)
        W = cp.Variable((p, T))
        obj = (cp.sum(cp.multiply(V, W)) - 0.5 * alpha * cp.sum_squares(W)
               - 0.5 * coupling * cp.square(cp.normNuc(W)))
        prob = cp.Problem(cp.Maximize(obj))
        prob.solve(solver=cp.CLARABEL)
        assert_allclose(pen.conjugate(V), prob.value, rtol=1e-6)
        # Fenchel-Young: P(W) + P*(V) >= <V, W> for any W
        W0 = rng.normal(size=(p, T))
        assert pen.value(W0) + pen.conjugate(V) >= np.sum(V * W0) - 1e-12
    assert_allclose(TaskRelationPenalty(0.0, 2.0, T).conjugate(V),
                    np.linalg.norm(V, 2) ** 2 / 4.0)


# -- the estimators against cvxpy ---------------------------------------------------------------


@pytest.mark.parametrize("rank", [None, 1])
def test_regressor_long_layout_matches_cvxpy(rank):
    data = _tasks(seed=2, rank=rank)
    alpha, coupling = 0.01, 0.5 if rank is None else 5.0
    opt, W_ref, b_ref = _cvxpy_mtrl(data, alpha, coupling)
    Xl, y = long_task_first(data)
    est = TaskRelationRegressor(alpha, coupling, task_column=0, tol=1e-10).fit(Xl, y)
    assert_allclose(est.coef_, W_ref, atol=2e-4)
    assert_allclose(est.intercept_, b_ref, atol=2e-4)
    assert _objective(data, est.coef_, est.intercept_, alpha, coupling) <= opt + 1e-7


def test_low_rank_optimum_is_reached_where_alternation_stalls():
    """With a strong coupling the optimum has rank 1. A naive alternation started from a rank-1
    W keeps Omega's zero eigenvalues and never leaves that subspace; the eliminated solver does."""
    data = _tasks(seed=3, rank=None)
    alpha, coupling = 0.01, 3.0
    opt, W_ref, _ = _cvxpy_mtrl(data, alpha, coupling)
    Xl, y = long_task_first(data)
    est = TaskRelationRegressor(alpha, coupling, task_column=0, tol=1e-10).fit(Xl, y)
    assert_allclose(est.coef_, W_ref, atol=2e-4)
    s = np.linalg.svd(est.coef_, compute_uv=False)
    assert s[1] < 1e-6 * s[0]  # the optimum really is low rank
    assert np.linalg.svd(W_ref, compute_uv=False)[1] < 1e-3 * s[0]


def test_start_from_a_rank_one_point_still_reaches_a_full_rank_optimum():
    """Alternating W- and Omega-steps from a rank-1 W keeps Omega (and so W) rank 1 for ever:
    the W-step is confined to the range of Omega. The eliminated solver, warm-started there,
    reaches the full-rank optimum."""
    data = _tasks(seed=8)
    alpha, coupling = 0.01, 0.05
    opt, W_ref, _ = _cvxpy_mtrl(data, alpha, coupling)
    assert np.linalg.svd(W_ref, compute_uv=False)[-1] > 1e-2  # the optimum has full rank
    est = TaskRelationRegressor(alpha, coupling, task_column=0, tol=1e-10, warm_start=True)
    Xl, y = long_task_first(data)
    u, s, vt = np.linalg.svd(W_ref)
    est.coef_ = s[0] * np.outer(u[:, 0], vt[0])  # rank one
    est.intercept_ = np.zeros(4)
    est.fit(Xl, y)
    assert_allclose(est.coef_, W_ref, atol=2e-4)
    assert _objective(data, est.coef_, est.intercept_, alpha, coupling) <= opt + 1e-7


def test_regressor_wide_layout_with_missing_labels_matches_cvxpy():
    X, Y, data = _wide(seed=4)
    opt, W_ref, b_ref = _cvxpy_mtrl(data, 0.05, 0.3)
    est = TaskRelationRegressor(0.05, 0.3, tol=1e-10).fit(X, Y)
    assert_allclose(est.coef_, W_ref, atol=2e-4)
    assert _objective(data, est.coef_, est.intercept_, 0.05, 0.3) <= opt + 1e-7
    # the certificate bounds the suboptimality
    assert est.dual_gap_ <= est._threshold_


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_classifier_matches_cvxpy(layout):
    if layout == "wide":
        X, Y, data = _wide(seed=15, n=80, classification=True)
    else:
        data = _tasks(seed=6, classification=True)
    opt, W_ref, b_ref = _cvxpy_mtrl(data, 0.02, 0.2, classification=True)
    est = TaskRelationClassifier(0.02, 0.2, tol=1e-9, max_iter=50000)
    if layout == "wide":
        est.fit(X, Y)
    else:
        est.set_params(task_column=0).fit(*long_task_first(data))
    assert_allclose(est.coef_, W_ref, atol=5e-4)
    assert_allclose(est.intercept_, b_ref, atol=5e-4)
    assert _objective(data, est.coef_, est.intercept_, 0.02, 0.2, True) <= opt + 1e-7


def test_duality_gap_bounds_suboptimality_away_from_the_optimum():
    from skmtl.linear._datafits import Quadratic
    from skmtl.linear._solvers._fenchel import FenchelGap
    from skmtl.linear._validation import long_design

    data = _tasks(seed=7)
    alpha, coupling = 0.02, 1.0
    opt, _, _ = _cvxpy_mtrl(data, alpha, coupling)
    Xl, y = long_task_first(data)
    design, order = long_design(Xl[:, 1:], Xl[:, 0].astype(int), 4, [1] * 4)
    quad = Quadratic(design, y[order][:, None])
    rule = FenchelGap(quad, TaskRelationPenalty(alpha, coupling, 4), 0.0)
    rng = np.random.default_rng(0)
    for scale in [0.0, 0.1, 1.0]:
        W = scale * rng.normal(size=(3, 4))
        gap = rule(W, None, quad.linear(W))
        assert rule.last["primal"] - opt <= gap + 1e-8
        assert gap >= 0


# -- limits and structure -----------------------------------------------------------------------


def test_no_coupling_is_independent_ridge():
    X, Y, data = _wide(seed=8, missing=0.3)
    est = TaskRelationRegressor(0.07, 0.0, tol=1e-12).fit(X, Y)
    for t, (Xt, yt) in enumerate(data):
        ridge = Ridge(alpha=0.07 * len(yt)).fit(Xt, yt)
        assert_allclose(est.coef_[t], ridge.coef_, atol=1e-7)
        assert_allclose(est.intercept_[t], ridge.intercept_, atol=1e-7)


def test_learned_correlations_have_the_right_sign():
    X, Y, coef = make_multitask_regression(
        200, 10, 6, n_clusters=1, cluster_std=0.3, negative_fraction=0.5, noise=0.5,
        random_state=0,
    )
    est = TaskRelationRegressor(0.01, 0.05).fit(X, Y)
    true = np.corrcoef(coef)
    strong = np.abs(true) > 0.5
    assert strong.sum() > 6
    assert np.all(np.sign(est.task_correlation_[strong]) == np.sign(true[strong]))
    assert np.any(est.task_correlation_ < -0.5)


def test_task_with_zero_coefficients_has_zero_correlation():
    Omega = np.array([[0.5, 0.2, 0.0], [0.2, 0.5, 0.0], [0.0, 0.0, 0.0]])
    C = task_correlation(Omega)
    assert_allclose(C, [[1.0, 0.4, 0.0], [0.4, 1.0, 0.0], [0.0, 0.0, 1.0]])
    rng = np.random.default_rng(9)
    X = rng.normal(size=(50, 3))
    Y = np.column_stack([X[:, 0], -X[:, 0], np.zeros(50)])
    est = TaskRelationRegressor(0.01, 0.01, fit_intercept=True).fit(X, Y)
    assert_allclose(est.coef_[2], 0.0, atol=1e-12)
    assert_allclose(est.task_correlation_[2], [0.0, 0.0, 1.0])
    assert est.task_correlation_[0, 1] < -0.99
    zero = TaskRelationRegressor(100.0, 100.0).fit(X, np.zeros((50, 3)))
    assert_allclose(zero.task_covariance_, np.eye(3) / 3)


def test_multiclass_tasks_share_one_covariance():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(150, 3))
    Y = np.column_stack([np.argmax(X + 0.3 * rng.normal(size=X.shape), axis=1) for _ in range(3)])
    est = TaskRelationClassifier(0.01, 0.05, tol=1e-8, max_iter=20000).fit(X, Y)
    assert est.coef_.shape == (9, 3)
    assert est.task_covariance_.shape == (3, 3)
    assert np.all(est.task_correlation_ > 0.5)


# -- estimator behaviour ------------------------------------------------------------------------


def test_sparse_equals_dense_warm_start_and_warning():
    X, Y, _ = _wide(seed=11, missing=0.0)
    X[X < 0.3] = 0.0
    dense = TaskRelationRegressor(0.05, 0.3, tol=1e-10).fit(X, Y)
    sparse = TaskRelationRegressor(0.05, 0.3, tol=1e-10).fit(sp.csr_matrix(X), Y)
    assert_allclose(sparse.coef_, dense.coef_, atol=1e-8)
    check_warm_start(TaskRelationRegressor, dict())
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        TaskRelationRegressor(0.001, 1.0, max_iter=2, tol=1e-14).fit(X, Y)


def test_string_labels_long_layout_pipeline_and_grid_search():
    data = _tasks(seed=12, classification=True)
    Xl, y = long_task_first(data)
    labels = np.array(["no", "yes"])[y]
    names = np.array(["a", "b", "c", "d"])[Xl[:, 0].astype(int)]
    Xo = np.column_stack([names, Xl[:, 1:]]).astype(object)
    est = TaskRelationClassifier(0.02, 0.1, task_column=0).fit(Xo, labels)
    assert list(est.tasks_) == ["a", "b", "c", "d"]
    assert set(est.predict(Xo)) <= {"no", "yes"}
    X, Y, _ = _wide(seed=13, missing=0.0)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), TaskRelationRegressor()),
        {"taskrelationregressor__coupling": [0.01, 0.1]}, cv=3,
    ).fit(X, Y)
    assert search.predict(X).shape == Y.shape
    assert search.best_estimator_[-1].task_correlation_.shape == (4, 4)


def test_bad_input_is_a_clear_error():
    rng = np.random.default_rng(14)
    X = rng.normal(size=(60, 3))
    Y = np.column_stack([np.argmax(X, axis=1), (X[:, 0] > 0).astype(int)])
    with pytest.raises(ValueError, match="same number of outputs"):
        TaskRelationClassifier().fit(X, Y)
    with pytest.raises(ValueError, match="coupling"):
        TaskRelationRegressor(coupling=-1.0).fit(X, Y.astype(float))


