"""Fixed task weights (the default strategy)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import ClassVar

import torch

from ._base import LossWeighting

__all__ = ["FixedWeighting"]


class FixedWeighting(LossWeighting):
    r"""Fixed task weights: minimise :math:`L = \sum_t w_t L_t`.

    The default strategy (``weighting="fixed"``). The estimator's ``task_weights`` scale every
    strategy's losses; with this strategy they are the whole story, so
    ``MultiTaskEstimator(task_weights={"a": 2.0})`` trains on :math:`2 L_a + L_b`.

    Parameters
    ----------
    task_weights : dict, default=None
        Task name -> non-negative weight, multiplied with the estimator's ``task_weights``;
        tasks not named (and all tasks when None) weigh 1.

    Examples
    --------
    >>> import torch
    >>> w = FixedWeighting(task_weights={"b": 0.5})
    >>> w.setup(["a", "b"], {"a": "regression", "b": "regression"})
    >>> float(w.objective(torch.tensor([2.0, 4.0]), epoch=0, step=0))
    4.0
    """

    name: ClassVar[str] = "fixed"
    #: constant weights: the trainer records them without per-step bookkeeping
    static: ClassVar[bool] = True

    def __init__(self, task_weights: Mapping[Hashable, float] | None = None) -> None:
        super().__init__()
        self.task_weights = task_weights

    def setup(self, tasks: list, task_types: dict) -> None:
        super().setup(tasks, task_types)
        given = dict(self.task_weights or {})
        unknown = [t for t in given if t not in self.tasks]
        if unknown:
            raise ValueError(f"FixedWeighting: unknown tasks {unknown} (tasks: {self.tasks}).")
        for task, w in given.items():
            if not float(w) >= 0 or not torch.isfinite(torch.tensor(float(w))):
                raise ValueError(f"FixedWeighting: weight of task {task!r} must be finite, >= 0.")
        self.weight_list = [float(given.get(t, 1.0)) for t in self.tasks]
        self.last_weights_ = torch.tensor(self.weight_list)

    def weights(self, losses: torch.Tensor, *, epoch: int, step: int) -> torch.Tensor:
        return torch.tensor(self.weight_list, dtype=losses.dtype, device=losses.device)
