"""Representation-level Gramians: every Gramian-based strategy, every architecture."""

import copy

import numpy as np
import pytest
import torch

from skmtl import _targets
from skmtl.neural import MultiTaskEstimator
from skmtl.neural.weighting import WEIGHTINGS, GradientWeighting
from skmtl.neural.weighting._trainer import _combine

REP = [n for n, c in WEIGHTINGS.items() if issubclass(c, GradientWeighting)]
FAST = {"hidden_units": (8,), "lr": 0.01, "max_epochs": 1, "batch_size": 64, "random_state": 0}


def _encoded(est, X, y):
    return _targets.encode_targets(est._spec_, _targets.split_targets(y, n_samples=len(X)))


def test_every_gradient_level_strategy_offers_the_representation():
    for name in REP:
        s = WEIGHTINGS[name]()
        assert s.representation_ok and "use_representation" in s.get_params(), name
        assert s.use_representation == ("auto" if name == "mgda" else False), name


def test_every_strategy_documents_use_representation_with_the_shared_text():
    from skmtl.neural.weighting._base import USE_REPRESENTATION_DOC

    for name in REP:
        doc = WEIGHTINGS[name].__doc__
        assert "%(use_representation)s" not in doc, name
        params = doc.split("Parameters\n")[1].split("Attributes\n")[0]
        head = 'use_representation : bool or "auto", default=' + repr(
            WEIGHTINGS[name]().use_representation
        ).replace("'", '"')
        lines = [line.strip() for line in params.splitlines()]
        i = lines.index(head)
        assert lines[i + 1 : i + 1 + 6] == USE_REPRESENTATION_DOC.splitlines(), name


@pytest.mark.parametrize("name", REP)
@pytest.mark.parametrize("architecture", ["shared_bottom", "mmoe"])
def test_step_is_the_strategy_on_the_representation_gradients(name, architecture, mixed_data):
    """The shared parameters get d(z)' (sum_t w_t dz L_t) with w from the representation-level
    Gramian; every head gets the gradient of its own task's loss."""
    X, y = mixed_data
    est = MultiTaskEstimator(
        weighting=name, weighting__use_representation=True, architecture=architecture, **FAST
    ).fit(X, y)
    net, module = est.net_, est.net_.module_
    Xb = torch.from_numpy(X[:50].astype(np.float32))
    Yb = torch.from_numpy(_encoded(est, X, y)[:50])
    strategy = copy.deepcopy(net.weighting_.strategy)  # same state (random orders, EMA)
    out = module(Xb)
    z = module.representation_
    L = torch.stack(list(net.criterion_(out, Yb).values()))
    Gz = torch.stack(
        [torch.autograd.grad(L[t], z, retain_graph=True)[0].reshape(-1) for t in range(len(L))]
    )
    kw = {"epoch": net.weighting_.epoch, "step": net.weighting_.step}
    torch.manual_seed(5)  # random task orders (PCGrad, GradVac, GradDrop) drawn alike
    direction, _ = _combine(strategy, Gz, L.detach(), kw)
    shared = list(module.shared_parameters())
    expected = torch.autograd.grad(z, shared, grad_outputs=direction.view_as(z).to(z.dtype))
    heads = [p for p in module.parameters() if all(p is not q for q in shared)]
    head_expected = torch.autograd.grad(L.sum(), heads, allow_unused=True)
    net.optimizer_.zero_grad()
    torch.manual_seed(5)
    net.train_step_single((Xb, Yb))
    for p, g in zip(shared, expected, strict=True):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)
    for p, g in zip(heads, head_expected, strict=True):
        if g is not None:
            torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("architecture", ["ple", "cross_stitch"])
def test_architectures_without_one_refuse_clearly_and_auto_falls_back(architecture, mixed_data):
    X, y = mixed_data
    kw = {**FAST, "architecture": architecture}
    with pytest.raises(ValueError, match=r"use_representation=True .* has none: .*shared"):
        MultiTaskEstimator(weighting="upgrad", weighting__use_representation=True, **kw).fit(X, y)
    auto = MultiTaskEstimator(weighting="mgda", **kw).fit(X, y)
    exact = MultiTaskEstimator(weighting="mgda", weighting__use_representation=False, **kw)
    exact.fit(X, y)
    np.testing.assert_allclose(
        auto.predict_proba(X)["species"], exact.predict_proba(X)["species"], rtol=1e-6
    )


def test_a_module_without_representation_gets_the_generic_reason(mixed_data):
    from skmtl.neural import MultiTaskMLP

    X, y = mixed_data
    with pytest.raises(ValueError, match="MultiTaskMLP has none: its forward sets no"):
        MultiTaskEstimator(
            module=MultiTaskMLP,
            module__hidden_units=(8,),
            weighting="imtl",
            weighting__use_representation=True,
            max_epochs=1,
        ).fit(X, y)


def test_bad_mode_is_a_clear_error(mixed_data):
    X, y = mixed_data
    with pytest.raises(ValueError, match="use_representation must be True, False or 'auto'"):
        MultiTaskEstimator(weighting="pcgrad", weighting__use_representation="yes", **FAST).fit(
            X, y
        )


def test_representation_level_is_an_approximation_that_still_trains(mixed_data):
    """Not the exact weights (the Gramians differ), but the same kind of fit."""
    X, y = mixed_data
    kw = {**FAST, "max_epochs": 30}
    rep = MultiTaskEstimator(weighting="upgrad", weighting__use_representation=True, **kw)
    exact = MultiTaskEstimator(weighting="upgrad", **kw)
    h_rep, h_exact = rep.fit(X, y).history_, exact.fit(X, y).history_
    assert h_rep[-1, "train_loss"] < 0.6 * h_rep[0, "train_loss"]
    assert h_rep[-1, "train_loss"] < 1.5 * h_exact[-1, "train_loss"]
