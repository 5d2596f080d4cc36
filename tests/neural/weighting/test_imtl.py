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

from skmtl.neural.weighting._imtl import IMTLG


def paper_formula(J):
    """Independent reference: alpha_{2:T} = g_1 U' (D U')^{-1} (Liu et al. 2021, eq. 8)."""
    u = J / np.linalg.norm(J, axis=1, keepdims=True)
    D = J[0] - J[1:]
    U = u[0] - u[1:]
    a = J[0] @ U.T @ np.linalg.inv(D @ U.T)
    return np.concatenate([[1 - a.sum()], a])


@pytest.mark.parametrize("case", ["orthogonal", "conflict2", "torchjd", "acute3", "random3x5"])
def test_equal_projections_on_unit_gradients(case):
    J = CASES[case]
    s = IMTLG()
    d = direction(s, J)
    proj = (J / np.linalg.norm(J, axis=1, keepdims=True)) @ d
    np.testing.assert_allclose(proj, proj[0], atol=1e-9)
    np.testing.assert_allclose(s.last_weights_.sum().item(), 1.0)
    np.testing.assert_allclose(s.last_weights_.numpy(), paper_formula(J), atol=1e-9)


def test_golden_values():
    # g1 = (1, 0), g2 = (0, 3): alpha proportional to G^{-1} n = (1, 1/3)
    np.testing.assert_allclose(weights(IMTLG(), [[1.0, 0.0], [0.0, 3.0]]), [0.75, 0.25])
    # TorchJD's documented IMTLG example
    np.testing.assert_allclose(direction(IMTLG(), CASES["torchjd"]), [0.0767, 1, 1], atol=1e-4)


def test_zero_gradient_task_gets_zero_weight():
    w = weights(IMTLG(), [[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(w, [2 / 3, 0.0, 1 / 3], atol=1e-12)


@pytest.mark.parametrize("case", ["random3x5", "random5x8", "torchjd"])
def test_common_properties(case):
    J = CASES[case]
    assert_gramian_consistent(IMTLG, J)
    assert_permutation_equivariant(IMTLG, J)
    assert_scaling(IMTLG, J, power=0)


def test_degenerate_and_interface():
    assert_finite_on_degenerate(IMTLG)
    assert_interface(IMTLG, "imtl", {"use_representation": False})
    assert_rejects_bad_gramian(IMTLG)
