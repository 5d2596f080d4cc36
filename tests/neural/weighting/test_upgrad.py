import numpy as np
import pytest
from _properties import (
    CASES,
    assert_finite_on_degenerate,
    assert_gramian_consistent,
    assert_interface,
    assert_non_conflicting,
    assert_permutation_equivariant,
    assert_rejects_bad_gramian,
    assert_scaling,
    direction,
    weights,
)
from scipy.optimize import minimize

from skmtl.neural.weighting._upgrad import UPGrad


def scipy_dual_cone_projection(J, x):
    """Independent reference: min ||y - x||^2 s.t. J y >= 0, by SLSQP in the primal."""
    res = minimize(
        lambda y: (y - x) @ (y - x),
        x,
        jac=lambda y: 2 * (y - x),
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda y: J @ y, "jac": lambda y: J}],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    return res.x


@pytest.mark.parametrize("case", sorted(CASES))
def test_aggregate_does_not_conflict(case):
    J = CASES[case]
    assert_non_conflicting(direction(UPGrad(), J), J)


@pytest.mark.parametrize("seed", range(15))
def test_random_problems_non_conflicting_and_against_scipy(seed):
    rng = np.random.default_rng(seed)
    J = rng.normal(size=(rng.integers(2, 7), rng.integers(2, 8)))
    d = direction(UPGrad(), J)
    assert_non_conflicting(d, J)
    ref = np.mean([scipy_dual_cone_projection(J, g) for g in J], axis=0)
    np.testing.assert_allclose(d, ref, atol=1e-5)


def test_non_conflicting_gradients_give_the_mean():
    J = CASES["acute3"]  # all inner products positive
    np.testing.assert_allclose(weights(UPGrad(), J), np.full(3, 1 / 3), atol=1e-12)
    np.testing.assert_allclose(weights(UPGrad(pref_vector=[1.0, 2.0, 3.0]), J), [1, 2, 3])


def test_golden_values():
    # g1 = (1, 0), g2 = (-1, 1): g1 projects to (1/2, 1/2) (onto g2's normal plane), g2 projects
    # to (0, 1) (onto g1's); the mean is (1/4, 3/4).
    np.testing.assert_allclose(direction(UPGrad(), CASES["conflict2"]), [0.25, 0.75], atol=1e-12)
    # TorchJD documents [0.2929, 1.9004, 1.9004] for its default reg_eps=1e-4 ridge; the exact
    # projections (no ridge) give the values below, within 1e-3 of it.
    d = direction(UPGrad(), CASES["torchjd"])
    np.testing.assert_allclose(d, [0.2929, 1.9004, 1.9004], atol=1e-3)
    J = CASES["torchjd"]
    ref = np.mean([scipy_dual_cone_projection(J, g) for g in J], axis=0)
    np.testing.assert_allclose(d, ref, atol=1e-6)


def test_pref_vector_checks_length():
    with pytest.raises(ValueError, match="expected one per task"):
        weights(UPGrad(pref_vector=[1.0, 2.0]), CASES["acute3"])


@pytest.mark.parametrize("case", ["random3x5", "random5x8", "torchjd"])
def test_common_properties(case):
    J = CASES[case]
    assert_gramian_consistent(UPGrad, J)
    assert_permutation_equivariant(UPGrad, J, atol=1e-8)
    assert_scaling(UPGrad, J, power=0, atol=1e-8)


def test_degenerate_and_interface():
    assert_finite_on_degenerate(UPGrad)
    assert_interface(UPGrad, "upgrad", {"pref_vector": None, "use_representation": False})
    assert_rejects_bad_gramian(UPGrad)
