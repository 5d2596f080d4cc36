"""Shared property assertions and hand-made gradients for the gradient-level strategies.

Every helper takes a factory ``make`` (a zero-argument callable returning a fresh strategy) so
that stateful strategies (random orders, EMA targets) can be compared from the same state.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import clone

LOSSES_KW = {"epoch": 0, "step": 0}


def t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def losses(T: int) -> torch.Tensor:
    return torch.linspace(0.5, 1.5, T, dtype=torch.float64)


def _rng_matrix(seed: int, T: int, d: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(T, d))


#: Hand-made Jacobians (one row per task): named cases used across the method tests.
CASES = {
    "orthogonal": np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.5]]),
    "conflict2": np.array([[1.0, 0.0], [-1.0, 1.0]]),
    "torchjd": np.array([[-4.0, 1.0, 1.0], [6.0, 1.0, 1.0]]),
    "acute3": np.array([[1.0, 0.2, 0.0, 0.1], [0.3, 1.0, 0.1, 0.0], [0.2, 0.1, 1.0, 0.3]]),
    "random3x5": _rng_matrix(0, 3, 5),
    "random5x8": _rng_matrix(1, 5, 8),
    "dependent": np.array([[1.0, 0.0, 1.0], [0.0, 1.0, -1.0], [1.0, 1.0, 0.0]]),  # g3 = g1 + g2
}

#: Degenerate inputs on which every strategy must return finite output.
DEGENERATE = {
    "zeros": np.zeros((3, 4)),
    "identical": np.tile([[1.0, -2.0, 0.5]], (3, 1)),
    "single": np.array([[1.0, 2.0, 3.0]]),
    "one_zero": np.array([[1.0, 0.0], [0.0, 0.0], [0.5, 1.0]]),
    "opposite": np.array([[1.0, 2.0], [-1.0, -2.0]]),
    "tiny": 1e-9 * _rng_matrix(2, 3, 4),
    "huge": 1e9 * _rng_matrix(3, 3, 4),
}


def weights(strategy, J) -> np.ndarray:
    J = t(J)
    w = strategy.weights_from_gramian(J @ J.T, losses(len(J)), **LOSSES_KW)
    assert w.shape == (len(J),) and w.dtype == J.dtype
    assert torch.equal(strategy.last_weights_, w)
    return w.numpy()


def direction(strategy, J) -> np.ndarray:
    J = t(J)
    d = strategy.aggregate(J, losses(len(J)), **LOSSES_KW)
    assert d.shape == (J.shape[1],) and d.dtype == J.dtype
    assert strategy.last_weights_ is not None and strategy.last_weights_.shape == (len(J),)
    return d.numpy()


def assert_gramian_consistent(make, J, atol=1e-10):
    """``weights_from_gramian(J J') @ J == aggregate(J)`` (same starting state)."""
    w = weights(make(), J)
    np.testing.assert_allclose(w @ np.asarray(J), direction(make(), J), atol=atol, rtol=1e-9)


def assert_permutation_equivariant(make, J, atol=1e-9):
    """Permuting the tasks permutes the weights and leaves the direction unchanged."""
    J = np.asarray(J)
    perm = np.random.default_rng(0).permutation(len(J))
    w, w_perm = weights(make(), J), weights(make(), J[perm])
    np.testing.assert_allclose(w_perm, w[perm], atol=atol, rtol=1e-7)


def assert_scaling(make, J, power=0, atol=1e-9):
    """Scaling every gradient by ``a > 0`` multiplies the weights by ``a ** power``."""
    w = weights(make(), J)
    for a in (1e-3, 7.0, 1e4):
        np.testing.assert_allclose(
            weights(make(), a * np.asarray(J)),
            a**power * w,
            atol=atol * max(1.0, a**power),
            rtol=1e-6,
        )


def assert_non_conflicting(d, J, atol=1e-9):
    """The aggregate has a non-negative inner product with every task gradient."""
    J = np.asarray(J)
    scale = np.max(np.abs(J)) ** 2 + 1e-300
    assert np.all(J @ d >= -atol * scale), J @ d


def assert_finite_on_degenerate(make):
    for name, J in DEGENERATE.items():
        s = make()
        d = direction(s, J)
        assert np.all(np.isfinite(d)), name
        assert np.all(np.isfinite(s.last_weights_.numpy())), name
        if not s.needs_gradients:
            assert np.all(np.isfinite(weights(make(), J))), name


def assert_interface(make, name: str, params: dict):
    """String name, level, searchable constructor parameters, clone, float32 and NaN handling."""
    s = make()
    assert s.name == name and s.level == "gradient"
    assert s.get_params() == params
    clone(s)  # scikit-learn clones the strategy object inside GridSearchCV
    assert clone(s).get_params() == params
    s.set_params(**params)
    assert s.get_params() == params
    J32 = torch.tensor(CASES["acute3"], dtype=torch.float32)
    d = s.aggregate(J32, torch.ones(3), **LOSSES_KW)
    assert d.dtype == torch.float32 and torch.isfinite(d).all()
    s.setup(["a", "b", "c"], {"a": "regression", "b": "regression", "c": "binary"})
    assert torch.isfinite(s.aggregate(J32, torch.ones(3), **LOSSES_KW)).all()


def assert_rejects_bad_gramian(make):
    import pytest

    s = make()
    with pytest.raises(ValueError, match="NaN or infinite"):
        s.weights_from_gramian(t([[1.0, np.nan], [np.nan, 1.0]]), losses(2), **LOSSES_KW)
    with pytest.raises(ValueError, match="square matrix"):
        s.weights_from_gramian(t([1.0, 2.0]), losses(2), **LOSSES_KW)


# -- loss-level strategies -------------------------------------------------------------------
def loss_weights(make, L, active=None, tasks=None) -> np.ndarray:
    """Weights of a fresh loss-level strategy set up for ``len(L)`` tasks."""
    s = make()
    T = len(L)
    s.setup(tasks or [f"t{i}" for i in range(T)], {})
    kw = {} if active is None else {"active": torch.as_tensor(active, dtype=torch.bool)}
    w = s.weights(t(L), **LOSSES_KW, **kw)
    assert w.shape == (T,) and w.dtype == torch.float64
    return w.numpy()


def assert_loss_interface(make, name: str, params: dict):
    """String name in the table, loss level, searchable parameters, clone, float32 losses."""
    from skmtl.neural.weighting import WEIGHTINGS

    s = make()
    assert s.name == name and s.level == "loss" and WEIGHTINGS[name] is type(s)
    assert s.get_params() == params
    assert clone(s).get_params() == params
    s.set_params(**params)
    assert s.get_params() == params
    s.setup(["a", "b", "c"], {"a": "regression", "b": "regression", "c": "classification"})
    w = s.weights(torch.tensor([0.5, 1.0, 2.0]), **LOSSES_KW)
    assert w.dtype == torch.float32 and torch.isfinite(w).all()


def assert_loss_permutation_equivariant(make, L, atol=1e-12):
    L = np.asarray(L, dtype=np.float64)
    perm = np.random.default_rng(0).permutation(len(L))
    np.testing.assert_allclose(loss_weights(make, L[perm]), loss_weights(make, L)[perm], atol=atol)
