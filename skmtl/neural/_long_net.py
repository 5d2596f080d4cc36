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
of every task, applied only to the rows of the tasks in the batch (where it is cheap).

The deviation table is optimised without weight decay (``coupling`` is its penalty). A large
table (:func:`use_sparse_heads`: more than 65,536 floats, e.g. 2,000 tasks of a 32-wide trunk,
and more tasks than rows in a batch) has sparse gradients and a lazy optimiser
(``torch.optim.SparseAdam`` for an Adam-family optimiser, plain sparse SGD otherwise): a step
touches only the rows of the batch's tasks, so its cost does not grow with the number of tasks;
dense Adam would update every task's row at every step. A small table is cheaper dense, as one
more parameter group of the estimator's optimiser: SparseAdam's bookkeeping (coalescing the
gradient, masking the moments) costs about as much as a dense Adam step over 33,000 floats, so
the cost of a step is bounded by that amount at any number of tasks.
"""

from __future__ import annotations

import numpy as np
import torch

from ._net import MultiTaskNet

__all__ = ["SPARSE_MIN_SIZE", "LongLayoutNet", "row_weights", "use_sparse_heads"]


def row_weights(codes: np.ndarray, n_tasks: int, task_weights, sample_weight) -> np.ndarray:
    """The (n, 2) columns ``(r_i, c_i)`` of the module docstring, as float32."""
    n = len(codes)
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    totals = np.bincount(codes, weights=s, minlength=n_tasks)
    share = np.divide(s, totals[codes], out=np.zeros(n), where=totals[codes] > 0)
    c = share * n / n_tasks
    r = c * np.asarray(task_weights, dtype=np.float64)[codes]
    return np.column_stack([r, c]).astype(np.float32)


#: The deviation table's size (floats) above which it is sparse with a lazy optimiser. Measured
#: on CPU (one thread, a batch of 256 rows): a dense Adam step over 33,000 floats cost about as
#: much as SparseAdam's bookkeeping; below, dense is cheaper, above it grows with the tasks.
SPARSE_MIN_SIZE = 2**16


def use_sparse_heads(n_tasks: int, row_size: int, batch_size: int) -> bool:
    """Sparse gradients and a lazy optimiser for a deviation table of ``n_tasks`` rows of
    ``row_size`` floats: when it is larger than :data:`SPARSE_MIN_SIZE` and has more rows than a
    batch (``batch_size=-1``, the full batch, holds every task: dense)."""
    return batch_size != -1 and n_tasks > batch_size and n_tasks * row_size > SPARSE_MIN_SIZE


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
        if not self.module_.deviation.sparse:
            # A dense table: one more parameter group of the estimator's optimiser, without
            # weight decay (coupling is its penalty); one optimiser step per batch.
            groups = list(pargs[0]) + [{"params": [table], "weight_decay": 0.0}]
            self.optimizer_ = self.optimizer(groups, *pargs[1:], **pkwargs)
            return self
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
        if "head_optimizer" in self._optimizers:
            self.head_optimizer_.step()

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        if getattr(self, "initialized_", False) and "head_optimizer" in self._optimizers:
            for group in self.head_optimizer_.param_groups:  # a changed lr reaches it too
                group["lr"] = self.lr
        return super().partial_fit(X, y, classes=classes, **fit_params)

    def new_epoch_accumulator(self, n_tasks: int) -> tuple[torch.Tensor, torch.Tensor]:
        # One (T, 2) table, filled by one index_add_ per batch; the base class reads its columns.
        self._acc_table = torch.zeros(n_tasks, 2, dtype=torch.float64, device=self.device)
        return self._acc_table[:, 0], self._acc_table[:, 1]

    def get_task_losses(self, y_pred, y_true, training=False):
        # Unlabelled rows come with r = c = 0 and a target of 0 (see row_weights' caller), so
        # that a batch needs no NaN mask.
        (key,) = self.criterion_.tasks
        y_true = y_true.to(self.device, non_blocking=True)
        code, r, c = y_true[:, 1].long(), y_true[:, 2], y_true[:, 3]
        criterion = self.criterion_.criteria[0]
        output = y_pred[key]
        if criterion.classification:
            target = y_true[:, 0].long()
        else:
            target = y_true[:, 0].to(output.dtype)
            if output.dim() == 2:
                output = output[:, 0]
        per_row = criterion.elementwise(output, target)
        loss = (per_row * r).sum() / len(target)
        if self._epoch_acc is not None:  # per task: sums of c_i l_i and of c_i
            stats = torch.stack([per_row.detach() * c, c], dim=1)
            self._acc_table.index_add_(0, code, stats.to(torch.float64))
        return {key: loss}, torch.ones(1, dtype=torch.long)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        rows = self.module_.rows_
        if training and self.coupling > 0 and rows is not None:
            c = y_true[:, 3].to(rows.device)
            loss = loss + self.coupling * (c * rows.pow(2).sum(dim=1)).sum() / len(c)
        return loss
