"""Time of one training step of every weighting strategy over the equal-weighting step, T = 2, 4, 8.

Each strategy's step (:class:`~skmtl.neural.MultiTaskEstimator`'s own ``net.train_step``) is
timed against the equal-weighting step on the same network, batch and optimiser (``equal``:
``weighting="fixed"``, one backward pass of the sum of the task losses); the table's ``s/equal``
column is the ratio. Rows:

- every loss-level strategy (``uncertainty``, ``dwa``, ``rlw``, ``gradnorm``, ``famo``); FAMO's
  step includes its post-step hook (a second forward pass of the batch without gradients);
- every gradient-level strategy, exact (per-task gradients of the shared parameters in one
  ``is_grads_batched`` backward pass), and, as ``<name>+rep``, with
  ``use_representation=True`` (per-task gradients of the shared representation only, then one
  backward pass through the trunk: MGDA-UB's approximation). ``mgda`` is exact here
  (``use_representation=False``); its default (``"auto"``) is the ``mgda+rep`` row.

For the exact gradient-level rows, the ``loop`` column is the per-task backward loop of
research code (LibMTL's ``_compute_grad``): one forward pass, then for each task
``loss_t.backward(retain_graph=True)`` and a copy of the shared parameters' gradients into row t
of a (T, d) matrix, the same strategy's combination, the combined gradient written back, the
optimiser step (for ``+rep`` rows the loop differentiates with respect to the representation).

Goals (issue 12) at T = 8: FAMO <= 1.5x equal; ``upgrad+rep`` and ``mgda+rep`` <= 2x equal; the
exact methods no slower than before representation-level Gramians and FAMO landed. The step
times of the exact methods before (commit 708b005, same command, ``--tasks 8 --quick``, busy
2-core machine) are in ``BEFORE`` below and printed beside today's.

Measured (``--tasks 8``, 5 rounds of 30, 2-core machine shared by 8 engineers, load average
9-10: the noise is about +-40%, compare dwa's and rlw's 0.67 and 0.58 with their true ~1.0):
famo 1.44; upgrad+rep 1.19, mgda+rep 1.17 and the other +rep rows 1.12-1.44 (cagrad+rep 3.43:
its solver dominates); exact rows pcgrad 1.89, mgda 1.89, cagrad 3.53, imtl 1.71, aligned_mtl
1.97, nash_mtl 2.03, upgrad 1.59, graddrop 1.58, gradvac 2.00 against the ``BEFORE`` figures of
2.08-4.79 (the exact path's code is unchanged but for a no-op hook call; two back-to-back
``--quick`` runs of this script on both versions gave medians within the noise of each other).

Steps are timed one by one in turn (equal, loop, strategy, equal, ...), so that a change of load
on the shared machine hits all alike. The ratios are the medians over all samples of the ratio
of two steps timed back to back; the times in ms are the fastest round's medians (as ``timeit``
does: slower rounds measure the other jobs on the machine).

Network: the estimator's default shared-bottom MLP, 50 features -> (64, 64) trunk -> one linear
head per task (tasks alternate 3-class classification and regression), batch 128 (the
estimator's defaults), Adam. ``--hidden 256 128 --batch 256`` is the wider setting of the design
notes' measurement.

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

#: Step / equal at T = 8 of the exact gradient-level methods before this work (commit 708b005,
#: ``--tasks 8 --quick``, 2-core machine shared by 8 engineers; mgda was representation-level).
BEFORE = {
    "pcgrad": 2.28,
    "mgda+rep": 1.97,
    "cagrad": 4.79,
    "imtl": 2.20,
    "aligned_mtl": 2.08,
    "nash_mtl": 2.22,
    "upgrad": 2.30,
    "graddrop": 2.12,
    "gradvac": 2.45,
}


def make_batch(T: int, seed: int = 0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(BATCH, N_FEATURES)).astype(np.float32)
    Y = np.empty((BATCH, T))
    for t in range(T):
        z = X @ rng.normal(size=N_FEATURES)
        Y[:, t] = np.digitize(z, [-2.0, 2.0]) if t % 2 == 0 else z + rng.normal(size=BATCH)
    y = {f"task{t}": (Y[:, t].astype(np.int64) if t % 2 == 0 else Y[:, t]) for t in range(T)}
    return X, y


def make_net(T: int, weighting, rep=None):
    """A fitted (one step) estimator's skorch net and its encoded batch."""
    from skmtl import _targets
    from skmtl.neural import MultiTaskEstimator

    X, y = make_batch(T)
    # Only where it matters (True, or MGDA's exact form), so that the script also runs on a
    # version of skmtl without the parameter (to measure the exact methods before and after).
    extra = {"weighting__use_representation": rep} if rep or weighting == "mgda" else {}
    est = MultiTaskEstimator(
        hidden_units=HIDDEN,
        weighting=weighting,
        batch_size=BATCH,
        max_epochs=1,
        random_state=0,
        **extra,
    ).fit(X, y)
    Yt = _targets.encode_targets(est._spec_, _targets.split_targets(y, n_samples=BATCH))
    return est.net_, (torch.from_numpy(X), torch.from_numpy(Yt))


def loop_step(net, batch) -> None:
    """One step the research-code way: one backward pass per task (see the module docstring)."""
    module, opt, strategy = net.module_, net.optimizer_, net.weighting_.strategy
    X, Y = batch
    opt.zero_grad()
    module.train()
    use_rep = getattr(strategy, "representation_ok", False) and getattr(
        strategy, "use_representation", False
    ) in (True, "auto")
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


def interleaved(fns: dict, repeats: int) -> dict:
    """``repeats`` timings of each function, taken in turn (a, b, c, a, b, c, ...)."""
    out = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            start = time.perf_counter()
            fn()
            out[k].append(time.perf_counter() - start)
    return out


def paired_ratio(a: list[list[float]], b: list[list[float]]) -> float:
    """Median over all samples of ``a_i / b_i``: each pair was timed back to back, so both saw
    the same load (the ratios of a busy machine's medians drift with the load between rows)."""
    return statistics.median(x / y for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def strategies() -> list[str]:
    """Every strategy but the reference (``fixed``); ``<name>+rep`` for the representation
    level of every gradient-level one."""
    from skmtl.neural.weighting import WEIGHTINGS, GradientWeighting

    names = []
    for name, cls in WEIGHTINGS.items():
        if name == "fixed":
            continue
        names.append(name)
        if issubclass(cls, GradientWeighting) and cls.representation_ok:
            names.append(f"{name}+rep")
    return names


def _parse(entry: str):
    """``"upgrad+rep"`` -> ("upgrad", True); ``"mgda"`` -> ("mgda", False); loss level: None."""
    from skmtl.neural.weighting import WEIGHTINGS, GradientWeighting

    name, _, suffix = entry.partition("+")
    if not issubclass(WEIGHTINGS[name], GradientWeighting):
        return name, None
    return name, suffix == "rep"


def time_all(tasks: list[int], names: list[str], repeats: int, rounds: int) -> dict:
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); batch {BATCH}, "
        f"{N_FEATURES} features, trunk {HIDDEN}; ms per step: fastest of {rounds} rounds' "
        f"medians of {repeats}"
    )
    header = (
        f"{'T':>2} {'strategy':<16} {'equal':>7} {'step':>7} {'s/equal':>8} {'loop':>7} "
        f"{'s/loop':>7} {'before':>7}"
    )
    print(header)
    print("-" * len(header))
    ratios = {}
    for T in tasks:
        eq_net, eq_batch = make_net(T, "fixed")
        for entry in names:
            name, rep = _parse(entry)
            net, batch = make_net(T, name, rep)
            loop_net = None
            if rep is not None:
                loop_net, _ = make_net(T, name, rep)
                loop_step(loop_net, batch)  # warm-up
            fns = {"equal": lambda n=eq_net, b=eq_batch: n.train_step(b)}
            if loop_net is not None:
                fns["loop"] = lambda n=loop_net, b=batch: loop_step(n, b)
            fns["step"] = lambda n=net, b=batch: n.train_step(b)
            times = {k: [] for k in fns}
            for _ in range(rounds):  # step by step in turn, so that load changes hit all alike
                samples = interleaved(fns, repeats)
                for k, v in samples.items():
                    times[k].append(v)
            med = {k: 1e3 * min(map(statistics.median, v)) for k, v in times.items() if v}
            r = paired_ratio(times["step"], times["equal"])
            ratios[(T, entry)] = r
            loop = (
                f"{med['loop']:7.2f} {paired_ratio(times['step'], times['loop']):7.2f}"
                if "loop" in med
                else (f"{'':>7} {'':>7}")
            )
            before = BEFORE.get(entry) if T == 8 else None
            before_s = f"{before:7.2f}" if before is not None else ""
            print(
                f"{T:>2} {entry:<16} {med['equal']:7.2f} {med['step']:7.2f} {r:8.2f} {loop} "
                f"{before_s:>7}",
                flush=True,
            )
    return ratios


def goals(ratios: dict) -> None:
    if not any(T == 8 for T, _ in ratios):
        return
    print("\nGoals at T = 8 (step / equal):")
    for entry, goal in (("famo", 1.5), ("upgrad+rep", 2.0), ("mgda+rep", 2.0)):
        if (8, entry) in ratios:
            r = ratios[(8, entry)]
            print(f"  {entry:<12} {r:5.2f}  goal <= {goal}: {'met' if r <= goal else 'MISSED'}")
    for entry, before in BEFORE.items():
        if (8, entry) in ratios and entry != "mgda+rep":
            r = ratios[(8, entry)]
            print(f"  {entry:<12} {r:5.2f}  before {before:.2f} (exact; no slower than before)")


def _peak_child(T: int, name: str, way: str) -> None:
    torch.set_num_threads(1)
    base_name, rep = _parse(name)
    net, batch = make_net(T, "fixed" if way == "equal" else base_name, rep)
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
        sys.exit("no strategy is registered in skmtl.neural.weighting.WEIGHTINGS")
    repeats, rounds = (15, 3) if args.quick else (30, 5)
    goals(time_all(args.tasks, names, repeats, rounds))
    if args.memory:
        memory_table(args.tasks, "upgrad" if "upgrad" in names else names[0])


if __name__ == "__main__":
    main()
