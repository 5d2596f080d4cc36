"""The ``skmtl`` command line: ``skmtl compare``, does multi-task learning help on my data?

Usage::

    skmtl compare                      # the bundled school data (long layout, 139 tasks)
    skmtl compare --quick              # small grids, 2 splits: seconds
    skmtl compare penguins             # bundled: 2 classification tasks and 1 regression
    skmtl compare data.csv --targets a b c                 # wide: one column per task
    skmtl compare data.csv --target y --task-column school # long: one row per (sample, task)

The protocol (repeated random train/test splits within every task, hyperparameters by inner
cross-validation, test scores per task: accuracy or R^2) is that of
:mod:`skmtl.compare._protocol`. A CSV file is read with the standard library: a header row,
comma-separated; empty cells and ``NA``, ``NaN``, ``null``, ``None``, ``?`` are missing. Every
column that is not a target or the task column is a feature (``--features`` picks some); a
non-numeric feature is one-hot encoded, a missing feature value is imputed by the training
mean. A target is a classification task when it is non-numeric or has at most 10 distinct
integer values, else regression (``--classification`` and ``--regression`` override).

Exit status: 0 on success; 2 with a one-line message on stderr for a bad file, an unknown column,
a target with one value, a task column with one task, or a bad option.

JSON output (``--json out.json``)
---------------------------------
One object::

    {
      "skmtl_version": str,
      "data": {"name": str, "layout": "wide" | "long", "n_samples": int, "n_features": int,
               "tasks": [str], "task_types": {task: "classification" | "regression"},
               "target": str | null, "task_column": str | null},
      "protocol": {"repeats": int, "test_size": 0.25, "cv": int, "random_state": int,
                   "quick": bool, "n_jobs": int, "task_metric": {task: "accuracy" | "r2"},
                   "score": str},          # how the overall score is formed
      "methods": [{
          "key": str, "name": str,
          "status": "ok" | "partial" | "skipped" | "failed",
          "reason": str | null,           # why skipped / failed (partial: the first failure)
          # only when some split succeeded:
          "n_runs": int, "score_mean": float, "score_std": float,
          "fit_time_mean": float, "fit_time_std": float,      # seconds, tuned fit per split
          "task_scores_mean": [float | null], "task_scores_std": [float | null],  # per task
          "params": {name: float | str},  # median (or most frequent) chosen hyperparameters
          "runs": [{"seed": int, "status": str, "reason": str | null, "score": float | null,
                    "task_scores": [float | null] | null, "fit_time": float | null,
                    "params": {name: value}}]
      }],
      "wall_time": float
    }

Scores are fractions (not %); ``task_scores*`` follow the order of ``data.tasks``; ``std`` is
the sample standard deviation over the splits (0 for one split); ``null`` marks a score that
could not be computed (a task without test labels).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Sequence

import numpy as np

from ._protocol import (
    CLASSIFICATION,
    METHODS,
    REGRESSION,
    CompareError,
    Problem,
    compare,
    format_table,
    plot_result,
)

__all__ = ["main", "read_csv", "problem_from_columns", "bundled_problem"]

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
BUNDLED = ("school", "penguins")
MAX_CLASSES_NUMERIC = 10


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


# ----------------------------------------------------------------------------------------------
# Data


def read_csv(path: str) -> dict:
    """Read a CSV file into ``{column: ndarray}``: float (NaN missing) or object (None missing).

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
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CompareError(f"cannot read {path!r}: {reason}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise CompareError(f"cannot read {path!r}: the file is empty")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise CompareError(f"cannot read {path!r}: column {dup!r} appears twice in the header")
    if len(rows) < 2:
        raise CompareError(f"cannot read {path!r}: no data rows after the header")
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise CompareError(
                f"cannot read {path!r}: line {i} has {len(row)} fields, the header {len(header)}"
            )
    columns = {}
    for j, name in enumerate(header):
        raw = [row[j].strip() for row in rows[1:]]
        columns[name] = _parse_column(raw)
    return columns


def _parse_column(raw: list) -> np.ndarray:
    values = [None if cell.lower() in MISSING else cell for cell in raw]
    try:
        return np.array([np.nan if v is None else float(v) for v in values])
    except ValueError:
        return np.array(values, dtype=object)


def _is_classification(col: np.ndarray) -> bool:
    if col.dtype == object:
        return True
    values = col[~np.isnan(col)]
    return bool(
        len(values)
        and np.all(values == np.round(values))
        and len(np.unique(values)) <= MAX_CLASSES_NUMERIC
    )


def _features(columns: dict, names: Sequence[str]) -> tuple[np.ndarray, list]:
    """Numeric features as they are; a non-numeric one one-hot encoded (missing: all zeros)."""
    blocks, feature_names = [], []
    for name in names:
        col = columns[name]
        if col.dtype != object:
            if np.isnan(col).all():
                continue
            blocks.append(col[:, None])
            feature_names.append(name)
            continue
        levels = sorted({v for v in col if v is not None})
        blocks.append(np.column_stack([(col == level).astype(float) for level in levels]))
        feature_names += [f"{name}={level}" for level in levels]
    X = np.hstack(blocks) if blocks else np.empty((len(next(iter(columns.values()))), 0))
    return X, feature_names


def problem_from_columns(
    columns: dict,
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
    columns : dict
        Column name -> 1-D array (as :func:`read_csv` returns).
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
    for col in [*used, *(features or []), *classification, *regression]:
        if col not in columns:
            raise CompareError(f"unknown column {col!r}; the file has {_list(columns)}")
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
    chosen = list(features) if features else [c for c in columns if c not in used]
    clash = [c for c in chosen if c in used]
    if clash:
        raise CompareError(f"column {clash[0]!r} is a target or the task column, not a feature")
    X, feature_names = _features(columns, chosen)

    def kind(col_name):
        if col_name in classification:
            return CLASSIFICATION
        if col_name in regression:
            return REGRESSION
        return CLASSIFICATION if _is_classification(columns[col_name]) else REGRESSION

    if targets:
        y = np.empty((len(X), len(targets)), dtype=object)
        for j, t in enumerate(targets):
            y[:, j] = columns[t]
        return Problem(
            X, y, "wide", list(targets), [kind(t) for t in targets], feature_names, name=name
        )
    task_col = columns[task_column]
    y = columns[target]
    keep = ~_missing_any(task_col) & ~_missing_any(y)
    if not keep.any():
        raise CompareError(f"no row has both {target!r} and {task_column!r}")
    labels = np.array([_label(v) for v in task_col[keep]], dtype=object)
    tasks = sorted(set(labels), key=_natural)
    code = {t: i for i, t in enumerate(tasks)}
    codes = np.array([code[v] for v in labels], dtype=float)
    X = np.column_stack([X[keep], codes])
    k = kind(target)
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
    )


def _missing_any(col) -> np.ndarray:
    if col.dtype != object:
        return np.isnan(col)
    return np.array([v is None for v in col], dtype=bool)


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


# ----------------------------------------------------------------------------------------------
# The command


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="skmtl",
        description="skmtl: multi-task learning as scikit-learn "
        "estimators. Run 'skmtl compare --help' for the main command.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"skmtl {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    p = sub.add_parser(
        "compare",
        help="compare single-task, pooled and multi-task models on a data set",
        description="Does multi-task learning help on this data, and which kind? Repeated "
        "random 75/25 train/test splits within every task, hyperparameters by inner "
        "cross-validation on the training part, test score per task (accuracy for "
        "classification, R^2 for regression); mean +- std over the splits, and fit times.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="methods:\n"
        + "\n".join(f"  {m.key:<18} {m.description}" for m in METHODS.values())
        + "\n\nexamples:\n  skmtl compare --quick\n  skmtl compare penguins --json out.json\n"
        "  skmtl compare data.csv --targets a b c --plot scores.png\n"
        "  skmtl compare data.csv --target score --task-column school --repeats 10",
    )
    p.add_argument(
        "data",
        nargs="?",
        default="school",
        help=f"a CSV file, or a bundled data set: {', '.join(BUNDLED)} (default: school)",
    )
    g = p.add_argument_group("columns of a CSV file")
    g.add_argument(
        "--targets",
        nargs="+",
        metavar="COL",
        help="wide layout: one target column per task (two or more)",
    )
    g.add_argument("--target", metavar="COL", help="long layout: the target column")
    g.add_argument(
        "--task-column", metavar="COL", help="long layout: the column naming each row's task"
    )
    g.add_argument(
        "--features", nargs="+", metavar="COL", help="feature columns (default: all the others)"
    )
    g.add_argument(
        "--classification",
        nargs="+",
        default=[],
        metavar="COL",
        help="targets to treat as classification",
    )
    g.add_argument(
        "--regression", nargs="+", default=[], metavar="COL", help="targets to treat as regression"
    )
    r = p.add_argument_group("protocol")
    r.add_argument(
        "--methods",
        nargs="+",
        metavar="NAME",
        help=f"methods to run (default: all): {', '.join(METHODS)}; space- or comma-separated",
    )
    r.add_argument(
        "--repeats",
        type=_positive,
        default=None,
        help="random train/test splits (default 5; 2 with --quick)",
    )
    r.add_argument("--cv", type=_positive, default=3, help="inner CV folds (default 3)")
    r.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed of the first split; split r uses seed + r (default 0)",
    )
    r.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="parallel jobs over (split, method) pairs (default -1: all cores)",
    )
    r.add_argument(
        "--quick",
        action="store_true",
        help="small grids, shorter network training, 2 splits: seconds",
    )
    o = p.add_argument_group("output")
    o.add_argument(
        "--json",
        metavar="PATH",
        help="write the results as JSON (the schema is on the 'skmtl compare' page of the docs)",
    )
    o.add_argument(
        "--plot",
        metavar="PATH",
        help="write a bar chart (per task and method, or per method) with error "
        "bars; needs matplotlib",
    )
    o.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _check_output(path: str | None, option: str) -> None:
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CompareError(f"{option} {path!r}: the folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise CompareError(f"{option} {path!r}: the folder {folder!r} is not writable")


def _methods(values: Sequence[str] | None) -> list | None:
    if not values:
        return None
    keys = [k.strip().replace("-", "_") for v in values for k in v.split(",") if k.strip()]
    for key in keys:
        if key not in METHODS:
            raise CompareError(f"unknown method {key!r}; choose from {', '.join(METHODS)}")
    return list(dict.fromkeys(keys))


def _problem(args) -> Problem:
    is_file = os.path.exists(args.data)
    if not is_file and args.data in BUNDLED:
        given = [o for o in ("targets", "target", "task_column", "features") if getattr(args, o)]
        if given:
            raise CompareError(
                f"--{given[0].replace('_', '-')} applies to a CSV file, not to the bundled "
                f"{args.data!r} data"
            )
        return bundled_problem(args.data)
    if not is_file:
        raise CompareError(
            f"cannot read {args.data!r}: no such file (bundled data sets: {', '.join(BUNDLED)})"
        )
    columns = read_csv(args.data)
    return problem_from_columns(
        columns,
        targets=args.targets,
        target=args.target,
        task_column=args.task_column,
        features=args.features,
        classification=args.classification,
        regression=args.regression,
        name=os.path.basename(args.data),
    )


def _compare(args) -> int:
    methods = _methods(args.methods)
    _check_output(args.json, "--json")
    _check_output(args.plot, "--plot")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CompareError("--plot needs matplotlib: pip install matplotlib") from None
    problem = _problem(args)
    repeats = args.repeats or (2 if args.quick else 5)
    result = compare(
        problem,
        methods=methods,
        repeats=repeats,
        cv=args.cv,
        random_state=args.random_state,
        quick=args.quick,
        n_jobs=args.n_jobs,
        progress=not args.quiet,
    )
    print(format_table(result))
    if args.json:
        import json

        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result.to_dict(), fh, indent=2, default=_json_default)
        print(f"wrote {args.json}")
    if args.plot:
        plot_result(result, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``skmtl`` command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 2 for a usage or data error (a one-line message on stderr).

    Examples
    --------
    >>> main(["compare", "missing.csv", "--targets", "a", "b"])
    2
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error (message already printed)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return _compare(args)
    except CompareError as exc:
        print(f"skmtl compare: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("skmtl compare: interrupted", file=sys.stderr)
        return 130
