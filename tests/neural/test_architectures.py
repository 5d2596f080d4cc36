"""Architectures: the module contract, gates, shared parameters, routing and estimator use."""

import inspect
import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold

from skmtl.neural import MultiTaskEstimator
from skmtl.neural.architectures import (
    ARCHITECTURE_ONLY_PARAMS,
    ARCHITECTURES,
    CrossStitch,
    DSelectK,
    MMoE,
    SharedBottom,
)
from skmtl.neural.architectures._dselect_k import smooth_step

TASKS = {"c3": 3, "r": 1, "c2": 2}
SMALL = {
    "shared_bottom": {},
    "mmoe": {"n_experts": 3},
    "ple": {"n_experts": 2, "n_task_experts": 1, "n_levels": 2},
    "cross_stitch": {},
    "dselect_k": {"n_experts": 4, "top_k": 2},
}
GATED = ["mmoe", "ple", "dselect_k"]


def make_module(name, **extra):
    torch.manual_seed(0)
    kwargs = {"hidden_units": (6, 5), "head_units": (4,), **SMALL[name], **extra}
    return ARCHITECTURES[name](7, TASKS, **kwargs)


# -- the contract ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_contract(name):
    cls = ARCHITECTURES[name]
    signature = inspect.signature(cls.__init__).parameters
    assert list(signature)[1:3] == ["n_features_in", "task_outputs"]
    for p in ("hidden_units", "head_units", "activation", "dropout", "batch_norm", *cls.params):
        assert p in signature, p
    assert set(cls.params) <= set(ARCHITECTURE_ONLY_PARAMS)
    assert callable(getattr(cls, "shared_parameters", None))
    assert "References" in cls.__doc__
    assert (name in GATED) == callable(getattr(cls, "gate_weights", None))


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_output_shapes(name):
    net = make_module(name)
    out = net(torch.randn(9, 7))
    assert list(out) == list(TASKS)
    assert {t: tuple(v.shape) for t, v in out.items()} == {t: (9, k) for t, k in TASKS.items()}


@pytest.mark.parametrize("name", GATED)
def test_gates_are_distributions(name):
    net = make_module(name)
    gates = net.gate_weights(torch.randn(11, 7) * 3)
    assert list(gates) == list(TASKS)
    for g in gates.values():
        assert (g >= 0).all()
        torch.testing.assert_close(g.sum(dim=-1), torch.ones(g.shape[:-1]))


def _reached(net, X):
    """For each parameter, the number of task outputs whose gradient reaches it (non-zero)."""
    out = net(X)
    params = list(net.parameters())
    reach = np.zeros(len(params), dtype=int)
    for value in out.values():
        grads = torch.autograd.grad(value.sum(), params, retain_graph=True, allow_unused=True)
        reach += [g is not None and bool(g.abs().sum() > 0) for g in grads]
    return params, reach


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_shared_parameters_are_those_reaching_several_tasks(name):
    net = make_module(name)
    params, reach = _reached(net, torch.randn(16, 7))
    shared = {id(p) for p in net.shared_parameters()}
    assert len(shared) == len(net.shared_parameters())  # no duplicates
    assert {id(p) for p, r in zip(params, reach) if r >= 2} == shared
    assert all(r == 1 for p, r in zip(params, reach) if id(p) not in shared)


def test_ple_one_level_shares_only_the_shared_experts():
    net = make_module("ple", n_levels=1)
    shared = {id(p) for p in net.shared_parameters()}
    assert shared == {id(p) for p in net.levels[0].shared_experts.parameters()}
    assert net.levels[0].shared_gate is None


def test_shared_bottom_exposes_its_representation():
    net = make_module("shared_bottom")
    X = torch.randn(5, 7)
    net(X)
    torch.testing.assert_close(net.representation_, net.trunk(X))
    assert [id(p) for p in net.shared_parameters()] == [id(p) for p in net.trunk.parameters()]
    clone = pickle.loads(pickle.dumps(net))  # the graph of the last forward is not pickled
    assert clone.representation_ is None


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_every_architecture_exposes_its_shared_representation_or_says_why_not(name):
    """Either ``representation_`` separates the shared parameters from the task-specific ones
    (the shared parameters' gradient of any loss is the chain rule through it), or the class
    gives the reason it has none (``no_representation``), which the trainer's error repeats."""
    net = make_module(name)
    X = torch.randn(5, 7)
    out = net(X)
    z = getattr(net, "representation_", None)
    if z is None:
        assert isinstance(type(net).no_representation, str) and type(net).no_representation
        return
    assert not getattr(type(net), "no_representation", None)
    loss = sum((o**2).sum() * (i + 1) for i, o in enumerate(out.values()))
    shared = list(net.shared_parameters())
    direct = torch.autograd.grad(loss, shared, retain_graph=True)
    (gz,) = torch.autograd.grad(loss, z, retain_graph=True)
    through = torch.autograd.grad(z, shared, grad_outputs=gz, allow_unused=True)
    for a, b in zip(direct, through, strict=True):
        torch.testing.assert_close(a, b)
    assert pickle.loads(pickle.dumps(net)).__dict__.get("representation_") is None


def test_cross_stitch_at_identity_is_independent_columns():
    net = make_module("cross_stitch", stitch_init=1.0)
    X = torch.randn(8, 7)
    out = net(X)
    for t, task in enumerate(TASKS):
        h = X
        for layer in net.columns:  # column t alone: its own weights, no mixing
            h = torch.relu(h @ layer.linear.weight[t] + layer.linear.bias[t])
        torch.testing.assert_close(out[task], net.towers[t](h))
    # task s's output reaches column t's weights (a slice of the stacked tensor) only if s == t
    weights = [layer.linear.weight for layer in net.columns]
    for s, value in enumerate(out.values()):
        grads = torch.autograd.grad(value.sum(), weights, retain_graph=True)
        for g in grads:
            assert [bool(g[t].abs().sum() > 0) for t in range(3)] == [t == s for t in range(3)]


def test_cross_stitch_init_near_identity():
    alpha = make_module("cross_stitch").stitch_weights()
    assert alpha.shape == (2, 3, 3)
    torch.testing.assert_close(alpha[0], torch.full((3, 3), 0.05) + 0.85 * torch.eye(3))
    torch.testing.assert_close(alpha.sum(dim=-1), torch.ones(2, 3))


def test_dselect_k_selector_and_checks():
    t = torch.tensor([-1.0, -0.5, 0.0, 0.25, 0.5, 2.0])
    s = smooth_step(t, 1.0)
    torch.testing.assert_close(s[[0, 1, 2, 4, 5]], torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0]))
    assert 0.5 < s[3] < 1
    net = make_module("dselect_k")
    gate = net.gates[0]
    with torch.no_grad():  # saturated codes: each selector is one-hot, so at most k experts
        gate.selectors.weight.zero_()
        gate.selectors.bias.copy_(torch.tensor([1.0, -1.0, -1.0, 1.0]))
    q = gate(torch.randn(5, 7))
    assert ((q > 0).sum(dim=1) <= 2).all()
    torch.testing.assert_close(q.sum(dim=1), torch.ones(5))
    with pytest.raises(ValueError, match="power of 2"):
        DSelectK(3, {"a": 1}, n_experts=6)
    with pytest.raises(ValueError, match="top_k must be between 1 and n_experts=4"):
        DSelectK(3, {"a": 1}, n_experts=4, top_k=5)


def test_experts_need_hidden_layers():
    with pytest.raises(ValueError, match="at least one hidden layer per expert"):
        MMoE(3, {"a": 1}, hidden_units=())


# -- through the estimator -------------------------------------------------------------------------
def _est(name, **kwargs):
    params = {"hidden_units": (8,), "head_units": (4,), "lr": 0.01, "max_epochs": 15}
    params.update(batch_size=64, random_state=0, architecture=name, **SMALL[name])
    params.update(kwargs)
    return MultiTaskEstimator(**params)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_estimator_fits_mixed_tasks_with_missing_labels(name, mixed_data):
    X, y = mixed_data
    est = _est(name).fit(X, y)
    assert type(est.module_) is ARCHITECTURES[name]
    pred = est.predict(X[:7])
    assert {t: v.shape for t, v in pred.items()} == {"species": (7,), "sex": (7,), "mass": (7,)}
    assert set(pred["sex"]) <= {"f", "m"}
    proba = est.predict_proba(X[:7])
    assert proba["species"].shape == (7, 3) and proba["sex"].shape == (7, 2)
    scores = est.score_tasks(X, y)
    assert scores["species"] > 0.6 and scores["mass"] > 0.5, scores
    assert est.history_[-1, "train_loss"] < est.history_[0, "train_loss"]
    if name in GATED:
        gates = est.gate_weights(X[:5])
        assert list(gates) == ["species", "sex", "mass"]
        for g in gates.values():
            assert g.dtype == np.float64 and (g >= 0).all()
            np.testing.assert_allclose(g.sum(axis=-1), 1.0, rtol=1e-6)
    else:
        with pytest.raises(AttributeError, match="has no gates"):
            est.gate_weights(X[:5])


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_random_state_reproducible(name, mixed_data):
    X, y = mixed_data
    a = _est(name, max_epochs=3, dropout=0.2).fit(X, y)
    b = _est(name, max_epochs=3, dropout=0.2).fit(X, y)
    for task in y:
        np.testing.assert_array_equal(a.predict(X)[task], b.predict(X)[task])
    pa, pb = pickle.loads(pickle.dumps(a)).predict_proba(X), b.predict_proba(X)
    np.testing.assert_array_equal(pa["species"], pb["species"])


def test_parameters_are_routed(mixed_data):
    X, y = mixed_data
    est = _est("ple", n_experts=3, n_task_experts=2, n_levels=3, hidden_units=(5, 6), max_epochs=1)
    net = est.fit(X, y).module_
    assert len(net.levels) == 3
    assert net.levels[1].shared_experts.layers[0].linear.weight.shape == (3, 6, 5)
    assert net.levels[2].task_experts[0].layers[1].linear.weight.shape == (2, 5, 6)
    assert est.gate_weights(X[:2])["mass"].shape == (2, 3, 5)
    assert [m.out_features for m in net.towers[0] if isinstance(m, torch.nn.Linear)] == [4, 3]
    cs = _est("cross_stitch", module__stitch_init=0.5, max_epochs=1).fit(X, y).module_
    assert isinstance(cs, CrossStitch)
    # a class works as module=, with its parameters routed as module__*
    est = MultiTaskEstimator(module=MMoE, module__n_experts=5, module__hidden_units=(4,))
    assert est.set_params(max_epochs=1).fit(X, y).module_.n_experts == 5
    sb = MultiTaskEstimator(hidden_units=(7,), max_epochs=1).fit(X, y).module_
    assert isinstance(sb, SharedBottom)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"architecture": "moe"}, "'architecture' parameter .* must be a str among"),
        ({"n_experts": 4}, r"n_experts=4 does not apply to architecture='shared_bottom'"),
        ({"architecture": "mmoe", "n_levels": 2}, r"n_levels=2 does not apply to .*\['ple'\]"),
        ({"architecture": "ple", "top_k": 1}, r"top_k=1 does not apply to architecture='ple'"),
        ({"architecture": "cross_stitch", "n_experts": 2}, "n_experts=2 does not apply"),
        ({"module": MMoE, "architecture": "ple"}, "architecture='ple' cannot be used with module"),
        ({"module": MMoE, "n_experts": 2}, "n_experts=2 cannot be used with module"),
        ({"architecture": "mmoe", "n_experts": 0}, "'n_experts' parameter"),
        ({"architecture": "dselect_k", "n_experts": 3}, "power of 2"),
    ],
)
def test_bad_architecture_parameters(params, match, mixed_data):
    X, y = mixed_data
    est = MultiTaskEstimator(max_epochs=1, **params)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    assert not hasattr(est, "net_")


def test_grid_search_over_n_experts(mixed_data):
    import pandas as pd

    X, y = mixed_data
    Y = pd.DataFrame({"species": y["species"], "mass": y["mass"]})
    grid = GridSearchCV(
        _est("mmoe", max_epochs=3),
        [{"n_experts": [1, 3]}, {"architecture": ["shared_bottom"], "n_experts": [None]}],
        cv=KFold(2),
    ).fit(X, Y)
    assert len(grid.cv_results_["params"]) == 3
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.best_estimator_.architecture in ("mmoe", "shared_bottom")


def test_warm_start_rebuilds_when_experts_change(mixed_data):
    X, y = mixed_data
    est = _est("mmoe", max_epochs=2, warm_start=True).fit(X, y)
    est.fit(X, y)
    assert len(est.history_) == 4
    est.set_params(n_experts=2).fit(X, y)
    assert len(est.history_) == 2 and est.module_.n_experts == 2


@pytest.mark.parametrize("name", ARCHITECTURES)
@pytest.mark.parametrize("weighting", ["mgda", "pcgrad"])
def test_gradient_weighting_uses_the_shared_parameters(name, weighting, mixed_data):
    X, y = mixed_data
    est = _est(name, max_epochs=2, weighting=weighting).fit(X, y)
    assert np.isfinite(est.history_[-1, "train_loss"])
    assert set(est.predict(X[:3])) == {"species", "sex", "mass"}
