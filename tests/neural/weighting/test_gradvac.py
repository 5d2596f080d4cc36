import numpy as np
import pytest
import torch
from _properties import (
    CASES,
    assert_finite_on_degenerate,
    assert_gramian_consistent,
    assert_interface,
    assert_permutation_equivariant,
    assert_rejects_bad_gramian,
    assert_scaling,
    direction,
    weights,
)

from skmtl.neural.weighting._gradvac import GradVac
from skmtl.neural.weighting._pcgrad import PCGrad
from skmtl.neural.weighting._utils import random_orders


def vector_gradvac(J, orders, targets, beta):
    """Independent reference: Algorithm 1 of Wang et al. (2021) on the gradient vectors."""
    out = []
    for i in range(len(J)):
        g = J[i].copy()
        for j in orders[i]:
            gj = J[j]
            phi = g @ gj / (np.linalg.norm(g) * np.linalg.norm(gj))
            tgt = targets[i, j]
            if phi < tgt:
                g = (
                    g
                    + np.linalg.norm(g)
                    * (tgt * np.sqrt(1 - phi**2) - phi * np.sqrt(1 - tgt**2))
                    / (np.linalg.norm(gj) * np.sqrt(1 - tgt**2))
                    * gj
                )
            targets[i, j] = (1 - beta) * tgt + beta * phi
        out.append(g)
    return np.array(out).sum(0)


def test_beta_zero_non_conflicting_is_the_sum():
    J = CASES["acute3"]
    s = GradVac(beta=0.0)
    for _ in range(3):
        np.testing.assert_allclose(direction(s, J), J.sum(0), atol=1e-12)


@pytest.mark.parametrize("case", ["conflict2", "torchjd", "random3x5"])
def test_beta_zero_is_pcgrad(case):
    J = CASES[case]
    np.testing.assert_allclose(
        weights(GradVac(beta=0.0, random_state=1), J),
        weights(PCGrad(random_state=1), J),
        atol=1e-12,
    )


@pytest.mark.parametrize("case", ["random3x5", "random5x8"])
def test_matches_vector_algorithm_over_steps(case):
    J0 = CASES[case]
    s = GradVac(beta=0.3, random_state=4)
    gen = torch.Generator().manual_seed(4)
    targets = np.zeros((len(J0), len(J0)))
    rng = np.random.default_rng(0)
    for _step in range(4):
        J = J0 + 0.3 * rng.normal(size=J0.shape)
        ref = vector_gradvac(J, random_orders(len(J), gen), targets, 0.3)
        np.testing.assert_allclose(direction(s, J), ref, atol=1e-10)
        np.testing.assert_allclose(s.targets_, targets, atol=1e-12)


def test_cosine_reaches_the_target():
    # two tasks, target raised above the current cosine: after the update cos(g1', g2) = target
    J = CASES["conflict2"]
    s = GradVac(beta=0.5, random_state=0)
    s.targets_ = np.array([[0.0, 0.4], [0.4, 0.0]])
    w = weights(s, J)
    g1, g2 = J
    phi = g1 @ g2 / np.linalg.norm(g1) / np.linalg.norm(g2)
    a = (
        np.linalg.norm(g1)
        * (0.4 * np.sqrt(1 - phi**2) - phi * np.sqrt(1 - 0.4**2))
        / (np.linalg.norm(g2) * np.sqrt(1 - 0.4**2))
    )
    g1_new = g1 + a * g2
    np.testing.assert_allclose(g1_new @ g2 / np.linalg.norm(g1_new) / np.linalg.norm(g2), 0.4)
    b = (
        np.linalg.norm(g2)
        * (0.4 * np.sqrt(1 - phi**2) - phi * np.sqrt(1 - 0.4**2))
        / (np.linalg.norm(g1) * np.sqrt(1 - 0.4**2))
    )
    np.testing.assert_allclose(w, [1 + b, 1 + a], atol=1e-12)
    np.testing.assert_allclose(s.targets_, [[0.0, 0.2 + 0.5 * phi], [0.2 + 0.5 * phi, 0.0]])


def test_setup_resets_the_targets():
    s = GradVac(beta=0.5)
    weights(s, CASES["random3x5"])
    assert np.any(s.targets_ != 0)
    s.setup(["a", "b", "c"], {})
    assert s.targets_ is None
    with pytest.raises(ValueError, match="beta must be in"):
        weights(GradVac(beta=2.0), CASES["random3x5"])


@pytest.mark.parametrize("case", ["random3x5", "random5x8"])
def test_common_properties(case):
    J = CASES[case]

    def make():
        return GradVac(beta=0.5, random_state=0)

    assert_gramian_consistent(make, J)
    assert_scaling(make, J, power=0)
    assert_permutation_equivariant(GradVac, CASES["torchjd"])


def test_degenerate_and_interface():
    assert_finite_on_degenerate(GradVac)
    assert_interface(
        GradVac, "gradvac", {"beta": 0.01, "random_state": None, "use_representation": False}
    )
    assert_rejects_bad_gramian(GradVac)
