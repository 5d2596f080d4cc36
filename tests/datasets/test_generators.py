"""The generators' returned truth has the requested structure."""

import numpy as np
import pytest

from skmtl.datasets import (
    make_mmoe_synthetic,
    make_multitask_classification,
    make_multitask_regression,
)


def _support(coef):
    return np.flatnonzero(np.abs(coef).sum(axis=0) > 0)


@pytest.mark.parametrize("n_informative", [1, 4, 12])
def test_shared_support(n_informative):
    X, Y, coef = make_multitask_regression(40, 12, 5, n_informative=n_informative, random_state=0)
    assert len(_support(coef)) == n_informative
    # shared: every task is non-zero on every support feature, zero elsewhere
    assert np.all(coef[:, _support(coef)] != 0)


@pytest.mark.parametrize("rank", [1, 2, 4])
def test_rank(rank):
    _, _, coef = make_multitask_regression(30, 15, 6, n_informative=8, rank=rank, random_state=1)
    s = np.linalg.svd(coef, compute_uv=False)
    assert np.linalg.matrix_rank(coef) == rank
    assert s[rank - 1] > 1e-3 * s[0]


def test_full_rank_and_noise_free_targets():
    X, Y, coef = make_multitask_regression(30, 6, 4, noise=0.0, random_state=2)
    assert np.linalg.matrix_rank(coef) == 4
    np.testing.assert_allclose(Y, X @ coef.T)


def test_clusters_exact_and_spread():
    _, _, coef = make_multitask_regression(10, 8, 6, n_clusters=3, cluster_std=0.0, random_state=3)
    labels = np.arange(6) * 3 // 6  # contiguous blocks, as documented
    for g in range(3):
        block = coef[labels == g]
        np.testing.assert_allclose(block, np.broadcast_to(block[0], block.shape))
    assert len(np.unique(coef.round(10), axis=0)) == 3
    assert np.linalg.matrix_rank(coef) == 3

    _, _, coef = make_multitask_regression(
        10, 30, 12, n_clusters=3, cluster_std=0.05, random_state=4
    )
    labels = np.arange(12) * 3 // 12
    dist = np.linalg.norm(coef[:, None] - coef[None], axis=2)
    same = labels[:, None] == labels[None]
    assert dist[same].max() < dist[~same].min()


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.6])
def test_missing_fraction(fraction):
    _, Y, _ = make_multitask_regression(20, 3, 5, missing_fraction=fraction, random_state=5)
    assert np.isnan(Y).sum() == round(fraction * Y.size)
    assert (~np.isnan(Y)).sum(axis=0).min() >= 2


def test_regression_is_reproducible_and_validates():
    a = make_multitask_regression(10, 4, 3, rank=2, random_state=7)
    b = make_multitask_regression(10, 4, 3, rank=2, random_state=7)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    with pytest.raises(ValueError, match="rank must be an integer between 1 and 3"):
        make_multitask_regression(10, 4, 3, rank=4)
    with pytest.raises(ValueError, match="missing_fraction"):
        make_multitask_regression(10, 4, 3, missing_fraction=1.0)
    with pytest.raises(ValueError, match="fewer than 2 labels"):
        make_multitask_regression(4, 2, 2, missing_fraction=0.9)


def test_classification_structure_and_labels():
    X, Y, coef = make_multitask_classification(
        400, 10, 4, n_informative=3, rank=2, scale=20.0, random_state=0
    )
    assert Y.dtype.kind == "i" and set(np.unique(Y)) == {0, 1}
    assert len(_support(coef)) == 3 and np.linalg.matrix_rank(coef) == 2
    np.testing.assert_allclose(np.linalg.norm(coef, axis=1), 20.0)
    # nearly separable at a large scale: labels follow the sign of the true logit
    assert np.mean(Y == (X @ coef.T > 0)) > 0.95


def test_classification_missing_and_flips():
    _, Y, _ = make_multitask_classification(50, 4, 3, missing_fraction=0.2, random_state=1)
    assert Y.dtype.kind == "f" and np.isnan(Y).sum() == 30
    assert set(np.unique(Y[~np.isnan(Y)])) == {0.0, 1.0}
    X, Y, coef = make_multitask_classification(2000, 4, 2, scale=50.0, flip_y=1.0, random_state=2)
    assert abs(np.mean(Y == (X @ coef.T > 0)) - 0.5) < 0.05  # all labels random


@pytest.mark.parametrize("p", [-0.3, 0.0, 0.5, 0.9, 1.0])
def test_mmoe_cosine_and_formula(p):
    X, Y, coef = make_mmoe_synthetic(200, 30, correlation=p, scale=2.0, noise=0.0, random_state=0)
    w1, w2 = coef
    np.testing.assert_allclose(np.linalg.norm(coef, axis=1), 2.0)
    np.testing.assert_allclose(w1 @ w2 / (np.linalg.norm(w1) * np.linalg.norm(w2)), p, atol=1e-12)
    k = np.arange(1, 11)
    for i in range(2):
        z = X @ coef[i]
        expected = z + np.sin(k * z[:, None] + k**2).sum(axis=1)
        np.testing.assert_allclose(Y[:, i], expected)


def test_mmoe_label_correlation_grows_with_p():
    corr = []
    for p in [0.0, 0.5, 0.9, 1.0]:
        _, Y, _ = make_mmoe_synthetic(4000, 20, correlation=p, random_state=0)
        corr.append(np.corrcoef(Y.T)[0, 1])
    assert np.all(np.diff(corr) > 0)
    assert corr[-1] > 0.99
    with pytest.raises(ValueError, match="correlation"):
        make_mmoe_synthetic(10, 5, correlation=1.5)


def test_mmoe_same_seed_same_inputs_and_directions_at_every_p():
    # benchmarks compare correlations on the same inputs: only w2 may change with p
    X0, _, W0 = make_mmoe_synthetic(50, 10, correlation=0.5, random_state=3)
    X1, _, W1 = make_mmoe_synthetic(50, 10, correlation=1.0, random_state=3)
    np.testing.assert_array_equal(X0, X1)
    np.testing.assert_array_equal(W0[0], W1[0])


@pytest.mark.parametrize("make", [make_multitask_regression, make_multitask_classification])
def test_negative_and_outlier_tasks(make):
    X, Y, coef = make(
        60, 8, 7, n_informative=4, n_clusters=2, cluster_std=0.0, negative_fraction=1 / 3,
        n_outlier_tasks=1, random_state=0,
    )
    assert coef.shape == (7, 8)
    # regular tasks 0..5: clusters 0,0,0,1,1,1; the last round(6/3) = 2 negated
    C = np.corrcoef(coef[:6])
    np.testing.assert_allclose(C[0, 1], 1.0)
    np.testing.assert_allclose(C[3, 4:6], -1.0)
    np.testing.assert_allclose(C[4, 5], 1.0)
    # regular tasks share a support of 4 features; the outlier task uses every feature
    assert np.count_nonzero(np.abs(coef[:6]).sum(axis=0)) == 4
    assert np.count_nonzero(coef[6]) == 8
    # without the new options, the data are what they were
    a = make(30, 5, 4, n_clusters=2, random_state=1)
    b = make(30, 5, 4, n_clusters=2, negative_fraction=0.0, n_outlier_tasks=0, random_state=1)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_outlier_tasks": 4}, "n_outlier_tasks must be an integer between 0 and 3"),
        ({"n_outlier_tasks": -1}, "n_outlier_tasks"),
        ({"negative_fraction": 1.5}, "negative_fraction"),
        ({"n_outlier_tasks": 2, "n_clusters": 3}, "n_clusters must be an integer between 1 and 2"),
    ],
)
def test_negative_and_outlier_options_validate(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_multitask_regression(20, 3, 4, **kwargs)
