"""The long layout of MultiTaskEstimator: the task column, task codes and unseen tasks.

With ``task_column``, one column of ``X`` holds each row's task label (as in
:mod:`skmtl.linear`) and ``y`` is one target column. The task column is taken out of ``X``
(:func:`split_task_column`), the labels become codes ``0 .. T-1`` in the order of
``np.unique`` (:func:`encode_tasks`) and travel as the last column of the network's input.
"""

from __future__ import annotations

import numpy as np

from ..linear._validation import is_missing, split_task_column

__all__ = ["check_long_params", "encode_tasks", "split_task_column"]

_UNSEEN_HINT = (
    "Pass unknown_task='mean' to predict unseen tasks with the head shared by all tasks, or "
    "split with skmtl.model_selection.TaskStratifiedKFold, which keeps every task in every "
    "training fold."
)


def check_long_params(params: dict) -> None:
    """The parameters that the long layout does not take raise here, by name."""
    if params["module"] is not None:
        raise ValueError(
            "task_column uses its own network (a shared trunk, a shared head and per-task "
            "deviations); module= cannot be combined with it."
        )
    if params["architecture"] != "shared_bottom":
        raise ValueError(
            f"task_column supports architecture='shared_bottom' only, got "
            f"{params['architecture']!r}."
        )
    if tuple(params["head_units"]):
        raise ValueError(
            "task_column: the per-task heads are linear; head_units must be () (widen "
            "hidden_units instead)."
        )
    weighting = params["weighting"]
    if not (weighting == "fixed" or getattr(weighting, "name", None) == "fixed"):
        raise ValueError(
            f"task_column supports weighting='fixed' only (got {weighting!r}): the strategies "
            "balance a few tasks' losses and would cost one loss per task and batch here; "
            "use task_weights."
        )


def encode_tasks(labels, *, known=None, column=None, unknown: str = "error"):
    """Task labels -> ``(tasks, codes)``; with ``known``, unseen labels raise (``"error"``) or get
    the code -1 (``"mean"``: the shared head)."""
    labels = np.asarray(labels)
    where = f" in task column {column!r}" if column is not None else ""
    if labels.dtype.kind in "fc" and np.isnan(labels).any():
        raise ValueError(f"The task column{where} has {int(np.isnan(labels).sum())} NaN value(s).")
    if labels.dtype == object and (n_missing := int(is_missing(labels).sum())):
        raise ValueError(
            f"The task column{where} has {n_missing} missing value(s) (None, NaN or pandas NA)."
        )
    if known is None:
        try:
            tasks, codes = np.unique(labels, return_inverse=True)
        except TypeError as exc:
            raise TypeError(
                f"Task labels{where} must be sortable (all numbers or all strings): {exc}"
            ) from None
        return tasks, codes.ravel().astype(np.int64)
    known = np.asarray(known)
    lookup = {k: i for i, k in enumerate(known.tolist())}
    try:
        codes = np.fromiter((lookup.get(v, -1) for v in labels.tolist()), dtype=np.int64)
    except TypeError as exc:
        raise TypeError(f"Task labels{where} must be hashable: {exc}") from None
    unseen = codes < 0
    if unseen.any() and unknown == "error":
        names = sorted({str(v) for v in labels[unseen].tolist()})
        raise ValueError(
            f"Task(s) {names[:10]}{'...' if len(names) > 10 else ''}{where} were not seen in "
            f"fit ({len(known)} known tasks). {_UNSEEN_HINT}"
        )
    return known, codes
