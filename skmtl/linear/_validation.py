"""Input handling for the linear estimators: the task column, X, and targets in both layouts.

Everything that can be wrong with the input is checked here, before any solver runs, and reported
as a ``ValueError`` / ``TypeError`` that names the task or column.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from ._design import LongDesign, WideDesign


def is_missing(values) -> np.ndarray:
    """Boolean mask of missing labels: NaN, None, pandas' NA / NaT."""
    arr = np.asarray(values)
    if arr.dtype.kind in "fc":
        return np.isnan(arr)
    if arr.dtype.kind in "iub" or arr.dtype.kind in "US":
        return np.zeros(arr.shape, dtype=bool)
    flat = arr.ravel()
    out = np.fromiter(
        (
            v is None
            or (isinstance(v, float) and v != v)
            or type(v).__name__ in ("NAType", "NaTType")
            for v in flat
        ),
        dtype=bool,
        count=flat.size,
    )
    return out.reshape(arr.shape)


def _column_name(names, j):
    return f"column {j}" if names is None else f"column {j} ({names[j]!r})"


# --- X and the task column ---------------------------------------------------------------------


def split_task_column(estimator, X, *, reset):
    """Take the task column out of X. Returns ``(X_features, task_labels or None)``."""
    task_column = estimator.task_column
    if task_column is None:
        return X, None
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # a DataFrame
        columns = list(X.columns)
        if task_column in columns:
            name = task_column
        elif isinstance(task_column, numbers.Integral) and 0 <= task_column < len(columns):
            name = columns[task_column]
        else:
            raise ValueError(
                f"task_column={task_column!r} is not a column of X; its columns are {columns}."
            )
        labels = X[name].to_numpy()
        return X.drop(columns=[name]), labels
    if not isinstance(task_column, numbers.Integral) or isinstance(task_column, bool):
        raise TypeError(
            f"task_column={task_column!r} names a column, but X is not a DataFrame; give the "
            "column's integer position instead."
        )
    if sp.issparse(X):
        X = sp.csc_matrix(X) if X.format not in ("csr", "csc") else X
        n_cols = X.shape[1]
        if not -n_cols <= task_column < n_cols:
            raise ValueError(
                f"task_column={task_column} is out of range for X with {n_cols} columns."
            )
        j = task_column % n_cols
        labels = np.asarray(X[:, [j]].toarray()).ravel()
        keep = np.delete(np.arange(n_cols), j)
        return X[:, keep], labels
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D with a task column; got an array of shape {arr.shape}.")
    n_cols = arr.shape[1]
    if not -n_cols <= task_column < n_cols:
        raise ValueError(f"task_column={task_column} is out of range for X with {n_cols} columns.")
    j = task_column % n_cols
    labels = arr[:, j]
    return np.delete(arr, j, axis=1), labels


def check_X(estimator, X, *, reset):
    """validate_data, then a finiteness check that names the offending column."""
    feature_names = list(X.columns) if hasattr(X, "columns") else None
    try:
        X = validate_data(
            estimator,
            X,
            reset=reset,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            ensure_all_finite=False,
        )
    except ValueError as exc:
        if "could not convert" not in str(exc):
            raise
        raise ValueError(_non_numeric_message(X, feature_names)) from None
    data = X.data if sp.issparse(X) else X
    # two reductions without temporaries: NaN propagates through min and max, so both are
    # finite and within the bound exactly when every entry is
    lo, hi = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    if np.isfinite(lo) and np.isfinite(hi) and max(-lo, hi) <= _TOO_LARGE:
        return X
    if not np.isfinite(data).all():
        if sp.issparse(X):
            bad = np.unique(sp.coo_matrix(X).col[~np.isfinite(sp.coo_matrix(X).data)])
        else:
            bad = np.flatnonzero(~np.isfinite(X).all(axis=0))
        j = int(bad[0])
        raise ValueError(
            f"Input X contains NaN or infinity in {_column_name(feature_names, j)}"
            + (f" and {len(bad) - 1} other column(s)" if len(bad) > 1 else "")
            + "; impute or drop them before fitting."
        )
    if data.size and float(np.max(np.abs(data))) > _TOO_LARGE:
        if sp.issparse(X):
            coo = sp.coo_matrix(X)
            j = int(coo.col[np.argmax(np.abs(coo.data))])
        else:
            j = int(np.argmax(np.max(np.abs(X), axis=0)))
        raise ValueError(
            "Input X has values too large for float64 arithmetic in "
            f"{_column_name(feature_names, j)} (max |x| above {_TOO_LARGE:g}); "
            "rescale the features."
        )
    return X


def _non_numeric_message(X, feature_names):
    arr = np.asarray(X, dtype=object)
    arr = arr.reshape(len(arr), -1) if arr.ndim != 2 else arr
    for j in range(arr.shape[1]):
        for v in arr[:, j]:
            if not _is_number(v):
                return (
                    f"Input X holds a non-numeric value {v!r} in {_column_name(feature_names, j)}; "
                    "encode categorical columns first (e.g. with OneHotEncoder)."
                )
    return "Input X holds non-numeric values; encode categorical columns first."


# Squares and products of larger values overflow float64 (max ~1.8e308).
_TOO_LARGE = 1e100


def encode_tasks(labels, known=None, column=None, *, allow_unknown=False):
    """Task labels -> (unique labels, index per row). With ``known``, unseen labels raise, or get
    index -1 with ``allow_unknown``."""
    labels = np.asarray(labels)
    where = f" in task column {column!r}" if column is not None else ""
    miss = is_missing(labels)
    if miss.any():
        raise ValueError(f"The task column{where} has {int(miss.sum())} missing value(s).")
    if known is None:
        try:
            uniq, index = np.unique(labels, return_inverse=True)
        except TypeError as exc:
            raise TypeError(
                f"Task labels{where} must be sortable (all numbers or all strings): {exc}"
            ) from exc
        return uniq, index.ravel()
    lookup = {k: i for i, k in enumerate(known.tolist())}
    try:
        index = np.fromiter((lookup.get(v, -1) for v in labels.tolist()), dtype=np.intp)
    except TypeError as exc:
        raise TypeError(f"Task labels{where} must be hashable: {exc}") from None
    if (index < 0).any() and not allow_unknown:
        unseen = sorted({_label(v) for v, i in zip(labels.tolist(), index) if i < 0}, key=str)
        raise ValueError(
            f"Task label(s) {unseen[:10]}{where} were not seen in fit; known tasks: "
            f"{[_label(k) for k in known.tolist()[:10]]}{'...' if len(known) > 10 else ''}. "
            "The model has no coefficients for a new task. In cross-validation, split with "
            "skmtl.model_selection.TaskStratifiedKFold(task_column=...) so that every task is in "
            "every training fold (a plain KFold leaves small tasks out); to predict new tasks "
            "with the population model, set unknown_task='mean'."
        )
    return known, index


# --- targets -----------------------------------------------------------------------------------


def task_names_of(y):
    if hasattr(y, "columns"):
        return np.asarray(list(y.columns), dtype=object)
    if hasattr(y, "name") and getattr(y, "name", None) is not None and np.ndim(y) == 1:
        return np.asarray([y.name], dtype=object)
    return None


def as_target_array(y, n_samples):
    """y (1-D or 2-D, array-like, DataFrame) -> ndarray, ``single`` flag (1-D y)."""
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None.")
    if sp.issparse(y):
        raise TypeError("A sparse y is not supported; pass a dense array or DataFrame.")
    if hasattr(y, "to_numpy"):
        try:
            arr = y.to_numpy(dtype=object if _has_pandas_na(y) else None)
        except TypeError:
            arr = y.to_numpy(dtype=object)
    else:
        arr = np.asarray(y)
    if arr.dtype.kind == "c":
        raise ValueError("Complex data not supported in y.")
    if arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(f"y must be 1-D or 2-D; got shape {arr.shape}.")
    if arr.shape[0] != n_samples:
        raise ValueError(
            "X and y have inconsistent numbers of samples: "
            f"{n_samples} rows in X, {arr.shape[0]} in y."
        )
    single = arr.ndim == 1
    if single:
        arr = arr[:, None]
    if arr.shape[1] == 0:
        raise ValueError("y has no task (0 columns).")
    return arr, single


def _has_pandas_na(y):
    try:
        dtypes = list(y.dtypes) if hasattr(y, "dtypes") and hasattr(y, "columns") else [y.dtype]
    except AttributeError:
        return False
    return any(
        getattr(dt, "na_value", None) is not None and dt.kind not in "fO" for dt in dtypes
    ) or any(
        type(dt).__name__
        in ("Int64Dtype", "Float64Dtype", "BooleanDtype", "StringDtype", "CategoricalDtype")
        for dt in dtypes
    )


def task_label(names, t):
    """'task 3' or "task 'reading'": how messages name a task."""
    if names is None:
        return f"task {t}"
    name = _plain(names[t])
    if isinstance(name, float) and name.is_integer():
        name = int(name)
    return f"task {name!r}"


def regression_targets(arr, names):
    """2-D target array -> float array with NaN for missing, checked per task."""
    if arr.dtype.kind in "fiub":
        Y = arr.astype(np.float64)
    else:
        Y = np.empty(arr.shape, dtype=np.float64)
        miss = is_missing(arr)
        for t in range(arr.shape[1]):
            col = arr[:, t]
            try:
                Y[:, t] = np.where(miss[:, t], np.nan, col).astype(np.float64)
            except (TypeError, ValueError):
                bad = next(v for v, m in zip(col, miss[:, t]) if not m and not _is_number(v))
                raise ValueError(
                    f"Regression target of {task_label(names, t)} holds a non-numeric value "
                    f"{bad!r}; a regressor needs numbers (use a classifier for labels)."
                ) from None
    inf = np.isinf(Y)
    if inf.any():
        t = int(np.flatnonzero(inf.any(axis=0))[0])
        raise ValueError(
            f"Input y contains infinity in {task_label(names, t)}; only NaN marks a missing label."
        )
    big = np.nanmax(np.abs(Y), axis=0, initial=0.0) > _TOO_LARGE
    if big.any():
        raise ValueError(
            f"Regression target of {task_label(names, int(np.flatnonzero(big)[0]))} has values "
            f"too large for float64 arithmetic (above {_TOO_LARGE:g}); rescale it."
        )
    observed = ~np.isnan(Y)
    empty = np.flatnonzero(~observed.any(axis=0))
    if empty.size:
        raise ValueError(
            f"{task_label(names, int(empty[0])).capitalize()} has no labelled sample "
            "(all its targets are NaN or missing)."
        )
    return Y, observed


def _label(v):
    """A task label for messages: a Python scalar, integral floats as ints."""
    v = _plain(v)
    return int(v) if isinstance(v, float) and v.is_integer() else v


def plain_list(values):
    """Task labels -> a list of Python scalars."""
    return [_plain(v) for v in np.asarray(values).tolist()]


def _plain(v):
    """numpy scalar -> Python scalar, for readable messages."""
    return v.item() if isinstance(v, np.generic) else v


def _is_number(v):
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def classification_targets(columns, names):
    """List of 1-D label arrays (one per task) -> (classes per task, codes, observed masks).

    ``codes[t]`` holds class indices (-1 where missing)."""
    classes, codes, observed = [], [], []
    for t, col in enumerate(columns):
        col = np.asarray(col)
        miss = is_missing(col)
        obs = ~miss
        if not obs.any():
            raise ValueError(
                f"{task_label(names, t).capitalize()} has no labelled sample "
                "(all its labels are missing)."
            )
        values = col[obs]
        if values.dtype.kind == "f" and np.isinf(values).any():
            raise ValueError(f"Input y contains infinity in {task_label(names, t)}.")
        if values.dtype == object:
            kinds = {type(v) for v in values.tolist()}
            if len(kinds) > 1 and not all(issubclass(k, numbers.Number) for k in kinds):
                raise TypeError(
                    f"Labels of {task_label(names, t)} mix types "
                    f"{sorted(k.__name__ for k in kinds)}; "
                    "use one type per task."
                )
        cls, code = np.unique(values, return_inverse=True)
        if cls.size < 2:
            raise ValueError(
                f"{task_label(names, t).capitalize()} has only one class "
                f"({_plain(cls[0])!r}); a classifier "
                "needs at least two classes per task."
            )
        full = np.full(col.shape[0], -1, dtype=np.intp)
        full[obs] = code.ravel()
        classes.append(cls)
        codes.append(full)
        observed.append(obs)
    return classes, codes, observed


def check_classification_targets_type(arr):
    """Refuse continuous targets in a classifier (as scikit-learn does)."""
    from sklearn.utils.multiclass import type_of_target

    obs_values = arr[~is_missing(arr)] if arr.dtype.kind in "fO" else arr.ravel()
    if (
        obs_values.dtype.kind == "f"
        and obs_values.size
        and np.any(obs_values != np.round(obs_values))
    ):
        raise ValueError(
            f"Unknown label type: {type_of_target(obs_values)!r}. A classifier needs class labels; "
            "the target holds continuous values."
        )


# --- designs ---------------------------------------------------------------------------------


def wide_design(X, widths, observed, sample_weight=None):
    """WideDesign from per-task output widths and an observed mask (n_samples, n_tasks)."""
    return WideDesign(X, _slices(widths), observed, sample_weight=sample_weight)


def long_design(X, task_index, n_tasks, widths, sample_weight=None):
    """Sort rows by task; returns (design, order) with ``X[order]`` the sorted rows."""
    order = np.argsort(task_index, kind="stable")
    counts = np.bincount(task_index, minlength=n_tasks)
    starts = np.concatenate([[0], np.cumsum(counts)])
    Xs = X[order]
    sw = None if sample_weight is None else np.asarray(sample_weight)[order]
    return LongDesign(Xs, starts, _slices(widths), sample_weight=sw), order


# --- weights ---------------------------------------------------------------------------------


def check_sample_weight(sample_weight, n_samples):
    """``None`` or a float array of shape (n_samples,), finite and non-negative, not all zero."""
    if sample_weight is None:
        return None
    from sklearn.utils.validation import _check_sample_weight

    w = _check_sample_weight(
        sample_weight, np.empty((n_samples, 0)), dtype=np.float64, ensure_non_negative=True
    )
    if not np.any(w > 0):
        raise ValueError("sample_weight is zero for every row; at least one must be positive.")
    return w


def resolve_task_weights(task_weights, tasks, totals, *, layout):
    """The ``task_weights`` parameter -> per-task weights (ndarray of shape (n_tasks,)).

    ``None``: all ones (each task's weighted mean loss counts once); ``"n_samples"``:
    ``T n_t / sum_s n_s`` (``n_t`` the summed sample weight of task ``t``'s labelled rows, its
    count when unweighted), proportional to the task's size with mean 1; a mapping task label ->
    weight (tasks not named weigh 1); an array of one weight per task, in the order of ``tasks_``.
    """
    T = len(tasks)
    if task_weights is None:
        return np.ones(T)
    if isinstance(task_weights, str):
        if task_weights != "n_samples":  # pragma: no cover - caught by the param constraints
            raise ValueError(f"task_weights={task_weights!r}; the only string is 'n_samples'.")
        totals = np.asarray(totals, dtype=float)
        return T * totals / totals.sum()
    names = [_plain(t) for t in np.asarray(tasks).tolist()]
    if hasattr(task_weights, "keys") and hasattr(task_weights, "items"):
        lookup = {_plain(k): v for k, v in task_weights.items()}
        for name in lookup:
            if name not in names:
                where = "the task column" if layout == "long" else "y"
                raise ValueError(
                    f"task_weights names unknown task {name!r}; the tasks of {where} are "
                    f"{names[:20]}{'...' if len(names) > 20 else ''}."
                )
        values = [lookup.get(name, 1.0) for name in names]
        labels = names
    else:
        values = np.asarray(task_weights, dtype=object).ravel().tolist()
        if np.ndim(task_weights) != 1 or len(values) != T:
            raise ValueError(
                f"task_weights has shape {np.shape(task_weights)}; an array of task weights "
                f"needs one weight per task ({T})."
            )
        labels = names
    out = np.empty(T)
    for t, (name, w) in enumerate(zip(labels, values)):
        if not isinstance(w, numbers.Real) or isinstance(w, bool):
            raise TypeError(f"task_weights[{name!r}] must be a number, got {w!r}.")
        if not np.isfinite(w) or w < 0:
            raise ValueError(
                f"task_weights[{name!r}] = {w!r}: task weights must be finite and >= 0."
            )
        out[t] = float(w)
    if not np.any(out > 0):
        raise ValueError("task_weights are all zero; at least one task must have weight > 0.")
    return out


def _slices(widths):
    stops = np.cumsum(widths)
    return [slice(int(s - w), int(s)) for s, w in zip(stops, widths)]
