"""Epoch time of MultiTaskEstimator's long layout (task_column) against the number of tasks.

The same number of rows (n = 20,000, 16 features, one regression target) split among 10, 100,
1,000 or 10,000 tasks; the default long-layout network with a (32,) trunk, batch 256, Adam, one
torch thread. The goal (issue 12): at most 1.3x from 10 to 1,000 tasks. The coupling penalty is
applied to the batch's rows only; the deviation table is dense (a parameter group of Adam) up to
65,536 floats (about 2,000 tasks here) and sparse above, with a lazy optimiser (SparseAdam: only
the rows of a batch's tasks move), so a step never touches every task of a large table.

A reference row trains the same rows with dense per-task heads the way a user would without the
long layout: one head per task through ``MultiTaskMLP`` in the wide layout (missing labels
elsewhere) at 100 tasks, to show what gathering saves. The runs alternate between settings
so that a change of load on the machine hits all alike; medians are compared.

Run::

    python benchmarks/bench_long_layout.py            # prints per-epoch times and ratios
    python benchmarks/bench_long_layout.py --quick    # fewer epochs and repeats
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from skmtl.neural import MultiTaskEstimator

N, P, HIDDEN, BATCH = 20_000, 16, (32,), 256


def make_data(n_tasks: int, seed: int = 0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(N, P)).astype(np.float32)
    task = rng.randint(n_tasks, size=N)
    w = rng.normal(size=P) + 0.3 * rng.normal(size=(n_tasks, P))
    y = np.einsum("np,np->n", X, w[task]) + 0.1 * rng.normal(size=N)
    return np.column_stack([task, X]), y


def epoch_time(n_tasks: int, epochs: int) -> float:
    X, y = make_data(n_tasks)
    est = MultiTaskEstimator(
        task_column=0, hidden_units=HIDDEN, batch_size=BATCH, max_epochs=epochs, random_state=0
    )
    start = time.perf_counter()
    est.fit(X, y)
    return (time.perf_counter() - start) / epochs


def wide_epoch_time(n_tasks: int, epochs: int) -> float:
    X, y = make_data(n_tasks)
    task = X[:, 0].astype(int)
    Y = np.full((N, n_tasks), np.nan)
    Y[np.arange(N), task] = y
    est = MultiTaskEstimator(
        hidden_units=HIDDEN, batch_size=BATCH, max_epochs=epochs, random_state=0
    )
    start = time.perf_counter()
    est.fit(X[:, 1:], Y)
    return (time.perf_counter() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    epochs, repeats = (3, 3) if args.quick else (5, 5)
    settings = [10, 100, 1000, 10000]
    times = {t: [] for t in settings}
    wide = []
    for _ in range(repeats):
        for t in settings:
            times[t].append(epoch_time(t, epochs))
        wide.append(wide_epoch_time(100, 1))
    med = {t: float(np.median(v)) for t, v in times.items()}
    print(
        f"long layout, n = {N}, {P} features, hidden {HIDDEN}, batch {BATCH}, "
        f"{args.threads} thread(s), median of {repeats} x {epochs} epochs"
    )
    for t in settings:
        print(
            f"  {t:5d} tasks: {med[t] * 1e3:7.1f} ms per epoch   ratio to 10 tasks "
            f"{med[t] / med[10]:.2f}x"
        )
    print(f"  goal: 1000 tasks / 10 tasks <= 1.3x -> {med[1000] / med[10]:.2f}x")
    print("  (10,000 tasks: a sparse deviation table with SparseAdam; up to ~2,000, dense)")
    print(
        f"  wide layout, one dense head per task, 100 tasks: {np.median(wide) * 1e3:7.1f} ms "
        f"per epoch ({np.median(wide) / med[100]:.1f}x the long layout at 100 tasks)"
    )


if __name__ == "__main__":
    main()
