"""Solvers against independent references: MultiTaskLasso's objective, singular-value
thresholding, optimality conditions and duality gaps recomputed here from scratch."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import MultiTaskLasso

from skmtl.linear import LowRankRegressor, SparseRegressor
from skmtl.linear._path import least_squares_path

# a solver that does not reach its certificate fails fast instead of running on
pytestmark = pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
MAX_ITER = 20_000


def make_data(n, p, T, *, rho=0.5, k=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    for j in range(1, p):  # Toeplitz-correlated features
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * X[:, j]
    W = np.zeros((p, T))
    W[rng.choice(p, k, replace=False)] = rng.standard_normal((k, T))
    Y = X @ W + 0.5 * rng.standard_normal((n, T)) + rng.standard_normal(T)
    return X, Y


def alpha_max(X, Y):
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    return np.max(np.linalg.norm(Xc.T @ Yc, axis=1)) / X.shape[0]


def objective(X, Y, alpha, coef, intercept):
    X = X.toarray() if sp.issparse(X) else X
    R = Y - X @ coef.T - intercept
    return 0.5 * np.sum(R**2) / X.shape[0] + alpha * np.sum(np.linalg.norm(coef, axis=0))


def centred(X, Y, coef):
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    return Xc, Yc, Yc - Xc @ coef.T


# (n, p, T, alpha / alpha_max, sparse X): p >> n (working sets, data form), n >> p (Gram),
# near-square with a dense solution, sparse X
PROBLEMS = [
    (40, 200, 3, 0.1, False),
    (40, 200, 3, 0.01, False),
    (500, 20, 4, 0.05, False),
    (60, 60, 5, 0.02, False),
    (50, 80, 3, 0.05, True),
]


@pytest.mark.parametrize("n, p, T, ratio, sparse", PROBLEMS)
@pytest.mark.parametrize("solver", ["auto", "fista"])
def test_sparse_regressor_reaches_multitask_lasso_objective(n, p, T, ratio, sparse, solver):
    X, Y = make_data(n, p, T, seed=n + p)
    if sparse:
        X[np.abs(X) < 1.0] = 0.0
    alpha = ratio * alpha_max(X, Y)
    ref = MultiTaskLasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, Y)
    f_ref = objective(X, Y, alpha, ref.coef_, ref.intercept_)
    Xfit = sp.csr_matrix(X) if sparse else X
    est = SparseRegressor(alpha=alpha, tol=1e-9, max_iter=MAX_ITER, solver=solver).fit(Xfit, Y)
    f = objective(X, Y, alpha, est.coef_, est.intercept_)
    assert f <= f_ref * (1 + 1e-6)
    assert f >= f_ref * (1 - 1e-6)  # nothing below the optimum: the objectives are the same
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-3 * np.abs(ref.coef_).max())


@pytest.mark.parametrize("n, p, T, ratio, sparse", PROBLEMS[:4])
def test_l21_subdifferential_and_independent_duality_gap(n, p, T, ratio, sparse):
    X, Y = make_data(n, p, T, seed=n * p)
    alpha = ratio * alpha_max(X, Y)
    tol = 1e-8
    est = SparseRegressor(alpha=alpha, tol=tol, max_iter=MAX_ITER).fit(X, Y)
    Xc, Yc, R = centred(X, Y, est.coef_)
    W = est.coef_.T
    # intercept is the centring
    np.testing.assert_allclose(est.intercept_, Y.mean(0) - X.mean(0) @ W, atol=1e-10)
    # KKT: -grad = Xc' R / n lies in alpha * d||W||_21, row by row
    V = Xc.T @ R / n
    norms = np.linalg.norm(W, axis=1)
    nz = norms > 0
    assert nz.any() and not nz.all() or p < n
    dist_nz = np.linalg.norm(V[nz] - alpha * W[nz] / norms[nz, None], axis=1)
    excess_zero = np.maximum(np.linalg.norm(V[~nz], axis=1) - alpha, 0.0)
    assert dist_nz.max(initial=0) <= 1e-3 * alpha
    assert excess_zero.max(initial=0) <= 1e-3 * alpha
    # duality gap with the dual point theta = R / (n s), s making it feasible
    primal = 0.5 * np.sum(R**2) / n + alpha * norms.sum()
    s = max(1.0, np.max(np.linalg.norm(Xc.T @ R, axis=1)) / (n * alpha))
    theta = R / (n * s)
    dual = 0.5 * np.sum(Yc**2) / n - 0.5 * n * np.sum((theta - Yc / n) ** 2)
    gap = primal - dual
    scale = np.sum(Yc**2) / n
    assert gap >= -1e-12 * scale
    assert gap <= 10 * tol * scale
    assert est.dual_gap_ <= tol * scale


def test_gap_certificate_is_what_stops_the_solver():
    # a loose tol stops early with a gap below it, a tight one goes further
    X, Y = make_data(40, 200, 3, seed=3)
    alpha = 0.01 * alpha_max(X, Y)
    scale = np.sum((Y - Y.mean(0)) ** 2) / 40
    loose = SparseRegressor(alpha=alpha, tol=1e-2).fit(X, Y)
    tight = SparseRegressor(alpha=alpha, tol=1e-10, max_iter=MAX_ITER).fit(X, Y)
    assert loose.dual_gap_ <= 1e-2 * scale
    assert tight.dual_gap_ <= 1e-10 * scale
    assert tight.n_iter_ > loose.n_iter_
    f_loose = objective(X, Y, alpha, loose.coef_, loose.intercept_)
    f_tight = objective(X, Y, alpha, tight.coef_, tight.intercept_)
    assert f_tight <= f_loose
    assert f_loose - f_tight <= 1e-2 * scale  # the gap bounds the suboptimality


def test_missing_labels_working_set_matches_fista():
    # NaN labels take the general working-set path (per-task Grams), not block CD
    X, Y = make_data(60, 40, 3, seed=7)
    Y[::7, 1] = np.nan
    alpha = 0.05 * np.nanmax(np.abs(X.T @ np.nan_to_num(Y - np.nanmean(Y, 0)))) / 60
    a = SparseRegressor(alpha=alpha, tol=1e-10, max_iter=MAX_ITER, solver="working_set").fit(X, Y)
    b = SparseRegressor(alpha=alpha, tol=1e-10, max_iter=MAX_ITER, solver="fista").fit(X, Y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5)
    np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-5)


def orthonormal_design(n, p, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, p))
    M -= M.mean(0)
    Qm, _ = np.linalg.qr(M)
    return Qm * np.sqrt(n)  # centred columns with X'X / n = I


def test_low_rank_orthonormal_design_is_singular_value_thresholding():
    n, p, T = 50, 8, 6
    X = orthonormal_design(n, p)
    np.testing.assert_allclose(X.T @ X / n, np.eye(p), atol=1e-12)
    rng = np.random.default_rng(1)
    Y = X @ rng.standard_normal((p, T)) + rng.standard_normal((n, T)) + 3.0
    U, s, Vt = np.linalg.svd(X.T @ Y / n, full_matrices=False)
    alpha = 0.5 * s[2] + 0.5 * s[3]  # keeps rank 3
    expected = (U * np.maximum(s - alpha, 0)) @ Vt
    est = LowRankRegressor(alpha=alpha, tol=1e-10, max_iter=20_000).fit(X, Y)
    np.testing.assert_allclose(est.coef_.T, expected, atol=1e-6)
    assert np.linalg.matrix_rank(est.coef_, tol=1e-6) == 3
    np.testing.assert_allclose(est.intercept_, Y.mean(0), atol=1e-8)


def test_trace_norm_optimality_conditions():
    X, Y = make_data(80, 10, 6, seed=2)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    sv = np.linalg.svd(Xc.T @ Yc / 80, compute_uv=False)
    alpha = 0.3 * sv[0]
    est = LowRankRegressor(alpha=alpha, tol=1e-10, max_iter=50_000).fit(X, Y)
    W = est.coef_.T
    V = Xc.T @ (Yc - Xc @ W) / 80  # -grad, must lie in alpha * d||W||_*
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    r = int(np.sum(s > 1e-8 * s[0]))
    assert 0 < r < min(W.shape)
    U, Vt = U[:, :r], Vt[:r]
    np.testing.assert_allclose(U.T @ V @ Vt.T, alpha * np.eye(r), atol=1e-4 * alpha)
    np.testing.assert_allclose(V @ Vt.T, alpha * U, atol=1e-4 * alpha)
    assert np.linalg.norm(V, 2) <= alpha * (1 + 1e-4)


@pytest.mark.parametrize("n, p", [(40, 150), (300, 15)])
def test_path_warm_starts_equal_cold_solves(n, p):
    X, Y = make_data(n, p, 3, seed=11)
    amax = alpha_max(X, Y)
    alphas = amax * np.geomspace(1.0, 0.01, 6)
    template = SparseRegressor(tol=1e-10, max_iter=MAX_ITER)
    _, coefs, intercepts, gaps, _, _ = least_squares_path(template, X, Y, alphas)
    assert np.all(coefs[0] == 0)  # alpha_max gives W = 0
    for k in (2, 4, 5):
        cold = SparseRegressor(alpha=alphas[k], tol=1e-10, max_iter=MAX_ITER).fit(X, Y)
        np.testing.assert_allclose(coefs[k].T, cold.coef_, atol=1e-5 * np.abs(cold.coef_).max())
        np.testing.assert_allclose(intercepts[k], cold.intercept_, atol=1e-6)


@pytest.mark.parametrize("n, p, T", [(40, 120, 3), (200, 15, 2)])
def test_l1_coordinate_descent_kernels_match_lasso(n, p, T):
    # the element-wise kernels (for L1 terms of composite models) against scikit-learn's Lasso,
    # which solves each task separately: 1/(2n) ||yc_t - Xc w_t||^2 + alpha |w_t|_1
    from sklearn.linear_model import Lasso

    from skmtl.linear._solvers._cd_l1 import l1_gram_epoch, l1_least_squares

    X, Y = make_data(n, p, T, seed=5)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    alpha = 0.05 * np.max(np.abs(Xc.T @ Yc)) / n
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(Xc, Yc)
    A, B = Xc / np.sqrt(n), Yc / np.sqrt(n)
    scale = np.sum(B * B)
    W, _, gap = l1_least_squares(A, B, alpha, threshold=1e-12 * scale, max_epochs=100_000)
    assert gap <= 1e-12 * scale
    assert np.any(W == 0) and np.any(W != 0)
    np.testing.assert_allclose(W.T, ref.coef_, atol=1e-6 * np.abs(ref.coef_).max())
    # Gram form on a working set given by an index into the full Gram matrix
    Q = np.ascontiguousarray(A.T @ A)
    ws = np.flatnonzero(np.any(W != 0, axis=1)).astype(np.int64)
    Wg = np.zeros((len(ws), T))
    G = np.ascontiguousarray(-(A.T @ B)[ws])
    for _ in range(1000):
        prev = Wg.copy()
        for _ in range(20):
            l1_gram_epoch(Q, ws, G, Wg, alpha)
        if np.array_equal(prev, Wg):
            break
    np.testing.assert_allclose(G, Q[np.ix_(ws, ws)] @ Wg - (A.T @ B)[ws], atol=1e-10)
    np.testing.assert_allclose(Wg, W[ws], atol=1e-6 * np.abs(W).max())


@pytest.mark.parametrize("layout", ["wide", "single", "long"])
def test_path_predictions_equal_predict_of_each_solution(layout):
    from skmtl.linear._path import path_predictions, set_solution

    X, Y = make_data(60, 12, 3, seed=4)
    template = SparseRegressor(tol=1e-8, max_iter=MAX_ITER)
    if layout == "single":
        Y = Y[:, 0]
    elif layout == "long":
        task = np.repeat(np.arange(3), 20)
        X = np.column_stack([X, task])
        Y = Y[np.arange(60), task]
        template.set_params(task_column=12)
    alphas = 0.1 * np.geomspace(1.0, 0.01, 4) * np.abs(X[:, :12].T @ (Y - Y.mean(0))).max() / 60
    _, coefs, intercepts, _, _, meta = least_squares_path(template, X, Y, alphas)
    preds = path_predictions(template, coefs, intercepts, meta, X[:25])
    for k in range(len(alphas)):
        est = set_solution(SparseRegressor(**template.get_params()), coefs[k], intercepts[k], meta)
        np.testing.assert_allclose(preds[k], est.predict(X[:25]), rtol=1e-12, atol=1e-12)
