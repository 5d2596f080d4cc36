"""Accelerated gradient for a datafit plus a smooth (C^1) penalty, with backtracking and adaptive
restart, stopped on a certificate.

A penalty declares ``"smooth"`` in its ``capabilities`` and provides ``value(W)``,
``value_grad(W) -> (value, grad)``, ``strong_convexity`` and ``lipschitz`` (a Lipschitz constant
of its gradient). Variational penalties whose auxiliary variable has a closed-form minimiser
(clustered MTL's ``M``) are smooth once that variable is eliminated: their gradient is the
partial gradient at the optimal auxiliary variable (Danskin's theorem), so the solver needs no
prox and no alternation.

References
----------
Y. Nesterov. Introductory lectures on convex optimization, 2004 (accelerated gradient).
B. O'Donoghue and E. Candès. Adaptive restart for accelerated gradient schemes. Found. Comput.
Math., 2015.
"""

from __future__ import annotations

import numpy as np

from ._criteria import StoppingRule
from ._fista import momentum_step


class GradientNorm(StoppingRule):
    """``||grad (f + P)(W, b)||_F`` over ``(W, b)``: zero exactly at the minimiser of a smooth
    objective (the proximal-gradient mapping of a smooth penalty is its gradient)."""

    def __call__(self, W, b, Z, L=None):
        f, gW, gb = self.datafit.gradient(W, b, Z)
        pen, pg = self.penalty.value_grad(W)
        G = gW + pg
        sq = float(np.sum(G * G)) + (float(np.sum(gb * gb)) if gb is not None else 0.0)
        crit = float(np.sqrt(sq))
        # for an mu-strongly convex objective, F - F* <= ||grad F||^2 / (2 mu)
        mu = float(getattr(self.penalty, "strong_convexity", 0.0))
        bound = sq / (2.0 * mu) if mu > 0 and gb is None else np.inf
        self.last = {"primal": f + pen, "gradient_norm": crit, "suboptimality_bound": bound}
        return crit


def accelerated_gradient(datafit, penalty, W, b, *, rule: StoppingRule, max_iter: int,
                         L: float | None = None, check_every: int = 10):
    """Minimise ``datafit(W, b) + penalty(W)`` for a smooth penalty.

    Parameters
    ----------
    datafit : object of :mod:`.._datafits`
    penalty : object with ``value``, ``value_grad`` and ``lipschitz``
    W : ndarray of shape (n_features, n_outputs)
        Starting point; not modified.
    b : ndarray of shape (n_outputs,) or None
        Starting intercepts when ``datafit.fit_intercept``.
    rule : StoppingRule
        Optimality certificate, evaluated every ``check_every`` iterations.
    max_iter : int
        Maximum number of iterations.
    L : float, optional
        Initial Lipschitz constant; ``datafit.lipschitz() + penalty.lipschitz`` when None. Doubled
        by backtracking when the sufficient-decrease condition fails.

    Returns
    -------
    W, b, n_iter, criterion, converged
    """
    has_b = bool(datafit.fit_intercept)
    W = np.array(W, dtype=float, copy=True)
    b = np.array(b, dtype=float, copy=True) if has_b else None
    if L is None:
        L = datafit.lipschitz() + float(penalty.lipschitz)
    L = max(float(L), np.finfo(float).tiny)

    Wx, bx = W, b
    Zx = datafit.linear(Wx, bx)
    Wy, by, Zy = Wx, bx, Zx
    t = 1.0
    crit = np.inf
    for it in range(1, max_iter + 1):
        f_y, gW, gb = datafit.gradient(Wy, by, Zy)
        p_y, pg = penalty.value_grad(Wy)
        F_y = f_y + p_y
        GW = gW + pg
        sq_g = float(np.sum(GW * GW)) + (float(np.sum(gb * gb)) if has_b else 0.0)
        while True:
            W_new = Wy - GW / L
            b_new = by - gb / L if has_b else None
            Z_new = datafit.linear(W_new, b_new)
            F_new = datafit.value(W_new, b_new, Z_new) + penalty.value(W_new)
            # a gradient step of length 1/L decreases F by at least ||G||^2 / (2L)
            if F_new <= F_y - 0.5 * sq_g / L + 1e-12 * (abs(F_y) + 1e-300) or sq_g == 0.0:
                break
            L *= 2.0

        Wy, by, Zy, t = momentum_step(Wx, bx, Zx, Wy, by, W_new, b_new, Z_new, t)
        Wx, bx, Zx = W_new, b_new, Z_new

        if it % check_every == 0 or it == max_iter or sq_g == 0.0:
            crit = rule(Wx, bx, Zx, L)
            if crit <= rule.threshold:
                return Wx, bx, it, crit, True
    return Wx, bx, max_iter, crit, False
