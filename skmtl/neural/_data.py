"""The batch-slicing data path for array data.

skorch's default path wraps the data in a :class:`torch.utils.data.DataLoader`, which indexes one
sample at a time and collates the samples into a batch. For tabular data held in memory that is
most of an epoch's time. Here the whole design matrix and target matrix are two tensors and a
batch is one slice (or one ``index_select`` of a shuffled permutation) of each.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import Dataset, Subset

__all__ = ["BatchSlicer", "TensorPairDataset", "as_tensor_pair"]


class TensorPairDataset(Dataset):
    """Features and (optionally) encoded targets held as two tensors.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
    y : Tensor of shape (n_samples, n_tasks) or None
        Encoded targets, NaN where a label is missing.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None) -> None:
        if y is not None and len(y) != len(X):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}.")
        self.X = X
        self.y = y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        # Used only by skorch's generic DataLoader path (the fast path slices the tensors).
        y = self.y[i] if self.y is not None else torch.zeros(0)
        return self.X[i], y


def as_tensor_pair(dataset) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """Return the (X, y) tensors of a TensorPairDataset or of a Subset of one, else None."""
    if isinstance(dataset, TensorPairDataset):
        return dataset.X, dataset.y
    if isinstance(dataset, Subset):
        inner = as_tensor_pair(dataset.dataset)
        if inner is None:
            return None
        X, y = inner
        idx = torch.as_tensor(dataset.indices, dtype=torch.long)
        # Out-of-core rows (skmtl.neural._out_of_core.LazyRows) stay lazy: nothing is read here.
        rows = X.subset(idx) if hasattr(X, "subset") else X[idx]
        return rows, (y[idx] if y is not None else None)
    return None


class BatchSlicer:
    """Iterate over mini-batches of tensors by slicing.

    Each iteration (epoch) draws a new permutation when ``shuffle`` is True. A trailing batch of
    a single sample is merged into the previous batch in training (batch norm cannot train on one
    sample, and a one-sample step is mostly noise).

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
    y : Tensor of shape (n_samples, n_tasks) or None
    batch_size : int
        Samples per batch; -1 or None for the whole data in one batch.
    shuffle : bool, default=False
    drop_last : bool, default=False
        Drop the last incomplete batch.
    merge_singleton : bool, default=False
        Merge a trailing batch of one sample into the previous one.

    Examples
    --------
    >>> X = torch.arange(10.0).reshape(5, 2)
    >>> [tuple(xb.shape) for xb, _ in BatchSlicer(X, None, batch_size=2)]
    [(2, 2), (2, 2), (1, 2)]
    >>> [tuple(xb.shape) for xb, _ in BatchSlicer(X, None, batch_size=2, merge_singleton=True)]
    [(2, 2), (3, 2)]
    """

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor | None,
        batch_size: int | None,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        merge_singleton: bool = False,
    ) -> None:
        self.X = X
        self.y = y
        n = len(X)
        self.batch_size = n if batch_size in (None, -1) else max(1, int(batch_size))
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.merge_singleton = merge_singleton

    def _bounds(self) -> list[tuple[int, int]]:
        n, bs = len(self.X), self.batch_size
        starts = list(range(0, n, bs))
        bounds = [(s, min(s + bs, n)) for s in starts]
        if self.drop_last and bounds and bounds[-1][1] - bounds[-1][0] < bs:
            bounds.pop()
        elif self.merge_singleton and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
            last = bounds.pop()
            bounds[-1] = (bounds[-1][0], last[1])
        return bounds

    def __len__(self) -> int:
        n, bs = len(self.X), self.batch_size
        if self.drop_last:
            return n // bs
        return len(self._bounds()) if self.merge_singleton else math.ceil(n / bs)

    def __iter__(self):
        X, y = self.X, self.y
        if self.shuffle:
            perm = torch.randperm(len(X))
            for start, stop in self._bounds():
                idx = perm[start:stop]
                yield X[idx], (y[idx] if y is not None else None)
        else:
            for start, stop in self._bounds():
                yield X[start:stop], (y[start:stop] if y is not None else None)
