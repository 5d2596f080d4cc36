"""School data: clustered and task-relation MTL against mean-regularised MTL, paired over the
same splits.

Protocol (the one of ``skmtl compare``, docs/cli.rst; results in docs/task_structure.rst): for
each of ``--repeats`` seeds, split the pupils of every school 75 / 25 at random (stratified on the
school); choose each method's hyperparameters by ``--cv``-fold cross-validation on the training
part only (folds stratified on the school, scored by the pooled explained variance); score on the
test part by the explained variance over all test pupils pooled,
``1 - SSE / sum((y - mean(y))**2)``. The 27 features are standardised inside the pipeline, the
target on the training part (a global affine map, so the score is the same as in exam points).
Every method sees the same splits and folds, so the per-split differences to mean-regularised
MTL are paired.

Grids (small, so that the script runs in minutes)::

    mean_regularized  alpha {0.01, 0.1} x coupling {1, 10, 100}        (skmtl compare's grid)
    clustered         alpha {0.1, 0.2} x coupling {10, 100} x n_clusters {1, 2, 4}
    task_relation     alpha {0.01, 0.1} x coupling {0.03, 0.1, 0.3}

Run ``python benchmarks/school_structure.py`` (10 repeats, 5 folds; a few minutes on one core)
or ``--quick`` (2 repeats, 3 folds). ``--n-jobs`` parallelises the grid searches.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import Counter

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skmtl.datasets import load_school
from skmtl.linear import ClusteredRegressor, MeanRegularizedRegressor, TaskRelationRegressor
from skmtl.model_selection import TaskStratifiedKFold

TASK = 27  # the school column of load_school(return_X_y=True)

METHODS = {
    "mean_regularized": (
        MeanRegularizedRegressor(task_column=TASK),
        {"alpha": [0.01, 0.1], "coupling": [1.0, 10.0, 100.0]},
    ),
    "clustered": (
        ClusteredRegressor(task_column=TASK, random_state=0),
        {"alpha": [0.1, 0.2], "coupling": [10.0, 100.0], "n_clusters": [1, 2, 4]},
    ),
    "task_relation": (
        TaskRelationRegressor(task_column=TASK),
        {"alpha": [0.01, 0.1], "coupling": [0.03, 0.1, 0.3]},
    ),
}


def _pipeline(model):
    scale = ColumnTransformer(
        [("scale", StandardScaler(), list(range(TASK)))], remainder="passthrough"
    )
    return Pipeline([("scale", scale), ("model", model)])


def one_split(seed, cv, n_jobs, methods):
    X, y = load_school(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, stratify=X[:, TASK], random_state=seed
    )
    centre, scale = y_tr.mean(), y_tr.std()
    y_tr, y_te = (y_tr - centre) / scale, (y_te - centre) / scale
    folds = TaskStratifiedKFold(cv, task_column=TASK, shuffle=True, random_state=seed)
    out = {}
    for name in methods:
        model, grid = METHODS[name]
        search = GridSearchCV(
            _pipeline(model), {f"model__{k}": v for k, v in grid.items()}, cv=folds,
            n_jobs=n_jobs,
        )
        start = time.perf_counter()
        search.fit(X_tr, y_tr)
        best = search.best_estimator_[-1]
        out[name] = {
            "score": r2_score(y_te, search.predict(X_te)),
            "params": {k.removeprefix("model__"): v for k, v in search.best_params_.items()},
            "seconds": time.perf_counter() - start,
            "clusters": getattr(best, "task_clusters_", None),
        }
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2 repeats, 3 folds")
    args = parser.parse_args(argv)
    repeats, cv = (2, 3) if args.quick else (args.repeats, args.cv)
    names = list(METHODS)
    rows = []
    for seed in range(repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            res = one_split(seed, cv, args.n_jobs, names)
        rows.append(res)
        parts = [f"{n} {100 * res[n]['score']:.2f}% ({res[n]['seconds']:.0f}s)" for n in names]
        print(f"split {seed}: " + "  ".join(parts), flush=True)
    scores = {n: 100 * np.array([r[n]["score"] for r in rows]) for n in names}
    ref = scores["mean_regularized"]
    sd = (lambda v: np.std(v, ddof=1)) if repeats > 1 else (lambda v: 0.0)
    print(f"\nSchool, {repeats} splits 75/25, {cv}-fold CV, explained variance (test, pooled)")
    print(f"{'method':<18}{'mean +- sd':>16}{'paired diff to MR':>22}{'splits >= MR':>14}")
    for n in names:
        diff = scores[n] - ref
        paired = "" if n == "mean_regularized" else f"{diff.mean():+.2f} +- {sd(diff):.2f}"
        wins = "" if n == "mean_regularized" else f"{int(np.sum(diff >= 0))}/{repeats}"
        print(f"{n:<18}{scores[n].mean():>9.1f} +- {sd(scores[n]):.1f}{paired:>22}{wins:>14}")
    print("\nChosen hyperparameters (count over splits):")
    for n in names:
        counts = Counter(tuple(sorted(r[n]["params"].items())) for r in rows)
        print(f"  {n}: " + "; ".join(f"{dict(k)} x{c}" for k, c in counts.most_common()))
    sizes = [np.bincount(r["clustered"]["clusters"]).tolist() for r in rows]
    print(f"  clustered: cluster sizes per split {sizes}")


if __name__ == "__main__":
    main()
