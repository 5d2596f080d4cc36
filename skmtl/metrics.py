"""Per-task scores and scorers for multi-task estimators.

Every helper reads ``y`` in any container :mod:`skmtl` accepts (dict, DataFrame, 2-D array,
SliceDict) and leaves missing labels (``None``, NaN, ``pd.NA``) out of each task's score. The
scorers plug into :class:`~sklearn.model_selection.GridSearchCV`::

    GridSearchCV(est, grid, scoring=make_task_scorers(["species", "body_mass"]), refit="species")

This module imports no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    root_mean_squared_error,
)

from . import _targets

__all__ = ["METRICS", "make_task_scorer", "make_task_scorers", "score_tasks", "task_score"]


def _f1_macro(y_true, y_pred):
    return f1_score(y_true, y_pred, average="macro")


def _neg(metric):
    def neg(y_true, y_pred):
        return -metric(y_true, y_pred)

    neg.__name__ = f"neg_{metric.__name__}"
    return neg


#: Metrics by name; all are "greater is better".
METRICS: dict[str, Callable] = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "f1_macro": _f1_macro,
    "r2": r2_score,
    "neg_mean_squared_error": _neg(mean_squared_error),
    "neg_root_mean_squared_error": _neg(root_mean_squared_error),
    "neg_mean_absolute_error": _neg(mean_absolute_error),
}
_DEFAULT = {"classification": "accuracy", "regression": "r2"}


def _metric(metric: str | Callable, task_type: str) -> Callable:
    if callable(metric):
        return metric
    if metric == "auto":
        metric = _DEFAULT[task_type]
    if metric not in METRICS:
        raise ValueError(
            f"unknown metric {metric!r}; choose 'auto', one of {sorted(METRICS)} "
            "or a callable metric(y_true, y_pred)."
        )
    return METRICS[metric]


def task_score(
    y_true: Any,
    y_pred: Any,
    task_type: str,
    *,
    metric: str | Callable = "auto",
    missing: np.ndarray | None = None,
) -> float:
    """Score one task on its labelled samples: accuracy (classification) or :math:`R^2`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels; missing ones (``None``, NaN, ``pd.NA``) are left out.
    y_pred : array-like of shape (n_samples,)
        Predictions for every sample.
    task_type : {"classification", "regression"}
    metric : str or callable, default="auto"
        "auto" (accuracy or :math:`R^2`), a name in ``METRICS``, or ``metric(y_true, y_pred)``.
    missing : ndarray of bool, optional
        The missing-label mask of ``y_true``, if already known.

    Returns
    -------
    score : float
        NaN when ``y_true`` has no label.

    Examples
    --------
    >>> task_score(["a", None, "b", "b"], ["a", "b", "a", "b"], "classification")
    0.666...
    >>> task_score([1.0, float("nan"), 3.0], [1.0, 0.0, 3.0], "regression")
    1.0
    """
    if missing is None:
        missing = _targets.missing_mask(y_true)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} samples but y_pred has {len(y_pred)}.")
    keep = ~np.asarray(missing)
    if not keep.any():
        return float("nan")
    y_true, y_pred = y_true[keep], y_pred[keep]
    score = _metric(metric, task_type)
    if task_type == "regression":
        y_true, y_pred = y_true.astype(np.float64), y_pred.astype(np.float64)
    elif not callable(metric):
        # Built-in classification metrics see label codes: labels of any type, even floats in
        # an object array, compare by value.
        both = np.concatenate([y_true.astype(object), y_pred.astype(object)])
        codes = np.unique(both, return_inverse=True)[1].reshape(-1)
        y_true, y_pred = codes[: len(y_true)], codes[len(y_true) :]
    return float(score(y_true, y_pred))


def score_tasks(
    y_true: Any,
    y_pred: Any,
    *,
    task_types: Mapping | None = None,
    metric: str | Callable = "auto",
) -> dict:
    """Per-task scores of predictions given in any multi-task container.

    Parameters
    ----------
    y_true : dict, DataFrame, SliceDict or array-like of shape (n_samples, n_tasks)
        True targets; missing labels are left out of their task's score.
    y_pred : same kinds as ``y_true``
        Predictions, holding at least the tasks of ``y_true`` (matched by name / position).
    task_types : dict, optional
        Task name -> "classification" or "regression"; inferred from ``y_true``'s dtypes
        otherwise (floating point: regression).
    metric : str or callable, default="auto"

    Returns
    -------
    scores : dict
        Task name -> score.

    Examples
    --------
    >>> y = {"c": ["a", "b", None], "r": [1.0, 2.0, 3.0]}
    >>> score_tasks(y, {"c": ["a", "a", "a"], "r": [1.0, 2.0, 3.0]})
    {'c': 0.5, 'r': 1.0}
    """
    true = _targets.split_targets(y_true)
    pred = _targets.split_targets(y_pred, n_samples=true.n_samples)
    types = dict(task_types or {})
    scores = {}
    for task in true.names:
        if task not in pred.columns:
            raise ValueError(f"y_pred has no task {task!r} (its tasks are {pred.names}).")
        kind = types.get(task) or _targets.infer_task_type(
            true.columns[task], true.missing[task], true.dtypes.get(task)
        )
        scores[task] = task_score(
            true.columns[task], pred.columns[task], kind, metric=metric, missing=true.missing[task]
        )
    return scores


def _final_estimator(estimator):
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


class _TaskScorer:
    """Scorer ``scorer(estimator, X, y) -> float`` for one task of a multi-task estimator."""

    def __init__(self, task: Hashable, metric: str | Callable = "auto") -> None:
        self.task = task
        self.metric = metric

    def __call__(self, estimator, X, y) -> float:
        true = _targets.split_targets(y)
        if self.task not in true.columns:
            raise ValueError(f"y has no task {self.task!r} (its tasks are {true.names}).")
        pred = _targets.split_targets(estimator.predict(X), n_samples=true.n_samples)
        types = getattr(_final_estimator(estimator), "task_types_", {})
        kind = types.get(self.task) or _targets.infer_task_type(
            true.columns[self.task], true.missing[self.task], true.dtypes.get(self.task)
        )
        return task_score(
            true.columns[self.task],
            pred.columns[self.task],
            kind,
            metric=self.metric,
            missing=true.missing[self.task],
        )

    def __repr__(self) -> str:
        return f"make_task_scorer({self.task!r}, metric={self.metric!r})"


def make_task_scorer(task: Hashable, metric: str | Callable = "auto") -> Callable:
    """Make a scorer ``scorer(estimator, X, y)`` for one task of a multi-task estimator.

    Parameters
    ----------
    task : hashable
        The task's name (a column position for 2-D array targets).
    metric : str or callable, default="auto"
        "auto" (accuracy for classification, :math:`R^2` for regression, after the fitted
        estimator's ``task_types_``), a name in ``METRICS`` (greater is better), or
        ``metric(y_true, y_pred)``.

    Returns
    -------
    scorer : callable
        Leaves the samples whose label for ``task`` is missing out of the score.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyRegressor
    >>> X, y = np.zeros((4, 1)), np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])
    >>> est = DummyRegressor().fit(X, y)
    >>> make_task_scorer(1, metric="neg_mean_absolute_error")(est, X, y)
    -1.0
    """
    return _TaskScorer(task, metric)


def make_task_scorers(tasks: Iterable[Hashable], metric: str | Callable = "auto") -> dict:
    """Make a ``{str(task): scorer}`` dict for ``GridSearchCV(scoring=..., refit=...)``.

    Parameters
    ----------
    tasks : iterable of hashable
        Task names.
    metric : str or callable, default="auto"
        As :func:`make_task_scorer`, the same for every task.

    Returns
    -------
    scorers : dict

    Examples
    --------
    >>> sorted(make_task_scorers(["species", "body_mass"]))
    ['body_mass', 'species']
    """
    return {str(task): make_task_scorer(task, metric) for task in tasks}
