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
from scipy.optimize import root

from skmtl.neural.weighting._nash_mtl import NashMTL


@pytest.mark.parametrize("case", sorted(set(CASES) - {"dependent"}))
def test_bargaining_optimality_condition(case):
    J = CASES[case]
    G = J @ J.T
    s = NashMTL()
    d = direction(s, J)
    a = s.last_weights_.numpy()
    assert np.all(a > 0)
    np.testing.assert_allclose(G @ a, 1 / a, rtol=1e-6)
    np.testing.assert_allclose(J @ d, 1 / a, rtol=1e-6)  # every task improves by 1 / alpha_t
    np.testing.assert_allclose(d @ d, len(J), rtol=1e-6)  # ||d||^2 = T
    # independent reference: scipy's root finder on G a - 1 / a = 0
    ref = root(lambda x: G @ x - 1 / x, np.ones(len(J)), tol=1e-14).x
    np.testing.assert_allclose(a, ref, rtol=1e-6)


def test_golden_values():
    # G = diag(1, 4): alpha = (1, 1/2)
    np.testing.assert_allclose(weights(NashMTL(), [[1.0, 0.0], [0.0, 2.0]]), [1.0, 0.5])
    # G = [[1, c], [c, 1]]: by symmetry alpha = 1 / sqrt(1 + c)
    c = 0.3
    J = np.array([[1.0, 0.0], [c, np.sqrt(1 - c**2)]])
    np.testing.assert_allclose(weights(NashMTL(), J), np.full(2, 1 / np.sqrt(1 + c)))


def test_zero_gradient_task_is_left_out():
    w = weights(NashMTL(), [[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(w, [1.0, 0.0, 0.5], rtol=1e-9)


@pytest.mark.parametrize("case", ["random3x5", "random5x8", "torchjd"])
def test_common_properties(case):
    J = CASES[case]
    assert_gramian_consistent(NashMTL, J)
    assert_permutation_equivariant(NashMTL, J, atol=1e-7)
    assert_scaling(NashMTL, J, power=-1, atol=1e-7)  # the update is scale-free


def test_degenerate_and_interface():
    assert_finite_on_degenerate(NashMTL)
    assert_interface(
        NashMTL, "nash_mtl", {"max_iter": 100, "tol": 1e-10, "use_representation": False}
    )
    assert_rejects_bad_gramian(NashMTL)
