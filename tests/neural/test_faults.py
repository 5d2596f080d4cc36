"""Training faults: KeyboardInterrupt, divergence, checkpoint and resume in a new process."""

import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from skorch.callbacks import Callback

from skmtl.neural import (
    MultiTaskEstimator,
    TrainingDivergedError,
    TrainingDivergedWarning,
    TrainingInterruptedWarning,
)

pytest.importorskip("skops")

from skmtl.io import load, save  # noqa: E402


def make_data(n=40):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = {"c": np.where(X[:, 0] > 0, "p", "n"), "r": X[:, 1] - X[:, 2] + 0.1 * rng.normal(size=n)}
    return X, y


def est(**kwargs):
    params = dict(hidden_units=(8,), dropout=0.2, batch_size=8, max_epochs=6, random_state=0)
    return MultiTaskEstimator(**{**params, **kwargs})


def state(model):
    return {k: v.detach().clone() for k, v in model.module_.state_dict().items()}


def assert_same_state(a, b):
    sa, sb = state(a), state(b)
    assert sa.keys() == sb.keys()
    for key in sa:
        assert_allclose(sa[key].numpy(), sb[key].numpy(), rtol=1e-6, atol=1e-7, err_msg=key)


class Interrupt(Callback):
    """Raise KeyboardInterrupt (as Ctrl-C does) at a given epoch, at its start or mid-way."""

    def __init__(self, epoch=3, where="epoch_begin"):
        self.epoch = epoch
        self.where = where

    def on_epoch_begin(self, net, **kwargs):
        if self.where == "epoch_begin" and len(net.history) == self.epoch:
            raise KeyboardInterrupt

    def on_batch_end(self, net, training=False, **kwargs):
        if self.where == "batch" and training and len(net.history) == self.epoch:
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        if self.where == "epoch_end" and len(net.history) == self.epoch:
            raise KeyboardInterrupt


# -- KeyboardInterrupt -----------------------------------------------------------------------
@pytest.mark.parametrize("where", ["epoch_begin", "batch"])
def test_keyboard_interrupt_keeps_last_completed_epoch(where):
    X, y = make_data()
    model = est(callbacks=[Interrupt(3, where)])
    with pytest.warns(TrainingInterruptedWarning, match=r"in epoch 3.*of epoch 2"):
        model.fit(X, y)
    assert len(model.history_) == 2
    assert all("train_loss" in row for row in model.history_)
    pred = model.predict(X)
    assert np.isfinite(pred["r"]).all() and set(pred["c"]) <= {"p", "n"}
    # the parameters are those of the end of epoch 2: a 2-epoch fit with the same seed
    assert_same_state(model, est(max_epochs=2).fit(X, y))


def test_interrupt_at_epoch_end_keeps_that_epoch_without_warning():
    # skorch's EarlyStopping stops this way: the epoch is complete, nothing to restore.
    X, y = make_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingInterruptedWarning)
        model = est(callbacks=[Interrupt(3, "epoch_end")]).fit(X, y)
    assert len(model.history_) == 3
    assert_same_state(model, est(max_epochs=3).fit(X, y))


def test_interrupt_in_first_epoch_warns_and_leaves_finite_model():
    X, y = make_data()
    with pytest.warns(TrainingInterruptedWarning, match="before any epoch completed"):
        model = est(callbacks=[Interrupt(1, "batch")]).fit(X, y)
    assert np.isfinite(model.predict(X)["r"]).all()


# -- divergence ----------------------------------------------------------------------------------
def diverging(**kwargs):
    params = dict(dropout=0.0, batch_size=-1, optimizer=torch.optim.SGD, lr=10.0, max_epochs=20)
    return est(**{**params, **kwargs})


def test_divergence_restores_last_finite_epoch():
    X, y = make_data()
    y_big = {**y, "r": 1e4 * y["r"]}
    with pytest.warns(TrainingDivergedWarning, match=r"epoch (\d+).*task 'r'.*lr=10\.0") as rec:
        model = diverging().fit(X, y_big)
    kept = len(model.history_)
    assert 1 <= kept < 20
    assert f"parameters of epoch {kept}," in str(rec[0].message)
    assert all(np.isfinite(row["train_loss"]) for row in model.history_)
    pred = model.predict(X)
    assert np.isfinite(pred["r"]).all()
    assert np.isfinite(model.predict_proba(X)["c"]).all()
    # the kept parameters are exactly those of a fit stopped at that epoch
    assert_same_state(model, diverging(max_epochs=kept).fit(X, y_big))
    # training can continue from there (diverging again restores the same epoch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingDivergedWarning)
        model.set_params(max_epochs=2).partial_fit(X, y_big)
    assert kept <= len(model.history_) <= kept + 2
    assert np.isfinite(model.predict(X)["r"]).all()


def test_divergence_without_finite_epoch_raises():
    X, y = make_data()
    y = {**y, "r": 1e20 * y["r"]}
    with pytest.raises(TrainingDivergedError, match=r"epoch 1.*task 'r'"):
        diverging().fit(X, y)


def test_divergence_after_loading_falls_back_to_the_loaded_model():
    X, y = make_data()
    model = pickle.loads(pickle.dumps(est(dropout=0.0).fit(X, y)))
    before = model.predict(X)["r"]
    y_bad = {**y, "r": 1e20 * y["r"]}
    with pytest.warns(TrainingDivergedWarning):
        model.set_params(lr=10.0, max_epochs=3).partial_fit(X, y_bad)
    assert_array_equal(model.predict(X)["r"], before)
    assert len(model.history_) == 6


# -- checkpoint and resume -------------------------------------------------------------------
@pytest.mark.parametrize("weighting", ["fixed", "uncertainty"])
def test_five_plus_five_epochs_equal_ten_in_process(weighting):
    X, y = make_data()
    ten = est(max_epochs=10, weighting=weighting).fit(X, y)
    half = est(max_epochs=5, weighting=weighting).fit(X, y)
    half = pickle.loads(pickle.dumps(half))  # optimiser and RNG state travel with it
    half.partial_fit(X, y)
    assert len(half.history_) == 10
    assert_same_state(half, ten)
    assert_allclose(half.predict(X)["r"], ten.predict(X)["r"], rtol=1e-6, atol=1e-7)
    warm = est(max_epochs=5, weighting=weighting, warm_start=True).fit(X, y).fit(X, y)
    assert_same_state(warm, ten)


RESUME = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    torch.set_num_threads(1)
    from skmtl.io import load, save
    path = sys argv
    data = np.load(path + ".npz", allow_pickle=False)
    X, y = data["X"], {"c": data["c"], "r": data["r"]}
    model = load(path)
    model.partial_fit(X, y)  # 5 more epochs
    np.save(path + ".pred.npy", model.predict(X)["r"])
    save(model, path + ".resumed")
    """
).replace("sys argv", "sys.argv[1]")


@pytest.mark.slow
def test_checkpoint_resume_in_new_process_equals_one_run(tmp_path):
    X, y = make_data()
    ten = est(max_epochs=10).fit(X, y)
    path = str(tmp_path / "half.skops")
    save(est(max_epochs=5).fit(X, y), path)
    np.savez(path + ".npz", X=X, c=y["c"], r=y["r"])
    proc = subprocess.run(
        [sys.executable, "-c", RESUME, path], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert_allclose(np.load(path + ".pred.npy"), ten.predict(X)["r"], rtol=1e-6, atol=1e-7)
    resumed = load(path + ".resumed")
    assert len(resumed.history_) == 10
    assert_same_state(resumed, ten)
    assert_allclose(
        [row["train_loss"] for row in resumed.history_],
        [row["train_loss"] for row in ten.history_],
        rtol=1e-6,
    )
