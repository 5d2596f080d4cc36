"""Estimator options: scale_targets, verbose=2, skorch's Checkpoint callback."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skmtl import MultiTaskEstimator

pytest.importorskip("skops")


def _data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    mass = X @ np.array([1.0, -0.5, 0.3, 0.0]) + 0.1 * rng.normal(size=n)
    label = np.where(X[:, 1] > 0, "a", "b").astype(object)
    label[::7] = None
    return X, mass, label


def _est(**kw):
    params = {"hidden_units": (16,), "max_epochs": 15, "lr": 0.01, "batch_size": 64,
              "random_state": 0, **kw}
    return MultiTaskEstimator(**params)


def test_predictions_are_equivariant_to_the_units_of_a_target():
    """Training sees the same standardised targets, so y -> a y + b maps predictions the same
    way, and the classification task is unaffected."""
    X, mass, label = _data()
    a = _est(scale_targets=True).fit(X, {"mass": mass, "label": label})
    b = _est(scale_targets=True).fit(X, {"mass": 4000.0 + 900.0 * mass, "label": label})
    pa, pb = a.predict(X), b.predict(X)
    assert_allclose(pb["mass"], 4000.0 + 900.0 * pa["mass"], rtol=1e-5)
    assert (pa["label"] == pb["label"]).all()
    mean, std = b.target_scale_["mass"]
    assert_allclose([mean, std], [np.mean(4000 + 900 * mass), np.std(4000 + 900 * mass)],
                    rtol=1e-5)
    assert "label" not in b.target_scale_


def test_scaling_fixes_large_units():
    X, mass, label = _data(1)
    y = {"mass": 4000.0 + 900.0 * mass, "label": label}
    raw = _est().fit(X, y).score_tasks(X, y)["mass"]
    scaled = _est(scale_targets=True).fit(X, y).score_tasks(X, y)["mass"]
    assert scaled > 0.9 > raw


def test_scale_is_kept_by_partial_fit_and_persistence(tmp_path):
    from skmtl.io import load, save

    X, mass, label = _data(2)
    est = _est(scale_targets=True).fit(X, {"mass": 10 * mass, "label": label})
    scale = dict(est.target_scale_)
    est.partial_fit(X[:50], {"mass": 10 * mass[:50] + 100.0, "label": label[:50]})
    assert est.target_scale_ == scale
    save(est, tmp_path / "m.skops")
    loaded = load(tmp_path / "m.skops")
    assert loaded.target_scale_ == scale
    assert_allclose(loaded.predict(X)["mass"], est.predict(X)["mass"])
    assert _est().fit(X, {"mass": mass, "label": label}).target_scale_ == {}


def test_verbose_two_shows_a_progress_bar(capsys):
    from skorch.callbacks import ProgressBar

    X, mass, label = _data(3, n=64)
    est = _est(verbose=2, max_epochs=2).fit(X, {"mass": mass, "label": label})
    assert any(isinstance(cb, ProgressBar) for _, cb in est.net_.callbacks_)
    out = capsys.readouterr()
    assert "train_loss" in out.out  # the per-epoch table
    quiet = _est(verbose=1, max_epochs=1).fit(X, {"mass": mass, "label": label})
    assert not any(isinstance(cb, ProgressBar) for _, cb in quiet.net_.callbacks_)


def test_skorch_checkpoint_callback_saves_the_best_epoch(tmp_path):
    from skorch.callbacks import Checkpoint

    X, mass, label = _data(4, n=200)
    y = {"mass": mass, "label": label}
    cp = Checkpoint(dirname=str(tmp_path), monitor="valid_loss_best", f_optimizer=None,
                    f_criterion=None, f_history=None)
    est = _est(train_split=0.25, max_epochs=6, callbacks=[cp]).fit(X, y)
    assert (tmp_path / "params.pt").exists()
    hist = est.history_
    best = min(range(len(hist)), key=lambda i: hist[i, "valid_loss"])
    last_pred = est.predict(X)["mass"]
    est.net_.load_params(f_params=str(tmp_path / "params.pt"))
    restored = est.predict(X)["mass"]
    assert np.all(np.isfinite(restored))
    if best != len(hist) - 1:  # a strictly earlier best epoch gives other predictions
        assert not np.allclose(restored, last_pred)
