"""Regularisation paths: one problem set-up (data checks, centring, Gram matrix) and a sequence of
warm-started solves from ``alpha_max`` down."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from ._base import _use_gram
from ._datafits import Quadratic


def alpha_grid(alpha_max, *, eps=1e-3, n_alphas=100):
    """``n_alphas`` values from ``alpha_max`` down to ``eps * alpha_max``, evenly on a log scale."""
    if alpha_max <= 0:
        return np.full(n_alphas, np.finfo(float).resolution)
    return np.geomspace(alpha_max, alpha_max * eps, num=n_alphas)


def prepare_least_squares(estimator, X, y, sample_weight=None):
    """Validate once and build the least-squares datafit (Gram form when cheaper).

    Returns ``(quad, datafit, meta)``; ``quad`` gives intercepts, ``datafit`` is what solvers use.
    """
    design, targets, meta = estimator._prepare(X, y, sample_weight)
    quad = Quadratic(design, targets, fit_intercept=estimator.fit_intercept)
    datafit = quad.to_gram() if _use_gram(quad) else quad.unweighted_equivalent()
    return quad, datafit, meta


def least_squares_path(estimator, X, y, alphas=None, *, eps=1e-3, n_alphas=100,
                       sample_weight=None):
    """Solutions of ``estimator`` (a linear regressor with a norm penalty) for each alpha.

    Parameters
    ----------
    estimator : SparseRegressor or LowRankRegressor
        Template: its parameters other than ``alpha`` are used.
    X, y : training data, in any layout the estimator accepts.
    alphas : array-like or None
        Decreasing values; when None, ``alpha_grid(alpha_max, eps=eps, n_alphas=n_alphas)``.
    sample_weight : array-like of shape (n_samples,) or None
        Row weights, as in the estimator's ``fit``.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
    coefs : ndarray of shape (n_alphas, n_features, n_outputs)
    intercepts : ndarray of shape (n_alphas, n_outputs)
    gaps : ndarray of shape (n_alphas,)
    n_iters : ndarray of shape (n_alphas,)
    meta : dict
        Layout information, for :meth:`set_solution`.
    """
    est = clone(estimator)
    quad, datafit, meta = prepare_least_squares(est, X, y, sample_weight)
    penalty0 = est._penalty(meta["n_tasks"], meta["widths"])
    if alphas is None:
        alphas = alpha_grid(penalty0.alpha_max(datafit.grad_at_zero()), eps=eps, n_alphas=n_alphas)
    alphas = np.asarray(alphas, dtype=float)
    p, M = quad.design.n_features, quad.design.n_outputs
    W, b = np.zeros((p, M)), np.zeros(M)
    coefs = np.empty((len(alphas), p, M))
    intercepts = np.empty((len(alphas), M))
    gaps, n_iters = np.empty(len(alphas)), np.empty(len(alphas), dtype=int)
    for k, alpha in enumerate(alphas):
        # the same penalty at this alpha: every other parameter (and solver setting) is kept
        penalty = penalty0.with_alpha(alpha)
        W, b, n_iter, crit, _, _ = est._solve(datafit, penalty, W, b)
        coefs[k], intercepts[k] = W, quad.intercept(W)
        gaps[k], n_iters[k] = crit, n_iter
    meta = {
        **meta,
        "n_features_in_": est.n_features_in_,
        "feature_names_in_": getattr(est, "feature_names_in_", None),
    }
    return alphas, coefs, intercepts, gaps, n_iters, meta


def set_solution(estimator, W, b, meta, n_iter=0, crit=0.0, rule_name="duality gap", penalty=None):
    """Give ``estimator`` the fitted state of solution ``(W, b)`` of a path (to predict with);
    ``penalty``, the penalty it solves, defines the population model of new tasks."""
    estimator.n_features_in_ = meta["n_features_in_"]
    if meta.get("feature_names_in_") is not None:
        estimator.feature_names_in_ = meta["feature_names_in_"]
    estimator._set_fitted(W, b, meta, n_iter, crit, rule_name)
    estimator._fit_penalty_ = penalty
    return estimator
