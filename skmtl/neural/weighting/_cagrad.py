"""CAGrad: the best worst-task improvement within a ball around the average gradient."""

from __future__ import annotations

import numpy as np
import torch

from ._base import GradientWeighting
from ._utils import gramian_to_numpy, min_norm_simplex, normalize_gramian, store_weights

__all__ = ["CAGrad"]


def cagrad_dual(G: np.ndarray, s: float, n_bisect: int = 60) -> np.ndarray:
    r"""Solve the dual :math:`\min_{w \in \Delta} w^\top b + s \sqrt{w^\top G w}`, ``b = G 1 / T``.

    With :math:`\sqrt{q} = \min_{\lambda > 0} q / (2 \lambda) + \lambda / 2`, for a fixed
    :math:`\lambda` the problem in ``w`` is the minimum-norm point of the hull of the shifted
    gradients :math:`g_t + (\lambda / s) g_0` (a quadratic programme on the simplex, solved exactly
    by :func:`~skmtl.neural.weighting._utils.min_norm_simplex`). The partial minimum is convex in
    :math:`\lambda` with derivative of the sign of :math:`\lambda - \|J^\top w(\lambda)\|`, so a
    bisection on :math:`\lambda \in [0, \max_t \|g_t\|]` finds the joint minimiser.
    """
    T = len(G)
    Gb = G @ np.ones(T) / T  # g_t . g_0
    g00 = float(np.ones(T) @ G @ np.ones(T)) / T**2  # ||g_0||^2

    def inner(lam: float) -> np.ndarray:
        t = lam / s
        shifted = G + t * (Gb[:, None] + Gb[None, :]) + t * t * g00  # Gramian of g_i + t g_0
        return min_norm_simplex(shifted)

    lo, hi = 0.0, float(np.sqrt(np.max(np.diag(G))))
    w = inner(hi)
    for _ in range(n_bisect):
        mid = 0.5 * (lo + hi)
        w = inner(mid)
        if mid > np.sqrt(max(w @ G @ w, 0.0)):
            hi = mid
        else:
            lo = mid
    return inner(hi) if hi > 0 else w


class CAGrad(GradientWeighting):
    r"""Conflict-averse gradient descent.

    Looks for the update :math:`d` that maximises the worst local improvement of any task while
    staying in a ball around the average gradient :math:`g_0 = \frac1T \sum_t g_t`:

    .. math:: \max_{d} \min_t g_t^\top d \quad \text{s.t.} \quad \|d - g_0\| \le c \|g_0\|.

    Through its dual, :math:`w^* = \arg\min_{w \in \Delta_T} g_w^\top g_0 + c\|g_0\| \|g_w\|`
    with :math:`g_w = \sum_t w_t g_t`, the solution is

    .. math:: d = \Big(g_0 + \frac{c \|g_0\|}{\|g_w\|} g_w\Big) / (1 + c^2)

    (the division by :math:`1 + c^2` is the authors' default ``rescale=1``), i.e. the weights
    :math:`\big(1/T + c\|g_0\| w^*_t / \|g_w\|\big) / (1 + c^2)`. With ``c = 0`` it is the mean
    gradient. The dual only needs the Gramian; it is solved by a bisection over one scalar with an
    exact simplex quadratic programme inside (:func:`cagrad_dual`) instead of the paper's SLSQP.

    Parameters
    ----------
    c : float, default=0.4
        Radius of the ball, relative to :math:`\|g_0\|` (the paper uses 0.4 on NYU-v2 and
        CityScapes). ``c >= 1`` lets the update reach the MGDA direction (the paper shows
        convergence to Pareto-stationary points needs ``0 <= c < 1``).
    rescale : bool, default=True
        Divide the update by :math:`1 + c^2` (the authors' code).
    use_representation : bool or "auto", default=False
        %(use_representation)s

    Attributes
    ----------
    last_weights_ : Tensor of shape (T,)
        Weights of the last step.

    References
    ----------
    B. Liu, X. Liu, X. Jin, P. Stone and Q. Liu. "Conflict-Averse Gradient Descent for Multi-task
    Learning." Advances in Neural Information Processing Systems 34 (NeurIPS), 2021.

    Examples
    --------
    >>> import torch
    >>> from skmtl.neural.weighting._cagrad import CAGrad
    >>> grads = torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    >>> CAGrad(c=0.0).aggregate(grads, torch.ones(2), epoch=0, step=0)
    tensor([0.5000, 1.5000], dtype=torch.float64)
    """

    name = "cagrad"
    representation_ok = True

    def __init__(
        self, *, c: float = 0.4, rescale: bool = True, use_representation: bool | str = False
    ) -> None:
        super().__init__()
        self.use_representation = use_representation
        self.c = c
        self.rescale = rescale

    def weights_from_gramian(
        self, gramian: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        if not self.c >= 0:
            raise ValueError(f"c must be non-negative, got {self.c!r}")
        G = gramian_to_numpy(gramian)
        T = len(G)
        weights = np.full(T, 1.0 / T)
        Gn, scale = normalize_gramian(G)  # weights are invariant to the scale of the gradients
        g0_norm = np.sqrt(max(float(np.ones(T) @ Gn @ np.ones(T)), 0.0)) / T
        s = self.c * g0_norm
        if s > 1e-12:
            w = cagrad_dual(Gn, s)
            gw_norm = np.sqrt(max(float(w @ Gn @ w), 0.0))
            weights = weights + s / (gw_norm + 1e-8) * w  # the authors' guard, at unit scale
        if self.rescale:
            weights = weights / (1.0 + self.c**2)
        return store_weights(self, weights, gramian)
