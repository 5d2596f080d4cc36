"""Per-task masked losses against hand-computed references."""

import numpy as np
import pytest
import torch
from torch import nn

from skmtl.neural import MaskedTaskLoss, MultiTaskLoss, StaticWeighting

NAN = float("nan")


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _reference(logits, codes, values, targets, weights):
    """Weighted sum of per-task means over labelled samples, in numpy float64."""
    c_lab = ~np.isnan(codes)
    ce = -_log_softmax(logits)[np.arange(len(codes))[c_lab], codes[c_lab].astype(int)]
    r_lab = ~np.isnan(targets)
    se = (values[r_lab] - targets[r_lab]) ** 2
    per_task = {"c": ce.mean() if ce.size else 0.0, "r": se.mean() if se.size else 0.0}
    return per_task, weights["c"] * per_task["c"] + weights["r"] * per_task["r"]


@pytest.mark.parametrize("complete", [None, False])
def test_masked_loss_equals_hand_computed(complete):
    rng = np.random.RandomState(0)
    logits = rng.normal(size=(8, 3))
    codes = np.array([0, 2, NAN, 1, 1, NAN, 0, 2])
    values = rng.normal(size=8)
    targets = np.array([0.5, NAN, NAN, 1.0, -2.0, 0.0, NAN, 3.0])
    weights = {"c": 0.7, "r": 2.0}
    crit = MultiTaskLoss({"c": "classification", "r": "regression"})
    y_true = torch.tensor(np.column_stack([codes, targets]), dtype=torch.float64)
    y_pred = {"c": torch.tensor(logits), "r": torch.tensor(values)[:, None]}
    kwargs = {} if complete is None else {"complete": [False, False]}
    losses = crit(y_pred, y_true, **kwargs)
    total = StaticWeighting(weights)(losses)
    per_task, expected = _reference(logits, codes, values, targets, weights)
    assert float(losses["c"]) == pytest.approx(per_task["c"], rel=1e-12)
    assert float(losses["r"]) == pytest.approx(per_task["r"], rel=1e-12)
    assert float(total) == pytest.approx(expected, rel=1e-12)


def test_task_without_labels_gives_zero_loss_and_zero_gradient():
    out = torch.randn(4, 3, requires_grad=True)
    val = torch.randn(4, requires_grad=True)
    crit = MultiTaskLoss({"c": "classification", "r": "regression"})
    y_true = torch.tensor([[NAN, 1.0], [NAN, 2.0], [NAN, 0.0], [NAN, 1.0]])
    losses = crit({"c": out, "r": val}, y_true)
    assert float(losses["c"].detach()) == 0.0
    StaticWeighting({"c": 1.0, "r": 1.0})(losses).backward()
    assert torch.equal(out.grad, torch.zeros_like(out))
    assert torch.isfinite(val.grad).all() and val.grad.abs().sum() > 0


def test_missing_labels_get_no_gradient():
    val = torch.zeros(3, requires_grad=True)
    loss = MaskedTaskLoss("regression")(val, torch.tensor([1.0, NAN, 3.0]))
    loss.backward()
    # d/dv mean((v - y)^2) over the two labelled samples = (v - y) for each of them.
    np.testing.assert_allclose(val.grad.numpy(), [-1.0, 0.0, -3.0])


@pytest.mark.parametrize(
    "loss, reference",
    [
        ("l1", lambda d: np.abs(d).mean()),
        ("huber", lambda d: np.where(np.abs(d) < 1, 0.5 * d**2, np.abs(d) - 0.5).mean()),
        (nn.L1Loss(), lambda d: np.abs(d).mean()),
        (nn.HuberLoss, lambda d: np.where(np.abs(d) < 1, 0.5 * d**2, np.abs(d) - 0.5).mean()),
        (lambda a, b: ((a - b) ** 4).mean(), lambda d: (d**4).mean()),
    ],
)
def test_regression_task_losses_on_labelled_samples(loss, reference):
    pred = torch.tensor([0.0, 1.0, 2.0, 5.0])
    target = torch.tensor([0.5, NAN, 4.0, 5.5])
    got = MaskedTaskLoss("regression", loss)(pred, target)
    d = np.array([-0.5, -2.0, -0.5])
    assert float(got) == pytest.approx(reference(d), rel=1e-6)


def test_custom_loss_without_labels_is_zero():
    pred = torch.tensor([1.0, 2.0], requires_grad=True)
    got = MaskedTaskLoss("regression", nn.L1Loss())(pred, torch.tensor([NAN, NAN]))
    assert float(got.detach()) == 0.0


def test_loss_validation():
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        MaskedTaskLoss("regression", "hinge")
    with pytest.raises(ValueError, match="does not suit a regression task"):
        MaskedTaskLoss("regression", "cross_entropy")
    with pytest.raises(ValueError, match="does not suit a classification task"):
        MaskedTaskLoss("classification", "mse")
    with pytest.raises(TypeError, match="must be a string or a callable"):
        MaskedTaskLoss("regression", 3)


def test_module_output_missing_a_task_is_named():
    crit = MultiTaskLoss({"a": "regression", "b": "regression"})
    with pytest.raises(ValueError, match="no entry for task 'b'"):
        crit({"a": torch.zeros(2)}, torch.zeros(2, 2))


def test_static_weighting_skips_zero_weight_tasks_without_nan():
    w = StaticWeighting({"a": 0.0, "b": 2.0})
    assert float(w({"a": torch.tensor(3.0), "b": torch.tensor(0.5)})) == 1.0
