"""GraphRegularizedRegressor / GraphRegularizedClassifier: the complete graph is the mean-
regularised model exactly, quadratic problems against their normal equations (both layouts,
unequal n_t), the L1 term against cvxpy, graph resolution (matrix, edge list, names) and its
errors, and the usual estimator behaviour."""

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from _structure_helpers import long_task_last
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from skmtl.linear import (
    GraphRegularizedClassifier,
    GraphRegularizedRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
)

CHAIN = np.array([[0, 1, 0, 0], [1, 0, 2, 0], [0, 2, 0, 0.5], [0, 0, 0.5, 0]], dtype=float)


def _tasks(seed=0, p=5, n_t=(30, 45, 60, 38)):
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=p)
    Xs = [rng.normal(size=(n, p)) + 0.4 for n in n_t]
    ys = [X @ (w0 + 0.4 * t * rng.normal(size=p)) + t + 0.3 * rng.normal(size=len(X))
          for t, X in enumerate(Xs)]
    return Xs, ys


def _wide(seed=0, n=60, p=5, T=4, missing=0.25):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + 0.3
    Y = X @ (rng.normal(size=(p, 1)) + 0.5 * rng.normal(size=(p, T))) + 0.3 * rng.normal(
        size=(n, T))
    Y[rng.random((n, T)) < missing] = np.nan
    return X, Y, [X[~np.isnan(Y[:, t])] for t in range(T)], [Y[~np.isnan(Y[:, t]), t]
                                                           for t in range(T)]


def _normal_equations(Xs, ys, alpha, coupling, A):
    """The quadratic problem solved exactly: Hessian blocks plus (alpha I + coupling L) kron I."""
    p, T = Xs[0].shape[1], len(Xs)
    H = np.zeros((p * T, p * T))
    rhs = []
    for t, (X, y) in enumerate(zip(Xs, ys)):
        Xc, yc = X - X.mean(axis=0), y - y.mean()
        H[t * p:(t + 1) * p, t * p:(t + 1) * p] = Xc.T @ Xc / len(y)
        rhs.append(Xc.T @ yc / len(y))
    L = np.diag(A.sum(axis=1)) - A
    H += np.kron(alpha * np.eye(T) + coupling * L, np.eye(p))
    return np.linalg.solve(H, np.concatenate(rhs)).reshape(T, p)


@pytest.mark.parametrize("coupling", [0.0, 0.7, 5.0, np.inf])
def test_complete_graph_is_mean_regularized(coupling):
    X, Y, _, _ = _wide()
    graph = GraphRegularizedRegressor(alpha=0.1, coupling=coupling, tol=1e-12,
                                      max_iter=50000).fit(X, Y)
    mean = MeanRegularizedRegressor(alpha=0.1, coupling=coupling, tol=1e-12,
                                    max_iter=50000).fit(X, Y)
    assert_allclose(graph.coef_, mean.coef_, rtol=1e-9, atol=1e-10)
    assert_allclose(graph.intercept_, mean.intercept_, rtol=1e-9, atol=1e-10)
    assert_allclose(graph.task_graph_, (1 - np.eye(4)) / 4)


def test_complete_graph_is_mean_regularized_classifier():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = np.array(["a", "b", "c"])[np.argmax(X[:, :3] + 0.5 * rng.normal(size=(150, 3)), axis=1)]
    Y = np.column_stack([y, np.roll(y, 7)]).astype(object)
    g = GraphRegularizedClassifier(alpha=0.05, coupling=2.0, tol=1e-10, max_iter=50000).fit(X, Y)
    m = MeanRegularizedClassifier(alpha=0.05, coupling=2.0, tol=1e-10, max_iter=50000).fit(X, Y)
    assert_allclose(g.coef_, m.coef_, atol=1e-8)
    assert (g.predict(X) == m.predict(X)).all()


def test_unweighted_complete_edge_list_is_T_times_the_coupling():
    X, Y, _, _ = _wide(seed=1)
    edges = [(s, t) for s in range(4) for t in range(s + 1, 4)]
    graph = GraphRegularizedRegressor(alpha=0.1, coupling=0.5, task_graph=edges, tol=1e-12,
                                      max_iter=50000).fit(X, Y)
    mean = MeanRegularizedRegressor(alpha=0.1, coupling=0.5 * 4, tol=1e-12,
                                    max_iter=50000).fit(X, Y)
    assert_allclose(graph.coef_, mean.coef_, atol=1e-9)


@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("coupling", [0.3, 4.0])
def test_chain_graph_matches_normal_equations(layout, coupling):
    if layout == "wide":
        X, Y, Xs, ys = _wide(seed=2)
        model = GraphRegularizedRegressor(alpha=0.05, coupling=coupling, task_graph=CHAIN,
                                          tol=1e-12, max_iter=50000).fit(X, Y)
    else:
        Xs, ys = _tasks()
        X, y = long_task_last(Xs, ys)
        edges = [(0, 1, 1.0), (1, 2, 2.0), (2, 3, 0.5)]
        model = GraphRegularizedRegressor(alpha=0.05, coupling=coupling, task_graph=edges,
                                          task_column=5, tol=1e-12, max_iter=50000).fit(X, y)
    ref = _normal_equations(Xs, ys, 0.05, coupling, CHAIN)
    assert_allclose(model.coef_, ref, atol=1e-8)
    assert_allclose(model.task_graph_, CHAIN)


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_l1_term_matches_cvxpy(layout):
    alpha, coupling, rho = 0.2, 1.5, 0.4
    if layout == "wide":
        X, Y, Xs, ys = _wide(seed=3)
        model = GraphRegularizedRegressor(alpha=alpha, coupling=coupling, l1_ratio=rho,
                                          task_graph=CHAIN, tol=1e-11, max_iter=100000).fit(X, Y)
    else:
        Xs, ys = _tasks(seed=1)
        X, y = long_task_last(Xs, ys)
        model = GraphRegularizedRegressor(alpha=alpha, coupling=coupling, l1_ratio=rho,
                                          task_graph=CHAIN, task_column=5, tol=1e-11,
                                          max_iter=100000).fit(X, y)
    p, T = Xs[0].shape[1], len(Xs)
    W, b = cp.Variable((p, T)), cp.Variable(T)
    fit = sum(cp.sum_squares(y - X @ W[:, t] - b[t]) / (2 * len(y))
              for t, (X, y) in enumerate(zip(Xs, ys)))
    pairs = sum(CHAIN[s, t] * cp.sum_squares(W[:, s] - W[:, t])
                for s in range(T) for t in range(s + 1, T) if CHAIN[s, t])
    pen = alpha * (1 - rho) / 2 * cp.sum_squares(W) + coupling / 2 * pairs
    pen += alpha * rho * cp.sum(cp.abs(W))
    prob = cp.Problem(cp.Minimize(fit + pen))
    prob.solve(solver="CLARABEL")
    assert_allclose(model.coef_, W.value.T, atol=1e-5)
    # the L1 term gives exact zeros where the reference is zero
    assert np.all(model.coef_[np.abs(W.value.T) < 1e-8] == 0)


def test_graph_by_task_names():
    pd = pytest.importorskip("pandas")
    X, Y, _, _ = _wide(seed=4, missing=0.0)
    names = ["north", "south", "east", "west"]
    Ydf = pd.DataFrame(Y, columns=names)
    edges = [("north", "south", 1.0), ("south", "east", 2.0), ("east", "west", 0.5)]
    by_name = GraphRegularizedRegressor(alpha=0.1, coupling=1.0, task_graph=edges,
                                        tol=1e-12, max_iter=50000).fit(X, Ydf)
    by_matrix = GraphRegularizedRegressor(alpha=0.1, coupling=1.0, task_graph=CHAIN,
                                          tol=1e-12, max_iter=50000).fit(X, Y)
    assert_allclose(by_name.coef_, by_matrix.coef_, atol=1e-10)
    # a DataFrame of weights is matched by label, whatever its order
    order = ["west", "east", "north", "south"]
    frame = pd.DataFrame(CHAIN, index=names, columns=names).loc[order, order]
    by_frame = GraphRegularizedRegressor(alpha=0.1, coupling=1.0, task_graph=frame,
                                         tol=1e-12, max_iter=50000).fit(X, Ydf)
    assert_allclose(by_frame.coef_, by_matrix.coef_, atol=1e-10)
    sparse_graph = GraphRegularizedRegressor(alpha=0.1, coupling=1.0,
                                             task_graph=sp.csr_matrix(CHAIN), tol=1e-12,
                                             max_iter=50000).fit(X, Y)
    assert_allclose(sparse_graph.coef_, by_matrix.coef_, atol=1e-10)


def test_long_layout_string_tasks():
    Xs, ys = _tasks(seed=5)
    X, y = long_task_last(Xs, ys)
    labels = np.array(["a", "b", "c", "d"], dtype=object)[X[:, -1].astype(int)]
    Xo = np.column_stack([X[:, :-1].astype(object), labels])
    model = GraphRegularizedRegressor(alpha=0.05, coupling=1.0, task_column=5,
                                      task_graph=[("a", "b"), ("c", "d")], tol=1e-12,
                                      max_iter=50000).fit(Xo, y)
    A = np.zeros((4, 4))
    A[0, 1] = A[1, 0] = A[2, 3] = A[3, 2] = 1.0
    assert_allclose(model.coef_, _normal_equations(Xs, ys, 0.05, 1.0, A), atol=1e-8)


@pytest.mark.parametrize("graph, match", [
    (np.ones((3, 3)), r"shape \(3, 3\), but y has 4 task"),
    (-CHAIN, "negative weight"),
    (np.triu(CHAIN), "not symmetric"),
    ([(0, 1), (1, 7)], "7 is not a task"),
    ([(0, 1), (1, 0)], "twice"),
    ([(0, 1, 2, 3)], "pair"),
    (np.full((4, 4), np.nan), "non-finite"),
])
def test_bad_graph(graph, match):
    X, Y, _, _ = _wide()
    with pytest.raises(ValueError, match=match):
        GraphRegularizedRegressor(task_graph=graph).fit(X, Y)


def test_other_errors():
    X, Y, _, _ = _wide()
    with pytest.raises(ValueError, match="inf"):
        GraphRegularizedRegressor(coupling=np.inf, l1_ratio=0.5).fit(X, Y)
    rng = np.random.default_rng(0)
    Yc = np.column_stack([rng.integers(0, 2, 60), rng.integers(0, 3, 60)])
    with pytest.raises(ValueError, match="same number of outputs"):
        GraphRegularizedClassifier().fit(X, Yc)


def test_warm_start_warning_grid_search():
    X, Y, _, _ = _wide(seed=6)
    model = GraphRegularizedRegressor(alpha=0.1, task_graph=CHAIN, l1_ratio=0.3, tol=1e-9,
                                      warm_start=True).fit(X, Y)
    first = model.n_iter_
    model.fit(X, Y)
    assert model.n_iter_ < first
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        GraphRegularizedRegressor(alpha=0.01, l1_ratio=0.3, tol=1e-14, max_iter=2).fit(X, Y)
    Yf = np.nan_to_num(Y)
    grid = GridSearchCV(GraphRegularizedRegressor(task_graph=CHAIN),
                        {"coupling": [0.1, 10.0]}, cv=3).fit(X, Yf)
    assert grid.best_params_["coupling"] in (0.1, 10.0)
