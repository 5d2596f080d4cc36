"""Working sets with block coordinate descent: the specialised solver of L2,1 least squares.

Problem: ``min_W 1/2 ||B - A W||_F^2 + alpha sum_j ||W[j]||`` with one design ``A`` shared by all
tasks (the wide layout with every label observed; ``A`` is the centred design over ``sqrt(n)``).

Outer loop (as :func:`._working_set.working_set`): rank the features by their distance to the
optimality conditions, keep the support and the worst violators, solve the restricted problem to a
fraction of the current duality gap, stop on the duality gap of the full problem.

Inner solver: cyclic block coordinate descent, one feature (a row of ``W``, all tasks) at a time,
with a closed-form group soft-thresholding update. The features are swept in blocks of
``block_size``: inside a block the gradient of each row is brought up to date lazily from the
block's Gram (``O(block_size * n_tasks)`` per feature), and the rest of the gradient (Gram form) or
the residual (data form) is updated once per block with one matrix product. The iterates are those
of plain cyclic coordinate descent; the matrix products run at BLAS-3 speed, which is what a pure
numpy implementation needs to keep up with compiled coordinate descent. Every ``anderson + 1``
epochs the last iterates are extrapolated (Anderson acceleration) on the rows that stayed nonzero,
and the extrapolation is kept only when it lowers the objective.

The restricted problem is in Gram form (``Q = A_ws' A_ws``) when that is cheaper than two passes
over the data (``k < 2 n`` for ``k`` working features), else in data form.

References
----------
M. Massias, A. Gramfort and J. Salmon. Celer: a fast solver for the Lasso with dual
extrapolation. ICML 2018.
Q. Bertrand, Q. Klopfenstein, P.-A. Bannier et al. Beyond L1: faster and better sparse models
with skglm. NeurIPS 2022 (Anderson acceleration of coordinate descent in working sets).
D. Scieur, A. d'Aspremont and F. Bach. Regularized nonlinear acceleration. NeurIPS 2016.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ._criteria import gap_from_pieces

_DATA_FORM_RATIO = 5  # restricted problems with k >= ratio * n features stay in data form


def _row_norms(W):
    return np.sqrt(np.einsum("ij,ij->i", W, W))


# -- restricted least-squares problems: the gradient G = A'(A W - B) in two storages ------------
class _GramLS:
    """``Q = A'A`` (k, k), ``q = A'B`` (k, T), ``aa = ||B||^2``; keeps ``G = Q W - q``."""

    def __init__(self, Q, q, aa):
        self.Q, self.q, self.aa = Q, q, aa
        self.diag = np.ascontiguousarray(np.diag(Q))

    def reset(self, W):
        self.G = self.Q @ W - self.q

    def block_grad(self, sl):
        return self.G[sl].copy()

    def block_gram(self, sl):
        return self.Q[sl, sl]

    def block_done(self, sl, D):
        self.G += self.Q[:, sl] @ D

    def grad(self):
        return self.G

    def pieces(self, W, G):
        """``(f, lin)``: ``f = ||R||^2 / 2``, ``lin = <B, -R>`` with ``R = A W - B``."""
        qw = float(np.sum(self.q * W))
        return 0.5 * float(np.sum(W * G)) - 0.5 * qw + 0.5 * self.aa, self.aa - qw

    def save(self):
        return self.G

    def restore(self, saved):
        self.G = saved


class _DataLS:
    """``A`` (n, k) dense and ``B`` (n, T); keeps the residual ``R = A W - B``."""

    def __init__(self, A, B, aa):
        self.A, self.B, self.aa = np.asfortranarray(A), B, aa
        self.diag = np.einsum("ij,ij->j", A, A)
        self._grams = {}

    def reset(self, W):
        self.R = self.A @ W - self.B
        self._G = None

    def block_grad(self, sl):
        return self.A[:, sl].T @ self.R

    def block_gram(self, sl):
        key = (sl.start, sl.stop)
        if key not in self._grams:
            Ab = self.A[:, sl]
            self._grams[key] = Ab.T @ Ab
        return self._grams[key]

    def block_done(self, sl, D):
        self.R += self.A[:, sl] @ D
        self._G = None

    def grad(self):
        if self._G is None:
            self._G = self.A.T @ self.R
        return self._G

    def pieces(self, W, G):
        R = self.R
        return 0.5 * float(np.sum(R * R)), -float(np.sum(self.B * R))

    def save(self):
        return self.R, self._G

    def restore(self, saved):
        self.R, self._G = saved


def _sweep(ls, W, alpha, blocks):
    """One epoch of cyclic block coordinate descent, in place on ``W`` and ``ls``."""
    a2 = alpha * alpha
    diag = ls.diag
    for sl in blocks:
        Gb = ls.block_grad(sl)
        Qbb = ls.block_gram(sl)
        Wb = W[sl]
        nz = np.any(Wb != 0, axis=1).tolist()
        D = None
        last = 0
        for i in range(Wb.shape[0]):
            g = Gb[i] + Qbb[i, :last] @ D[:last] if last else Gb[i]
            w = Wb[i]
            qjj = diag[sl.start + i]
            if qjj <= 0.0:
                continue
            nonzero = nz[i]
            if not nonzero:
                if g @ g <= a2:
                    continue
                v = g * (-1.0 / qjj)
            else:
                v = w - g * (1.0 / qjj)
            nv = math.sqrt(v @ v)
            thr = alpha / qjj
            if D is None:
                D = np.zeros_like(Wb)
            if nv <= thr:
                if not nonzero:
                    continue
                D[i] = -w
                Wb[i] = 0.0
                nz[i] = False
            else:
                new = v * (1.0 - thr / nv)
                D[i] = new - w
                Wb[i] = new
                nz[i] = True
            last = i + 1
        if last:
            ls.block_done(sl, D)


def _objective(ls, W, alpha):
    f, _ = ls.pieces(W, ls.G if isinstance(ls, _GramLS) else None)
    return f + alpha * float(np.sum(_row_norms(W)))


def bcd(ls, W, alpha, *, threshold, max_epochs, block_size=64, anderson=5, check_every=None):
    """Block coordinate descent on a restricted problem; returns ``W, n_epochs, gap``.

    The gap is checked every epoch in Gram form (the gradient is kept up to date, a check costs
    ``O(k n_tasks)``), every third in data form (a check costs half an epoch).
    """
    if check_every is None:
        check_every = 1 if isinstance(ls, _GramLS) else 3
    k = W.shape[0]
    blocks = [slice(s, min(s + block_size, k)) for s in range(0, k, block_size)]
    ls.reset(W)
    hist = []
    gap = np.inf
    for epoch in range(1, max_epochs + 1):
        _sweep(ls, W, alpha, blocks)
        if anderson:
            hist.append(W.copy())
            if len(hist) == anderson + 1:
                W = _extrapolate(ls, W, hist, alpha)
                hist = []
        if epoch % check_every == 0 or epoch == max_epochs:
            G = ls.grad()
            f, lin = ls.pieces(W, G)
            gap = gap_from_pieces(f, lin, alpha * float(np.sum(_row_norms(W))),
                                  float(np.max(_row_norms(G), initial=0.0)) / alpha)
            if gap <= threshold:
                return W, epoch, gap
    return W, max_epochs, gap


def _extrapolate(ls, W, hist, alpha):
    """Anderson extrapolation of the last iterates, kept if it lowers the objective."""
    H = np.array(hist)
    keep = np.all(np.any(H != 0, axis=2), axis=0)  # rows nonzero in every iterate
    if not keep.any():
        return W
    Hk = H[:, keep].reshape(len(hist), -1)
    U = np.diff(Hk, axis=0)
    C = U @ U.T
    C += 1e-10 * np.trace(C) * np.eye(C.shape[0])
    try:
        z = np.linalg.solve(C, np.ones(C.shape[0]))
    except np.linalg.LinAlgError:
        return W
    if not np.isfinite(z).all() or z.sum() == 0:
        return W
    c = z / z.sum()
    We = W.copy()
    We[keep] = (c @ Hk[1:]).reshape(-1, W.shape[1])
    f_cur = _objective(ls, W, alpha)
    saved = ls.save()
    ls.reset(We)
    if _objective(ls, We, alpha) < f_cur:
        return We
    ls.restore(saved)
    return W


# -- the full problem and the outer loop ---------------------------------------------------------
def supports_bcd(datafit, penalty):
    """Whether :func:`bcd_working_set` applies: a penalty declaring ``"bcd_l21"`` (row-wise
    group soft-threshold), least squares, one design."""
    if "bcd_l21" not in getattr(penalty, "capabilities", ()):
        return False
    if hasattr(datafit, "Q"):
        return bool(datafit.shared)
    design = getattr(datafit, "design", None)
    return (design is not None and design.layout == "wide" and design.full
            and hasattr(datafit, "Yc"))


class _Full:
    """The full problem in the form the outer loop needs, from a Quadratic or QuadraticGram."""

    def __init__(self, datafit):
        self.datafit = datafit
        self.gram = hasattr(datafit, "Q")
        if self.gram:
            self.aa = float(np.sum(datafit.a))
        else:
            d = datafit.design
            self.n = d.n_samples
            self.sqn = math.sqrt(self.n)
            self.B = datafit.Yc / self.sqn
            self.aa = float(np.sum(self.B * self.B))
            self.sparse = sp.issparse(d.X)
            self.x_mean = datafit.x_mean[0]

    def gradient(self, W):
        """``(f, lin, G)`` at ``W``."""
        if self.gram:
            G = self.datafit.Q[0] @ W - self.datafit.q
            qw = float(np.sum(self.datafit.q * W))
            return 0.5 * float(np.sum(W * G)) - 0.5 * qw + 0.5 * self.aa, self.aa - qw, G
        df = self.datafit
        Z = df.linear(W)
        R = (Z - df.Yc) / self.sqn
        G = df.design.adjoint(R) / self.sqn
        if df.centered:
            G -= np.outer(self.x_mean, R.sum(axis=0)) / self.sqn
        return 0.5 * float(np.sum(R * R)), -float(np.sum(self.B * R)), G

    def restrict(self, ws):
        if self.gram:
            df = self.datafit
            return _GramLS(df.Q[0][np.ix_(ws, ws)], df.q[ws], self.aa)
        if not self.sparse and len(ws) >= _DATA_FORM_RATIO * self.n:
            X = self.datafit.design.X[:, ws]
            A = (X - self.x_mean[ws]) / self.sqn if self.datafit.centered else X / self.sqn
            return _DataLS(A, self.B, self.aa)
        Q, q = self._gram(ws)
        return _GramLS(Q, q, self.aa)

    def _gram(self, ws):
        """``A_ws' A_ws`` and ``A_ws' B``, computing only the columns not seen before: the working
        sets of successive outer iterations overlap."""
        df = self.datafit
        X = df.design.X
        if not hasattr(self, "_feat"):
            self._feat = np.zeros(0, dtype=np.intp)
            self._Q = np.zeros((0, 0))
            self._q = np.zeros((0, self.B.shape[1]))
            self._pos = np.full(X.shape[1], -1, dtype=np.intp)
        new = ws[self._pos[ws] < 0]
        if new.size:
            feat = np.concatenate([self._feat, new])
            Xn = X[:, new]
            cross = X[:, feat].T @ Xn
            cross = np.asarray(cross.toarray() if sp.issparse(cross) else cross) / self.n
            qn = np.asarray(Xn.T @ df.Yc) / self.n
            if df.centered:
                cross -= np.outer(self.x_mean[feat], self.x_mean[new])
                qn -= np.outer(self.x_mean[new], df.Yc.sum(axis=0)) / self.n
            k0 = len(self._feat)
            Q = np.empty((len(feat), len(feat)))
            Q[:k0, :k0] = self._Q
            Q[:, k0:] = cross
            Q[k0:, :k0] = cross[:k0].T
            self._Q, self._q, self._feat = Q, np.vstack([self._q, qn]), feat
            self._pos[new] = np.arange(k0, len(feat))
        idx = self._pos[ws]
        if len(idx) == len(self._feat) and np.array_equal(idx, np.arange(len(idx))):
            return self._Q, self._q
        return self._Q[np.ix_(idx, idx)], self._q[idx]


def bcd_working_set(datafit, penalty, W, *, threshold, max_iter, p0=10, max_outer=50,
                    inner_fraction=0.3):
    """Minimise least squares + L2,1 with working sets and block coordinate descent.

    Parameters
    ----------
    datafit : Quadratic (wide layout, all labels observed) or QuadraticGram (shared Gram)
    penalty : L21
    W : ndarray of shape (n_features, n_tasks)
        Starting point; not modified.
    threshold : float
        Absolute duality-gap tolerance of the full problem.
    max_iter : int
        Maximum total number of epochs (inner sweeps) over all working sets.

    Returns
    -------
    W, n_iter, gap, converged
    """
    full = _Full(datafit)
    alpha = penalty.alpha
    W = np.array(W, dtype=float, copy=True)
    p = W.shape[0]
    ws_size = min(p, p0)
    n_iter = 0
    gap = np.inf
    for _ in range(max_outer):
        f, lin, G = full.gradient(W)
        norms = _row_norms(W)
        gap = gap_from_pieces(f, lin, alpha * float(norms.sum()),
                              float(np.max(_row_norms(G), initial=0.0)) / alpha)
        if gap <= threshold or n_iter >= max_iter:
            break
        support = norms > 0
        score = penalty.subdiff_distance(W, -G)
        score[support] = np.inf
        ws_size = min(p, max(p0, 2 * int(support.sum()), ws_size))
        ws = np.sort(np.argpartition(-score, ws_size - 1)[:ws_size])
        ls = full.restrict(ws)
        inner_thr = max(inner_fraction * gap, threshold)
        W_ws, epochs, _ = bcd(ls, W[ws], alpha, threshold=inner_thr, max_epochs=max_iter - n_iter)
        n_iter += epochs
        W = np.zeros_like(W)
        W[ws] = W_ws
    return W, n_iter, gap, gap <= threshold
