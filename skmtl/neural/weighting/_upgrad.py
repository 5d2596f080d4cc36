"""UPGrad: average of each gradient projected onto the dual cone of all of them (TorchJD)."""

from __future__ import annotations

import numpy as np
import torch

from ._base import GradientWeighting
from ._utils import (
    gramian_to_numpy,
    preference_vector,
    project_to_dual_cone,
    store_weights,
)

__all__ = ["UPGrad"]


class UPGrad(GradientWeighting):
    r"""Unconflicting projection of gradients: project each onto the dual cone, then average.

    Each task gradient :math:`g_i` (or, with a preference vector :math:`p`, :math:`p_i g_i`) is
    projected onto the dual cone :math:`\{x : g_t^\top x \ge 0 \ \forall t\}` of the rows of the
    Jacobian, and the projections are summed:

    .. math:: d = \sum_i \pi_{\mathcal C}(p_i g_i), \qquad
              \pi_{\mathcal C}(J^\top u) = J^\top v, \quad
              v = \operatorname*{arg\,min}_{v \ge u} v^\top G v,

    so the weights are :math:`\sum_i v^{(i)}` with :math:`u = p_i e_i`. Every projection lies in
    the dual cone, so the aggregate never conflicts with a task: :math:`g_t^\top d \ge 0` for all
    t. When the gradients do not conflict (all :math:`g_s^\top g_t \ge 0`) it is the weighted mean
    :math:`\sum_i p_i g_i`. Each small quadratic programme is solved exactly as a non-negative
    least squares problem on a square root of the Gramian (TorchJD uses quadprog instead).

    Parameters
    ----------
    pref_vector : array-like of shape (T,) or None, default=None
        Preference weights :math:`p`; ``None`` gives :math:`1/T` each (the paper's UPGrad).
    use_representation : bool or "auto", default=False
        %(use_representation)s

    Attributes
    ----------
    last_weights_ : Tensor of shape (T,)
        Weights of the last step.

    References
    ----------
    P. Quinton and V. Rey. "Jacobian Descent for Multi-Objective Optimization."
    arXiv:2406.16232, 2024. Implementation: TorchJD, https://github.com/TorchJD/torchjd.

    Examples
    --------
    >>> import torch
    >>> from skmtl.neural.weighting._upgrad import UPGrad
    >>> grads = torch.tensor([[1.0, 0.0], [-1.0, 1.0]], dtype=torch.float64)
    >>> d = UPGrad().aggregate(grads, torch.ones(2), epoch=0, step=0)
    >>> bool((grads @ d >= 0).all())
    True
    """

    name = "upgrad"
    representation_ok = True

    def __init__(self, *, pref_vector=None, use_representation: bool | str = False) -> None:
        super().__init__()
        self.use_representation = use_representation
        self.pref_vector = pref_vector

    def weights_from_gramian(
        self, gramian: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        G = gramian_to_numpy(gramian)
        T = len(G)
        p = preference_vector(self.pref_vector, T)
        V = project_to_dual_cone(G, np.diag(p))
        return store_weights(self, V.sum(axis=0), gramian)
