"""The ``skmtl`` command line: ``skmtl compare``, does multi-task learning help on my data?

Usage::

    skmtl compare                      # the bundled school data (long layout, 139 tasks)
    skmtl compare --quick              # small grids, 2 splits: seconds
    skmtl compare penguins             # bundled: 2 classification tasks and 1 regression
    skmtl compare data.csv --targets a b c                 # wide: one column per task
    skmtl compare data.csv --target y --task-column school # long: one row per (sample, task)
    skmtl compare data.csv --targets a b --save model.skops  # and keep the best model

The protocol (repeated random train/test splits within every task, hyperparameters by inner
cross-validation, test scores per task: accuracy or R^2) is that of
:mod:`skmtl.compare._protocol`. A CSV file is read with pandas (:func:`skmtl.compare.read_frame`):
a header row, comma-separated, cells stripped; empty cells and ``NA``, ``N/A``, ``NaN``,
``null``, ``None``, ``?`` (any case) are missing. Every column that is not a target or the task
column is a feature (``--features`` picks some); a non-numeric feature is categorical, one-hot
encoded, a missing numeric value is imputed by the training mean (one scikit-learn
``ColumnTransformer`` in every method's pipeline). A target is a classification task when it is
non-numeric or has at most 10 distinct integer values, else regression (``--classification``
and ``--regression`` override).

``--save PATH`` refits the best method (or ``--save-method NAME``) on all rows and saves the
fitted pipeline with :func:`skmtl.io.save`; the command prints the two lines that load it and
predict new rows.

Exit status: 0 on success; 2 with a one-line message on stderr for a bad file, an unknown column,
a target with one value, a task column with one task, or a bad option.

JSON output (``--json out.json``)
---------------------------------
One object::

    {
      "skmtl_version": str,
      "data": {"name": str, "layout": "wide" | "long", "n_samples": int,
               "n_features": int,          # feature columns (a categorical one counts once)
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
                    "params": {name: value},
                    "details": {name: value}}]    # only for a method that reports what it
                                                   # learned (e.g. task clusters)
      }],
      "wall_time": float
    }

Scores are fractions (not %); ``task_scores*`` follow the order of ``data.tasks``; ``std`` is
the sample standard deviation over the splits (0 for one split); ``null`` marks a score that
could not be computed (a task without test labels).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import numpy as np

from ._methods import METHODS, CompareError
from ._protocol import Problem, compare, fit_final
from ._reading import BUNDLED, bundled_problem, problem_from_columns, read_frame
from ._report import _fmt, format_table, plot_result

__all__ = ["main"]

class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


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
    o.add_argument(
        "--save",
        metavar="PATH",
        help="refit the best method (or --save-method) on all rows and save the fitted "
        "pipeline, preprocessing included, with skmtl.io.save (skops format; needs skops)",
    )
    o.add_argument(
        "--save-method",
        metavar="NAME",
        help="the method --save refits (default: the best score of the comparison)",
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
    return problem_from_columns(
        read_frame(args.data),
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
    _check_output(args.save, "--save")
    save_method = _save_method(args)
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
    if args.save:
        _save(args, problem, result, save_method)
    return 0


def _save_method(args) -> str | None:
    if args.save_method and not args.save:
        raise CompareError("--save-method needs --save PATH (where to write the model)")
    if not args.save:
        return None
    try:
        import skops.io  # noqa: F401
    except ImportError:
        raise CompareError(
            "--save needs skops: pip install 'skmtl[persist]' (or pip install skops)"
        ) from None
    if args.save_method:
        (key,) = _methods([args.save_method])
        return key
    return None


def _save(args, problem: Problem, result, key: str | None) -> None:
    from .. import io

    if key is None:
        scored = [
            (result.summary(k)["score_mean"], k)
            for k in result.methods
            if result.summary(k)["status"] in ("ok", "partial")
        ]
        if not scored:
            raise CompareError("--save: no method succeeded, there is no model to save")
        key = max(scored, key=lambda s: s[0])[1]
    model, params = fit_final(
        problem, key, quick=args.quick, cv=args.cv, random_state=args.random_state
    )
    io.save(model, args.save)
    chosen = ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())
    print(
        f"saved {METHODS[key].name!r} refit on all {len(problem.X)} rows"
        + (f" ({chosen})" if chosen else "")
        + f" to {args.save}; to predict new rows (the same feature columns, no target):"
    )
    path = args.save.replace("\\", "/")
    print(f'    import skmtl.compare, skmtl.io; model = skmtl.io.load("{path}")')
    print('    pred = model.predict(skmtl.compare.read_frame("new.csv"))')
    if problem.layout == "wide":
        print(f"pred has one column per task: {', '.join(map(str, problem.tasks))}.")
    else:
        if key == "pooled":
            unseen = "the task is ignored"
        elif _predicts_new_tasks(model):
            unseen = (
                "a row of a task not seen in fit is predicted by the model the tasks share "
                "(unknown_task='mean')"
            )
        else:
            unseen = "a row of a task not seen in fit raises a ValueError naming the task"
        print(f"new.csv needs the task column {problem.task_key!r}; {unseen}.")


def _predicts_new_tasks(model) -> bool:
    params = model.get_params(deep=True)
    return any(
        (k == "unknown_task" or k.endswith("__unknown_task")) and v == "mean"
        for k, v in params.items()
    )


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


_MMAP_THRESHOLD = 1 << 20


def _fixed_mmap_threshold() -> bool:
    """Ask glibc to map every allocation of 1 MiB or more on its own (a command, not a library).

    glibc raises its threshold for that each time such a block is freed, up to 32 MiB, and from
    then on keeps column-sized arrays (a few MiB for a large CSV) in heaps it seldom returns;
    after the threads of ``pandas.read_csv`` have freed their pieces, that alone added about
    50 MB to the peak of a comparison on a 300,000-row file (``benchmarks/bench_csv.py``). A
    fixed threshold keeps the peak at what the arrays need. Elsewhere (not glibc): nothing.
    """
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return False
    except (AttributeError, ValueError, OSError):  # no confstr, or not this name: not glibc
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(-3, _MMAP_THRESHOLD))  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


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
    _fixed_mmap_threshold()
    try:
        return _compare(args)
    except CompareError as exc:
        print(f"skmtl compare: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("skmtl compare: interrupted", file=sys.stderr)
        return 130
