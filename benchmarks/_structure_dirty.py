"""Cases of ``bench_structure.py`` for the dirty, robust low-rank and graph-regularised families.

Each case fits one least-squares problem three ways and returns the objective reached:

- ``skmtl``: the estimator, at ``tol=TOL``;
- ``bare``: the same algorithm written directly in numpy on the Gram matrices (one per task in
  the long layout): accelerated proximal gradient with gradient restart and the exact step
  ``1 / L``; for the dirty model in ``W`` with the closed-form prox of the infimal convolution,
  for the robust model on the stacked variable ``[L | S]`` (step ``1 / (2 L)``), both stopped
  on the same duality gap at the same threshold; for the graph model with the
  closed-form prox in the eigenbasis of the Laplacian (or, with the L1 term, the quadratic part
  as a smooth term), stopped on the same proximal-gradient norm at the same threshold;
- ``cvxpy``: the convex problem written directly, solved by Clarabel.

The objective of every result is computed here by :func:`objective`, from its coefficients,
intercepts and (split models) its two parts: the dirty penalty of ``W`` is evaluated exactly (the
row-wise closed form of the infimal convolution), the robust one at the returned split.

Run alone: ``python benchmarks/_structure_dirty.py [--quick]`` (times, objective gaps, ratios).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout


from skmtl.linear import (  # noqa: E402
    DirtyRegressor,
    GraphRegularizedRegressor,
    RobustLowRankRegressor,
)
from skmtl.linear._dirty import dirty_split  # noqa: E402

TOL = 1e-7

# ----------------------------------------------------------------------------------------------
# problems: per-task (X_t, y_t), and the wide arrays when every task shares X


def _dirty_truth(p, T, rng):
    W = np.zeros((p, T))
    k = max(3, p // 20)
    W[:k] = rng.normal(size=(k, T)) + 1.0
    for t in range(T):  # a few task-specific features
        W[rng.choice(np.arange(k, p), size=2, replace=False), t] = 2.0 * rng.normal(size=2)
    return W


def _robust_truth(p, T, rng):
    W = np.outer(rng.normal(size=p), 1.0 + 0.2 * rng.normal(size=T))
    W[:, :: max(T // 4, 1)] = 2.0 * rng.normal(size=(p, len(range(0, T, max(T // 4, 1)))))
    return W


def _graph_truth(p, T, rng):
    # tasks drift along a chain: neighbours are similar
    steps = 0.3 * rng.normal(size=(p, T))
    return np.cumsum(steps, axis=1) + rng.normal(size=(p, 1))


def _wide(n, p, T, truth, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    W = truth(p, T, rng)
    Y = X @ W + rng.normal(size=T) + 0.5 * rng.normal(size=(n, T))
    return [(X, Y[:, t]) for t in range(T)], (X, Y)


def _long(sizes, p, truth, seed):
    rng = np.random.default_rng(seed)
    W = truth(p, len(sizes), rng)
    data = []
    for t, n_t in enumerate(sizes):
        X = rng.normal(size=(n_t, p)) + 0.3
        data.append((X, X @ W[:, t] + 0.5 * rng.normal(size=n_t)))
    return data, None


def _as_long(data):
    task = np.concatenate([np.full(len(y), t) for t, (_, y) in enumerate(data)])
    X = np.column_stack([np.vstack([X for X, _ in data]), task])
    return X, np.concatenate([y for _, y in data])


_LONG = {}


def _fit_skmtl(est, data, wide):
    if wide is not None:
        return est.fit(*wide)
    key = id(data)
    if key not in _LONG:  # the long arrays are the user's data: built once, not timed
        _LONG[key] = (data, _as_long(data))
    X, y = _LONG[key][1]
    return est.set_params(task_column=X.shape[1] - 1).fit(X, y)


# ----------------------------------------------------------------------------------------------
# the objective, computed the same way for every result


def objective(data, W, b, pen):
    fit = sum(np.sum((y - X @ W[:, t] - b[t]) ** 2) / (2 * len(y)) for t, (X, y) in enumerate(data))
    return float(fit + pen)


def dirty_pen(W, alpha, beta):
    P, Q = dirty_split(W, alpha, beta)
    return alpha * np.sum(np.linalg.norm(P, axis=1)) + beta * np.sum(np.abs(Q))


def robust_pen(L, S, alpha, beta):
    return alpha * np.linalg.norm(L, "nuc") + beta * np.sum(np.linalg.norm(S, axis=0))


def graph_pen(W, alpha, coupling, A, rho):
    Lap = np.diag(A.sum(axis=1)) - A
    return (0.5 * alpha * (1 - rho) * np.sum(W * W) + 0.5 * coupling * np.trace(W @ Lap @ W.T)
            + alpha * rho * np.sum(np.abs(W)))


# ----------------------------------------------------------------------------------------------
# bare numpy: Gram matrices, accelerated proximal gradient


class _Gram:
    """Centred per-task Gram matrices: ``f(W) = sum_t 1/2 w_t'Q_t w_t - q_t'w_t + a_t / 2``."""

    def __init__(self, data, wide):
        if wide is not None:
            X, Y = wide
            Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
            n = len(X)
            self.Q = (Xc.T @ Xc / n)[None]
            self.q = Xc.T @ Yc / n
            self.a = np.sum(Yc * Yc, axis=0) / n
        else:
            Qs, qs, a = [], [], []
            for X, y in data:
                Xc, yc = X - X.mean(axis=0), y - y.mean()
                Qs.append(Xc.T @ Xc / len(y))
                qs.append(Xc.T @ yc / len(y))
                a.append(yc @ yc / len(y))
            self.Q, self.q, self.a = np.array(Qs), np.column_stack(qs), np.array(a)
        self.shared = self.Q.shape[0] == 1
        self.L = float(np.max(np.linalg.eigvalsh(self.Q)[:, -1]))
        self.means = [(X.mean(axis=0), y.mean()) for X, y in data]

    def QW(self, W):
        return self.Q[0] @ W if self.shared else np.einsum("tij,jt->it", self.Q, W)

    def pieces(self, W):
        """``(f, G, lin)``: value, gradient, linear term of the dual."""
        QW = self.QW(W)
        qw = float(np.sum(self.q * W))
        return 0.5 * float(np.sum(W * QW)) - qw + 0.5 * self.a.sum(), QW - self.q, self.a.sum() - qw

    def intercept(self, W):
        return np.array([m_y - m_x @ W[:, t] for t, (m_x, m_y) in enumerate(self.means)])


def _gap(f, lin, pen, dn):
    kappa = lin / (2 * f) if f > 0 else np.inf
    kappa = float(np.clip(kappa, 0.0, np.inf if dn == 0 else 1.0 / dn))
    return f + pen - (kappa * lin - kappa * kappa * f)


def _soft(V, thr):
    return np.sign(V) * np.maximum(np.abs(V) - thr, 0.0)


def _svt(V, thr):
    U, s, Vt = np.linalg.svd(V, full_matrices=False)
    s = np.maximum(s - thr, 0.0)
    r = int(np.count_nonzero(s))
    return (U[:, :r] * s[:r]) @ Vt[:r]


def _col_prox(V, thr):
    nv = np.linalg.norm(V, axis=0)
    return V * np.where(nv > thr, 1 - thr / np.maximum(nv, 1e-300), 0.0)[None, :]


def proj_box_ball(V, b, r):
    """Rows of ``V`` projected onto ``{||u||_inf <= b, ||u||_2 <= r}``: ``clip(tau v, b)``."""
    U = np.clip(V, -b, b)
    nrm = np.linalg.norm(U, axis=1)
    out = U.copy()
    bad = nrm > r
    if bad.any():
        Vb = V[bad]
        a = np.sort(np.abs(Vb), axis=1)[:, ::-1]
        M = a.shape[1]
        sq = a * a
        tail = np.maximum(sq.sum(1)[:, None] - np.cumsum(sq, 1), 0)  # S_m, m clipped = 1..M
        tot = sq.sum(1)
        tau = np.full(len(Vb), np.nan)
        # m = 0 clipped: tau = r / ||v||, valid if tau * a_1 <= b
        t0 = r / np.sqrt(tot)
        ok = t0 * a[:, 0] <= b
        tau[ok] = t0[ok]
        a_next = np.hstack([a[:, 1:], np.zeros((len(Vb), 1))])
        for m in range(1, M + 1):
            num = r * r - m * b * b
            if np.all(~np.isnan(tau)):
                break
            with np.errstate(divide='ignore', invalid='ignore'):
                tm = np.sqrt(np.maximum(num, 0) / tail[:, m - 1])
            ok = (np.isnan(tau) & (num > 0) & (tm * a[:, m - 1] >= b * (1 - 1e-12))
                  & (tm * a_next[:, m - 1] <= b * (1 + 1e-12)))
            tau[ok] = tm[ok]
        tau = np.where(np.isnan(tau), 0.0, tau)
        out[bad] = np.clip(Vb * tau[:, None], -b, b)
    return out

def _momentum(W, Wn, Y, t):
    """FISTA's next extrapolated point and ``t`` after the step ``Y -> Wn`` from the iterate
    ``W``, restarting (``t = 1``) when the step goes against the momentum."""
    if np.sum((Y - Wn) * (Wn - W)) > 0:
        return Wn, 1.0
    tn = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
    return Wn + (t - 1) / tn * (Wn - W), tn


def bare_dirty(gram, alpha, beta, threshold, max_iter=200000, check=10):
    """FISTA with gradient restart in ``W``, prox ``V - proj(V)`` on the intersection of the
    dual balls; stops on the duality gap."""
    p, M = gram.q.shape
    W = np.zeros((p, M))
    Y, t, L = W, 1.0, gram.L
    for it in range(1, max_iter + 1):
        V = Y - (gram.QW(Y) - gram.q) / L
        Wn = V - proj_box_ball(V, beta / L, alpha / L)
        Y, t = _momentum(W, Wn, Y, t)
        W = Wn
        if it % check == 0:
            f, G, lin = gram.pieces(W)
            dn = max(np.max(np.linalg.norm(G, axis=1)) / alpha, np.max(np.abs(G)) / beta)
            if _gap(f, lin, dirty_pen(W, alpha, beta), dn) <= threshold:
                break
    return W


def bare_split(gram, prox_a, prox_b, pen, dual_norm, threshold, max_iter=200000, check=10):
    """FISTA with gradient restart on ``[A | B]``; stops on the duality gap in ``W = A + B``."""
    p, M = gram.q.shape
    V = np.zeros((p, 2 * M))
    Y, t = V, 1.0
    step = 1.0 / (2.0 * gram.L)
    for it in range(1, max_iter + 1):
        W = Y[:, :M] + Y[:, M:]
        G = gram.QW(W) - gram.q
        Vn = np.hstack([prox_a(Y[:, :M] - step * G, step), prox_b(Y[:, M:] - step * G, step)])
        Y, t = _momentum(V, Vn, Y, t)
        V = Vn
        if it % check == 0:
            A, B = V[:, :M], V[:, M:]
            f, G, lin = gram.pieces(A + B)
            if _gap(f, lin, pen(A, B), dual_norm(G)) <= threshold:
                break
    return V[:, :M], V[:, M:]


def bare_graph(gram, alpha, coupling, A, rho, threshold, max_iter=200000, check=10):
    """FISTA with gradient restart on ``W``; stops on the proximal-gradient norm."""
    p, T = gram.q.shape
    lam, U = np.linalg.eigh(np.diag(A.sum(axis=1)) - A)
    lam = np.maximum(lam, 0.0)
    a = alpha * (1 - rho)
    if rho == 0:
        L = gram.L

        def grad(W):
            return gram.QW(W) - gram.q

        def prox(V, s):
            return ((V @ U) / (1 + s * (a + coupling * lam))[None, :]) @ U.T
    else:
        L = gram.L + a + coupling * float(lam.max())
        Lap = (U * lam) @ U.T

        def grad(W):
            return gram.QW(W) - gram.q + a * W + coupling * W @ Lap

        def prox(V, s):
            return _soft(V, s * alpha * rho)
    W = np.zeros((p, T))
    Y, t = W, 1.0
    for it in range(1, max_iter + 1):
        Wn = prox(Y - grad(Y) / L, 1 / L)
        Y, t = _momentum(W, Wn, Y, t)
        W = Wn
        if it % check == 0:
            Gm = L * (W - prox(W - grad(W) / L, 1 / L))
            if np.sqrt(np.sum(Gm * Gm)) <= threshold:
                break
    return W


# ----------------------------------------------------------------------------------------------
# cvxpy


def _cvx_fit(cp, data, W):
    p = data[0][0].shape[1]
    b = cp.Variable(len(data))
    fit = sum(cp.sum_squares(y - X @ W[:, t] - b[t]) / (2 * len(y))
              for t, (X, y) in enumerate(data))
    return fit, b, p


def _solve(cp, expr):
    prob = cp.Problem(cp.Minimize(expr))
    prob.solve(solver="CLARABEL")
    return prob


# ----------------------------------------------------------------------------------------------
# the cases


def _dirty_case(name, data, wide, alpha, beta):
    thr = TOL * float(_Gram(data, wide).a.sum())

    def skmtl():
        est = _fit_skmtl(DirtyRegressor(alpha=alpha, beta=beta, tol=TOL, max_iter=200000),
                         data, wide)
        return objective(data, est.coef_.T, est.intercept_, dirty_pen(est.coef_.T, alpha, beta))

    def bare():
        gram = _Gram(data, wide)  # set-up timed too, as the estimator's
        W = bare_dirty(gram, alpha, beta, thr)
        return objective(data, W, gram.intercept(W), dirty_pen(W, alpha, beta))

    def cvx():
        import cvxpy as cp

        p, T = data[0][0].shape[1], len(data)
        P, Q = cp.Variable((p, T)), cp.Variable((p, T))
        fit, b, _ = _cvx_fit(cp, data, P + Q)
        _solve(cp, fit + alpha * cp.sum(cp.norm(P, 2, axis=1)) + beta * cp.sum(cp.abs(Q)))
        W = P.value + Q.value
        return objective(data, W, b.value, dirty_pen(W, alpha, beta))

    return {"name": name, "skmtl": skmtl, "bare": bare, "cvxpy": cvx}


def _robust_case(name, data, wide, alpha, beta):
    thr = TOL * float(_Gram(data, wide).a.sum())

    def skmtl():
        est = _fit_skmtl(RobustLowRankRegressor(alpha=alpha, beta=beta, tol=TOL,
                                                max_iter=200000), data, wide)
        return objective(data, est.coef_.T, est.intercept_,
                         robust_pen(est.low_rank_coef_.T, est.outlier_coef_.T, alpha, beta))

    def bare():
        gram = _Gram(data, wide)  # set-up timed too, as the estimator's
        A, B = bare_split(
            gram, lambda V, s: _svt(V, s * alpha), lambda V, s: _col_prox(V, s * beta),
            lambda A, B: robust_pen(A, B, alpha, beta),
            lambda G: max(np.linalg.norm(G, 2) / alpha,
                          np.max(np.linalg.norm(G, axis=0)) / beta),
            thr,
        )
        W = A + B
        return objective(data, W, gram.intercept(W), robust_pen(A, B, alpha, beta))

    def cvx():
        import cvxpy as cp

        p, T = data[0][0].shape[1], len(data)
        L, S = cp.Variable((p, T)), cp.Variable((p, T))
        fit, b, _ = _cvx_fit(cp, data, L + S)
        _solve(cp, fit + alpha * cp.normNuc(L) + beta * cp.sum(cp.norm(S, 2, axis=0)))
        return objective(data, L.value + S.value, b.value,
                         robust_pen(L.value, S.value, alpha, beta))

    return {"name": name, "skmtl": skmtl, "bare": bare, "cvxpy": cvx}


def _chain(T):
    A = np.zeros((T, T))
    i = np.arange(T - 1)
    A[i, i + 1] = A[i + 1, i] = 1.0
    return A


def _graph_case(name, data, wide, alpha, coupling, rho):
    T = len(data)
    A = _chain(T)
    # skmtl's threshold: tol times the norm of the data-fit gradient at zero
    thr = TOL * float(np.linalg.norm(_Gram(data, wide).q))

    def skmtl():
        est = _fit_skmtl(GraphRegularizedRegressor(alpha=alpha, coupling=coupling, task_graph=A,
                                                   l1_ratio=rho, tol=TOL, max_iter=200000),
                         data, wide)
        return objective(data, est.coef_.T, est.intercept_,
                         graph_pen(est.coef_.T, alpha, coupling, A, rho))

    def bare():
        gram = _Gram(data, wide)  # set-up timed too, as the estimator's
        W = bare_graph(gram, alpha, coupling, A, rho, thr)
        return objective(data, W, gram.intercept(W), graph_pen(W, alpha, coupling, A, rho))

    def cvx():
        import cvxpy as cp

        p = data[0][0].shape[1]
        W = cp.Variable((p, T))
        fit, b, _ = _cvx_fit(cp, data, W)
        pairs = sum(cp.sum_squares(W[:, s] - W[:, s + 1]) for s in range(T - 1))
        pen = alpha * (1 - rho) / 2 * cp.sum_squares(W) + coupling / 2 * pairs
        if rho:
            pen = pen + alpha * rho * cp.sum(cp.abs(W))
        _solve(cp, fit + pen)
        return objective(data, W.value, b.value, graph_pen(W.value, alpha, coupling, A, rho))

    return {"name": name, "skmtl": skmtl, "bare": bare, "cvxpy": cvx}


def cases(quick=False):
    s = 0.4 if quick else 1.0

    def n(v):
        return max(int(v * s), 10)

    out = []
    data, wide = _wide(n(800), n(200), 12, _dirty_truth, seed=0)
    out.append(_dirty_case(f"dirty wide n={n(800)} p={n(200)} T=12", data, wide, 0.08, 0.05))
    data, wide = _long([n(v) for v in (150, 300, 220, 400, 180, 260, 330, 120)], n(80),
                       _dirty_truth, seed=1)
    out.append(_dirty_case(f"dirty long p={n(80)} T=8 unequal n_t", data, wide, 0.08, 0.05))
    data, wide = _wide(n(600), n(100), 20, _robust_truth, seed=2)
    out.append(_robust_case(f"robust wide n={n(600)} p={n(100)} T=20", data, wide, 0.3, 0.15))
    data, wide = _long([n(v) for v in (120, 250, 90, 300, 160, 200)], n(60), _robust_truth,
                       seed=3)
    out.append(_robust_case(f"robust long p={n(60)} T=6 unequal n_t", data, wide, 0.3, 0.2))
    data, wide = _wide(n(600), n(400), 15, _graph_truth, seed=4)
    out.append(_graph_case(f"graph chain wide n={n(600)} p={n(400)} T=15", data, wide,
                           1e-3, 1.0, 0.0))
    out.append(_graph_case(f"graph chain + L1 wide n={n(600)} p={n(400)}", data, wide,
                           0.01, 1.0, 0.3))
    data, wide = _long([n(v) for v in (450, 900, 660, 1200, 540, 780)], n(150), _graph_truth,
                       seed=5)
    out.append(_graph_case(f"graph chain long p={n(150)} T=6 unequal n_t", data, wide,
                           1e-3, 1.0, 0.0))
    return out


if __name__ == "__main__":
    import argparse
    import time

    from threadpoolctl import threadpool_limits

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-cvxpy", action="store_true")
    args = parser.parse_args()

    def timed(fn, repeats):
        best, val = np.inf, None
        for _ in range(repeats):
            t0 = time.perf_counter()
            val = fn()
            best = min(best, time.perf_counter() - t0)
        return best, val

    with threadpool_limits(1):
        print(f"{'case':<42}{'skmtl s':>9}{'bare s':>9}{'cvxpy s':>9}{'skmtl/bare':>11}"
              "  objective - best, relative (skmtl, bare, cvxpy)")
        for case in cases(args.quick):
            ts, fs = timed(case["skmtl"], args.repeats)
            tb, fb = timed(case["bare"], args.repeats)
            tc, fc = (np.nan, np.inf) if args.no_cvxpy else timed(case["cvxpy"], 1)
            best = min(fs, fb, fc)
            rel = ", ".join(f"{(f - best) / abs(best):.1e}" for f in (fs, fb, fc))
            print(f"{case['name']:<42}{ts:>9.3f}{tb:>9.3f}{tc:>9.3f}{ts / tb:>11.2f}  {rel}",
                  flush=True)
