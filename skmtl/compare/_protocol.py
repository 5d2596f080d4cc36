"""The comparison protocol behind ``skmtl compare``: does multi-task learning help on this data?

A :class:`Problem` holds the data in one of two layouts:

- *wide*: one design ``X`` (n_samples, n_features) and ``y`` (n_samples, n_tasks), an object array
  with one column per task, class labels (``None`` missing) or numbers (NaN missing);
- *long*: each row belongs to one task, whose code 0..T-1 is the last column of ``X``; ``y`` is
  the single target column (all tasks of one type).

:func:`compare` runs the protocol of the multi-task literature (Evgeniou & Pontil 2004; Argyriou,
Evgeniou & Pontil 2008; MALSAR) for every method:

1. split at random, 25 % of the rows of every task for testing (wide: rows; long: stratified on
   the task, so every task is split 75/25);
2. choose the hyperparameters by ``cv``-fold cross-validation on the training part only
   (``GridSearchCV`` or the warm-started path of the ``*CV`` estimators; long layout: folds
   stratified on the task, so every fold holds every task), then refit on the training part;
3. score on the test part: per task, accuracy (classification) or :math:`R^2` (regression, the
   explained variance ``1 - SSE / sum((y - mean(y))**2)`` around the test mean); as the overall
   score, the mean over tasks in the wide layout and the score of all test rows pooled in the long
   layout (the school protocol);
4. repeat with new random splits (seeds ``random_state + r``) and report mean and standard
   deviation over the repeats, with the time of the tuned fit (CV plus refit).

Every model is a scikit-learn ``Pipeline`` whose first step is one ``ColumnTransformer``
(:func:`skmtl.compare._methods.preprocessor`), fitted on the training part only: numeric
features mean-imputed and standardised, categorical ones one-hot encoded
(``OneHotEncoder(handle_unknown="ignore")``, indicators not scaled, a missing value a level of
its own). Regression targets are standardised inside the linear regressors (per task in the wide
layout), so the hyperparameter grids below do not depend on the target's unit. The (repeat,
method) jobs run in parallel with joblib, each with one BLAS and one torch thread.

This module does not import torch: the neural method lives in :mod:`skmtl.compare._neural`,
imported only when it runs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import KFold, train_test_split
from sklearn.pipeline import Pipeline

from ..model_selection import TaskStratifiedKFold
from ._methods import (
    CLASSIFICATION,
    METHODS,
    REGRESSION,
    CompareError,
    Method,
    NotApplicable,
    Part,
    Spec,
    TaskGroups,
    fitted_model,
    missing,
    score_rows,
)

__all__ = ["METHODS", "CompareError", "Method", "Problem", "Result", "compare", "fit_final"]

TEST_SIZE = 0.25

# ----------------------------------------------------------------------------------------------
# The data


@dataclass
class Problem:
    """A multi-task data set in the wide or the long layout (see the module docstring).

    Parameters
    ----------
    X : DataFrame or ndarray of shape (n_samples, n_columns)
        The features, named by ``feature_names``: numeric (NaN where missing) or, for the
        columns named in ``categorical``, strings (``None`` where missing). In the long layout
        the last column holds each row's task label (an array: the task code 0..T-1). An array
        becomes a DataFrame with the columns ``feature_names`` (and ``task_column`` or
        ``"task"`` last).
    y : ndarray of shape (n_samples, n_tasks) or (n_samples,)
        Wide: object array, one column per task. Long: the target column.
    layout : {"wide", "long"}
    tasks : list of str
        Task names (column names, or the task column's values in the order of the codes).
    task_types : list of str
        ``"classification"`` or ``"regression"`` per task (all equal in the long layout).
    feature_names : list of str
    name : str
        A short description for the report.
    target : str, optional
        Long layout: the target column's name.
    task_column : str, optional
        Long layout: the task column's name.
    categorical : list of str, default=()
        The feature columns that are one-hot encoded.
    codes : ndarray of int, optional
        Long layout: each row's task as its position in ``tasks`` (default: read from the last
        column of ``X``, whose labels are matched to ``tasks``).
    """

    X: Any
    y: np.ndarray
    layout: str
    tasks: list
    task_types: list
    feature_names: list
    name: str = "data"
    target: str | None = None
    task_column: str | None = None
    categorical: list = field(default_factory=list)
    codes: np.ndarray | None = None

    def __post_init__(self):
        import pandas as pd

        self.feature_names = list(self.feature_names)
        self.categorical = list(self.categorical)
        if not isinstance(self.X, pd.DataFrame):
            arr = np.asarray(self.X, dtype=float)
            columns = list(self.feature_names)
            if self.layout == "long":
                columns.append(self.task_column or "task")
                if self.codes is None:
                    self.codes = arr[:, -1].astype(np.int64)
            self.X = pd.DataFrame(arr, columns=columns)
        elif self.layout == "long" and self.codes is None:
            index = {t: i for i, t in enumerate(self.tasks)}
            self.codes = np.array([index[_label(v)] for v in self.X.iloc[:, -1]], dtype=np.int64)
        # class labels as strings ("1" for 1.0), None where missing: one representation for
        # every estimator and metric
        self.y = np.asarray(self.y, dtype=object if self.layout == "wide" else None)
        if self.layout == "wide":
            for j, kind in enumerate(self.task_types):
                if kind == CLASSIFICATION:
                    self.y[:, j] = class_labels(self.y[:, j])
                else:
                    self.y[:, j] = np.asarray(self.y[:, j], dtype=float)
        elif self.task_types[0] == CLASSIFICATION:
            self.y = class_labels(self.y)
        else:
            self.y = np.asarray(self.y, dtype=float)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def numeric(self) -> list:
        """The numeric feature columns (imputed and standardised by the methods)."""
        return [f for f in self.feature_names if f not in self.categorical]

    @property
    def task_key(self):
        """Long layout: the name of the task column in ``X`` (its last column); else None."""
        return self.X.columns[-1] if self.layout == "long" else None

    def task_codes(self) -> np.ndarray:
        return self.codes

    def describe(self) -> str:
        n_cls = self.task_types.count(CLASSIFICATION)
        kinds = (
            f"{self.task_types[0]}"
            if len(set(self.task_types)) == 1
            else f"{n_cls} classification, {len(self.tasks) - n_cls} regression"
        )
        where = (
            f"long layout, target {self.target!r}, task column {self.task_column!r}"
            if self.layout == "long"
            else "wide layout"
        )
        n_cat = len(self.categorical)
        features = f"{self.n_features} features" + (f" ({n_cat} categorical)" if n_cat else "")
        return (
            f"{self.name}: {len(self.X)} samples, {features}, "
            f"{len(self.tasks)} tasks ({kinds}; {where})"
        )


def _label(v) -> str:
    """A task label as a name: ``"3"`` for 3.0."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def check_problem(problem: Problem, cv: int) -> None:
    """Raise :class:`CompareError` if the protocol cannot run on ``problem`` with ``cv`` folds."""
    # every task needs >= cv training rows after a 25 % test split, and >= 1 test row
    need = max(int(np.ceil(cv / (1 - TEST_SIZE))) + 1, 4)
    if problem.n_features == 0:
        raise CompareError("no feature columns are left besides the targets and the task column")
    for name in problem.numeric:
        col = problem.X[name].to_numpy(dtype=float)
        if (np.abs(col[~np.isnan(col)]) > 1e100).any():
            raise CompareError(
                f"feature column {name!r} holds an infinite or too large value (|x| > 1e100); "
                "fix or drop it"
            )
    if problem.layout == "long":
        codes = problem.task_codes()
        counts = np.bincount(codes, minlength=len(problem.tasks))
        if len(problem.tasks) < 2:
            raise CompareError(
                f"the task column {problem.task_column!r} holds a single task "
                f"({problem.tasks[0]!r}); multi-task learning needs at least two"
            )
        small = np.flatnonzero(counts < need)
        if small.size:
            t = small[0]
            raise CompareError(
                f"task {problem.tasks[t]!r} has {counts[t]} rows; a 25 % test split and "
                f"{cv}-fold inner CV need at least {need} per task ({small.size} tasks too small)"
            )
        _check_target(problem.y, problem.target, problem.task_types[0])
    else:
        for j, (task, kind) in enumerate(zip(problem.tasks, problem.task_types)):
            labelled = int((~missing(problem.y[:, j])).sum())
            if labelled < need:
                raise CompareError(
                    f"target {task!r} has {labelled} labelled rows; a 25 % test split and "
                    f"{cv}-fold inner CV need at least {need}"
                )
            _check_target(problem.y[:, j], task, kind)


def _check_target(col, name, kind) -> None:
    values = col[~missing(col)]
    distinct = np.unique(values.astype(float) if kind == REGRESSION else values.astype(str))
    if len(distinct) < 2:
        what = "class" if kind == CLASSIFICATION else "value"
        shown = (
            f"{distinct[0]:g}"
            if kind == REGRESSION and len(distinct)
            else (str(distinct[0]) if len(distinct) else "none")
        )
        raise CompareError(f"target {name!r} has a single {what} ({shown}); nothing to learn")


def class_labels(col) -> np.ndarray:
    """Labels as an object array of strings (integral numbers without ".0"), None if missing."""
    col = np.asarray(col, dtype=object)
    out = np.empty(len(col), dtype=object)
    for i, v in enumerate(col):
        if v is None or (isinstance(v, float) and v != v):
            out[i] = None
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out[i] = str(int(v))
        else:
            out[i] = str(v)
    return out


# ----------------------------------------------------------------------------------------------
def _parts(method: Method, problem: Problem, quick: bool, cv: int, seed: int) -> list[Part]:
    if problem.layout == "long":
        splitter = TaskStratifiedKFold(
            cv, task_column=problem.task_key, shuffle=True, random_state=seed
        )
        model_splitter = TaskStratifiedKFold(cv, task_column=-1, shuffle=True, random_state=seed)
    else:
        splitter = model_splitter = KFold(cv, shuffle=True, random_state=seed)

    def spec(kind, n_tasks):
        return Spec(
            problem.layout,
            kind,
            n_tasks,
            problem.numeric,
            problem.categorical,
            problem.task_key,
            quick,
            splitter,
            seed,
            model_splitter,
        )

    n_tasks = len(problem.tasks)
    if problem.layout == "long":
        kind = problem.task_types[0]
        args = (problem.task_types,) if method.mixed else ()
        return [Part(None, [kind], method.build(spec(kind, n_tasks), *args))]
    if method.mixed:
        kinds = list(problem.task_types)
        kind = kinds[0] if len(set(kinds)) == 1 else "mixed"
        return [Part(list(range(n_tasks)), kinds, method.build(spec(kind, n_tasks), kinds))]
    groups = {"reg": [j for j, k in enumerate(problem.task_types) if k == REGRESSION]}
    clf = [j for j, k in enumerate(problem.task_types) if k == CLASSIFICATION]
    if method.same_classes and clf:
        n_classes = {j: len({v for v in problem.y[:, j] if v is not None}) for j in clf}
        for n in sorted(set(n_classes.values())):
            groups[f"clf{n}" if len(set(n_classes.values())) > 1 else "clf"] = [
                j for j in clf if n_classes[j] == n
            ]
    else:
        groups["clf"] = clf
    parts = []
    for label, cols in groups.items():
        if cols:
            kind = REGRESSION if label == "reg" else CLASSIFICATION
            part = Part(cols, [kind] * len(cols), method.build(spec(kind, len(cols))))
            part.label = label
            parts.append(part)
    return parts


def _chosen(est, prefix: str) -> dict:
    """Hyperparameters chosen by the inner CV (short names)."""
    found = {}
    if hasattr(est, "best_params_"):
        for key, value in est.best_params_.items():
            found[key.split("__")[-1]] = value
    elif isinstance(est, Pipeline):
        model = est.named_steps["model"]
        inner = getattr(model, "estimator_", model)
        if hasattr(inner, "alpha_"):
            found["alpha"] = float(inner.alpha_)
    return {prefix + k: _plain(v) for k, v in found.items()}


def _details(method: Method, problem: Problem, part: Part) -> dict:
    """What ``method.details`` reads from the fitted model of ``part`` (task names as str)."""
    model = fitted_model(part.estimator)
    if problem.layout == "long":
        tasks = [_label(_plain(v)) for v in getattr(model, "tasks_", problem.tasks)]
    else:
        tasks = [str(problem.tasks[j]) for j in part.columns]
    return dict(method.details(model, tasks))


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


# ----------------------------------------------------------------------------------------------
# One job: one method on one random split


def split(problem: Problem, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices of repeat ``seed`` (long layout: 75/25 within every task)."""
    rows = np.arange(len(problem.X))
    strata = problem.task_codes() if problem.layout == "long" else None
    return train_test_split(rows, test_size=TEST_SIZE, stratify=strata, random_state=seed)


def run_one(problem: Problem, method: Method, seed: int, *, quick: bool, cv: int, threads=None):
    """Fit ``method`` on the training rows of repeat ``seed`` and score it on the test rows.

    Returns a dict: ``status`` ("ok", "skipped" or "failed"), ``reason``, ``score``,
    ``task_scores``, ``fit_time`` and ``params``.
    """
    from threadpoolctl import threadpool_limits

    out = {
        "seed": seed,
        "status": "ok",
        "reason": None,
        "score": None,
        "task_scores": None,
        "fit_time": None,
        "params": {},
    }
    try:
        parts = _parts(method, problem, quick, cv, seed)
    except NotApplicable as exc:
        return {**out, "status": "skipped", "reason": str(exc)}
    except ImportError as exc:
        return {**out, "status": "skipped", "reason": f"cannot import {exc.name}: {exc}"}
    train, test = split(problem, seed)
    X_train, X_test = problem.X.iloc[train], problem.X.iloc[test]
    y_test = problem.y[test]
    pred = np.empty(y_test.shape, dtype=object)
    elapsed = 0.0
    try:
        with threadpool_limits(threads):
            for part in parts:
                cols = part.columns
                y_train = problem.y[train] if cols is None else problem.y[train][:, cols]
                if part.kinds[0] == REGRESSION and len(set(part.kinds)) == 1:
                    y_train = y_train.astype(float)
                start = time.perf_counter()
                part.estimator.fit(X_train, y_train)
                elapsed += time.perf_counter() - start
                prefix = f"{part.label}:" if len(parts) > 1 else ""
                out["params"].update(_chosen(part.estimator, prefix))
                if method.details is not None:
                    found = _details(method, problem, part)
                    out.setdefault("details", {}).update(
                        {prefix + k: v for k, v in found.items()}
                    )
                part_pred = part.estimator.predict(X_test)
                if cols is None:
                    pred[:] = part_pred
                else:
                    pred[:, cols] = np.asarray(part_pred, dtype=object).reshape(len(test), -1)
    except Exception as exc:  # a method failing on a split is a result, not a crash
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {**out, "status": "failed", "reason": f"{type(exc).__name__}: {message}"}
    if problem.layout == "long":
        kind = problem.task_types[0]
        y_true = y_test.astype(float) if kind == REGRESSION else y_test
        p = pred.astype(float) if kind == REGRESSION else pred
        codes = problem.task_codes()[test]
        out["score"] = score_rows(y_true, p, kind)
        out["task_scores"] = [
            score_rows(y_true[codes == t], p[codes == t], kind) if (codes == t).any() else None
            for t in range(len(problem.tasks))
        ]
    else:
        scores = []
        for j, kind in enumerate(problem.task_types):
            col_true, col_pred = y_test[:, j], pred[:, j]
            if kind == REGRESSION:
                col_true, col_pred = col_true.astype(float), col_pred.astype(float)
            else:
                col_true, col_pred = _as_str(col_true), _as_str(col_pred)
            scores.append(score_rows(col_true, col_pred, kind))
        out["task_scores"] = scores
        if np.isnan(np.asarray(scores, dtype=float)).all():
            return {
                **out,
                "status": "failed",
                "reason": "no task score could be computed (test parts too small)",
                "task_scores": None,
            }
        out["score"] = float(np.nanmean(scores))
    out["fit_time"] = elapsed
    return out


def _as_str(col):
    miss = missing(col)
    out = col.astype(str).astype(object)
    out[miss] = None
    return out


# ----------------------------------------------------------------------------------------------
# The comparison


@dataclass
class Result:
    """The outcome of :func:`compare`; :meth:`to_dict` is the ``--json`` document."""

    problem: Problem
    methods: list
    runs: dict  # method key -> list of run dicts (one per repeat)
    repeats: int
    cv: int
    random_state: int
    quick: bool
    n_jobs: int
    wall_time: float
    extra: dict = field(default_factory=dict)

    def summary(self, key: str) -> dict:
        """Status, mean/std score and fit time, per-task mean/std and median parameters."""
        runs = self.runs[key]
        ok = [r for r in runs if r["status"] == "ok"]
        bad = [r for r in runs if r["status"] != "ok"]
        if not ok:
            return {"status": bad[0]["status"], "reason": bad[0]["reason"]}
        scores = np.array([r["score"] for r in ok], dtype=float)
        times = np.array([r["fit_time"] for r in ok], dtype=float)
        per_task = np.array(
            [[np.nan if s is None else s for s in r["task_scores"]] for r in ok], dtype=float
        )
        params = {}
        for name in ok[0]["params"]:
            values = [r["params"].get(name) for r in ok]
            if all(isinstance(v, (int, float)) for v in values):
                params[name] = float(np.median(values))
            else:
                params[name] = max(set(map(str, values)), key=list(map(str, values)).count)
        return {
            "status": "ok" if not bad else "partial",
            "reason": bad[0]["reason"] if bad else None,
            "n_runs": len(ok),
            "score_mean": float(scores.mean()),
            "score_std": _std(scores),
            "fit_time_mean": float(times.mean()),
            "fit_time_std": _std(times),
            "task_scores_mean": _nan_none(_nanmean(per_task)),
            "task_scores_std": _nan_none([_std(c[~np.isnan(c)]) for c in per_task.T]),
            "params": params,
        }

    def to_dict(self) -> dict:
        """The JSON document (see :mod:`skmtl.compare._cli` for its schema)."""
        from .. import __version__

        p = self.problem
        metrics = {
            str(t): ("accuracy" if k == CLASSIFICATION else "r2")
            for t, k in zip(p.tasks, p.task_types)
        }
        methods = []
        for key in self.methods:
            m = METHODS[key]
            entry = {"key": key, "name": m.name, **self.summary(key)}
            entry["runs"] = [_json_run(r) for r in self.runs[key]]
            methods.append(entry)
        return {
            "skmtl_version": __version__,
            "data": {
                "name": p.name,
                "layout": p.layout,
                "n_samples": len(p.X),
                "n_features": p.n_features,
                "tasks": [str(t) for t in p.tasks],
                "task_types": {str(t): k for t, k in zip(p.tasks, p.task_types)},
                "target": p.target,
                "task_column": p.task_column,
            },
            "protocol": {
                "repeats": self.repeats,
                "test_size": TEST_SIZE,
                "cv": self.cv,
                "random_state": self.random_state,
                "quick": self.quick,
                "n_jobs": self.n_jobs,
                "task_metric": metrics,
                "score": _score_description(p),
            },
            "methods": methods,
            "wall_time": self.wall_time,
        }


def _std(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _nanmean(a):
    with np.errstate(all="ignore"):
        return [float(np.mean(c[~np.isnan(c)])) if (~np.isnan(c)).any() else np.nan for c in a.T]


def _nan_none(values):
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values]


def _json_run(run):
    scores = run["task_scores"]
    if scores is not None:
        scores = _nan_none([float(s) if s is not None else None for s in scores])
    return {
        **run,
        "task_scores": scores,
        "params": {k: _plain(v) for k, v in run["params"].items()},
    }


def _score_description(problem: Problem) -> str:
    if problem.layout == "long":
        what = (
            "accuracy"
            if problem.task_types[0] == CLASSIFICATION
            else ("explained variance (R^2 around the test mean)")
        )
        return f"{what} over all test rows pooled"
    if set(problem.task_types) == {REGRESSION}:
        return "mean over tasks of R^2"
    if set(problem.task_types) == {CLASSIFICATION}:
        return "mean over tasks of accuracy"
    return "mean over tasks of the task score (accuracy or R^2)"


def compare(
    problem: Problem,
    *,
    methods: Sequence[str] | None = None,
    repeats: int = 5,
    cv: int = 3,
    random_state: int = 0,
    quick: bool = False,
    n_jobs: int | None = -1,
    progress: bool = True,
) -> Result:
    """Run the comparison protocol (module docstring) on ``problem``.

    Parameters
    ----------
    problem : Problem
    methods : list of str, default=None
        Keys of :data:`METHODS`; None for all.
    repeats : int, default=5
        Random train/test splits.
    cv : int, default=3
        Inner cross-validation folds.
    random_state : int, default=0
        Repeat ``r`` uses seed ``random_state + r`` for its split, folds and network.
    quick : bool, default=False
        Smaller grids and shorter training.
    n_jobs : int or None, default=-1
        joblib workers over the (repeat, method) jobs.
    progress : bool, default=True
        Show a tqdm progress bar on stderr (it appears after 2 s).

    Returns
    -------
    Result
    """
    keys = list(METHODS) if methods is None else list(methods)
    unknown = [k for k in keys if k not in METHODS]
    if unknown:
        raise CompareError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    check_problem(problem, cv)
    from joblib import effective_n_jobs

    workers = effective_n_jobs(n_jobs)
    threads = 1 if workers > 1 else None
    # the longest jobs first, so that the workers finish together
    order = sorted(keys, key=lambda k: k != "neural")
    jobs = [(k, random_state + r) for k in order for r in range(repeats)]
    start = time.perf_counter()
    bar = _progress(len(jobs), progress)
    results = {}
    calls = (
        delayed(run_one)(problem, METHODS[k], s, quick=quick, cv=cv, threads=threads)
        for k, s in jobs
    )
    if workers == 1:
        outputs = (call[0](*call[1], **call[2]) for call in calls)
    else:
        outputs = Parallel(n_jobs=workers, return_as="generator")(calls)
    for (key, seed), out in zip(jobs, outputs):
        results[key, seed] = out
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    runs = {k: [results[k, random_state + r] for r in range(repeats)] for k in keys}
    return Result(
        problem, keys, runs, repeats, cv, random_state, quick, workers, time.perf_counter() - start
    )


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc="skmtl compare", unit="fit", delay=2.0, file=sys.stderr, leave=False
    )


# ----------------------------------------------------------------------------------------------
# The model to keep


def new_tasks_by_population_model(estimator) -> bool:
    """Set ``unknown_task="mean"`` on every estimator inside ``estimator`` that takes it.

    A row of a task not seen in fit is then predicted by the model the tasks share (the shared
    head of :class:`~skmtl.neural.MultiTaskEstimator`, the population model of a linear
    multi-task estimator) instead of raising. Returns whether any estimator took it.
    """
    keys = [
        k
        for k in estimator.get_params(deep=True)
        if k == "unknown_task" or k.endswith("__unknown_task")
    ]
    if keys:
        estimator.set_params(**dict.fromkeys(keys, "mean"))
    return bool(keys)


def fit_final(
    problem: Problem,
    method: str,
    *,
    quick: bool = False,
    cv: int = 3,
    random_state: int = 0,
):
    """Fit ``method`` on all rows of ``problem``: the model ``skmtl compare --save`` writes.

    The hyperparameters are chosen as in the comparison, by the method's inner ``cv``-fold
    cross-validation (folds seeded by ``random_state``), here on all rows; the estimator is then
    refit on all rows with them. In the long layout, the estimators that take ``unknown_task``
    are given ``unknown_task="mean"`` (:func:`new_tasks_by_population_model`): the saved model
    predicts a task not seen in fit by the model the tasks share. (The comparison keeps
    ``"error"``: its test tasks are always in the training part.) What is returned is the
    fitted estimator, not the search: a
    scikit-learn ``Pipeline`` (the preprocessing ``ColumnTransformer``, then the model) whose
    ``predict`` takes a DataFrame with the problem's feature columns (and, in the long layout,
    its task column; other columns are ignored). When the method fits the regression and the
    classification tasks of a wide problem separately, the pipelines are combined in a
    :class:`~skmtl.compare._methods.TaskGroups`.

    Parameters
    ----------
    problem : Problem
    method : str
        A key of :data:`METHODS`.
    quick, cv, random_state
        As in :func:`compare`.

    Returns
    -------
    model : estimator
        Fitted. ``predict(X)`` returns, in the wide layout, an array of shape
        (n_samples, n_tasks) with the columns in the order of ``problem.tasks``; in the long
        layout one prediction per row (a row whose task was not seen in fit is predicted by
        the shared model of an estimator that takes ``unknown_task``, ignored by ``pooled``,
        and raises a ``ValueError`` naming the task otherwise).
    params : dict
        The chosen hyperparameters (short names, prefixed by the part as in the report).

    Examples
    --------
    >>> from skmtl.compare import bundled_problem, fit_final
    >>> problem = bundled_problem("penguins")
    >>> model, params = fit_final(problem, "independent", quick=True)
    >>> type(model).__name__, sorted(params)
    ('TaskGroups', ['clf:C', 'reg:alpha'])
    >>> pred = model.predict(problem.X.iloc[:2])  # the columns of problem.tasks
    >>> pred.shape, problem.tasks
    ((2, 3), ['species', 'sex', 'body_mass'])
    """
    if method not in METHODS:
        raise CompareError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    check_problem(problem, cv)
    try:
        parts = _parts(METHODS[method], problem, quick, cv, random_state)
    except NotApplicable as exc:
        raise CompareError(f"method {method!r} does not apply: {exc}") from None
    fitted, columns, numeric, params = [], [], [], {}
    for part in parts:
        if problem.layout == "long":
            new_tasks_by_population_model(part.estimator)
        cols = part.columns
        y = problem.y if cols is None else problem.y[:, cols]
        numeric.append(part.kinds[0] == REGRESSION and len(set(part.kinds)) == 1)
        if numeric[-1]:
            y = y.astype(float)
        part.estimator.fit(problem.X, y)
        params.update(_chosen(part.estimator, f"{part.label}:" if len(parts) > 1 else ""))
        fitted.append(getattr(part.estimator, "best_estimator_", part.estimator))
        columns.append(cols)
    n_tasks = len(problem.tasks)
    if len(fitted) == 1 and (columns[0] is None or list(columns[0]) == list(range(n_tasks))):
        return fitted[0], params
    return TaskGroups.from_fitted(fitted, columns, n_tasks, numeric), params
