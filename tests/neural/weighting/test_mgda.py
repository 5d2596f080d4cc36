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

from skmtl.neural.weighting._mgda import MGDA
from skmtl.neural.weighting._utils import _min_norm_nnls, _min_norm_two, min_norm_simplex


def scipy_min_norm(J):
    """Independent reference: SLSQP on the simplex."""
    G = J @ J.T
    T = len(J)
    res = minimize(
        lambda w: w @ G @ w,
        np.full(T, 1 / T),
        jac=lambda w: 2 * G @ w,
        bounds=[(0, 1)] * T,
        method="SLSQP",
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
        options={"ftol": 1e-16, "maxiter": 1000},
    )
    return res.x @ J


@pytest.mark.parametrize("case", sorted(CASES))
def test_min_norm_element_of_convex_hull(case):
    J = CASES[case]
    s = MGDA()
    d = direction(s, J)
    w = s.last_weights_.numpy()
    assert np.all(w >= 0) and np.isclose(w.sum(), 1.0)
    ref = scipy_min_norm(J)
    assert d @ d <= ref @ ref + 1e-10
    np.testing.assert_allclose(d, ref, atol=1e-5)
    # optimality: d'g_t >= ||d||^2 for every t (d is a common descent direction)
    assert np.all(J @ d >= d @ d - 1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_random_problems_against_scipy(seed):
    rng = np.random.default_rng(seed)
    J = rng.normal(size=(rng.integers(3, 9), rng.integers(2, 10)))
    d = direction(MGDA(), J)
    ref = scipy_min_norm(J)
    assert d @ d <= ref @ ref + 1e-10


@pytest.mark.parametrize("case", ["conflict2", "torchjd"])
def test_two_tasks_closed_form(case):
    g1, g2 = CASES[case]
    gamma = np.clip((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2)), 0, 1)
    np.testing.assert_allclose(
        direction(MGDA(), CASES[case]), gamma * g1 + (1 - gamma) * g2, atol=1e-12
    )
    # the general exact solver agrees with the closed form
    G = CASES[case] @ CASES[case].T
    np.testing.assert_allclose(_min_norm_nnls(G), _min_norm_two(G), atol=1e-10)


def test_golden_values():
    # hand-computed: g1 = (1, 0), g2 = (0, 2): gamma = 4 / 5
    np.testing.assert_allclose(weights(MGDA(), [[1.0, 0.0], [0.0, 2.0]]), [0.8, 0.2])
    # TorchJD's documented example: MGDA(J) = (0, 1, 1)
    np.testing.assert_allclose(direction(MGDA(), CASES["torchjd"]), [0, 1, 1], atol=1e-12)
    # one gradient dominated: the hull's min-norm point is the shortest when it is a vertex
    np.testing.assert_allclose(weights(MGDA(), [[1.0, 0.0], [3.0, 0.0]]), [1.0, 0.0])


def test_zero_in_hull_gives_zero_direction():
    d = direction(MGDA(), [[1.0, 2.0], [-1.0, -2.0], [0.0, 1.0]])
    np.testing.assert_allclose(d, 0.0, atol=1e-12)
    assert np.allclose(min_norm_simplex(np.zeros((3, 3))), 1 / 3)


def test_normalizations():
    J = np.array([[10.0, 0.0], [0.0, 1.0]])
    d = direction(MGDA(normalization="l2"), J)  # gradients of unit norm: min-norm of e1, e2
    np.testing.assert_allclose(d, [0.5, 0.5])
    w_loss = weights(MGDA(normalization="loss"), J)  # losses 0.5 and 1.5
    Jn = J / np.array([[0.5], [1.5]])
    np.testing.assert_allclose(w_loss @ J, scipy_min_norm(Jn), atol=1e-6)
    with pytest.raises(ValueError, match="normalization must be one of"):
        weights(MGDA(normalization="l1"), J)


@pytest.mark.parametrize("case", ["random3x5", "random5x8", "dependent"])
def test_common_properties(case):
    J = CASES[case]
    assert_gramian_consistent(MGDA, J)
    assert_permutation_equivariant(MGDA, J, atol=1e-7)
    assert_scaling(MGDA, J, power=0, atol=1e-7)


def test_degenerate_and_interface():
    assert_finite_on_degenerate(MGDA)
    assert_interface(MGDA, "mgda", {"normalization": "none", "use_representation": "auto"})
    assert_rejects_bad_gramian(MGDA)
    assert MGDA.representation_ok and not MGDA.needs_gradients
