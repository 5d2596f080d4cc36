"""Multi-task targets: any accepted container -> per-task arrays, missing masks, types, and back.

A multi-task target ``y`` comes in one of these containers (the *kind*):

========== ======================================== ==========================
kind       what it is                               task names
========== ======================================== ==========================
dict       mapping name -> 1-D array-like           the keys
slicedict  :class:`skorch.helper.SliceDict`         the keys
frame      pandas DataFrame, one column per task    the column labels
series     pandas Series: a single task             its ``name``
array      2-D array-like (n_samples, n_tasks)      column positions 0..T-1
array1d    1-D array-like: a single task            ``0``
========== ======================================== ==========================

A label is *missing* when it is ``None``, NaN, ``pd.NA`` or ``pd.NaT``. Task types follow the dtype:
floating-point targets are regression, every other dtype (integers, booleans, strings,
categoricals, objects that are not all numbers with some float) is classification. NumPy turns an
integer column with missing values into floats, so such a column reads as regression unless it is
kept in a pandas nullable or categorical dtype or named in ``task_types``.

This module imports neither torch nor pandas (pandas is used only when the input already is a
pandas object).
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "TaskSpec",
    "Targets",
    "check_task_mapping",
    "decode_predictions",
    "encode_targets",
    "infer_task_type",
    "split_targets",
    "fit_task_spec",
]

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASK_TYPES = (CLASSIFICATION, REGRESSION)


def _pandas():
    """Return the pandas module if it is already imported (the input then may be pandas)."""
    return sys.modules.get("pandas")


def _is_frame(y: Any) -> bool:
    pd = _pandas()
    return pd is not None and isinstance(y, pd.DataFrame)


def _is_series(y: Any) -> bool:
    pd = _pandas()
    return pd is not None and isinstance(y, pd.Series)


def _is_slicedict(y: Any) -> bool:
    cls = type(y)
    return cls.__name__ == "SliceDict" and cls.__module__.startswith("skorch")


def _is_missing_scalar(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    pd = _pandas()
    return pd is not None and (value is pd.NA or value is pd.NaT)


def missing_mask(values: Any) -> np.ndarray:
    """Boolean mask of the missing labels (``None``, NaN, ``pd.NA``, ``pd.NaT``) of a 1-D target."""
    if _is_series(values):
        return values.isna().to_numpy(dtype=bool)
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind in "fc":
        return np.isnan(values)
    if kind in "mM":
        return np.isnat(values)
    if kind == "O":
        return np.fromiter((_is_missing_scalar(v) for v in values), dtype=bool, count=len(values))
    return np.zeros(values.shape, dtype=bool)


@dataclass
class Targets:
    """A multi-task target split into per-task 1-D arrays.

    Attributes
    ----------
    kind : str
        The container kind (see the module docstring).
    columns : dict
        Task name -> 1-D ndarray of raw labels (object or numeric dtype).
    missing : dict
        Task name -> boolean ndarray, True where the label is missing.
    index : pandas Index or None
        The index of a pandas input.
    dtypes : dict
        Task name -> original dtype (a pandas dtype for pandas input), used to restore predictions.
    array_dtype : numpy dtype or None
        The dtype of a 2-D or 1-D array input.
    """

    kind: str
    columns: dict
    missing: dict
    index: Any = None
    dtypes: dict = field(default_factory=dict)
    array_dtype: Any = None

    @property
    def names(self) -> list:
        return list(self.columns)

    @property
    def n_samples(self) -> int:
        return len(next(iter(self.columns.values())))


def _column_values(name: Hashable, values: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """Return (1-D values, missing mask, original dtype) of one task, checking it is 1-D."""
    if _is_series(values):
        mask = values.isna().to_numpy(dtype=bool)
        return values.to_numpy(), mask, values.dtype
    if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor, without torch
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"Task {name!r}: each task's target must be 1-D, got an array of shape {arr.shape}."
        )
    return arr, missing_mask(arr), arr.dtype


def _check_hashable(names) -> None:
    for name in names:
        try:
            hash(name)
        except TypeError:
            raise TypeError(
                f"Task names must be hashable (strings, numbers, tuples); y has a task named "
                f"{name!r} of type {type(name).__name__}."
            ) from None


def split_targets(y: Any, *, n_samples: int | None = None) -> Targets:
    """Split a multi-task target in any accepted container into per-task 1-D arrays.

    Parameters
    ----------
    y : dict, SliceDict, DataFrame, Series, 2-D or 1-D array-like
        The targets, one task per key / column.
    n_samples : int, optional
        The number of samples of ``X``; every task must have that many.

    Returns
    -------
    targets : Targets

    Examples
    --------
    >>> import numpy as np
    >>> t = split_targets({"a": [1.0, np.nan, 3.0], "b": ["x", None, "y"]})
    >>> t.kind, t.names, t.missing["a"].tolist(), t.missing["b"].tolist()
    ('dict', ['a', 'b'], [False, True, False], [False, True, False])
    """
    if y is None:
        raise ValueError("The target y is None; a multi-task target is required.")
    columns, missing, dtypes = {}, {}, {}
    index, array_dtype = None, None
    if _is_frame(y):
        kind, index = "frame", y.index
        _check_hashable(y.columns)
        if not y.columns.is_unique:
            dup = y.columns[y.columns.duplicated()].tolist()
            raise ValueError(f"y has duplicated task columns {dup}; task names must be unique.")
        items = [(name, y[name]) for name in y.columns]
    elif _is_series(y):
        kind, index = "series", y.index
        items = [(y.name, y)]
    elif isinstance(y, Mapping):
        kind = "slicedict" if _is_slicedict(y) else "dict"
        items = list(y.items())
    else:
        if hasattr(y, "detach") and hasattr(y, "cpu"):
            y = y.detach().cpu().numpy()
        arr = np.asarray(y)
        if arr.ndim == 1:
            kind, items = "array1d", [(0, arr)]
        elif arr.ndim == 2:
            kind, items = "array", [(j, arr[:, j]) for j in range(arr.shape[1])]
        else:
            raise ValueError(
                f"y must be a dict of 1-D arrays, a DataFrame, or a 1-D or 2-D array; got an "
                f"array of shape {arr.shape}."
            )
        array_dtype = arr.dtype
    if not items:
        raise ValueError("y has no tasks: it needs at least one target column.")
    _check_hashable([name for name, _ in items])
    for name, values in items:
        col, mask, dtype = _column_values(name, values)
        columns[name], missing[name], dtypes[name] = col, mask, dtype
    lengths = {name: len(col) for name, col in columns.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name!r}: {n}" for name, n in lengths.items())
        raise ValueError(f"Tasks in y have different numbers of samples ({detail}).")
    if n_samples is not None:
        n_y = next(iter(lengths.values()))
        if n_y != n_samples:
            raise ValueError(
                f"X has {n_samples} samples but the tasks in y have {n_y} "
                f"(task {next(iter(lengths))!r})."
            )
    return Targets(kind, columns, missing, index, dtypes, array_dtype)


def infer_task_type(values: np.ndarray, missing: np.ndarray, dtype: Any = None) -> str:
    """Infer ``"classification"`` or ``"regression"`` from a task's dtype.

    Floating-point dtypes are regression; integer, boolean, string, categorical dtypes are
    classification; an object array is regression when all its labels are real numbers and one
    of them is a float, classification otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([0.5, 1.5])
    >>> infer_task_type(v, np.zeros(2, bool))
    'regression'
    >>> infer_task_type(np.array(["a", "b"]), np.zeros(2, bool))
    'classification'
    """
    pd = _pandas()
    if pd is not None and dtype is not None and not isinstance(dtype, np.dtype):
        if pd.api.types.is_float_dtype(dtype):
            return REGRESSION
        if not pd.api.types.is_object_dtype(dtype):
            return CLASSIFICATION
    kind = np.asarray(values).dtype.kind
    if kind == "f":
        return REGRESSION
    if kind != "O":
        return CLASSIFICATION
    labelled = np.asarray(values)[~missing]
    is_real = [
        isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in labelled
    ]
    has_float = any(isinstance(v, (float, np.floating)) for v in labelled)
    return REGRESSION if labelled.size and all(is_real) and has_float else CLASSIFICATION


def check_task_mapping(param: str, mapping: Any, tasks: list) -> dict:
    """Check that a per-task parameter is a mapping over known task names; return it as a dict.

    Examples
    --------
    >>> check_task_mapping("task_weights", {"a": 2.0}, ["a", "b"])
    {'a': 2.0}
    >>> check_task_mapping("task_weights", {"c": 2.0}, ["a", "b"])
    Traceback (most recent call last):
    ...
    ValueError: task_weights names unknown task 'c'; the tasks of y are ['a', 'b'].
    """
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise TypeError(
            f"{param} must be a dict mapping task names to values, got {type(mapping).__name__}."
        )
    for name in mapping:
        if name not in tasks:
            raise ValueError(f"{param} names unknown task {name!r}; the tasks of y are {tasks}.")
    return dict(mapping)


@dataclass
class TaskSpec:
    """What a fitted estimator knows about its tasks.

    Attributes
    ----------
    names : list
        Task names in order.
    types : dict
        Task name -> ``"classification"`` or ``"regression"``.
    classes : dict
        Classification task name -> sorted ndarray of its classes.
    """

    names: list
    types: dict
    classes: dict

    def n_outputs(self) -> dict:
        """Task name -> number of network outputs (classes, or 1 for regression)."""
        return {n: len(self.classes[n]) if n in self.classes else 1 for n in self.names}


def _tidy_classes(classes: np.ndarray) -> np.ndarray:
    """Give an object array of classes a natural dtype when all classes are integers."""
    if classes.dtype == object and all(
        isinstance(c, (numbers.Integral, np.integer)) and not isinstance(c, (bool, np.bool_))
        for c in classes
    ):
        return classes.astype(np.int64)
    return classes


def fit_task_spec(
    targets: Targets, *, task_types: Mapping | None = None, classes: Mapping | None = None
) -> TaskSpec:
    """Infer task types and classes from training targets, checking that every task is learnable.

    Parameters
    ----------
    targets : Targets
        The training targets (from :func:`split_targets`).
    task_types : dict, optional
        Task name -> ``"classification"`` or ``"regression"``, overriding the inferred type.
    classes : dict, optional
        Classification task name -> all its classes (for ``partial_fit``), merged with the
        classes seen in ``targets``.

    Returns
    -------
    spec : TaskSpec
    """
    names = targets.names
    task_types = check_task_mapping("task_types", task_types, names)
    classes = check_task_mapping("classes", classes, names)
    types, all_classes = {}, {}
    for name in names:
        values, missing = targets.columns[name], targets.missing[name]
        if missing.all():
            raise ValueError(
                f"Task {name!r} has no labels: all its {len(values)} values are missing."
            )
        if name in task_types:
            kind = task_types[name]
            if kind not in TASK_TYPES:
                raise ValueError(
                    f"task_types[{name!r}] must be 'classification' or 'regression', got {kind!r}."
                )
        else:
            kind = infer_task_type(values, missing, targets.dtypes.get(name))
        types[name] = kind
        labelled = values[~missing]
        if kind == REGRESSION:
            as_float = _as_float(name, labelled)
            if not np.isfinite(as_float).all():
                raise ValueError(f"Regression task {name!r} has infinite target values.")
            if name in classes:
                raise ValueError(f"classes names regression task {name!r}.")
            continue
        if labelled.dtype.kind == "f" and not np.isfinite(labelled).all():
            raise ValueError(f"Classification task {name!r} has infinite labels.")
        seen = _unique(name, labelled)
        if name in classes:
            seen = _unique(
                name, np.concatenate([np.asarray(classes[name], dtype=object), seen.astype(object)])
            )
        seen = _tidy_classes(seen)
        if len(seen) < 2:
            raise ValueError(
                f"Classification task {name!r} has only one class ({seen.tolist()[0]!r}) among "
                "its labels; it needs at least 2 classes (or set its type to 'regression' in "
                "task_types)."
            )
        all_classes[name] = seen
    return TaskSpec(names=list(names), types=types, classes=all_classes)


def _as_float(name: Hashable, values: np.ndarray) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Regression task {name!r} has non-numeric values ({values[:3].tolist()}...)."
        ) from exc


def _unique(name: Hashable, values: np.ndarray) -> np.ndarray:
    try:
        return np.unique(values)
    except TypeError as exc:
        types = sorted({type(v).__name__ for v in values})
        raise TypeError(
            f"Classification task {name!r} mixes label types {types}; its labels must be "
            "mutually comparable (all strings or all numbers)."
        ) from exc


def check_same_tasks(spec: TaskSpec, targets: Targets) -> None:
    """Raise a ValueError naming the tasks when ``targets`` do not have the fitted tasks."""
    if list(targets.names) != list(spec.names):
        missing = [n for n in spec.names if n not in targets.names]
        extra = [n for n in targets.names if n not in spec.names]
        raise ValueError(
            f"y has tasks {targets.names}, but the estimator was fitted on {spec.names} "
            f"(missing: {missing}, unknown: {extra})."
        )


def encode_targets(spec: TaskSpec, targets: Targets) -> np.ndarray:
    """Encode targets as one float32 array of shape (n_samples, n_tasks), NaN where missing.

    Classification labels become class codes 0..K-1 (exact in float32 up to 2**24 classes).

    Examples
    --------
    >>> t = split_targets({"s": ["b", "a", None], "m": [1.5, None, 2.0]})
    >>> encode_targets(fit_task_spec(t), t)
    array([[1. , 1.5],
           [0. , nan],
           [nan, 2. ]], dtype=float32)
    """
    check_same_tasks(spec, targets)
    out = np.full((targets.n_samples, len(spec.names)), np.nan, dtype=np.float32)
    for j, name in enumerate(spec.names):
        values, missing = targets.columns[name], targets.missing[name]
        labelled = values[~missing]
        if spec.types[name] == REGRESSION:
            out[~missing, j] = _as_float(name, labelled)
            continue
        out[~missing, j] = label_codes(spec, name, labelled)
    return out


def label_codes(spec: TaskSpec, name: Hashable, labels: np.ndarray) -> np.ndarray:
    """Codes 0..K-1 of classification labels; a ValueError names the task for unknown labels."""
    classes = spec.classes[name]
    try:
        codes = np.searchsorted(classes, labels)
    except TypeError:
        codes = np.searchsorted(classes.astype(object), labels.astype(object))
    codes = np.clip(codes, 0, len(classes) - 1)
    unknown = classes[codes] != labels
    if np.any(unknown):
        bad = np.asarray(labels)[np.asarray(unknown)][:5].tolist()
        raise ValueError(
            f"Classification task {name!r} has labels {bad} that are not among its fitted "
            f"classes {classes.tolist()}."
        )
    return codes


def decode_predictions(
    spec: TaskSpec, container: Targets, predictions: Mapping, *, index: Any = None
) -> Any:
    """Put per-task predictions back into the container kind the estimator was fitted with.

    Parameters
    ----------
    spec : TaskSpec
    container : Targets
        The training targets (only their kind, names and dtypes are used).
    predictions : dict
        Task name -> 1-D ndarray of predicted labels (classification) or values (regression).
    index : pandas Index, optional
        Index for a DataFrame / Series result (the index of ``X``); a RangeIndex by default.

    Examples
    --------
    >>> t = split_targets({"s": ["b", "a"], "m": [1.5, 2.0]})
    >>> decode_predictions(fit_task_spec(t), t, {"s": np.array(["a", "a"]), "m": np.ones(2)})
    {'s': array(['a', 'a']...), 'm': array([1., 1.])}
    """
    names = spec.names
    if container.kind == "dict":
        return {name: predictions[name] for name in names}
    if container.kind == "slicedict":
        from skorch.helper import SliceDict

        return SliceDict(**{name: predictions[name] for name in names})
    if container.kind in ("frame", "series"):
        import pandas as pd

        cols = {}
        for name in names:
            col = pd.Series(predictions[name], index=index, name=name)
            dtype = container.dtypes.get(name)
            if spec.types[name] == CLASSIFICATION and dtype is not None:
                try:
                    col = col.astype(dtype)
                except (TypeError, ValueError):
                    pass
            cols[name] = col
        if container.kind == "series":
            return cols[names[0]]
        frame = pd.concat([cols[name] for name in names], axis=1)
        frame.columns = pd.Index(names)
        return frame
    columns = [np.asarray(predictions[name]) for name in names]
    dtype = np.result_type(*columns) if container.array_dtype is None else container.array_dtype
    if any(spec.types[n] == REGRESSION for n in names):
        dtype = np.result_type(dtype, np.float64) if dtype.kind != "O" else dtype
    if container.kind == "array1d":
        return columns[0].astype(dtype, copy=False)
    out = np.empty((len(columns[0]), len(columns)), dtype=dtype)
    for j, col in enumerate(columns):
        out[:, j] = col
    return out
