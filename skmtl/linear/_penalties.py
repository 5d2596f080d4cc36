"""Penalties on the coefficient matrix ``W`` of shape (n_features, n_outputs).

Each penalty is a small object with

- ``value(W)``;
- ``prox(V, step)``: the proximal operator ``argmin_W 1/(2 step) ||W - V||^2 + P(W)``;
- ``dual_norm(V)`` (norm penalties only): the dual norm of ``V`` divided by ``alpha``, so that the
  dual feasible set is ``dual_norm(V) <= 1``; used for duality gaps and ``alpha_max``;
- ``subdiff_distance(W, V)`` (norm penalties): the distance of ``V`` to the subdifferential of
  ``P`` at ``W``, the optimality certificate ``-grad f(W) in dP(W)``;
- ``capabilities``: what the solvers, the stopping rules and the path may do with it (below);
- ``with_alpha(alpha)``: the same penalty at another ``alpha``, every other parameter kept.

Solvers and the path dispatch on ``capabilities`` (a class attribute, a ``frozenset`` of names;
an instance may narrow it, as :class:`MeanRegularized` does at ``coupling=inf``), never on class
names:

``"working_set"``
    ``P`` is a sum over features (rows of ``W``) and has ``subdiff_distance(W, V)`` (one distance
    per row): working sets apply.
``"bcd_l21"``
    ``P = alpha * sum_j ||W[j]||``, the row-wise group soft-threshold that the block coordinate
    descent of :mod:`._solvers._bcd` implements.
``"duality_gap"``
    A norm penalty with ``dual_norm(V)`` (the dual norm over ``alpha``) and
    ``alpha_max(grad0)``: least squares stops on the duality gap, the path starts at
    ``alpha_max``.
``"smooth"``
    ``P`` is C^1 with ``value_grad(W) -> (value, grad)`` and ``strong_convexity`` (a float,
    ``P - strong_convexity/2 ||W||^2`` convex).

``separable`` is kept as an alias of ``"working_set" in capabilities``.
"""

from __future__ import annotations

import copy

import numpy as np

WORKING_SET = "working_set"
BCD_L21 = "bcd_l21"
DUALITY_GAP = "duality_gap"
SMOOTH = "smooth"
CAPABILITIES = frozenset({WORKING_SET, BCD_L21, DUALITY_GAP, SMOOTH})


def has_capability(penalty, name: str) -> bool:
    """Whether ``penalty`` declares ``name`` (one of :data:`CAPABILITIES`)."""
    return name in getattr(penalty, "capabilities", frozenset())


class Penalty:
    """Optional base class of the penalties: the capability alias and a default ``with_alpha``.

    ``with_alpha`` copies the penalty and sets ``alpha``; a penalty that precomputes anything
    from ``alpha`` overrides it. A penalty need not inherit from this class: solvers only read
    ``capabilities`` and the methods those capabilities promise.
    """

    capabilities: frozenset = frozenset()
    alpha: float

    @property
    def separable(self) -> bool:
        """Alias of ``"working_set" in capabilities`` (older code reads it)."""
        return WORKING_SET in self.capabilities

    def with_alpha(self, alpha):
        new = copy.copy(self)
        new.alpha = float(alpha)
        return new


class L21(Penalty):
    """``P(W) = alpha * sum_j ||W[j, :]||_2``: rows (features) are selected jointly by all tasks."""

    capabilities = frozenset({WORKING_SET, BCD_L21, DUALITY_GAP})

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


class TraceNorm(Penalty):
    """``P(W) = alpha * ||W||_*``, the sum of singular values: favours low-rank ``W``."""

    capabilities = frozenset({DUALITY_GAP})

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


class MeanRegularized(Penalty):
    """``P(W) = alpha/2 sum_t ||w_t||^2 + coupling/2 sum_t ||w_t - w_bar||^2`` (Evgeniou & Pontil,
    2004), with ``w_t`` the coefficient block of task ``t`` and ``w_bar`` their mean.

    ``coupling = inf`` constrains all tasks to one coefficient block. Blocks are the ``width``
    consecutive output columns of each task (1 for regression and binary tasks). Smooth and
    ``alpha``-strongly convex for a finite ``coupling``; at ``coupling = inf`` it is a constraint
    (no capability).
    """

    capabilities = frozenset({SMOOTH})

    def __init__(self, alpha, coupling, n_tasks, width=1):
        self.alpha = float(alpha)
        self.coupling = float(coupling)
        self.n_tasks = int(n_tasks)
        self.width = int(width)
        if np.isinf(self.coupling):
            self.capabilities = frozenset()

    @property
    def strong_convexity(self) -> float:
        return self.alpha

    def value_grad(self, W):
        mean, dev = self._split(W)
        value = 0.5 * (self.alpha * float(np.sum(W * W)) + self.coupling * float(np.sum(dev * dev)))
        grad = self.alpha * W + self.coupling * dev.reshape(W.shape)
        return value, grad

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
