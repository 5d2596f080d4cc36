"""Helpers shared by the tests of the structured estimators (clustered, task relation, graph,
dirty, robust): long-layout builders, the cvxpy reference of a two-part logistic model and the
warm-start check."""

import cvxpy as cp
import numpy as np
from scipy.special import log_expit

from skmtl.datasets import make_multitask_regression


def long_task_first(data):
    """``[(X_t, y_t), ...]`` in the long layout with the task index as column 0."""
    task = np.concatenate([np.full(len(y), t) for t, (_, y) in enumerate(data)])
    X = np.vstack([X for X, _ in data])
    y = np.concatenate([y for _, y in data])
    return np.column_stack([task, X]), y


def long_task_last(Xs, ys):
    """Per-task ``Xs``, ``ys`` in the long layout with the task index as the last column."""
    X = np.vstack([np.column_stack([X, np.full(len(X), t)]) for t, X in enumerate(Xs)])
    return X, np.concatenate(ys)


def cvxpy_datafit(data, W, b, classification=False):
    """The sum over tasks of the mean squared error / 2 (or mean logistic loss) of the cvxpy
    variables ``W`` (p, T) and ``b`` (T,) on ``[(X_t, y_t), ...]``."""
    fit = 0
    for t, (X, y) in enumerate(data):
        z = X @ W[:, t] + b[t]
        if classification:
            fit += cp.sum(cp.logistic(z) - cp.multiply(y, z)) / len(y)
        else:
            fit += cp.sum_squares(y - z) / (2 * len(y))
    return fit


def datafit_value(data, coef, intercept, classification=False):
    """The same sum in numpy for ``coef`` (T, p) and ``intercept`` (T,)."""
    value = 0.0
    for t, (X, y) in enumerate(data):
        z = X @ coef[t] + intercept[t]
        if classification:
            value += float(np.mean(-(y * log_expit(z) + (1 - y) * log_expit(-z))))
        else:
            value += 0.5 * float(np.mean((y - z) ** 2))
    return value


def least_squares_value(Xs, ys, W, b):
    """``sum_t ||y_t - X_t W[:, t] - b_t||^2 / (2 n_t)`` for ``W`` (p, T)."""
    return sum(
        np.sum((y - X @ W[:, t] - b[t]) ** 2) / (2 * len(y)) for t, (X, y) in enumerate(zip(Xs, ys))
    )


def least_squares_gap(Xs, ys, W, pen, dual_norm):
    """Duality gap recomputed from scratch for per-task least squares with penalty value ``pen``
    at ``W`` (p, T): centred data (the intercepts eliminated), dual point the residual rescaled
    by the best feasible ``kappa``; ``dual_norm(G)`` is the penalty's dual norm of the gradient
    ``G`` (p, T)."""
    Xc = [X - X.mean(axis=0) for X in Xs]
    yc = [y - y.mean() for y in ys]
    R = [y - X @ W[:, t] for t, (X, y) in enumerate(zip(Xc, yc))]
    n = np.array([len(y) for y in ys])
    f = sum(r @ r / (2 * m) for r, m in zip(R, n))
    G = np.column_stack([X.T @ r / m for X, r, m in zip(Xc, R, n)])
    dn = dual_norm(G)
    lin = sum(y @ r / m for y, r, m in zip(yc, R, n))
    quad = sum(r @ r / m for r, m in zip(R, n))
    kappa = np.clip(lin / quad, 0, 1 / dn)
    return f + pen - (kappa * lin - 0.5 * kappa**2 * quad)


def two_part_least_squares_optimum(Xs, ys, penalty):
    """``(value, U + V)`` at the optimum (cvxpy, Clarabel) of the per-task least squares
    ``||y_t - X_t (U + V)[:, t] - b_t||^2 / (2 n_t)`` plus ``penalty(U, V)``."""
    p, T = Xs[0].shape[1], len(Xs)
    U, V, b = cp.Variable((p, T)), cp.Variable((p, T)), cp.Variable(T)
    fit = sum(
        cp.sum_squares(y - X @ (U[:, t] + V[:, t]) - b[t]) / (2 * len(y))
        for t, (X, y) in enumerate(zip(Xs, ys))
    )
    prob = cp.Problem(cp.Minimize(fit + penalty(U, V)))
    prob.solve(solver="CLARABEL")
    return prob.value, U.value + V.value


def two_part_logistic_optimum(Xs, ys, penalty):
    """The optimal value (cvxpy, Clarabel) of the per-task mean logistic loss with coefficients
    ``U + V`` (two (p, T) variables) plus ``penalty(U, V)``."""
    p, T = Xs[0].shape[1], len(Xs)
    U, V, b = cp.Variable((p, T)), cp.Variable((p, T)), cp.Variable(T)
    fit = 0
    for t, (X, y) in enumerate(zip(Xs, ys)):
        z = X @ (U[:, t] + V[:, t]) + b[t]
        fit += cp.sum(cp.logistic(z) - cp.multiply(y, z)) / len(y)
    prob = cp.Problem(cp.Minimize(fit + penalty(U, V)))
    prob.solve(solver="CLARABEL")
    return prob.value


def check_warm_start(Estimator, params):
    """A warm start from a nearby solution takes fewer iterations and lands on the same optimum
    (within the distance the two duality gaps allow: ||dW|| <= sqrt(2 gap / alpha) each)."""
    X, Y, _ = make_multitask_regression(80, 30, 6, random_state=0)
    X = X * np.linspace(0.1, 3, 30)
    alpha = 0.001
    warm = Estimator(alpha, 1.0, tol=1e-10, warm_start=True, **params).fit(X, Y)
    warm.set_params(coupling=1.01).fit(X, Y)
    cold = Estimator(alpha, 1.01, tol=1e-10, **params).fit(X, Y)
    assert warm.n_iter_ < cold.n_iter_
    bound = np.sqrt(2 * warm.dual_gap_ / alpha) + np.sqrt(2 * cold.dual_gap_ / alpha)
    assert np.linalg.norm(warm.coef_ - cold.coef_) <= bound
