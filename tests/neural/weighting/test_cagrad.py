import numpy as np
import pytest
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
from scipy.optimize import minimize

from skmtl.neural.weighting._cagrad import CAGrad


def scipy_primal(J, c):
    """Independent reference: max_d min_t g_t'd s.t. ||d - g0|| <= c||g0||, as an epigraph
    problem in (d, z) solved by SLSQP."""
    g0 = J.mean(0)
    r = c * np.linalg.norm(g0)
    dim = J.shape[1]
    cons = [
        {"type": "ineq", "fun": lambda x: J @ x[:dim] - x[dim]},
        {"type": "ineq", "fun": lambda x: r**2 - (x[:dim] - g0) @ (x[:dim] - g0)},
    ]
    res = minimize(
        lambda x: -x[dim],
        np.append(g0, (J @ g0).min()),
        method="SLSQP",
        constraints=cons,
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    return res.x[:dim]


@pytest.mark.parametrize("case", sorted(CASES))
def test_c_zero_is_the_mean_gradient(case):
    J = CASES[case]
    np.testing.assert_allclose(direction(CAGrad(c=0.0), J), J.mean(0), atol=1e-12)


@pytest.mark.parametrize("case", ["conflict2", "torchjd", "random3x5", "random5x8"])
@pytest.mark.parametrize("c", [0.2, 0.5, 0.9])
def test_solves_the_primal_problem(case, c):
    J = CASES[case]
    d = direction(CAGrad(c=c, rescale=False), J)
    g0 = J.mean(0)
    assert np.linalg.norm(d - g0) <= c * np.linalg.norm(g0) * (1 + 1e-6)  # in the ball
    ref = scipy_primal(J, c)
    assert (J @ d).min() >= (J @ ref).min() - 1e-6  # at least as good a worst-case improvement
    np.testing.assert_allclose(d, ref, atol=1e-4)


def test_rescale_divides_by_one_plus_c_squared():
    J = CASES["random3x5"]
    np.testing.assert_allclose(
        weights(CAGrad(c=0.5), J), weights(CAGrad(c=0.5, rescale=False), J) / 1.25, atol=1e-12
    )


def test_golden_values():
    # TorchJD's documented CAGrad(c=0.5) example (no rescaling)
    np.testing.assert_allclose(
        direction(CAGrad(c=0.5, rescale=False), CASES["torchjd"]),
        [0.1835, 1.2041, 1.2041],
        atol=1e-4,
    )


def test_rejects_negative_c():
    with pytest.raises(ValueError, match="c must be non-negative"):
        weights(CAGrad(c=-1.0), CASES["conflict2"])


@pytest.mark.parametrize("case", ["random3x5", "random5x8"])
def test_common_properties(case):
    J = CASES[case]
    assert_gramian_consistent(CAGrad, J)
    assert_permutation_equivariant(CAGrad, J, atol=1e-7)
    assert_scaling(CAGrad, J, power=0, atol=1e-7)


def test_degenerate_and_interface():
    assert_finite_on_degenerate(CAGrad)
    assert_interface(CAGrad, "cagrad", {"c": 0.4, "rescale": True, "use_representation": False})
    assert_rejects_bad_gramian(CAGrad)
