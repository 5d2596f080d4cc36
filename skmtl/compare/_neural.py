"""The neural entry of ``skmtl compare``: :class:`~skmtl.MultiTaskEstimator` behind the harness.

Imported by :mod:`skmtl.compare._methods` only when the ``neural`` method runs, so that the
rest of the comparison never imports torch. Two small scikit-learn estimators adapt the two data
layouts:

- :class:`NeuralWide`: ``y`` of shape (n_samples, n_tasks), an object array mixing class labels
  (``None`` missing) and numbers (NaN missing); one head per task, regression targets
  standardised inside ``fit`` so that no task's squared error dwarfs the others.
- :class:`NeuralLong`: the long layout, task labels in the last column of ``X``. One head per task
  would cost one small layer call per task and batch (3.4 s per epoch for the 139 school tasks,
  against 0.09 s here); :class:`TaskHeadMLP` instead gathers each row's task weights, so an epoch
  costs about one single-head network.

Both train with one torch thread (restored afterwards): on a busy 2-core machine, two intra-op
threads made these small networks up to ~18x slower.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from ..linear._validation import encode_tasks
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


class TaskHeadMLP(nn.Module):
    r"""Shared MLP trunk with per-task linear heads, for the long layout (task id in the input).

    The last input column holds the task code :math:`t \in \{0, \dots, T-1\}` of the row; the
    other columns are features. The output is :math:`f(x) = v^\top h(x) + c + w_t^\top h(x) +
    b_t`: a head shared by all tasks plus a per-task deviation (one output per class for a
    classification target). Weight decay on :math:`w_t` pulls the tasks towards the shared head,
    the network analogue of mean-regularised multi-task learning.

    Parameters
    ----------
    n_features_in : int
        Number of input columns, the task column included.
    task_outputs : dict
        ``{name: n_outputs}`` with a single entry (the long layout has one target column).
    n_tasks : int
        Number of tasks :math:`T`.
    hidden_units : tuple of int, default=(32,)
        Widths of the trunk's hidden layers.
    """

    def __init__(self, n_features_in, task_outputs, n_tasks, hidden_units=(32,)):
        super().__init__()
        ((self.key, n_out),) = task_outputs.items()
        self.n_out = int(n_out)
        layers, width = [], n_features_in - 1
        for units in hidden_units:
            layers += [nn.Linear(width, units), nn.ReLU()]
            width = units
        self.trunk = nn.Sequential(*layers)
        self.shared = nn.Linear(width, self.n_out)
        self.task_weight = nn.Parameter(torch.zeros(n_tasks, width, self.n_out))
        self.task_bias = nn.Parameter(torch.zeros(n_tasks, self.n_out))

    def forward(self, X):
        task = X[:, -1].long()
        z = self.trunk(X[:, :-1])
        out = self.shared(z) + torch.einsum("bh,bhk->bk", z, self.task_weight[task])
        out = out + self.task_bias[task]
        return {self.key: out.squeeze(1) if self.n_out == 1 else out}


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
    """MultiTaskEstimator with :class:`TaskHeadMLP` on the long layout (task labels last in X).

    Parameters
    ----------
    task_type : {"regression", "classification"}
        The type of the single target column.
    hidden_units, weight_decay, lr, n_steps, batch_size, random_state, threads
        As :class:`NeuralWide`.

    Attributes
    ----------
    tasks_ : ndarray
        The task labels seen in fit (sorted); row ``i``'s head is that of its label's position.
    """

    def __init__(
        self,
        task_type="regression",
        *,
        hidden_units=(32,),
        weight_decay=1e-2,
        lr=3e-3,
        n_steps=900,
        batch_size=256,
        random_state=None,
        threads=1,
    ):
        self.task_type = task_type
        self.hidden_units = hidden_units
        self.weight_decay = weight_decay
        self.lr = lr
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.random_state = random_state
        self.threads = threads

    def _codes(self, X, *, fit):
        X = np.asarray(X)
        known = None if fit else np.asarray(self.tasks_)
        tasks, index = encode_tasks(X[:, -1], known=known, column=-1)
        if fit:
            self.tasks_ = tasks
        out = np.empty(X.shape, dtype=np.float32)
        out[:, :-1] = X[:, :-1].astype(np.float32)
        out[:, -1] = index
        return out

    def fit(self, X, y):
        X = self._codes(X, fit=True)
        y = np.asarray(y)
        y = y.astype(float) if self.task_type == "regression" else y.astype(object)
        with torch_threads(self.threads):
            self.model_ = self._estimator(
                len(X),
                module=TaskHeadMLP,
                module__n_tasks=len(self.tasks_),
                module__hidden_units=tuple(self.hidden_units),
                task_types={"y": self.task_type},
            ).fit(X, {"y": y})
        return self

    def predict(self, X):
        X = self._codes(X, fit=False)
        with torch_threads(self.threads):
            pred = np.asarray(self.model_.predict(X)["y"])
        return pred.astype(float) if self.task_type == "regression" else pred
