"""The skorch net behind :class:`~skmtl.neural.MultiTaskEstimator`.

A :class:`skorch.NeuralNet` whose criterion returns per-task losses, combined by a weighting module
(``weighting_``, a registered skorch component, so ``weighting__*`` parameters route to it), that
records per-task losses in the history and feeds array data through :class:`BatchSlicer`.
"""

from __future__ import annotations

import math

import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data

from ._data import BatchSlicer, TensorPairDataset, as_tensor_pair
from ._errors import TrainingDivergedError
from ._out_of_core import LazyRows
from ._snapshot import EpochSnapshot
from .weighting._trainer import TaskBalancer, gradient_train_step

__all__ = ["MultiTaskNet", "TrainingDivergedError"]

# Iterator parameters that the slicing path understands; any other one (num_workers,
# collate_fn, ...) sends the data through skorch's DataLoader path instead.
_SLICER_KWARGS = {"batch_size", "shuffle", "drop_last"}


class MultiTaskNet(NeuralNet):
    """A skorch ``NeuralNet`` over a dict of task outputs and a (n, T) target tensor.

    Parameters
    ----------
    *args, **kwargs
        As :class:`skorch.NeuralNet`; ``criterion`` must return ``(losses, counts)`` dicts.
    weighting : nn.Module class, default=TaskBalancer
        Turns the dict of per-task losses into the scalar objective; ``weighting__*`` go to it
        (:class:`~skmtl.neural.weighting.TaskBalancer`: ``strategy``, ``task_weights``,
        ``task_types``). A strategy that needs per-task gradients trains through
        :func:`~skmtl.neural.weighting._trainer.gradient_train_step`.
    """

    def __init__(self, *args, weighting=TaskBalancer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.weighting = weighting
        self._epoch_acc = None

    # -- components -------------------------------------------------------------------------
    def get_default_callbacks(self):
        # The last finite epoch, for divergence and KeyboardInterrupt (skmtl.neural._snapshot).
        return [*super().get_default_callbacks(), ("snapshot", EpochSnapshot())]

    def initialize_criterion(self):
        super().initialize_criterion()
        params = self.get_params_for("weighting")
        self.weighting_ = self.initialized_instance(self.weighting, params)
        return self

    # -- data ---------------------------------------------------------------------------------
    def get_dataset(self, X, y=None):
        if isinstance(X, torch.Tensor | LazyRows) and (y is None or isinstance(y, torch.Tensor)):
            return TensorPairDataset(X, y)
        return super().get_dataset(X, y)

    def get_iterator(self, dataset, training=False):
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)
        pair = as_tensor_pair(dataset)
        if pair is None or not set(kwargs) <= _SLICER_KWARGS:
            return super().get_iterator(dataset, training=training)
        return BatchSlicer(
            *pair,
            kwargs.get("batch_size", self.batch_size),
            shuffle=bool(kwargs.get("shuffle", False)) and training,
            drop_last=bool(kwargs.get("drop_last", False)),
            merge_singleton=training,
        )

    # -- loss -----------------------------------------------------------------------------------
    def get_loss(self, y_pred, y_true, X=None, training=False):
        losses, counts = self.get_task_losses(y_pred, y_true, training=training)
        return self.weighting_(losses, counts, training=training)

    def get_task_losses(self, y_pred, y_true, training=False):
        """Per-task losses ``{task: scalar}`` and label counts (T,) of a batch; the losses
        are added to the epoch's per-task means."""
        # The mask is computed where y_true lives (the CPU for the slicing path), so that the
        # per-task "no label missing" flags cost no device sync.
        weight = None
        if y_true.shape[1] == len(self.criterion_.tasks) + 1:  # sample weights, last column
            y_true, weight = y_true[:, :-1], y_true[:, -1]
        mask = ~torch.isnan(y_true)
        counts = mask.sum(dim=0)
        if weight is None:
            complete = (counts == len(y_true)).tolist()
        else:  # the weighted labelled count of each task; the elementwise path
            complete = [False] * len(counts)
            counts = (mask * weight.unsqueeze(1)).sum(dim=0)
            weight = weight.to(self.device, non_blocking=True)
        y_true = y_true.to(self.device, non_blocking=True)
        mask = mask.to(self.device, non_blocking=True)
        losses = self.criterion_(y_pred, y_true, mask=mask, complete=complete, weight=weight)
        acc = self._epoch_acc
        if acc is not None:
            loss_vec = torch.stack([loss.detach() for loss in losses.values()])
            acc[0].add_(loss_vec * counts.to(loss_vec.device, loss_vec.dtype))
            acc[1].add_(counts.to(acc[1].device))
        return losses, counts

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        # The strategy's post-step hook (FAMO): a no-op unless the strategy asks for it.
        self.weighting_.after_step(self, batch, **fit_params)
        return step

    def new_epoch_accumulator(self, n_tasks: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-task (loss sums, label counts) of an epoch, filled by :meth:`get_task_losses`."""
        return (
            torch.zeros(n_tasks, device=self.device),
            torch.zeros(n_tasks, dtype=torch.float64),
        )

    def history_tasks(self) -> list:
        """The tasks whose losses each epoch records as ``<prefix>_loss_<task>``."""
        return self.criterion_.tasks

    def train_step_single(self, batch, **fit_params):
        if not self.weighting_.custom_step:
            return super().train_step_single(batch, **fit_params)
        # Gradient-level strategies: per-task gradients, combined before the optimiser step.
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        return gradient_train_step(self, Xi, yi, **fit_params)

    def _set_training(self, training=True):
        # skorch sets the mode of every module at every batch; walking the module tree each
        # time was ~10% of an epoch of a small MLP. Only switch modules whose mode differs.
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        tasks = self.history_tasks()
        self._epoch_acc = self.new_epoch_accumulator(len(tasks))
        if training:
            self.weighting_.begin_epoch(self.history)
        try:
            super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
            sums, counts = (t.cpu() for t in self._epoch_acc)
        finally:
            self._epoch_acc = None
        diverged = self._record_task_losses(prefix, tasks, sums, counts)
        if training:  # the strategy's mean weight per task over the epoch (weight_<task>)
            for key, value in self.weighting_.end_epoch().items():
                self.history.record(key, value)
            self._raise_if_diverged(diverged)

    def _record_task_losses(self, prefix, tasks, sums, counts):
        """Record the epoch's mean loss of each task (``{prefix}_loss_<task>``, NaN for a task
        without a label in the epoch); returns the ``(task, value)`` pairs that are not finite."""
        diverged = []
        for task, s, c in zip(tasks, sums.tolist(), counts.tolist(), strict=True):
            value = s / c if c > 0 else math.nan
            self.history.record(f"{prefix}_loss_{task}", value)
            if c > 0 and not math.isfinite(value):
                diverged.append((task, value))
        return diverged

    def _raise_if_diverged(self, diverged):
        """:class:`TrainingDivergedError` naming the tasks of ``diverged`` (if any)."""
        if not diverged:
            return
        epoch = len(self.history)
        detail = ", ".join(f"task {task!r}: {value}" for task, value in diverged)
        raise TrainingDivergedError(
            f"Training diverged in epoch {epoch}: the training loss is not finite "
            f"({detail}). Lower the learning rate (lr={self.lr}), standardise X and the "
            "regression targets, or lower the weights of these tasks in task_weights."
        )
