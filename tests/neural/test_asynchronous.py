"""fit_asynchronous (Hogwild): the fit it gives against a synchronous one, and what it keeps.

Every fit here spawns worker processes (each imports torch: seconds), so the fits are few and
each test checks several things of one fit.
"""

import pickle

import numpy as np
import pytest
import torch

from skmtl import io
from skmtl.neural import MultiTaskEstimator, TrainingDivergedError, fit_asynchronous

NOISE = 0.1


def _data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    Z = np.tanh(X @ rng.normal(size=(6, 2)) / np.sqrt(3))
    y = {"a": Z[:, 0] + NOISE * rng.normal(size=n), "b": Z[:, 1] + NOISE * rng.normal(size=n)}
    return X, y


SGD = dict(
    hidden_units=(16,),
    optimizer=torch.optim.SGD,
    optimizer__momentum=0.9,
    lr=0.01,
    batch_size=32,
    max_epochs=20,
    train_split=0.2,
    random_state=0,
)


@pytest.mark.slow
def test_final_validation_loss_is_within_15_percent_of_synchronous_training(tmp_path):
    X, y = _data()
    sync = MultiTaskEstimator(**SGD).fit(X, y)
    est = fit_asynchronous(MultiTaskEstimator(**SGD), X, y, n_workers=2)
    v_sync, v_async = sync.history_[-1, "valid_loss"], est.history_[-1, "valid_loss"]
    print(f"valid loss: synchronous {v_sync:.4f}, asynchronous {v_async:.4f}")
    # Tolerance: 15% of the synchronous validation loss (the sum of two tasks' MSE; measured
    # 2-3% apart at this smooth learning rate), both near the noise floor 2 * NOISE**2 that no
    # fit can beat.
    assert abs(v_async - v_sync) <= 0.15 * v_sync, (v_async, v_sync)
    assert v_async < 2.0 * (2 * NOISE**2)
    # the history has the rows of a plain fit, each epoch covering every training row once
    h = est.history_
    assert len(h) == SGD["max_epochs"]
    for key in ("train_loss", "valid_loss", "train_loss_a", "valid_loss_b", "weight_a", "dur"):
        assert all(np.isfinite(row[key]) for row in h), key
    n_train = int(0.8 * len(X))
    assert sum(b.get("train_batch_size", 0) for b in h[-1]["batches"]) == n_train
    assert h[-1, "train_batch_count"] == 2 * np.ceil(n_train / 2 / SGD["batch_size"])
    # the optimiser's state is the workers' shared momentum, kept as after a plain fit
    bufs = [s["momentum_buffer"] for s in est.net_.optimizer_.state.values()]
    assert len(bufs) == len(list(est.module_.parameters()))
    assert all(torch.isfinite(b).all() and b.abs().sum() > 0 for b in bufs)
    # predict, pickle, save and load as after a plain fit
    pred = est.predict(X)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(est)).predict(X)["a"], pred["a"])
    io.save(est, tmp_path / "hogwild.skops")
    loaded = io.load(tmp_path / "hogwild.skops")
    np.testing.assert_allclose(loaded.predict(X)["b"], pred["b"], rtol=1e-6)
    # a plain warm start continues the same network (no workers outside fit_asynchronous)
    est.set_params(warm_start=True, max_epochs=1).fit(X, y)
    assert len(est.history_) == SGD["max_epochs"] + 1


@pytest.mark.slow
def test_adam_state_and_strategy_buffers_are_shared():
    """Adam's moments and step count and FAMO's logits are one set for all workers."""
    X, y = _data(600)
    params = dict(hidden_units=(8,), batch_size=50, max_epochs=2, weighting="famo", random_state=0)
    est = fit_asynchronous(MultiTaskEstimator(**params), X, y, n_workers=2)
    n_steps = sum(row["train_batch_count"] for row in est.history_)
    steps = [float(s["step"]) for s in est.net_.optimizer_.state.values()]
    # Every worker's step incremented the same counters (an unlocked += may rarely lose one).
    assert all(0.9 * n_steps <= s <= n_steps for s in steps), (steps, n_steps)
    famo = est.net_.weighting_.strategy
    assert 0.9 * n_steps <= float(famo.n_updates) <= n_steps
    assert not torch.equal(famo.logits, torch.zeros(2))
    w = [est.history_[-1, f"weight_{t}"] for t in ("a", "b")]
    assert np.isclose(sum(w), 1.0)


def test_bad_arguments_are_refused_before_any_worker_starts():
    X, y = _data(100)
    est = MultiTaskEstimator(max_epochs=1)
    with pytest.raises(ValueError, match="n_workers must be an integer >= 1"):
        fit_asynchronous(est, X, y, n_workers=0)
    with pytest.raises(ValueError, match="start_method must be 'spawn' or 'forkserver'"):
        fit_asynchronous(est, X, y, start_method="fork")
    with pytest.raises(ValueError, match=r"supports the optimisers .*LBFGS"):
        fit_asynchronous(MultiTaskEstimator(optimizer=torch.optim.LBFGS), X, y)
    with pytest.raises(ValueError, match="trains on the CPU"):
        fit_asynchronous(MultiTaskEstimator(device="cuda"), X, y)
    with pytest.raises(ValueError, match="iterator parameters"):
        fit_asynchronous(MultiTaskEstimator(max_epochs=1, iterator_train__num_workers=2), X, y)
    assert not hasattr(est, "net_")  # refused before anything was fitted


def test_out_of_core_data_is_refused(tmp_path):
    X, y = _data(100)
    mm = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=X.shape)
    mm[:] = X
    mm.flush()
    with pytest.raises(ValueError, match="needs in-memory training data"):
        fit_asynchronous(
            MultiTaskEstimator(max_epochs=1), np.load(tmp_path / "X.npy", mmap_mode="r"), y
        )


@pytest.mark.slow
def test_a_gradient_level_strategy_trains_in_the_workers():
    """Each worker computes its own per-task gradients (here at the representation level)."""
    X, y = _data(600)
    params = dict(
        hidden_units=(8,),
        batch_size=50,
        max_epochs=3,
        weighting="upgrad",
        weighting__use_representation=True,
        lr=0.01,
        random_state=0,
    )
    est = fit_asynchronous(MultiTaskEstimator(**params), X, y, n_workers=2)
    h = est.history_
    assert h[-1, "train_loss"] < h[0, "train_loss"]
    assert all(np.isfinite(h[-1, f"weight_{t}"]) and h[-1, f"weight_{t}"] > 0 for t in "ab")
    assert est.net_.weighting_.step == sum(row["train_batch_count"] for row in h)


def test_divergence_raises_naming_the_task_and_lr():
    X, y = _data(n=400)
    y = {**y, "b": 1e20 * y["b"]}  # squared errors overflow float32 in the first batches
    params = {**SGD, "lr": 10.0, "max_epochs": 3, "train_split": None}
    with pytest.raises(TrainingDivergedError, match=r"epoch 1.*task 'b'.*lr=10\.0"):
        fit_asynchronous(MultiTaskEstimator(**params), X, y, n_workers=2)
