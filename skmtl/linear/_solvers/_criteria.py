"""Stopping rules: optimality certificates evaluated at the current iterate.

- :class:`DualityGap` for least squares with a norm penalty (L2,1, trace norm): the Fenchel dual
  point is the rescaled residual, and ``primal - dual`` bounds the suboptimality.
- :class:`ProxGradNorm` otherwise: the norm of the proximal-gradient mapping
  ``L (W - prox(W - grad f(W) / L, 1 / L))``, zero exactly at a minimiser.
"""

from __future__ import annotations

import numpy as np


class StoppingRule:
    """A certificate of ``datafit + penalty`` at an iterate, compared with ``threshold``; ``last``
    holds the pieces of the latest evaluation."""

    threshold: float = 0.0
    last: dict

    def __init__(self, datafit, penalty, threshold):
        self.datafit, self.penalty, self.threshold = datafit, penalty, threshold
        self.last = {}

    def __call__(self, W, b, Z, L) -> float:  # pragma: no cover - interface
        raise NotImplementedError


class DualityGap(StoppingRule):
    """``gap(W) = f(W) + P(W) - D(kappa * theta)`` with ``theta`` the scaled residual and
    ``kappa`` the best feasible rescaling (``D`` is concave quadratic in ``kappa``)."""

    def __call__(self, W, b, Z, L=None):
        f, grad, _ = self.datafit.gradient(W, b, Z)
        pen = self.penalty.value(W)
        lin = self.datafit.dual_linear(W, Z)
        gap = gap_from_pieces(f, lin, pen, self.penalty.dual_norm(grad))
        self.last = {"primal": f + pen, "dual": f + pen - gap, "gap": gap}
        return gap


def gap_from_pieces(f, lin, pen, dual_norm):
    """Duality gap of least squares + a norm penalty from its pieces at ``W``.

    ``f`` is the datafit (``||R||^2 / 2`` in the scaled residual ``R``), ``lin = <B, -R>`` the
    linear term of the dual, ``pen`` the penalty value, ``dual_norm`` the dual norm of the gradient
    over ``alpha``. The dual point is ``-kappa R`` with the best feasible ``kappa``:
    ``D = kappa lin - kappa^2 f`` for ``kappa in [0, 1 / dual_norm]``.
    """
    kappa_max = np.inf if dual_norm == 0 else 1.0 / dual_norm
    kappa = lin / (2.0 * f) if f > 0 else kappa_max
    kappa = float(np.clip(kappa, 0.0, kappa_max))
    return f + pen - (kappa * lin - kappa * kappa * f)


def duality_gap(datafit, penalty, W):
    """Duality gap of a least-squares datafit with a norm penalty at ``W``."""
    rule = DualityGap(datafit, penalty, 0.0)
    return rule(W, None, datafit.linear(W, None))


class ProxGradNorm(StoppingRule):
    """``||L (x - prox(x - grad / L))||_F`` over ``x = (W, b)``."""

    def __call__(self, W, b, Z, L):
        f, gW, gb = self.datafit.gradient(W, b, Z)
        GW = L * (W - self.penalty.prox(W - gW / L, 1.0 / L))
        sq = float(np.sum(GW * GW))
        if gb is not None:
            sq += float(np.sum(gb * gb))
        crit = float(np.sqrt(sq))
        self.last = {"primal": f + self.penalty.value(W), "prox_grad_norm": crit}
        return crit
