"""MMoE against shared-bottom on the synthetic tasks of Ma et al. (2018), over repeated runs.

The paper's finding (its Figure 4): as the correlation between the two regression tasks falls,
the loss of a shared-bottom network grows more than that of a multi-gate mixture of experts.
For each run (seed) and each correlation p in {1.0, 0.9, 0.5}, this script draws a data set
with :func:`skmtl.datasets.make_mmoe_synthetic` (two regression tasks whose weight vectors have
cosine p; one seed gives the same X and base directions at every p), trains both networks with
the same budget (Adam, cosine learning-rate decay), and records the test MSE averaged over the
two tasks. It prints, per correlation and architecture, the mean +- std test MSE over the runs,
and the degradation from p = 1.0, paired by run.

Capacity, as in the paper: MMoE has 8 experts of one hidden layer of 16 units and a tower of 8
units per task; the shared-bottom network has one shared hidden layer sized so that both have
about the same number of parameters (68 units at 10 features; the counts are printed).

Data settings (the paper leaves the scale c open; it uses 100 features): 10 features and
c = 0.5 by default. With 100 features and 8000 samples neither network learns the sinusoidal
part of the targets (both stop near the variance of that part, then overfit), so test losses
cannot separate them; with 10 features and c = 1 the targets' highest frequencies make the
result depend on optimisation luck (large run-to-run spread); with c = 0.5 both networks fit
the tasks without overfitting, and the comparison is about what they share.

One torch thread (``--threads``): the networks are small and the 2-core CI machines are shared.

Run::

    python benchmarks/bench_mmoe.py                 # 20 runs (seeds) per cell, a few minutes
    python benchmarks/bench_mmoe.py --runs 3 --quick
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from skorch.callbacks import LRScheduler

from skmtl.datasets import make_mmoe_synthetic
from skmtl.neural import MultiTaskEstimator

CORRELATIONS = (1.0, 0.9, 0.5)
MMOE = {"architecture": "mmoe", "n_experts": 8, "hidden_units": (16,), "head_units": (8,)}


def architectures(n_features: int) -> dict:
    """Estimator parameters of the two compared networks, with about the same parameter count:
    the shared-bottom width is the one whose count is closest to MMoE's."""
    from skmtl.neural.architectures import MMoE, SharedBottom

    def count(module):
        return sum(p.numel() for p in module.parameters())

    tasks = {0: 1, 1: 1}
    target = count(MMoE(n_features, tasks, n_experts=8, hidden_units=(16,), head_units=(8,)))
    # parameters of a shared bottom of width h with towers of 8: (d + 1) h + 2 (8 h + 8 + 9)
    h = round((target - 34) / (n_features + 17))
    assert abs(count(SharedBottom(n_features, tasks, (h,), (8,))) - target) <= n_features + 17
    return {"shared_bottom": {"hidden_units": (h,), "head_units": (8,)}, "mmoe": MMOE}


def n_parameters(est: MultiTaskEstimator) -> int:
    return sum(p.numel() for p in est.module_.parameters())


def run(args) -> dict:
    torch.set_num_threads(args.threads)
    n_total = args.n_train + args.n_test
    results: dict = {}  # (p, name) -> list of test MSEs, in seed order
    counts: dict = {}
    t0 = time.perf_counter()
    for seed in range(args.runs):
        for p in CORRELATIONS:
            # The same seed gives the same X and base directions u1, u2 at every correlation.
            X, Y, _ = make_mmoe_synthetic(
                n_total,
                n_features=args.n_features,
                correlation=p,
                scale=args.scale,
                random_state=seed,
            )
            X = X.astype(np.float32)
            Xtr, Ytr = X[: args.n_train], Y[: args.n_train]
            Xte, Yte = X[args.n_train :], Y[args.n_train :]
            for name, params in architectures(args.n_features).items():
                # Cosine decay to 0, so that the network compared is the end of a decay rather
                # than a snapshot of Adam's jitter at a constant rate (noisy from run to run).
                schedule = LRScheduler("CosineAnnealingLR", T_max=args.epochs)
                est = MultiTaskEstimator(
                    **params,
                    callbacks=[schedule],
                    lr=args.lr,
                    batch_size=args.batch_size,
                    max_epochs=args.epochs,
                    random_state=seed,
                ).fit(Xtr, Ytr)
                mse = float(np.mean((est.predict(Xte) - Yte) ** 2))
                results.setdefault((p, name), []).append(mse)
                counts[name] = n_parameters(est)
        cells = " ".join(f"{p}/{n}={results[p, n][-1]:.3f}" for (p, n) in results)
        print(f"run {seed + 1}/{args.runs} ({time.perf_counter() - t0:.0f} s): {cells}", flush=True)
    return {"results": results, "counts": counts, "seconds": time.perf_counter() - t0}


def report(out: dict, args) -> None:
    results, counts = out["results"], out["counts"]
    names = list(architectures(args.n_features))
    print()
    print(
        f"Ma et al. (2018) synthetic tasks: {args.n_features} features, scale c={args.scale}, "
        f"{args.n_train} train / "
        f"{args.n_test} test samples, {args.epochs} epochs, Adam lr={args.lr} (cosine decay), "
        f"batch {args.batch_size}, {args.runs} runs per cell ({out['seconds']:.0f} s)"
    )
    print("parameters: " + ", ".join(f"{n} {counts[n]}" for n in names))
    print()
    print("test MSE (mean over the two tasks), mean +- std over runs [median]")
    header = f"{'correlation':>11} | " + " | ".join(f"{n:>29}" for n in names) + " | runs"
    print(header)
    print("-" * len(header))
    for p in CORRELATIONS:
        r = {n: np.asarray(results[p, n]) for n in names}
        cells = [f"{r[n].mean():9.3f} +- {r[n].std():6.3f} [{np.median(r[n]):6.3f}]" for n in names]
        print(f"{p:>11.1f} | " + " | ".join(f"{c:>29}" for c in cells) + f" | {args.runs}")
    print()
    print("degradation from correlation 1.0 (paired by run), mean +- std [median]")
    for p in CORRELATIONS[1:]:
        cells = []
        for n in names:
            d = np.asarray(results[p, n]) - np.asarray(results[1.0, n])
            cells.append(f"{d.mean():+9.3f} +- {d.std():6.3f} [{np.median(d):+6.3f}]")
        print(f"{p:>11.1f} | " + " | ".join(f"{c:>29}" for c in cells) + f" | {args.runs}")
    d_sb = np.asarray(results[0.5, names[0]]) - np.asarray(results[1.0, names[0]])
    d_mm = np.asarray(results[0.5, names[1]]) - np.asarray(results[1.0, names[1]])
    wins = int(np.sum(d_mm < d_sb))
    print(f"\nruns where MMoE degrades less than shared-bottom from 1.0 to 0.5: {wins}/{args.runs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="seeds per cell")
    parser.add_argument("--n-train", type=int, default=8000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--n-features", type=int, default=10)
    parser.add_argument("--scale", type=float, default=0.5, help="the paper's c")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2000 train samples, 15 epochs")
    args = parser.parse_args()
    if args.quick:
        args.n_train, args.n_test, args.epochs = 2000, 1000, 15
    report(run(args), args)


if __name__ == "__main__":
    main()
