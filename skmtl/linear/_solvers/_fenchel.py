"""A duality gap for any convex penalty whose Fenchel conjugate has a closed form.

For ``F(W) = f(W) + P(W)`` with ``f`` convex and differentiable (least squares with the intercept
eliminated), weak duality with the dual point ``G = grad f(W)`` gives

    F(W) - min F <= gap(W) = P(W) + P*(-G) + <G, W>,

since ``f(W) + f*(G) = <G, W>`` (Fenchel-Young with equality). The gap is zero exactly at the
minimiser (``-G`` in ``dP(W)``). A penalty that provides it declares ``"conjugate"`` in its
``capabilities`` and has ``conjugate(V)``. For a norm ``alpha ||.||`` the conjugate is the
indicator of the dual ball, and this gap is the one of :class:`._criteria.DualityGap` without
its rescaling of the dual point.
"""

from __future__ import annotations

import numpy as np

from ._criteria import ProxGradNorm, StoppingRule
from ._smooth import GradientNorm

CONJUGATE = "conjugate"  # the capability: ``conjugate(V)``, the Fenchel conjugate's value
SMOOTH = "smooth"


class FenchelGap(StoppingRule):
    def __call__(self, W, b, Z, L=None):
        f, grad, _ = self.datafit.gradient(W, b, Z)
        pen = self.penalty.value(W)
        gap = pen + self.penalty.conjugate(-grad) + float(np.sum(grad * W))
        gap = max(float(gap), 0.0)
        self.last = {"primal": f + pen, "dual": f + pen - gap, "gap": gap}
        return gap


def structured_rule(datafit, penalty, tol, *, is_classifier):
    """The certificate of a variational penalty and its absolute threshold.

    Least squares: the Fenchel duality gap, relative to ``sum_t ||y_t - mean||^2 / n_t`` (as the
    other regressors). Classification (the intercept is a free variable, so ``grad f`` is not
    dual feasible): the gradient norm (smooth penalty) or the proximal-gradient norm, relative to
    the norm of the data-fit gradient at zero.

    Returns ``(rule, name, threshold)`` with ``name`` "duality gap" or "gradient norm".
    """
    if not is_classifier and CONJUGATE in penalty.capabilities:
        threshold = tol * float(np.sum(datafit.a))
        return FenchelGap(datafit, penalty, threshold), "duality gap", threshold
    p, M = datafit.design.n_features, datafit.design.n_outputs
    W, b = np.zeros((p, M)), np.zeros(M)
    _, gW, gb = datafit.gradient(W, b, datafit.linear(W, b))
    scale = float(np.sqrt(np.sum(gW * gW) + (np.sum(gb * gb) if gb is not None else 0.0)))
    threshold = tol * scale
    if SMOOTH in penalty.capabilities:
        return GradientNorm(datafit, penalty, threshold), "gradient norm", threshold
    return ProxGradNorm(datafit, penalty, threshold), "prox-gradient norm", threshold
