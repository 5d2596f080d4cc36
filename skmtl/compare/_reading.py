"""Reading the data of ``skmtl compare``: a CSV file (pandas) or a bundled data set -> a Problem.

A CSV file has a header row and comma-separated fields; cells are stripped, and ``NA``, ``N/A``,
``NaN``, ``null``, ``None``, ``?`` (any case) and empty cells are missing. A column whose
non-missing cells are all numbers is numeric (float); any other column holds strings (``None``
where missing) and, as a feature, is categorical. :func:`read_frame` returns the file as a
:class:`pandas.DataFrame` with these conventions (the same reading for new rows to predict),
:func:`read_csv` as ``{column: ndarray}``.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from ._methods import CLASSIFICATION, REGRESSION, CompareError
from ._protocol import Problem

__all__ = ["bundled_problem", "problem_from_columns", "read_csv", "read_frame"]

MISSING = ("", "na", "n/a", "nan", "null", "none", "?")
BUNDLED = ("school", "penguins")
MAX_CLASSES_NUMERIC = 10
_CHUNK = 1 << 22  # bytes compared at a time when counting commas


def _case_variants(word: str) -> list[str]:
    cases = ({ch.lower(), ch.upper()} for ch in word)
    return sorted({"".join(c) for c in itertools.product(*cases)})


# pandas compares cells with this list exactly; a marker with spaces around it leaves its column
# as text, which _tidy_column strips, marks and converts
NA_VALUES = sorted({v for word in MISSING for v in _case_variants(word)})


def _fail(path, reason) -> CompareError:
    return CompareError(f"cannot read {path!r}: {reason}")


def _raw_header(path: str) -> list[str]:
    """The first non-blank line parsed as CSV, names stripped (pandas would rename duplicates)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            for line in fh:
                if line.strip():
                    return [h.strip() for h in next(csv.reader([line]))]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise _fail(path, reason) from None
    raise _fail(path, "the file is empty")


def _commas_and_quotes(path: str) -> tuple[int, bool]:
    """(number of commas, whether a double quote occurs) in the file.

    Read in blocks into one buffer (a memory map would add the whole file to the resident
    size); commas counted by numpy, quotes looked for with ``bytearray.find`` (memchr).
    """
    commas, quoted = 0, False
    buffer = bytearray(_CHUNK)
    view = np.frombuffer(buffer, dtype=np.uint8)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            if not quoted and buffer.find(b'"', 0, n) >= 0:
                quoted = True
            commas += int(np.count_nonzero(view[:n] == ord(",")))
    return commas, quoted


def _first_short_row(path: str, n_fields: int):
    """(row number as counted in messages, n fields) of the first row with fewer fields."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = (r for r in csv.reader(fh) if any(cell.strip() for cell in r))
        for i, row in enumerate(rows, start=1):
            if len(row) != n_fields:
                return i, len(row)
    return None


def read_frame(path: str):
    """Read a CSV file with the conventions of ``skmtl compare`` into a pandas DataFrame.

    Numeric columns are float64 (NaN where missing); other columns hold stripped strings
    (``None`` where missing). Rows whose cells are all missing are dropped. Use it to read the
    rows to predict with a model saved by ``skmtl compare --save``.

    Parameters
    ----------
    path : str
        A comma-separated file with a header row.

    Returns
    -------
    frame : pandas.DataFrame

    Raises
    ------
    CompareError
        A one-line reason: no such file, not UTF-8, empty, a name twice in the header, a row
        with another number of fields than the header, no data rows.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("x,kind\\n1.5, a\\nNA,b \\n")
    >>> read_frame(path).to_dict("list")
    {'x': [1.5, nan], 'kind': ['a', 'b']}
    """
    import pandas as pd

    header = _raw_header(path)
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise _fail(path, f"column {dup!r} appears twice in the header")
    options = dict(
        header=0,
        names=header,
        index_col=False,
        encoding="utf-8-sig",
        keep_default_na=False,
        na_values=NA_VALUES,
    )
    frame = _parse(pd, path, header, options)
    if frame.empty:
        raise _fail(path, "no data rows after the header")
    # pandas fills a row with too few fields with NaN, so its last column is missing. Without
    # quotes, the file then holds fewer commas than (rows + header) x (fields - 1); with quotes
    # (a quoted comma is no separator) only the slow scan can tell, and it names the row
    last = frame[header[-1]]
    if len(header) > 1 and last.isna().any():
        commas, quoted = _commas_and_quotes(path)
        if quoted or commas != (len(frame) + 1) * (len(header) - 1):
            short = _first_short_row(path, len(header))
            if short is not None:
                row, n = short
                raise _fail(path, f"line {row} has {n} fields, the header {len(header)}")
    all_missing = _all_missing_rows(frame)
    if all_missing.any():
        frame = frame.loc[~all_missing].reset_index(drop=True)
    return frame


def _all_missing_rows(frame) -> np.ndarray:
    """Rows whose every cell is missing: narrowed column by column (no frame-sized mask)."""
    rows = np.flatnonzero(frame.iloc[:, 0].isna().to_numpy())
    for j in range(1, frame.shape[1]):
        if not rows.size:
            break
        rows = rows[frame.iloc[rows, j].isna().to_numpy()]
    out = np.zeros(len(frame), dtype=bool)
    out[rows] = True
    return out


def _parse(pd, path, header, options):
    import warnings

    try:
        with warnings.catch_warnings():
            # pandas parses a long file in pieces and says when a column's pieces got different
            # types; such a column is read again as text below
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            frame = pd.read_csv(path, **options)
        for name in header:
            col = _tidy_column(frame[name])
            if col is None:  # numbers in some pieces only: text
                whole = pd.read_csv(path, usecols=[name], dtype=str, **options)[name]
                col = _tidy_column(whole)
            frame[name] = col
    except pd.errors.EmptyDataError:
        raise _fail(path, "the file is empty") from None
    except pd.errors.ParserError as exc:
        import re

        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            want, line, saw = found.groups()
            raise _fail(path, f"line {line} has {saw} fields, the header {want}") from None
        raise _fail(path, str(exc).strip().splitlines()[-1].strip()) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise _fail(path, reason.strip().splitlines()[0]) from None
    return frame


def _tidy_column(col):
    """float64, or an object column of stripped strings with None where missing.

    None for a column that pandas parsed in pieces of different types (numbers and text).
    """
    import pandas as pd

    if col.dtype.kind in "iuf":
        return col.astype(np.float64)
    # the distinct cells are cleaned once each (a categorical column has few)
    codes, uniques = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=True)
    if not all(isinstance(u, str) for u in uniques):
        return None
    cleaned = [u.strip() for u in uniques]
    cleaned = [None if u.lower() in MISSING else u for u in cleaned] + [None]  # code -1: NaN
    try:
        numbers = np.array([np.nan if u is None else float(u) for u in cleaned])
    except ValueError:
        return pd.Series(np.array(cleaned, dtype=object)[codes], dtype=object, index=col.index)
    return pd.Series(numbers[codes], dtype=np.float64, index=col.index)


def read_csv(path: str) -> dict:
    """Read a CSV file into ``{column: ndarray}``: float (NaN missing) or object (None missing).

    The reading of :func:`read_frame`, as plain arrays.

    Parameters
    ----------
    path : str
        A comma-separated file with a header row.

    Returns
    -------
    columns : dict
        Column name -> 1-D array, in file order.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("x,kind\\n1.5,a\\nNA,b\\n")
    >>> cols = read_csv(path)
    >>> cols["x"], cols["kind"]
    (array([1.5, nan]), array(['a', 'b'], dtype=object))
    """
    frame = read_frame(path)
    return {name: frame[name].to_numpy() for name in frame.columns}


def _column(columns, name) -> np.ndarray:
    col = columns[name]
    return col.to_numpy() if hasattr(col, "to_numpy") else np.asarray(col)


def _is_numeric(col: np.ndarray) -> bool:
    return col.dtype.kind in "iuf"


def _is_classification(col: np.ndarray) -> bool:
    if not _is_numeric(col):
        return True
    values = col[~np.isnan(col)]
    return bool(
        len(values)
        and np.all(values == np.round(values))
        and len(np.unique(values)) <= MAX_CLASSES_NUMERIC
    )


def problem_from_columns(
    columns: Mapping,
    *,
    targets: Sequence[str] | None = None,
    target: str | None = None,
    task_column: str | None = None,
    features: Sequence[str] | None = None,
    classification: Sequence[str] = (),
    regression: Sequence[str] = (),
    name: str = "data",
) -> Problem:
    """Build a :class:`~skmtl.compare.Problem` from named columns (wide or long layout).

    Parameters
    ----------
    columns : dict or pandas.DataFrame
        Column name -> 1-D array (as :func:`read_csv` or :func:`read_frame` return). A numeric
        column is a numeric feature, any other a categorical one (one-hot encoded by the
        methods' pipelines).
    targets : list of str, optional
        Wide layout: one target column per task.
    target, task_column : str, optional
        Long layout: the target column and the column naming each row's task.
    features : list of str, optional
        Feature columns; default: every other column.
    classification, regression : list of str
        Targets whose type is forced.
    name : str
        The data set's name in the report.

    Returns
    -------
    Problem

    Examples
    --------
    >>> import numpy as np
    >>> cols = {"x": np.arange(8.0), "g": np.array(list("aabbaabb"), dtype=object),
    ...         "y": np.arange(8.0) ** 1.5}
    >>> p = problem_from_columns(cols, target="y", task_column="g")
    >>> p.layout, p.tasks, p.task_types, p.feature_names
    ('long', ['a', 'b'], ['regression', 'regression'], ['x'])
    """
    import pandas as pd

    if targets and (target or task_column):
        raise CompareError("give either --targets (wide layout) or --target and --task-column")
    if not targets and not target:
        raise CompareError(
            "name the targets: --targets A B ... (one column per task) or --target Y "
            "--task-column T (one row per sample and task)"
        )
    if target and not task_column:
        raise CompareError(
            "--target needs --task-column (the column naming each row's task); for one column "
            "per task use --targets"
        )
    if task_column and not target:
        raise CompareError("--task-column needs --target (the column to predict)")
    used = list(targets or [target, task_column])
    names = list(columns.keys())
    for col in [*used, *(features or []), *classification, *regression]:
        if col not in names:
            raise CompareError(f"unknown column {col!r}; the file has {_list(names)}")
    if targets and len(targets) < 2:
        raise CompareError(
            f"one target ({targets[0]!r}) is a single task; give two or more --targets, or "
            "--target with --task-column"
        )
    if len(set(used)) != len(used):
        raise CompareError("a column is named twice among the targets and the task column")
    both = set(classification) & set(regression)
    if both:
        raise CompareError(
            f"column {sorted(both)[0]!r} is in both --classification and --regression"
        )
    chosen = list(features) if features else [c for c in names if c not in used]
    clash = [c for c in chosen if c in used]
    if clash:
        raise CompareError(f"column {clash[0]!r} is a target or the task column, not a feature")
    data, categorical = {}, []
    for col_name in chosen:
        col = _column(columns, col_name)
        if _is_numeric(col):
            col = col.astype(np.float64, copy=False)
            if np.isnan(col).all():
                continue  # nothing to learn from, nothing to impute from
        else:
            col = _strings(col)
            if all(v is None for v in col):
                continue
            categorical.append(col_name)
        data[col_name] = col
    feature_names = list(data)

    def kind(col_name):
        if col_name in classification:
            return CLASSIFICATION
        if col_name in regression:
            y = _column(columns, col_name)
            if not _is_numeric(y):
                bad = next(v for v in y if v is not None)
                raise CompareError(
                    f"target {col_name!r} holds the non-numeric value {bad!r}; it cannot be a "
                    "regression target (drop --regression for it)"
                )
            return REGRESSION
        return CLASSIFICATION if _is_classification(_column(columns, col_name)) else REGRESSION

    if targets:
        types = [kind(t) for t in targets]
        y = np.empty((len(_column(columns, targets[0])), len(targets)), dtype=object)
        for j, t in enumerate(targets):
            y[:, j] = _column(columns, t)
        X = pd.DataFrame(data, copy=False)
        return Problem(
            X, y, "wide", list(targets), types, feature_names, name=name, categorical=categorical
        )
    task_col = _column(columns, task_column)
    y = _column(columns, target)
    k = kind(target)
    keep = ~_missing_any(task_col) & ~_missing_any(y)
    if not keep.any():
        raise CompareError(f"no row has both {target!r} and {task_column!r}")
    raw = task_col[keep] if _is_numeric(task_col) else _strings(task_col[keep])
    labels = np.array([_label(v) for v in raw], dtype=object)
    tasks = sorted(set(labels), key=_natural)
    code = {t: i for i, t in enumerate(tasks)}
    codes = np.array([code[v] for v in labels], dtype=np.int64)
    X = pd.DataFrame({c: v[keep] for c, v in data.items()})
    X[task_column] = raw  # the raw labels: what a saved model is given to predict
    return Problem(
        X,
        y[keep],
        "long",
        tasks,
        [k] * len(tasks),
        feature_names,
        name=name,
        target=target,
        task_column=task_column,
        categorical=categorical,
        codes=codes,
    )


def _strings(col) -> np.ndarray:
    out = np.asarray(col, dtype=object).copy()
    for i, v in enumerate(out):
        if v is None or (isinstance(v, float) and v != v):
            out[i] = None
        elif not isinstance(v, str):
            out[i] = str(v)
    return out


def _missing_any(col) -> np.ndarray:
    if _is_numeric(col):
        return np.isnan(col)
    return np.array([v is None or (isinstance(v, float) and v != v) for v in col], dtype=bool)


def _label(v) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def _natural(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _list(names) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:12])
    return shown + (f" and {len(names) - 12} more" if len(names) > 12 else "")


def bundled_problem(name: str) -> Problem:
    """The bundled data sets as problems: ``"school"`` (long) or ``"penguins"`` (wide, mixed).

    Examples
    --------
    >>> bundled_problem("penguins").describe()
    'penguins: 342 samples, 6 features, 3 tasks (2 classification, 1 regression; wide layout)'
    """
    from .. import datasets

    if name == "school":
        X, y = datasets.load_school(return_X_y=True)
        from ..datasets._school import SCHOOL_FEATURE_NAMES

        tasks = [str(t) for t in range(int(X[:, -1].max()) + 1)]
        return Problem(
            X,
            y,
            "long",
            tasks,
            [REGRESSION] * len(tasks),
            list(SCHOOL_FEATURE_NAMES),
            name="school",
            target="exam_score",
            task_column="school",
        )
    if name == "penguins":
        data = datasets.load_penguins()
        tasks = list(data.task_names)
        y = np.empty((len(data.data), len(tasks)), dtype=object)
        for j, t in enumerate(tasks):
            y[:, j] = data.target[t]
        types = [
            REGRESSION if np.asarray(data.target[t]).dtype.kind == "f" else CLASSIFICATION
            for t in tasks
        ]
        return Problem(
            data.data, y, "wide", tasks, types, list(data.feature_names), name="penguins"
        )
    raise CompareError(f"unknown bundled data set {name!r}; choose from {', '.join(BUNDLED)}")
