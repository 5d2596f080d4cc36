"""The methods of ``skmtl compare`` and the small estimators they are built from.

Every method turns a :class:`Spec` (the layout and task type of a group of tasks, the protocol's
splitter and seed) into an estimator tuned by inner cross-validation: a ``GridSearchCV`` over a
``Pipeline`` (feature imputation and scaling, then the model), the warm-started path of a
``*RegressorCV`` estimator, or, for a single candidate, the pipeline itself. Regression targets
are standardised around the linear models (:class:`ScaledTargets`), so that the grids below do
not depend on the target's unit. No torch here: the neural method imports
:mod:`skmtl._compare_neural` when it is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, MultiTaskLasso, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from . import linear
from .metrics import task_score

CLASSIFICATION, REGRESSION = "classification", "regression"


class CompareError(ValueError):
    """A problem with the user's data or options; the CLI prints its one-line message."""


def missing(col) -> np.ndarray:
    col = np.asarray(col)
    if col.dtype.kind == "f":
        return np.isnan(col)
    return np.array([v is None or (isinstance(v, float) and v != v) for v in col], dtype=bool)


# ----------------------------------------------------------------------------------------------
# Scores


def score_rows(y_true, y_pred, kind) -> float:
    """One task or a pooled column: accuracy, or R^2 around the mean of ``y_true``."""
    return task_score(np.asarray(y_true), np.asarray(y_pred), kind, missing=missing(y_true))


def _wide_task_scores(y_true, y_pred, kinds) -> list[float]:
    return [score_rows(y_true[:, j], y_pred[:, j], kinds[j]) for j in range(len(kinds))]


class _Scorer:
    """Inner-CV scorer of one part: pooled score (long layout) or mean of the task scores."""

    def __init__(self, layout: str, kinds: Sequence[str]):
        self.layout = layout
        self.kinds = list(kinds)

    def __call__(self, estimator, X, y) -> float:
        pred = estimator.predict(X)
        if self.layout == "long":
            return score_rows(y, pred, self.kinds[0])
        return float(np.nanmean(_wide_task_scores(np.asarray(y), pred, self.kinds)))


# ----------------------------------------------------------------------------------------------
# Adapters: the estimators a method builds, all fit(X, y) -> predict(X) in the part's layout


class PerTask(BaseEstimator):
    """One clone of ``estimator`` per task: the single-task baseline.

    Wide: one model per column of ``y`` on its labelled rows. Long: one model per task code in
    column ``task_index`` of ``X`` (that column removed).
    """

    def __init__(self, estimator=None, task_index=None):
        self.estimator = estimator
        self.task_index = task_index

    def fit(self, X, y):
        y = np.asarray(y)
        if self.task_index is None:
            self.models_ = []
            for j in range(y.shape[1]):
                keep = ~missing(y[:, j])
                col = y[keep, j]
                col = col.astype(float) if col.dtype.kind in "f" else col
                self.models_.append(clone(self.estimator).fit(X[keep], _labels(col)))
        else:
            tasks, features = _split_task(X, self.task_index)
            self.models_ = {
                t: clone(self.estimator).fit(features[tasks == t], y[tasks == t])
                for t in np.unique(tasks)
            }
        return self

    def predict(self, X):
        if self.task_index is None:
            out = np.empty((len(X), len(self.models_)), dtype=object)
            for j, model in enumerate(self.models_):
                out[:, j] = model.predict(X)
            return out
        tasks, features = _split_task(X, self.task_index)
        out = None
        for t in np.unique(tasks):
            rows = tasks == t
            pred = self.models_[t].predict(features[rows])
            if out is None:
                out = np.empty(len(X), dtype=pred.dtype if pred.dtype.kind == "f" else object)
            out[rows] = pred
        return out


class PerTaskRidge(BaseEstimator):
    """Independent ridge regressions, one per task, solved in closed form with numpy.

    Task :math:`t` minimises :math:`\\|y_t - X_t w_t - b_t\\|^2 + \alpha \\|w_t\\|^2` (as
    :class:`sklearn.linear_model.Ridge`) on its own rows: wide, the labelled rows of column
    ``t`` of ``y``; long, the rows whose code in column ``task_index`` of ``X`` is ``t``. The
    same as :class:`PerTask` of ``Ridge(alpha)``, without 139 calls' worth of input checks.
    """

    def __init__(self, alpha=1.0, task_index=None):
        self.alpha = alpha
        self.task_index = task_index

    def _groups(self, X, y):
        if self.task_index is None:
            y = np.asarray(y, dtype=float)
            for j in range(y.shape[1]):
                keep = ~np.isnan(y[:, j])
                yield j, X[keep], y[keep, j]
        else:
            tasks, features = _split_task(X, self.task_index)
            for t in np.unique(tasks):
                yield t, features[tasks == t], y[tasks == t]

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        self.coef_, self.intercept_ = {}, {}
        for t, Xt, yt in self._groups(X, np.asarray(y, dtype=float)):
            x_mean, y_mean = Xt.mean(axis=0), yt.mean()
            Xc = Xt - x_mean
            gram = Xc.T @ Xc + self.alpha * np.eye(Xc.shape[1])
            w = np.linalg.solve(gram, Xc.T @ (yt - y_mean))
            self.coef_[t], self.intercept_[t] = w, y_mean - x_mean @ w
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        if self.task_index is None:
            return np.column_stack(
                [X @ self.coef_[j] + self.intercept_[j] for j in range(len(self.coef_))]
            )
        tasks, features = _split_task(X, self.task_index)
        out = np.empty(len(X))
        for t in np.unique(tasks):
            rows = tasks == t
            out[rows] = features[rows] @ self.coef_[t] + self.intercept_[t]
        return out


def _split_task(X, index):
    """(task codes, features without the task column) of a long-layout ``X``."""
    return X[:, index].astype(np.int64), np.delete(X, index, 1)


def _labels(col):
    """Class labels as a plain array (mixed numbers/strings become strings)."""
    if col.dtype == object and len({type(v) for v in col}) > 1:
        return col.astype(str)
    return col


class ScaledTargets(BaseEstimator):
    """Standardise regression targets (per column, NaN-aware) around ``estimator``."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        y = np.asarray(y, dtype=float)
        self.centre_ = np.nanmean(y, axis=0)
        scale = np.nanstd(y, axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.estimator_ = clone(self.estimator).fit(X, (y - self.centre_) / self.scale_)
        return self

    def predict(self, X):
        return np.asarray(self.estimator_.predict(X), dtype=float) * self.scale_ + self.centre_


class CompleteRows(BaseEstimator):
    """Fit ``estimator`` on the rows where every target is labelled (for ``MultiTaskLasso``)."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        y = np.asarray(y, dtype=float)
        keep = ~np.isnan(y).any(axis=1)
        if keep.sum() < 2:
            raise CompareError("fewer than 2 rows have every target labelled")
        self.estimator_ = clone(self.estimator).fit(X[keep], y[keep])
        return self

    def predict(self, X):
        return self.estimator_.predict(X)


class _Classes(BaseEstimator):
    """Pass wide class labels to a skmtl classifier as strings (``None`` kept as missing)."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        y = np.asarray(y, dtype=object)
        miss = np.column_stack([missing(y[:, j]) for j in range(y.shape[1])])
        labels = y.astype(str).astype(object)
        labels[miss] = None
        self.estimator_ = clone(self.estimator).fit(X, labels)
        return self

    def predict(self, X):
        return np.asarray(self.estimator_.predict(X), dtype=object)


# ----------------------------------------------------------------------------------------------
# The methods


class NotApplicable(Exception):
    """The method does not apply to this problem (the reason is shown as the row)."""


@dataclass
class Part:
    """What a method fits on one group of tasks: its estimator, tuned by CV."""

    columns: list | None  # wide: task columns of y; long: None (all rows)
    kinds: list
    estimator: Any  # GridSearchCV, a *CV estimator, or a plain estimator (one candidate)
    label: str = ""  # prefix of its chosen parameters when a method has several parts


@dataclass
class Spec:
    """What a method's builder knows: the layout and task type of the part, and the protocol."""

    layout: str
    kind: str
    n_tasks: int
    n_features: int
    task_index: int | None
    quick: bool
    cv: Any  # a splitter
    seed: int

    def grid(self, full, quick):
        return quick if self.quick else full


def _prep(spec: Spec, keep_task: bool = True):
    """Mean-impute and standardise the features; keep the task column last (or drop it)."""
    numeric = make_pipeline(SimpleImputer(keep_empty_features=True), StandardScaler())
    if spec.task_index is None:
        return numeric
    return ColumnTransformer(
        [("features", numeric, list(range(spec.n_features)))],
        remainder="passthrough" if keep_task else "drop",
    )


def _search(spec: Spec, model, grid: dict, *, keep_task: bool = True):
    pipe = Pipeline([("prep", _prep(spec, keep_task)), ("model", model)])
    grid = {f"model__{k}": v for k, v in grid.items()}
    n_candidates = int(np.prod([len(v) for v in grid.values()])) if grid else 1
    if n_candidates == 1:
        return pipe.set_params(**{k: v[0] for k, v in grid.items()})
    # error_score="raise": a failing fit reports its own message, not "all fits failed"
    return GridSearchCV(
        pipe,
        grid,
        cv=spec.cv,
        scoring=_Scorer(spec.layout, [spec.kind] * spec.n_tasks),
        error_score="raise",
    )


def _mtl_task_column(spec):
    return {"task_column": spec.task_index} if spec.layout == "long" else {}


def _independent(spec: Spec):
    if spec.kind == REGRESSION:
        model = ScaledTargets(PerTaskRidge(task_index=spec.task_index))
        grid = {"estimator__alpha": spec.grid(np.geomspace(0.1, 1e3, 5), [1.0, 30.0])}
    else:
        model = PerTask(LogisticRegression(max_iter=500), spec.task_index)
        grid = {"estimator__C": spec.grid(np.geomspace(0.01, 100, 5), [0.1, 10.0])}
    return _search(spec, model, grid)


def _pooled(spec: Spec):
    if spec.layout != "long":
        raise NotApplicable("needs the long layout (tasks of the same target in one column)")
    if spec.kind == REGRESSION:
        model, grid = ScaledTargets(Ridge()), {"estimator__alpha": [0.1, 10.0, 1e3]}
    else:
        model, grid = LogisticRegression(max_iter=500), {"C": [0.01, 1.0, 100.0]}
    if spec.quick:
        grid = {k: v[1:2] for k, v in grid.items()}
    return _search(spec, model, grid, keep_task=False)


def _multitask_lasso(spec: Spec):
    if spec.layout != "wide":
        raise NotApplicable("needs the wide layout (one target column per task)")
    if spec.kind != REGRESSION:
        raise NotApplicable("regression tasks only")
    model = ScaledTargets(CompleteRows(MultiTaskLasso(max_iter=5000)))
    grid = {"estimator__estimator__alpha": spec.grid([1e-3, 1e-2, 3e-2, 0.1, 0.3], [1e-2, 0.1])}
    return _search(spec, model, grid)


def _mean_regularized(spec: Spec):
    mtl = _mtl_task_column(spec)
    if spec.kind == REGRESSION:
        model = ScaledTargets(linear.MeanRegularizedRegressor(**mtl))
        prefix = "estimator__"
        grid = {"alpha": spec.grid([1e-2, 1e-1], [1e-2]), "coupling": [1.0, 10.0, 100.0]}
    else:
        model = _wrap_classifier(spec, linear.MeanRegularizedClassifier(**mtl))
        prefix = "estimator__" if spec.layout == "wide" else ""
        grid = {"alpha": spec.grid([1e-3, 1e-2], [1e-2]), "coupling": [1.0, 10.0]}
    if spec.quick:
        grid["coupling"] = grid["coupling"][:2]
    return _search(spec, model, {prefix + k: v for k, v in grid.items()})


def _wrap_classifier(spec, model):
    return _Classes(model) if spec.layout == "wide" else model


def _path_or_grid(spec: Spec, regressor_cv, classifier):
    if spec.kind == REGRESSION:
        cv_model = regressor_cv(
            **_mtl_task_column(spec),
            cv=spec.cv,
            eps=spec.grid(1e-3, 1e-2),
            alphas=spec.grid(12, 5),
        )
        return Pipeline([("prep", _prep(spec)), ("model", ScaledTargets(cv_model))])
    model = _wrap_classifier(spec, classifier(**_mtl_task_column(spec)))
    prefix = "estimator__" if spec.layout == "wide" else ""
    return _search(spec, model, {prefix + "alpha": spec.grid([1e-3, 1e-2, 1e-1], [1e-2, 1e-1])})


def _low_rank(spec: Spec):
    return _path_or_grid(spec, linear.LowRankRegressorCV, linear.LowRankClassifier)


def _sparse(spec: Spec):
    return _path_or_grid(spec, linear.SparseRegressorCV, linear.SparseClassifier)


def _neural(spec: Spec, task_types: list):
    from . import _compare_neural  # torch is imported here, and only here

    common = {"random_state": spec.seed, "n_steps": spec.grid(900, 300)}
    if spec.layout == "long":
        model = _compare_neural.NeuralLong(n_tasks=spec.n_tasks, task_type=spec.kind, **common)
    else:
        model = _compare_neural.NeuralWide(task_types=list(task_types), **common)
    pipe = Pipeline([("prep", _prep(spec)), ("model", model)])
    if spec.quick:
        return pipe.set_params(model__weight_decay=1e-2)
    grid = {"model__weight_decay": [1e-3, 1e-2]}
    return GridSearchCV(
        pipe, grid, cv=spec.cv, scoring=_Scorer(spec.layout, task_types), error_score="raise"
    )


@dataclass(frozen=True)
class Method:
    """A row of the comparison.

    ``build(spec)`` returns the tuned estimator of one part (raising :class:`NotApplicable`
    when the method does not fit the problem). A method with ``mixed=True`` gets all the tasks
    at once whatever their types (``build(spec, task_types)``); the others get the regression
    and the classification tasks as separate parts.
    """

    key: str
    name: str
    build: Callable
    mixed: bool = False
    description: str = ""
    same_classes: bool = False  # classification tasks grouped by their number of classes


METHODS: dict[str, Method] = {
    m.key: m
    for m in [
        Method(
            "independent",
            "independent (per task)",
            _independent,
            description="one ridge / logistic regression per task, one shared C or alpha",
        ),
        Method(
            "pooled",
            "pooled (one model)",
            _pooled,
            description="one ridge / logistic regression for all rows, task ignored (long)",
        ),
        Method(
            "multitask_lasso",
            "MultiTaskLasso",
            _multitask_lasso,
            description="scikit-learn's MultiTaskLasso on the rows with every target (wide)",
        ),
        Method(
            "mean_regularized",
            "mean-regularised MTL",
            _mean_regularized,
            description="skmtl.linear.MeanRegularized*: tasks pulled towards their mean",
            same_classes=True,
        ),
        Method(
            "low_rank",
            "low-rank MTL",
            _low_rank,
            description="skmtl.linear.LowRank*: trace-norm penalty, a shared subspace",
        ),
        Method(
            "sparse",
            "sparse MTL (L2,1)",
            _sparse,
            description="skmtl.linear.Sparse*: L2,1 penalty, joint feature selection",
        ),
        Method(
            "neural",
            "MultiTaskEstimator",
            _neural,
            mixed=True,
            description="skmtl.MultiTaskEstimator: shared MLP trunk, one head per task (torch)",
        ),
    ]
}
