"""Cross-validation splitters for the long layout (each task its own samples)."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.model_selection._split import _BaseKFold
from sklearn.utils import check_random_state

__all__ = ["TaskStratifiedKFold"]


class TaskStratifiedKFold(_BaseKFold):
    """K-fold split that keeps every task in every fold (stratified on the task column).

    In the long layout a model can only predict tasks it saw in fit, and data are often sorted
    by task, so a plain :class:`~sklearn.model_selection.KFold` would hold whole tasks out. This
    splitter reads the task label of each row from ``task_column`` of ``X`` (a column name of a
    DataFrame or an integer position) and splits each task's rows into ``n_splits`` parts, like
    :class:`~sklearn.model_selection.StratifiedKFold` with the task as the class. Use it as
    ``cv=`` of ``GridSearchCV``, ``cross_val_score`` or the CV estimators.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds; every task needs at least ``n_splits`` rows.
    task_column : int or str
        The column of ``X`` that holds the task label.
    shuffle : bool, default=False
        Shuffle each task's rows before splitting.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.model_selection import TaskStratifiedKFold
    >>> X = np.column_stack([np.repeat([0, 1], 6), np.arange(12)])
    >>> for train, test in TaskStratifiedKFold(3, task_column=0).split(X):
    ...     print(sorted(set(X[test, 0].tolist())))
    [0, 1]
    [0, 1]
    [0, 1]
    """

    def __init__(self, n_splits=5, *, task_column, shuffle=False, random_state=None):
        super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)
        self.task_column = task_column

    def _task_labels(self, X):
        if hasattr(X, "columns"):
            if self.task_column in list(X.columns):
                return np.asarray(X[self.task_column])
            if isinstance(self.task_column, numbers.Integral):
                return np.asarray(X.iloc[:, self.task_column])
            raise ValueError(f"task_column={self.task_column!r} is not a column of X.")
        if not isinstance(self.task_column, numbers.Integral):
            raise TypeError("task_column names a column, but X is not a DataFrame.")
        col = X[:, [self.task_column]]
        return np.asarray(col.toarray() if hasattr(col, "toarray") else col).ravel()

    def _iter_test_indices(self, X=None, y=None, groups=None):
        labels = self._task_labels(X)
        _, index = np.unique(labels.astype(str), return_inverse=True)
        index = index.ravel()
        rng = check_random_state(self.random_state)
        fold_of = np.empty(len(index), dtype=np.intp)
        start = 0
        single = []
        for t in range(index.max() + 1 if index.size else 0):
            rows = np.flatnonzero(index == t)
            if self.shuffle:
                rows = rows[rng.permutation(len(rows))]
            if len(rows) == 1:
                single.append(labels[rows[0]])
            fold_of[rows] = (start + np.arange(len(rows))) % self.n_splits
            start = (start + len(rows)) % self.n_splits
        if single:
            warnings.warn(
                f"Task(s) {[_plain(v) for v in single[:10]]} have a single row: the fold that "
                "tests it has no training row of that task (its prediction needs "
                "unknown_task='mean').",
                UserWarning,
                stacklevel=3,
            )
        for k in range(self.n_splits):
            yield np.flatnonzero(fold_of == k)

    def split(self, X, y=None, groups=None):
        """Generate (train, test) index arrays; ``y`` and ``groups`` are ignored."""
        n = X.shape[0]
        if self.n_splits > n:
            raise ValueError(
                f"Cannot have number of splits n_splits={self.n_splits} greater than the number "
                f"of samples: n_samples={n}."
            )
        yield from super().split(X, y, groups)


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
