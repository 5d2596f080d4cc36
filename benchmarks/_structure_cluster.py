"""Cases of ``bench_structure.py`` for the clustered and task-relation families.

Each case fits the same least-squares problem three ways and returns the objective reached:

- ``skmtl``: the estimator (``tol=1e-8`` on its duality gap);
- ``bare``: the same algorithm written directly in numpy on the Gram matrices (accelerated
  gradient with backtracking and adaptive restart; for clustered MTL the M-step by an
  eigendecomposition of ``W'W`` and bisection on ``nu``, for MTRL the squared-trace-norm prox on
  the singular values), stopped on the same duality gap at the same threshold;
- ``cvxpy``: the joint convex problem (clustered: the SDP in ``W, M`` with a matrix fraction;
  MTRL: ``||W||_*^2``), solved by Clarabel.

The objective of every result is computed here, from its coefficients, by :func:`objective`.
"""

from __future__ import annotations

import numpy as np

from skmtl.linear import ClusteredRegressor, TaskRelationRegressor

TOL = 1e-8

# ----------------------------------------------------------------------------------------------
# problems: a list of per-task (X_t, y_t), plus the wide arrays when every task shares X


def _wide_problem(n, p, T, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    centres = rng.normal(size=(k, p))
    W = centres[np.arange(T) * k // T] + 0.2 * rng.normal(size=(T, p))
    W[T // 4 :: 4] *= -1  # a few negatively related tasks
    Y = X @ W.T + rng.normal(size=(n, T))
    return [(X, Y[:, t]) for t in range(T)], (X, Y)


def _long_problem(sizes, p, k, seed):
    rng = np.random.default_rng(seed)
    T = len(sizes)
    centres = rng.normal(size=(k, p))
    W = centres[np.arange(T) * k // T] + 0.2 * rng.normal(size=(T, p))
    data = []
    for t, n_t in enumerate(sizes):
        X = rng.normal(size=(n_t, p)) + 0.3
        data.append((X, X @ W[t] + rng.normal(size=n_t)))
    return data, None


def _as_long(data):
    task = np.concatenate([np.full(len(y), t) for t, (_, y) in enumerate(data)])
    return np.column_stack([np.vstack([X for X, _ in data]), task]), np.concatenate(
        [y for _, y in data]
    )


# ----------------------------------------------------------------------------------------------
# bare numpy


def _grams(data):
    """Centred per-task Gram matrices Q_t = Xc'Xc / n_t, q_t = Xc'yc / n_t, a_t = ||yc||^2/n_t."""
    Q, q, a = [], [], []
    for X, y in data:
        Xc, yc = X - X.mean(0), y - y.mean()
        Q.append(Xc.T @ Xc / len(y))
        q.append(Xc.T @ yc / len(y))
        a.append(yc @ yc / len(y))
    return np.array(Q), np.array(q).T, np.array(a)


def _m_eigs(s, eta, k):
    """Eigenvalues clip(sqrt(s / nu) - eta, 0, 1) summing to k, nu by bisection."""
    r = int(np.sum(s > 1e-14 * max(s.max(initial=0.0), 1e-300)))
    if r <= k:
        m = (s > 1e-14 * max(s.max(initial=0.0), 1e-300)).astype(float)
        m[r:] = (k - r) / max(len(s) - r, 1)
        return m
    lo, hi = np.log(1e-30), np.log(s.max() / eta**2 + 1e-300) + 1.0
    for _ in range(64):  # on log(nu): 64 halvings of a range of ~100 reach machine precision
        mid = 0.5 * (lo + hi)
        total = np.clip(np.sqrt(s / np.exp(mid)) - eta, 0, 1).sum()
        lo, hi = (mid, hi) if total > k else (lo, mid)
    return np.clip(np.sqrt(s / np.exp(0.5 * (lo + hi))) - eta, 0, 1)


def clustered_value_grad(W, alpha, c, k):
    s, V = np.linalg.eigh(W.T @ W)
    s = np.maximum(s, 0.0)
    m = _m_eigs(s, alpha / c, k)
    w = alpha * (alpha + c) / (alpha + c * m)
    return 0.5 * float(np.sum(w * s)), (W @ V) * w @ V.T


def _clustered_conj(G, alpha, c, k):
    s = np.sort(np.linalg.eigvalsh(G.T @ G))[::-1]
    return (alpha * s.sum() + c * s[:k].sum()) / (2 * alpha * (alpha + c))


def _shrink(v, tc, d):
    cs = np.cumsum(v) / (d + np.arange(1, v.size + 1) * tc)
    r = int(np.flatnonzero(v > tc * cs)[-1]) + 1 if v.size and v[0] > 0 else 0
    return np.maximum(v - tc * cs[r - 1], 0) / d if r else np.zeros_like(v)


def mtrl_value(W, alpha, c):
    nuc = np.linalg.svd(W, compute_uv=False).sum()
    return 0.5 * alpha * float(np.sum(W * W)) + 0.5 * c * nuc**2


def _mtrl_prox(V, step, alpha, c):
    U, s, Vt = np.linalg.svd(V, full_matrices=False)
    return (U * _shrink(s, step * c, 1 + step * alpha)) @ Vt


def _mtrl_conj(G, alpha, c):
    u = np.linalg.svd(G, compute_uv=False)
    sig = _shrink(u, c, alpha)
    return float(u @ sig - 0.5 * alpha * sig @ sig - 0.5 * c * sig.sum() ** 2)


def _bare_fista(data, value_grad, prox, value, conj, max_iter=100000):
    """Accelerated (proximal) gradient with backtracking, gradient restart, gap every 10."""
    Q, q, a = _grams(data)
    shared = len(data) > 1 and all(d[0] is data[0][0] for d in data)
    if shared:
        Q = Q[:1]
    fit = (lambda W: np.einsum("ij,jt->it", Q[0], W)) if shared else (
        lambda W: np.einsum("tij,jt->it", Q, W)
    )
    L = float(np.linalg.eigvalsh(Q)[:, -1].max()) + 1.0
    threshold = TOL * a.sum()
    p, T = q.shape
    x = y = np.zeros((p, T))
    QX = QY = fit(x)
    t = 1.0

    def f_of(W, QW):
        return float(np.sum(W * (0.5 * QW - q))) + 0.5 * a.sum()

    for it in range(1, max_iter + 1):
        g = QY - q
        fy = f_of(y, QY)
        if value_grad is not None:
            py, pg = value_grad(y)
            g = g + pg
        while True:
            new = y - g / L if prox is None else prox(y - g / L, 1.0 / L)
            QN = fit(new)
            d = new - y
            slack = 1e-12 * abs(fy)
            if value_grad is not None:  # smooth: F(new) <= F(y) - ||g||^2 / (2L)
                ok = f_of(new, QN) + value(new) <= fy + py - 0.5 * np.sum(g * g) / L + slack
            else:  # prox step: f(new) <= f(y) + <g, d> + L/2 ||d||^2
                ok = f_of(new, QN) <= fy + np.sum(g * d) + 0.5 * L * np.sum(d * d) + slack
            if ok:
                break
            L *= 2
        mom = new - x
        if np.sum((y - new) * mom) > 0:
            t_new, beta = 1.0, 0.0
        else:
            t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
            beta = (t - 1) / t_new
        y = new + beta * mom
        QY = QN + beta * (QN - QX)
        x, QX, t = new, QN, t_new
        if it % 10 == 0:
            G = QX - q
            gap = value(x) + conj(-G) + float(np.sum(G * x))
            if gap <= threshold:
                return x
    return x


def objective(data, coef, intercept, penalty_value):
    fit = sum(0.5 * np.mean((y - X @ coef[t] - intercept[t]) ** 2) for t, (X, y) in
              enumerate(data))
    return float(fit + penalty_value(coef.T))


def _intercepts(data, W):
    return np.array([y.mean() - X.mean(0) @ W[:, t] for t, (X, y) in enumerate(data)])


# ----------------------------------------------------------------------------------------------
# cvxpy


def _cvxpy(data, penalty):
    import cvxpy as cp

    T, p = len(data), data[0][0].shape[1]
    W, b = cp.Variable((p, T)), cp.Variable(T)
    fit = sum(cp.sum_squares(y - X @ W[:, t] - b[t]) / (2 * len(y)) for t, (X, y) in
              enumerate(data))
    pen, cons = penalty(cp, W, T)
    cp.Problem(cp.Minimize(fit + pen), cons).solve(solver=cp.CLARABEL)
    return W.value.T, b.value


def _clustered_cvx(alpha, c, k):
    def penalty(cp, W, T):
        M = cp.Variable((T, T), symmetric=True)
        pen = 0.5 * alpha * (alpha + c) * cp.matrix_frac(W.T, alpha * np.eye(T) + c * M)
        return pen, [cp.trace(M) == k, M >> 0, np.eye(T) - M >> 0]

    return penalty


def _mtrl_cvx(alpha, c):
    def penalty(cp, W, T):
        return 0.5 * alpha * cp.sum_squares(W) + 0.5 * c * cp.square(cp.normNuc(W)), []

    return penalty


# ----------------------------------------------------------------------------------------------
# cases


def _case(name, problem, family, alpha, c, k=None):
    data, wide = problem
    if family == "clustered":
        def pen_value(W):
            return clustered_value_grad(W, alpha, c, k)[0]

        est = ClusteredRegressor(alpha, c, n_clusters=k, tol=TOL, max_iter=100000)
        bare_args = dict(
            value_grad=lambda W: clustered_value_grad(W, alpha, c, k), prox=None,
            value=pen_value, conj=lambda G: _clustered_conj(G, alpha, c, k),
        )
        cvx_pen = _clustered_cvx(alpha, c, k)
    else:
        def pen_value(W):
            return mtrl_value(W, alpha, c)

        est = TaskRelationRegressor(alpha, c, tol=TOL, max_iter=100000)
        bare_args = dict(
            value_grad=None, prox=lambda V, s: _mtrl_prox(V, s, alpha, c), value=pen_value,
            conj=lambda G: _mtrl_conj(G, alpha, c),
        )
        cvx_pen = _mtrl_cvx(alpha, c)
    if wide is not None:
        fit_args = wide
    else:
        fit_args = _as_long(data)
        est.set_params(task_column=fit_args[0].shape[1] - 1)

    def run_skmtl():
        m = est.fit(*fit_args)
        return objective(data, m.coef_, m.intercept_, pen_value)

    def run_bare():
        W = _bare_fista(data, **bare_args)
        return objective(data, W.T, _intercepts(data, W), pen_value)

    def run_cvxpy():
        coef, b = _cvxpy(data, cvx_pen)
        return objective(data, coef, b, pen_value)

    return {"name": name, "skmtl": run_skmtl, "bare": run_bare, "cvxpy": run_cvxpy}


def cases(quick=False):
    wide = _wide_problem(400, 30, 16, 4, seed=0) if quick else _wide_problem(1000, 50, 24, 4, 0)
    sizes = np.random.default_rng(1).integers(20, 120, size=16 if quick else 40)
    long = _long_problem(sizes, 20, 3, seed=1)
    return [
        _case("clustered, wide", wide, "clustered", 0.01, 1.0, 4),
        _case("clustered, long (unequal n_t)", long, "clustered", 0.01, 1.0, 3),
        _case("task relation, wide", wide, "task_relation", 0.01, 0.01),
        _case("task relation, long (unequal n_t)", long, "task_relation", 0.01, 0.05),
    ]
