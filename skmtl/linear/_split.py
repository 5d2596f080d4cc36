"""What the split models ``W = A + B`` (dirty, robust low rank) share: the estimator mixin that
solves on the stacked variable ``[A | B]`` and reports the two parts.

A split penalty object (:class:`._dirty.Dirty`, :class:`._robust.RobustLowRank`) provides

- on the stacked variable ``V = [A | B]`` of shape (n_features, 2 n_outputs): ``value``,
  ``prox`` (separable over the halves) and ``dual_norm`` (of a stacked gradient ``[G | G]`` it
  is the dual norm of the infimal convolution at ``G``, so the duality gap of the stacked problem
  certifies the problem in ``W``);
- ``limit()``: at the exact limits of the model, the single penalty on ``W`` it reduces to
  (``None`` in between), and ``assign(W)``, the documented split of a solution at that limit;
- ``split(W)`` where the split of a given ``W`` has a closed form (dirty);
- ``stacked = False`` when the penalty is better solved in ``W`` itself (its ``value``,
  ``prox`` and ``dual_norm`` then act on ``W``): the dirty penalty, whose prox has a closed
  form and converges in far fewer iterations than the stacked variable.
"""

from __future__ import annotations

import numpy as np

from ._penalties import WORKING_SET, has_capability
from ._solvers._composite import StackedDatafit


def default_ratio(n_groups):
    """``beta / alpha`` when ``beta=None``: ``n_groups ** -0.25``, the geometric middle of the
    range ``(alpha / sqrt(n_groups), alpha)`` in which both parts of a split model are used."""
    return float(max(n_groups, 1)) ** -0.25


def split_penalty(cls, p, n_groups, *args):
    """Build a split penalty from the estimator's parameters ``p`` (``p.alpha`` is 1 when the
    estimator's ``alpha`` is None: fit then moves it with ``with_alpha``)."""
    if p.alpha == 0:
        raise ValueError(
            f"alpha must be > 0 for {cls.__name__}: at alpha=0 the first part is not penalised "
            "and the split is meaningless (use beta alone, or a model without a split)."
        )
    beta = default_ratio(n_groups) * p.alpha if p.beta is None else p.beta
    return cls(p.alpha, beta, *args)


class _SplitMixin:
    """Estimator mixin: solve on the stacked variable (or in ``W`` when the penalty says so),
    keep the two parts for the attributes; the default rule of ``alpha`` and ``beta``."""

    _part_names = ("first_coef_", "second_coef_")

    def _resolve_alpha(self, datafit, penalty, design):
        """``alpha=None`` with ``beta`` given: ``alpha_ = beta / default_ratio``; with both
        None the shared rule (``0.01 alpha_max`` at the default ratio, which ``with_alpha``
        keeps)."""
        if self.alpha is None and self.beta is not None:
            alpha = penalty.beta / penalty.default_ratio()
            return alpha, penalty.with_alpha_beta(alpha, penalty.beta)
        return super()._resolve_alpha(datafit, penalty, design)

    def _solver_name(self, penalty):
        # the limits reduce to row-separable norms (L2,1, L1): working sets apply there
        return "working_set" if has_capability(penalty, WORKING_SET) else "fista"

    def _threshold(self, datafit, penalty):
        return super()._threshold(getattr(datafit, "base", datafit), penalty)

    def _solve(self, datafit, penalty, W0, b0):
        self._beta_used = penalty.beta
        limit = penalty.limit()
        if limit is not None:
            W, b, n_iter, crit, ok, rule_name = super()._solve(datafit, limit, W0, b0)
            self._parts = penalty.assign(W)
            return W, b, n_iter, crit, ok, rule_name
        if not getattr(penalty, "stacked", True):  # a penalty on W with its own prox
            W, b, n_iter, crit, ok, rule_name = super()._solve(datafit, penalty, W0, b0)
            self._parts = penalty.assign(W)
            return W, b, n_iter, crit, ok, rule_name
        M = W0.shape[1]
        V0 = np.hstack([W0, np.zeros_like(W0)])
        prev = getattr(self, "_parts", None) if self.warm_start else None
        if prev is not None and prev[0].shape == W0.shape and np.allclose(prev[0] + prev[1], W0):
            V0 = np.hstack(prev)
        V, b, n_iter, crit, ok, rule_name = super()._solve(
            StackedDatafit(datafit), penalty, V0, b0
        )
        A, B = V[:, :M], V[:, M:]
        self._parts = penalty.polish(A, B)
        return A + B, b, n_iter, crit, ok, rule_name

    def _set_fitted(self, W, b, meta, n_iter, crit, rule_name):
        super()._set_fitted(W, b, meta, n_iter, crit, rule_name)
        self.beta_ = float(self._beta_used)
        dtype = meta["dtype"]
        single = meta["layout"] == "single" and not self._is_classifier
        for name, part in zip(self._part_names, self._parts):
            coef = part.T.astype(dtype)
            setattr(self, name, coef[0] if single else coef)

