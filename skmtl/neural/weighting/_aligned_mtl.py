"""Aligned-MTL: align the principal components of the gradient matrix (condition number one)."""

from __future__ import annotations

import numpy as np
import torch

from ._base import GradientWeighting
from ._utils import gramian_to_numpy, preference_vector, store_weights

__all__ = ["AlignedMTL", "balance_transformation"]


def balance_transformation(G: np.ndarray) -> np.ndarray:
    r"""The matrix :math:`B = \sigma_{\min} V \Sigma^{-1} V^\top` of Aligned-MTL (Algorithm 1).

    With the eigendecomposition :math:`G = V \Sigma^2 V^\top` restricted to its ``R`` non-zero
    eigenvalues, the aligned gradients :math:`\hat J = B J` satisfy
    :math:`\hat J \hat J^\top = B G B = \sigma_{\min}^2 V V^\top`: orthogonal, all of norm
    :math:`\sigma_{\min}` (within the span of the gradients), condition number one. A zero Gramian
    gives the identity.
    """
    lam, V = np.linalg.eigh(G)
    tol = max(lam.max(initial=0.0), 0.0) * len(G) * np.finfo(np.float64).eps * 16
    keep = lam > tol
    if not keep.any():
        return np.eye(len(G))
    lam, V = lam[keep], V[:, keep]
    sigma_min = np.sqrt(lam.min())
    return sigma_min * (V / np.sqrt(lam)) @ V.T


class AlignedMTL(GradientWeighting):
    r"""Aligned-MTL: independent component alignment of the task gradients.

    The gradient matrix :math:`J` (one row per task) is replaced by the aligned matrix
    :math:`\hat J = B J` whose rows are orthogonal with equal norms :math:`\sigma_{\min}`, the
    smallest non-zero singular value of :math:`J` (so the linear system of the update has
    condition number one and no task dominates), and the rows are combined with preference
    weights :math:`p`:

    .. math:: d = p^\top \hat J = (B p)^\top J, \qquad
              B = \sigma_{\min} V \Sigma^{-1} V^\top, \quad G = J J^\top = V \Sigma^2 V^\top.

    The weights :math:`B p` depend on the Gramian only. For linearly independent gradients and
    uniform :math:`p`, the aggregate has equal inner products :math:`\sigma_{\min}^2 / T` with
    every aligned gradient. Scaling all gradients leaves the weights unchanged.

    Parameters
    ----------
    pref_vector : array-like of shape (T,) or None, default=None
        Preference weights :math:`p`; ``None`` gives :math:`1/T` each (as in TorchJD; the
        authors' code sums, i.e. uses ones).
    use_representation : bool or "auto", default=False
        %(use_representation)s

    Attributes
    ----------
    last_weights_ : Tensor of shape (T,)
        Weights of the last step.

    References
    ----------
    D. Senushkin, N. Patakin, A. Kuznetsov and A. Konushin. "Independent Component Alignment for
    Multi-Task Learning." IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR),
    2023.

    Examples
    --------
    >>> import torch
    >>> from skmtl.neural.weighting._aligned_mtl import AlignedMTL
    >>> grads = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> AlignedMTL().aggregate(grads, torch.ones(2), epoch=0, step=0)
    tensor([0.5000, 0.5000], dtype=torch.float64)
    """

    name = "aligned_mtl"
    representation_ok = True

    def __init__(self, *, pref_vector=None, use_representation: bool | str = False) -> None:
        super().__init__()
        self.use_representation = use_representation
        self.pref_vector = pref_vector

    def weights_from_gramian(
        self, gramian: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        G = gramian_to_numpy(gramian)
        T = len(G)
        p = preference_vector(self.pref_vector, T)
        return store_weights(self, balance_transformation(G) @ p, gramian)
