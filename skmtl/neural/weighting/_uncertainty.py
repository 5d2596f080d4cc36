"""Uncertainty weighting: learned homoscedastic task variances."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ._base import LossWeighting

__all__ = ["UncertaintyWeighting"]


class UncertaintyWeighting(LossWeighting):
    r"""Uncertainty weighting: each task's loss is scaled by a learned precision.

    Each task :math:`t` gets a learned log-variance :math:`s_t = \log \sigma_t^2` (initialised
    at 0), trained with the network by the same optimiser, and the objective is

    .. math::

        L = \sum_{t\ \text{regression}} \Big( \frac{1}{2\sigma_t^2} L_t + \log \sigma_t \Big)
          + \sum_{t\ \text{classification}} \Big( \frac{1}{\sigma_t^2} L_t + \log \sigma_t \Big),

    the negative log-likelihood of a Gaussian (regression) or of a temperature-scaled softmax
    (classification, the paper's approximation) with task noise :math:`\sigma_t`. A task with a
    large loss learns a large :math:`\sigma_t` and is weighed down; the :math:`\log\sigma_t`
    term keeps :math:`\sigma_t` from growing without bound. The stationary point of
    :math:`s_t` is :math:`\sigma_t^2 = L_t` (regression) or :math:`2 L_t` (classification).
    A task without labels in a batch leaves its term (and :math:`s_t`) out of that step.

    The recorded weight of a task is its coefficient :math:`1/(2\sigma_t^2)` or
    :math:`1/\sigma_t^2`.

    Parameters
    ----------
    init : float, default=0.0
        Initial log-variance :math:`s_t` of every task.

    Attributes
    ----------
    log_vars : nn.Parameter of shape (n_tasks,)
        The learned :math:`\log \sigma_t^2`, in task order.

    References
    ----------
    .. [1] A. Kendall, Y. Gal, R. Cipolla, "Multi-task learning using uncertainty to weigh
       losses for scene geometry and semantics", CVPR, 2018.

    Examples
    --------
    >>> import torch
    >>> w = UncertaintyWeighting()
    >>> w.setup(["r", "c"], {"r": "regression", "c": "classification"})
    >>> float(w.objective(torch.tensor([2.0, 3.0]), epoch=0, step=0).detach())  # 0.5*2 + 1*3
    4.0
    """

    name: ClassVar[str] = "uncertainty"
    inputs: ClassVar[frozenset] = frozenset({"active"})

    def __init__(self, init: float = 0.0) -> None:
        super().__init__()
        self.init = init

    def setup(self, tasks: list, task_types: dict) -> None:
        super().setup(tasks, task_types)
        self.log_vars = nn.Parameter(torch.full((len(self.tasks),), float(self.init)))
        # 1/(2 sigma^2) for regression, 1/sigma^2 for classification
        factor = [1.0 if task_types.get(t) == "classification" else 0.5 for t in self.tasks]
        self.register_buffer("factor", torch.tensor(factor), persistent=False)

    def weights(self, losses: torch.Tensor, *, epoch: int, step: int) -> torch.Tensor:
        return (self.factor * torch.exp(-self.log_vars)).detach().to(losses.dtype)

    def objective(
        self,
        losses: torch.Tensor,
        *,
        epoch: int,
        step: int,
        active: torch.Tensor | None = None,
    ) -> torch.Tensor:
        s = self.log_vars.to(losses.dtype)
        precision = self.factor.to(losses.dtype) * torch.exp(-s)
        terms = precision * losses + 0.5 * s
        self.last_weights_ = precision.detach()
        if active is not None:
            terms = torch.where(active, terms, torch.zeros_like(terms))
        return terms.sum()
