"""Out-of-core X (skmtl.neural._out_of_core): a numpy.memmap or a torch Dataset, read by batch."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

import skmtl.neural._inputs as estimator_module  # where MultiTaskEstimator validates X
from skmtl.neural import MultiTaskEstimator
from skmtl.neural._out_of_core import LazyRows

N, P, BATCH = 120, 5, 16


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N, P)).astype(np.float32)
    y = np.c_[X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=N), (X[:, 2] > 0).astype(float)]
    return X, y


@pytest.fixture
def memmap_path(tmp_path, data):
    path = tmp_path / "X.f32"
    out = np.memmap(path, dtype=np.float32, mode="w+", shape=(N, P))
    out[:] = data[0]
    out.flush()
    del out
    return path


def _open(path, mode="r"):
    return np.memmap(path, dtype=np.float32, mode=mode, shape=(N, P))


def _estimator(**params):
    params = {"max_epochs": 3, **params}
    return MultiTaskEstimator(
        hidden_units=(8,),
        task_types={0: "regression", 1: "classification"},
        batch_size=BATCH,
        random_state=0,
        **params,
    )


class CountingDataset(Dataset):
    """Feature rows of an array, counting every row read and the size of every read."""

    def __init__(self, X):
        self.X = X
        self.rows_read = 0
        self.reads = []

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        self.rows_read += 1
        self.reads.append(1)
        return torch.from_numpy(self.X[i])

    def __getitems__(self, indices):
        self.rows_read += len(indices)
        self.reads.append(len(indices))
        return [torch.from_numpy(self.X[i]) for i in indices]


@pytest.fixture
def no_whole_conversion(monkeypatch):
    """Fail if the estimator hands a memmap or Dataset to validate_data (which converts it
    whole), and record the number of rows of every read of LazyRows."""
    original = estimator_module.validate_data

    def guarded(est, X, *args, **kwargs):
        assert not isinstance(X, np.memmap | Dataset), "X was converted whole"
        return original(est, X, *args, **kwargs)

    monkeypatch.setattr(estimator_module, "validate_data", guarded)
    sizes = []
    read = LazyRows._read_rows

    def spy(self, rows):
        out = read(self, rows)
        sizes.append(len(out))
        return out

    monkeypatch.setattr(LazyRows, "_read_rows", spy)
    return sizes


@pytest.mark.parametrize("train_split", [None, 0.25])
def test_memmap_fit_equals_in_memory_and_reads_batches_only(
    data, memmap_path, no_whole_conversion, train_split
):
    X, y = data
    ref = _estimator(train_split=train_split).fit(X, y)
    est = _estimator(train_split=train_split).fit(_open(memmap_path), y)
    assert no_whole_conversion and max(no_whole_conversion) <= BATCH + 1  # +1: merged singleton
    # Each epoch reads every training row once (plus the validation rows).
    assert sum(no_whole_conversion) == 3 * N
    assert est.n_features_in_ == P
    np.testing.assert_allclose(est.predict(_open(memmap_path)), ref.predict(X), rtol=1e-6)
    np.testing.assert_allclose(est.history_[:, "train_loss"], ref.history_[:, "train_loss"])
    assert max(no_whole_conversion) <= BATCH + 1  # prediction reads batches too


def test_dataset_fit_reads_each_row_once_per_epoch(data, no_whole_conversion):
    X, y = data
    ds = CountingDataset(X)
    est = _estimator().fit(ds, y)
    first_read = 1  # one row is read to learn the number of features
    assert ds.rows_read == 3 * N + first_read
    assert max(ds.reads) <= BATCH + 1
    ref = _estimator().fit(X, y)
    np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-6)


def _rss_file_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssFile:"):
                return int(line.split()[1])
    pytest.skip("no RssFile in /proc/self/status")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux /proc only")
def test_an_epoch_of_reads_leaves_nothing_mapped(tmp_path):
    # 32 MiB: reading every row through the mapping makes all of it resident.
    n, p = 8192, 1024
    path = tmp_path / "big.f32"
    out = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, p))
    out[:] = 1.0
    out.flush()
    del out
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n, p))
    rows = LazyRows(X)
    assert rows._layout is not None  # read with pread
    rows[torch.arange(4)]  # warm-up: whatever the first read loads lazily is not counted
    # control first: reading through the mapping makes the file resident in this process (if the
    # kernel does not show that here, the measurement cannot tell the two paths apart)
    before = _rss_file_kib()
    for idx in torch.randperm(n).split(512):
        np.array(X[idx.numpy()])
    if _rss_file_kib() - before < 16 * 1024:
        pytest.skip("mapped pages are not counted as resident here; nothing to compare with")
    del X
    before = _rss_file_kib()
    for idx in torch.randperm(n).split(512):
        assert rows[idx].shape == (len(idx), p)
    assert _rss_file_kib() - before < 8 * 1024  # KiB


def test_memmap_views_and_layouts_read_the_same_rows(data, memmap_path, tmp_path, monkeypatch):
    X = data[0]
    idx = torch.tensor([7, 3, 3, 0, 89])
    view = _open(memmap_path)[10:100]
    assert LazyRows(view)._layout is not None
    np.testing.assert_array_equal(LazyRows(view)[idx].numpy(), X[10:100][idx.numpy()])
    np.testing.assert_array_equal(LazyRows(view)[5:9].numpy(), X[15:19])
    with pytest.raises(IndexError):
        LazyRows(view)[torch.tensor([90])]
    # Non-contiguous rows (order="F") and private changes (mode="c"): through the mapping.
    fortran = np.memmap(tmp_path / "f.f32", dtype=np.float64, mode="w+", shape=(N, P), order="F")
    fortran[:] = X
    calls = []
    release = LazyRows.release
    monkeypatch.setattr(LazyRows, "release", lambda self: calls.append(1) or release(self))
    rows = LazyRows(fortran, release_bytes=1)
    assert rows._layout is None
    np.testing.assert_array_equal(rows[idx].numpy(), X[idx.numpy()])
    assert len(calls) == len(idx)  # one row per chunk with a budget of 1 byte
    private = _open(memmap_path, mode="c")
    private[3] = 42.0
    rows = LazyRows(private)
    assert rows._layout is None and rows._mmap is None  # never released: changes kept
    np.testing.assert_array_equal(rows[torch.tensor([3])].numpy(), np.full((1, P), 42.0))
    np.testing.assert_array_equal(rows.subset([7, 9])[1].numpy(), X[9])


def test_out_of_core_errors(data, memmap_path, tmp_path):
    X, y = data
    bad = np.memmap(tmp_path / "bad.f32", dtype=np.float32, mode="w+", shape=(N, P))
    bad[:] = X
    bad[50, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN or infinity"):
        _estimator().fit(bad, y)
    est = _estimator(max_epochs=1).fit(_open(memmap_path), y)
    wide = np.memmap(tmp_path / "wide.f32", dtype=np.float32, mode="w+", shape=(N, P + 1))
    with pytest.raises(ValueError, match=f"X has {P + 1} features, but MultiTaskEstimator"):
        est.predict(wide)
    with pytest.raises(ValueError, match="2-D"):
        _estimator().fit(np.memmap(tmp_path / "flat.f32", dtype=np.float32, mode="w+", shape=N), y)
    with pytest.raises(TypeError, match="pass the targets as y"):
        pairs = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
        _estimator().fit(pairs, y)
