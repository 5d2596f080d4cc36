"""Design operators: how the coefficient matrix meets the data, in the wide and the long layout.

A multi-task linear model has coefficients ``W`` of shape ``(n_features, n_outputs)``. A regression
task owns one output column; a classification task owns one column (binary, logistic) or one per
class (softmax). The design operator maps ``W`` to the model's outputs at the observed samples and
back (the adjoint), so that datafits never need to know the layout:

- :class:`WideDesign`: every task sees the same rows of ``X`` (``Y`` has shape
  ``(n_samples, n_tasks)``); outputs are ``X @ W`` of shape ``(n_samples, n_outputs)``, and a
  boolean mask says which entries carry a label.
- :class:`LongDesign`: every row belongs to one task (``task_index``); rows are sorted by task
  once, and outputs have shape ``(n_samples, max_outputs)``: row ``i`` of task ``t`` holds that
  task's ``k_t`` outputs in its first ``k_t`` columns (the rest are padding, masked out).

Both expose per-task blocks (``blocks``: rows, output columns) for the few places that loop.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _matmul(X, W):
    out = X @ W
    return np.asarray(out)


class WideDesign:
    """All tasks share the rows of ``X``; ``mask[i, m]`` says whether output ``m`` of sample ``i``
    is labelled.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    out_slices : list of slice
        Output columns owned by each task.
    task_mask : ndarray of bool of shape (n_samples, n_tasks)
        Which samples are labelled for which task.
    """

    layout = "wide"

    def __init__(self, X, out_slices, task_mask):
        self.X = X
        self.n_samples, self.n_features = X.shape
        self.out_slices = out_slices
        self.n_tasks = len(out_slices)
        self.n_outputs = out_slices[-1].stop
        self.output_task = np.concatenate(
            [np.full(s.stop - s.start, t) for t, s in enumerate(out_slices)]
        )
        self.task_mask = task_mask
        self.full = bool(task_mask.all())
        # mask per output column, shape (n_samples, n_outputs)
        self.mask = task_mask[:, self.output_task]
        self.task_counts = task_mask.sum(axis=0)
        self.output_shape = (self.n_samples, self.n_outputs)

    # -- per-task row blocks (rows: index array or slice, outputs: slice, width k_t) ----------
    def blocks(self):
        for t, cols in enumerate(self.out_slices):
            rows = slice(None) if self.full else np.flatnonzero(self.task_mask[:, t])
            yield t, rows, cols, cols

    def forward(self, W):
        """Outputs ``X @ W`` of shape (n_samples, n_outputs)."""
        return _matmul(self.X, W)

    def adjoint(self, G):
        """``X.T @ G`` for G of the output shape, zero at unlabelled entries."""
        return _matmul(self.X.T, G)

    def output_sums(self, G):
        """Sum of G over samples, per output column: shape (n_outputs,)."""
        return G.sum(axis=0)

    def broadcast(self, v):
        """A per-output vector laid out in the output shape (broadcastable)."""
        return v[None, :]

    def add_intercept(self, Z, b):
        return Z + b[None, :]

    def task_means(self):
        """Mean of X over each task's labelled rows, per output column: (n_outputs, n_features)."""
        if self.full:
            mean = np.asarray(self.X.mean(axis=0)).ravel()
            return np.tile(mean, (self.n_outputs, 1))
        counts = self.task_counts[self.output_task].astype(float)
        sums = _matmul(self.X.T, self.mask.astype(float)).T
        return sums / counts[:, None]

    def restrict(self, features):
        """The same design on a subset of the features (columns of X)."""
        X = self.X[:, features]
        new = WideDesign.__new__(WideDesign)
        new.__dict__.update(self.__dict__)
        new.X = X
        new.n_features = X.shape[1]
        return new


class LongDesign:
    """Each sample belongs to one task. Rows are reordered by task (``order``) once, at build time.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features), rows already sorted by task
    starts : ndarray of int of shape (n_tasks + 1,)
        Rows ``starts[t]:starts[t+1]`` belong to task ``t``.
    out_slices : list of slice
        Output columns (of W) owned by each task.
    """

    layout = "long"

    def __init__(self, X, starts, out_slices):
        self.X = sp.csr_matrix(X) if sp.issparse(X) else X
        self.n_samples, self.n_features = X.shape
        self.starts = starts
        self.out_slices = out_slices
        self.n_tasks = len(out_slices)
        self.n_outputs = out_slices[-1].stop
        self.output_task = np.concatenate(
            [np.full(s.stop - s.start, t) for t, s in enumerate(out_slices)]
        )
        self.widths = np.array([s.stop - s.start for s in out_slices])
        self.max_width = int(self.widths.max())
        self.row_task = np.repeat(np.arange(self.n_tasks), np.diff(starts))
        self.task_counts = np.diff(starts)
        self.mask = np.arange(self.max_width)[None, :] < self.widths[self.row_task][:, None]
        self.full = False
        self.output_shape = (self.n_samples, self.max_width)
        offsets = np.array([s.start for s in out_slices])
        self.out_index = np.minimum(
            offsets[self.row_task][:, None] + np.arange(self.max_width)[None, :], self.n_outputs - 1
        )
        self._row_blocks = [self.X[starts[t] : starts[t + 1]] for t in range(self.n_tasks)]
        # With one output per task and dense X, forward and adjoint vectorise over rows.
        self._scalar = self.max_width == 1 and not sp.issparse(X)

    def blocks(self):
        for t, cols in enumerate(self.out_slices):
            yield (
                t,
                slice(self.starts[t], self.starts[t + 1]),
                slice(0, cols.stop - cols.start),
                cols,
            )

    def forward(self, W):
        if self._scalar:
            return np.einsum("ij,ji->i", self.X, W[:, self.row_task])[:, None]
        Z = np.zeros(self.output_shape, dtype=W.dtype)
        for t, cols in enumerate(self.out_slices):
            s, e = self.starts[t], self.starts[t + 1]
            Z[s:e, : cols.stop - cols.start] = _matmul(self._row_blocks[t], W[:, cols])
        return Z

    def adjoint(self, G):
        if self._scalar:
            weighted = self.X * G[:, :1]
            out = np.add.reduceat(weighted, self.starts[:-1], axis=0).T
            # reduceat returns a row for an empty task too (it repeats the next row): zero it.
            out[:, self.task_counts == 0] = 0.0
            return out
        out = np.zeros((self.n_features, self.n_outputs), dtype=G.dtype)
        for t, cols in enumerate(self.out_slices):
            s, e = self.starts[t], self.starts[t + 1]
            out[:, cols] = _matmul(self._row_blocks[t].T, G[s:e, : cols.stop - cols.start])
        return out

    def output_sums(self, G):
        return np.bincount(
            self.out_index[self.mask], weights=G[self.mask], minlength=self.n_outputs
        ).astype(G.dtype, copy=False)

    def broadcast(self, v):
        """A per-output vector laid out in the output shape (padding entries are arbitrary)."""
        return v[self.out_index]

    def add_intercept(self, Z, b):
        return Z + b[self.out_index]

    def task_means(self):
        means = np.zeros((self.n_outputs, self.n_features))
        for t, cols in enumerate(self.out_slices):
            if self.task_counts[t]:
                means[cols] = np.asarray(self._row_blocks[t].mean(axis=0)).ravel()
        return means

    def restrict(self, features):
        return LongDesign(self.X[:, features], self.starts, self.out_slices)
