"""Working sets for penalties that are separable over features (L2,1).

The outer loop ranks every feature by its violation of the optimality conditions, keeps the
current support plus the worst violators, and solves the problem restricted to those features. It
stops on the certificate of the full problem, computed from one full gradient per outer iteration.

- L2,1 least squares with one design and no missing label (the case users benchmark against
  ``MultiTaskLasso``) is handed to :func:`._bcd.bcd_working_set`: blocked coordinate descent on
  the restricted problem, in Gram or data form.
- Any other datafit (missing labels, the long layout, logistic) runs FISTA on the restricted
  problem (on a Gram matrix for least squares, so an inner iteration costs ``O(k^2 n_tasks)``
  for ``k`` working features).

References
----------
M. Massias, A. Gramfort and J. Salmon. Celer: a fast solver for the Lasso with dual
extrapolation. ICML 2018 (working-set growth and inner tolerance).
Q. Bertrand, Q. Klopfenstein, P.-A. Bannier et al. Beyond L1: faster and better sparse models
with skglm. NeurIPS 2022.
"""

from __future__ import annotations

import numpy as np

from ._bcd import bcd_working_set, supports_bcd
from ._criteria import DualityGap, ProxGradNorm
from ._fista import fista


def working_set(datafit, penalty, W, b, *, rule, make_rule, max_iter: int, L: float | None = None,
                p0: int = 10, max_outer: int = 50):
    """Minimise ``datafit + penalty`` with working sets; same returns as :func:`fista`.

    ``rule`` certifies the full problem; ``make_rule(sub_datafit, threshold)`` builds the rule of a
    restricted problem. ``max_iter`` bounds the total number of inner iterations.
    """
    if "working_set" not in getattr(penalty, "capabilities", ()):
        raise ValueError(
            "working sets need a penalty that declares the 'working_set' capability (separable "
            f"over features); {type(penalty).__name__} declares "
            f"{sorted(getattr(penalty, 'capabilities', ()))}"
        )
    if isinstance(rule, DualityGap) and supports_bcd(datafit, penalty):
        # L2,1 least squares with one design: the specialised solver (block coordinate descent)
        W, n_iter, gap, ok = bcd_working_set(datafit, penalty, W, threshold=rule.threshold,
                                             max_iter=max_iter, p0=p0, max_outer=max_outer)
        return W, b, n_iter, gap, ok
    W = np.array(W, dtype=float, copy=True)
    b = None if b is None else np.array(b, dtype=float, copy=True)
    p = W.shape[0]
    ws_size = min(p, p0)
    n_iter = 0
    crit = prev_crit = np.inf
    for _ in range(max_outer):
        Z = datafit.linear(W, b)
        if L is None and isinstance(rule, ProxGradNorm):
            L = datafit.lipschitz()
        crit = rule(W, b, Z, L)
        if crit <= rule.threshold:
            return W, b, n_iter, crit, True
        if n_iter >= max_iter:
            break
        _, gW, _ = datafit.gradient(W, b, Z)
        dist = penalty.subdiff_distance(W, -gW)
        support = np.any(W != 0, axis=1)
        # grow the set when the last round did not halve the violation, never below 2 |support|
        grow = 2 * ws_size if crit > 0.5 * prev_crit else ws_size
        ws_size = min(p, max(p0, grow, 2 * int(support.sum())))
        prev_crit = crit
        dist[support] = np.inf
        if ws_size >= p:
            # the working set is everything: finish on the full problem and its own rule
            W, b, it, crit, ok = fista(datafit, penalty, W, b, rule=rule,
                                       max_iter=max_iter - n_iter)
            return W, b, n_iter + it, crit, ok
        ws = np.sort(np.argpartition(-dist, ws_size - 1)[:ws_size])
        sub = datafit.restrict(ws)
        # the restricted problem is solved to a fraction of the current violation (Celer's 0.3)
        inner = make_rule(sub, max(0.3 * crit, rule.threshold))
        W_ws, b, it, _, _ = fista(sub, penalty, W[ws], b, rule=inner, max_iter=max_iter - n_iter)
        n_iter += it
        W = np.zeros_like(W)
        W[ws] = W_ws
    return W, b, n_iter, crit, crit <= rule.threshold
