"""Datafit adapters that let the existing solvers handle composite problems unchanged.

- :class:`StackedDatafit`: a split ``W = A + B`` solved on the stacked variable ``V = [A | B]``
  of shape (n_features, 2 n_outputs): the datafit sees ``A + B``, its gradient in ``V`` is
  ``[G | G]`` (Lipschitz constant twice the datafit's), and a penalty that is separable over the
  two halves has a separable prox. Used by the dirty and robust low-rank models.
- :class:`SmoothPlus`: a datafit plus the smooth part of a penalty (``value_grad``), so that
  accelerated proximal gradient handles ``f + smooth + prox-friendly`` with the prox of the last
  part only. Used by the graph-regularised model with an L1 term.

Both keep the datafit interface (``linear``, ``value``, ``gradient``, ``lipschitz``, ...), so
:func:`._fista.fista` and the stopping rules of :mod:`._criteria` apply as they are.
"""

from __future__ import annotations

import numpy as np


def _bound(datafit):
    """Whether ``datafit.lipschitz()`` is a proven bound: declared, or a Gram-form least
    squares (:class:`._datafits.QuadraticGram` takes the exact largest eigenvalue of its Gram
    matrices); power-iteration estimates are not (the solver then backtracks)."""
    return bool(getattr(datafit, "lipschitz_is_bound", hasattr(datafit, "Q")))


class StackedDatafit:
    """The datafit of ``W = V[:, :M] + V[:, M:]`` for the stacked variable ``V`` (p, 2M)."""

    def __init__(self, base):
        self.base = base
        self.fit_intercept = base.fit_intercept
        self.lipschitz_is_bound = _bound(base)
        self._last = (None, None)

    def join(self, V):
        """``A + B``, cached for the last ``V`` (a solver asks for it several times)."""
        if self._last[0] is V:
            return self._last[1]
        M = V.shape[1] // 2
        W = V[:, :M] + V[:, M:]
        self._last = (V, W)
        return W

    def linear(self, V, b=None):
        return self.base.linear(self.join(V), b)

    def value(self, V, b, Z):
        return self.base.value(self.join(V), b, Z)

    def gradient(self, V, b, Z):
        f, G, gb = self.base.gradient(self.join(V), b, Z)
        return f, np.hstack([G, G]), gb

    def dual_linear(self, V, Z):
        return self.base.dual_linear(self.join(V), Z)

    def grad_at_zero(self):
        G = self.base.grad_at_zero()
        return np.hstack([G, G])

    def lipschitz(self):
        # ||[I I]||_2^2 = 2: the Hessian in V is [[H, H], [H, H]]
        return 2.0 * self.base.lipschitz()

    def null_value(self):
        return self.base.null_value()

    @property
    def a(self):
        return self.base.a

    def restrict(self, features):
        return StackedDatafit(self.base.restrict(features))


class SmoothPlus:
    """``f(W, b) + s(W)`` with ``s`` given by ``smooth.value_grad(W) -> (value, grad)`` and
    ``smooth.lipschitz()`` (the Lipschitz constant of its gradient)."""

    def __init__(self, base, smooth):
        self.base = base
        self.smooth = smooth
        self.fit_intercept = base.fit_intercept
        self.lipschitz_is_bound = _bound(base)

    def linear(self, W, b=None):
        return self.base.linear(W, b)

    def value(self, W, b, Z):
        return self.base.value(W, b, Z) + self.smooth.value_grad(W)[0]

    def gradient(self, W, b, Z):
        f, G, gb = self.base.gradient(W, b, Z)
        s, gs = self.smooth.value_grad(W)
        return f + s, G + gs, gb

    def lipschitz(self):
        return self.base.lipschitz() + self.smooth.lipschitz()

    def restrict(self, features):  # pragma: no cover - not separable in general
        raise NotImplementedError("a smooth penalty term does not restrict to features")
