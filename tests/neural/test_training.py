"""Training: references for the objective, reproducibility, history, skorch features, CV."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.helper import SliceDict

from skmtl.metrics import make_task_scorers
from skmtl.neural import MultiTaskEstimator


def _linear_head(est, task):
    layer = est.module_.heads[est.tasks_.index(task)][-1]
    return layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy()


def test_regression_without_hidden_layer_converges_to_least_squares():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    y = X @ [1.0, -2.0, 0.5] + 3.0 + 0.3 * rng.normal(size=100)
    # Missing labels: the task's least squares is over its labelled rows only. A second task
    # shares no parameter with it (no trunk), so it must not change that solution.
    y_miss = y.copy()
    y_miss[rng.rand(100) < 0.3] = np.nan
    est = MultiTaskEstimator(
        hidden_units=(),
        optimizer=torch.optim.SGD,
        lr=0.2,
        batch_size=-1,
        max_epochs=400,
        random_state=0,
    ).fit(X, {"r": y_miss, "c": np.where(X[:, 0] > 0, "p", "n")})
    lab = ~np.isnan(y_miss)
    design = np.column_stack([X[lab], np.ones(lab.sum())])
    coef = np.linalg.lstsq(design, y_miss[lab], rcond=None)[0]
    weight, bias = _linear_head(est, "r")
    np.testing.assert_allclose(weight.ravel(), coef[:3], atol=1e-4)
    np.testing.assert_allclose(bias, coef[3:], atol=1e-4)


def test_full_batch_history_loss_equals_hand_computed_objective(mixed_data):
    X, y = mixed_data
    weights = {"species": 0.5, "sex": 2.0, "mass": 0.25}
    # A negligible SGD step: the network after fit is the one the epoch's loss was taken at.
    est = MultiTaskEstimator(
        hidden_units=(8,),
        task_weights=weights,
        optimizer=torch.optim.SGD,
        lr=1e-30,
        batch_size=-1,
        max_epochs=1,
        random_state=0,
    ).fit(X, y)
    with torch.no_grad():
        out = est.module_(torch.tensor(X, dtype=torch.float32))
    out = {k: v.double().numpy() for k, v in out.items()}
    expected = {}
    for task in ("species", "sex"):
        labelled = np.array([v is not None for v in y[task]])
        codes = np.searchsorted(est.classes_[task], y[task][labelled].astype(str))
        z = out[task][labelled]
        logp = z - z.max(1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(1, keepdims=True))
        expected[task] = -logp[np.arange(len(codes)), codes].mean()
    expected["mass"] = ((out["mass"][:, 0] - y["mass"]) ** 2).mean()
    hist = est.history_[-1]
    for task, value in expected.items():
        assert hist[f"train_loss_{task}"] == pytest.approx(value, rel=1e-5)
    total = sum(weights[t] * expected[t] for t in expected)
    assert hist["train_loss"] == pytest.approx(total, rel=1e-5)


def test_same_random_state_same_predictions_and_global_rng_untouched(mixed_data):
    X, y = mixed_data
    params = dict(hidden_units=(16,), dropout=0.2, train_split=0.2, max_epochs=5, batch_size=32)
    state = torch.random.get_rng_state()
    a = MultiTaskEstimator(random_state=3, **params).fit(X, y)
    b = MultiTaskEstimator(random_state=3, **params).fit(X, y)
    c = MultiTaskEstimator(random_state=4, **params).fit(X, y)
    assert torch.equal(state, torch.random.get_rng_state())
    pa, pb, pc = a.predict(X), b.predict(X), c.predict(X)
    np.testing.assert_array_equal(pa["mass"], pb["mass"])
    np.testing.assert_array_equal(pa["species"], pb["species"])
    assert a.history_[:, "valid_loss"] == b.history_[:, "valid_loss"]
    assert not np.array_equal(pa["mass"], pc["mass"])


def test_history_records_per_task_train_and_valid_losses(mixed_data):
    X, y = mixed_data
    est = MultiTaskEstimator(
        hidden_units=(16,), lr=0.01, train_split=0.25, max_epochs=15, random_state=0
    ).fit(X, y)
    hist = est.history_
    assert len(hist) == 15
    for task in ("species", "sex", "mass"):
        train = hist[:, f"train_loss_{task}"]
        valid = hist[:, f"valid_loss_{task}"]
        assert np.all(np.isfinite(train)) and np.all(np.isfinite(valid))
        assert train[-1] < train[0] and valid[-1] < valid[0]
    assert hist[-1, "train_batch_count"] == 2  # 150 training samples, batches of 128


def test_full_batch_total_is_weighted_sum_of_task_losses(mixed_data):
    X, y = mixed_data
    weights = {"species": 3.0, "sex": 0.0, "mass": 0.5}
    est = MultiTaskEstimator(
        hidden_units=(8,), task_weights=weights, batch_size=-1, max_epochs=3, random_state=0
    ).fit(X, y)
    for row in est.history_:
        total = sum(w * row[f"train_loss_{t}"] for t, w in weights.items())
        assert row["train_loss"] == pytest.approx(total, rel=1e-5)


def test_zero_weight_task_is_not_learned(mixed_data):
    X, y = mixed_data
    params = dict(hidden_units=(16,), task_weights={"sex": 0.0}, lr=0.01, random_state=0)
    trained = MultiTaskEstimator(max_epochs=20, **params).fit(X, y)
    initial = MultiTaskEstimator(max_epochs=1, optimizer=torch.optim.SGD, **params)
    initial.set_params(lr=1e-30).fit(X, y)  # same seed, same shapes: the initial network
    sex = trained.tasks_.index("sex")
    # Adam leaves a parameter whose gradient is always zero where it was initialised.
    for p, q in zip(
        trained.module_.heads[sex].parameters(),
        initial.module_.heads[sex].parameters(),
        strict=True,
    ):
        assert torch.equal(p, q)
    assert not torch.equal(trained.module_.trunk[0].weight, initial.module_.trunk[0].weight)


def test_warm_start_continues_and_cold_start_restarts(mixed_data):
    X, y = mixed_data
    est = MultiTaskEstimator(hidden_units=(16,), lr=0.01, max_epochs=10, random_state=0)
    est.fit(X, y)
    first = est.history_[:, "train_loss"]
    est.set_params(warm_start=True, max_epochs=5, lr=0.005)
    est.fit(X, y)
    hist = est.history_[:, "train_loss"]
    assert len(hist) == 15 and hist[:10] == first
    assert hist[10] < 0.5 * first[0]  # continued from the trained network
    assert est.net_.optimizer_.param_groups[0]["lr"] == 0.005
    est.set_params(warm_start=False)
    est.fit(X, y)
    assert len(est.history_) == 5
    est.set_params(warm_start=True, hidden_units=(8,))  # a new architecture: cold start
    est.fit(X, y)
    assert len(est.history_) == 5


def test_partial_fit_adds_max_epochs_each_call(mixed_data):
    X, y = mixed_data
    est = MultiTaskEstimator(hidden_units=(16,), max_epochs=3, random_state=0)
    est.partial_fit(X[:100], {k: v[:100] for k, v in y.items()})
    est.partial_fit(X[100:], {k: v[100:] for k, v in y.items()})
    assert len(est.history_) == 6
    with pytest.raises(ValueError, match=r"missing: \['mass'\]"):
        est.partial_fit(X, {"species": y["species"], "sex": y["sex"]})
    with pytest.raises(ValueError, match="task 'species' has labels"):
        est.partial_fit(X, {**y, "species": np.full(200, "zebra")})
    with pytest.raises(ValueError, match="X has 3 features"):
        est.partial_fit(X[:, :3], y)


def test_partial_fit_classes_declares_unseen_classes(mixed_data):
    X, y = mixed_data
    first = {k: v[:20] for k, v in y.items()}
    first["species"] = np.array(["a", "b"] * 10)
    est = MultiTaskEstimator(hidden_units=(8,), max_epochs=1, random_state=0)
    est.partial_fit(X[:20], first, classes={"species": ["a", "b", "c"]})
    assert est.classes_["species"].tolist() == ["a", "b", "c"]
    est.partial_fit(X, y)  # "c" is now a known class
    assert est.predict_proba(X)["species"].shape == (200, 3)


def test_early_stopping_and_lr_scheduler_callbacks(mixed_data):
    X, y = mixed_data
    stop = EarlyStopping(patience=3)
    est = MultiTaskEstimator(
        hidden_units=(16,),
        lr=0.05,
        max_epochs=300,
        train_split=0.25,
        callbacks=[stop, LRScheduler(policy="StepLR", step_size=1, gamma=0.9)],
        random_state=0,
    ).fit(X, y)
    assert len(est.history_) < 300
    assert stop.misses_ == 0  # a copy did the stopping: the given callback is untouched
    assert est.net_.optimizer_.param_groups[0]["lr"] < 0.05


def test_verbose_prints_skorch_table_with_task_columns(mixed_data, capsys):
    X, y = mixed_data
    MultiTaskEstimator(hidden_units=(8,), max_epochs=2, verbose=1, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss_species" in out and "train_loss_mass" in out and "epoch" in out
    MultiTaskEstimator(hidden_units=(8,), max_epochs=2, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_slow_data_loader_path_trains_the_same(mixed_data):
    X, y = mixed_data
    params = dict(hidden_units=(8,), max_epochs=3, random_state=0, iterator_train__shuffle=False)
    fast = MultiTaskEstimator(**params).fit(X, y)
    slow = MultiTaskEstimator(**params, iterator_train__num_workers=0).fit(X, y)
    np.testing.assert_allclose(
        slow.history_[:, "train_loss"], fast.history_[:, "train_loss"], rtol=1e-5
    )


def test_grid_search_over_task_weights_with_dataframe_targets(mixed_data):
    X, y = mixed_data
    est = MultiTaskEstimator(hidden_units=(8,), lr=0.01, max_epochs=8, random_state=0)
    grid = {"multitaskestimator__task_weights": [{"mass": w} for w in (0.1, 1.0)]}
    search = GridSearchCV(make_pipeline(StandardScaler(), est), grid, cv=3)
    search.fit(X, pd.DataFrame(y))
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert (
        search.best_params_["multitaskestimator__task_weights"]
        in grid["multitaskestimator__task_weights"]
    )
    assert isinstance(search.predict(X), pd.DataFrame)


def test_grid_search_per_task_scorers_refit_and_other_target_kinds(mixed_data):
    X, y = mixed_data
    est = MultiTaskEstimator(hidden_units=(8,), lr=0.01, max_epochs=5, random_state=0)
    search = GridSearchCV(
        est,
        {"optimizer__weight_decay": [0.0, 0.1], "hidden_units": [(8,)]},
        scoring=make_task_scorers(["species", "mass"]),
        refit="species",
        cv=2,
    ).fit(X, SliceDict(**y))
    assert set(search.cv_results_) >= {"mean_test_species", "mean_test_mass"}
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    search = GridSearchCV(est, {"task_weights": [{0: 1.0}, {0: 2.0}]}, cv=2).fit(X, Y)
    assert search.predict(X).shape == (200, 2)
