"""SparseRegressor against scikit-learn's MultiTaskLasso, both solved to the same objective.

Problems
--------
A correlated Gaussian design: the rows of ``X`` are independent ``N(0, Sigma)`` with the Toeplitz
correlation ``Sigma_ij = rho^|i - j|`` (``rho = 0.5``), drawn as a stationary AR(1) process along
the features (``x_j = rho x_{j-1} + sqrt(1 - rho^2) e_j``, exact for this ``Sigma``). The true
``W`` has ``k = max(5, p // 50)`` nonzero rows spread evenly over the features, entries
``N(0, 1)``; ``Y = X W + noise`` with the noise scaled to a signal-to-noise ratio of 3 (standard
deviations). ``alpha`` is ``alpha_max / 10`` and ``alpha_max / 100``, with ``alpha_max`` the
smallest value that gives ``W = 0``.

Protocol
--------
Both solvers minimise ``(1/(2n)) ||Y - X W - b||_F^2 + alpha ||W||_21``; the objective is computed
here from each model's ``coef_`` and ``intercept_`` (not from either library). A reference ``f*``
is the lowest objective of very tight solves of both. For each solver, ``tol`` goes down by
factors of 10 from 1e-2 until the returned objective is within ``f*(1 + 1e-6)``; that run is
timed (median of ``--repeats`` fits). The ratio is skmtl's time over scikit-learn's.

The path benchmark fits SparseRegressorCV and MultiTaskLassoCV with the same alpha grid, the same
folds and the same ``tol``, compares their times, ``alpha_`` and ``mse_path_``.

First fit: the inner loops are compiled by numba at the first fit of a process (and cached on
disk). ``bench_first_fit`` times, each in a fresh Python process, ``import skmtl.linear`` and the
first fit with a cold cache (an empty ``NUMBA_CACHE_DIR``) and with a warm one (the same folder
again), beside the same fit repeated in a warm process; and the compile (cold) or load (warm) time
of each compiled kernel. Medians of ``--repeats`` processes.

Run ``python benchmarks/bench_linear.py`` (several minutes) or ``--quick`` (about a minute).
BLAS threads are pinned with threadpoolctl (``--threads``, default 1) so that the timings compare
the algorithms, not the thread scheduler of a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import MultiTaskLasso, MultiTaskLassoCV
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_info, threadpool_limits

import skmtl
from skmtl.linear import SparseRegressor, SparseRegressorCV

RHO = 0.5
TARGET = 1e-6
TOLS = [10.0**-k for k in range(2, 13)]


def make_problem(n, p, T, seed=0):
    rng = np.random.default_rng(seed)
    E = rng.standard_normal((n, p))
    X = np.empty((n, p))
    X[:, 0] = E[:, 0]
    c = np.sqrt(1.0 - RHO**2)
    for j in range(1, p):
        X[:, j] = RHO * X[:, j - 1] + c * E[:, j]
    k = max(5, p // 50)
    W = np.zeros((p, T))
    W[np.linspace(0, p - 1, k).astype(int)] = rng.standard_normal((k, T))
    signal = X @ W
    noise = rng.standard_normal((n, T))
    Y = signal + noise * (signal.std() / (3.0 * noise.std()))
    return X, Y


def alpha_max(X, Y):
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    return float(np.max(np.linalg.norm(Xc.T @ Yc, axis=1)) / X.shape[0])


def objective(X, Y, alpha, coef, intercept):
    R = Y - X @ coef.T - intercept
    penalty = alpha * float(np.sum(np.linalg.norm(coef, axis=0)))
    return 0.5 * float(np.sum(R * R)) / X.shape[0] + penalty


def make_skmtl(alpha, tol):
    return SparseRegressor(alpha=alpha, tol=tol, max_iter=100_000)


def make_sklearn(alpha, tol):
    return MultiTaskLasso(alpha=alpha, tol=tol, max_iter=100_000)


SOLVERS = {"skmtl": make_skmtl, "sklearn": make_sklearn}


def fit_time(make, X, Y, alpha, tol):
    model = make(alpha, tol)
    t0 = time.perf_counter()
    model.fit(X, Y)
    return time.perf_counter() - t0, objective(X, Y, alpha, model.coef_, model.intercept_)


def time_to_target(make, X, Y, alpha, f_star, repeats):
    """Loosest tol reaching f* (1 + TARGET); the median time of ``repeats`` fits at that tol."""
    for tol in TOLS:
        t, f = fit_time(make, X, Y, alpha, tol)
        if f <= f_star * (1 + TARGET):
            times = [t] + [fit_time(make, X, Y, alpha, tol)[0] for _ in range(repeats - 1)]
            return float(np.median(times)), tol, f
    return np.nan, np.nan, f


def bench_problems(shapes, repeats):
    rows = []
    for n, p, T in shapes:
        X, Y = make_problem(n, p, T)
        amax = alpha_max(X, Y)
        for div in (10, 100):
            alpha = amax / div
            # reference: the tightest solves of both
            f_star = min(fit_time(make, X, Y, alpha, 1e-14)[1] for make in SOLVERS.values())
            res = {name: time_to_target(make, X, Y, alpha, f_star, repeats)
                   for name, make in SOLVERS.items()}
            ratio = res["skmtl"][0] / res["sklearn"][0]
            rows.append(((n, p, T), div, res, ratio))
            print(f"({n:>5}, {p:>4}, {T:>2})  amax/{div:<3}  "
                  f"skmtl {res['skmtl'][0]:7.3f} s (tol {res['skmtl'][1]:.0e})  "
                  f"sklearn {res['sklearn'][0]:7.3f} s (tol {res['sklearn'][1]:.0e})  "
                  f"ratio {ratio:5.2f}", flush=True)
    ratios = [r[-1] for r in rows]
    print(f"median ratio skmtl / sklearn: {np.median(ratios):.2f}  "
          f"(min {np.min(ratios):.2f}, max {np.max(ratios):.2f})")
    return rows


def bench_path(n, p, T, n_alphas, tol, n_folds=3):
    X, Y = make_problem(n, p, T, seed=1)
    alphas = np.geomspace(alpha_max(X, Y), alpha_max(X, Y) * 1e-2, n_alphas)
    folds = list(KFold(n_folds, shuffle=True, random_state=0).split(X))
    models = {
        "skmtl": SparseRegressorCV(alphas=alphas, cv=folds, tol=tol, max_iter=100_000),
        "sklearn": MultiTaskLassoCV(alphas=alphas, cv=folds, tol=tol, max_iter=100_000),
    }
    times = {}
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(X, Y)
        times[name] = time.perf_counter() - t0
    a, b = models["skmtl"], models["sklearn"]
    rel = np.max(np.abs(a.mse_path_ - b.mse_path_) / b.mse_path_)
    print(f"path ({n}, {p}, {T}), {n_alphas} alphas, {n_folds} folds, tol {tol:g}: "
          f"skmtl {times['skmtl']:.3f} s, sklearn {times['sklearn']:.3f} s, "
          f"ratio {times['skmtl'] / times['sklearn']:.2f}; alpha_ {a.alpha_:.4g} vs {b.alpha_:.4g}"
          f" ({'same' if np.isclose(a.alpha_, b.alpha_) else 'DIFFERENT'}); "
          f"max relative mse_path_ difference {rel:.1e}")


_FIRST_FIT = r"""
import json, sys, time
t0 = time.perf_counter()
import sklearn.linear_model
t_sklearn = time.perf_counter() - t0
t0 = time.perf_counter()
import skmtl.linear
t_import = time.perf_counter() - t0
numba_after_import = "numba" in sys.modules
sys.path.insert(0, sys.argv[2])
from bench_linear import alpha_max, make_problem, make_skmtl
fits = []
for n, p, T in json.loads(sys.argv[1]):
    X, Y = make_problem(n, p, T)
    alpha = alpha_max(X, Y) / 10
    t = time.perf_counter()
    make_skmtl(alpha, 1e-4).fit(X, Y)
    first = time.perf_counter() - t
    t = time.perf_counter()
    make_skmtl(alpha, 1e-4).fit(X, Y)
    fits.append((first, time.perf_counter() - t))
print(json.dumps({"sklearn": t_sklearn, "import": t_import,
                  "numba_after_import": numba_after_import, "fits": fits}))
"""

_COMPILE = r"""
import json, time
from skmtl.linear._solvers import _bcd, _cd_l1, _compiled
t = time.perf_counter()
import numba
out = {"import numba": time.perf_counter() - t}
for k in _compiled._KERNELS:
    t = time.perf_counter(); k.compile(); out[k.__name__] = time.perf_counter() - t
print(json.dumps(out))
"""


def _fresh(code, cache_dir, *args):
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                         text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def bench_first_fit(repeats):
    """First fit in a fresh process, cold and warm numba cache; warm in-process fit beside it."""
    # one problem per compiled form: p > n (data form), n > p (Gram form)
    shapes = [(300, 3000, 20), (2000, 100, 10)]
    cold, warm, compile_cold, compile_warm = [], [], [], []
    here = os.path.dirname(os.path.abspath(__file__))
    for _ in range(repeats):
        # each shape in its own processes: the first fit of a process pays for its kernel only
        c, w = {"fits": []}, {"fits": []}
        for shape in shapes:
            with tempfile.TemporaryDirectory() as cache:
                rc = _fresh(_FIRST_FIT, cache, json.dumps([shape]), here)
                rw = _fresh(_FIRST_FIT, cache, json.dumps([shape]), here)
            c["fits"] += rc["fits"]
            w["fits"] += rw["fits"]
            for key in ("sklearn", "import", "numba_after_import"):
                c[key], w[key] = rc[key], rw[key]
        cold.append(c)
        warm.append(w)
        with tempfile.TemporaryDirectory() as cache:
            compile_cold.append(_fresh(_COMPILE, cache))
            compile_warm.append(_fresh(_COMPILE, cache))
    med = np.median
    print(f"fresh process: import sklearn.linear_model {med([r['sklearn'] for r in warm]):.3f} s, "
          f"then import skmtl.linear {med([r['import'] for r in warm]):.3f} s; numba imported "
          f"by it: {any(r['numba_after_import'] for r in cold + warm)}")
    for i, shape in enumerate(shapes):
        print(f"first fit {shape}, fresh process: cold cache "
              f"{med([r['fits'][i][0] for r in cold]):.3f} s, warm cache "
              f"{med([r['fits'][i][0] for r in warm]):.3f} s; the same fit in a warm process "
              f"{med([r['fits'][i][1] for r in cold + warm]):.3f} s")
    for name in compile_cold[0]:
        print(f"{name}: {med([c[name] for c in compile_cold]):.3f} s with a cold cache "
              f"(compile), {med([c[name] for c in compile_warm]):.3f} s with a warm one (load)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller problems (< 1 min)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="fits per timing (default 5; --quick 1); first-fit processes >= 5")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.quick:
        shapes = [(100, 1000, 10), (5000, 100, 5), (300, 300, 20)]
        repeats = args.repeats or 1
        path = (500, 200, 5, 20, 1e-4)
    else:
        shapes = [(300, 3000, 20), (300, 10000, 10), (20000, 200, 10), (1000, 1000, 50)]
        repeats = args.repeats or 5
        path = (1000, 500, 10, 50, 1e-4)
    with threadpool_limits(limits=args.threads):
        libs = sorted({(i["internal_api"], i["num_threads"]) for i in threadpool_info()})
        print(f"skmtl {skmtl.__version__}, scikit-learn {sklearn.__version__}, numpy "
              f"{np.__version__}, Python {platform.python_version()}, {platform.machine()}")
        print(f"thread pools pinned to {args.threads}: {libs}; repeats {repeats}; "
              f"target f <= f* (1 + {TARGET:g})")
        bench_problems(shapes, repeats)
        bench_path(*path)
    bench_first_fit(max(repeats, 5))


if __name__ == "__main__":
    main()
