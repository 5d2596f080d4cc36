"""Data-parallel training of :class:`~skmtl.neural.MultiTaskEstimator` with ``torch.distributed``.

Every process (rank) runs :func:`fit_distributed` on the same estimator parameters and the same
``X``, ``y`` (an array, or a memmap that every rank opens). Each epoch, the ranks share one
permutation of the samples and rank ``r`` trains on every ``world_size``-th of them (the
slicing-path equivalent of :class:`torch.utils.data.DistributedSampler`, padded so that every rank
takes the same number of steps). The network is wrapped in
:class:`torch.nn.parallel.DistributedDataParallel`, which averages the gradients over the ranks
during the backward pass; the parameters of the weighting strategy (e.g. uncertainty weighting's
log-variances) and, for the gradient-level strategies whose training step computes per-task
gradients itself, all gradients, are averaged by one ``all_reduce`` after the step. The ranks
start from rank 0's parameters, so they hold identical parameters after every optimiser step.

Why ``torch.distributed`` rather than skorch's ``AccelerateMixin`` with Hugging Face accelerate:
it is part of torch (no new dependency), the launch is the standard ``torchrun``, and it leaves
:class:`~skmtl.neural.MultiTaskNet`'s training step alone, including the batched per-task-gradient
step of the gradient-level weighting strategies, which ``accelerator.backward`` would bypass.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from skorch.utils import to_tensor
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from ._data import BatchSlicer, as_tensor_pair
from ._net import _SLICER_KWARGS, MultiTaskNet

__all__ = ["DistributedMultiTaskNet", "ShardedBatchSlicer", "fit_distributed", "net_class"]


@dataclass(frozen=True)
class _Options:
    group: object = None
    ddp_kwargs: dict = field(default_factory=dict)


#: Set by fit_distributed for the duration of the fit; None otherwise.
_ACTIVE: contextvars.ContextVar[_Options | None] = contextvars.ContextVar(
    "skmtl_distributed", default=None
)


def net_class() -> type[MultiTaskNet] | None:
    """The distributed net class inside :func:`fit_distributed`, None otherwise (the caller,
    :func:`~skmtl.neural._build.net_class`, then asks :mod:`._asynchronous`)."""
    return DistributedMultiTaskNet if _ACTIVE.get() is not None else None


class ShardedBatchSlicer:
    """One rank's mini-batches of an epoch: a shard of a permutation shared by all ranks.

    Epoch ``e`` draws the permutation with a generator seeded by ``seed + e`` (the same on every
    rank), pads it by wrapping around to a multiple of ``world_size`` and gives rank ``r`` the
    positions ``r, r + world_size, ...``: the shards are disjoint (but for the padding), cover the
    data, and have the same length, so that every rank runs the same number of steps (a
    collective operation waits for every rank).

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features) or LazyRows
    y : Tensor of shape (n_samples, n_tasks) or None
    batch_size : int or None
        Samples per batch on each rank (-1 or None: the whole shard).
    rank, world_size : int
    shuffle : bool, default=True
    seed : int, default=0
    epoch : int, default=0
        The epoch of the first iteration; each iteration moves to the next.
    drop_last, merge_singleton : bool, default=False
        As :class:`~skmtl.neural._data.BatchSlicer`, applied to the shard.

    Examples
    --------
    >>> X = torch.arange(10.0).reshape(5, 2)
    >>> [xb[:, 0].tolist() for xb, _ in ShardedBatchSlicer(X, None, 2, rank=1, world_size=2,
    ...                                                      shuffle=False)]
    [[2.0, 6.0], [0.0]]
    """

    def __init__(
        self,
        X,
        y,
        batch_size,
        *,
        rank: int,
        world_size: int,
        shuffle: bool = True,
        seed: int = 0,
        epoch: int = 0,
        drop_last: bool = False,
        merge_singleton: bool = False,
    ) -> None:
        self.X, self.y = X, y
        self.rank, self.world_size = int(rank), int(world_size)
        self.shuffle, self.seed, self.epoch = shuffle, int(seed), int(epoch)
        per_rank = math.ceil(len(X) / self.world_size)
        self._slicer_kw = dict(drop_last=drop_last, merge_singleton=merge_singleton)
        self.batch_size = per_rank if batch_size in (None, -1) else max(1, int(batch_size))
        self._n_shard = per_rank

    def shard(self, epoch: int) -> torch.Tensor:
        """This rank's sample indices in ``epoch``."""
        n = len(self.X)
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed + epoch)
            order = torch.randperm(n, generator=gen)
        else:
            order = torch.arange(n)
        total = self._n_shard * self.world_size
        if total > n:
            order = order.repeat(math.ceil(total / n))[:total]
        return order[self.rank : total : self.world_size]

    def __len__(self) -> int:
        return len(self._batches(torch.zeros(self._n_shard, dtype=torch.long)))

    def _batches(self, shard: torch.Tensor) -> BatchSlicer:
        return BatchSlicer(shard, None, self.batch_size, shuffle=False, **self._slicer_kw)

    def __iter__(self):
        shard = self.shard(self.epoch)
        self.epoch += 1
        for idx, _ in self._batches(shard):
            yield self.X[idx], (self.y[idx] if self.y is not None else None)


class _EpochDistributedSampler(DistributedSampler):
    """A DistributedSampler that moves to the next epoch by itself at each iteration."""

    def __iter__(self):
        indices = super().__iter__()
        self.set_epoch(self.epoch + 1)
        return indices


def _average_gradients(params: list, world_size: int, group) -> None:
    """Average ``.grad`` over the ranks in one all_reduce; a gradient that is None on every rank
    stays None (an optimiser then skips that parameter everywhere, as it would without DDP)."""
    if not params:
        return
    flat = []
    for p in params:
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        flat.append(g.reshape(-1))
    present = torch.tensor([p.grad is not None for p in params], dtype=flat[0].dtype)
    buffer = torch.cat([*flat, present.to(flat[0].device)])
    dist.all_reduce(buffer, group=group)
    buffer /= world_size
    offset = 0
    for p, seen in zip(params, buffer[-len(params) :].tolist(), strict=True):
        n = p.numel()
        if seen > 0:
            g = buffer[offset : offset + n].view_as(p)
            if p.grad is None:
                p.grad = g.clone()
            else:
                p.grad.copy_(g)
        offset += n


class DistributedMultiTaskNet(MultiTaskNet):
    """A :class:`~skmtl.neural.MultiTaskNet` that trains data-parallel inside
    :func:`fit_distributed` (and trains and predicts as the plain net outside it).

    The fitted ``module_`` is the plain network (not the DDP wrapper), so that prediction,
    pickling and the weighting strategies see the same module as without distribution.
    """

    _ddp = None  # the DistributedDataParallel wrapper while training
    _shard_seed = 0

    # -- set-up ------------------------------------------------------------------------------
    @staticmethod
    def _options():
        opts = _ACTIVE.get()
        if opts is None or not dist.is_available() or not dist.is_initialized():
            return None
        return opts

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        opts = self._options()
        if opts is None or dist.get_world_size(opts.group) == 1:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        group = opts.group
        src = dist.get_global_rank(group, 0) if group is not None else 0
        with torch.no_grad():  # every rank starts from rank 0's parameters and buffers
            for module in self._learnable_modules():
                for tensor in [*module.parameters(), *module.buffers()]:
                    dist.broadcast(tensor.data, src=src, group=group)
            seed = torch.randint(0, 2**31 - 1, (1,), dtype=torch.long)
            dist.broadcast(seed, src=src, group=group)
        self._shard_seed = int(seed)
        first = next(self.module_.parameters(), None)
        device_ids = [first.device] if first is not None and first.is_cuda else None
        # In __dict__ directly: skorch refuses a module attribute set outside initialize_*.
        self.__dict__["_ddp"] = DistributedDataParallel(
            self.module_, device_ids=device_ids, process_group=group, **opts.ddp_kwargs
        )
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        finally:
            self.__dict__.pop("_ddp", None)
            with torch.no_grad():  # buffers (batch norm statistics) as rank 0's
                for buf in self.module_.buffers():
                    dist.broadcast(buf.data, src=src, group=group)

    def _learnable_modules(self) -> list:
        out = []
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_", None)
            if isinstance(module, torch.nn.Module):
                out.append(module)
        return out

    # -- data ----------------------------------------------------------------------------------
    def get_iterator(self, dataset, training=False):
        opts = self._options()
        if not training or self._ddp is None:
            return super().get_iterator(dataset, training=training)
        group = opts.group
        rank, world = dist.get_rank(group), dist.get_world_size(group)
        kwargs = self.get_params_for("iterator_train")
        shuffle = bool(kwargs.pop("shuffle", False))
        batch_size = kwargs.pop("batch_size", self.batch_size)
        pair = as_tensor_pair(dataset)
        if pair is not None and set(kwargs) <= _SLICER_KWARGS:
            return ShardedBatchSlicer(
                *pair,
                batch_size,
                rank=rank,
                world_size=world,
                shuffle=shuffle,
                seed=self._shard_seed,
                epoch=len(self.history),
                drop_last=bool(kwargs.get("drop_last", False)),
                merge_singleton=True,
            )
        sampler = _EpochDistributedSampler(
            dataset, num_replicas=world, rank=rank, shuffle=shuffle, seed=self._shard_seed
        )
        if batch_size in (None, -1):
            batch_size = len(sampler)
        return self.iterator_train(dataset, batch_size=batch_size, sampler=sampler, **kwargs)

    # -- training step ------------------------------------------------------------------------
    def infer(self, x, **fit_params):
        ddp = self._ddp
        if ddp is None or not self.module_.training or self.weighting_.custom_step:
            return super().infer(x, **fit_params)
        x = to_tensor(x, device=self.device)
        if isinstance(x, dict):
            return ddp(**self._merge_x_and_fit_params(x, fit_params))
        return ddp(x, **fit_params)

    def train_step_single(self, batch, **fit_params):
        step = super().train_step_single(batch, **fit_params)
        if self._ddp is not None:
            # DDP averaged the module's gradients in the backward pass, except in the custom
            # step (per-task gradients, written into .grad): average what it did not cover.
            custom = self.weighting_.custom_step
            covered = set() if custom else {id(p) for p in self.module_.parameters()}
            params = [
                p
                for _, p in self.get_all_learnable_params()
                if p.requires_grad and id(p) not in covered
            ]
            group = self._options().group
            _average_gradients(params, dist.get_world_size(group), group)
        return step


def fit_distributed(estimator, X, y, *, backend: str | None = None, ddp_kwargs=None):
    """Fit a :class:`~skmtl.neural.MultiTaskEstimator` data-parallel, as one rank of a group.

    Call it in every process of the group with the same estimator parameters and the same
    ``X`` and ``y``; each rank trains on its shard of every epoch (``batch_size`` is per rank, so
    a step sees ``world_size * batch_size`` samples) and all ranks end with the same parameters.
    The fitted estimator predicts on its own, without the group.

    Parameters
    ----------
    estimator : MultiTaskEstimator
        Fitted from scratch (a warm start of a net trained without this function is refused).
    X : array-like, memmap or Dataset of shape (n_samples, n_features)
    y : dict, DataFrame, SliceDict, or array-like of shape (n_samples, n_tasks)
    backend : str, default=None
        Used only when no process group is initialised yet: one is created from the
        environment that ``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
        ``MASTER_PORT``) with this backend (None: ``"nccl"`` for a CUDA device, else ``"gloo"``)
        and destroyed after the fit.
    ddp_kwargs : dict, default=None
        Keyword arguments of :class:`torch.nn.parallel.DistributedDataParallel`, e.g.
        ``{"find_unused_parameters": True}`` for a network whose forward pass leaves some
        parameters unused.

    Returns
    -------
    estimator : MultiTaskEstimator
        The fitted estimator.

    Examples
    --------
    In ``train.py``, run as ``torchrun --standalone --nproc_per_node=2 train.py``:

    >>> from skmtl.neural import MultiTaskEstimator, fit_distributed
    >>> est = MultiTaskEstimator(max_epochs=20, random_state=0)
    >>> fit_distributed(est, X, y)  # doctest: +SKIP
    MultiTaskEstimator(max_epochs=20, random_state=0)
    """
    net = getattr(estimator, "net_", None)
    if net is not None and estimator.warm_start and not isinstance(net, DistributedMultiTaskNet):
        raise ValueError(
            "fit_distributed cannot warm-start a net trained by a plain fit; set "
            "warm_start=False or fit a clone."
        )
    cuda = str(estimator.device).startswith("cuda")
    created = False
    if not dist.is_initialized():
        missing = [
            v for v in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ
        ]
        if missing:
            raise RuntimeError(
                "fit_distributed needs an initialised torch.distributed process group, or the "
                f"environment that torchrun sets (missing: {missing})."
            )
        dist.init_process_group(backend or ("nccl" if cuda else "gloo"))
        created = True
    if cuda and str(estimator.device) == "cuda" and "LOCAL_RANK" in os.environ:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    token = _ACTIVE.set(_Options(group=None, ddp_kwargs=dict(ddp_kwargs or {})))
    try:
        estimator.fit(X, y)
    finally:
        _ACTIVE.reset(token)
        if created:
            with contextlib.suppress(Exception):
                dist.destroy_process_group()
    return estimator
