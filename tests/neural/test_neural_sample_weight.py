"""sample_weight in MultiTaskEstimator: weighted per-task means, zero = dropped, routing."""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl.neural import MaskedTaskLoss, MultiTaskEstimator
from skmtl.neural._long_net import row_weights

torch.set_num_threads(1)

FULL_BATCH = dict(hidden_units=(8,), lr=0.01, max_epochs=15, batch_size=-1, random_state=0)
# float32 sums in another order (other rows, other permutation) differ in the last bits; after
# 15 Adam steps the predictions agree to about 1e-6 relative.
RTOL = 1e-4


def wide_data(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(60, 3))
    y = np.column_stack([X @ [1.0, -1.0, 0.5], X[:, 0] ** 2])
    y[rng.rand(60) < 0.2, 1] = np.nan  # missing labels
    return X, y


def long_data(seed=0):
    rng = np.random.RandomState(seed)
    task = np.repeat(np.arange(5), [8, 12, 20, 10, 10])
    X = np.column_stack([task, rng.normal(size=(60, 2))])
    y = X[:, 1] * (1 + 0.3 * task) + 0.1 * rng.normal(size=60)
    return X, y


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_zero_weights_equal_dropped_rows_full_batch(layout):
    X, y = wide_data() if layout == "wide" else long_data()
    params = dict(FULL_BATCH, task_column=0 if layout == "long" else None)
    w = np.ones(len(X))
    w[::4] = 0.0
    keep = w > 0
    weighted = MultiTaskEstimator(**params).fit(X, y, sample_weight=w)
    dropped = MultiTaskEstimator(**params).fit(X[keep], y[keep])
    np.testing.assert_allclose(weighted.predict(X), dropped.predict(X), rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_integer_weights_equal_repeated_rows_full_batch(layout):
    X, y = wide_data(1) if layout == "wide" else long_data(1)
    params = dict(FULL_BATCH, task_column=0 if layout == "long" else None)
    w = np.random.RandomState(0).randint(1, 4, size=len(X))
    rep = np.repeat(np.arange(len(X)), w)
    weighted = MultiTaskEstimator(**params).fit(X, y, sample_weight=w)
    repeated = MultiTaskEstimator(**params).fit(X[rep], y[rep])
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=RTOL, atol=1e-6)


def test_mini_batch_zero_weight_rows_contribute_nothing_to_a_batch():
    # Wide layout: every batch loss equals the loss of the same batch without its zero-weight
    # rows, so training equals training without them in expectation.
    X, y = wide_data()
    w = np.where(np.arange(60) % 3 == 0, 0.0, 1.5)
    est = MultiTaskEstimator(hidden_units=(8,), max_epochs=1, random_state=0)
    est.fit(X, y, sample_weight=w)
    net = est.net_
    Xt = torch.tensor(X[:20], dtype=torch.float32)
    Yw = torch.tensor(np.column_stack([y[:20], w[:20]]), dtype=torch.float32)
    keep = w[:20] > 0
    with torch.no_grad():
        full = net.get_loss(net.infer(Xt), Yw, training=True)
        part = net.get_loss(net.infer(Xt[keep]), Yw[keep], training=True)
    torch.testing.assert_close(full, part)


def test_long_layout_batches_are_unbiased_and_zero_weights_drop():
    # The size-weighted mean of the batch losses over a partition of the rows is the full
    # objective (each task's weighted mean loss + the coupling penalty), and that objective
    # is the same with the zero-weight rows removed.
    X, y = long_data()
    w = np.random.RandomState(1).randint(0, 3, size=60).astype(float)
    est = MultiTaskEstimator(task_column=0, hidden_units=(4,), coupling=0.5, max_epochs=2)
    est.set_params(random_state=0).fit(X, y, sample_weight=w)
    net = est.net_
    net.module_.train()

    def tensors(rows):
        codes = X[rows, 0].astype(np.int64)
        Xt = torch.tensor(np.column_stack([X[rows, 1:], codes]), dtype=torch.float32)
        rw = row_weights(codes, 5, np.ones(5), w[rows])
        Yt = torch.tensor(np.column_stack([y[rows], codes, rw]), dtype=torch.float32)
        return Xt, Yt

    def loss(Xt, Yt):
        with torch.no_grad():
            return float(net.get_loss(net.infer(Xt), Yt, training=True))

    Xt, Yt = tensors(np.arange(60))
    full = loss(Xt, Yt)
    perm = np.random.RandomState(2).permutation(60)
    parts = [perm[i : i + 7] for i in range(0, 60, 7)]
    mean = sum(len(p) / 60 * loss(Xt[p], Yt[p]) for p in parts)
    np.testing.assert_allclose(mean, full, rtol=1e-5)
    np.testing.assert_allclose(loss(*tensors(np.flatnonzero(w > 0))), full, rtol=1e-5)
    # the reference: (1/T) sum_t [weighted mean squared error of task t + coupling ||dev_t||^2]
    pred = est.predict(X)
    task = X[:, 0].astype(int)
    dev = net.module_.deviation.weight.detach().double().numpy()
    ref = np.mean(
        [
            np.average((pred[task == t] - y[task == t]) ** 2, weights=w[task == t])
            + 0.5 * (dev[t] ** 2).sum()
            for t in range(5)
        ]
    )
    np.testing.assert_allclose(full, ref, rtol=1e-4)


def test_weighted_task_loss_matches_numpy():
    rng = np.random.RandomState(0)
    out, target = rng.normal(size=12), rng.normal(size=12)
    target[[1, 5]] = np.nan
    w = rng.rand(12)
    value = MaskedTaskLoss("regression")(
        torch.tensor(out), torch.tensor(target), weight=torch.tensor(w)
    )
    keep = ~np.isnan(target)
    ref = np.average((out[keep] - target[keep]) ** 2, weights=w[keep])
    np.testing.assert_allclose(float(value), ref, rtol=1e-12)


def test_scale_targets_uses_the_weighted_mean_and_scale():
    X, y = wide_data()
    w = np.random.RandomState(0).rand(60)
    est = MultiTaskEstimator(max_epochs=1, scale_targets=True, random_state=0)
    est.fit(X, y, sample_weight=w)
    keep = ~np.isnan(y[:, 1])
    mean = np.average(y[keep, 1], weights=w[keep])
    std = np.sqrt(np.average((y[keep, 1] - mean) ** 2, weights=w[keep]))
    np.testing.assert_allclose(est.target_scale_[1], (mean, std), rtol=1e-6)


def test_bad_sample_weight_raises():
    X, y = wide_data()
    est = MultiTaskEstimator(max_epochs=1)
    with pytest.raises(ValueError, match="Negative values"):
        est.fit(X, y, sample_weight=-np.ones(60))
    with pytest.raises(ValueError, match="non-zero"):
        est.fit(X, y, sample_weight=np.zeros(60))
    with pytest.raises(ValueError, match="custom"):
        MultiTaskEstimator(max_epochs=1, task_losses={0: lambda a, b: ((a - b) ** 2).mean()}).fit(
            X, y, sample_weight=np.ones(60)
        )


def test_metadata_routing_through_pipeline_and_grid_search():
    X, y = wide_data()
    w = np.where(np.arange(60) % 5 == 0, 0.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = MultiTaskEstimator(**FULL_BATCH).set_fit_request(sample_weight=True)
        est.set_score_request(sample_weight=True)
        scaler = StandardScaler().set_fit_request(sample_weight=False)
        pipe = make_pipeline(scaler, est).fit(X, y, sample_weight=w)
        direct = MultiTaskEstimator(**FULL_BATCH).fit(
            StandardScaler().fit_transform(X), y, sample_weight=w
        )
        np.testing.assert_allclose(pipe.predict(X), direct.predict(scaler.transform(X)))
        search = GridSearchCV(
            make_pipeline(StandardScaler().set_fit_request(sample_weight=False), est),
            {"multitaskestimator__lr": [0.01, 0.02]},
            cv=KFold(2),
        ).fit(X, y, sample_weight=w)
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
        # the weighted score: a zero-weight row does not count
        scored = est.score(X, y, sample_weight=w)
        np.testing.assert_allclose(scored, est.score(X[w > 0], y[w > 0]))


def test_weighted_scores_match_scikit_learn():
    from sklearn.metrics import accuracy_score, r2_score

    rng = np.random.RandomState(3)
    X = rng.normal(size=(80, 2))
    y = {"r": X[:, 0] + 0.5 * rng.normal(size=80), "c": np.where(X[:, 1] > 0, "a", "b")}
    w = rng.rand(80)
    est = MultiTaskEstimator(hidden_units=(4,), max_epochs=3, random_state=0).fit(X, y)
    pred = est.predict(X)
    scores = est.score_tasks(X, y, sample_weight=w)
    np.testing.assert_allclose(scores["r"], r2_score(y["r"], pred["r"], sample_weight=w))
    np.testing.assert_allclose(scores["c"], accuracy_score(y["c"], pred["c"], sample_weight=w))
