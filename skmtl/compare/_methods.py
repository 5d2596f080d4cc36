"""The methods of ``skmtl compare`` and the small estimators they are built from.

Every method turns a :class:`Spec` (the layout and task type of a group of tasks, the protocol's
splitter and seed) into an estimator tuned by inner cross-validation: a ``GridSearchCV`` over a
``Pipeline`` (feature imputation and scaling, then the model), the warm-started path of a
``*RegressorCV`` estimator, or, for a single candidate, the pipeline itself. Regression targets
are standardised around the linear models (:class:`ScaledTargets`), so that the grids below do
not depend on the target's unit. No torch here: the neural method imports
:mod:`skmtl.compare._neural` when it is built.
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
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .. import linear
from ..linear._validation import encode_tasks
from ..metrics import task_score
from ..multitask import PerTaskEstimator

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


class PerTaskRidge(BaseEstimator):
    """Independent ridge regressions, one per task, solved in closed form with numpy.

    Task :math:`t` minimises :math:`\\|y_t - X_t w_t - b_t\\|^2 + \\alpha \\|w_t\\|^2` (as
    :class:`sklearn.linear_model.Ridge`) on its own rows: wide, the labelled rows of column
    ``t`` of ``y``; long, the rows whose label in column ``task_column`` of ``X`` is ``t``. The
    same as :class:`skmtl.multitask.PerTaskEstimator` of ``Ridge(alpha)`` (tested), without
    139 calls' worth of input checks: the comparison fits it hundreds of times per split.
    """

    def __init__(self, alpha=1.0, task_column=None):
        self.alpha = alpha
        self.task_column = task_column

    def _groups(self, X, y, known=None):
        if self.task_column is None:
            y = np.asarray(y, dtype=float)
            for j in range(y.shape[1]):
                keep = ~np.isnan(y[:, j])
                yield j, X[keep], y[keep, j]
        else:
            labels, features = _split_task(X, self.task_column)
            tasks, index = encode_tasks(labels, known=known, column=self.task_column)
            if known is None:
                self.tasks_ = tasks
            for t in range(len(tasks)):
                rows = index == t
                yield t, features[rows], (None if y is None else y[rows])

    def fit(self, X, y):
        X = np.asarray(X)
        self.coef_, self.intercept_ = {}, {}
        for t, Xt, yt in self._groups(X, np.asarray(y, dtype=float)):
            x_mean, y_mean = Xt.mean(axis=0), yt.mean()
            Xc = Xt - x_mean if np.shares_memory(Xt, X) else np.subtract(Xt, x_mean, out=Xt)
            gram = Xc.T @ Xc + self.alpha * np.eye(Xc.shape[1])
            w = np.linalg.solve(gram, Xc.T @ (yt - y_mean))
            self.coef_[t], self.intercept_[t] = w, y_mean - x_mean @ w
            del Xt, Xc
        return self

    def predict(self, X):
        X = np.asarray(X)
        if self.task_column is None:
            X = X.astype(float, copy=False)
            return np.column_stack(
                [X @ self.coef_[j] + self.intercept_[j] for j in range(len(self.coef_))]
            )
        labels, features = _split_task(X, self.task_column)
        _, index = encode_tasks(labels, known=np.asarray(self.tasks_), column=self.task_column)
        out = np.empty(len(X))
        for t in np.unique(index):
            rows = index == t
            out[rows] = features[rows] @ self.coef_[t] + self.intercept_[t]
        return out


def _split_task(X, index):
    """(task labels, float features without the task column) of a long-layout ``X``."""
    X = np.asarray(X)
    return X[:, index], np.delete(X, index, 1).astype(np.float64, copy=False)


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


class TaskGroups(BaseEstimator):
    """Separate models for groups of the tasks of a wide problem, predicted side by side.

    Model ``i`` predicts the task columns ``columns[i]``; :meth:`predict` puts each group's
    predictions in its columns of one (n_samples, n_tasks) object array. ``skmtl compare
    --save`` keeps a method's regression and classification parts in one of these.

    Parameters
    ----------
    estimators : list of estimator
        One (unfitted) estimator per group.
    columns : list of list of int
        The task columns of each group.
    n_tasks : int
        The number of task columns in all.
    regression : list of bool
        Per group: its targets are numbers (given to its estimator as floats).
    """

    def __init__(self, estimators=(), columns=(), n_tasks=0, regression=()):
        self.estimators = estimators
        self.columns = columns
        self.n_tasks = n_tasks
        self.regression = regression

    @classmethod
    def from_fitted(cls, fitted, columns, n_tasks, regression) -> TaskGroups:
        """Wrap models already fitted on their groups (not refit)."""
        model = cls(
            [clone(e) for e in fitted], [list(c) for c in columns], n_tasks, list(regression)
        )
        model.estimators_ = list(fitted)
        return model

    def fit(self, X, y) -> TaskGroups:
        y = np.asarray(y, dtype=object)
        self.estimators_ = []
        for est, cols, numeric in zip(self.estimators, self.columns, self.regression):
            target = y[:, cols].astype(float) if numeric else y[:, cols]
            self.estimators_.append(clone(est).fit(X, target))
        return self

    def predict(self, X) -> np.ndarray:
        out = None
        for est, cols in zip(self.estimators_, self.columns):
            pred = np.asarray(est.predict(X), dtype=object).reshape(-1, len(cols))
            if out is None:
                out = np.empty((len(pred), self.n_tasks), dtype=object)
            out[:, cols] = pred
        return out


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
    """What a method's builder knows: the layout and task type of the part, and the protocol.

    ``numeric`` and ``categorical`` name the feature columns of the problem's ``X`` (a
    DataFrame); in the long layout its last column, ``task_column``, holds each row's task. After
    the preprocessing (:func:`preprocessor`) the task column is the last one, so the estimators
    are given ``task_column=-1``.
    """

    layout: str
    kind: str
    n_tasks: int
    numeric: list
    categorical: list
    task_column: str | None
    quick: bool
    cv: Any  # a splitter of the problem's X (a DataFrame; the task column by name)
    seed: int
    model_cv: Any = None  # the same splitter after the preprocessing (the task column last)

    def grid(self, full, quick):
        return quick if self.quick else full

    @property
    def long(self) -> bool:
        return self.layout == "long"


def preprocessor(numeric, categorical, task_column=None) -> ColumnTransformer:
    """The features every method sees, as one scikit-learn ``ColumnTransformer``.

    Numeric columns: ``SimpleImputer`` (the training mean) then ``StandardScaler``. Categorical
    columns: ``OneHotEncoder(handle_unknown="ignore")``, not scaled (0/1 indicators); a missing
    value is a level of its own when the training part has one (``OneHotEncoder`` treats
    ``None`` as a category), and a level not seen in fit, or a missing value when the training
    part had none, is all zeros. The task column of the long layout (``task_column``, a name)
    passes through, last; any other column is dropped, so that a DataFrame with more columns
    (the targets, an identifier) can be given to the fitted pipeline.
    """
    steps = [
        (
            "numeric",
            # the scaler works in place on the imputer's output (a new array): one copy of a
            # large table less, the same numbers; the imputer copies (the selection of the
            # columns of a DataFrame may be a view of the user's data)
            Pipeline(
                [
                    ("impute", SimpleImputer(keep_empty_features=True)),
                    ("scale", StandardScaler(copy=False)),
                ]
            ),
            list(numeric),
        )
    ]
    if categorical:
        steps.append(
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(categorical),
            )
        )
    if task_column is not None:
        steps.append(("task", "passthrough", [task_column]))
    return ColumnTransformer(steps, remainder="drop", verbose_feature_names_out=False)


def _prep(spec: Spec, keep_task: bool = True) -> ColumnTransformer:
    task = spec.task_column if keep_task and spec.long else None
    return preprocessor(spec.numeric, spec.categorical, task)


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
    return {"task_column": -1} if spec.long else {}


def _independent(spec: Spec):
    if spec.kind == REGRESSION:
        model = ScaledTargets(PerTaskRidge(task_column=-1 if spec.long else None))
        grid = {"estimator__alpha": spec.grid(np.geomspace(0.1, 1e3, 5), [1.0, 30.0])}
    else:
        model = PerTaskEstimator(
            LogisticRegression(max_iter=500), task_column=-1 if spec.long else None
        )
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


def _structure(spec: Spec, regressor, classifier, reg_grid: dict, clf_grid: dict, **fixed):
    """A task-structure model: a grid over its hyperparameters (regression targets scaled)."""
    mtl = {**_mtl_task_column(spec), **fixed}
    if spec.kind == REGRESSION:
        model, prefix, grid = ScaledTargets(regressor(**mtl)), "estimator__", reg_grid
    else:
        model = _wrap_classifier(spec, classifier(**mtl))
        prefix, grid = ("estimator__" if spec.layout == "wide" else ""), clf_grid
    grid = {k: spec.grid(*v) for k, v in grid.items()}  # (full, quick) per parameter
    if "n_clusters" in grid:  # at most one cluster per task of the part
        grid["n_clusters"] = [k for k in grid["n_clusters"] if k <= spec.n_tasks] or [1]
    return _search(spec, model, {prefix + k: v for k, v in grid.items()})


def _clustered(spec: Spec):
    # grids of benchmarks/school_structure.py (targets standardised); --quick: 2 candidates
    return _structure(
        spec,
        linear.ClusteredRegressor,
        linear.ClusteredClassifier,
        {
            "alpha": ([0.1, 0.2], [0.1]),
            "coupling": ([10.0, 100.0], [10.0]),
            "n_clusters": ([1, 2, 4], [1, 2]),
        },
        {"alpha": ([1e-3, 1e-2], [1e-2]), "coupling": ([1.0, 10.0], [1.0, 10.0])},
        random_state=spec.seed,
    )


def _task_relation(spec: Spec):
    return _structure(
        spec,
        linear.TaskRelationRegressor,
        linear.TaskRelationClassifier,
        {"alpha": ([0.01, 0.1], [0.01, 0.1]), "coupling": ([0.03, 0.1, 0.3], [0.1])},
        {"alpha": ([1e-3, 1e-2], [1e-3, 1e-2])},
    )


def _clusters(model, tasks) -> dict:
    """The clustered model's learned groups of tasks (task names), largest first."""
    if len(tasks) < 2:  # a part with one task (wide layout, mixed types): nothing to group
        return {}
    labels = np.asarray(model.task_clusters_)
    groups = [[str(tasks[i]) for i in np.flatnonzero(labels == c)] for c in np.unique(labels)]
    return {"clusters": sorted(groups, key=len, reverse=True)}


def _wrap_classifier(spec, model):
    return _Classes(model) if spec.layout == "wide" else model


def _path_or_grid(spec: Spec, regressor_cv, classifier):
    if spec.kind == REGRESSION:
        cv_model = regressor_cv(
            **_mtl_task_column(spec),
            cv=spec.model_cv,
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
    from . import _neural  # torch is imported here, and only here

    common = {"random_state": spec.seed, "n_steps": spec.grid(900, 300)}
    if spec.layout == "long":
        # MultiTaskEstimator(task_column=-1): a shared head plus per-task deviations; the
        # search is over their penalty (weight decay, on the trunk and shared head, fixed)
        model = _neural.NeuralLong(task_type=spec.kind, **common)
        grid = {"model__coupling": spec.grid([0.3, 1.0, 3.0], [1.0])}
    else:
        model = _neural.NeuralWide(task_types=list(task_types), **common)
        grid = {"model__weight_decay": spec.grid([1e-3, 1e-2], [1e-2])}
    pipe = Pipeline([("prep", _prep(spec)), ("model", model)])
    if all(len(v) == 1 for v in grid.values()):
        return pipe.set_params(**{k: v[0] for k, v in grid.items()})
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

    ``details(model, tasks)``, when given, reads what the fitted model learned about the tasks
    (``model``: the fitted estimator after the preprocessing, unwrapped from the search and the
    target scaling; ``tasks``: the part's task names in the model's order) and returns a small
    JSON-able dict (for example ``{"clusters": [[task, ...], ...]}``); it is kept per split in
    the ``--json`` runs and printed under the table.

    Adding a method is one entry in :data:`METHODS` and its builder function.
    """

    key: str
    name: str
    build: Callable
    mixed: bool = False
    description: str = ""
    same_classes: bool = False  # classification tasks grouped by their number of classes
    details: Callable | None = None


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
            "clustered",
            "clustered MTL",
            _clustered,
            description="skmtl.linear.Clustered*: learned clusters of tasks (prints them)",
            same_classes=True,
            details=_clusters,
        ),
        Method(
            "task_relation",
            "task-relation MTL",
            _task_relation,
            description="skmtl.linear.TaskRelation*: learned task covariance",
            same_classes=True,
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


def fitted_model(estimator):
    """The fitted model inside a part's estimator: past the search, the pipeline and the
    adapters (:class:`ScaledTargets`, :class:`CompleteRows`, the classifier wrapper)."""
    est = getattr(estimator, "best_estimator_", estimator)
    if isinstance(est, Pipeline):
        est = est.steps[-1][1]
    while isinstance(est, (ScaledTargets, CompleteRows, _Classes)):
        est = est.estimator_
    return est
