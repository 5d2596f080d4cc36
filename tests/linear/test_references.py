"""The linear estimators against independent references: closed forms, scikit-learn's own
estimators, scipy.optimize, and optimality conditions."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from scipy.optimize import minimize
from scipy.special import log_expit, logsumexp
from sklearn.linear_model import LogisticRegression, MultiTaskLasso, Ridge

from skmtl.linear import (
    LowRankClassifier,
    LowRankRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    SparseClassifier,
    SparseRegressor,
)
from skmtl.linear._penalties import L21, TraceNorm


def _wide_problem(seed=0, n=80, p=6, T=4, missing=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + rng.normal(size=p)  # features with nonzero means
    W = rng.normal(size=(p, 1)) + 0.3 * rng.normal(size=(p, T))
    Y = X @ W + rng.normal(size=T) + 0.3 * rng.normal(size=(n, T))
    if missing:
        Y[rng.random((n, T)) < missing] = np.nan
    return X, Y


def _mean_reg_closed_form(X, Y, alpha, coupling):
    """Solve the quadratic mean-regularised problem from its normal equations (Kronecker form)."""
    n, p = X.shape
    T = Y.shape[1]
    blocks, rhs = [], []
    for t in range(T):
        obs = ~np.isnan(Y[:, t])
        Xc = X[obs] - X[obs].mean(axis=0)
        yc = Y[obs, t] - Y[obs, t].mean()
        blocks.append(Xc.T @ Xc / obs.sum())
        rhs.append(Xc.T @ yc / obs.sum())
    H = np.zeros((p * T, p * T))
    for t in range(T):
        H[t * p : (t + 1) * p, t * p : (t + 1) * p] = blocks[t]
    # penalty alpha/2 sum ||w_t||^2 + coupling/2 sum ||w_t - mean||^2: Hessian (alpha I +
    # coupling (I - 11'/T)) kron I_p
    C = alpha * np.eye(T) + coupling * (np.eye(T) - np.ones((T, T)) / T)
    H += np.kron(C, np.eye(p))
    w = np.linalg.solve(H, np.concatenate(rhs))
    return w.reshape(T, p)


@pytest.mark.parametrize("missing", [0.0, 0.2])
@pytest.mark.parametrize("coupling", [0.0, 0.5, 5.0])
def test_mean_regularized_equals_normal_equations(coupling, missing):
    X, Y = _wide_problem(missing=missing)
    model = MeanRegularizedRegressor(alpha=0.1, coupling=coupling, tol=1e-12, max_iter=50000)
    model.fit(X, Y)
    assert_allclose(model.coef_, _mean_reg_closed_form(X, Y, 0.1, coupling), atol=1e-7)


@pytest.mark.parametrize("missing", [0.0, 0.25])
def test_no_pull_equals_independent_ridge(missing):
    X, Y = _wide_problem(seed=1, missing=missing)
    model = MeanRegularizedRegressor(alpha=0.05, coupling=0.0, tol=1e-12, max_iter=50000).fit(X, Y)
    for t in range(Y.shape[1]):
        obs = ~np.isnan(Y[:, t])
        # our data fit is a mean over the task's n_t samples: Ridge's alpha is alpha * n_t
        ridge = Ridge(alpha=0.05 * obs.sum()).fit(X[obs], Y[obs, t])
        assert_allclose(model.coef_[t], ridge.coef_, atol=1e-7)
        assert_allclose(model.intercept_[t], ridge.intercept_, atol=1e-7)


def test_infinite_pull_shares_one_vector():
    X, Y = _wide_problem(seed=2, missing=0.1)
    alpha = 0.1
    model = MeanRegularizedRegressor(alpha=alpha, coupling=np.inf, tol=1e-12, max_iter=50000)
    model.fit(X, Y)
    assert_allclose(model.coef_, np.repeat(model.coef_[:1], Y.shape[1], axis=0), atol=1e-12)
    # the shared vector solves sum_t 1/(2 n_t) ||yc_t - Xc_t w||^2 + T alpha/2 ||w||^2
    G, r = 0.0, 0.0
    for t in range(Y.shape[1]):
        obs = ~np.isnan(Y[:, t])
        Xc = X[obs] - X[obs].mean(axis=0)
        G = G + Xc.T @ Xc / obs.sum()
        r = r + Xc.T @ (Y[obs, t] - Y[obs, t].mean()) / obs.sum()
    w = np.linalg.solve(G + Y.shape[1] * alpha * np.eye(X.shape[1]), r)
    assert_allclose(model.coef_[0], w, atol=1e-7)
    # intercepts stay per task
    assert np.ptp(model.intercept_) > 0.1
    # and a very large finite coupling approaches it
    near = MeanRegularizedRegressor(alpha=alpha, coupling=1e6, tol=1e-12, max_iter=50000).fit(X, Y)
    assert_allclose(near.coef_, model.coef_, atol=1e-4)


def test_sparse_regressor_matches_multitasklasso():
    X, Y = _wide_problem(seed=3, n=60, p=30, T=3)
    alpha = 0.05
    ours = SparseRegressor(alpha=alpha, tol=1e-12).fit(X, Y)
    ref = MultiTaskLasso(alpha=alpha, tol=1e-12, max_iter=100000).fit(X, Y)
    assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    assert_allclose(ours.intercept_, ref.intercept_, atol=1e-6)


def test_low_rank_orthonormal_design_is_singular_value_thresholding():
    rng = np.random.default_rng(4)
    n, p, T = 50, 5, 4
    Q, _ = np.linalg.qr(rng.normal(size=(n, p)))
    X = Q * np.sqrt(n)  # X'X / n = I
    Y = rng.normal(size=(n, T))
    alpha = 0.3
    model = LowRankRegressor(alpha=alpha, fit_intercept=False, tol=1e-12).fit(X, Y)
    U, s, Vt = np.linalg.svd(X.T @ Y / n, full_matrices=False)
    expected = (U * np.maximum(s - alpha, 0)) @ Vt
    assert_allclose(model.coef_.T, expected, atol=1e-8)


@pytest.mark.parametrize("Est,Pen", [(SparseRegressor, L21), (LowRankRegressor, TraceNorm)])
def test_regression_optimality_conditions(Est, Pen):
    X, Y = _wide_problem(seed=5, n=70, p=12, T=5, missing=0.15)
    alpha = 0.05
    model = Est(alpha=alpha, tol=1e-12, max_iter=50000).fit(X, Y)
    W, b = model.coef_.T, model.intercept_
    # gradient of the data fit, recomputed here from its definition
    grad = np.zeros_like(W)
    for t in range(Y.shape[1]):
        obs = ~np.isnan(Y[:, t])
        r = X[obs] @ W[:, t] + b[t] - Y[obs, t]
        grad[:, t] = X[obs].T @ r / obs.sum()
        assert abs(r.mean()) < 1e-8  # optimal unpenalised intercept
    dist = Pen(alpha).subdiff_distance(W, -grad)
    assert np.max(dist) < 1e-5


def _logistic_objective(X, Y, W, b):
    total = 0.0
    for t in range(Y.shape[1]):
        obs = ~np.isnan(Y[:, t])
        z = X[obs] @ W[:, t] + b[t]
        y = Y[obs, t]
        total += -np.mean(y * log_expit(z) + (1 - y) * log_expit(-z))
    return total


def test_mean_regularized_classifier_matches_scipy():
    rng = np.random.default_rng(6)
    n, p, T = 120, 4, 3
    X = rng.normal(size=(n, p)) + 2.0
    Z = X @ rng.normal(size=(p, T)) + rng.normal(size=(n, T))
    Y = (Z > np.median(Z, axis=0)).astype(float)
    Y[rng.random((n, T)) < 0.1] = np.nan
    alpha, coupling = 0.02, 0.5
    model = MeanRegularizedClassifier(alpha=alpha, coupling=coupling, tol=1e-10, max_iter=50000)
    model.fit(X, Y)

    def objective(theta):
        W = theta[: p * T].reshape(p, T)
        b = theta[p * T :]
        dev = W - W.mean(axis=1, keepdims=True)
        return (
            _logistic_objective(X, Y, W, b)
            + alpha / 2 * np.sum(W**2)
            + coupling / 2 * np.sum(dev**2)
        )

    ref = minimize(
        objective,
        np.zeros(p * T + T),
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10000},
    )
    ours = np.concatenate([model.coef_.T.ravel(), model.intercept_])
    assert objective(ours) <= ref.fun + 1e-9
    assert_allclose(model.coef_.T, ref.x[: p * T].reshape(p, T), atol=1e-4)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_single_task_no_pull_equals_logistic_regression(n_classes):
    rng = np.random.default_rng(7)
    n, p = 150, 5
    X = rng.normal(size=(n, p))
    y = np.argmax(X @ rng.normal(size=(p, n_classes)) + rng.normal(size=(n, n_classes)), axis=1)
    alpha = 0.05
    ours = MeanRegularizedClassifier(alpha=alpha, coupling=0.0, tol=1e-10, max_iter=50000)
    ours.fit(X, y)
    ref = LogisticRegression(C=1.0 / (alpha * n), tol=1e-12, max_iter=10000).fit(X, y)
    if n_classes == 2:
        assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
        assert_allclose(ours.intercept_, ref.intercept_, atol=1e-5)
    else:
        # softmax is invariant to a shift shared by all classes; the L2 penalty fixes it at
        # zero-mean coefficients, as in scikit-learn, and the intercepts are compared centred
        assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
        assert_allclose(
            ours.intercept_ - ours.intercept_.mean(),
            ref.intercept_ - ref.intercept_.mean(),
            atol=1e-5,
        )
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("Est,Pen", [(SparseClassifier, L21), (LowRankClassifier, TraceNorm)])
def test_classifier_optimality_conditions(Est, Pen):
    rng = np.random.default_rng(8)
    n, p, T = 150, 8, 4
    X = rng.normal(size=(n, p))
    Y = (X[:, :2] @ rng.normal(size=(2, T)) + 0.5 * rng.normal(size=(n, T)) > 0).astype(float)
    alpha = 0.02
    model = Est(alpha=alpha, tol=1e-10, max_iter=50000).fit(X, Y)
    W, b = model.coef_.T, model.intercept_
    Z = X @ W + b
    G = (1 / (1 + np.exp(-Z)) - Y) / n
    assert_allclose(G.sum(axis=0), 0.0, atol=1e-7)  # optimal intercepts
    dist = Pen(alpha).subdiff_distance(W, -(X.T @ G))
    assert np.max(dist) < 1e-5


def test_softmax_task_objective_against_scipy():
    """A three-class task and a binary task, L2,1: compare objective values with a smooth
    reformulation solved by scipy (the L2,1 norm smoothed with a tiny epsilon)."""
    rng = np.random.default_rng(9)
    n, p = 120, 4
    X = rng.normal(size=(n, p))
    y3 = np.argmax(X[:, :3] + 0.5 * rng.normal(size=(n, 3)), axis=1)
    y2 = (X[:, 0] - X[:, 3] > 0).astype(int)
    Y = np.column_stack([y3, y2])
    alpha = 0.01
    model = SparseClassifier(alpha=alpha, tol=1e-10, max_iter=50000).fit(X, Y)
    assert model.coef_.shape == (4, p)  # 3 softmax outputs + 1 logistic

    def objective(theta):
        W = theta[: 4 * p].reshape(p, 4)
        b = theta[4 * p :]
        Z = X @ W + b
        z3 = Z[:, :3]
        loss3 = np.mean(logsumexp(z3, axis=1) - z3[np.arange(n), y3])
        z2 = Z[:, 3]
        loss2 = -np.mean(y2 * log_expit(z2) + (1 - y2) * log_expit(-z2))
        return loss3 + loss2 + alpha * np.sum(np.sqrt(np.sum(W**2, axis=1) + 1e-12))

    ref = minimize(
        objective,
        np.zeros(5 * p),
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 20000},
    )
    ours = np.concatenate([model.coef_.T.ravel(), model.intercept_])
    assert objective(ours) <= ref.fun + 1e-6


@pytest.mark.parametrize(
    "est",
    [
        MeanRegularizedRegressor(alpha=0.1, coupling=1.0),
        LowRankRegressor(alpha=0.05),
        SparseRegressor(alpha=0.05),
    ],
)
def test_sparse_X_equals_dense(est):
    X, Y = _wide_problem(seed=10, n=60, p=8, T=3, missing=0.1)
    X[np.abs(X) < 0.8] = 0.0
    est.set_params(tol=1e-12, max_iter=50000)
    dense = est.fit(X, Y).coef_.copy()
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        assert_allclose(est.fit(fmt(X), Y).coef_, dense, atol=1e-8)
        assert_allclose(est.predict(fmt(X)), est.predict(X), atol=1e-10)


@pytest.mark.parametrize("Est", [MeanRegularizedClassifier, LowRankClassifier, SparseClassifier])
def test_sparse_X_equals_dense_classifiers(Est):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(80, 6))
    X[np.abs(X) < 0.7] = 0.0
    Y = (X[:, :3] + rng.normal(size=(80, 3)) > 0).astype(int)
    est = Est(alpha=0.02, tol=1e-10, max_iter=50000)
    dense = est.fit(X, Y).coef_.copy()
    assert_allclose(est.fit(sp.csr_matrix(X), Y).coef_, dense, atol=1e-7)
