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
