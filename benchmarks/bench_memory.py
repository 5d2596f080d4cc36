"""Peak memory of one training epoch of MultiTaskEstimator on a memmapped X of about 2 GB.

The script writes a float32 design matrix (default 2 GiB: 2,097,152 rows x 256 features) to a
file in a temporary directory, chunk by chunk, and its two targets (a regression and a binary
task, held in memory: 16 MiB) next to it. A child process then imports skmtl, records its
resident set size (the baseline: the interpreter with numpy, torch, scikit-learn, skorch and
skmtl loaded), resets the kernel's peak counter, opens the file as a read-only ``numpy.memmap``,
trains one epoch (shuffled batches of 1024 read from the memmap on demand) and reads its peak
resident set size (``VmHWM`` in ``/proc/self/status``; ``ru_maxrss`` where the counter cannot be
reset). File-backed pages of the memmap count towards the resident set, so this measures what
an epoch keeps mapped, not only the heap. The directory is deleted afterwards, also on error.

Goal: the peak less the baseline under 0.5 GB, for a file of 2 GB.

Run::

    python benchmarks/bench_memory.py              # 2 GiB, about a minute on one core
    python benchmarks/bench_memory.py --gib 0.25   # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

FEATURES, BATCH, CHUNK_ROWS = 256, 1024, 65_536


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def write_data(directory: str, n: int, p: int, seed: int = 0) -> tuple[str, str]:
    """Write X (n, p) float32 in chunks and y (n, 2) to ``directory``; return their paths."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(p, 2)).astype(np.float32) / np.sqrt(p)
    # Drawing 2 GiB of normal numbers took minutes on a busy machine: each chunk is one block
    # of them with its rows permuted and its columns' signs flipped at random.
    block = rng.standard_normal((CHUNK_ROWS, p), dtype=np.float32)
    x_path, y_path = os.path.join(directory, "X.f32"), os.path.join(directory, "y.npy")
    y = np.empty((n, 2), dtype=np.float32)
    with open(x_path, "wb") as f:
        for start in range(0, n, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, n)
            signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=p)
            chunk = block[rng.permutation(CHUNK_ROWS)[: stop - start]] * signs
            z = chunk @ w
            y[start:stop, 0] = z[:, 0] + 0.1 * rng.standard_normal(stop - start)
            y[start:stop, 1] = z[:, 1] > 0
            f.write(chunk.tobytes())
    np.save(y_path, y)
    return x_path, y_path


def child(x_path: str, y_path: str, n: int, p: int, batch: int, threads: int) -> dict:
    """Train one epoch in this (fresh) process and return its memory figures."""
    import torch

    from skmtl.neural import MultiTaskEstimator

    torch.set_num_threads(threads)
    y = np.load(y_path)
    est = MultiTaskEstimator(
        hidden_units=(64, 32),
        task_types={0: "regression", 1: "classification"},
        max_epochs=1,
        batch_size=batch,
        lr=1e-3,
        random_state=0,
    )
    baseline = _status_kib("VmRSS")
    try:  # reset the peak counter (VmHWM) to the current RSS
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    X = np.memmap(x_path, dtype=np.float32, mode="r", shape=(n, p))
    start = time.perf_counter()
    est.fit(X, y)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "baseline_mib": baseline / 1024,
        "peak_mib": peak / 1024,
        "above_baseline_mib": (peak - baseline) / 1024,
        "peak_counter_reset": reset,
        "epoch_seconds": seconds,
        "train_loss": float(est.history_[-1, "train_loss"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0, help="size of X in GiB (default 2)")
    parser.add_argument("--features", type=int, default=FEATURES)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--dir", default=None, help="where to write the file (default: TMPDIR)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        x_path, y_path, n, p = args.child
        result = child(x_path, y_path, int(n), int(p), args.batch, args.threads)
        print(json.dumps(result))
        return

    p = args.features
    n = int(args.gib * 2**30) // (4 * p)
    size = n * p * 4
    parent = args.dir or tempfile.gettempdir()
    free = shutil.disk_usage(parent).free
    if free < size + 2**30:
        sys.exit(f"{parent} has {free / 2**30:.1f} GiB free; {size / 2**30 + 1:.1f} GiB needed.")
    with tempfile.TemporaryDirectory(prefix="skmtl_bench_memory_", dir=parent) as directory:
        start = time.perf_counter()
        x_path, y_path = write_data(directory, n, p)
        print(
            f"X: {n:,} x {p} float32 = {size / 2**30:.2f} GiB in {directory} "
            f"(written in {time.perf_counter() - start:.0f} s)"
        )
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--batch",
            str(args.batch),
            "--threads",
            str(args.threads),
            "--child",
            x_path,
            y_path,
            str(n),
            str(p),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.exit(f"the training process failed:\n{out.stderr[-3000:]}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"baseline RSS (interpreter + numpy, torch, skorch, skmtl): {r['baseline_mib']:.0f} MiB")
    print(f"peak RSS during one epoch:                               {r['peak_mib']:.0f} MiB")
    print(
        f"peak above the baseline:                                 "
        f"{r['above_baseline_mib']:.0f} MiB ({r['above_baseline_mib'] / 1024:.3f} GiB; "
        f"goal < 0.5 GB){'' if r['peak_counter_reset'] else ' [peak counter not reset]'}"
    )
    print(
        f"epoch: {r['epoch_seconds']:.1f} s, {n // args.batch:,} batches of {args.batch}; "
        f"train loss {r['train_loss']:.4f}"
    )


if __name__ == "__main__":
    main()
