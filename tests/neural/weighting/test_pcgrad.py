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

from skmtl.neural.weighting._pcgrad import PCGrad, pcgrad_coefficients
from skmtl.neural.weighting._utils import random_orders


def vector_pcgrad(J, orders):
    """Independent reference: Algorithm 1 of Yu et al. (2020) on the gradient vectors."""
    out = []
    for i, g in enumerate(J):
        g = g.copy()
        for j in orders[i]:
            if g @ J[j] < 0:
                g -= (g @ J[j]) / (J[j] @ J[j]) * J[j]
        out.append(g)
    return np.array(out)


@pytest.mark.parametrize("case", ["conflict2", "torchjd"])
def test_two_tasks_no_conflict_remains(case):
    J = CASES[case]
    C = pcgrad_coefficients(J @ J.T, [np.array([1]), np.array([0])])
    projected = C @ J
    assert projected[0] @ J[1] >= -1e-12 and projected[1] @ J[0] >= -1e-12
    # the conflicting ones are exactly orthogonal after the projection
    np.testing.assert_allclose([projected[0] @ J[1], projected[1] @ J[0]], 0.0, atol=1e-12)
    np.testing.assert_allclose(direction(PCGrad(), J), projected.sum(0), atol=1e-12)


@pytest.mark.parametrize("case", ["random3x5", "random5x8", "dependent"])
def test_matches_vector_algorithm_and_last_projection_holds(case):
    J = CASES[case]
    orders = random_orders(len(J), torch.Generator().manual_seed(3))
    C = pcgrad_coefficients(J @ J.T, orders)
    np.testing.assert_allclose(C @ J, vector_pcgrad(J, orders), atol=1e-12)
    for i, order in enumerate(orders):  # no conflict with the last gradient projected on
        assert (C @ J)[i] @ J[order[-1]] >= -1e-12


def test_golden_values():
    # g1 = (1, 0), g2 = (-1, 1): g1 -> (1/2, 1/2), g2 -> (0, 1); sum (1/2, 3/2)
    np.testing.assert_allclose(direction(PCGrad(), CASES["conflict2"]), [0.5, 1.5], atol=1e-12)
    # TorchJD's documented PCGrad example
    np.testing.assert_allclose(
        direction(PCGrad(), CASES["torchjd"]), [0.5848, 3.8012, 3.8012], atol=1e-4
    )
    # non-conflicting gradients are summed
    np.testing.assert_allclose(weights(PCGrad(), CASES["acute3"]), [1, 1, 1])


def test_random_state_reproducible_and_setup_reseeds():
    J = CASES["random5x8"]
    s = PCGrad(random_state=0)
    w1 = [weights(s, J) for _ in range(3)]
    s.setup(list("abcde"), {})
    w2 = [weights(s, J) for _ in range(3)]
    np.testing.assert_allclose(w1, w2)
    np.testing.assert_allclose(weights(PCGrad(random_state=0), J), w1[0])


@pytest.mark.parametrize("case", ["random3x5", "random5x8"])
def test_common_properties(case):
    J = CASES[case]

    def make():
        return PCGrad(random_state=0)

    assert_gramian_consistent(make, J)
    assert_scaling(make, J, power=0)
    assert_permutation_equivariant(PCGrad, CASES["torchjd"])  # order-free with two tasks


def test_degenerate_and_interface():
    assert_finite_on_degenerate(PCGrad)
    assert_interface(PCGrad, "pcgrad", {"random_state": None, "use_representation": False})
    assert_rejects_bad_gramian(PCGrad)
