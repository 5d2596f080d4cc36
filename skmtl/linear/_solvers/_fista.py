"""Accelerated proximal gradient (FISTA) with backtracking and adaptive restart.

References
----------
A. Beck and M. Teboulle. A fast iterative shrinkage-thresholding algorithm for linear inverse
problems. SIAM J. Imaging Sci., 2009.
B. O'Donoghue and E. Candès. Adaptive restart for accelerated gradient schemes. Found. Comput.
Math., 2015 (the gradient restart scheme used here).
"""

from __future__ import annotations

import numpy as np

from ._criteria import StoppingRule


def fista(datafit, penalty, W, b, *, rule: StoppingRule, max_iter: int, L: float | None = None,
          check_every: int = 10):
    """Minimise ``datafit(W, b) + penalty(W)``.

    Parameters
    ----------
    datafit, penalty : objects of :mod:`._datafits` and :mod:`._penalties`
    W : ndarray of shape (n_features, n_outputs)
        Starting point (warm start); not modified.
    b : ndarray of shape (n_outputs,) or None
        Starting intercepts when ``datafit.fit_intercept``; else ignored.
    rule : StoppingRule
        Evaluates the optimality certificate at the current iterate.
    max_iter : int
        Maximum number of iterations (one gradient evaluation each, plus backtracking).
    L : float, optional
        Lipschitz constant of the gradient; estimated from the datafit when None. Increased by
        backtracking whenever the sufficient-decrease condition fails, unless the datafit
        declares ``lipschitz_is_bound = True`` (its ``lipschitz()`` is a proven upper bound),
        or is in Gram form (``QuadraticGram``: the exact largest eigenvalue of its Gram
        matrices): then the test, which costs two reductions and a datafit value per
        iteration, is skipped (the iterates are the same: the test would always pass).

    Returns
    -------
    W, b, n_iter, criterion, converged
    """
    has_b = bool(datafit.fit_intercept)
    W = np.array(W, dtype=float, copy=True)
    b = np.array(b, dtype=float, copy=True) if has_b else None
    if L is None:
        L = datafit.lipschitz()
    L = max(float(L), np.finfo(float).tiny)
    # a Gram-form least squares (QuadraticGram) takes the exact largest eigenvalue: a bound
    backtrack = not getattr(datafit, "lipschitz_is_bound", hasattr(datafit, "Q"))

    Wx, bx = W, b
    Zx = datafit.linear(Wx, bx)
    Wy, by, Zy = Wx, bx, Zx
    t = 1.0
    crit = np.inf
    for it in range(1, max_iter + 1):
        f_y, gW, gb = datafit.gradient(Wy, by, Zy)
        while True:
            W_new = penalty.prox(Wy - gW / L, 1.0 / L)
            b_new = by - gb / L if has_b else None
            Z_new = datafit.linear(W_new, b_new)
            if not backtrack:
                sq = None
                break
            dW = W_new - Wy
            db = b_new - by if has_b else None
            f_new = datafit.value(W_new, b_new, Z_new)
            sq = float(np.sum(dW * dW)) + (float(np.sum(db * db)) if has_b else 0.0)
            lin = float(np.sum(gW * dW)) + (float(np.sum(gb * db)) if has_b else 0.0)
            # sufficient decrease, with slack for rounding at the scale of f
            if f_new <= f_y + lin + 0.5 * L * sq + 1e-12 * (abs(f_y) + 1e-300) or sq == 0.0:
                break
            L *= 2.0

        Wy, by, Zy, t = momentum_step(Wx, bx, Zx, Wy, by, W_new, b_new, Z_new, t)
        Wx, bx, Zx = W_new, b_new, Z_new

        if it % check_every == 0 or it == max_iter or sq == 0.0:  # (sq is None: no test)
            crit = rule(Wx, bx, Zx, L)
            if crit <= rule.threshold:
                return Wx, bx, it, crit, True
    return Wx, bx, max_iter, crit, False


def momentum_step(Wx, bx, Zx, Wy, by, W_new, b_new, Z_new, t):
    """The extrapolation of an accelerated step with gradient-based adaptive restart.

    ``(Wx, bx, Zx)`` is the previous iterate (``Z`` its linear predictor), ``(Wy, by)`` the point
    the step was taken from and ``(W_new, b_new, Z_new)`` its result (``b`` None without an
    intercept). The momentum restarts (``t = 1``, no extrapolation) when the step goes against it.
    Returns the next extrapolated point ``(Wy, by, Zy)`` and the next ``t``.
    """
    has_b = b_new is not None
    mom_W = W_new - Wx
    restart = float(np.sum((Wy - W_new) * mom_W))
    if has_b:
        restart += float(np.sum((by - b_new) * (b_new - bx)))
    if restart > 0:
        t_new, beta = 1.0, 0.0
    else:
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_new
    Wy = W_new + beta * mom_W
    by = b_new + beta * (b_new - bx) if has_b else None
    Zy = Z_new + beta * (Z_new - Zx) if beta else Z_new
    return Wy, by, Zy, t_new
