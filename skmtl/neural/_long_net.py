r"""The skorch net of the long layout (``MultiTaskEstimator(task_column=...)``).

The target tensor has four columns per row :math:`i` of task :math:`t_i`: the label, the task
code, the row's data-fit weight :math:`r_i` and its penalty weight :math:`c_i`, computed once
from the training rows (:func:`row_weights`):

.. math::

    c_i = \frac{N}{T} \frac{s_i}{S_{t_i}}, \qquad r_i = w_{t_i} c_i, \qquad
    S_t = \sum_{j : t_j = t} s_j,

with :math:`N` rows, :math:`T` tasks, sample weights :math:`s_i` (1 by default) and task weights
:math:`w_t`. A batch :math:`B` contributes

.. math::

    \frac{1}{|B|} \sum_{i \in B} \Big( r_i \, \ell(f_{t_i}(x_i), y_i)
    + \lambda \, c_i \, \|(U_{t_i}, b_{t_i})\|^2 \Big),

whose expectation over a uniformly drawn batch is the full objective

.. math::

    \frac{1}{T} \sum_{t=1}^{T} \Big( w_t \, \frac{\sum_{i : t_i = t} s_i \ell_i}{S_t}
    + \lambda \|(U_t, b_t)\|^2 \Big):

each task's (weighted) mean loss, as the linear estimators' data fit, and the deviation penalty
of every task, applied only to the rows of the tasks in the batch (where it is cheap). The
deviation table has sparse gradients and its own lazy optimiser (``torch.optim.SparseAdam`` for
an Adam-family optimiser, plain sparse SGD otherwise), so that a step costs the same for 10 or
1,000 tasks; dense Adam with weight decay would touch every task's row at every step.
"""

from __future__ import annotations

import numpy as np
import torch

from ._net import MultiTaskNet

__all__ = ["LongLayoutNet", "row_weights"]


def row_weights(codes: np.ndarray, n_tasks: int, task_weights, sample_weight) -> np.ndarray:
    """The (n, 2) columns ``(r_i, c_i)`` of the module docstring, as float32."""
    n = len(codes)
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    totals = np.bincount(codes, weights=s, minlength=n_tasks)
    share = np.divide(s, totals[codes], out=np.zeros(n), where=totals[codes] > 0)
    c = share * n / n_tasks
    r = c * np.asarray(task_weights, dtype=np.float64)[codes]
    return np.column_stack([r, c]).astype(np.float32)


def _head_optimizer(optimizer, table: torch.Tensor, kwargs: dict) -> torch.optim.Optimizer:
    """A lazy optimiser for the sparse deviation table: only the batch's rows move."""
    lr = kwargs["lr"]
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Adam | torch.optim.AdamW):
        extra = {k: kwargs[k] for k in ("betas", "eps") if k in kwargs}
        return torch.optim.SparseAdam([table], lr=lr, **extra)
    return torch.optim.SGD([table], lr=lr)


class LongLayoutNet(MultiTaskNet):
    """:class:`~skmtl.neural.MultiTaskNet` for one target column and many tasks.

    Parameters
    ----------
    *args, **kwargs
        As :class:`~skmtl.neural.MultiTaskNet`; the module is a
        :class:`~skmtl.neural._long_module.TaskHeadsMLP`.
    coupling : float, default=0.0
        The penalty :math:`\\lambda` on the per-task deviations.
    task_names : list, default=None
        The task labels (codes ``0 .. T-1``), for the per-task losses of the history.
    """

    def __init__(self, *args, coupling=0.0, task_names=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.coupling = coupling
        self.task_names = task_names

    def history_tasks(self) -> list:
        return list(self.task_names)

    def initialize_optimizer(self, *args, **kwargs):
        table = self.module_.deviation.weight
        named = [(n, p) for n, p in self.get_all_learnable_params() if p is not table]
        pargs, pkwargs = self.get_params_for_optimizer("optimizer", named)
        self.optimizer_ = self.optimizer(*pargs, **pkwargs)
        self.head_optimizer_ = _head_optimizer(self.optimizer, table, pkwargs)
        return self

    def _step_optimizer(self, step_fn):
        # skorch calls optimizer.step(closure) per optimiser, which would run the forward and
        # backward pass twice; the closure goes to the main optimiser, the lazy one follows.
        if step_fn is None:
            self.optimizer_.step()
        else:
            self.optimizer_.step(step_fn)
        self.head_optimizer_.step()

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        if getattr(self, "initialized_", False):  # a changed lr reaches the lazy optimiser too
            for group in self.head_optimizer_.param_groups:
                group["lr"] = self.lr
        return super().partial_fit(X, y, classes=classes, **fit_params)

    def get_task_losses(self, y_pred, y_true, training=False):
        (key,) = self.criterion_.tasks
        y_true = y_true.to(self.device, non_blocking=True)
        target, code = y_true[:, 0], y_true[:, 1].long()
        r, c = y_true[:, 2], y_true[:, 3]
        labelled = ~torch.isnan(target)
        criterion = self.criterion_.criteria[0]
        output = y_pred[key]
        if not criterion.classification and output.dim() == 2:
            output = output[:, 0]
        filled = torch.where(labelled, target, torch.zeros_like(target))
        filled = filled.long() if criterion.classification else filled.to(output.dtype)
        per_row = criterion.elementwise(output, filled) * labelled.to(output.dtype)
        loss = (per_row * r).sum() / len(target)
        acc = self._epoch_acc
        if acc is not None:  # per task: sum of c_i l_i and of c_i (c is proportional to s_i)
            acc[0].index_add_(0, code, (per_row * c).detach().to(acc[0].dtype))
            acc[1].index_add_(0, code.cpu(), (c * labelled).detach().cpu().double())
        counts = labelled.sum().reshape(1)
        return {key: loss}, counts

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        rows = self.module_.rows_
        if training and self.coupling > 0 and rows is not None:
            c = y_true[:, 3].to(rows.device)
            loss = loss + self.coupling * (c * rows.pow(2).sum(dim=1)).sum() / len(c)
        return loss
