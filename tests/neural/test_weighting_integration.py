"""Weighting strategies inside MultiTaskEstimator: every name, the batched per-task gradients,
the history record, grid search, and the defining behaviour of each loss-level strategy."""

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold

from skmtl.neural import MultiTaskEstimator
from skmtl.neural.weighting import (
    WEIGHTINGS,
    DynamicWeightAverage,
    FixedWeighting,
    GradientWeighting,
    GradNorm,
    RandomLossWeighting,
    UncertaintyWeighting,
    make_weighting,
)
from skmtl.neural.weighting._gradients import BatchedGradState, task_jacobian

TASKS = ["species", "sex", "mass"]
FAST = {"hidden_units": (8,), "lr": 0.01, "max_epochs": 3, "batch_size": 64, "random_state": 0}


class GramianNormalised(GradientWeighting):
    """A test strategy: w_t = 1 / ||g_t|| (a deterministic function of the Gramian)."""

    name = "test_gramian"

    def weights_from_gramian(self, gramian, losses, *, epoch, step):
        return 1.0 / gramian.diagonal().clamp(min=1e-12).sqrt()


class RepresentationOK(GramianNormalised):
    """As GramianNormalised, allowed to use the shared representation (as MGDA-UB)."""

    name = "test_representation"
    representation_ok = True

    def weights_from_gramian(self, gramian, losses, *, epoch, step):
        self.seen_shapes = [*getattr(self, "seen_shapes", []), tuple(gramian.shape)]
        return super().weights_from_gramian(gramian, losses, epoch=epoch, step=step)


class SignDrop(GradientWeighting):
    """A test strategy with needs_gradients: keeps the coordinates where tasks agree in sign."""

    name = "test_aggregate"
    needs_gradients = True

    def aggregate(self, grads, losses, *, epoch, step):
        s = torch.sign(grads).sum(dim=0)
        self.last_weights_ = torch.ones(len(grads))
        return grads.sum(dim=0) * (s.abs() == grads.shape[0])


STRATEGIES = [*WEIGHTINGS, GramianNormalised(), RepresentationOK(), SignDrop()]


def _id(s):
    return s if isinstance(s, str) else type(s).__name__


@pytest.mark.parametrize("weighting", STRATEGIES, ids=_id)
def test_every_strategy_trains_on_mixed_tasks_with_missing_labels(weighting, mixed_data):
    X, y = mixed_data
    est = MultiTaskEstimator(weighting=weighting, **FAST).fit(X, y)
    proba = est.predict_proba(X)
    assert all(np.isfinite(p).all() for p in proba.values())
    assert np.isfinite(est.predict(X)["mass"]).all()
    hist = est.history_
    assert len(hist) == 3
    for task in TASKS:
        values = hist[:, f"weight_{task}"]
        assert len(values) == 3 and np.isfinite(values).all(), (task, values)
        assert np.isfinite(hist[:, f"train_loss_{task}"]).all()
    assert np.isfinite(hist[:, "train_loss"]).all()


@pytest.mark.parametrize("architecture", ["mmoe", "cross_stitch"])
@pytest.mark.parametrize("weighting", ["uncertainty", GramianNormalised(), SignDrop()], ids=_id)
def test_strategies_work_with_other_architectures(architecture, weighting, mixed_data):
    X, y = mixed_data
    est = MultiTaskEstimator(architecture=architecture, weighting=weighting, **FAST).fit(X, y)
    assert np.isfinite(est.predict(X)["mass"]).all()
    assert np.isfinite(est.history_[:, "weight_species"]).all()


def _mlp_losses(seed=0, n_tasks=4):
    torch.manual_seed(seed)
    trunk = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 8))
    heads = [torch.nn.Linear(8, 1) for _ in range(n_tasks)]
    X, Y = torch.randn(32, 5), torch.randn(32, n_tasks)
    z = trunk(X)
    losses = torch.stack([((h(z)[:, 0] - Y[:, t]) ** 2).mean() for t, h in enumerate(heads)])
    return losses, list(trunk.parameters())


def test_batched_per_task_gradients_equal_the_loop():
    losses, params = _mlp_losses()
    batched = task_jacobian(losses, params, BatchedGradState())
    loop_state = BatchedGradState()
    loop_state.batched = False
    looped = task_jacobian(losses, params, loop_state)
    for b, g in zip(batched, looped, strict=True):
        assert b.shape == (4, *g.shape[1:])
        torch.testing.assert_close(b, g, rtol=1e-5, atol=1e-7)
    for t in range(4):
        ref = torch.autograd.grad(losses[t], params, retain_graph=True)
        for b, r in zip(batched, ref, strict=True):
            torch.testing.assert_close(b[t], r, rtol=1e-5, atol=1e-7)


class _NoVmap(torch.autograd.Function):
    """x -> x ** 2 with a backward that reads a value (no vmap batching rule)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        assert float(g.abs().sum()) >= 0.0
        return 2 * x * g


def test_unbatchable_module_falls_back_to_the_loop_once_with_a_warning():
    torch.manual_seed(0)
    W = torch.randn(3, 4, requires_grad=True)
    h = _NoVmap.apply(torch.randn(6, 3) @ W)
    losses = torch.stack([h[:, 0].mean(), h[:, 1].mean(), h[:, 2:].mean()])
    state = BatchedGradState()
    with pytest.warns(RuntimeWarning, match="one backward pass per task"):
        (J,) = task_jacobian(losses, [W], state)
    assert state.batched is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (J2,) = task_jacobian(losses, [W], state)  # remembered: no second warning
    ref = torch.stack([torch.autograd.grad(loss, W, retain_graph=True)[0] for loss in losses])
    torch.testing.assert_close(J, ref)
    torch.testing.assert_close(J2, ref)


class _ModuleFromParts(torch.nn.Module):
    """A user's module without shared_parameters(): shared parameters are found from the graph."""

    def __init__(self, n_features_in, task_outputs):
        super().__init__()
        self.tasks = list(task_outputs)
        self.body = torch.nn.Linear(n_features_in, 6)
        self.out = torch.nn.ModuleList(torch.nn.Linear(6, int(task_outputs[t])) for t in self.tasks)

    def forward(self, X):
        z = torch.tanh(self.body(X))
        return {t: head(z) for t, head in zip(self.tasks, self.out, strict=True)}


@pytest.mark.parametrize("module", [None, _ModuleFromParts], ids=["shared_bottom", "user"])
def test_training_step_applies_the_combination_of_per_task_gradients(module, mixed_data):
    X, y = mixed_data
    est = MultiTaskEstimator(module=module, weighting=GramianNormalised(), **FAST)
    est.set_params(max_epochs=1).fit(X, y)
    net = est.net_
    Xb = torch.from_numpy(X[:40].astype(np.float32))
    Yb = torch.from_numpy(net_targets(est, X, y)[:40])
    assert torch.isnan(Yb[:, 1]).any()  # missing "sex" labels in this batch
    module_ = net.module_
    # Reference: one backward per task, weights 1 / ||g_t||, heads get the plain sum.
    out = module_(Xb)
    losses = net.criterion_(out, Yb)
    L = torch.stack(list(losses.values()))
    shared = net.weighting_.shared_parameters(module_, out)
    assert 0 < len(shared) < len(list(module_.parameters()))
    grads = [torch.autograd.grad(L[t], shared, retain_graph=True) for t in range(3)]
    flat = torch.stack([torch.cat([g.reshape(-1) for g in gs]) for gs in grads])
    w = 1.0 / flat.norm(dim=1)
    expected_shared = w @ flat
    shared_ids = {id(p) for p in shared}
    others = [p for p in module_.parameters() if id(p) not in shared_ids]
    expected_others = torch.autograd.grad(L.sum(), others, allow_unused=True)

    net.optimizer_.zero_grad()
    net.train_step_single((Xb, Yb))
    got_shared = torch.cat([p.grad.reshape(-1) for p in shared])
    torch.testing.assert_close(got_shared, expected_shared, rtol=1e-4, atol=1e-6)
    for p, g in zip(others, expected_others, strict=True):
        if g is not None:
            torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)
    recorded = net.weighting_.strategy.last_weights_
    torch.testing.assert_close(recorded, w.detach(), rtol=1e-4, atol=1e-6)


def net_targets(est, X, y):
    from skmtl import _targets

    return _targets.encode_targets(est._spec_, _targets.split_targets(y, n_samples=len(X)))


def test_representation_shortcut_is_used_when_the_module_exposes_it(mixed_data):
    X, y = mixed_data
    est = MultiTaskEstimator(weighting=RepresentationOK(), **{**FAST, "max_epochs": 1})
    est.fit(X, y)
    shapes = est.net_.weighting_.strategy.seen_shapes
    assert shapes and all(s in {(2, 2), (3, 3)} for s in shapes)
    # The shortcut's direction is exactly the chain rule through the representation: compare
    # with the per-parameter route on a module that hides its representation.
    net = est.net_
    module_ = net.module_
    Xb = torch.from_numpy(X[:50].astype(np.float32))
    Yb = torch.from_numpy(net_targets(est, X, y)[:50])
    out = module_(Xb)
    z = module_.representation_
    L = torch.stack(list(net.criterion_(out, Yb).values()))
    Gz = torch.stack(
        [torch.autograd.grad(L[t], z, retain_graph=True)[0].reshape(-1) for t in range(3)]
    )
    w = 1.0 / Gz.norm(dim=1)
    shared = list(module_.shared_parameters())
    expected = torch.autograd.grad((w * L).sum(), shared, retain_graph=True)
    net.optimizer_.zero_grad()
    net.train_step_single((Xb, Yb))
    for p, g in zip(shared, expected, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)


def test_a_task_without_labels_in_a_batch_gets_weight_zero_and_no_nan():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 3))
    late = X[:, 1].copy()
    late[:60] = np.nan  # no label in the first batches (no shuffling)
    y = {"a": X[:, 0] + 0.1 * rng.normal(size=120), "b": late}
    est = MultiTaskEstimator(
        weighting=GramianNormalised(),
        iterator_train__shuffle=False,
        **{**FAST, "batch_size": 30, "max_epochs": 2},
    ).fit(X, y)
    assert np.isfinite(est.predict(X)["b"]).all()
    assert np.isfinite(est.history_[:, "weight_b"]).all()
    batch = (
        torch.from_numpy(X[:30].astype(np.float32)),
        torch.from_numpy(net_targets(est, X, y)[:30]),
    )
    est.net_.optimizer_.zero_grad()
    est.net_.train_step_single(batch)
    assert est.net_.weighting_.strategy.last_weights_[1] == 0.0


def test_fixed_is_the_default_and_keeps_the_weighted_sum(mixed_data):
    X, y = mixed_data
    weights = {"species": 2.0, "mass": 0.5}
    a = MultiTaskEstimator(task_weights=weights, **FAST).fit(X, y)
    b = MultiTaskEstimator(task_weights=weights, weighting="fixed", **FAST).fit(X, y)
    c = MultiTaskEstimator(weighting=FixedWeighting(task_weights=weights), **FAST).fit(X, y)
    np.testing.assert_array_equal(a.predict(X)["mass"], b.predict(X)["mass"])
    np.testing.assert_allclose(a.predict(X)["mass"], c.predict(X)["mass"], rtol=1e-5)
    h = a.history_
    assert h[:, "weight_species"] == [2.0] * 3 and h[:, "weight_sex"] == [1.0] * 3
    # train_loss is the weighted sum of the per-task losses (up to the batch averaging)
    last = h[-1]
    assert last["weight_mass"] == 0.5
    assert isinstance(a.net_.weighting_.strategy, FixedWeighting)


def test_grid_search_over_a_strategy_parameter():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 3))
    Y = np.column_stack([X[:, 0] + 0.1 * rng.normal(size=90), X[:, 1] - X[:, 2]])
    est = MultiTaskEstimator(weighting="dwa", **{**FAST, "max_epochs": 3})
    search = GridSearchCV(est, {"weighting__temperature": [0.5, 4.0]}, cv=KFold(2)).fit(X, Y)
    assert search.best_params_["weighting__temperature"] in (0.5, 4.0)
    assert (
        search.best_estimator_.net_.weighting_.strategy.temperature
        == (search.best_params_["weighting__temperature"])
    )
    # An instance's own parameters are searchable too (sklearn's nested set_params).
    est = MultiTaskEstimator(weighting=GradNorm(alpha=1.0), **FAST)
    search = GridSearchCV(est, {"weighting__alpha": [0.0, 2.0]}, cv=KFold(2)).fit(X, Y)
    fitted = search.best_estimator_.net_.weighting_.strategy
    assert fitted.alpha == search.best_params_["weighting__alpha"]
    assert est.weighting.alpha == 1.0  # the user's instance is never modified


def test_unknown_strategy_and_parameter_are_clear_errors(mixed_data):
    X, y = mixed_data
    with pytest.raises(ValueError, match="weighting"):
        MultiTaskEstimator(weighting="nope", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="no parameter"):
        MultiTaskEstimator(weighting="dwa", weighting__alpha=1.0, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="known strategy"):
        make_weighting("nope")


def test_uncertainty_parameters_are_learned_towards_the_loss_scale():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(256, 3))
    y = {
        "quiet": X[:, 0] + 0.05 * rng.normal(size=256),
        "noisy": X[:, 1] + 3.0 * rng.normal(size=256),
    }
    est = MultiTaskEstimator(
        weighting=UncertaintyWeighting(),
        hidden_units=(16,),
        lr=0.05,
        max_epochs=40,
        batch_size=64,
        random_state=0,
    ).fit(X, y)
    log_vars = est.net_.weighting_.strategy.log_vars.detach()
    assert (log_vars != 0).all()
    # Stationary point of 0.5 exp(-s) L + 0.5 s: s = log L (regression).
    assert log_vars[1] > 1.0 and log_vars[0] < -1.0
    h = est.history_
    assert h[-1, "weight_quiet"] > 1.0 > h[-1, "weight_noisy"]
    assert h[-1, "weight_noisy"] == pytest.approx(0.5 * math.exp(-float(log_vars[1])), rel=0.3)


def test_uncertainty_uses_the_classification_form_for_classification_tasks():
    w = UncertaintyWeighting()
    w.setup(["c", "r"], {"c": "classification", "r": "regression"})
    with torch.no_grad():
        w.log_vars.copy_(torch.tensor([math.log(4.0), math.log(4.0)]))
    obj = w.objective(torch.tensor([2.0, 2.0]), epoch=0, step=0).detach()
    # classification: L / sigma^2 + log sigma; regression: L / (2 sigma^2) + log sigma
    assert float(obj) == pytest.approx(2 / 4 + math.log(2) + 2 / 8 + math.log(2))
    # A task without labels in the batch contributes nothing (its sigma is not pushed down).
    active = torch.tensor([False, True])
    obj = w.objective(torch.tensor([0.0, 2.0]), epoch=0, step=0, active=active).detach()
    assert float(obj) == pytest.approx(2 / 8 + math.log(2))


def test_dwa_closed_form_and_history(mixed_data):
    w = DynamicWeightAverage(temperature=2.0)
    w.setup(["a", "b", "c"], {})
    past = torch.tensor([[4.0, 2.0, 1.0], [2.0, 2.0, 1.5]], dtype=torch.float64)
    r = np.array([0.5, 1.0, 1.5])
    expected = 3 * np.exp(r / 2) / np.exp(r / 2).sum()
    got = w.weights(torch.ones(3), epoch=2, step=0, epoch_losses=past)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    assert w.weights(torch.ones(3), epoch=1, step=0, epoch_losses=past[:1]).tolist() == [1.0] * 3
    # In training: epoch e's recorded weights follow the losses of epochs e-1 and e-2.
    X, y = mixed_data
    h = MultiTaskEstimator(weighting="dwa", **{**FAST, "max_epochs": 4}).fit(X, y).history_
    for e in (0, 1):
        assert [h[e, f"weight_{t}"] for t in TASKS] == pytest.approx([1.0, 1.0, 1.0])
    for e in (2, 3):
        ratio = np.array([h[e - 1, f"train_loss_{t}"] / h[e - 2, f"train_loss_{t}"] for t in TASKS])
        closed = 3 * np.exp(ratio / 2) / np.exp(ratio / 2).sum()
        np.testing.assert_allclose([h[e, f"weight_{t}"] for t in TASKS], closed, rtol=1e-5)


def test_rlw_weights_sum_to_one_and_are_seeded():
    a, b, c = (RandomLossWeighting(random_state=s) for s in (0, 0, 1))
    for w in (a, b, c):
        w.setup(["x", "y", "z"], {})
    wa = [a.weights(torch.ones(3), epoch=0, step=i) for i in range(5)]
    wb = [b.weights(torch.ones(3), epoch=0, step=i) for i in range(5)]
    wc = [c.weights(torch.ones(3), epoch=0, step=i) for i in range(5)]
    for x, y_ in zip(wa, wb, strict=True):
        torch.testing.assert_close(x, y_)
        assert float(x.sum()) == pytest.approx(1.0) and (x > 0).all()
    assert not torch.allclose(wa[0], wc[0])
    assert not torch.allclose(wa[0], wa[1])  # fresh weights at every step
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    Y = np.column_stack([X[:, 0], X[:, 1], X[:, 2]])
    fits = [MultiTaskEstimator(weighting="rlw", **FAST).fit(X, Y) for _ in range(2)]
    h = fits[0].history_
    for e in range(3):
        assert sum(h[e, f"weight_{t}"] for t in range(3)) == pytest.approx(1.0)
    assert h[:, "weight_0"] == fits[1].history_[:, "weight_0"]  # random_state seeds RLW


def test_gradnorm_keeps_weights_summing_to_the_number_of_tasks(mixed_data):
    X, y = mixed_data
    X = X[:, :4]
    y = {**y, "sex": np.where(X[:, 1] > 0, "f", "m")}  # every task labelled in every batch
    est = MultiTaskEstimator(weighting=GradNorm(alpha=1.5), **{**FAST, "max_epochs": 5}).fit(X, y)
    strategy = est.net_.weighting_.strategy
    assert float(strategy.last_weights_.sum()) == pytest.approx(3.0, rel=1e-5)
    h = est.history_
    for e in range(5):
        assert sum(h[e, f"weight_{t}"] for t in TASKS) == pytest.approx(3.0, rel=1e-5)
    assert not np.allclose([h[-1, f"weight_{t}"] for t in TASKS], 1.0)  # weights were learned
    assert torch.isfinite(strategy.initial_losses).all()


def test_gradnorm_balance_gradient_pushes_the_larger_gradient_down():
    w = GradNorm(alpha=0.0)
    w.setup(["a", "b"], {})
    active = torch.tensor([True, True])
    obj = w.objective(
        torch.tensor([1.0, 1.0]),
        epoch=0,
        step=0,
        active=active,
        grad_norms=torch.tensor([3.0, 1.0]),
    )
    obj.backward()
    assert w.task_weights_raw.grad[0] > 0 > w.task_weights_raw.grad[1]


def test_warm_start_keeps_learned_weights_and_pickles(mixed_data):
    import pickle

    X, y = mixed_data
    est = MultiTaskEstimator(weighting="uncertainty", warm_start=True, **FAST).fit(X, y)
    first = est.net_.weighting_.strategy.log_vars.detach().clone()
    est.fit(X, y)
    assert len(est.history_) == 6
    assert not torch.equal(first, est.net_.weighting_.strategy.log_vars.detach())
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(clone.predict(X)["mass"], est.predict(X)["mass"])
    est.set_params(weighting="dwa").fit(X, y)  # a new strategy continues the same network
    assert isinstance(est.net_.weighting_.strategy, DynamicWeightAverage)
    assert len(est.history_) == 9
