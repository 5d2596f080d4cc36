"""IMTL-G: the update whose projections onto every task's unit gradient are equal."""

from __future__ import annotations

import numpy as np
import torch

from ._base import GradientWeighting
from ._utils import gramian_to_numpy, normalize_gramian, store_weights

__all__ = ["IMTLG"]


class IMTLG(GradientWeighting):
    r"""Impartial multi-task learning, gradient part (IMTL-G).

    Finds weights :math:`\alpha` summing to one such that the update
    :math:`d = \sum_t \alpha_t g_t` has the same projection on every unit gradient
    :math:`u_t = g_t / \|g_t\|`: :math:`d^\top u_1 = \dots = d^\top u_T`. In Gramian form this is
    :math:`G \alpha = \rho\, n` with :math:`n_t = \|g_t\|`, so

    .. math:: \alpha = \frac{G^{+} n}{\mathbf 1^\top G^{+} n},

    the same solution as the paper's :math:`\alpha_{2:T} = g_1 U^\top (D U^\top)^{-1}` with
    :math:`D = [g_1 - g_t]_t`, :math:`U = [u_1 - u_t]_t`, whenever that inverse exists; the
    pseudo-inverse also covers linearly dependent gradients. A task with a zero gradient gets
    weight 0. When no such :math:`\alpha` exists (e.g. opposite gradients, where
    :math:`\mathbf 1^\top G^+ n = 0`) the weights are zero.

    Parameters
    ----------
    use_representation : bool or "auto", default=False
        %(use_representation)s

    Attributes
    ----------
    last_weights_ : Tensor of shape (T,)
        Weights of the last step (they sum to one unless they are all zero).

    References
    ----------
    L. Liu, Y. Li, Z. Kuang, J.-H. Xue, Y. Chen, W. Yang, Q. Liao and W. Zhang. "Towards
    Impartial Multi-task Learning." International Conference on Learning Representations (ICLR),
    2021.

    Examples
    --------
    >>> import torch
    >>> from skmtl.neural.weighting._imtl import IMTLG
    >>> grads = torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    >>> IMTLG().aggregate(grads, torch.ones(2), epoch=0, step=0)
    tensor([0.7500, 0.7500], dtype=torch.float64)
    """

    name = "imtl"
    representation_ok = True

    def __init__(self, *, use_representation: bool | str = False) -> None:
        super().__init__()
        self.use_representation = use_representation

    def weights_from_gramian(
        self, gramian: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        G = gramian_to_numpy(gramian)
        Gn, scale = normalize_gramian(G)  # the weights do not depend on the scale
        T = len(G)
        if scale == 0.0:
            return store_weights(self, np.full(T, 1.0 / T), gramian)
        n = np.sqrt(np.clip(np.diag(Gn), 0.0, None))
        v = np.linalg.pinv(Gn, rcond=1e-10, hermitian=True) @ n
        total = v.sum()
        w = v / total if abs(total) > 1e-10 else np.zeros(T)
        return store_weights(self, w, gramian)
