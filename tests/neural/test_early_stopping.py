"""Early stopping of MultiTaskEstimator: the split, the stopping rule, the restored epoch."""

import os

import numpy as np
import pytest
import torch
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from skmtl.neural import MultiTaskEstimator
from skmtl.neural._early_stopping import TaskValidSplit

torch.set_num_threads(1)


def noisy_data(seed=0, n=120):
    """Few rows and much noise: a wide network overfits, the validation loss turns up."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5))
    y = np.column_stack([X[:, 0] + rng.normal(size=n), X[:, 1] - X[:, 2] + rng.normal(size=n)])
    y[rng.rand(n) < 0.3, 1] = np.nan
    return X, y


def overfitting(**params):
    base = dict(hidden_units=(64, 64), lr=0.02, max_epochs=200, batch_size=32, random_state=0)
    return MultiTaskEstimator(early_stopping=True, **{**base, **params})


def valid_rows(est, y):
    """The validation rows, recomputed from the estimator's split (it is seeded)."""
    return est.net_.train_split.indices(np.asarray(y, dtype=np.float32))[1]


def test_stops_early_and_restores_the_best_epoch():
    X, y = noisy_data()
    est = overfitting(tol=0.0, n_iter_no_change=5).fit(X, y)
    losses = np.array(est.history_[:, "valid_loss"])
    assert est.n_iter_ == len(losses) < 200
    # tol=0: the best epoch is the first minimum, and n_iter_no_change epochs follow it
    assert est.best_epoch_ == int(np.argmin(losses)) + 1
    assert est.n_iter_ == est.best_epoch_ + 5
    # the network holds the best epoch's parameters: its validation loss (one batch of 12
    # rows, so the history's value is the plain per-task mean) is the best one
    rows = valid_rows(est, y)
    pred = est.predict(X[rows])
    ref = sum(np.nanmean((pred[:, t] - y[rows, t]) ** 2) for t in range(2))
    np.testing.assert_allclose(ref, losses[est.best_epoch_ - 1], rtol=1e-5)
    assert losses[est.best_epoch_ - 1] < losses[-1]


def test_tol_is_absolute():
    X, y = noisy_data()
    est = overfitting(tol=1e3, n_iter_no_change=3).fit(X, y)
    assert (est.best_epoch_, est.n_iter_) == (1, 4)  # no epoch improves by 1000


def test_the_validation_loss_uses_the_fixed_task_weights():
    X, y = noisy_data()
    est = overfitting(weighting="dwa", task_weights={0: 2.0}, max_epochs=6).fit(X, y)
    for row in est.history_:
        fixed = 2.0 * row["valid_loss_0"] + row["valid_loss_1"]
        np.testing.assert_allclose(row["valid_loss"], fixed, rtol=1e-5)
        assert {"valid_loss_0", "valid_loss_1"} <= set(row)


def test_no_checkpoint_file_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y = noisy_data()
    overfitting(n_iter_no_change=2, max_epochs=20).fit(X, y)
    assert os.listdir(tmp_path) == []


def test_wide_split_holds_every_task_in_both_parts():
    rng = np.random.RandomState(0)
    y = rng.normal(size=(50, 4))
    y[rng.rand(50, 4) < 0.85] = np.nan  # sparse labels: some tasks have 2-6 rows
    y[:, 3] = np.nan
    y[[3, 17], 3] = 1.0  # a task with exactly two labelled rows
    train, valid = TaskValidSplit(0.1, layout="wide", n_tasks=4, random_state=0).indices(y)
    assert sorted(np.concatenate([train, valid]).tolist()) == list(range(50))
    for t in range(4):
        assert (~np.isnan(y[valid, t])).any() and (~np.isnan(y[train, t])).any()


def test_long_split_is_stratified_by_task():
    codes = np.repeat(np.arange(7), [2, 3, 10, 40, 1, 5, 20])
    y = np.column_stack([np.zeros(len(codes)), codes])
    train, valid = TaskValidSplit(0.2, layout="long", n_tasks=7, random_state=0).indices(y)
    n_valid = np.bincount(codes[valid], minlength=7)
    np.testing.assert_array_equal(n_valid, [1, 1, 2, 8, 0, 1, 4])
    assert set(codes[train]) == set(range(7))


def test_long_layout_early_stopping():
    rng = np.random.RandomState(0)
    task = np.repeat(np.arange(20), 10)
    X = np.column_stack([task, rng.normal(size=(200, 3))])
    y = X[:, 1] + rng.normal(size=200)
    est = MultiTaskEstimator(
        task_column=0,
        early_stopping=True,
        n_iter_no_change=3,
        max_epochs=300,
        hidden_units=(32,),
        lr=0.03,
        coupling=0.0,
        random_state=0,
    ).fit(X, y)
    assert est.n_iter_ < 300
    valid = valid_rows(est, np.column_stack([y, task]))
    assert set(task[valid]) == set(range(20))
    assert f"valid_loss_{0.0}" in est.history_[-1]


def test_explicit_train_split_is_the_validation_part():
    X, y = noisy_data()
    est = overfitting(train_split=ValidSplit(4), max_epochs=3).fit(X, y)
    assert est.history_[-1, "valid_batch_count"] == 1
    assert isinstance(est.net_.train_split, ValidSplit)


def test_early_stopping_and_an_early_stopping_callback_refuse_to_combine():
    X, y = noisy_data()
    with pytest.raises(ValueError, match="EarlyStopping"):
        overfitting(callbacks=[EarlyStopping()]).fit(X, y)
    with pytest.raises(ValueError, match="EarlyStopping"):
        overfitting(callbacks=[("es", EarlyStopping())]).fit(X, y)


def test_own_callback_without_early_stopping_works_as_before():
    X, y = noisy_data()
    est = MultiTaskEstimator(
        hidden_units=(64, 64),
        lr=0.02,
        max_epochs=200,
        batch_size=32,
        random_state=0,
        train_split=0.2,
        callbacks=[EarlyStopping(patience=3, load_best=True, sink=lambda *a, **k: None)],
    ).fit(X, y)
    assert est.n_iter_ < 200
    assert est.best_epoch_ <= est.n_iter_ - 3


def test_validation_part_without_any_row_raises():
    # every task has a single labelled row: each stays in training, nothing is left to validate
    X = np.arange(6.0).reshape(3, 2)
    y = np.array([[1.0, np.nan], [np.nan, 2.0], [np.nan, np.nan]])
    with pytest.raises(ValueError, match="validation_fraction=0.1 leaves no validation"):
        overfitting().fit(X, y)


def test_small_fraction_still_holds_every_task():
    X, y = noisy_data(n=20)
    est = overfitting(validation_fraction=0.01, max_epochs=2).fit(X, y)
    rows = valid_rows(est, y)
    assert (~np.isnan(y[rows])).any(axis=0).all()
