"""CV estimators vs GridSearchCV over the same base estimator, grid, folds and scoring.

Each CV estimator solves a warm-started path per fold on one validated problem (one datafit:
centring, Gram matrix); GridSearchCV re-validates and solves every candidate from zero. Both
choose by the same score; the script prints the chosen hyper-parameters, the time of each and
the ratio GridSearchCV / CV (above 1: the CV estimator is faster), measured in the same run.

    python -m benchmarks.bench_cv            # default sizes, from the repository root
    python -m benchmarks.bench_cv --quick    # smaller problems
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

import skmtl.linear as L


def data(n, p, T, classification, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, 1:] += 0.5 * X[:, :-1]  # correlated features
    W = np.zeros((p, T))
    k = max(3, p // 10)
    W[:k] = rng.normal(size=(k, 1)) + 0.3 * rng.normal(size=(k, T))
    Y = X @ W + rng.normal(size=(n, T))
    if classification:
        Y = (Y > 0).astype(int)
    return X, Y


def timed(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    n, p, T = (150, 20, 4) if args.quick else (400, 60, 6)
    n_alphas = 8 if args.quick else 20
    tol = 1e-4
    cases = [
        (L.SparseRegressorCV, L.SparseRegressor, False, {"alphas": n_alphas}),
        (L.LowRankRegressorCV, L.LowRankRegressor, False, {"alphas": n_alphas}),
        (L.MeanRegularizedRegressorCV, L.MeanRegularizedRegressor, False,
         {"alphas": n_alphas // 2, "couplings": 5}),
        (L.SparseClassifierCV, L.SparseClassifier, True, {"alphas": n_alphas // 2}),
        (L.LowRankClassifierCV, L.LowRankClassifier, True, {"alphas": n_alphas // 2}),
        (L.MeanRegularizedClassifierCV, L.MeanRegularizedClassifier, True,
         {"alphas": n_alphas // 4, "couplings": 4}),
        # the task-structure families (a chain graph over the tasks for the graph model)
        (L.GraphRegularizedRegressorCV, L.GraphRegularizedRegressor, False,
         {"alphas": n_alphas // 2, "couplings": 4}),
        (L.TaskRelationRegressorCV, L.TaskRelationRegressor, False,
         {"alphas": n_alphas // 2, "couplings": 4}),
        (L.DirtyRegressorCV, L.DirtyRegressor, False, {"alphas": n_alphas // 2, "ratios": 3}),
        (L.RobustLowRankRegressorCV, L.RobustLowRankRegressor, False,
         {"alphas": n_alphas // 2, "ratios": 3}),
        (L.GraphRegularizedClassifierCV, L.GraphRegularizedClassifier, True,
         {"alphas": n_alphas // 4, "couplings": 3}),
        (L.TaskRelationClassifierCV, L.TaskRelationClassifier, True,
         {"alphas": n_alphas // 4, "couplings": 3}),
        (L.DirtyClassifierCV, L.DirtyClassifier, True, {"alphas": n_alphas // 4, "ratios": 3}),
        (L.RobustLowRankClassifierCV, L.RobustLowRankClassifier, True,
         {"alphas": n_alphas // 4, "ratios": 3}),
    ]
    chain = [(t, t + 1) for t in range(T - 1)]
    print(f"n={n} p={p} T={T} folds=5 tol={tol} (best of {args.repeat})")
    print(f"{'estimator':30s} {'grid':>5s} {'CV s':>8s} {'Grid s':>8s} {'ratio':>6s}  same choice")
    for CV, Base, clf, grid in cases:
        X, Y = data(n, p, T, clf)
        folds = list(KFold(5, shuffle=True, random_state=0).split(X))
        fixed = {"task_graph": chain} if "task_graph" in CV().get_params() else {}
        t_cv, cv = timed(
            lambda CV=CV, X=X, Y=Y, folds=folds, grid=grid, fixed=fixed: CV(
                cv=folds, tol=tol, **fixed, **grid
            ).fit(X, Y),
            args.repeat,
        )
        if hasattr(cv, "ratios_"):  # beta = ratio * alpha: the grid is a list of pairs
            param_grid = [{"alpha": [a], "beta": [r * a]} for r in cv.ratios_ for a in cv.alphas_]
            size = len(param_grid)
        else:
            param_grid = {"alpha": cv.alphas_}
            if hasattr(cv, "couplings_"):
                param_grid["coupling"] = cv.couplings_
            size = int(np.prod([len(v) for v in param_grid.values()]))

        def search(Base=Base, X=X, Y=Y, folds=folds, param_grid=param_grid, fixed=fixed):
            return GridSearchCV(Base(tol=tol, **fixed), param_grid, cv=folds).fit(X, Y)

        t_gs, gs = timed(search, args.repeat)
        means = gs.cv_results_["mean_test_score"]
        mine = means[[i for i, q in enumerate(gs.cv_results_["params"]) if q == cv.best_params_]]
        same = "yes" if abs(float(mine[0]) - gs.best_score_) <= 1e-4 else "NO"
        print(f"{CV.__name__:30s} {size:5d} {t_cv:8.2f} {t_gs:8.2f} {t_gs / t_cv:6.2f}  {same}")


if __name__ == "__main__":
    main()
