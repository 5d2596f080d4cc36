"""Regularisation paths: one problem set-up (data checks, centring, Gram matrix) and a sequence of
warm-started solves from ``alpha_max`` down."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from ._base import _use_gram
from ._datafits import Quadratic
from ._solvers._compiled import compile_all


def warm_compiled_cache():
    """Compile (or load) the compiled solvers in this process before fits go to other processes:
    with a cold on-disk cache, it is filled once here and the workers load it."""
    compile_all()


def alpha_grid(alpha_max, *, eps=1e-3, n_alphas=100):
    """``n_alphas`` values from ``alpha_max`` down to ``eps * alpha_max``, evenly on a log scale.

    A scale of zero (data that carry nothing to fit: one sample, constant features or targets)
    gives ``n_alphas`` copies of a tiny positive value, as a grid of anything would fit alike.
    """
    if not alpha_max > 0 or not np.isfinite(alpha_max):
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


def path_predictions(estimator, coefs, intercepts, meta, X):
    """``estimator.predict(X)`` for every solution of a path, ``X`` validated once.

    Returns an ndarray of shape ``(n_alphas,) + predict(X).shape``. In the wide layout the
    predictions of all alphas are one product of ``X`` with the stacked coefficients.
    """
    est = set_solution(clone(estimator), coefs[0], intercepts[0], meta)
    if meta["layout"] == "long" or len(coefs) == 1:
        out = []
        for W, b in zip(coefs, intercepts):
            out.append(set_solution(est, W, b, meta).predict(X))
        return np.stack(out)
    K, p, M = coefs.shape
    dtype = meta["dtype"]
    est.coef_ = coefs.transpose(0, 2, 1).reshape(K * M, p).astype(dtype)
    est.intercept_ = intercepts.reshape(K * M).astype(dtype)
    Z, _ = est._outputs(X)  # (n, K * M): the outputs of every alpha side by side
    Z = Z.reshape(-1, K, M).transpose(1, 0, 2).astype(dtype, copy=False)
    return Z[:, :, 0] if meta["layout"] == "single" else Z
