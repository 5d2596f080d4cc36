"""Epoch time of MultiTaskEstimator against a hand-written PyTorch loop, in one run.

Both train the same network (skmtl.neural.MultiTaskMLP: 32 -> 128 -> 64, three heads), on the
same data (n = 20,000, 32 features; a binary, a 3-class and a regression task), with the same
batch size (256), optimiser (Adam, lr 1e-3) and shuffling. The hand-written loop is what one
writes without a library: a random permutation per epoch, one index per batch, the summed
per-task losses, zero_grad / backward / step. The runs alternate (loop, estimator, loop, ...)
so that a change of load on the machine hits both alike; the medians are compared.

A third row trains the estimator through skorch's generic DataLoader path (one sample at a
time, then collate), which setting any DataLoader option such as ``iterator_train__num_workers``
selects, to show what the batch-slicing path saves.

Threads: one torch thread (``--threads``, default 1). The networks are small (about 13k
parameters, batches of 256): a second intra-op thread gains little even on an idle machine, and
on the 2-core CI machines, with the other core busy, two threads ran about 20x slower than one
(threads spin-wait for each other at every one of the ~10 small kernels per step).

Run::

    python benchmarks/bench_neural.py            # prints per-epoch times and the ratio
    python benchmarks/bench_neural.py --quick    # fewer epochs and repeats
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from skmtl.neural import MultiTaskEstimator, MultiTaskMLP

N, P, HIDDEN, BATCH, LR = 20_000, 32, (128, 64), 256, 1e-3


def make_data(seed: int = 0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(N, P)).astype(np.float32)
    W = rng.normal(size=(P, 3))
    Z = X @ W
    y = {
        "binary": (Z[:, 0] > 0).astype(np.int64),
        "three": np.digitize(Z[:, 1], [-2.0, 2.0]).astype(np.int64),
        "value": Z[:, 2] + 0.1 * rng.normal(size=N),
    }
    return X, y


def hand_written(X: np.ndarray, y: dict, epochs: int, seed: int = 0) -> list[float]:
    """A plain PyTorch training loop; returns the wall time of each epoch."""
    torch.manual_seed(seed)
    n, Xt = len(X), torch.from_numpy(X)
    yb = torch.from_numpy(y["binary"])
    y3 = torch.from_numpy(y["three"])
    yv = torch.from_numpy(y["value"].astype(np.float32))
    net = MultiTaskMLP(P, {"binary": 2, "three": 3, "value": 1}, hidden_units=HIDDEN)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        net.train()
        perm = torch.randperm(n)
        for i in range(0, n, BATCH):
            idx = perm[i : i + BATCH]
            out = net(Xt[idx])
            loss = (
                F.cross_entropy(out["binary"], yb[idx])
                + F.cross_entropy(out["three"], y3[idx])
                + F.mse_loss(out["value"][:, 0], yv[idx])
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def estimator(X: np.ndarray, y: dict, epochs: int, seed: int = 0, **kwargs) -> list[float]:
    """MultiTaskEstimator on the same problem; returns skorch's per-epoch durations."""
    est = MultiTaskEstimator(
        hidden_units=HIDDEN,
        batch_size=BATCH,
        lr=LR,
        max_epochs=epochs,
        random_state=seed,
        **kwargs,
    )
    est.fit(X, y)
    return list(est.history_[:, "dur"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2 epochs, 2 repeats")
    parser.add_argument("--no-dataloader", action="store_true", help="skip the DataLoader row")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.repeats = 2, 2
    torch.set_num_threads(args.threads)
    X, y = make_data()
    # Warm up (first-call allocations and lazy initialisation) outside the timings.
    hand_written(X[:2048], {k: v[:2048] for k, v in y.items()}, 1)
    estimator(X[:2048], {k: v[:2048] for k, v in y.items()}, 1)

    loop_t, est_t, dl_t = [], [], []
    for r in range(args.repeats):
        loop_t += hand_written(X, y, args.epochs, seed=r)
        est_t += estimator(X, y, args.epochs, seed=r)
    if not args.no_dataloader:
        dl_t += estimator(X, y, 2, seed=0, iterator_train__num_workers=0)

    loop, est = float(np.median(loop_t)), float(np.median(est_t))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); n={N}, p={P}, ")
    print(f"hidden={HIDDEN}, 3 tasks, batch={BATCH}, Adam lr={LR}; median of ")
    print(f"{args.repeats} x {args.epochs} epochs")
    print(f"  hand-written PyTorch loop      {loop * 1e3:8.1f} ms / epoch")
    print(f"  MultiTaskEstimator (slicing)   {est * 1e3:8.1f} ms / epoch")
    if dl_t:
        dl = float(np.median(dl_t))
        print(f"  MultiTaskEstimator (DataLoader){dl * 1e3:8.1f} ms / epoch  ({dl / loop:.2f}x)")
    print(f"ratio estimator / hand-written loop: {est / loop:.3f}  (goal <= 1.2)")


if __name__ == "__main__":
    main()
