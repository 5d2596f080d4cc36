"""Shared maths of the gradient-level strategies, written once.

Every function here works on the Gramian ``G = J J'`` of the per-task gradients (``J`` of shape
(T, d), one row per task) and returns *weights* ``w`` of shape (T,): the update direction is then
``w @ J``. The problems are tiny (T x T), so they are solved in float64 NumPy on the CPU; the
strategies convert back to the dtype and device of the Gramian they were given.

- :func:`min_norm_simplex`: the minimum-norm point of the convex hull of the gradients (MGDA),
  exact: the closed form for two tasks, otherwise Lawson and Hanson's least-distance programming
  reduction to one non-negative least squares problem.
- :func:`project_to_dual_cone`: projections onto the dual cone ``{x : J x >= 0}`` (UPGrad), each
  one non-negative least squares problem on a square root of the Gramian.
- :func:`project_conflicts`: the sequential pairwise surgery shared by PCGrad and GradVac,
  carried out on coefficient vectors, so that it needs inner products only.
- :func:`psd_sqrt`, :func:`normalize_gramian`, :func:`gramian_to_numpy`, :func:`weights_to_tensor`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.optimize import nnls

__all__ = [
    "gramian_to_numpy",
    "make_generator",
    "min_norm_simplex",
    "normalize_gramian",
    "project_conflicts",
    "project_to_dual_cone",
    "psd_sqrt",
    "random_orders",
    "store_weights",
    "weights_to_tensor",
]

_EPS = np.finfo(np.float64).eps


def gramian_to_numpy(gramian: torch.Tensor) -> np.ndarray:
    """The Gramian as a symmetric float64 array; checks its shape and values."""
    if gramian.ndim != 2 or gramian.shape[0] != gramian.shape[1]:
        shape = tuple(gramian.shape)
        raise ValueError(f"gramian must be a square matrix of shape (T, T), got {shape}")
    G = gramian.detach().to(device="cpu", dtype=torch.float64).numpy()
    if not np.all(np.isfinite(G)):
        raise ValueError("gramian contains NaN or infinite values (did a loss diverge?)")
    return 0.5 * (G + G.T)


def weights_to_tensor(w: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """``w`` as a 1-D tensor with the dtype and device of ``like``."""
    return torch.as_tensor(np.asarray(w, dtype=np.float64)).to(dtype=like.dtype, device=like.device)


def store_weights(strategy, w: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    """``w`` as a tensor like ``like``, recorded as ``strategy.last_weights_`` and returned."""
    out = weights_to_tensor(w, like)
    strategy.last_weights_ = out.detach()
    return out


def preference_vector(pref_vector, T: int) -> np.ndarray:
    """The task preference of Aligned-MTL and UPGrad: uniform ``1/T`` when None, else checked to
    hold one entry per task."""
    if pref_vector is None:
        return np.full(T, 1.0 / T)
    p = np.asarray(pref_vector, dtype=np.float64).reshape(-1)
    if p.shape != (T,):
        raise ValueError(f"pref_vector has {p.size} entries, expected one per task ({T})")
    return p


def normalize_gramian(G: np.ndarray) -> tuple[np.ndarray, float]:
    """``(G / s, s)`` with ``s`` the largest squared gradient norm (``s = 0``: all gradients zero).

    Every solver below is invariant (or equivariant in a known way) to scaling ``G``; working at
    unit scale keeps its tolerances meaningful whatever the magnitude of the gradients.
    """
    s = float(np.max(np.diag(G), initial=0.0))
    if s <= 0.0:
        return np.zeros_like(G), 0.0
    return G / s, s


def psd_sqrt(G: np.ndarray, *, pinv: bool = False) -> np.ndarray:
    """Symmetric square root ``A`` of a PSD matrix (``A A = G``), or its pseudo-inverse.

    Eigenvalues below ``T * eps * max eigenvalue`` (rounding errors of the Gramian) count as zero.
    """
    lam, V = np.linalg.eigh(G)
    tol = max(lam.max(initial=0.0), 0.0) * len(G) * 16 * _EPS
    keep = lam > tol
    if pinv:
        root = np.where(keep, 1.0 / np.sqrt(np.where(keep, lam, 1.0)), 0.0)
    else:
        root = np.where(keep, np.sqrt(np.clip(lam, 0.0, None)), 0.0)
    return (V * root) @ V.T


def _nnls(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    x, _ = nnls(A, b, maxiter=50 * max(A.shape[1], 1))
    return x


def _min_norm_two(G: np.ndarray) -> np.ndarray:
    """Closed form for two tasks (Sener and Koltun 2018, Algorithm 1).

    ``gamma = clip((g2 - g1)'g2 / ||g1 - g2||^2, 0, 1)``, weights ``(gamma, 1 - gamma)``.
    """
    denom = G[0, 0] + G[1, 1] - 2.0 * G[0, 1]
    if denom <= 16 * _EPS * max(G[0, 0], G[1, 1], 1e-300):
        return np.array([0.5, 0.5])  # equal gradients: every convex combination is the same point
    gamma = float(np.clip((G[1, 1] - G[0, 1]) / denom, 0.0, 1.0))
    return np.array([gamma, 1.0 - gamma])


def _min_norm_nnls(G: np.ndarray) -> np.ndarray:
    """Minimum-norm point of the convex hull by least-distance programming (exact, any T).

    Lawson and Hanson (1974, chapter 23) solve ``min ||x||`` subject to ``P x >= 1`` with one
    NNLS problem ``min_{u >= 0} ||[P'; 1'] u - e||``. Its optimality conditions read, with
    ``s = 1'u`` and ``w = u / s``: ``(G w)_t = (1 - s) / s`` where ``w_t > 0`` and ``>=`` elsewhere,
    which are exactly the optimality conditions of ``min_{w in simplex} w'Gw``. The matrix
    ``[P'; 1']`` only enters through its Gramian ``G + 11'``, so a square root of it replaces it.
    When 0 lies in the hull, the residual vanishes and ``w = u / s`` (with ``s = 1``) still holds.
    """
    T = len(G)
    M = G + np.ones((T, T))
    A = psd_sqrt(M)
    b = psd_sqrt(M, pinv=True) @ np.ones(T)
    u = _nnls(A, b)
    s = u.sum()
    if not np.isfinite(s) or s <= 0.0:  # impossible in exact arithmetic (the gradient at 0 is -1)
        return np.full(T, 1.0 / T)
    return u / s


def min_norm_simplex(G: np.ndarray) -> np.ndarray:
    """Weights ``w`` on the simplex minimising ``w'Gw``: the minimum-norm element of the hull.

    Parameters
    ----------
    G : ndarray of shape (T, T)
        Gramian of the task gradients (symmetric positive semi-definite).

    Returns
    -------
    w : ndarray of shape (T,)
        Non-negative weights summing to one; ``w @ J`` is the minimum-norm element of
        ``conv{g_1, ..., g_T}``. For two tasks the closed form of Sener and Koltun (2018); for
        more, an exact active-set solution (:func:`_min_norm_nnls`). Zero gradients everywhere give
        uniform weights.
    """
    T = len(G)
    if T == 1:
        return np.ones(1)
    Gn, scale = normalize_gramian(G)
    if scale == 0.0:
        return np.full(T, 1.0 / T)
    if T == 2:
        return _min_norm_two(Gn)
    return _min_norm_nnls(Gn)


def project_to_dual_cone(G: np.ndarray, U: np.ndarray) -> np.ndarray:
    """Weights of the projections of ``U @ J`` onto the dual cone ``{x : J x >= 0}``.

    The projection of ``J'u`` onto the dual cone of the rows of ``J`` is ``J'v`` with
    ``v = argmin_{v >= u} v'Gv`` (Quinton and Rey 2024, Proposition 1). With ``v = u + lam`` and
    ``A = G^{1/2}`` this is the non-negative least squares problem
    ``min_{lam >= 0} ||A lam + A u||^2``, solved exactly by Lawson-Hanson.

    Parameters
    ----------
    G : ndarray of shape (T, T)
        Gramian of the task gradients.
    U : ndarray of shape (k, T)
        Weights of the k vectors to project, one per row.

    Returns
    -------
    V : ndarray of shape (k, T)
        ``V[i] >= U[i]`` and ``J (J'V[i]) >= 0`` (up to rounding).
    """
    Gn, scale = normalize_gramian(G)
    U = np.atleast_2d(U)
    if scale == 0.0:
        return U.copy()
    A = psd_sqrt(Gn)
    return np.stack([u + _nnls(A, -A @ u) for u in U])


def project_conflicts(
    G: np.ndarray,
    orders: list[np.ndarray],
    correction: Callable[[float, float, float, int, int], float | None],
) -> np.ndarray:
    """Sequential gradient surgery on coefficient vectors (PCGrad, GradVac).

    Task ``i``'s modified gradient ``g_i^PC = C[i] @ J`` starts at ``g_i``; for each ``j`` in
    ``orders[i]`` (the other tasks in a random order) it becomes ``g_i^PC + a g_j`` with
    ``a = correction(inner, norm_i, norm_j, i, j)`` where ``inner = g_i^PC . g_j``,
    ``norm_i = ||g_i^PC||``, ``norm_j = ||g_j||`` (``None``: leave it). Only inner products are
    needed: ``g_i^PC . g_j = C[i] G[:, j]`` and ``||g_i^PC||^2 = C[i] G C[i]'``.

    Returns
    -------
    C : ndarray of shape (T, T)
        Row ``i`` holds the coefficients of ``g_i^PC`` on the original gradients; the methods
        return the weights ``C.sum(axis=0)`` of ``sum_i g_i^PC``.
    """
    T = len(G)
    C = np.eye(T)
    norms = np.sqrt(np.clip(np.diag(G), 0.0, None))
    for i in range(T):
        for j in orders[i]:
            j = int(j)
            if j == i:
                continue
            inner = float(C[i] @ G[:, j])
            norm_i = float(np.sqrt(max(C[i] @ G @ C[i], 0.0)))
            a = correction(inner, norm_i, float(norms[j]), i, j)
            if a is not None:
                C[i, j] += a
    return C


def make_generator(random_state: int | None) -> torch.Generator | None:
    """A CPU ``torch.Generator`` seeded with ``random_state``; ``None`` uses torch's global RNG."""
    if random_state is None:
        return None
    if isinstance(random_state, torch.Generator):
        return random_state
    gen = torch.Generator()
    gen.manual_seed(int(random_state))
    return gen


def random_orders(T: int, generator: torch.Generator | None) -> list[np.ndarray]:
    """For each task, the other tasks in a random order (one permutation per task)."""
    orders = []
    for i in range(T):
        perm = torch.randperm(T, generator=generator).numpy()
        orders.append(perm[perm != i])
    return orders
