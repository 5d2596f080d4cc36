import numpy as np
import pytest
import torch
from _properties import (
    CASES,
    assert_finite_on_degenerate,
    assert_interface,
    t,
)

from skmtl.neural.weighting._graddrop import GradDrop


def test_each_coordinate_keeps_one_sign():
    rng = np.random.default_rng(0)
    J = t(rng.normal(size=(4, 200)))
    s = GradDrop(random_state=0)
    d = s.aggregate(J, torch.ones(4), epoch=0, step=0)
    # reconstruct the mask from the same uniform draws
    u = torch.rand(200, generator=torch.Generator().manual_seed(0), dtype=J.dtype)
    purity = 0.5 * (1 + J.sum(0) / J.abs().sum(0))
    keep_pos = purity > u
    kept = torch.where(keep_pos, J.clamp(min=0), J.clamp(max=0))
    torch.testing.assert_close(d, kept.sum(0))
    # every coordinate: only gradients of one sign contribute, and d has that sign
    assert torch.all((d >= 0) | ~keep_pos) and torch.all((d <= 0) | keep_pos)


def test_same_signs_are_summed_and_purity_extremes():
    J = t([[1.0, -2.0, 0.5], [3.0, -1.0, 0.0]])
    d = GradDrop(random_state=0).aggregate(J, torch.ones(2), epoch=0, step=0)
    torch.testing.assert_close(d, J.sum(0))


def test_sign_frequency_follows_purity():
    # coordinate with sum 1 and total |g| 3: P = 2/3, so the positive gradient wins ~2/3 of draws
    J = t(np.tile([[2.0], [-1.0]], (1, 20000)))
    d = GradDrop(random_state=1).aggregate(J, torch.ones(2), epoch=0, step=0)
    assert abs((d > 0).double().mean().item() - 2 / 3) < 0.02


def test_leak_one_is_the_sum_and_weights():
    J = t(CASES["random5x8"])
    d = GradDrop(leak=1.0, random_state=0).aggregate(J, torch.ones(5), epoch=0, step=0)
    torch.testing.assert_close(d, J.sum(0))
    s = GradDrop(random_state=0)
    s.aggregate(J, torch.ones(5), epoch=0, step=0)
    w = s.last_weights_
    assert w.shape == (5,) and torch.all((w >= 0) & (w <= 1))


def test_random_state_reproducible_and_global_rng():
    J = t(CASES["random5x8"])
    s = GradDrop(random_state=3)
    d1 = s.aggregate(J, torch.ones(5), epoch=0, step=0)
    s.setup(list("abcde"), {})
    torch.testing.assert_close(s.aggregate(J, torch.ones(5), epoch=0, step=0), d1)
    torch.manual_seed(0)
    a = GradDrop().aggregate(J, torch.ones(5), epoch=0, step=0)
    torch.manual_seed(0)
    torch.testing.assert_close(GradDrop().aggregate(J, torch.ones(5), epoch=0, step=0), a)


def test_permutation_invariant_and_linear_under_scaling():
    J = t(CASES["random5x8"])
    d = GradDrop(random_state=0).aggregate(J, torch.ones(5), epoch=0, step=0)
    perm = torch.tensor([3, 1, 4, 0, 2])
    d_perm = GradDrop(random_state=0).aggregate(J[perm], torch.ones(5), epoch=0, step=0)
    torch.testing.assert_close(d_perm, d)
    d_scaled = GradDrop(random_state=0).aggregate(7.0 * J, torch.ones(5), epoch=0, step=0)
    torch.testing.assert_close(d_scaled, 7.0 * d)


def test_needs_gradients():
    assert GradDrop.needs_gradients
    with pytest.raises(NotImplementedError, match="needs the per-task gradients"):
        GradDrop().weights_from_gramian(torch.eye(2), torch.ones(2), epoch=0, step=0)
    with pytest.raises(ValueError, match="leak must be in"):
        GradDrop(leak=2.0).aggregate(t(CASES["conflict2"]), torch.ones(2), epoch=0, step=0)


def test_degenerate_and_interface():
    assert_finite_on_degenerate(GradDrop)
    assert_interface(
        GradDrop, "graddrop", {"leak": 0.0, "random_state": None, "use_representation": False}
    )
