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

from skmtl.neural.weighting._aligned_mtl import AlignedMTL, balance_transformation


@pytest.mark.parametrize("case", ["orthogonal", "conflict2", "torchjd", "acute3", "random3x5"])
def test_aligned_gradients_are_orthogonal_with_norm_sigma_min(case):
    J = CASES[case]
    B = balance_transformation(J @ J.T)
    aligned = B @ J
    sigma_min = np.linalg.svd(J, compute_uv=False).min()
    np.testing.assert_allclose(aligned @ aligned.T, sigma_min**2 * np.eye(len(J)), atol=1e-9)
    # independent reference from the SVD J = U S W': the aligned matrix is sigma_min U W'
    U, _, Wt = np.linalg.svd(J, full_matrices=False)
    np.testing.assert_allclose(aligned, sigma_min * U @ Wt, atol=1e-9)


@pytest.mark.parametrize("case", ["orthogonal", "torchjd", "acute3", "random3x5"])
def test_aggregate_is_the_mean_aligned_gradient(case):
    J = CASES[case]
    d = direction(AlignedMTL(), J)
    aligned = balance_transformation(J @ J.T) @ J
    np.testing.assert_allclose(d, aligned.mean(0), atol=1e-10)
    # equal inner products sigma_min^2 / T with every aligned gradient
    sigma_min = np.linalg.svd(J, compute_uv=False).min()
    np.testing.assert_allclose(aligned @ d, sigma_min**2 / len(J), atol=1e-10)


def test_rank_deficient_uses_the_span():
    J = CASES["dependent"]
    G = J @ J.T
    B = balance_transformation(G)
    lam = np.linalg.eigvalsh(G)
    lam = lam[lam > 1e-9]
    P = J @ np.linalg.pinv(J)  # projector onto the span of the rows' coefficients
    np.testing.assert_allclose(B @ G @ B, lam.min() * P, atol=1e-9)


def test_golden_values():
    np.testing.assert_allclose(weights(AlignedMTL(), [[2.0, 0.0], [0.0, 1.0]]), [0.25, 0.5])
    # TorchJD's documented AlignedMTL example
    np.testing.assert_allclose(
        direction(AlignedMTL(), CASES["torchjd"]), [0.2133, 0.9673, 0.9673], atol=1e-4
    )


def test_pref_vector():
    J = CASES["random3x5"]
    w = weights(AlignedMTL(pref_vector=[1.0, 1.0, 1.0]), J)
    np.testing.assert_allclose(w, 3 * weights(AlignedMTL(), J))
    with pytest.raises(ValueError, match="expected one per task"):
        weights(AlignedMTL(pref_vector=[1.0]), J)


@pytest.mark.parametrize("case", ["random3x5", "random5x8", "torchjd"])
def test_common_properties(case):
    J = CASES[case]
    assert_gramian_consistent(AlignedMTL, J)
    assert_permutation_equivariant(AlignedMTL, J)
    assert_scaling(AlignedMTL, J, power=0)


def test_degenerate_and_interface():
    assert_finite_on_degenerate(AlignedMTL)
    assert_interface(AlignedMTL, "aligned_mtl", {"pref_vector": None, "use_representation": False})
    assert_rejects_bad_gramian(AlignedMTL)
