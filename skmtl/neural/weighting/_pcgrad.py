"""PCGrad: project each task gradient off the normal planes of the gradients it conflicts with."""

from __future__ import annotations

import numpy as np
import torch

from ._base import GradientWeighting
from ._utils import (
    gramian_to_numpy,
    make_generator,
    normalize_gramian,
    project_conflicts,
    random_orders,
    store_weights,
)

__all__ = ["PCGrad", "pcgrad_coefficients"]


def pcgrad_coefficients(G: np.ndarray, orders: list[np.ndarray]) -> np.ndarray:
    """Coefficients ``C`` of the projected gradients ``g_i^PC = C[i] @ J`` (Algorithm 1).

    ``orders[i]`` lists the tasks ``j != i`` in the order task ``i`` is projected against them.
    """

    def correction(inner, norm_i, norm_j, i, j):
        if inner < 0.0 and norm_j > 0.0:
            return -inner / norm_j**2
        return None

    return project_conflicts(G, orders, correction)


class PCGrad(GradientWeighting):
    r"""Projecting conflicting gradients (gradient surgery).

    For each task ``i``, starting from :math:`g_i^{PC} = g_i`, for each other task ``j`` in a
    random order: if :math:`g_i^{PC} \cdot g_j < 0`, remove the conflicting component,

    .. math:: g_i^{PC} \leftarrow g_i^{PC} - \frac{g_i^{PC} \cdot g_j}{\|g_j\|^2} g_j,

    and the update is :math:`\sum_i g_i^{PC}` (Yu et al. 2020, Algorithm 1). After the projection
    on :math:`g_j`, :math:`g_i^{PC} \cdot g_j = 0`; with two tasks no conflict remains. Each
    :math:`g_i^{PC}` is a combination of the original gradients, so the surgery runs on
    coefficient vectors with inner products only, and the weights are the column sums of those
    coefficients (:func:`pcgrad_coefficients`). Scaling all gradients leaves the weights unchanged.

    Parameters
    ----------
    random_state : int or None, default=None
        Seed of the random projection orders (a ``torch.Generator`` reseeded by ``setup``);
        ``None`` draws from torch's global generator. With two tasks the order does not matter.
    use_representation : bool or "auto", default=False
        %(use_representation)s

    Attributes
    ----------
    last_weights_ : Tensor of shape (T,)
        Weights of the last step.

    References
    ----------
    T. Yu, S. Kumar, A. Gupta, S. Levine, K. Hausman and C. Finn. "Gradient Surgery for
    Multi-Task Learning." Advances in Neural Information Processing Systems 33 (NeurIPS), 2020.

    Examples
    --------
    >>> import torch
    >>> from skmtl.neural.weighting._pcgrad import PCGrad
    >>> grads = torch.tensor([[1.0, 0.0], [-1.0, 1.0]], dtype=torch.float64)
    >>> PCGrad().aggregate(grads, torch.ones(2), epoch=0, step=0)
    tensor([0.5000, 1.5000], dtype=torch.float64)
    """

    name = "pcgrad"
    representation_ok = True

    def __init__(
        self, *, random_state: int | None = None, use_representation: bool | str = False
    ) -> None:
        super().__init__()
        self.use_representation = use_representation
        self.random_state = random_state
        self._generator = None

    def setup(self, tasks: list, task_types: dict) -> None:
        super().setup(tasks, task_types)
        self._generator = None  # reseed: two fits give the same orders

    def _rng(self) -> torch.Generator | None:
        if self._generator is None or getattr(self, "_seed", None) != self.random_state:
            self._generator, self._seed = make_generator(self.random_state), self.random_state
        return self._generator

    def weights_from_gramian(
        self, gramian: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        G, _ = normalize_gramian(gramian_to_numpy(gramian))
        C = pcgrad_coefficients(G, random_orders(len(G), self._rng()))
        return store_weights(self, C.sum(axis=0), gramian)
