"""Input checks of MultiTaskEstimator: features, task weights, sample weights, target scale."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils.validation import _check_sample_weight, validate_data

from .. import _targets
from ._out_of_core import check_out_of_core, is_out_of_core

__all__ = ["check_features", "check_sample_weight", "check_task_weights", "target_scale"]


def check_features(est, X, *, reset: bool):
    """``(X as a C-ordered float32 array or an out-of-core source, DataFrame index or None)``."""
    if is_out_of_core(X):  # a memmap or a Dataset: read batch by batch, never whole
        return check_out_of_core(est, X, reset=reset), None
    index = X.index if _targets._is_frame(X) else None
    try:
        X = validate_data(est, X, reset=reset, dtype=np.float32, order="C")
    except ValueError as exc:  # numpy's and scikit-learn's words, said about X
        if "could not convert" in str(exc):
            raise ValueError(f"X must be numeric; {exc}.") from None
        if "at least one array or dtype" in str(exc):  # a DataFrame without columns
            raise ValueError("X has 0 features; at least 1 is required.") from None
        raise
    if not X.flags.writeable:
        X = X.copy()
    return X, index


def check_task_weights(given, tasks: list) -> dict:
    """Task name -> float weight for every task (1 for tasks not named); finite, >= 0."""
    given = _targets.check_task_mapping("task_weights", given, tasks)
    weights = {}
    for task in tasks:
        w = given.get(task, 1.0)
        if not isinstance(w, Real) or isinstance(w, bool):
            raise TypeError(f"task_weights[{task!r}] must be a number, got {w!r}.")
        if not np.isfinite(w) or w < 0:
            raise ValueError(
                f"task_weights[{task!r}] = {w!r}: task weights must be finite and >= 0."
            )
        weights[task] = float(w)
    return weights


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    """None, or a finite non-negative float64 vector of length ``n_samples`` (not all 0)."""
    if sample_weight is None:
        return None
    # scikit-learn's checks: the length, finite, >= 0, not all zero.
    return _check_sample_weight(
        sample_weight, np.empty((n_samples, 0)), dtype=np.float64, ensure_non_negative=True
    )


def target_scale(spec, Y: np.ndarray, sample_weight=None) -> dict:
    """Mean and standard deviation of each regression target over its labelled samples
    (weighted by ``sample_weight``; a constant target keeps the scale 1)."""
    scale = {}
    for j, task in enumerate(spec.names):
        if spec.types[task] != "regression":
            continue
        keep = ~np.isnan(Y[:, j])
        col = Y[:, j][keep].astype(np.float64)
        w = None if sample_weight is None else sample_weight[keep]
        if col.size and (w is None or w.sum() > 0):
            mean = float(np.average(col, weights=w))
            std = float(np.sqrt(np.average((col - mean) ** 2, weights=w)))
        else:
            mean, std = 0.0, 1.0
        scale[task] = (mean, std if std > 0 else 1.0)
    return scale
