"""ClusteredRegressor / ClusteredClassifier against independent references: cvxpy (the joint
problem in W, b and M, an SDP), scikit-learn's Ridge and LogisticRegression (the limits), the
mean-regularised objective, and the certificates."""

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
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import ClusteredClassifier, ClusteredRegressor
from skmtl.datasets import make_multitask_classification, make_multitask_regression
from skmtl.linear import MeanRegularizedClassifier, MeanRegularizedRegressor
from skmtl.linear._clustered import ClusteredPenalty, cluster_eigenvalues

# -- problems -------------------------------------------------------------------------------


def _tasks(seed=0, T=4, p=3, sizes=(25, 40, 31, 18), classification=False, clusters=None):
    """Per-task data sets with unequal n_t (the reference objective is written per task)."""
    rng = np.random.default_rng(seed)
    clusters = np.arange(T) % 2 if clusters is None else np.asarray(clusters)
    centres = rng.normal(size=(clusters.max() + 1, p))
    W = centres[clusters] + 0.3 * rng.normal(size=(T, p))
    data = []
    for t in range(T):
        X = rng.normal(size=(sizes[t], p)) + 0.5
        z = X @ W[t] + 0.2
        y = (z + 0.5 * rng.normal(size=z.size) > 0.2).astype(int) if classification else (
            z + 0.3 * rng.normal(size=z.size)
        )
        data.append((X, y))
    return data


def _wide(seed=0, n=60, p=3, T=4, missing=0.25, classification=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + 0.3
    W = rng.normal(size=(2, p))[np.arange(T) % 2] + 0.3 * rng.normal(size=(T, p))
    Z = X @ W.T
    Y = (Z + 0.5 * rng.normal(size=Z.shape) > 0).astype(float) if classification else (
        Z + 0.3 * rng.normal(size=Z.shape)
    )
    Y[rng.random((n, T)) < missing] = np.nan
    Y[:4] = (np.arange(4 * T).reshape(4, T) % 2) if classification else Y[:4]  # both classes
    data = [(X[~np.isnan(Y[:, t])], Y[~np.isnan(Y[:, t]), t]) for t in range(T)]
    return X, Y, data


def _cvxpy_clustered(data, alpha, coupling, k, classification=False):
    """The joint convex problem in (W, b, M) as cvxpy states it (matrix fraction + LMIs)."""
    T, p = len(data), data[0][0].shape[1]
    W, b = cp.Variable((p, T)), cp.Variable(T)
    M = cp.Variable((T, T), symmetric=True)
    fit = cvxpy_datafit(data, W, b, classification)
    A = alpha * np.eye(T) + coupling * M
    pen = 0.5 * alpha * (alpha + coupling) * cp.matrix_frac(W.T, A)
    cons = [cp.trace(M) == k, M >> 0, np.eye(T) - M >> 0]
    prob = cp.Problem(cp.Minimize(fit + pen), cons)
    prob.solve(solver=cp.CLARABEL)
    return prob.value, W.value.T, b.value


def _objective(data, coef, intercept, penalty, classification=False):
    return datafit_value(data, coef, intercept, classification) + penalty.value(coef.T)


# -- the M-step, the gradient, the conjugate --------------------------------------------------


def _cvxpy_m_step(W, alpha, coupling, k):
    T = W.shape[1]
    M = cp.Variable((T, T), symmetric=True)
    A = alpha * np.eye(T) + coupling * M
    prob = cp.Problem(
        cp.Minimize(0.5 * alpha * (alpha + coupling) * cp.matrix_frac(W.T, A)),
        [cp.trace(M) == k, M >> 0, np.eye(T) - M >> 0],
    )
    prob.solve(solver=cp.CLARABEL)
    return prob.value


@pytest.mark.parametrize("rank", [5, 2, 1, 0])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_m_step_is_the_minimum_over_m(rank, k):
    """Closed form (eigenvalues clip(sqrt(s/nu) - eta, 0, 1)) = the SDP over M, also when
    rank(W) < k (no root: 1 on the range, the rest of the trace on the null space)."""
    rng = np.random.default_rng(rank * 10 + k)
    T, alpha, coupling = 5, 0.4, 3.0
    W = rng.normal(size=(6, rank)) @ rng.normal(size=(rank, T)) if rank else np.zeros((6, T))
    pen = ClusteredPenalty(alpha, coupling, k, T)
    M = pen.cluster_matrix(W)
    lam = np.linalg.eigvalsh(M)
    assert_allclose(np.trace(M), k, atol=1e-10)
    assert lam.min() >= -1e-10 and lam.max() <= 1 + 1e-10
    direct = 0.5 * alpha * (alpha + coupling) * np.trace(
        W @ np.linalg.solve(alpha * np.eye(T) + coupling * M, W.T)
    )
    assert_allclose(pen.value(W), direct, rtol=1e-10, atol=1e-12)
    assert_allclose(pen.value(W), _cvxpy_m_step(W, alpha, coupling, k), rtol=1e-6, atol=1e-7)


def test_m_eigenvalues_sum_to_k_and_follow_the_formula():
    rng = np.random.default_rng(0)
    sigma = np.sort(rng.random(7) * 3)[::-1]
    eta, k = 0.3, 3
    m, null = cluster_eigenvalues(sigma, eta, k, 9)
    assert_allclose(m.sum(), k)
    assert null == 0.0
    # m_i = clip(sqrt(s_i / nu) - eta, 0, 1) with s = sigma^2 for one nu
    inner = (m > 1e-12) & (m < 1 - 1e-12)
    u = (m[inner] + eta) / sigma[inner]
    assert_allclose(u, u[0])


@pytest.mark.parametrize("width", [1, 3])
@pytest.mark.parametrize("coupling", [0.0, 0.7, 20.0])
def test_gradient_matches_finite_differences(width, coupling):
    """The gradient alpha (alpha + c) W (alpha I + c M*)^-1, M acting on tasks (M (x) I_K)."""
    rng = np.random.default_rng(1)
    T, p = 5, 4
    pen = ClusteredPenalty(0.3, coupling, 2, T, width)
    W = rng.normal(size=(p, T * width))
    value, grad = pen.value_grad(W)
    E = rng.normal(size=W.shape)
    h = 1e-6
    fd = (pen.value(W + h * E) - pen.value(W - h * E)) / (2 * h)
    assert_allclose(np.sum(grad * E), fd, rtol=1e-6)
    # the closed form with the Kronecker structure, written out
    M = pen.cluster_matrix(W)
    A = np.kron(0.3 * np.eye(T) + coupling * M, np.eye(width))
    assert_allclose(grad, 0.3 * (0.3 + coupling) * W @ np.linalg.inv(A), atol=1e-10)
    assert_allclose(value, 0.5 * np.sum(grad * W), rtol=1e-10)


def test_malsar_gradient_in_m_is_wrong_and_ours_is_right():
    """d/dM tr(W (eta I + M)^-1 W') = -(eta I + M)^-1 W'W (eta I + M)^-1, not MALSAR's
    -W'W (eta I + M)^-2, when M and W'W do not commute."""
    rng = np.random.default_rng(2)
    T, eta = 4, 0.5
    W = rng.normal(size=(3, T))
    B = rng.normal(size=(T, T))
    M = B @ B.T / 10
    E = rng.normal(size=(T, T))
    E = E + E.T

    def g(M):
        return np.trace(W @ np.linalg.inv(eta * np.eye(T) + M) @ W.T)

    h = 1e-6
    fd = (g(M + h * E) - g(M - h * E)) / (2 * h)
    Ainv = np.linalg.inv(eta * np.eye(T) + M)
    ours = -Ainv @ W.T @ W @ Ainv
    malsar = -W.T @ W @ Ainv @ Ainv
    assert_allclose(np.sum(ours * E), fd, rtol=1e-6)
    assert abs(np.sum(malsar * E) - fd) > 1e-3 * abs(fd)


def test_conjugate_is_the_supremum():
    rng = np.random.default_rng(3)
    T, p = 4, 3
    pen = ClusteredPenalty(0.5, 2.0, 2, T)
    V = rng.normal(size=(p, T))
    res = minimize(
        lambda w: pen.value(w.reshape(p, T)) - np.sum(V * w.reshape(p, T)),
        np.zeros(p * T),
        jac=lambda w: pen.value_grad(w.reshape(p, T))[1].ravel() - V.ravel(),
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000},
    )
    assert_allclose(pen.conjugate(V), -res.fun, rtol=1e-7)


def test_penalty_is_alpha_strongly_convex_between_ridge_bounds():
    rng = np.random.default_rng(4)
    pen = ClusteredPenalty(0.2, 5.0, 2, 6)
    for _ in range(5):
        W1, W2 = rng.normal(size=(2, 4, 6))
        mid = pen.value(0.5 * (W1 + W2))
        chord = 0.5 * (pen.value(W1) + pen.value(W2))
        assert mid <= chord - 0.2 / 8 * np.sum((W1 - W2) ** 2) + 1e-12
        # alpha/2 ||W||^2 <= P(W) <= (alpha + c)/2 ||W||^2
        assert 0.1 * np.sum(W1**2) <= pen.value(W1) <= 2.6 * np.sum(W1**2)


# -- the estimators against cvxpy ------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2])
def test_regressor_long_layout_matches_cvxpy(k):
    data = _tasks(seed=0)
    alpha, coupling = 0.05, 2.0
    opt, W_ref, b_ref = _cvxpy_clustered(data, alpha, coupling, k)
    Xl, y = long_task_first(data)
    est = ClusteredRegressor(alpha, coupling, n_clusters=k, task_column=0, tol=1e-10).fit(Xl, y)
    assert_allclose(est.coef_, W_ref, atol=2e-4)
    assert_allclose(est.intercept_, b_ref, atol=2e-4)
    pen = ClusteredPenalty(alpha, coupling, k, 4)
    obj = _objective(data, est.coef_, est.intercept_, pen)
    assert obj <= opt + 1e-7
    # the certificate bounds the true suboptimality
    assert est.dual_gap_ <= 1e-10 * sum(np.var(y_t) for _, y_t in data) + 1e-15


def test_regressor_wide_layout_with_missing_labels_matches_cvxpy():
    X, Y, data = _wide(seed=1)
    opt, W_ref, b_ref = _cvxpy_clustered(data, 0.1, 1.0, 2)
    est = ClusteredRegressor(0.1, 1.0, n_clusters=2, tol=1e-10).fit(X, Y)
    assert_allclose(est.coef_, W_ref, atol=2e-4)
    assert_allclose(est.intercept_, b_ref, atol=2e-4)
    assert _objective(data, est.coef_, est.intercept_, ClusteredPenalty(0.1, 1.0, 2, 4)) <= (
        opt + 1e-7
    )


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_classifier_matches_cvxpy(layout):
    if layout == "wide":
        X, Y, data = _wide(seed=2, n=80, classification=True)
    else:
        data = _tasks(seed=3, classification=True)
    opt, W_ref, b_ref = _cvxpy_clustered(data, 0.05, 1.0, 2, classification=True)
    est = ClusteredClassifier(0.05, 1.0, n_clusters=2, tol=1e-9, max_iter=20000)
    if layout == "wide":
        est.fit(X, Y)
    else:
        est.set_params(task_column=0).fit(*long_task_first(data))
    assert_allclose(est.coef_, W_ref, atol=5e-4)
    assert_allclose(est.intercept_, b_ref, atol=5e-4)
    pen = ClusteredPenalty(0.05, 1.0, 2, 4)
    assert _objective(data, est.coef_, est.intercept_, pen, True) <= opt + 1e-7


def test_duality_gap_bounds_suboptimality_along_the_way():
    """At any W, the Fenchel gap and ||grad F||^2 / (2 alpha) are both >= F(W) - F*."""
    from skmtl.linear._datafits import Quadratic
    from skmtl.linear._solvers._fenchel import FenchelGap
    from skmtl.linear._validation import long_design

    data = _tasks(seed=4)
    alpha, coupling, k = 0.05, 2.0, 2
    opt, _, _ = _cvxpy_clustered(data, alpha, coupling, k)
    Xl, y = long_task_first(data)
    design, order = long_design(Xl[:, 1:], Xl[:, 0].astype(int), 4, [1] * 4)
    quad = Quadratic(design, y[order][:, None])
    pen = ClusteredPenalty(alpha, coupling, k, 4)
    rule = FenchelGap(quad, pen, 0.0)
    rng = np.random.default_rng(0)
    for scale in [0.0, 0.1, 1.0]:
        W = scale * rng.normal(size=(3, 4))
        Z = quad.linear(W)
        f, g, _ = quad.gradient(W, None, Z)
        F = f + pen.value(W)
        gap = rule(W, None, Z)
        grad = g + pen.value_grad(W)[1]
        assert F - opt <= gap + 1e-7
        assert F - opt <= np.sum(grad**2) / (2 * alpha) + 1e-7


# -- limits ------------------------------------------------------------------------------------


@pytest.mark.parametrize("coupling", [0.0, 3.0])
def test_n_clusters_equal_to_n_tasks_is_independent_ridge(coupling):
    X, Y, data = _wide(seed=5, missing=0.3)
    alpha = 0.07
    est = ClusteredRegressor(alpha, coupling, n_clusters=4, tol=1e-12).fit(X, Y)
    assert_allclose(est.task_similarity_, np.eye(4), atol=1e-10)
    assert_array_equal(est.task_clusters_, np.arange(4))
    for t, (Xt, yt) in enumerate(data):
        ridge = Ridge(alpha=alpha * len(yt)).fit(Xt, yt)
        assert_allclose(est.coef_[t], ridge.coef_, atol=1e-7)
        assert_allclose(est.intercept_[t], ridge.intercept_, atol=1e-7)


def test_coupling_zero_is_independent_ridge_for_any_n_clusters():
    X, Y, data = _wide(seed=6)
    est = ClusteredRegressor(0.1, 0.0, n_clusters=1, tol=1e-12).fit(X, Y)
    assert np.all(np.isfinite(est.task_similarity_))
    assert_allclose(np.trace(est.task_similarity_), 1.0)
    for t, (Xt, yt) in enumerate(data):
        assert_allclose(est.coef_[t], Ridge(alpha=0.1 * len(yt)).fit(Xt, yt).coef_, atol=1e-7)


def test_n_clusters_equal_to_n_tasks_is_independent_logistic_regression():
    X, Y, data = _wide(seed=7, n=90, classification=True, missing=0.1)
    alpha = 0.05
    est = ClusteredClassifier(alpha, 2.0, n_clusters=4, tol=1e-10, max_iter=20000).fit(X, Y)
    for t, (Xt, yt) in enumerate(data):
        ref = LogisticRegression(C=1 / (alpha * len(yt)), tol=1e-12, max_iter=10000).fit(Xt, yt)
        assert_allclose(est.coef_[t], ref.coef_[0], atol=1e-6)
        assert_allclose(est.intercept_[t], ref.intercept_[0], atol=1e-6)


def test_multiclass_tasks_limit_is_multinomial_logistic_regression():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(120, 3))
    Y = np.column_stack([np.argmax(X + 0.3 * rng.normal(size=X.shape), axis=1) for _ in range(2)])
    alpha = 0.05
    est = ClusteredClassifier(alpha, 1.0, n_clusters=2, tol=1e-10, max_iter=20000).fit(X, Y)
    assert est.coef_.shape == (6, 3)
    assert est.task_similarity_.shape == (2, 2)
    for t in range(2):
        ref = LogisticRegression(C=1 / (alpha * 120), tol=1e-12, max_iter=10000).fit(X, Y[:, t])
        assert_allclose(est.coef_[3 * t : 3 * t + 3], ref.coef_, atol=1e-5)


def test_one_cluster_is_at_most_mean_regularised():
    """M = 11'/T is feasible for n_clusters = 1 and gives MeanRegularized's penalty exactly."""
    X, Y, data = _wide(seed=9)
    alpha, coupling = 0.05, 2.0
    mr = MeanRegularizedRegressor(alpha, coupling, tol=1e-12, max_iter=50000).fit(X, Y)
    cl = ClusteredRegressor(alpha, coupling, n_clusters=1, tol=1e-12).fit(X, Y)
    W = mr.coef_.T
    T = W.shape[1]
    Mbar = np.ones((T, T)) / T
    pen_at_mbar = 0.5 * alpha * (alpha + coupling) * np.trace(
        W @ np.linalg.solve(alpha * np.eye(T) + coupling * Mbar, W.T)
    )
    dev = W - W.mean(axis=1, keepdims=True)
    mr_pen = 0.5 * alpha * np.sum(W**2) + 0.5 * coupling * np.sum(dev**2)
    assert_allclose(pen_at_mbar, mr_pen, rtol=1e-12)
    pen = ClusteredPenalty(alpha, coupling, 1, T)
    fit = [0.5 * np.mean((yt - Xt @ c - b) ** 2) for (Xt, yt), c, b in zip(
        data, mr.coef_, mr.intercept_)]
    obj_mr = sum(fit) + mr_pen
    obj_cl = _objective(data, cl.coef_, cl.intercept_, pen)
    assert obj_cl <= obj_mr + 1e-10
    assert pen.value(W) <= mr_pen + 1e-12


# -- recovery -----------------------------------------------------------------------------------


def test_clusters_are_recovered_and_prediction_beats_mean_regularised():
    X, Y, coef = make_multitask_regression(
        150, 20, 12, n_clusters=3, cluster_std=0.1, noise=1.0, random_state=0
    )
    Xte, Yte = X[100:], Y[100:]
    X, Y = X[:100], Y[:100]
    truth = np.arange(12) * 3 // 12
    cl = ClusteredRegressor(0.01, 1.0, n_clusters=3, random_state=0).fit(X, Y)
    assert adjusted_rand_score(truth, cl.task_clusters_) >= 0.9
    mr_best = max(
        MeanRegularizedRegressor(a, c).fit(X, Y).score(Xte, Yte)
        for a in [0.003, 0.01, 0.03, 0.1] for c in [0.1, 1.0, 10.0]
    )
    assert cl.score(Xte, Yte) > mr_best


def test_classifier_recovers_clusters_and_beats_mean_regularised():
    X, Y, _ = make_multitask_classification(
        400, 10, 12, n_clusters=3, cluster_std=0.1, random_state=0
    )
    X_tr, Y_tr, X_te, Y_te = X[:150], Y[:150], X[150:], Y[150:]
    cl = ClusteredClassifier(0.01, 1.0, n_clusters=3, random_state=0).fit(X_tr, Y_tr)
    assert adjusted_rand_score(np.arange(12) * 3 // 12, cl.task_clusters_) >= 0.9
    mr_best = max(
        MeanRegularizedClassifier(a, c).fit(X_tr, Y_tr).score(X_te, Y_te)
        for a in [0.003, 0.01, 0.03, 0.1] for c in [0.1, 1.0, 10.0]
    )
    assert cl.score(X_te, Y_te) > mr_best


def test_default_n_clusters_rule_and_one_task():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(40, 3))
    one = ClusteredRegressor(0.1).fit(X, X[:, 0] + 0.1 * rng.normal(size=40))
    assert one.n_clusters_ == 1 and one.coef_.shape == (3,)
    assert_array_equal(one.task_clusters_, [0])
    assert_allclose(one.task_similarity_, [[1.0]])
    Y = X @ rng.normal(size=(3, 8))
    many = ClusteredRegressor(0.1).fit(X, Y)
    assert many.n_clusters_ == 2 and many.n_clusters is None


# -- estimator behaviour ------------------------------------------------------------------------


def test_sparse_equals_dense_and_warm_start():
    X, Y, _ = _wide(seed=11, missing=0.0)
    X[X < 0.3] = 0.0
    dense = ClusteredRegressor(0.05, 1.0, n_clusters=2, tol=1e-10).fit(X, Y)
    sparse = ClusteredRegressor(0.05, 1.0, n_clusters=2, tol=1e-10).fit(sp.csr_matrix(X), Y)
    assert_allclose(sparse.coef_, dense.coef_, atol=1e-8)
    check_warm_start(ClusteredRegressor, dict(n_clusters=2))

def test_string_labels_long_layout_and_convergence_warning():
    data = _tasks(seed=12, classification=True)
    Xl, y = long_task_first(data)
    labels = np.array(["no", "yes"])[y]
    names = np.array(["a", "b", "c", "d"])[Xl[:, 0].astype(int)]
    Xo = np.column_stack([names, Xl[:, 1:]]).astype(object)
    est = ClusteredClassifier(0.05, 1.0, n_clusters=2, task_column=0).fit(Xo, labels)
    assert list(est.tasks_) == ["a", "b", "c", "d"]
    assert set(est.predict(Xo)) <= {"no", "yes"}
    assert est.score(Xo, labels) > 0.7
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        ClusteredRegressor(
            0.01, 1.0, n_clusters=2, max_iter=2, tol=1e-12, task_column=0
        ).fit(*long_task_first(_tasks()))


def test_pipeline_and_grid_search():
    X, Y, _ = _wide(seed=13, missing=0.0)
    pipe = make_pipeline(StandardScaler(), ClusteredRegressor(n_clusters=2, random_state=0))
    search = GridSearchCV(
        pipe, {"clusteredregressor__coupling": [0.1, 1.0], "clusteredregressor__alpha": [0.1]},
        cv=3,
    ).fit(X, Y)
    assert search.best_estimator_[-1].task_clusters_.shape == (4,)
    assert search.predict(X).shape == Y.shape


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_clusters": 5}, r"n_clusters=5 is larger than the number of tasks \(4\)"),
        ({"coupling": np.inf}, r"'coupling' parameter .* range \[0.0, inf\)"),
        ({"alpha": 0.0}, "alpha"),
        ({"n_clusters": 0}, "n_clusters"),
    ],
)
def test_bad_parameters_are_clear_errors(params, match):
    X, Y, _ = _wide(seed=14)
    with pytest.raises(ValueError, match=match):
        ClusteredRegressor(**params).fit(X, Y)


def test_mixed_output_widths_are_a_clear_error():
    rng = np.random.default_rng(15)
    X = rng.normal(size=(60, 3))
    Y = np.column_stack([np.argmax(X, axis=1), (X[:, 0] > 0).astype(int)])
    with pytest.raises(ValueError, match="same number of outputs"):
        ClusteredClassifier().fit(X, Y)


def test_clone_keeps_parameters():
    est = ClusteredRegressor(0.3, 2.0, n_clusters=3, random_state=1)
    assert clone(est).get_params() == est.get_params()


def test_docstrings_describe_the_certificate_actually_used():
    from skmtl.linear import TaskRelationRegressor
    from skmtl.linear._family import _NOTES_PROX

    for est in [ClusteredRegressor, TaskRelationRegressor]:
        assert "duality gap" in est.__doc__.split("Notes")[1]
        assert _NOTES_PROX not in est.__doc__
        assert "dual_gap_" in est.__doc__
    for est in [ClusteredClassifier]:
        assert "dual_gap_" not in est.__doc__
