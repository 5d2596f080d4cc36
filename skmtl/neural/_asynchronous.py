"""Asynchronous lock-free training (Hogwild!) of :class:`~skmtl.neural.MultiTaskEstimator`.

:func:`fit_asynchronous` fits the estimator as ``fit`` does (validation, target encoding and
scaling, warm start, divergence recovery, callbacks, validation loss), except that each
training epoch runs in ``n_workers`` processes at once. Before the first epoch, the network's
parameters and buffers, the weighting strategy's parameters and buffers, the optimiser's state
and the training data are moved to shared memory (``torch.Tensor.share_memory_``); each worker
(a process started with ``spawn``, with one torch thread) holds a copy of the net whose tensors
are rebound to that shared memory, so that every optimiser step of every worker writes the
shared parameters in place, without locks (Recht et al. 2011). Each epoch, the main process
draws one permutation of the training rows, gives worker ``r`` the rows ``r, r + n_workers,
...`` of it, waits until every worker has finished its shard, records the epoch in the history
(the per-task training losses over all workers' batches, the mean task weights, every batch's
loss and size) and runs the validation pass and the epoch callbacks itself.

Why processes rather than threads: the steps of a small network are short sequences of small
kernels whose Python overhead holds the GIL; processes overlap completely.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import math
import os
import pickle
import queue
import time
import traceback
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import torch
import torch.multiprocessing as mp

from ._data import BatchSlicer, as_tensor_pair
from ._net import MultiTaskNet

__all__ = ["AsynchronousMultiTaskNet", "active_net_class", "fit_asynchronous"]


@dataclass(frozen=True)
class _Options:
    n_workers: int
    start_method: str
    timeout: float


#: Set by fit_asynchronous for the duration of the fit; None otherwise.
_ACTIVE: contextvars.ContextVar[_Options | None] = contextvars.ContextVar(
    "skmtl_asynchronous", default=None
)


def active_net_class() -> type[MultiTaskNet]:
    """The net class to build: asynchronous inside :func:`fit_asynchronous`, else plain."""
    return AsynchronousMultiTaskNet if _ACTIVE.get() is not None else MultiTaskNet


# -- optimiser state in shared memory --------------------------------------------------------------
def _zeros(p: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(p, memory_format=torch.preserve_format)


def _step0() -> torch.Tensor:
    return torch.tensor(0.0, dtype=torch.float32)


def _sgd(group, p) -> dict:
    return {"momentum_buffer": _zeros(p)} if group.get("momentum", 0) != 0 else {}


def _adam(group, p) -> dict:
    state = {"step": _step0(), "exp_avg": _zeros(p), "exp_avg_sq": _zeros(p)}
    if group.get("amsgrad", False):
        state["max_exp_avg_sq"] = _zeros(p)
    return state


def _rmsprop(group, p) -> dict:
    state = {"step": _step0(), "square_avg": _zeros(p)}
    if group.get("momentum", 0) > 0:
        state["momentum_buffer"] = _zeros(p)
    if group.get("centered", False):
        state["grad_avg"] = _zeros(p)
    return state


#: Optimisers whose whole state is a set of tensors that can be created up front and shared.
#: Adagrad creates its state in its constructor already.
_STATE_INIT = {
    torch.optim.SGD: _sgd,
    torch.optim.Adam: _adam,
    torch.optim.AdamW: _adam,
    torch.optim.RMSprop: _rmsprop,
    torch.optim.Adagrad: None,
}


def check_optimizer(optimizer) -> None:
    """ValueError unless ``optimizer`` (a class) is one whose state can be shared."""
    if optimizer not in _STATE_INIT:
        names = sorted(cls.__name__ for cls in _STATE_INIT)
        raise ValueError(
            f"fit_asynchronous supports the optimisers {names}, whose state it shares between "
            f"the workers; got optimizer={getattr(optimizer, '__name__', optimizer)!r}. "
            "Hogwild is defined for SGD; an adaptive optimiser with per-worker state would not be "
            "Hogwild, so others are refused."
        )


def _init_optimizer_state(opt: torch.optim.Optimizer) -> None:
    """Create every state tensor the optimiser would create at its first step (zeros)."""
    make = _STATE_INIT[type(opt)]
    for group in opt.param_groups:
        for p in group["params"]:
            state = opt.state[p]
            if make is not None and not state:
                state.update(make(group, p))


def _shared_tensors(net) -> list[torch.Tensor]:
    """Every tensor the workers write, in an order that survives pickling the net."""
    out: list[torch.Tensor] = []
    for module in (net.module_, net.weighting_):
        out += [p for p in module.parameters()] + [b for b in module.buffers()]
    opt = net.optimizer_
    for group in opt.param_groups:
        for p in group["params"]:
            state = opt.state.get(p, {})
            out += [state[k] for k in sorted(state) if isinstance(state[k], torch.Tensor)]
    return out


def _hyper(opt: torch.optim.Optimizer) -> list[dict]:
    """The optimiser's hyper-parameters per group (a learning-rate schedule changes them)."""
    return [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]


# -- the worker process ----------------------------------------------------------------------------
def _worker(rank, seed, payload, shared, data, inbox, outbox) -> None:  # pragma: no cover
    # (runs in the spawned processes; covered by tests/neural/test_asynchronous.py)
    try:
        torch.set_num_threads(1)
        torch.manual_seed(seed)
        net = pickle.loads(payload)
        X, Y = data
        # One step on a private copy first: torch's and skorch's lazy initialisation (seconds
        # under load) then happens before the epoch clock starts, and not on shared tensors.
        warm = copy.deepcopy(net)
        if len(X) > 1:
            warm.train_step((X[:8].clone(), Y[:8].clone()))
        del warm
        local = _shared_tensors(net)
        if len(local) != len(shared):
            raise RuntimeError(f"{len(local)} tensors in the worker's net, {len(shared)} shared")
        with torch.no_grad():
            for a, b in zip(local, shared, strict=True):
                if a.shape != b.shape:
                    raise RuntimeError(f"shape {tuple(a.shape)} != shared {tuple(b.shape)}")
                a.data = b
        for p in net.module_.parameters():
            p.grad = None
        outbox.put(("ready", rank, None))
        while True:
            msg = inbox.get()
            if msg is None:
                break
            outbox.put(("epoch", rank, _worker_epoch(net, X, Y, *msg)))
    except BaseException:
        outbox.put(("error", rank, traceback.format_exc()))
        outbox.close()
        outbox.join_thread()
        os._exit(1)
    # Everything the worker wrote is in shared memory and the main process has read every
    # message: leave without interpreter finalisation (seconds of torch teardown under load).
    os._exit(0)


def _worker_epoch(net, X, Y, shard, hyper, past, batch_size, drop_last) -> dict:
    for group, values in zip(net.optimizer_.param_groups, hyper, strict=True):
        group.update(values)
    balancer = net.weighting_
    tasks = balancer.tasks
    balancer.begin_epoch([*past, {}])
    steps_before = balancer.step
    net._epoch_acc = net.new_epoch_accumulator(len(tasks))
    net._set_training(True)
    losses, sizes = [], []
    idx = torch.from_numpy(shard)
    slicer = BatchSlicer(idx, None, batch_size, drop_last=drop_last, merge_singleton=True)
    wall, cpu = time.perf_counter(), time.process_time()
    for rows, _ in slicer:
        step = net.train_step((X[rows], Y[rows]))
        losses.append(float(step["loss"].item()))
        sizes.append(len(rows))
    sums, counts = net._epoch_acc
    net._epoch_acc = None
    acc = balancer._acc
    balancer._acc = None
    return {
        "losses": losses,
        "sizes": sizes,
        "sums": sums.tolist(),
        "counts": counts.tolist(),
        "weights": None if acc is None else (acc[0].tolist(), acc[1].tolist()),
        "steps": balancer.step - steps_before,
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
    }


class _Pool:
    """The worker processes of one fit; ``epoch(...)`` runs one epoch on all of them."""

    def __init__(self, net, X: torch.Tensor, Y: torch.Tensor, opts: _Options) -> None:
        self.opts = opts
        ctx = mp.get_context(opts.start_method)
        shared = _shared_tensors(net)
        for t in [*shared, X, Y]:
            t.share_memory_()
        payload = pickle.dumps(net)
        seed = int(torch.randint(0, 2**31 - 1 - opts.n_workers, (1,)))
        self.outbox = ctx.Queue()
        self.inboxes = [ctx.Queue() for _ in range(opts.n_workers)]
        self.procs = [
            ctx.Process(
                target=_worker,
                args=(r, seed + r, payload, shared, (X, Y), self.inboxes[r], self.outbox),
                daemon=True,
                name=f"skmtl-hogwild-{r}",
            )
            for r in range(opts.n_workers)
        ]
        for p in self.procs:
            p.start()
        self._gather("ready")

    def _gather(self, kind: str) -> list:
        results: list = [None] * len(self.procs)
        pending = set(range(len(self.procs)))
        waited = 0.0
        while pending:
            try:
                got, rank, value = self.outbox.get(timeout=1.0)
            except queue.Empty:
                waited += 1.0
                dead = [r for r in pending if not self.procs[r].is_alive()]
                if dead:
                    code = self.procs[dead[0]].exitcode
                    raise RuntimeError(
                        f"Hogwild worker {dead[0]} exited (exit code {code}) "
                        f"{'before starting' if kind == 'ready' else 'during an epoch'}. With "
                        "the 'spawn' start method every worker imports the main module again: "
                        'a script must call fit_asynchronous under `if __name__ == "__main__":`.'
                    ) from None
                if waited > self.opts.timeout:
                    raise TimeoutError(
                        f"Hogwild workers {sorted(pending)} sent nothing for {waited:.0f} s."
                    ) from None
                continue
            if got == "error":
                raise RuntimeError(f"Hogwild worker {rank} failed:\n{value}")
            results[rank] = value
            pending.discard(rank)
        return results

    def epoch(self, shards: list, hyper, past, batch_size, drop_last) -> list[dict]:
        for inbox, shard in zip(self.inboxes, shards, strict=True):
            inbox.put((shard, hyper, past, batch_size, drop_last))
        return self._gather("epoch")

    def close(self) -> None:
        for inbox in self.inboxes:
            with contextlib.suppress(Exception):
                inbox.put(None)
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)


class _TrainRows:
    """The training iterator of an asynchronous fit: the rows, handed to the workers."""

    def __init__(self, X, Y, batch_size, shuffle: bool, drop_last: bool) -> None:
        self.X, self.Y = X, Y
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last


class AsynchronousMultiTaskNet(MultiTaskNet):
    """A :class:`~skmtl.neural.MultiTaskNet` whose training epochs run Hogwild inside
    :func:`fit_asynchronous` (and that trains and predicts as the plain net outside it)."""

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        opts = _ACTIVE.get()
        if opts is None:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        self.__dict__["_hogwild"] = {"opts": opts, "pool": None}
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        finally:
            state = self.__dict__.pop("_hogwild")
            if state["pool"] is not None:
                state["pool"].close()

    def get_iterator(self, dataset, training=False):
        if not training or "_hogwild" not in self.__dict__:
            return super().get_iterator(dataset, training=training)
        kwargs = self.get_params_for("iterator_train")
        pair = as_tensor_pair(dataset)
        if pair is None or not isinstance(pair[0], torch.Tensor) or pair[1] is None:
            raise ValueError(
                "fit_asynchronous needs in-memory training data (an array or tensor): the "
                "workers slice it from shared memory. Out-of-core data (a memmap or a Dataset) "
                "is not supported; use fit or fit_distributed."
            )
        unknown = set(kwargs) - {"batch_size", "shuffle", "drop_last"}
        if unknown:
            raise ValueError(
                f"fit_asynchronous slices the shared rows itself and cannot apply the iterator "
                f"parameters {sorted(f'iterator_train__{k}' for k in unknown)}."
            )
        # One copy into shared memory (the workers slice it; no copy per worker).
        X, Y = (torch.empty_like(t, memory_format=torch.contiguous_format).copy_(t) for t in pair)
        return _TrainRows(
            X,
            Y,
            kwargs.get("batch_size", self.batch_size),
            shuffle=bool(kwargs.get("shuffle", True)),
            drop_last=bool(kwargs.get("drop_last", False)),
        )

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if not (training and isinstance(iterator, _TrainRows)):
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        if fit_params:
            raise ValueError(
                f"fit_asynchronous does not pass fit parameters {sorted(fit_params)} to the "
                "workers."
            )
        state = self.__dict__["_hogwild"]
        opts = state["opts"]
        if state["pool"] is None:
            self.optimizer_.zero_grad(set_to_none=True)
            _init_optimizer_state(self.optimizer_)
            state["pool"] = _Pool(self, iterator.X, iterator.Y, opts)
        n = len(iterator.X)
        order = torch.randperm(n) if iterator.shuffle else torch.arange(n)
        shards = [order[r :: opts.n_workers].numpy() for r in range(opts.n_workers)]
        balancer = self.weighting_
        tasks = balancer.tasks
        balancer.begin_epoch(self.history)
        keys = [f"train_loss_{t}" for t in tasks]
        past = [{k: row.get(k, math.nan) for k in keys} for row in self.history[:-1]]
        results = state["pool"].epoch(
            shards, _hyper(self.optimizer_), past, iterator.batch_size, iterator.drop_last
        )
        self._record_epoch(results, tasks, prefix)

    def _record_epoch(self, results: list[dict], tasks: list, prefix: str) -> None:
        T = len(tasks)
        sums, counts, n_batches = np.zeros(T), np.zeros(T), 0
        w_sums = torch.zeros(T, dtype=torch.float64)
        w_counts = torch.zeros(T, dtype=torch.float64)
        has_w = False
        for res in results:
            for loss, size in zip(res["losses"], res["sizes"], strict=True):
                self.history.new_batch()
                self.history.record_batch(f"{prefix}_loss", loss)
                self.history.record_batch(f"{prefix}_batch_size", size)
                n_batches += 1
            sums += res["sums"]
            counts += res["counts"]
            if res["weights"] is not None:
                w_sums += torch.tensor(res["weights"][0], dtype=torch.float64)
                w_counts += torch.tensor(res["weights"][1], dtype=torch.float64)
                has_w = True
            self.weighting_.step += res["steps"]
        self.history.record(f"{prefix}_batch_count", n_batches)
        # CPU seconds the workers spent in the epoch's steps (their cores' share of ``dur``)
        self.history.record("worker_cpu", float(sum(res["cpu"] for res in results)))
        diverged = self._record_task_losses(prefix, tasks, sums, counts)
        balancer = self.weighting_
        if has_w and balancer._acc is not None:
            balancer._acc = (w_sums, w_counts)
        for key, value in balancer.end_epoch().items():
            self.history.record(key, value)
        self._raise_if_diverged(diverged)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_hogwild", None)
        return state


def fit_asynchronous(
    estimator,
    X,
    y,
    *,
    n_workers: int = 2,
    start_method: str = "spawn",
    timeout: float = 600.0,
):
    r"""Fit a :class:`~skmtl.neural.MultiTaskEstimator` by asynchronous lock-free SGD (Hogwild!).

    Each epoch, ``n_workers`` processes train on disjoint shards of one permutation of the
    training rows at the same time, each taking optimiser steps

    .. math:: \theta \leftarrow \theta - \eta\,
              u_t\big(\nabla_\theta L_{B}(\theta_{\text{read}})\big)

    on the same parameters :math:`\theta` in shared memory, without locks: a step's gradient may
    have been computed from parameters :math:`\theta_{\text{read}}` that other workers have
    since updated (Recht et al. 2011). :math:`u_t` is the optimiser's update (SGD with momentum,
    or Adam, AdamW, RMSprop, Adagrad with their state shared as well: one set of moments for all
    workers, updated in place as the parameters are). ``batch_size`` is per worker.

    Everything else is as ``estimator.fit(X, y)``: the fitted estimator predicts, scores,
    pickles and saves (:mod:`skmtl.io`) as after a plain fit and continues with ``warm_start``
    or ``partial_fit`` (plain, or through this function again). Its ``history_`` has one row per
    epoch: ``train_loss`` and ``train_loss_<task>`` over all workers' batches (each worker's
    batch losses are also its ``batches``), ``weight_<task>``, ``worker_cpu`` (the CPU seconds
    the workers spent in the epoch's steps) and ``valid_loss`` computed by the main process
    after every epoch (with ``train_split``). The optimiser's state at the end
    (momentum buffers, Adam moments) is the shared state that the workers updated, kept in
    ``net_.optimizer_`` as after a plain fit; the weighting strategy's parameters and buffers
    (uncertainty weighting's variances, FAMO's logits) are shared and kept too.

    Parameters
    ----------
    estimator : MultiTaskEstimator
        On the CPU (``device="cpu"``). A warm start of a net trained by ``fit_distributed``
        is refused; one trained by a plain fit is continued asynchronously.
    X : array-like of shape (n_samples, n_features)
        In memory (out-of-core data is refused).
    y : dict, DataFrame, SliceDict, or array-like of shape (n_samples, n_tasks)
    n_workers : int, default=2
        Worker processes, each with one torch thread; at most the number of free cores.
    start_method : {"spawn", "forkserver"}, default="spawn"
        How the workers start. Both import the main module again in each worker: a script must
        call this function under ``if __name__ == "__main__":``. ``"fork"`` is refused (a
        forked process inherits torch's thread pools and can deadlock).
    timeout : float, default=600
        Seconds to wait for a worker's message before giving up (a stuck worker).

    Returns
    -------
    estimator : MultiTaskEstimator
        The fitted estimator.

    Notes
    -----
    Per-batch callbacks (``on_batch_begin``, ``on_batch_end``, ``on_grad_computed``) run in the
    workers on copies of the callbacks; epoch callbacks (learning-rate schedules, early
    stopping, checkpoints) run in the main process, and a schedule's new learning rate reaches
    the workers at the next epoch. A weighting strategy's other per-step state (random task
    orders, GradVac's moving targets) is per worker and is not brought back. Start-up takes a
    few seconds (each worker imports torch), so this pays off for fits of many epochs.

    Asynchrony acts like extra momentum, about :math:`1 - 1/n` with :math:`n` workers
    (Mitliagkas et al. 2016): with SGD, lower the explicit momentum or ``lr`` as workers are
    added (SGD with momentum 0.9 at ``lr=0.01`` became unstable with two workers on the default
    network after a few epochs, where Adam did not).

    References
    ----------
    .. [1] B. Recht, C. Re, S. Wright, F. Niu, "Hogwild!: A lock-free approach to parallelizing
       stochastic gradient descent", NeurIPS 2011.
    .. [2] I. Mitliagkas, C. Zhang, S. Hadjis, C. Re, "Asynchrony begets momentum, with an
       application to deep learning", Allerton 2016.

    Examples
    --------
    In ``train.py``, run as ``python train.py``:

    >>> from skmtl.neural import MultiTaskEstimator, fit_asynchronous
    >>> est = MultiTaskEstimator(optimizer=torch.optim.SGD, optimizer__momentum=0.9, lr=0.01)
    >>> if __name__ == "__main__":  # doctest: +SKIP
    ...     fit_asynchronous(est, X, y, n_workers=2)
    """
    from ._distributed import DistributedMultiTaskNet

    if not isinstance(n_workers, Integral) or isinstance(n_workers, bool) or n_workers < 1:
        raise ValueError(f"n_workers must be an integer >= 1, got {n_workers!r}.")
    if start_method not in ("spawn", "forkserver"):
        raise ValueError(
            f"start_method must be 'spawn' or 'forkserver', got {start_method!r} (a forked "
            "process inherits torch's thread pools and can deadlock)."
        )
    if not (isinstance(timeout, int | float) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    if str(estimator.device) != "cpu":
        raise ValueError(
            f"fit_asynchronous trains on the CPU (shared-memory tensors); got "
            f"device={estimator.device!r}. Use fit_distributed for several GPUs."
        )
    check_optimizer(estimator.optimizer)
    net = getattr(estimator, "net_", None)
    if net is not None and estimator.warm_start:
        if isinstance(net, DistributedMultiTaskNet):
            raise ValueError(
                "fit_asynchronous cannot warm-start a net trained by fit_distributed; set "
                "warm_start=False or fit a clone."
            )
        if type(net) is MultiTaskNet:  # trained by a plain fit: continue it asynchronously
            net.__class__ = AsynchronousMultiTaskNet
    token = _ACTIVE.set(_Options(int(n_workers), start_method, float(timeout)))
    try:
        estimator.fit(X, y)
    finally:
        _ACTIVE.reset(token)
    return estimator
