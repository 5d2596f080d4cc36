"""Dynamic weight average (DWA)."""

from __future__ import annotations

from typing import ClassVar

import torch

from ._base import LossWeighting

__all__ = ["DynamicWeightAverage"]


class DynamicWeightAverage(LossWeighting):
    r"""Dynamic weight average: weigh up the tasks whose loss falls slowest.

    With :math:`\bar L_t(e)` the mean training loss of task :math:`t` over epoch :math:`e`, the
    weights of epoch :math:`e \geq 2` are

    .. math::

        r_t = \frac{\bar L_t(e-1)}{\bar L_t(e-2)}, \qquad
        w_t(e) = \frac{T \exp(r_t / \tau)}{\sum_s \exp(r_s / \tau)},

    and :math:`w_t = 1` in the first two epochs. The weights sum to T and stay constant within
    an epoch. Only the losses are needed (no gradient), so DWA costs nothing per step. The
    trainer passes the per-task mean losses of the previous epochs as ``epoch_losses``.

    Parameters
    ----------
    temperature : float, default=2.0
        :math:`\tau`; larger values give weights closer to 1 (the paper uses 2).

    References
    ----------
    .. [1] S. Liu, E. Johns, A. J. Davison, "End-to-end multi-task learning with attention",
       CVPR, 2019.

    Examples
    --------
    >>> import torch
    >>> w = DynamicWeightAverage()
    >>> w.setup(["a", "b"], {})
    >>> past = torch.tensor([[1.0, 1.0], [1.0, 0.5]])  # task b's loss halved, a's did not move
    >>> w.weights(torch.ones(2), epoch=2, step=0, epoch_losses=past)
    tensor([1.1244, 0.8756])
    """

    name: ClassVar[str] = "dwa"
    #: extra keyword arguments the trainer passes
    inputs: ClassVar[frozenset] = frozenset({"epoch_losses"})

    def __init__(self, temperature: float = 2.0) -> None:
        super().__init__()
        self.temperature = temperature

    def setup(self, tasks: list, task_types: dict) -> None:
        super().setup(tasks, task_types)
        if not (isinstance(self.temperature, int | float) and self.temperature > 0):
            raise ValueError(f"DWA: temperature must be > 0, got {self.temperature!r}.")

    def weights(
        self,
        losses: torch.Tensor,
        *,
        epoch: int,
        step: int,
        epoch_losses: torch.Tensor | None = None,
    ) -> torch.Tensor:
        T = len(losses)
        if epoch_losses is None or len(epoch_losses) < 2:
            return torch.ones(T, dtype=losses.dtype, device=losses.device)
        prev, before = epoch_losses[-1].double(), epoch_losses[-2].double()
        ratio = prev / before
        # A task without labels in either epoch (NaN) or with a zero loss keeps ratio 1.
        ratio = torch.where(torch.isfinite(ratio), ratio, torch.ones_like(ratio))
        w = T * torch.softmax(ratio / self.temperature, dim=0)
        return w.to(dtype=losses.dtype, device=losses.device)
