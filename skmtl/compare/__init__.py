"""``skmtl compare`` from Python: does multi-task learning help on this data, and which kind?

The command line (``skmtl compare``, see :doc:`/cli`) is a thin shell over these functions::

    from skmtl.compare import bundled_problem, compare, format_table

    result = compare(bundled_problem("school"), repeats=3, quick=True)
    print(format_table(result))

:func:`problem_from_columns` builds a :class:`Problem` from named columns (wide layout: one
target column per task; long layout: one target and a task column), :func:`compare` runs the
protocol (repeated train/test splits, hyperparameters by inner cross-validation, per-task scores)
for every method, and :func:`format_table` / :func:`plot_result` show the :class:`Result`.
"""

from ._protocol import Problem, Result, compare, fit_final
from ._reading import bundled_problem, problem_from_columns, read_csv, read_frame
from ._report import format_table, plot_result

__all__ = [
    "Problem",
    "Result",
    "bundled_problem",
    "compare",
    "fit_final",
    "format_table",
    "plot_result",
    "problem_from_columns",
    "read_csv",
    "read_frame",
]
