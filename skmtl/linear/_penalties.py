"""Penalties on the coefficient matrix ``W`` of shape (n_features, n_outputs).

Each penalty is a small object with

- ``value(W)``;
- ``prox(V, step)``: the proximal operator ``argmin_W 1/(2 step) ||W - V||^2 + P(W)``;
- ``dual_norm(V)`` (norm penalties only): the dual norm of ``V`` divided by ``alpha``, so that the
  dual feasible set is ``dual_norm(V) <= 1``; used for duality gaps and ``alpha_max``;
- ``subdiff_distance(W, V)`` (norm penalties): the distance of ``V`` to the subdifferential of
  ``P`` at ``W``, the optimality certificate ``-grad f(W) in dP(W)``;
- ``separable``: whether ``P`` is a sum over features (rows of ``W``), which working sets need.
"""

from __future__ import annotations

import numpy as np


class L21:
    """``P(W) = alpha * sum_j ||W[j, :]||_2``: rows (features) are selected jointly by all tasks."""

    separable = True

    def __init__(self, alpha):
        self.alpha = float(alpha)

    def value(self, W):
        return self.alpha * float(np.sum(np.sqrt(np.sum(W * W, axis=1))))

    def prox(self, V, step):
        norms = np.sqrt(np.sum(V * V, axis=1))
        thresh = step * self.alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            shrink = np.where(norms > thresh, 1.0 - thresh / norms, 0.0)
        return V * shrink[:, None]

    def dual_norm(self, V):
        norm = float(np.max(np.sqrt(np.sum(V * V, axis=1)))) if V.size else 0.0
        return norm / self.alpha if self.alpha > 0 else (np.inf if norm > 0 else 0.0)

    @staticmethod
    def alpha_max(grad0):
        return float(np.max(np.sqrt(np.sum(grad0 * grad0, axis=1))))

    def subdiff_distance(self, W, V):
        """Per feature: distance of ``V[j]`` to ``alpha * W[j]/||W[j]||`` (nonzero row) or to the
        ball of radius ``alpha`` (zero row)."""
        norms = np.sqrt(np.sum(W * W, axis=1))
        vnorm = np.sqrt(np.sum(V * V, axis=1))
        dist = np.maximum(vnorm - self.alpha, 0.0)
        nz = norms > 0
        if np.any(nz):
            target = self.alpha * W[nz] / norms[nz, None]
            dist[nz] = np.sqrt(np.sum((V[nz] - target) ** 2, axis=1))
        return dist


class TraceNorm:
    """``P(W) = alpha * ||W||_*``, the sum of singular values: favours low-rank ``W``."""

    separable = False

    def __init__(self, alpha):
        self.alpha = float(alpha)

    def value(self, W):
        if min(W.shape) == 0:
            return 0.0
        return self.alpha * float(np.sum(np.linalg.svd(W, compute_uv=False)))

    def prox(self, V, step):
        if min(V.shape) == 0:
            return V.copy()
        U, s, Vt = np.linalg.svd(V, full_matrices=False)
        s = np.maximum(s - step * self.alpha, 0.0)
        r = int(np.count_nonzero(s))
        return (U[:, :r] * s[:r]) @ Vt[:r]

    def dual_norm(self, V):
        norm = float(np.linalg.norm(V, 2)) if V.size else 0.0
        return norm / self.alpha if self.alpha > 0 else (np.inf if norm > 0 else 0.0)

    @staticmethod
    def alpha_max(grad0):
        return float(np.linalg.norm(grad0, 2)) if grad0.size else 0.0

    def subdiff_distance(self, W, V, rank_tol=1e-10):
        """Distance of ``V`` to ``alpha * dP(W)``: with ``W = U S V1'`` (rank r),
        ``d||W||_* = {U V1' + M : U'M = 0, M V1 = 0, ||M||_2 <= 1}``. Returned as one number."""
        U, s, Vt = np.linalg.svd(W, full_matrices=False)
        r = int(np.sum(s > rank_tol * max(s.max(initial=0.0), 1.0)))
        U, Vt = U[:, :r], Vt[:r]
        A = V - self.alpha * (U @ Vt)
        # split A into the part that M can absorb (orthogonal to U and V1) and the rest
        PU = U @ (U.T @ A)
        AV = A @ Vt.T @ Vt
        rest = PU + AV - U @ (U.T @ A @ Vt.T) @ Vt
        M = A - rest
        sm = np.linalg.svd(M, compute_uv=False) if M.size else np.zeros(0)
        excess = np.maximum(sm - self.alpha, 0.0)
        return float(np.sqrt(np.sum(rest * rest) + np.sum(excess * excess)))


class MeanRegularized:
    """``P(W) = alpha/2 sum_t ||w_t||^2 + coupling/2 sum_t ||w_t - w_bar||^2`` (Evgeniou & Pontil,
    2004), with ``w_t`` the coefficient block of task ``t`` and ``w_bar`` their mean.

    ``coupling = inf`` constrains all tasks to one coefficient block. Blocks are the ``width``
    consecutive output columns of each task (1 for regression and binary tasks).
    """

    separable = False

    def __init__(self, alpha, coupling, n_tasks, width=1):
        self.alpha = float(alpha)
        self.coupling = float(coupling)
        self.n_tasks = int(n_tasks)
        self.width = int(width)

    def population_coef(self, W, n_tasks, width):
        """The shared block ``w_0`` of the equivalent hierarchical model, the coefficients of a
        task not seen in fit.

        ``P(W) = min_{w_0} l0/2 ||w_0||^2 + l1/2 sum_t ||w_t - w_0||^2`` with
        ``l1 = alpha + coupling`` and ``l0 = T alpha (alpha + coupling) / coupling``; its
        minimiser is ``w_0 = coupling / (alpha + coupling) * mean_t w_t`` (``mean_t w_t`` for
        ``coupling = inf``, 0 for ``coupling = 0``)."""
        mean = W.reshape(W.shape[0], n_tasks, width).mean(axis=1)
        if np.isinf(self.coupling):
            return mean
        denom = self.alpha + self.coupling
        return mean * (self.coupling / denom if denom > 0 else 1.0)

    def _split(self, W):
        B = W.reshape(W.shape[0], self.n_tasks, self.width)
        mean = B.mean(axis=1, keepdims=True)
        return mean, B - mean

    def value(self, W):
        mean, dev = self._split(W)
        total = self.alpha * float(np.sum(W * W))
        if np.isinf(self.coupling):
            return 0.5 * total if np.allclose(dev, 0.0) else np.inf
        return 0.5 * (total + self.coupling * float(np.sum(dev * dev)))

    def prox(self, V, step):
        # In the basis (task mean, deviations) the penalty is diagonal:
        # mean part scaled by alpha, deviations by alpha + coupling.
        mean, dev = self._split(V)
        mean = mean / (1.0 + step * self.alpha)
        if np.isinf(self.coupling):
            dev = np.zeros_like(dev)
        else:
            dev = dev / (1.0 + step * (self.alpha + self.coupling))
        return (mean + dev).reshape(V.shape)
