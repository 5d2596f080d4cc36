"""Out-of-core features: a ``numpy.memmap`` or a ``torch.utils.data.Dataset`` read batch by batch.

:class:`LazyRows` stands where the batch-slicing path (:class:`~skmtl.neural._data.BatchSlicer`)
expects the feature tensor: it has a length and a shape, and indexing it with a slice or a tensor
of row numbers reads those rows only and returns them as a float32 tensor. The whole ``X`` is
never converted, copied or checked at once: each batch is checked for NaN and infinity when it is
read.

A memmap's rows are read from its file with ``os.pread`` (sorted by position), not through the
mapping. Reading through the mapping would leave the pages mapped into the process, and
file-backed mapped pages count towards its resident set: an epoch that visits every row would end
with the whole file resident. Worse, a kernel that caches files in large folios maps a whole
folio at each page fault (2 MiB per randomly read row was measured on Linux 6.18), so a single
shuffled batch of 1024 rows could map gigabytes. ``pread`` copies the rows out of the page cache
instead; nothing stays mapped. The data stay in the page cache, so a second epoch reads memory,
not the disk.

Where that is not possible (a copy-on-write ``mode="c"`` memmap, whose private changes exist only
in the mapping; rows that are not contiguous, as in ``order="F"``; a memmap without a file name;
no ``os.pread``), the rows are gathered through the mapping in chunks, and for a shared mapping
its pages are dropped from the process with ``madvise(MADV_DONTNEED)`` after each chunk of at
most ``release_bytes`` bytes mapped (counting :data:`MAPPED_PER_ROW` per row read). A ``mode="c"``
mapping is never released (that would discard its changes) and may become resident.
"""

from __future__ import annotations

import mmap
import os
from numbers import Integral

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["LazyRows", "as_features", "check_out_of_core", "is_out_of_core"]

#: Bytes mapped from a memmap between two releases of its pages (the fallback path).
RELEASE_BYTES = 64 * 2**20
#: Bytes that reading one row through a mapping may map (a PMD-sized folio: 2 MiB).
MAPPED_PER_ROW = 2 * 2**20


def _file_layout(data: np.memmap) -> tuple[str, int, int] | None:
    """(file name, file position of row 0, row stride in bytes) of a memmap whose rows can be
    read from its file, or None (see the module docstring)."""
    mm = _backing_mmap(data)
    filename = getattr(data, "filename", None)
    if (
        mm is None
        or not filename
        or getattr(data, "mode", "c") not in ("r", "r+", "w+")
        or not hasattr(os, "pread")
        or data.strides[1] != data.itemsize
        or data.strides[0] < data.shape[1] * data.itemsize
        or not data.dtype.isnative
    ):
        return None
    # numpy maps the file from the allocation-granularity boundary below the memmap's offset;
    # a view keeps its parent's offset and filename, and its own data pointer.
    mm_start = data.offset - data.offset % mmap.ALLOCATIONGRANULARITY
    mm_address = np.frombuffer(mm, dtype=np.uint8, count=1).ctypes.data
    return filename, mm_start + data.ctypes.data - mm_address, data.strides[0]


def _pread_into(fd: int, buffer: memoryview, position: int) -> None:
    """Fill ``buffer`` from the file at ``position`` (pread may return fewer bytes)."""
    done = 0
    while done < len(buffer):
        chunk = os.pread(fd, len(buffer) - done, position + done)
        if not chunk:
            raise OSError(f"unexpected end of file at byte {position + done}")
        buffer[done : done + len(chunk)] = chunk
        done += len(chunk)


def is_out_of_core(X) -> bool:
    """Whether ``X`` is read batch by batch: a ``numpy.memmap`` or a torch ``Dataset``."""
    return isinstance(X, np.memmap | Dataset | LazyRows)


def _backing_mmap(array: np.ndarray) -> mmap.mmap | None:
    """The ``mmap.mmap`` object under a memmap (or a view of one), found through ``.base``."""
    base = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    return base


class LazyRows:
    """Rows of a 2-D memmap or of a Dataset of feature rows, read on demand as float32 tensors.

    Parameters
    ----------
    data : numpy.memmap of shape (n_samples, n_features) or torch Dataset
        A Dataset's item ``i`` is the feature row of sample ``i`` (array-like of shape
        (n_features,)); a ``__getitems__`` method, if present, reads a list of rows at once.
    indices : array-like of int, default=None
        The rows of ``data`` that this object exposes, in order (a lazy subset); None for all.
    release_bytes : int, default=None
        Where a memmap is read through its mapping (see the module docstring): bytes mapped
        between two ``madvise(MADV_DONTNEED)`` calls (None: :data:`RELEASE_BYTES`, 64 MiB).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "X.dat")
    >>> X = np.memmap(path, dtype=np.float32, mode="w+", shape=(6, 2))
    >>> X[:] = np.arange(12).reshape(6, 2)
    >>> rows = LazyRows(np.memmap(path, dtype=np.float32, mode="r", shape=(6, 2)))
    >>> rows.shape, rows[torch.tensor([4, 1])].tolist()
    ((6, 2), [[8.0, 9.0], [2.0, 3.0]])
    >>> rows.subset([5, 0])[0:1].tolist()
    [[10.0, 11.0]]
    >>> del X, rows; tmp.cleanup()
    """

    def __init__(self, data, indices=None, *, release_bytes: int | None = None) -> None:
        self.data = data
        self.indices = None if indices is None else np.asarray(indices, dtype=np.int64)
        self.release_bytes = int(RELEASE_BYTES if release_bytes is None else release_bytes)
        self._mmap = None
        self._layout = None
        if isinstance(data, np.memmap):
            if data.ndim != 2:
                raise ValueError(
                    f"A memmap X must be 2-D (n_samples, n_features), got shape {data.shape}."
                )
            if data.dtype.kind not in "fiub":
                raise ValueError(f"A memmap X must be numeric, got dtype {data.dtype}.")
            if getattr(data, "mode", "c") in ("r", "r+", "w+"):
                self._mmap = _backing_mmap(data)
            self._layout = _file_layout(data)
            self.n_features = int(data.shape[1])
        elif isinstance(data, Dataset):
            if len(data) == 0:
                raise ValueError("X is an empty Dataset: 0 samples.")
            row = self._as_rows([data[0]])
            self.n_features = int(row.shape[1])
        else:
            raise TypeError(f"LazyRows reads a numpy.memmap or a torch Dataset, got {type(data)}.")

    # -- array-like surface -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.data) if self.indices is None else len(self.indices)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self), self.n_features)

    @property
    def ndim(self) -> int:
        return 2

    def subset(self, indices) -> LazyRows:
        """The rows ``indices`` (of this object) as a new lazy object; nothing is read."""
        indices = np.asarray(indices, dtype=np.int64)
        if self.indices is not None:
            indices = self.indices[indices]
        return LazyRows(self.data, indices, release_bytes=self.release_bytes)

    def __getitem__(self, key) -> torch.Tensor:
        if isinstance(key, Integral):
            return self[torch.tensor([int(key)])][0]
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if self.indices is None and step == 1:
                return self._read_rows(slice(start, stop))
            rows = np.arange(start, stop, step)
        else:
            rows = key.numpy() if isinstance(key, torch.Tensor) else np.asarray(key)
            rows = rows.astype(np.int64, copy=False).reshape(-1)
            n = len(self)
            if rows.size and (rows.min() < -n or rows.max() >= n):
                raise IndexError(f"row index out of range for {n} rows")
            rows = np.where(rows < 0, rows + n, rows)
        if self.indices is not None:
            rows = self.indices[rows]
        return self._read_rows(rows)

    # -- reading ------------------------------------------------------------------------------
    def _read_rows(self, rows) -> torch.Tensor:
        if isinstance(self.data, np.memmap):
            if self._layout is not None:
                block = self._pread_rows(rows)
            else:
                block = self._mapped_rows(rows)
            block = block.astype(np.float32, copy=False)
        else:
            if isinstance(rows, slice):
                rows = np.arange(rows.start, rows.stop)
            rows = rows.tolist()
            getitems = getattr(self.data, "__getitems__", None)
            items = getitems(rows) if getitems is not None else [self.data[i] for i in rows]
            block = self._as_rows(items)
        if not np.isfinite(block).all():
            raise ValueError(
                "Input X contains NaN or infinity (found in a batch read from the "
                f"{type(self.data).__name__})."
            )
        return torch.from_numpy(block)

    @staticmethod
    def _as_rows(items) -> np.ndarray:
        rows = []
        for item in items:
            if isinstance(item, tuple | list) and item and not np.isscalar(item[0]):
                raise TypeError(
                    "The items of a Dataset X must be feature rows (array-like of shape "
                    "(n_features,)); pass the targets as y, not inside the Dataset."
                )
            if isinstance(item, torch.Tensor):
                item = item.detach().cpu().numpy()
            rows.append(np.asarray(item, dtype=np.float32).reshape(-1))
        return np.stack(rows)

    def _pread_rows(self, rows) -> np.ndarray:
        """The rows read from the memmap's file (nothing mapped)."""
        filename, row0, stride = self._layout
        row_bytes = self.n_features * self.data.itemsize
        if isinstance(rows, slice):
            start, stop = rows.start, rows.stop
            rows = np.arange(start, stop)
        else:
            start = None
        out = np.empty((len(rows), self.n_features), dtype=self.data.dtype)
        buffer = memoryview(out).cast("B")
        fd = os.open(filename, os.O_RDONLY)
        try:
            if start is not None and stride == row_bytes:  # one read for a contiguous block
                _pread_into(fd, buffer, row0 + start * stride)
            else:
                for j in np.argsort(rows, kind="stable").tolist():  # in file order
                    pos = row0 + int(rows[j]) * stride
                    _pread_into(fd, buffer[j * row_bytes : (j + 1) * row_bytes], pos)
        finally:
            os.close(fd)
        return out

    def _mapped_rows(self, rows) -> np.ndarray:
        """The rows gathered through the mapping, released chunk by chunk when shared."""
        if self._mmap is None or not hasattr(self._mmap, "madvise"):
            return np.array(self.data[rows], order="C")
        if isinstance(rows, slice):
            rows = np.arange(rows.start, rows.stop)
        step = max(1, self.release_bytes // MAPPED_PER_ROW)
        out = np.empty((len(rows), self.n_features), dtype=self.data.dtype)
        for s in range(0, len(rows), step):
            out[s : s + step] = self.data[rows[s : s + step]]
            self.release()
        return out

    def release(self) -> None:
        """Drop the memmap's pages from this process's resident set (they stay cached)."""
        if self._mmap is not None and hasattr(self._mmap, "madvise"):
            self._mmap.madvise(mmap.MADV_DONTNEED)


def check_out_of_core(estimator, X, *, reset: bool) -> LazyRows:
    """Validate an out-of-core ``X`` as ``validate_data`` would, without reading it whole.

    Sets (``reset``) or checks ``n_features_in_``; the values are checked batch by batch later.
    """
    rows = X if isinstance(X, LazyRows) else LazyRows(X)
    n_samples, n_features = rows.shape
    if n_samples == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={rows.shape}) while a minimum of 1 is required."
        )
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return rows


def as_features(X) -> torch.Tensor | LazyRows:
    """The net's input: a tensor view of an in-memory array, or the LazyRows as they are."""
    return X if isinstance(X, LazyRows) else torch.from_numpy(X)
