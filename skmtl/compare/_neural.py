"""The neural entry of ``skmtl compare``: :class:`~skmtl.MultiTaskEstimator` behind the harness.

Imported by :mod:`skmtl.compare._methods` only when the ``neural`` method runs, so that the
rest of the comparison never imports torch. Two small scikit-learn estimators adapt the two data
layouts:

- :class:`NeuralWide`: ``y`` of shape (n_samples, n_tasks), an object array mixing class labels
  (``None`` missing) and numbers (NaN missing); one head per task, regression targets
  standardised inside ``fit`` so that no task's squared error dwarfs the others.
- :class:`NeuralLong`: the long layout, task labels in the last column of ``X``:
  ``MultiTaskEstimator(task_column=-1)``, which gathers each row's task head (a shared head plus
  per-task deviations tied by ``coupling``), so that an epoch costs about one single-head
  network.

Both train with one torch thread (restored afterwards): on a busy 2-core machine, two intra-op
threads made these small networks up to ~18x slower.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ..neural import MultiTaskEstimator


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run the block with ``n`` torch intra-op threads (None: leave as is)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _epochs(n_samples: int, batch_size: int, n_steps: int) -> int:
    """Epochs giving about ``n_steps`` gradient steps, between 5 and 60."""
    per_epoch = math.ceil(n_samples / batch_size)
    return int(np.clip(round(n_steps / per_epoch), 5, 60))


class _NeuralBase(BaseEstimator):
    """Shared training set-up; subclasses store the parameters (scikit-learn style)."""

    def _estimator(self, n_samples, **kwargs):
        batch = int(min(self.batch_size, max(32, n_samples // 4)))
        return MultiTaskEstimator(
            lr=self.lr,
            batch_size=batch,
            max_epochs=_epochs(n_samples, batch, self.n_steps),
            optimizer__weight_decay=self.weight_decay,
            random_state=self.random_state,
            scale_targets=True,  # regression targets standardised, predictions mapped back
            **kwargs,
        )


class NeuralWide(_NeuralBase):
    """MultiTaskEstimator on the wide layout: ``y`` (n_samples, n_tasks), mixed task types.

    Parameters
    ----------
    task_types : list of str
        ``"classification"`` or ``"regression"`` per column of ``y``.
    hidden_units, weight_decay, lr, n_steps, batch_size, random_state, threads
        The network's trunk, Adam's weight decay and learning rate, the number of gradient
        steps (epochs follow from the sample size), the batch size, the seed and torch threads.
    """

    def __init__(
        self,
        task_types=(),
        *,
        hidden_units=(32,),
        weight_decay=1e-2,
        lr=3e-3,
        n_steps=900,
        batch_size=256,
        random_state=None,
        threads=1,
    ):
        self.task_types = task_types
        self.hidden_units = hidden_units
        self.weight_decay = weight_decay
        self.lr = lr
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.random_state = random_state
        self.threads = threads

    def fit(self, X, y):
        y = np.asarray(y, dtype=object)
        X = np.asarray(X, dtype=np.float32)
        targets = {}
        for j, kind in enumerate(self.task_types):
            col = y[:, j]
            targets[f"t{j}"] = col.astype(float) if kind == "regression" else col
        types = {f"t{j}": kind for j, kind in enumerate(self.task_types)}
        with torch_threads(self.threads):
            self.model_ = self._estimator(
                len(X), hidden_units=tuple(self.hidden_units), task_types=types
            ).fit(X, targets)
        return self

    def predict(self, X):
        with torch_threads(self.threads):
            pred = self.model_.predict(np.asarray(X, dtype=np.float32))
        out = np.empty((len(X), len(self.task_types)), dtype=object)
        for j, kind in enumerate(self.task_types):
            col = pred[f"t{j}"]
            out[:, j] = np.asarray(col, dtype=float) if kind == "regression" else col
        return out


class NeuralLong(_NeuralBase):
    """MultiTaskEstimator in its long layout (``task_column=-1``: task labels last in ``X``).

    A thin adapter: :class:`~skmtl.neural.MultiTaskEstimator` itself gathers each row's task
    head (a head shared by all tasks plus per-task deviations, penalised by ``coupling``), so
    that an epoch costs about one single-head network whatever the number of tasks. What the
    adapter adds is the comparison's training budget (``n_steps`` gradient steps, the epochs
    following from the number of rows) and one torch thread, as :class:`NeuralWide`.

    Parameters
    ----------
    task_type : {"regression", "classification"}
        The type of the single target column.
    coupling : float, default=1.0
        The penalty on the per-task deviations from the shared head (``coupling`` of
        :class:`~skmtl.neural.MultiTaskEstimator`; searched by the comparison).
    unknown_task : {"error", "mean"}, default="error"
        A task label not seen in fit: raise, or predict with the shared head.
    hidden_units, weight_decay, lr, n_steps, batch_size, random_state, threads
        As :class:`NeuralWide`; Adam's weight decay applies to the trunk and the shared head
        (the deviations have ``coupling`` instead).

    Attributes
    ----------
    model_ : MultiTaskEstimator
        The fitted network; ``model_.tasks_`` are the task labels seen in fit (sorted).
    """

    def __init__(
        self,
        task_type="regression",
        *,
        coupling=1.0,
        unknown_task="error",
        hidden_units=(32,),
        weight_decay=1e-2,
        lr=3e-3,
        n_steps=900,
        batch_size=256,
        random_state=None,
        threads=1,
    ):
        self.task_type = task_type
        self.coupling = coupling
        self.unknown_task = unknown_task
        self.hidden_units = hidden_units
        self.weight_decay = weight_decay
        self.lr = lr
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.random_state = random_state
        self.threads = threads

    def fit(self, X, y):
        y = np.asarray(y)
        y = y.astype(float) if self.task_type == "regression" else y.astype(object)
        with torch_threads(self.threads):
            self.model_ = self._estimator(
                len(X),
                task_column=-1,
                coupling=self.coupling,
                unknown_task=self.unknown_task,
                hidden_units=tuple(self.hidden_units),
                task_types={0: self.task_type},
            ).fit(X, y)
        return self

    def predict(self, X):
        with torch_threads(self.threads):
            pred = np.asarray(self.model_.predict(X))
        return pred.astype(float) if self.task_type == "regression" else pred
