"""Time of one training step of each gradient-level weighting strategy, for T = 2, 4, 8 tasks.

Three ways of taking the same step, on the same network, batch, strategy and optimiser:

- **equal**: equal weighting, one backward pass of the sum of the task losses
  (``weighting="fixed"``);
- **loop**: the per-task backward loop of research code (LibMTL's ``_compute_grad``): one
  forward pass, then for each task ``loss_t.backward(retain_graph=True)`` and a copy of the
  shared parameters' gradients into row t of a (T, d) matrix, the same strategy's combination,
  the combined gradient written back, the optimiser step. For strategies that may use the shared
  representation (MGDA-UB), the loop differentiates with respect to the representation too;
- **batched**: :class:`~skmtl.neural.MultiTaskEstimator`'s own step (``net.train_step``): one
  forward pass, the per-task gradients in one ``is_grads_batched`` backward pass, the strategy,
  the optimiser step.

The printed ratios are batched / equal and batched / loop (goal: <= 0.5 at T = 8). Steps are
timed in rounds that alternate (equal, loop, batched, equal, ...), so that a change of load on
the shared machine hits all three alike; each is the median of a round, and the fastest round
is kept (as ``timeit`` does: slower rounds measure the other jobs on the machine).

Network: the estimator's default shared-bottom MLP, 50 features -> (64, 64) trunk -> one linear
head per task (tasks alternate 3-class classification and regression), batch 128 (the
estimator's defaults), Adam. ``--hidden 256 128 --batch 256`` is the wider setting of the design
notes' measurement. The batched pass does the loop's arithmetic (one vector-Jacobian product per
task) and can only save per-backward overhead: on the busy 2-core CPU machine it measured about
1.0x the loop at T = 8 (not the 0.5x goal).

Threads: one torch thread (``--threads``, default 1), pinned with ``torch.set_num_threads``
before anything runs. The CI machines have 2 cores shared with other jobs; with the other core
busy, two intra-op threads ran ~18x slower than one on networks this small.

Memory (``--memory``): the peak resident set size of a fresh process that runs 5 steps of one
strategy (UPGrad, or the first one available) in each of the three ways, minus the process's
resident size just before the first step (``resource.getrusage``: a high-water mark, so one way
per process). It is an upper bound on the extra memory of a step (the autograd graph, the (T, d)
per-task gradients and the optimiser's work tensors).

Run::

    python benchmarks/bench_balancing.py             # all strategies, T = 2, 4, 8
    python benchmarks/bench_balancing.py --quick     # fewer repeats
    python benchmarks/bench_balancing.py --memory    # also the peak-memory table
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

N_FEATURES, HIDDEN, BATCH = 50, (64, 64), 128


def make_batch(T: int, seed: int = 0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(BATCH, N_FEATURES)).astype(np.float32)
    Y = np.empty((BATCH, T))
    for t in range(T):
        z = X @ rng.normal(size=N_FEATURES)
        Y[:, t] = np.digitize(z, [-2.0, 2.0]) if t % 2 == 0 else z + rng.normal(size=BATCH)
    y = {f"task{t}": (Y[:, t].astype(np.int64) if t % 2 == 0 else Y[:, t]) for t in range(T)}
    return X, y


def make_net(T: int, weighting):
    """A fitted (one step) estimator's skorch net and its encoded batch."""
    from skmtl import _targets
    from skmtl.neural import MultiTaskEstimator

    X, y = make_batch(T)
    est = MultiTaskEstimator(
        hidden_units=HIDDEN, weighting=weighting, batch_size=BATCH, max_epochs=1, random_state=0
    ).fit(X, y)
    Yt = _targets.encode_targets(est._spec_, _targets.split_targets(y, n_samples=BATCH))
    return est.net_, (torch.from_numpy(X), torch.from_numpy(Yt))


def loop_step(net, batch) -> None:
    """One step the research-code way: one backward pass per task (see the module docstring)."""
    module, opt, strategy = net.module_, net.optimizer_, net.weighting_.strategy
    X, Y = batch
    opt.zero_grad()
    module.train()
    use_rep = getattr(strategy, "representation_ok", False)
    if use_rep:  # differentiate with respect to the shared representation (MGDA-UB)
        z = module.trunk(X)
        rep = z.detach().requires_grad_(True)
        out = {t: head(rep) for t, head in zip(module.tasks, module.heads, strict=True)}
        wrt = [rep]
    else:
        out = module(X)
        wrt = list(module.shared_parameters())
    losses = net.criterion_(out, Y)
    L = torch.stack([loss.detach() for loss in losses.values()])
    rows = []
    # Each task's own loss tensor (backward of a select of the stacked losses, LibMTL's
    # losses[t].backward(), was several times slower per task here: not a fair baseline).
    for loss in losses.values():
        for p in wrt:
            p.grad = None
        loss.backward(retain_graph=True)  # heads accumulate their own task's gradient
        rows.append(torch.cat([p.grad.reshape(-1) for p in wrt]))
    G = torch.stack(rows)
    kw = {"epoch": 0, "step": 0}
    if strategy.needs_gradients:
        d = strategy.aggregate(G, L.detach(), **kw)
    else:
        d = strategy.weights_from_gramian(G @ G.T, L.detach(), **kw).to(G.dtype) @ G
    if use_rep:
        z.backward(d.view_as(z))
    else:
        offset = 0
        for p in wrt:
            p.grad = d[offset : offset + p.numel()].view_as(p).clone()
            offset += p.numel()
    opt.step()


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def strategies() -> list[str]:
    from skmtl.neural.weighting import WEIGHTINGS, GradientWeighting

    return [name for name, cls in WEIGHTINGS.items() if issubclass(cls, GradientWeighting)]


def time_all(tasks: list[int], names: list[str], repeats: int, rounds: int) -> None:
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); batch {BATCH}, "
        f"{N_FEATURES} features, trunk {HIDDEN}; ms per step: fastest of {rounds} rounds' "
        f"medians of {repeats}"
    )
    header = (
        f"{'T':>2} {'strategy':<12} {'equal':>8} {'loop':>8} {'batched':>8} "
        f"{'b/equal':>8} {'b/loop':>7}"
    )
    print(header)
    print("-" * len(header))
    summary = {}
    for T in tasks:
        eq_net, eq_batch = make_net(T, "fixed")
        for name in names:
            net, batch = make_net(T, name)
            loop_net, _ = make_net(T, name)
            loop_step(loop_net, batch)  # warm-up
            times = {"equal": [], "loop": [], "batched": []}
            for _ in range(rounds):  # alternate, so that load changes hit all three
                times["equal"].append(timed(lambda n=eq_net, b=eq_batch: n.train_step(b), repeats))
                times["loop"].append(timed(lambda n=loop_net, b=batch: loop_step(n, b), repeats))
                times["batched"].append(timed(lambda n=net, b=batch: n.train_step(b), repeats))
            # the median of each round, then the fastest round: robust to a busy machine
            med = {k: 1e3 * min(map(statistics.median, v)) for k, v in times.items()}
            ratio_loop = med["batched"] / med["loop"]
            summary.setdefault(T, []).append(ratio_loop)
            print(
                f"{T:>2} {name:<12} {med['equal']:8.2f} {med['loop']:8.2f} "
                f"{med['batched']:8.2f} {med['batched'] / med['equal']:8.2f} "
                f"{ratio_loop:7.2f}",
                flush=True,
            )
    print()
    for T, ratios in summary.items():
        print(
            f"T = {T}: batched / loop median over strategies {statistics.median(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
        )


def _peak_child(T: int, name: str, way: str) -> None:
    torch.set_num_threads(1)
    net, batch = make_net(T, "fixed" if way == "equal" else name)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(5):
        loop_step(net, batch) if way == "loop" else net.train_step(batch)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"delta_kib": peak - base}))


def memory_table(tasks: list[int], name: str) -> None:
    print(f"\nPeak RSS increase over 5 steps (KiB, fresh process per cell), strategy {name!r}")
    print(f"{'T':>2} {'equal':>8} {'loop':>8} {'batched':>8}")
    for T in tasks:
        cells = []
        for way in ("equal", "loop", "batched"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(T),
                    name,
                    way,
                    "--batch",
                    str(BATCH),
                    "--hidden",
                    *map(str, HIDDEN),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            cells.append(json.loads(out.stdout.strip().splitlines()[-1])["delta_kib"])
        print(f"{T:>2} {cells[0]:8d} {cells[1]:8d} {cells[2]:8d}", flush=True)


def main() -> None:
    global HIDDEN, BATCH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--tasks", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--strategies", nargs="+", default=None)
    parser.add_argument("--hidden", type=int, nargs="+", default=list(HIDDEN))
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    HIDDEN, BATCH = tuple(args.hidden), args.batch
    torch.set_num_threads(args.threads)
    if args.child:
        _peak_child(int(args.child[0]), args.child[1], args.child[2])
        return
    names = args.strategies or strategies()
    if not names:
        sys.exit("no gradient-level strategy is registered in skmtl.neural.weighting.WEIGHTINGS")
    repeats, rounds = (5, 3) if args.quick else (10, 5)
    time_all(args.tasks, names, repeats, rounds)
    if args.memory:
        memory_table(args.tasks, "upgrad" if "upgrad" in names else names[0])


if __name__ == "__main__":
    main()
