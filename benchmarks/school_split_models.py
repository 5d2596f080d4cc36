"""School data: the dirty, robust low-rank and graph-regularised models beside mean-regularised,
sparse (L2,1) and low-rank (trace norm) MTL, as a paired comparison over the same splits.

Protocol (Evgeniou & Pontil 2004; the one of ``skmtl compare``, see ``docs/cli.rst``; results in
``docs/task_structure.rst``, School data):

1. split the pupils of every school at random, 75 % train / 25 % test (repeat ``r``: seed
   ``seed + r``, stratified on the school);
2. standardise the 27 features and the target on the training part; choose every method's
   hyperparameters by ``--folds``-fold cross-validation on the training part, folds stratified
   on the school (:class:`skmtl.model_selection.TaskStratifiedKFold`), scored by the pooled R^2;
3. score on the test part by the explained variance over all test pupils pooled,
   ``1 - SSE / sum((y_test - mean(y_test))**2)``.

Every method sees the same splits and the same folds, so the differences are paired: the
table gives each method's mean +- std over the splits, and its mean +- std difference to
mean-regularised MTL with the number of splits on which it is better.

Methods (long layout, ``task_column`` = the school):

- ``independent``: ``MeanRegularizedRegressor(coupling=0)``, i.e. one ridge per school;
- ``mean_regularized``: ``MeanRegularizedRegressor`` (grid of ``skmtl compare``);
- ``low_rank``, ``sparse``: ``LowRankRegressorCV``, ``SparseRegressorCV`` (12-alpha paths);
- ``low_rank_grid``, ``sparse_grid``: ``LowRankRegressor``, ``SparseRegressor`` with the
  ``alpha`` grid and the ``GridSearchCV`` scoring (pooled R^2) of the robust and dirty models,
  which contain them (``beta / alpha = 1``): the paired difference to these is the effect of the
  model, the difference to the paths' choice includes that of the alpha selection;
- ``dirty``: ``DirtyRegressor``, grid over ``alpha`` (around the ``alpha`` the L2,1 path picks)
  and ``beta / alpha`` in {0.2, 0.5, 1} (1 is the L2,1 model itself; ``alpha / sqrt(139)`` is
  0.085 ``alpha``);
- ``robust``: ``RobustLowRankRegressor``, grid over ``alpha`` (around the trace-norm path's)
  and ``beta / alpha`` in {0.2, 0.5, 1} (1 is the trace-norm model itself);
- ``graph_knn``: ``GraphRegularizedRegressor`` on a k-nearest-neighbour graph of the schools:
  on the training part (of each fold), one ridge per school (``alpha=1`` on the standardised
  data); each school is joined to its ``k`` nearest schools in the Euclidean distance between
  these coefficient vectors, the graph is symmetrised (an edge when either end chose it) and
  weighted ``1 / k``, so that a school's degree is about 1, as in the complete graph of
  mean-regularised MTL (weights ``1 / T``, degree ``(T - 1) / T``); grid over ``coupling`` and
  ``k``.

Run ``python benchmarks/school_split_models.py`` (10 splits, 5 folds; minutes) or ``--quick``
(2 splits, 3 folds, small grids).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from sklearn.base import BaseEstimator, RegressorMixin, clone  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skmtl.datasets import load_school  # noqa: E402
from skmtl.linear import (  # noqa: E402
    DirtyRegressor,
    GraphRegularizedRegressor,
    LowRankRegressor,
    LowRankRegressorCV,
    MeanRegularizedRegressor,
    RobustLowRankRegressor,
    SparseRegressor,
    SparseRegressorCV,
)
from skmtl.model_selection import TaskStratifiedKFold  # noqa: E402

TASK = 27  # the school column of load_school(return_X_y=True)
# each split model beside the model it contains as a limit
PAIRS = [("dirty", "sparse"), ("dirty", "sparse_grid"), ("robust", "low_rank"),
         ("robust", "low_rank_grid"), ("graph_knn", "mean_regularized")]


class Scaled(RegressorMixin, BaseEstimator):
    """Standardise the target around ``estimator`` (as ``skmtl compare`` does)."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        self.centre_, self.scale_ = float(np.mean(y)), float(np.std(y)) or 1.0
        self.estimator_ = clone(self.estimator).fit(X, (y - self.centre_) / self.scale_)
        return self

    def predict(self, X):
        return self.estimator_.predict(X) * self.scale_ + self.centre_


def knn_task_graph(X, y, task_index, k, ridge=1.0):
    """Symmetric k-nearest-neighbour graph of the tasks' own ridge fits, weights ``1 / k``."""
    tasks = np.unique(X[:, task_index])
    feats = np.delete(X, task_index, axis=1)
    coefs = []
    for t in tasks:
        rows = X[:, task_index] == t
        Xt, yt = feats[rows], y[rows]
        Xc, yc = Xt - Xt.mean(axis=0), yt - yt.mean()
        coefs.append(np.linalg.solve(Xc.T @ Xc + ridge * np.eye(Xc.shape[1]), Xc.T @ yc))
    C = np.array(coefs)
    D = np.sum((C[:, None, :] - C[None, :, :]) ** 2, axis=2)
    np.fill_diagonal(D, np.inf)
    A = np.zeros((len(tasks), len(tasks)))
    nearest = np.argsort(D, axis=1)[:, :k]
    A[np.repeat(np.arange(len(tasks)), k), nearest.ravel()] = 1.0
    return np.maximum(A, A.T) / k


class KnnGraphRegressor(RegressorMixin, BaseEstimator):
    """``GraphRegularizedRegressor`` on the k-NN graph of the independent fits (built in fit)."""

    def __init__(self, k=5, alpha=0.01, coupling=1.0, task_column=TASK):
        self.k = k
        self.alpha = alpha
        self.coupling = coupling
        self.task_column = task_column

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        self.task_graph_ = knn_task_graph(X, y, self.task_column, self.k)
        self.model_ = GraphRegularizedRegressor(
            alpha=self.alpha, coupling=self.coupling, task_graph=self.task_graph_,
            task_column=self.task_column, tol=1e-4, max_iter=20000,
        ).fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(np.asarray(X, dtype=float))


def _prep():
    return ColumnTransformer([("features", StandardScaler(), list(range(TASK)))],
                             remainder="passthrough")


def methods(quick, folds):
    """name -> function(seed) returning an unfitted estimator tuned by inner CV."""

    def cv(seed):
        return TaskStratifiedKFold(folds, task_column=TASK, shuffle=True, random_state=seed)

    def search(model, grid, seed):
        pipe = Pipeline([("prep", _prep()), ("model", Scaled(model))])
        grid = {f"model__estimator__{k}": v for k, v in grid.items()}
        if all(len(v) == 1 for v in grid.values()):
            return pipe.set_params(**{k: v[0] for k, v in grid.items()})
        return GridSearchCV(pipe, grid, cv=cv(seed))

    def path(cls, seed):
        model = cls(task_column=TASK, cv=cv(seed), eps=1e-2 if quick else 1e-3,
                    n_alphas=5 if quick else 12)
        return Pipeline([("prep", _prep()), ("model", Scaled(model))])

    def q(full, small):
        return small if quick else full

    def split_grid(alphas, ratios):
        # (alpha, beta) pairs with beta = ratio * alpha
        return [{"alpha": [a], "beta": [r * a]} for a, r in itertools.product(alphas, ratios)]

    def split_search(model, alphas, ratios, seed):
        pipe = Pipeline([("prep", _prep()), ("model", Scaled(model))])
        grid = [{f"model__estimator__{k}": v for k, v in g.items()}
                for g in split_grid(alphas, ratios)]
        return GridSearchCV(pipe, grid, cv=cv(seed))

    return {
        "independent": lambda s: search(
            MeanRegularizedRegressor(coupling=0.0, task_column=TASK),
            {"alpha": q([1e-3, 1e-2, 1e-1, 1.0], [1e-2, 1e-1])}, s),
        "mean_regularized": lambda s: search(
            MeanRegularizedRegressor(task_column=TASK),
            {"alpha": q([1e-2, 1e-1], [1e-2]), "coupling": q([1.0, 10.0, 100.0], [1.0, 10.0])},
            s),
        "low_rank": lambda s: path(LowRankRegressorCV, s),
        "sparse": lambda s: path(SparseRegressorCV, s),
        # the same alpha grids and CV scoring as the split models, which contain these
        "low_rank_grid": lambda s: search(LowRankRegressor(task_column=TASK),
                                          {"alpha": q([0.35, 0.7, 1.4], [0.35, 0.7])}, s),
        "sparse_grid": lambda s: search(SparseRegressor(task_column=TASK),
                                        {"alpha": q([0.3, 0.6, 1.2], [0.3, 0.6])}, s),
        "dirty": lambda s: split_search(
            DirtyRegressor(task_column=TASK, max_iter=20000),
            q([0.3, 0.6, 1.2], [0.3, 0.6]), q([0.2, 0.5, 1.0], [0.3, 1.0]), s),
        "robust": lambda s: split_search(
            RobustLowRankRegressor(task_column=TASK, max_iter=20000),
            q([0.35, 0.7, 1.4], [0.35, 0.7]), q([0.2, 0.5, 1.0], [0.3, 1.0]), s),
        "graph_knn": lambda s: search(
            KnnGraphRegressor(alpha=1e-2),
            {"coupling": q([1.0, 10.0, 100.0], [1.0, 10.0]), "k": q([3, 10], [5])}, s),
    }


def _chosen(est):
    if hasattr(est, "best_params_"):
        return {k.split("__")[-1]: v for k, v in est.best_params_.items()}
    inner = est.named_steps["model"].estimator_
    return {"alpha": float(inner.alpha_)} if hasattr(inner, "alpha_") else {}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--folds", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", help="methods to run (mean_regularized always)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 10)
    folds = args.folds or (3 if args.quick else 5)
    X, y = load_school(return_X_y=True)
    table = methods(args.quick, folds)
    names = list(table)
    if args.only:
        keep = set(args.only) | {"mean_regularized"}
        names = [n for n in names if n in keep]
    scores = {n: [] for n in names}
    times = {n: 0.0 for n in names}
    for r in range(repeats):
        seed = args.seed + r
        train, test = train_test_split(np.arange(len(y)), test_size=0.25, stratify=X[:, TASK],
                                       random_state=seed)
        for name in names:
            est = table[name](seed)
            start = time.perf_counter()
            est.fit(X[train], y[train])
            times[name] += time.perf_counter() - start
            scores[name].append(100 * r2_score(y[test], est.predict(X[test])))
            print(f"split {r}: {name:<17} {scores[name][-1]:6.2f} %  {_chosen(est)}",
                  flush=True)
    ref = np.array(scores["mean_regularized"])
    print(f"\nschool, {repeats} splits 75/25 within every school, {folds}-fold inner CV; "
          "explained variance over all test pupils (%)")
    print(f"{'method':<18}{'mean +- std':>16}{'diff to mean-reg (paired)':>28}{'better':>8}"
          f"{'fit s/split':>13}")
    for name in names:
        s = np.array(scores[name])
        d = s - ref
        print(f"{name:<18}{s.mean():>9.2f} +- {s.std(ddof=1) if len(s) > 1 else 0:4.2f}"
              f"{d.mean():>18.2f} +- {d.std(ddof=1) if len(d) > 1 else 0:4.2f}"
              f"{int(np.sum(d > 0)):>6}/{len(d)}{times[name] / repeats:>12.1f}")
    print("\npaired differences (percentage points) of each split model to the model it extends:")
    for a, b in PAIRS:
        if a in scores and b in scores:
            d = np.array(scores[a]) - np.array(scores[b])
            sd = d.std(ddof=1) if len(d) > 1 else 0.0
            print(f"{a + ' - ' + b:<30}{d.mean():>8.2f} +- {sd:4.2f}   better on "
                  f"{int(np.sum(d > 0))}/{len(d)} splits")


if __name__ == "__main__":
    main()
