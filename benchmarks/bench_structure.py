"""Task-structure models against a bare numpy implementation of the same algorithm and against
cvxpy, at equal objective.

Every ``benchmarks/_structure_*.py`` module contributes ``cases(quick=False)``: a list of dicts
with keys ``name``, ``skmtl``, ``bare`` and ``cvxpy``, each a zero-argument callable that solves
the case's problem and returns the objective value it reached (computed by the module from the
returned coefficients, the same way for all three). This script times every callable (best of
``--repeats``), prints the objective each reached relative to the lowest of the three (so that
"equal objective" can be read off), and the time ratios skmtl / bare (goal: <= 1.5) and
skmtl / cvxpy. A family plugs in by adding its own ``_structure_<family>.py``.

Run ``python benchmarks/bench_structure.py`` or ``--quick``; BLAS threads are pinned to
``--threads`` (default 1) so that the ratios compare the algorithms on a shared machine.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _modules(only=None):
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    for path in sorted(HERE.glob("_structure_*.py")):
        if only and not any(o in path.stem for o in only):
            continue
        yield path.stem, importlib.import_module(path.stem)


def _time(fn, repeats):
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="substrings of module names to run")
    parser.add_argument("--no-cvxpy", action="store_true")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    header = (f"{'case':<40}{'skmtl s':>9}{'bare s':>9}{'cvxpy s':>9}{'skmtl/bare':>12}"
              f"{'skmtl/cvxpy':>13}  objective - best (skmtl, bare, cvxpy; relative)")
    print(header)
    ratios = []
    with threadpool_limits(args.threads):
        for _, mod in _modules(args.only):
            takes_quick = "quick" in inspect.signature(mod.cases).parameters
            kwargs = {"quick": args.quick} if takes_quick else {}
            for case in mod.cases(**kwargs):
                t_s, f_s = _time(case["skmtl"], args.repeats)
                t_b, f_b = _time(case["bare"], args.repeats)
                if args.no_cvxpy:
                    t_c, f_c = float("nan"), float("inf")
                else:
                    t_c, f_c = _time(case["cvxpy"], 1)
                best = min(f_s, f_b, f_c)
                rel = [(f - best) / max(abs(best), 1e-300) for f in (f_s, f_b, f_c)]
                ratios.append(t_s / t_b)
                print(f"{case['name']:<40}{t_s:>9.3f}{t_b:>9.3f}{t_c:>9.3f}{t_s / t_b:>12.2f}"
                      f"{t_s / t_c:>13.3f}  " + ", ".join(f"{r:.1e}" for r in rel), flush=True)
    if ratios:
        print(f"\nworst skmtl/bare ratio: {max(ratios):.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
