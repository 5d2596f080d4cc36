"""GradVac: raise the cosine similarity of each pair of gradients to an adaptive target."""

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

__all__ = ["GradVac", "gradvac_coefficients"]


def gradvac_coefficients(
    G: np.ndarray, orders: list[np.ndarray], targets: np.ndarray, beta: float
) -> np.ndarray:
    """Coefficients of the vaccinated gradients; updates the EMA ``targets`` (T, T) in place."""

    def correction(inner, norm_i, norm_j, i, j):
        if norm_i <= 0.0 or norm_j <= 0.0:
            return None
        phi = float(np.clip(inner / (norm_i * norm_j), -1.0, 1.0))
        target = float(targets[i, j])
        a = None
        if phi < target:
            root_t = np.sqrt(max(1.0 - target**2, 1e-16))
            num = target * np.sqrt(max(1.0 - phi**2, 0.0)) - phi * root_t
            a = norm_i * num / (norm_j * root_t)
        targets[i, j] = (1.0 - beta) * target + beta * phi
        return a

    return project_conflicts(G, orders, correction)


class GradVac(GradientWeighting):
    r"""Gradient vaccine: adaptive gradient similarity targets.

    For each task ``i`` and each other task ``j`` in a random order, with
    :math:`\phi_{ij} = \cos(g_i^{PC}, g_j)` and a target :math:`\hat\phi_{ij}`, if
    :math:`\phi_{ij} < \hat\phi_{ij}` the gradient is moved towards :math:`g_j` until their cosine
    equals the target:

    .. math:: g_i^{PC} \leftarrow g_i^{PC} + \frac{\|g_i^{PC}\| \big(\hat\phi_{ij}
              \sqrt{1 - \phi_{ij}^2} - \phi_{ij} \sqrt{1 - \hat\phi_{ij}^2}\big)}
              {\|g_j\| \sqrt{1 - \hat\phi_{ij}^2}} \, g_j ,

    then the target follows an exponential moving average,
    :math:`\hat\phi_{ij} \leftarrow (1 - \beta) \hat\phi_{ij} + \beta \phi_{ij}` (every step, as
    in the paper; LibMTL only updates it on a correction). The update is
    :math:`\sum_i g_i^{PC}`. Targets start at 0, so the first step is PCGrad, and with
    ``beta = 0`` the method is PCGrad throughout (non-conflicting gradients are summed). As for
    PCGrad, the surgery runs on coefficient vectors with inner products only. The similarity is
    measured on the whole shared gradient (the paper's and LibMTL's whole-model granularity).

    Parameters
    ----------
    beta : float, default=0.01
        EMA rate of the targets (TorchJD's default; LibMTL uses 0.5).
    random_state : int or None, default=None
        Seed of the random orders; ``None`` uses torch's global generator.
    use_representation : bool or "auto", default=False
        %(use_representation)s

    Attributes
    ----------
    targets_ : ndarray of shape (T, T)
        The EMA targets :math:`\hat\phi_{ij}` (reset by ``setup``).
    last_weights_ : Tensor of shape (T,)
        Weights of the last step.

    References
    ----------
    Z. Wang, Y. Tsvetkov, O. Firat and Y. Cao. "Gradient Vaccine: Investigating and Improving
    Multi-task Optimization in Massively Multilingual Models." International Conference on
    Learning Representations (ICLR), 2021.

    Examples
    --------
    >>> import torch
    >>> from skmtl.neural.weighting._gradvac import GradVac
    >>> grads = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    >>> GradVac(beta=0.0).aggregate(grads, torch.ones(2), epoch=0, step=0)
    tensor([2., 1.], dtype=torch.float64)
    """

    name = "gradvac"
    representation_ok = True

    def __init__(
        self,
        *,
        beta: float = 0.01,
        random_state: int | None = None,
        use_representation: bool | str = False,
    ) -> None:
        super().__init__()
        self.use_representation = use_representation
        self.beta = beta
        self.random_state = random_state
        self._generator = None
        self.targets_ = None

    def setup(self, tasks: list, task_types: dict) -> None:
        super().setup(tasks, task_types)
        self._generator = None
        self.targets_ = None

    def _rng(self) -> torch.Generator | None:
        if self._generator is None or getattr(self, "_seed", None) != self.random_state:
            self._generator, self._seed = make_generator(self.random_state), self.random_state
        return self._generator

    def weights_from_gramian(
        self, gramian: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {self.beta!r}")
        G, _ = normalize_gramian(gramian_to_numpy(gramian))
        T = len(G)
        if self.targets_ is None or self.targets_.shape != (T, T):
            self.targets_ = np.zeros((T, T))
        C = gradvac_coefficients(G, random_orders(T, self._rng()), self.targets_, self.beta)
        return store_weights(self, C.sum(axis=0), gramian)
