"""Nash-MTL: the Nash bargaining solution between tasks."""

from __future__ import annotations

import numpy as np
import torch

from ._base import GradientWeighting
from ._utils import gramian_to_numpy, normalize_gramian, store_weights

__all__ = ["NashMTL", "solve_bargaining"]


def solve_bargaining(
    G: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10, ridge: float = 1e-12
) -> np.ndarray:
    r"""Positive :math:`\alpha` with :math:`G \alpha = 1 / \alpha`, by a damped Newton method.

    The condition is the stationarity condition of the strictly convex potential
    :math:`F(\alpha) = \tfrac12 \alpha^\top G \alpha - \sum_t \log \alpha_t` on
    :math:`\alpha > 0`, with gradient :math:`G\alpha - 1/\alpha` and Hessian
    :math:`G + \operatorname{diag}(1/\alpha^2) \succ 0`. Newton's method with a backtracking
    (Armijo) line search that keeps :math:`\alpha > 0` converges globally and quadratically near
    the solution. ``ridge * I`` is added to ``G`` so that a solution exists even when 0 is a
    non-negative combination of the gradients (e.g. two opposite gradients); the weights then
    grow like ``1 / sqrt(ridge)`` along the cancelling combination.
    """
    T = len(G)
    Gr = G + ridge * np.eye(T)
    alpha = 1.0 / np.sqrt(np.clip(np.diag(Gr), 1e-300, None))

    def potential(a: np.ndarray) -> float:
        return 0.5 * a @ Gr @ a - np.sum(np.log(a))

    f = potential(alpha)
    for _ in range(max_iter):
        grad = Gr @ alpha - 1.0 / alpha
        hess = Gr + np.diag(1.0 / alpha**2)
        if np.max(np.abs(alpha * grad)) < tol:  # relative residual of alpha_t (G alpha)_t = 1
            break
        step = np.linalg.solve(hess, -grad)
        decrement = float(-grad @ step)  # squared Newton decrement
        t = 1.0
        neg = step < 0
        if neg.any():  # stay inside alpha > 0
            t = min(1.0, 0.99 * float(np.min(-alpha[neg] / step[neg])))
        while t > 1e-12:
            cand = alpha + t * step
            f_new = potential(cand)
            if f_new <= f - 0.25 * t * decrement:
                break
            t *= 0.5
        alpha, f = alpha + t * step, potential(alpha + t * step)
    return alpha


class NashMTL(GradientWeighting):
    r"""Multi-task learning as a bargaining game (Nash-MTL).

    The update :math:`d = \sum_t \alpha_t g_t` is the Nash bargaining solution
    :math:`\arg\max_{\|d\| \le \epsilon} \sum_t \log(g_t^\top d)`; its optimality condition
    (Navon et al. 2022, Claim 3.1) is

    .. math:: G \alpha = 1 / \alpha, \qquad \alpha > 0,

    elementwise, with :math:`G = J J^\top`. Then every task improves,
    :math:`g_t^\top d = 1/\alpha_t > 0`, and :math:`\|d\|^2 = T`. The paper approximates the
    solution with a sequence of convex programmes (cvxpy); here it is solved to machine precision
    by Newton's method on the convex potential
    :math:`\tfrac12 \alpha^\top G \alpha - \sum_t \log\alpha_t` (:func:`solve_bargaining`) on the
    Gramian normalised to unit scale.

    Scaling every gradient by :math:`a > 0` divides the weights by :math:`a`, so the update does not
    depend on the scale of the losses. A task with a zero gradient cannot be improved; it gets
    weight 0 and is left out of the game.

    Parameters
    ----------
    max_iter : int, default=100
        Maximum number of Newton iterations (about 10-30 are used).
    tol : float, default=1e-10
        Stop when :math:`\max_t |\alpha_t (G \alpha)_t - 1|` falls below ``tol``.
    use_representation : bool or "auto", default=False
        %(use_representation)s

    Attributes
    ----------
    last_weights_ : Tensor of shape (T,)
        Weights of the last step.

    References
    ----------
    A. Navon, A. Shamsian, I. Achituve, H. Maron, K. Kawaguchi, G. Chechik and E. Fetaya.
    "Multi-Task Learning as a Bargaining Game." Proceedings of the 39th International Conference
    on Machine Learning (ICML), PMLR 162, 2022.

    Examples
    --------
    >>> import torch
    >>> from skmtl.neural.weighting._nash_mtl import NashMTL
    >>> grads = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> NashMTL().aggregate(grads, torch.ones(2), epoch=0, step=0)
    tensor([1.0000, 1.0000], dtype=torch.float64)
    """

    name = "nash_mtl"
    representation_ok = True

    def __init__(
        self, *, max_iter: int = 100, tol: float = 1e-10, use_representation: bool | str = False
    ) -> None:
        super().__init__()
        self.use_representation = use_representation
        self.max_iter = max_iter
        self.tol = tol

    def weights_from_gramian(
        self, gramian: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        G = gramian_to_numpy(gramian)
        T = len(G)
        w = np.zeros(T)
        Gn, scale = normalize_gramian(G)
        active = np.diag(Gn) > 1e-12
        if active.any():
            sub = Gn[np.ix_(active, active)]
            alpha = solve_bargaining(sub, max_iter=self.max_iter, tol=self.tol)
            w[active] = alpha / np.sqrt(scale)  # G a = 1/a at unit scale -> at the original scale
        return store_weights(self, w, gramian)
