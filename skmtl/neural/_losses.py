r"""Per-task losses with missing-label masks, and their combination.

For a batch :math:`B` and task :math:`t`, let :math:`B_t \subseteq B` be the samples whose label
for task :math:`t` is present. The task's loss is the mean over its labelled samples,

.. math:: L_t = \frac{1}{|B_t|} \sum_{i \in B_t} \ell_t(f_t(x_i), y_{it}),
          \qquad L_t = 0 \text{ if } B_t = \emptyset,

and the training objective is the weighted sum :math:`L = \sum_t w_t L_t`
(:class:`StaticWeighting`). Built-in losses are computed for the whole batch and masked, so that a
task without labels in a batch gives an exact zero (no NaN, no gradient) without a device sync.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LOSSES", "MaskedTaskLoss", "MultiTaskLoss", "StaticWeighting"]


def _mse(pred, target):
    return (pred - target) ** 2


def _l1(pred, target):
    return (pred - target).abs()


def _huber(pred, target):
    return F.huber_loss(pred, target, reduction="none")


def _cross_entropy(logits, codes):
    return F.cross_entropy(logits, codes, reduction="none")


#: Elementwise built-in losses by name; ``"auto"`` is cross-entropy or MSE by task type.
LOSSES: dict[str, Callable] = {
    "mse": _mse,
    "l1": _l1,
    "huber": _huber,
    "cross_entropy": _cross_entropy,
}
_MEAN_LOSSES: dict[str, Callable] = {
    "mse": F.mse_loss,
    "l1": F.l1_loss,
    "huber": F.huber_loss,
    "cross_entropy": F.cross_entropy,
}
_CLASSIFICATION_LOSSES = {"cross_entropy"}


class MaskedTaskLoss(nn.Module):
    """The loss of one task, averaged over the labelled samples of the batch.

    Parameters
    ----------
    task_type : {"classification", "regression"}
    loss : str, nn.Module instance or class, or callable, default="auto"
        ``"auto"`` is cross-entropy for classification and MSE for regression; other names are
        keys of ``LOSSES``. A module or callable ``loss(input, target)`` must return the *mean*
        loss of the samples it is given; it is called on the labelled samples only.

    Examples
    --------
    >>> import torch
    >>> crit = MaskedTaskLoss("regression")
    >>> float(crit(torch.tensor([1.0, 2.0, 5.0]), torch.tensor([0.0, float("nan"), 3.0])))
    2.5
    """

    def __init__(self, task_type: str, loss: str | Callable = "auto") -> None:
        super().__init__()
        self.task_type = task_type
        self.classification = task_type == "classification"
        if isinstance(loss, str):
            name = ("cross_entropy" if self.classification else "mse") if loss == "auto" else loss
            if name not in LOSSES:
                raise ValueError(f"unknown loss {loss!r}; choose among {['auto', *LOSSES]}.")
            if (name in _CLASSIFICATION_LOSSES) != self.classification:
                raise ValueError(f"loss {loss!r} does not suit a {task_type} task.")
            self.elementwise, self.mean = LOSSES[name], _MEAN_LOSSES[name]
            self.custom = None
        else:
            if isinstance(loss, type) and issubclass(loss, nn.Module):
                loss = loss()
            if not callable(loss):
                raise TypeError(f"a task loss must be a string or a callable, got {loss!r}.")
            self.elementwise = self.mean = None
            self.custom = loss

    def forward(
        self,
        output: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor | None = None,
        complete: bool | None = None,
        weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        r"""Mean loss over the labelled samples (0 when there is none).

        ``target`` holds class codes (as floats) or values, NaN where the label is missing;
        ``mask`` (True where labelled) and ``complete`` (no label missing) may be given when
        already known, which saves work (and a device sync when ``complete`` is known).
        ``weight`` (non-negative, one per sample) makes it the weighted mean
        :math:`\sum_i s_i \ell_i / \sum_i s_i` over the labelled samples: a zero weight is a
        sample left out, an integer weight a repeated sample.
        """
        if weight is not None:
            if self.custom is not None:
                raise ValueError(
                    "sample_weight needs a built-in task loss (a name of LOSSES): a custom "
                    "loss returns a mean and cannot weight its samples."
                )
            complete = False
        if not self.classification and output.dim() == 2 and output.shape[1] == 1:
            output = output[:, 0]
        if mask is None:
            mask = ~torch.isnan(target)
        if complete is None:
            complete = bool(mask.all())
        if complete:
            target = target.long() if self.classification else target.to(output.dtype)
            loss_fn = self.custom if self.custom is not None else self.mean
            return loss_fn(output, target)
        if self.custom is not None:
            if not bool(mask.any()):
                return output.sum() * 0.0
            target = target[mask].long() if self.classification else target[mask]
            return self.custom(output[mask], target)
        filled = torch.where(mask, target, torch.zeros_like(target))
        filled = filled.long() if self.classification else filled.to(output.dtype)
        weights = mask.to(output.dtype)
        if weight is not None:
            weights = weights * weight.to(output.dtype)
        per_sample = self.elementwise(output, filled)
        denominator = weights.sum()
        if weight is not None:  # weights below 1 in total: no clamp at 1, only away from 0
            return (per_sample * weights).sum() / denominator.clamp(min=1e-12)
        return (per_sample * weights).sum() / denominator.clamp(min=1.0)


class MultiTaskLoss(nn.Module):
    """The per-task losses of a batch: ``forward(y_pred, y_true) -> {task: loss}``.

    Parameters
    ----------
    task_types : dict
        Task name -> ``"classification"`` or ``"regression"``, in the column order of ``y_true``.
    task_losses : dict, optional
        Task name -> loss (see :class:`MaskedTaskLoss`); ``"auto"`` for the others.

    Examples
    --------
    >>> import torch
    >>> crit = MultiTaskLoss({"c": "classification", "r": "regression"})
    >>> y_pred = {"c": torch.zeros(2, 3), "r": torch.tensor([1.0, 2.0])}
    >>> losses = crit(y_pred, torch.tensor([[0.0, float("nan")], [2.0, 4.0]]))
    >>> round(float(losses["c"]), 4), float(losses["r"])  # log(3), (2 - 4) ** 2
    (1.0986, 4.0)
    """

    def __init__(self, task_types: Mapping[Hashable, str], task_losses: Mapping | None = None):
        super().__init__()
        task_losses = task_losses or {}
        self.tasks = list(task_types)
        self.criteria = nn.ModuleList(
            MaskedTaskLoss(task_types[t], task_losses.get(t, "auto")) for t in self.tasks
        )

    def forward(
        self,
        y_pred: Mapping,
        y_true: torch.Tensor,
        mask: torch.Tensor | None = None,
        complete: list | None = None,
        weight: torch.Tensor | None = None,
    ) -> dict:
        """Per-task losses; ``mask`` (n, T), ``complete`` (T bools) and ``weight`` (n,) as in
        MaskedTaskLoss."""
        if mask is None:
            mask = ~torch.isnan(y_true)
        if complete is None:
            complete = mask.all(dim=0).tolist()
        losses = {}
        for j, (task, criterion) in enumerate(zip(self.tasks, self.criteria, strict=True)):
            if task not in y_pred:
                raise ValueError(
                    f"The module's output has no entry for task {task!r} (it returned "
                    f"{list(y_pred)}); forward must return a dict with one entry per task."
                )
            losses[task] = criterion(y_pred[task], y_true[:, j], mask[:, j], complete[j], weight)
        return losses


class StaticWeighting(nn.Module):
    r"""Combine per-task losses with fixed weights: :math:`L = \sum_t w_t L_t`.

    The interface of a weighting strategy: ``forward(losses)`` takes the dict of per-task
    losses of a batch and returns the scalar to back-propagate.

    Parameters
    ----------
    weights : dict
        Task name -> non-negative weight, for every task.

    Examples
    --------
    >>> import torch
    >>> w = StaticWeighting({"a": 1.0, "b": 0.5})
    >>> float(w({"a": torch.tensor(2.0), "b": torch.tensor(4.0)}))
    4.0
    """

    def __init__(self, weights: Mapping[Hashable, float]) -> None:
        super().__init__()
        self.weights = {task: float(w) for task, w in weights.items()}

    def forward(self, losses: Mapping[Hashable, torch.Tensor]) -> torch.Tensor:
        total = None
        for task, loss in losses.items():
            w = self.weights[task]
            term = loss if w == 1.0 else loss * w
            total = term if total is None else total + term
        return total
