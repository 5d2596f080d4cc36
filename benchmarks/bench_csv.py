"""``skmtl compare`` on a large CSV: reading time against pandas, peak memory of the command.

Writes a 300,000-row CSV (18 numeric features, one categorical, two regression targets, about
118 MB; 1 % of the features and 5 % of y2 missing) to a temporary folder, then prints, in one
run:

- the time of ``skmtl.compare.read_frame`` and of a plain ``pandas.read_csv`` of the same file
  (best of 3 each, interleaved), and their ratio (goal: at most 1.5x);
- the peak resident memory and wall time of
  ``skmtl compare big.csv --targets y1 y2 --methods independent --quick --n-jobs 1``
  in a child process (goal: at most 400 MB), and the same for ``python -c "import skmtl.compare"``
  (what the interpreter and the imports cost);
- the wall time of ``skmtl compare --quick`` on the bundled school data.

Run from the repository root::

    python benchmarks/bench_csv.py            # --rows N for a smaller file
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def write_csv(path: str, n_rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n_num = 18
    X = rng.normal(size=(n_rows, n_num))
    X[rng.random((n_rows, n_num)) < 0.01] = np.nan
    levels = np.array(["alpha", "beta", "gamma", "delta", "epsilon"])
    cat = levels[rng.integers(0, len(levels), n_rows)]
    w1, w2 = rng.normal(size=n_num), rng.normal(size=n_num)
    Xf = np.nan_to_num(X)
    y1 = Xf @ w1 + (cat == "beta") + rng.normal(size=n_rows)
    y2 = Xf @ w2 - (cat == "gamma") + rng.normal(size=n_rows)
    y2[rng.random(n_rows) < 0.05] = np.nan
    header = [f"x{j}" for j in range(n_num)] + ["kind", "y1", "y2"]
    with open(path, "w") as fh:
        fh.write(",".join(header) + "\n")
        chunk = 20_000
        for start in range(0, n_rows, chunk):
            stop = min(start + chunk, n_rows)
            block = np.column_stack([X[start:stop], y1[start:stop], y2[start:stop]])
            for row, kind in zip(block, cat[start:stop]):
                cells = ["" if v != v else repr(float(v)) for v in row]
                fh.write(",".join(cells[:n_num] + [kind] + cells[n_num:]) + "\n")


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def child(argv: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit status) of a child process."""
    env = {
        **os.environ,
        "PYTHONPATH": ROOT,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        print(proc.stderr.read().decode(), file=sys.stderr)
    proc.stderr.close()
    return wall, usage.ru_maxrss / 1024.0, proc.returncode  # Linux: ru_maxrss in KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--write", metavar="PATH", help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    if args.write:
        write_csv(args.write, args.rows)
        return
    py = sys.executable
    # Linux keeps a process's peak RSS across fork and exec: the children are started while this
    # process is small (numpy only; the file is written by a child), before it reads the file
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.csv")
        start = time.perf_counter()
        subprocess.run([py, __file__, "--write", path, "--rows", str(args.rows)], check=True)
        size = os.path.getsize(path) / 1e6
        took = time.perf_counter() - start
        print(f"wrote {path}: {args.rows} rows, {size:.0f} MB ({took:.1f} s)")

        wall_imp, rss_imp, _ = child([py, "-c", "import skmtl.compare"])
        command = [py, "-m", "skmtl", "compare", path, "--targets", "y1", "y2"]
        command += ["--methods", "independent", "--quick", "--n-jobs", "1", "--quiet"]
        wall, rss, code = child(command)
        print(
            f"skmtl compare big.csv --targets y1 y2 --methods independent --quick --n-jobs 1: "
            f"exit {code}, {wall:.1f} s, peak RSS {rss:.0f} MB (goal <= 400 MB; "
            f"interpreter and imports alone: {rss_imp:.0f} MB)"
        )
        wall_school, rss_school, code = child([py, "-m", "skmtl", "compare", "--quick", "--quiet"])
        print(
            f"skmtl compare --quick (bundled school, all methods, all cores): exit {code}, "
            f"{wall_school:.1f} s, peak RSS {rss_school:.0f} MB"
        )

        import pandas as pd

        from skmtl.compare import read_frame

        t_pandas = t_skmtl = float("inf")
        for _ in range(3):  # interleaved, so that a busy machine slows both alike
            t_pandas = min(t_pandas, best_of(lambda: pd.read_csv(path), 1))
            t_skmtl = min(t_skmtl, best_of(lambda: read_frame(path), 1))
        print(
            f"reading: skmtl.compare.read_frame {t_skmtl:.2f} s, pandas.read_csv {t_pandas:.2f} s "
            f"(pandas {pd.__version__}, {pd.get_option('mode.max_threads') or 'default'} threads), "
            f"ratio {t_skmtl / t_pandas:.2f}x (goal <= 1.5x)"
        )


if __name__ == "__main__":
    main()
