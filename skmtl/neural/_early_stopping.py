"""Early stopping of MultiTaskEstimator: a validation split with every task, skorch's callback.

``early_stopping=True`` holds out ``validation_fraction`` of the rows with :class:`TaskValidSplit`
(a split of our own: skorch's ``ValidSplit`` stratifies on one target only) and adds skorch's
``EarlyStopping(monitor="valid_loss", patience=n_iter_no_change, threshold=tol,
threshold_mode="abs", load_best=True)``: training stops when the validation loss has not
improved by more than ``tol`` for ``n_iter_no_change`` epochs, and the network goes back to
the parameters of the best epoch, kept in memory (no checkpoint file is written). The
validation loss is :math:`\\sum_t w_t L_t` with the fixed ``task_weights``, whatever the
weighting strategy.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch.callbacks import EarlyStopping
from skorch.utils import noop
from torch.utils.data import Subset

__all__ = ["TaskValidSplit", "early_stopping_callback", "stopping_attributes"]


class TaskValidSplit:
    """skorch ``train_split``: a seeded random validation part that holds every task.

    In the wide layout every task with at least 2 labelled rows has at least one labelled row in
    the validation part and one in the training part; in the long layout each task with at least
    2 rows gives ``round(validation_fraction * n_t)`` of its rows (at least 1, at most
    ``n_t - 1``). Tasks with a single labelled row stay in training.

    Parameters
    ----------
    validation_fraction : float
        The fraction of the rows held out.
    layout : {"wide", "long"}
        How the task of a row is read from the encoded target tensor: the NaN pattern of its
        task columns (``n_tasks`` of them) or the task code in column 1.
    n_tasks : int
    random_state : int or None
    """

    def __init__(self, validation_fraction, *, layout, n_tasks, random_state=None):
        self.validation_fraction = validation_fraction
        self.layout = layout
        self.n_tasks = n_tasks
        self.random_state = random_state

    def indices(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(train, valid)`` row indices for the encoded target array ``y``."""
        rng = np.random.RandomState(self.random_state)
        n = len(y)
        if self.layout == "long":
            codes = y[:, 1].astype(np.int64)
            perm = rng.permutation(n)
            order = perm[np.argsort(codes[perm], kind="stable")]  # shuffled within each task
            sizes = np.bincount(codes, minlength=self.n_tasks)
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            n_valid = np.clip(np.round(self.validation_fraction * sizes), 1, sizes - 1)
            n_valid = np.where(sizes >= 2, n_valid, 0).astype(np.int64)
            rank = np.arange(n) - np.repeat(starts, sizes)
            valid_mask = np.zeros(n, dtype=bool)
            valid_mask[order] = rank < np.repeat(n_valid, sizes)
        else:
            labelled = ~np.isnan(y[:, : self.n_tasks])
            valid_mask = np.zeros(n, dtype=bool)
            valid_mask[rng.permutation(n)[: int(round(self.validation_fraction * n))]] = True
            for t in range(self.n_tasks):
                rows = np.flatnonzero(labelled[:, t])
                if len(rows) < 2:
                    valid_mask[rows] = False
                    continue
                if not valid_mask[rows].any():
                    valid_mask[rng.choice(rows)] = True
            for t in range(self.n_tasks):  # every task keeps a labelled training row
                rows = np.flatnonzero(labelled[:, t])
                if len(rows) and valid_mask[rows].all():
                    valid_mask[rng.choice(rows)] = False
        valid = np.flatnonzero(valid_mask)
        if len(valid) == 0:
            raise ValueError(
                f"early_stopping=True: validation_fraction={self.validation_fraction} leaves no "
                f"validation sample out of {n}; raise it or give more data."
            )
        return np.flatnonzero(~valid_mask), valid

    def __call__(self, dataset, y=None, groups=None):
        target = y if y is not None else dataset.y
        if isinstance(target, torch.Tensor):
            target = target.numpy()
        train, valid = self.indices(np.asarray(target))
        return Subset(dataset, train.tolist()), Subset(dataset, valid.tolist())


def _is_early_stopping(callback) -> bool:
    cb = callback[1] if isinstance(callback, tuple) else callback
    return isinstance(cb, EarlyStopping) or (isinstance(cb, type) and issubclass(cb, EarlyStopping))


def early_stopping_callback(params: dict) -> tuple[str, EarlyStopping] | None:
    """The callback for ``early_stopping=True`` (None otherwise); refuses a second one."""
    if not params["early_stopping"]:
        return None
    callbacks = params["callbacks"]
    if isinstance(callbacks, list) and any(_is_early_stopping(cb) for cb in callbacks):
        raise ValueError(
            "early_stopping=True adds its own skorch EarlyStopping; callbacks has one too. "
            "Use one of them: early_stopping=False keeps yours."
        )
    if callbacks == "disable":
        raise ValueError("early_stopping=True needs callbacks; callbacks='disable' removes them.")
    return (
        "early_stopping",
        EarlyStopping(
            monitor="valid_loss",
            patience=params["n_iter_no_change"],
            threshold=params["tol"],
            threshold_mode="abs",
            load_best=True,
            sink=print if params["verbose"] else noop,
        ),
    )


def stopping_attributes(net) -> tuple[int, int]:
    """``(n_iter_, best_epoch_)``: epochs in the history; the epoch whose parameters the network
    keeps (an EarlyStopping with ``load_best`` restored its best; otherwise the last)."""
    n_iter = len(net.history)
    for _, cb in getattr(net, "callbacks_", []):
        if isinstance(cb, EarlyStopping) and cb.load_best and getattr(cb, "best_epoch_", 0):
            return n_iter, int(cb.best_epoch_)
    return n_iter, n_iter
