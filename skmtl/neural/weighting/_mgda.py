"""MGDA: the minimum-norm element of the convex hull of the task gradients."""

from __future__ import annotations

import numpy as np
import torch

from ._base import GradientWeighting
from ._utils import gramian_to_numpy, min_norm_simplex, store_weights

__all__ = ["MGDA"]

_NORMALIZATIONS = ("none", "l2", "loss", "loss+")


class MGDA(GradientWeighting):
    r"""Multiple-gradient descent: the minimum-norm point of the convex hull of the gradients.

    Solves

    .. math:: w = \operatorname*{arg\,min}_{w \in \Delta_T} \Big\| \sum_t w_t \tilde g_t \Big\|^2
              = \operatorname*{arg\,min}_{w \in \Delta_T} w^\top \tilde G w,

    where :math:`\Delta_T` is the probability simplex and :math:`\tilde g_t = g_t / n_t` are the
    (optionally normalised) task gradients, and returns the weights :math:`w_t / n_t` of the
    original gradients. The direction :math:`d = \sum_t w_t \tilde g_t` is a common descent
    direction of every task (``d' g_t >= ||d||^2``) unless it is zero (a Pareto-stationary point).

    For two tasks the minimiser has the closed form
    :math:`\gamma = \mathrm{clip}\big((g_2 - g_1)^\top g_2 / \|g_1 - g_2\|^2, 0, 1\big)`,
    :math:`w = (\gamma, 1 - \gamma)`; for more tasks the problem is solved exactly as one
    non-negative least squares problem (Lawson and Hanson's least-distance programming), a small
    active-set method that is exact for the T <= ~16 tasks of practice.

    By default (``use_representation="auto"``) the trainer computes the Gramian from gradients
    with respect to the shared representation where the architecture exposes one (MGDA-UB, the
    paper's upper bound, Section 3.3), which is much cheaper; ``use_representation=False`` gives
    the exact per-parameter MGDA.

    Parameters
    ----------
    normalization : {"none", "l2", "loss", "loss+"}, default="none"
        Scale :math:`n_t` of each gradient before solving, as in the authors' code: ``"l2"``
        the gradient norm, ``"loss"`` the loss value, ``"loss+"`` their product.
    use_representation : bool or "auto", default="auto"
        %(use_representation)s

    Attributes
    ----------
    last_weights_ : Tensor of shape (T,)
        Weights of the last step (non-negative; they sum to one with ``normalization="none"``).

    References
    ----------
    O. Sener and V. Koltun. "Multi-Task Learning as Multi-Objective Optimization." Advances in
    Neural Information Processing Systems 31 (NeurIPS), 2018.

    J.-A. Desideri. "Multiple-gradient descent algorithm (MGDA) for multiobjective
    optimization." Comptes Rendus Mathematique 350(5-6), 313-318, 2012.

    Examples
    --------
    >>> import torch
    >>> from skmtl.neural.weighting._mgda import MGDA
    >>> grads = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> MGDA().aggregate(grads, torch.ones(2), epoch=0, step=0)
    tensor([0.8000, 0.4000], dtype=torch.float64)
    """

    name = "mgda"
    representation_ok = True

    def __init__(
        self, *, normalization: str = "none", use_representation: bool | str = "auto"
    ) -> None:
        super().__init__()
        self.normalization = normalization
        self.use_representation = use_representation

    def weights_from_gramian(
        self, gramian: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        if self.normalization not in _NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {_NORMALIZATIONS}, got {self.normalization!r}"
            )
        G = gramian_to_numpy(gramian)
        n = np.ones(len(G))
        if self.normalization in ("l2", "loss+"):
            n = n * np.sqrt(np.clip(np.diag(G), 0.0, None))
        if self.normalization in ("loss", "loss+"):
            n = n * np.abs(losses.detach().to("cpu", torch.float64).numpy().reshape(-1))
        n = np.where(n > 1e-12 * max(n.max(initial=0.0), 1e-300), n, 1.0)  # zero gradient or loss
        w = min_norm_simplex(G / np.outer(n, n)) / n
        return store_weights(self, w, gramian)
