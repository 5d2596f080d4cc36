"""Samples per second of asynchronous (Hogwild) training against one worker and a plain fit.

:func:`skmtl.neural.fit_asynchronous` with 1, 2, ... worker processes (one torch thread each)
on the same data and network, and ``MultiTaskEstimator.fit`` (one torch thread) for reference.
The throughput of a fit is the number of training rows over the median duration of its epochs
(skorch's ``dur`` column of ``history_``), leaving out the first epoch (the workers' warm-up);
start-up (spawning the workers, each importing torch, inside the first epoch) is printed apart,
per fit, as the fit's wall time minus ``epochs`` times the median epoch.

Goal (issue 12): >= 1.6x one worker's samples per second with 2 workers on a 2-core machine,
with the default network. The load average (``os.getloadavg``) is printed before and after: on
a machine whose cores are busy with other jobs, two workers cannot get two cores, and the ratio
says more about the other jobs than about Hogwild. Two more columns separate the two: the
workers' CPU time per step (``worker_cpu`` in the history over the number of steps; it grows if
the workers slow each other down, by contention on the shared parameters' cache lines) and the
cores the fit used (CPU seconds over wall seconds of an epoch).

Network: the estimator's default (shared-bottom MLP, (64, 64) trunk, one linear head per task,
Adam, whose moments are shared by the workers as the parameters are), batch 128 per worker,
20,000 rows, 32 features, two regression tasks and one 3-class task.

Run::

    python benchmarks/bench_asynchronous.py                  # 1 and 2 workers, 6 epochs
    python benchmarks/bench_asynchronous.py --workers 1 2 4 --epochs 8 --rows 50000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch


def make_data(n: int, p: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(np.float32)
    Z = np.tanh(X @ rng.normal(size=(p, 3)) / np.sqrt(p))
    y = {
        "r1": Z[:, 0] + 0.1 * rng.normal(size=n),
        "r2": Z[:, 1] - Z[:, 0] + 0.1 * rng.normal(size=n),
        "c": np.digitize(Z[:, 2], [-0.3, 0.3]),
    }
    return X, y


def throughput(est, n_rows: int) -> float:
    dur = [row["dur"] for row in est.history_[1:]]
    return n_rows / statistics.median(dur)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from skmtl.neural import MultiTaskEstimator, fit_asynchronous

    X, y = make_data(args.rows, args.features)
    params = dict(max_epochs=args.epochs, random_state=0)
    load0 = os.getloadavg()
    print(
        f"{os.cpu_count()} cores; load average {load0[0]:.2f} (1 min) {load0[1]:.2f} (5 min) "
        f"before; torch {torch.__version__}; {args.rows} rows, {args.features} features, default "
        f"network, {args.epochs} epochs"
    )
    print(
        f"{'fit':<14} {'start-up s':>10} {'samples/s':>10} {'vs 1 worker':>12} "
        f"{'cpu ms/step':>11} {'cores used':>10} {'train_loss':>10}"
    )
    t = time.perf_counter()
    plain = MultiTaskEstimator(**params).fit(X, y)
    total = time.perf_counter() - t
    ref_plain = throughput(plain, args.rows)
    startup = total - args.epochs * args.rows / ref_plain
    print(
        f"{'plain fit':<14} {startup:10.1f} {ref_plain:10.0f} {'':>12} {'':>11} {'':>10} "
        f"{plain.history_[-1, 'train_loss']:10.4f}",
        flush=True,
    )
    one = None
    for n in args.workers:
        t = time.perf_counter()
        est = fit_asynchronous(MultiTaskEstimator(**params), X, y, n_workers=n)
        total = time.perf_counter() - t
        rate = throughput(est, args.rows)
        one = rate if n == 1 else one
        startup = total - args.epochs * args.rows / rate
        ratio = f"{rate / one:12.2f}" if one else f"{'':>12}"
        rows = est.history_[1:]
        cpu = sum(r["worker_cpu"] for r in rows)
        steps = sum(r["train_batch_count"] for r in rows)
        cores = cpu / sum(r["dur"] for r in rows)
        print(
            f"{f'{n} worker(s)':<14} {startup:10.1f} {rate:10.0f} {ratio} "
            f"{1e3 * cpu / steps:11.2f} {cores:10.2f} {est.history_[-1, 'train_loss']:10.4f}",
            flush=True,
        )
    load1 = os.getloadavg()
    print(f"load average after: {load1[0]:.2f} (1 min) {load1[1]:.2f} (5 min)")


if __name__ == "__main__":  # the workers are spawned: they import this module again
    main()
