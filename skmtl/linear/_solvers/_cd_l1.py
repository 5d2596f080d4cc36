"""Element-wise coordinate descent for L1-penalised least squares, compiled (see :mod:`._compiled`).

Problem: ``min_W 1/2 ||B - A W||_F^2 + alpha sum_{j,t} |W[j, t]|`` with one design ``A``
(``n x p``) shared by the tasks (the columns of ``B``). For the centred design and targets over
``sqrt(n)`` this is scikit-learn's ``Lasso`` objective ``1/(2n) ||Yc - Xc W||^2 + alpha |W|_1``
for every task at once.

The epochs have the same interface as the L2,1 block epochs of :mod:`._bcd`, and keep the same
state (the residual ``R = A W - B`` in data form, the gradient ``G = Q W - q`` in Gram form), so
that a model with an L1 and an L2,1 part on the same residual (the dirty model ``W = S + B``)
alternates :func:`l1_data_epoch` on ``S`` and :func:`._bcd._data_epoch` on ``B`` over one shared
``R`` (likewise with one shared ``G`` in Gram form):

- ``l1_data_epoch(At, R, W, alpha, diag)``: ``At = A'`` C-contiguous (k, n), ``R`` (n, T),
  ``W`` (k, T), ``diag[j] = ||A_j||^2``; in place on ``W`` and ``R``.
- ``l1_gram_epoch(Q, idx, G, W, alpha)``: ``Q`` a symmetric Gram matrix (C-contiguous), ``idx``
  the int64 rows of ``Q`` of the k working features, ``G`` and ``W`` (k, T); in place on ``W``
  and ``G``.

:func:`l1_least_squares` is a plain solver on top of the data-form epoch (cyclic passes, duality
gap every few epochs) for use and for tests.
"""

from __future__ import annotations

import numpy as np

from ._compiled import kernel
from ._criteria import gap_from_pieces


@kernel("void(float64[:, ::1], float64[:, ::1], float64[:, ::1], float64, float64[::1])")
def l1_data_epoch(At, R, W, alpha, diag):
    """One cyclic pass over the entries ``(j, t)``: ``W[j, t] <- S(W[j, t] - g / d_j, alpha / d_j)``
    with ``g = A_j' R[:, t]``, then ``R[:, t] += A_j (W[j, t] - old)``."""
    k, n = At.shape
    T = W.shape[1]
    for j in range(k):
        djj = diag[j]
        if djj <= 0.0:
            continue
        thr = alpha / djj
        for t in range(T):
            g = 0.0
            for i in range(n):
                g += At[j, i] * R[i, t]
            w = W[j, t]
            v = w - g / djj
            if v > thr:
                new = v - thr
            elif v < -thr:
                new = v + thr
            else:
                new = 0.0
            d = new - w
            if d != 0.0:
                W[j, t] = new
                for i in range(n):
                    R[i, t] += At[j, i] * d


@kernel("void(float64[:, ::1], int64[::1], float64[:, ::1], float64[:, ::1], float64)")
def l1_gram_epoch(Q, idx, G, W, alpha):
    """One cyclic pass over the entries ``(j, t)``: ``W[j, t] <- S(W[j, t] - G[j, t] / Q_jj,
    alpha / Q_jj)``, then ``G[:, t] += Q[idx, idx[j]] (W[j, t] - old)``."""
    k, T = W.shape
    for j in range(k):
        qrow = Q[idx[j]]
        qjj = qrow[idx[j]]
        if qjj <= 0.0:
            continue
        thr = alpha / qjj
        for t in range(T):
            w = W[j, t]
            v = w - G[j, t] / qjj
            if v > thr:
                new = v - thr
            elif v < -thr:
                new = v + thr
            else:
                new = 0.0
            d = new - w
            if d != 0.0:
                W[j, t] = new
                for i in range(k):
                    G[i, t] += qrow[idx[i]] * d


def l1_least_squares(A, B, alpha, *, W0=None, threshold=0.0, max_epochs=10_000, check_every=5):
    """Minimise ``1/2 ||B - A W||_F^2 + alpha |W|_1`` by cyclic coordinate descent (data form).

    Parameters
    ----------
    A : ndarray of shape (n, p)
    B : ndarray of shape (n, T)
    alpha : float > 0
    W0 : ndarray of shape (p, T) or None
        Starting point (zero when None); not modified.
    threshold : float
        Absolute duality-gap tolerance.
    max_epochs : int
    check_every : int
        Epochs between two duality-gap evaluations (each costs half an epoch).

    Returns
    -------
    W : ndarray of shape (p, T)
    n_epochs : int
    gap : float
        The duality gap at ``W`` (dual point: the rescaled residual).
    """
    A = np.asarray(A, dtype=float)
    B = np.ascontiguousarray(B, dtype=float).reshape(A.shape[0], -1)
    At = np.ascontiguousarray(A.T)
    W = np.zeros((A.shape[1], B.shape[1])) if W0 is None else np.array(W0, dtype=float)
    W = np.ascontiguousarray(W)
    diag = np.ascontiguousarray(np.einsum("ji,ji->j", At, At))
    R = np.ascontiguousarray(A @ W - B)
    gap = np.inf
    for epoch in range(1, max_epochs + 1):
        l1_data_epoch(At, R, W, float(alpha), diag)
        if epoch % check_every == 0 or epoch == max_epochs:
            G = At @ R
            f = 0.5 * float(np.sum(R * R))
            lin = -float(np.sum(B * R))
            gap = gap_from_pieces(f, lin, alpha * float(np.abs(W).sum()),
                                  float(np.max(np.abs(G), initial=0.0)) / alpha)
            if gap <= threshold:
                return W, epoch, gap
    return W, max_epochs, gap
