"""Datafits: the smooth, data-dependent part of a multi-task objective.

Every datafit is a sum over tasks of the (weighted) mean loss over that task's labelled samples:

    f(W, b) = sum_t (c_t / n_t) sum_{i labelled for t} s_i loss(y_it, x_i @ W[:, t] + b_t)

with ``s_i`` the sample weights, ``n_t = sum_{i labelled for t} s_i`` (the count of labelled rows
when unweighted) and ``c_t`` the task weights (1 by default); both are carried by the design.

and exposes the same small interface to the solvers:

- ``linear(W, b)``: the part of the computation that is linear in ``(W, b)`` (the model outputs,
  or ``Q @ W`` for a Gram datafit). Solvers combine these linearly instead of recomputing them.
- ``value(W, b, Z)`` and ``gradient(W, b, Z) -> (value, grad_W, grad_b)``, ``Z = linear(W, b)``.
- ``lipschitz()``: a Lipschitz constant of the gradient with respect to ``(W, b)``.
- ``restrict(features)``: the same datafit on a subset of features (for working sets).

The least-squares datafits eliminate the intercept exactly (``b_t`` is the labelled mean of
``y_t - X w_t``, so the data are centred per task); they also give the pieces of the Fenchel dual
used for duality gaps (``dual_linear``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

_GRAM_MAX_ENTRIES = 2e7  # p * p * (number of distinct Grams) above which Grams are not formed


def _logsumexp_rows(z):
    """``log(sum(exp(z), axis=1))`` of a finite 2-D array, stabilised by the row maxima: the
    numbers of :func:`scipy.special.logsumexp`, without its per-call array-API dispatch (a
    multiclass solve calls it once per task and iteration; it was most of the solve time)."""
    m = np.max(z, axis=1)
    return m + np.log(np.sum(np.exp(z - m[:, None]), axis=1))


def _per_task_scale(design):
    """``c_t / n_t`` per task (weighted ``n_t``; 0 for an empty task)."""
    totals = design.task_totals
    scale = np.where(totals > 0, 1.0 / np.where(totals > 0, totals, 1.0), 0.0)
    if design.task_weight is not None:
        scale = scale * design.task_weight
    return scale


def _per_output_scale(design):
    return _per_task_scale(design)[design.output_task]


def _per_output_scale_unit(design):
    """``1 / n_t`` per output (no task weight): weights of the per-task weighted means."""
    totals = design.task_totals[design.output_task]
    return np.where(totals > 0, 1.0 / np.where(totals > 0, totals, 1.0), 0.0)


class Quadratic:
    """Least squares with the intercept eliminated, on the data (no Gram matrix).

    ``f(W) = sum_t 1/(2 n_t) ||yc_t - Xc_t W[:, t]||^2`` where ``Xc_t`` and ``yc_t`` are centred
    over task ``t``'s labelled samples when ``fit_intercept`` (centring is implicit: sparse X
    stays sparse).
    """

    def __init__(self, design, Y, *, fit_intercept=True):
        self.design = design
        self.fit_intercept = False  # no intercept variable: it is eliminated
        self.centered = fit_intercept
        d = design
        self.scale_out = _per_output_scale(d)  # c_t / n_t per output column
        self.S = d.entry_weights(self.scale_out)  # output-shaped s_i c_t / n_t, 0 when unlabelled
        Y = np.where(d.mask, Y, 0.0)
        if fit_intercept:
            self.x_mean = d.task_means()  # (n_outputs, n_features), weighted
            self.y_mean = d.output_sums(d.entry_weights(_per_output_scale_unit(d)) * Y)
            Y = np.where(d.mask, Y - d.broadcast(self.y_mean), 0.0)
        else:
            self.x_mean = np.zeros((d.n_outputs, d.n_features))
            self.y_mean = np.zeros(d.n_outputs)
        self.Yc = Y
        # a_t = ||yc_t||^2 / n_t, the value at W = 0 (times 2)
        self.a = d.output_sums(self.S * Y * Y)

    # -- interface ------------------------------------------------------------------------
    def linear(self, W, b=None):
        Z = self.design.forward(W)
        if self.centered:
            Z = Z - self.design.broadcast(np.einsum("mj,jm->m", self.x_mean, W))
        return Z

    def value(self, W, b, Z):
        R = Z - self.Yc
        return 0.5 * float(np.sum(self.S * R * R))

    def gradient(self, W, b, Z):
        R = Z - self.Yc
        G = self.S * R
        grad = self.design.adjoint(G)
        if self.centered:
            grad -= self.x_mean.T * self.design.output_sums(G)[None, :]
        return 0.5 * float(np.sum(G * R)), grad, None

    def dual_linear(self, W, Z):
        """``sum_t yc_t . r_t / n_t`` with ``r_t`` the residual: the linear term of the dual."""
        return float(np.sum(self.S * self.Yc * (self.Yc - Z)))

    def grad_at_zero(self):
        return -self.design.adjoint(self.S * self.Yc)

    def lipschitz(self):
        # computed once per datafit: a path solves the same datafit many times
        if self.__dict__.get("_lipschitz") is None:
            self._lipschitz = _power_lipschitz(self)
        return self._lipschitz

    def null_value(self):
        return 0.5 * float(self.a.sum())

    def intercept(self, W):
        if not self.centered:
            return np.zeros(W.shape[1])
        return self.y_mean - np.einsum("mj,jm->m", self.x_mean, W)

    # -- Gram ------------------------------------------------------------------------------
    def gram_size(self, n_features=None):
        p = self.design.n_features if n_features is None else n_features
        n_grams = 1 if self.design.full else self.design.n_tasks
        return p * p * n_grams

    def to_gram(self, features=None):
        """The same objective as a :class:`QuadraticGram` (optionally on a subset of features)."""
        d = self.design if features is None else self.design.restrict(features)
        xm = self.x_mean if features is None else self.x_mean[:, features]
        scale_t = _per_task_scale(d)
        tw = np.ones(d.n_tasks) if d.task_weight is None else d.task_weight
        if d.full:
            X = d.X
            Q = _weighted_gram(X, d.sample_weight) * scale_t[0]
            if self.centered:
                Q = Q - np.outer(xm[0], xm[0])
            Q = Q[None]
        else:
            Q = np.empty((d.n_tasks, d.n_features, d.n_features))
            for t, rows, _, cols in d.blocks():
                Xt = d.X[rows]
                wt = None if d.sample_weight is None else d.sample_weight[rows]
                G = _weighted_gram(Xt, wt) * scale_t[t]
                m = xm[cols.start]
                # sum_i s_i c_t/n_t (x_i - m)(x_i - m)' = c_t (X'SX/n_t - m m') for the weighted m
                Q[t] = G - tw[t] * np.outer(m, m) if self.centered else G
        q = d.adjoint(self.S * self.Yc)
        if self.centered:
            q -= xm.T * d.output_sums(self.S * self.Yc)[None, :]
        return QuadraticGram(Q, q, self.a, output_task=d.output_task)

    def unweighted_equivalent(self):
        """For a full wide design with sample weights: the same objective as an unweighted,
        uncentred :class:`Quadratic` on rows scaled by ``sqrt(n s_i / n_t)`` after weighted
        centring (dense), so that solvers which read the raw design (block coordinate descent)
        need no weights. ``self`` still gives the intercepts."""
        d = self.design
        if d.sample_weight is None or not d.full:
            return self
        c = np.sqrt(d.n_samples * d.sample_weight / d.task_totals[0])
        X = d.X
        if self.centered:
            X = (X.toarray() if sp.issparse(X) else np.asarray(X)) - self.x_mean[0]
            X = X * c[:, None]
        else:
            X = sp.diags(c) @ X if sp.issparse(X) else X * c[:, None]
        from ._design import WideDesign

        design = WideDesign(X, d.out_slices, d.task_mask)
        return Quadratic(design, self.Yc * c[:, None], fit_intercept=False)

    def restrict(self, features):
        if self.gram_size(len(features)) <= _GRAM_MAX_ENTRIES:
            return self.to_gram(features)
        new = Quadratic.__new__(Quadratic)
        new.__dict__.update(self.__dict__)
        new._lipschitz = None
        new.design = self.design.restrict(features)
        new.x_mean = self.x_mean[:, features]
        return new


def _weighted_gram(X, w):
    """``X' diag(w) X`` as a dense array (``X'X`` when ``w`` is None)."""
    if w is None:
        G = X.T @ X
    elif sp.issparse(X):
        G = X.T @ sp.diags(w) @ X
    else:
        G = X.T @ (X * w[:, None])
    return np.asarray(G.toarray() if sp.issparse(G) else G)


class QuadraticGram:
    """Least squares in Gram form: ``f(W) = sum_t 1/2 w_t' Q_t w_t - q_t' w_t + a_t / 2``.

    ``Q`` has shape (1, p, p) (one design shared by all tasks) or (n_tasks, p, p).
    """

    fit_intercept = False

    def __init__(self, Q, q, a, *, output_task):
        self.Q = Q
        self.q = q
        self.a = a
        self.output_task = output_task
        self.shared = Q.shape[0] == 1

    def linear(self, W, b=None):
        if self.shared:
            return self.Q[0] @ W
        return np.einsum("tij,jt->it", self.Q[self.output_task], W)

    def value(self, W, b, Z):
        return float(np.sum(W * (0.5 * Z - self.q))) + 0.5 * float(self.a.sum())

    def gradient(self, W, b, Z):
        return self.value(W, b, Z), Z - self.q, None

    def dual_linear(self, W, Z):
        return float(self.a.sum() - np.sum(self.q * W))

    def grad_at_zero(self):
        return -self.q

    def lipschitz(self):
        if self.__dict__.get("_lipschitz") is None:
            self._lipschitz = float(np.max(np.linalg.eigvalsh(self.Q)[:, -1]))
        return self._lipschitz

    def null_value(self):
        return 0.5 * float(self.a.sum())

    def restrict(self, features):
        idx = np.asarray(features)
        return QuadraticGram(
            self.Q[:, idx[:, None], idx[None, :]], self.q[idx], self.a,
            output_task=self.output_task,
        )


class Logistic:
    """Per-task logistic (binary task, one output) or softmax (multiclass task, one output per
    class) cross-entropy, each averaged over the task's labelled samples, with intercepts.

    ``codes`` holds, in the output shape, the class index of each labelled sample (for a binary
    task: 0 or 1 in that task's single column).
    """

    def __init__(self, design, codes, *, fit_intercept=True):
        self.design = design
        self.fit_intercept = fit_intercept
        d = design
        # With an intercept, the design is centred per task (b = c - x_mean . w): an exact
        # reparametrisation that decouples the intercept from W, so that features with a large
        # mean do not make the problem ill-conditioned.
        self.centered = fit_intercept
        self.x_mean = d.task_means() if fit_intercept else None
        self.scale_out = _per_output_scale(d)
        self.task_scale = _per_task_scale(d)
        widths = np.array([s.stop - s.start for s in d.out_slices])
        self.all_binary = bool(np.all(widths == 1))
        if self.all_binary:
            self.S = d.entry_weights(self.scale_out)
            self.Y = np.where(d.mask, codes, 0.0)
        else:
            self.S = None
            self.block_list = []
            for t, rows, zcols, cols in d.blocks():
                k = cols.stop - cols.start
                y = np.asarray(codes[rows, zcols.start]).astype(int)
                onehot = np.eye(max(k, 2))[y]
                if k == 1:
                    onehot = onehot[:, 1:]
                # per-row factor s_i c_t / n_t
                s = self.task_scale[t] * (
                    np.ones(onehot.shape[0]) if d.sample_weight is None else d.sample_weight[rows]
                )
                self.block_list.append((t, rows, zcols, k, onehot, s))

    def linear(self, W, b):
        """Outputs ``Xc W + c`` (``c``: the intercept in the centred parametrisation)."""
        Z = self.design.forward(W)
        if self.fit_intercept:
            Z = self.design.add_intercept(Z, b - np.einsum("mj,jm->m", self.x_mean, W))
        return Z

    def to_centered(self, W, b):
        """Intercept ``b`` of the original parametrisation -> ``c`` of the centred one."""
        return b + np.einsum("mj,jm->m", self.x_mean, W) if self.fit_intercept else b

    def intercept(self, W, c):
        """``c`` of the centred parametrisation -> the model's intercept ``b``."""
        if not self.fit_intercept:
            return np.zeros(W.shape[1])
        return c - np.einsum("mj,jm->m", self.x_mean, W)

    def _binary(self, Z, grad):
        ll = self.S * (np.logaddexp(0.0, Z) - self.Y * Z)
        if not grad:
            return float(ll.sum()), None
        return float(ll.sum()), self.S * (expit(Z) - self.Y)

    def _blocks(self, Z, grad):
        value = 0.0
        G = np.zeros_like(Z) if grad else None
        for _t, rows, zcols, k, onehot, s in self.block_list:
            z = Z[rows, zcols]
            if k == 1:
                y = onehot[:, 0]
                value += float(s @ (np.logaddexp(0.0, z[:, 0]) - y * z[:, 0]))
                if grad:
                    G[rows, zcols] = s[:, None] * (expit(z) - onehot)
            else:
                lse = _logsumexp_rows(z)
                value += float(s @ (lse - np.sum(onehot * z, axis=1)))
                if grad:
                    G[rows, zcols] = s[:, None] * (np.exp(z - lse[:, None]) - onehot)
        return value, G

    def value(self, W, b, Z):
        return (self._binary if self.all_binary else self._blocks)(Z, False)[0]

    def gradient(self, W, b, Z):
        f, G = (self._binary if self.all_binary else self._blocks)(Z, True)
        gW = self.design.adjoint(G)
        gb = None
        if self.fit_intercept:
            gb = self.design.output_sums(G)
            gW -= self.x_mean.T * gb[None, :]
        return f, gW, gb

    def lipschitz(self):
        # Hessian of the binary log-loss <= 1/4, of the softmax cross-entropy <= 1/2 (per logit)
        c = 0.25 if self.all_binary else 0.5
        if self.__dict__.get("_lipschitz") is None:
            self._lipschitz = c * _power_lipschitz(self, intercept=self.fit_intercept)
        return self._lipschitz

    def restrict(self, features):
        new = Logistic.__new__(Logistic)
        new.__dict__.update(self.__dict__)
        new._lipschitz = None
        new.design = self.design.restrict(features)
        if self.fit_intercept:
            new.x_mean = self.x_mean[:, features]
        return new


def _power_lipschitz(datafit, *, intercept=False, n_iter=30, seed=0):
    """Largest eigenvalue, over tasks, of ``[Xc_t 1]' [Xc_t 1] / n_t`` (the 1 only with an
    intercept), by power iteration run on all output columns at once. Returned with a 2% margin
    (power iteration approaches the eigenvalue from below); solvers still backtrack."""
    d = datafit.design
    S = d.entry_weights(_per_output_scale(d))
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((d.n_features, d.n_outputs))
    c = rng.standard_normal(d.n_outputs) if intercept else None
    centered = getattr(datafit, "centered", False)
    lam = np.zeros(d.n_outputs)
    for _ in range(n_iter):
        norm = np.sqrt(np.sum(V * V, axis=0) + (c * c if intercept else 0.0))
        norm[norm == 0] = 1.0
        V = V / norm
        if intercept:
            c = c / norm
        Z = d.forward(V)
        if centered:
            Z = Z - d.broadcast(np.einsum("mj,jm->m", datafit.x_mean, V))
        if intercept:
            Z = d.add_intercept(Z, c)
        G = S * Z
        V_new = d.adjoint(G)
        if centered:
            V_new -= datafit.x_mean.T * d.output_sums(G)[None, :]
        c_new = d.output_sums(G) if intercept else None
        lam = np.sum(V * V_new, axis=0) + (c * c_new if intercept else 0.0)
        V, c = V_new, c_new
    return 1.02 * float(max(lam.max(), np.finfo(float).tiny))
