"""Working sets with block coordinate descent: the specialised solver of L2,1 least squares.

Problem: ``min_W 1/2 ||B - A W||_F^2 + alpha sum_j ||W[j]||`` with one design ``A`` shared by all
tasks (the wide layout with every label observed; ``A`` is the centred design over ``sqrt(n)``).

Outer loop (as :func:`._working_set.working_set`): rank the features by their distance to the
optimality conditions, keep the support and the worst violators, solve the restricted problem to a
fraction of the current duality gap, stop on the duality gap of the full problem.

Inner solver: cyclic block coordinate descent, one feature (a row of ``W``, all tasks) at a time,
with a closed-form group soft-thresholding update, compiled with numba (:mod:`._compiled`: lazy
import, one float64 signature per kernel, on-disk cache). Two storages of the restricted problem:

- Gram form, when the datafit already holds the Gram matrix (``n > p``) or ``X`` is sparse: the
  kernel keeps ``G = Q W - q`` (transposed) and the working set's block of the full (or cached)
  Gram matrix, copied once per working set, so that the update of ``G`` runs along contiguous
  rows and vectorises; an update costs ``O(k n_tasks)``.
- Data form, dense ``X``: the kernel keeps the residual ``R = A W - B`` (transposed, so that
  its dot products and updates run along contiguous rows of length n); an update costs
  ``O(n n_tasks)``. The centred, scaled columns of the features that have entered a working set
  are cached on the datafit (Fortran order), so along a regularisation path every column is
  centred once.

Every ``anderson + 1`` epochs the last iterates are extrapolated (Anderson acceleration) on the
rows that stayed nonzero, and the extrapolation is kept only when it lowers the objective. The
outer loop's full gradient uses only the support of ``W`` for the residual.

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

from ._compiled import kernel
from ._criteria import gap_from_pieces

_P0 = 100  # first working-set size at least this
_GROW = 1.5  # a working set holds at least _GROW times the support
# Dense X: Gram form for k working features when building the new Gram entries (n k^2 at most)
# plus _EPOCHS epochs (k^2 T each) costs less than _EPOCHS data-form epochs (2 n k T each)
_EPOCHS = 10


def _row_norms(W):
    return np.sqrt(np.einsum("ij,ij->i", W, W))


# -- compiled epochs: one cyclic pass of block coordinate descent over the rows of W ------------
@kernel("void(float64[:, ::1], float64[:, ::1], float64[:, ::1], float64)")
def _gram_epoch(Q, Gt, W, alpha):
    """In place on ``W`` (k, T) and the transposed gradient ``Gt = (Q W - q)'`` (T, k): for each
    row ``j``, the group soft-thresholding ``W[j] <- S(W[j] - G[j] / Q_jj, alpha / Q_jj)``, then
    ``G += Q[:, j] (W[j] - old)``. ``Q`` is the (k, k) Gram matrix of the working set; the
    update of ``G`` runs along the contiguous rows of ``Q`` and ``Gt``, so it vectorises."""
    k, T = W.shape
    v = np.empty(T)
    for j in range(k):
        qjj = Q[j, j]
        if qjj <= 0.0:
            continue
        nrm2 = 0.0
        was_zero = True
        for t in range(T):
            w = W[j, t]
            if w != 0.0:
                was_zero = False
            vt = w - Gt[t, j] / qjj
            v[t] = vt
            nrm2 += vt * vt
        thr = alpha / qjj
        nv = np.sqrt(nrm2)
        if nv <= thr:
            if was_zero:
                continue
            scale = 0.0
        else:
            scale = 1.0 - thr / nv
        for t in range(T):
            new = v[t] * scale
            v[t] = new - W[j, t]
            W[j, t] = new
        qrow = Q[j]  # Q is symmetric: row j is column j
        for t in range(T):
            vt = v[t]
            if vt != 0.0:
                g = Gt[t]
                for i in range(k):
                    g[i] += qrow[i] * vt


@kernel("void(float64[:, ::1], float64[:, ::1], float64[:, ::1], float64, float64[::1])")
def _data_epoch(At, Rt, W, alpha, diag):
    """In place on ``W`` (k, T) and the transposed residual ``Rt = (A W - B)'`` (T, n), with
    ``At = A'`` (k, n), C-contiguous: for each row ``j``, with ``g = A[:, j]' R``,
    ``W[j] <- S(W[j] - g / d_j, alpha / d_j)``, then ``R += A[:, j] (W[j] - old)``.

    Both loops run along contiguous rows of length n, so they vectorise, and the update of ``R``
    by row ``j`` and the product of the next row's column with the updated ``R`` are one pass
    over ``R`` (half the memory traffic of two)."""
    k, n = At.shape
    T = W.shape[1]
    g = np.empty(T)  # A[:, j]' R for the current row, when known
    g_next = np.empty(T)
    known = False
    for j in range(k):
        djj = diag[j]
        if djj <= 0.0:
            continue
        a = At[j]
        if not known:
            for t in range(T):
                r = Rt[t]
                acc = 0.0
                for i in range(n):
                    acc += a[i] * r[i]
                g[t] = acc
        known = False
        nrm2 = 0.0
        was_zero = True
        for t in range(T):
            w = W[j, t]
            if w != 0.0:
                was_zero = False
            vt = w - g[t] / djj
            g[t] = vt
            nrm2 += vt * vt
        thr = alpha / djj
        nv = np.sqrt(nrm2)
        if nv <= thr:
            if was_zero:
                continue
            scale = 0.0
        else:
            scale = 1.0 - thr / nv
        for t in range(T):
            new = g[t] * scale
            g[t] = new - W[j, t]  # the change of row j
            W[j, t] = new
        j2 = j + 1
        while j2 < k and diag[j2] <= 0.0:
            j2 += 1
        if j2 < k:
            a2 = At[j2]
            for t in range(T):
                vt = g[t]
                r = Rt[t]
                acc = 0.0
                if vt != 0.0:
                    for i in range(n):
                        ri = r[i] + a[i] * vt
                        r[i] = ri
                        acc += a2[i] * ri
                else:
                    for i in range(n):
                        acc += a2[i] * r[i]
                g_next[t] = acc
            g, g_next = g_next, g
            known = True
        else:
            for t in range(T):
                vt = g[t]
                if vt != 0.0:
                    r = Rt[t]
                    for i in range(n):
                        r[i] += a[i] * vt


# -- restricted least-squares problems: the gradient G = A'(A W - B) in two storages ------------
class _GramLS:
    """``Q[idx][:, idx] = A'A`` (k, k), ``q = A'B`` (k, T), ``aa = ||B||^2``; keeps
    ``G = A'A W - q``, stored transposed (T, k) for the kernel. ``Q`` is a larger Gram matrix;
    the working set's block is copied out once (k^2 numbers, less than one epoch's k^2 T
    operations), so that the epochs read it contiguously; the whole of ``Q`` is used as is."""

    def __init__(self, Q, idx, q, aa):
        idx = np.asarray(idx, dtype=np.intp)
        k = len(idx)
        if k == Q.shape[0] and (k == 0 or (idx[0] == 0 and np.all(np.diff(idx) == 1))):
            self.Qw = np.ascontiguousarray(Q, dtype=float)
        else:
            self.Qw = np.ascontiguousarray(Q[idx][:, idx], dtype=float)
        self.q, self.aa = np.ascontiguousarray(q), aa

    @property
    def G(self):
        return self.Gt.T

    def reset(self, W, G=None):
        if G is None:
            nz = np.flatnonzero(np.any(W != 0, axis=1))
            G = (W[nz].T @ self.Qw[nz]).T - self.q
        self.Gt = np.ascontiguousarray(G.T)

    def epoch(self, W, alpha):
        _gram_epoch(self.Qw, self.Gt, W, alpha)

    def move(self, D, rows):
        """The state after ``W += D`` with ``D`` zero outside ``rows``."""
        self.Gt = self.Gt + D[rows].T @ self.Qw[rows]

    def grad(self):
        return self.Gt.T

    def pieces(self, W, G):
        """``(f, lin)``: ``f = ||R||^2 / 2``, ``lin = <B, -R>`` with ``R = A W - B``."""
        qw = float(np.sum(self.q * W))
        return 0.5 * float(np.sum(W * G)) - 0.5 * qw + 0.5 * self.aa, self.aa - qw

    def save(self):
        return self.Gt

    def restore(self, saved):
        self.Gt = saved


class _DataLS:
    """``A`` (n, k) dense and ``B`` (n, T); keeps the residual ``R = A W - B``, stored
    transposed (T, n) for the kernel."""

    def __init__(self, A, B, aa):
        self.A, self.B, self.aa = np.asfortranarray(A, dtype=float), B, aa
        self.Bt = np.ascontiguousarray(B.T)
        self.diag = np.einsum("ij,ij->j", self.A, self.A)

    def reset(self, W, G=None):
        self.Rt = np.ascontiguousarray((self.A @ W - self.B).T)
        self._G = G

    def epoch(self, W, alpha):
        _data_epoch(self.A.T, self.Rt, W, alpha, self.diag)
        self._G = None

    def move(self, D, rows):
        """The state after ``W += D`` with ``D`` zero outside ``rows``."""
        self.Rt = self.Rt + D[rows].T @ self.A[:, rows].T
        self._G = None

    def grad(self):
        if self._G is None:
            self._G = (self.Rt @ self.A).T
        return self._G

    def pieces(self, W, G):
        Rt = self.Rt
        return 0.5 * float(np.sum(Rt * Rt)), -float(np.sum(self.Bt * Rt))

    def save(self):
        return self.Rt, self._G

    def restore(self, saved):
        self.Rt, self._G = saved


def _objective(ls, W, alpha):
    f, _ = ls.pieces(W, ls.G if isinstance(ls, _GramLS) else None)
    return f + alpha * float(np.sum(_row_norms(W)))


def bcd(ls, W, alpha, *, threshold, max_epochs, anderson=5, check_every=None, G0=None):
    """Block coordinate descent on a restricted problem; returns ``W, n_epochs, gap``.

    ``W`` (C-contiguous float64) is updated in place. The gap is checked every epoch in Gram
    form (the gradient is kept up to date, a check costs ``O(k n_tasks)``), every third in data
    form (a check costs half an epoch).
    """
    if check_every is None:
        check_every = 1 if isinstance(ls, _GramLS) else 3
    W = np.ascontiguousarray(W, dtype=float)
    ls.reset(W, G0)  # G0: the gradient at W when the caller has it
    hist = []
    gap = np.inf
    for epoch in range(1, max_epochs + 1):
        ls.epoch(W, alpha)
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
    ls.move(We - W, np.flatnonzero(keep))
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
    """The full problem in the form the outer loop needs, from a Quadratic or QuadraticGram.

    Dense data: the centred, scaled columns ``A_j = (x_j - mean_j) / sqrt(n)`` of every feature
    that has entered a working set are kept (Fortran order), with their Gram matrix and
    ``A' B``; successive working sets overlap, so each column is centred and each Gram entry
    computed once (along a regularisation path too: the cache lives as long as the datafit).
    """

    def __init__(self, datafit):
        self.datafit = datafit
        self.gram = hasattr(datafit, "Q")
        if self.gram:
            self.aa = float(np.sum(datafit.a))
            self.Q = np.ascontiguousarray(datafit.Q[0], dtype=float)
        else:
            d = datafit.design
            self.n = d.n_samples
            self.sqn = math.sqrt(self.n)
            self.B = np.ascontiguousarray(datafit.Yc / self.sqn)
            self.aa = float(np.sum(self.B * self.B))
            self.sparse = sp.issparse(d.X)
            self.x_mean = datafit.x_mean[0]
            p = d.n_features
            self._pos = np.full(p, -1, dtype=np.intp)  # feature -> its column in the cache
            self._feat = np.zeros(0, dtype=np.intp)
            self._Abuf = np.zeros((self.n, 0), order="F")  # capacity for the cached columns
            self._A = self._Abuf

    def gradient(self, W):
        """``(f, lin, G)`` at ``W``."""
        if self.gram:
            supp = np.flatnonzero(np.any(W != 0, axis=1))
            # Q is symmetric: its rows of the support, contiguous, instead of a column gather;
            # the whole product once the support holds most features
            QW = self.Q @ W if 2 * len(supp) > len(W) else (W[supp].T @ self.Q[supp]).T
            G = QW - self.datafit.q
            qw = float(np.sum(self.datafit.q * W))
            return 0.5 * float(np.sum(W * G)) - 0.5 * qw + 0.5 * self.aa, self.aa - qw, G
        df = self.datafit
        supp = np.flatnonzero(np.any(W != 0, axis=1))
        if self.sparse:
            R = (df.linear(W) - df.Yc) / self.sqn
        else:
            # the residual from the support only: its columns are in the cache
            self._add(supp)
            R = self._A[:, self._pos[supp]] @ W[supp] - self.B
        G = df.design.adjoint(R) / self.sqn
        if df.centered:
            G -= np.outer(self.x_mean, R.sum(axis=0)) / self.sqn
        return 0.5 * float(np.sum(R * R)), -float(np.sum(self.B * R)), G

    def restrict(self, ws):
        if self.gram:
            return _GramLS(self.Q, ws, self.datafit.q[ws], self.aa)
        k, T = len(ws), self.B.shape[1]
        if not self.sparse and k * (1.0 + self.n / (_EPOCHS * T)) >= 2.0 * self.n:
            self._add(ws)
            return _DataLS(self._A[:, self._pos[ws]], self.B, self.aa)
        return self._gram_cached(ws)

    def _add(self, ws):
        """Dense data: centre and scale the columns of ``ws`` not in the cache yet."""
        new = ws[self._pos[ws] < 0]
        if not new.size:
            return
        X = self.datafit.design.X
        An = np.asarray(X[:, new], dtype=float, order="F")
        if self.datafit.centered:
            An -= self.x_mean[new]
        An /= self.sqn
        k0 = len(self._feat)
        k1 = k0 + len(new)
        buf = self._Abuf
        if k1 > buf.shape[1]:  # grow the buffer geometrically: each column is copied O(1) times
            buf = np.empty((self.n, max(k1, 2 * buf.shape[1])), order="F")
            buf[:, :k0] = self._A
            self._Abuf = buf
        buf[:, k0:k1] = An
        self._A = buf[:, :k1]
        self._feat = np.concatenate([self._feat, new])
        self._pos[new] = np.arange(k0, k0 + len(new))

    def _gram_cached(self, ws):
        """The Gram form of the working set from a cache of Gram entries (successive working sets
        overlap: each entry is computed once), the columns centred implicitly."""
        df = self.datafit
        X = df.design.X
        if not hasattr(self, "_sfeat"):
            self._sfeat = np.zeros(0, dtype=np.intp)
            self._sQ = np.zeros((0, 0))
            self._sq = np.zeros((0, self.B.shape[1]))
            self._spos = np.full(X.shape[1], -1, dtype=np.intp)
        new = ws[self._spos[ws] < 0]
        if new.size:
            feat = np.concatenate([self._sfeat, new])
            Xn = X[:, new]
            cross = X[:, feat].T @ Xn
            cross = np.asarray(cross.toarray() if sp.issparse(cross) else cross) / self.n
            qn = np.asarray(Xn.T @ df.Yc) / self.n
            if df.centered:
                cross -= np.outer(self.x_mean[feat], self.x_mean[new])
                qn -= np.outer(self.x_mean[new], df.Yc.sum(axis=0)) / self.n
            k0 = len(self._sfeat)
            Q = np.empty((len(feat), len(feat)))
            Q[:k0, :k0] = self._sQ
            Q[:, k0:] = cross
            Q[k0:, :k0] = cross[:k0].T
            self._sQ, self._sq, self._sfeat = Q, np.vstack([self._sq, qn]), feat
            self._spos[new] = np.arange(k0, len(feat))
        idx = self._spos[ws]
        return _GramLS(self._sQ, idx, self._sq[idx], self.aa)


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
    full = getattr(datafit, "_bcd_full", None)
    if full is None:
        # kept on the datafit: a regularisation path reuses its column and Gram caches
        full = datafit._bcd_full = _Full(datafit)
    alpha = penalty.alpha
    W = np.array(W, dtype=float, copy=True)
    p = W.shape[0]
    p0 = max(p0, _P0)
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
        n_supp = int(support.sum())
        # double the set while the support fills it, else hold _GROW times the support
        grow = 2 * ws_size if n_supp >= 0.9 * ws_size else int(_GROW * n_supp)
        ws_size = min(p, max(p0, grow, ws_size))
        ws = np.sort(np.argpartition(-score, ws_size - 1)[:ws_size])
        ls = full.restrict(ws)
        # the restricted problem to a fraction of the gap; to the end when it is the full problem
        inner_thr = threshold if ws_size >= p else max(inner_fraction * gap, threshold)
        W_ws, epochs, _ = bcd(ls, W[ws], alpha, threshold=inner_thr, max_epochs=max_iter - n_iter,
                              G0=G[ws])
        n_iter += epochs
        W = np.zeros_like(W)
        W[ws] = W_ws
    return W, n_iter, gap, gap <= threshold
