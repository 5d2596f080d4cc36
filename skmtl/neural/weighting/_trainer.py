"""The trainer side of the weighting strategies: the net's ``weighting_`` component.

:class:`TaskBalancer` is what :class:`~skmtl.neural.MultiTaskNet` holds as ``weighting_`` (a
skorch criterion-side component, so a strategy's learned parameters, e.g. uncertainty
weighting's log-variances, are trained by the net's optimiser). It owns the strategy, scales the
per-task losses by the estimator's ``task_weights``, hands each strategy what it asks for as
call arguments (losses, the per-task mean losses of past epochs, gradient norms, the Gramian of
the per-task gradients) and records the weights of each epoch.

:func:`gradient_train_step` is the training step of the gradient-level strategies (and
GradNorm): one forward pass, the per-task gradients of the shared parameters in one batched
backward pass (:func:`~._gradients.task_jacobian`), the strategy's combination, and the
gradients written into ``.grad`` for the optimiser. The task-specific parameters (heads) get
the gradient of :math:`\\sum_t w^{\\text{task}}_t L_t` (each head only sees its own loss).
A task with no label in the batch is left out of the Gramian and gets weight 0.
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Hashable, Mapping

import torch
from skorch.dataset import unpack_data
from torch import nn

from ._base import GradientWeighting, LossWeighting, Weighting
from ._gradients import (
    BatchedGradState,
    find_shared_parameters,
    last_shared_parameters,
    task_jacobian,
)

__all__ = [
    "TaskBalancer",
    "gradient_train_step",
    "make_weighting",
    "weighting_changed",
    "weighting_params",
]


def make_weighting(weighting: str | Weighting, params: Mapping | None = None) -> Weighting:
    """A fresh strategy from its name or from an instance (whose parameters are copied).

    ``params`` (e.g. from ``weighting__c=0.4``) override the strategy's constructor parameters.
    """
    from . import WEIGHTINGS  # the one table of names

    params = dict(params or {})
    if isinstance(weighting, str):
        if weighting not in WEIGHTINGS:
            raise ValueError(
                f"weighting={weighting!r} is not a known strategy; choose among "
                f"{sorted(WEIGHTINGS)} or pass a strategy instance."
            )
        cls, base = WEIGHTINGS[weighting], {}
    elif isinstance(weighting, Weighting):
        cls, base = type(weighting), weighting.get_params(deep=False)
    else:
        raise TypeError(
            f"weighting must be a strategy name or a Weighting instance, got {weighting!r}."
        )
    known = set(cls(**base).get_params(deep=False)) if params else set()
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"{cls.__name__} has no parameter(s) {unknown}; its parameters are {sorted(known)}."
        )
    return cls(**{**base, **params})


def _weighted_sum(losses: Mapping, weights: list[float]) -> torch.Tensor:
    """``sum_t w_t L_t`` term by term (exactly as the former StaticWeighting)."""
    total = None
    for loss, w in zip(losses.values(), weights, strict=True):
        term = loss if w == 1.0 else loss * w
        total = term if total is None else total + term
    return total


class TaskBalancer(nn.Module):
    """The net's ``weighting_``: a strategy, the ``task_weights`` scale, and the record.

    Parameters
    ----------
    task_types : dict
        Task name -> ``"classification"`` or ``"regression"``, in the order of the loss columns.
    strategy : str or Weighting, default="fixed"
        The strategy; an instance is copied (its parameters, not its state).
    task_weights : dict, default=None
        Task name -> non-negative scale :math:`s_t`; the strategy sees :math:`s_t L_t`.

    Notes
    -----
    Training (``forward(losses, counts, training=True)``) returns the strategy's objective;
    validation returns :math:`\\sum_t s_t L_t` whatever the strategy, so that ``valid_loss``
    is comparable across strategies (and random or learned weights do not make it noisy).
    """

    def __init__(
        self,
        task_types: Mapping[Hashable, str],
        strategy: str | Weighting = "fixed",
        task_weights: Mapping[Hashable, float] | None = None,
    ) -> None:
        super().__init__()
        self.task_types = dict(task_types)
        self.tasks = list(self.task_types)
        self.task_weights = task_weights
        self.strategy = make_weighting(strategy)
        self.strategy.setup(self.tasks, self.task_types)
        self.scale_list = [float((task_weights or {}).get(t, 1.0)) for t in self.tasks]
        self.register_buffer("scale", torch.tensor(self.scale_list), persistent=False)
        self.epoch, self.step = 0, 0
        self.epoch_losses: torch.Tensor | None = None
        self.shared_names: list[str] | None = None
        self.grad_state = BatchedGradState()
        self._warned_no_shared = False
        self._acc: tuple[torch.Tensor, torch.Tensor] | None = None

    # -- what the strategy is -------------------------------------------------------------------
    @property
    def static(self) -> bool:
        return bool(getattr(self.strategy, "static", False))

    @property
    def custom_step(self) -> bool:
        """Whether training needs :func:`gradient_train_step` rather than a plain backward."""
        s = self.strategy
        return isinstance(s, GradientWeighting) or "grad_norms" in getattr(s, "inputs", ())

    # -- epochs -----------------------------------------------------------------------------------
    def begin_epoch(self, history) -> None:
        """Called by the net before a training epoch; ``history``'s last row is the new epoch."""
        self.epoch = max(len(history) - 1, 0)
        rows = history[:-1] if len(history) else []
        past = [[row.get(f"train_loss_{t}", math.nan) for t in self.tasks] for row in rows]
        self.epoch_losses = torch.tensor(past, dtype=torch.float64).reshape(-1, len(self.tasks))
        T = len(self.tasks)
        self._acc = (torch.zeros(T, dtype=torch.float64), torch.zeros(T, dtype=torch.float64))

    def end_epoch(self) -> dict:
        """``{"weight_<task>": mean effective weight over the epoch's steps with labels}``."""
        if self.static:
            w = self.strategy.last_weights_
            values = [s * float(x) for s, x in zip(self.scale_list, w.tolist(), strict=True)]
        else:
            if self._acc is None:
                return {}
            sums, counts = self._acc
            values = [
                s / c if c > 0 else math.nan
                for s, c in zip(sums.tolist(), counts.tolist(), strict=True)
            ]
        self._acc = None
        return {f"weight_{t}": v for t, v in zip(self.tasks, values, strict=True)}

    def _record(self, weights: torch.Tensor | None, active: torch.Tensor) -> None:
        if weights is None or self._acc is None:
            return
        w = weights.detach().to("cpu", torch.float64) * self.scale.to(torch.float64)
        a = active.to("cpu", torch.float64)
        self._acc[0].add_(w * a)
        self._acc[1].add_(a)

    # -- the loss-level path ---------------------------------------------------------------
    def scaled(self, losses: Mapping) -> torch.Tensor:
        L = torch.stack(list(losses.values()))
        return L * self.scale.to(L.dtype)

    def _extras(self, active: torch.Tensor, grad_norms: torch.Tensor | None = None) -> dict:
        wanted = getattr(self.strategy, "inputs", ())
        extras = {}
        if "active" in wanted:
            extras["active"] = active
        if "epoch_losses" in wanted:
            extras["epoch_losses"] = self.epoch_losses
        if "grad_norms" in wanted:
            extras["grad_norms"] = grad_norms
        return extras

    def loss_objective(self, L: torch.Tensor, active: torch.Tensor, **extra) -> torch.Tensor:
        s = self.strategy
        kwargs = {**self._extras(active), **extra}
        if type(s).objective is LossWeighting.objective:
            w = s.weights(L.detach(), epoch=self.epoch, step=self.step, **kwargs)
            s.last_weights_ = w.detach()
            obj = torch.sum(w * L)
        else:
            obj = s.objective(L, epoch=self.epoch, step=self.step, **kwargs)
        self._record(s.last_weights_, active)
        self.remember_losses(L, active)
        self.step += 1
        return obj

    # -- the post-step hook ----------------------------------------------------------------
    def remember_losses(self, L: torch.Tensor, active: torch.Tensor) -> None:
        """Keep this step's losses for :meth:`after_step` (only if the strategy asks for them)."""
        if self.strategy.needs_post_step_losses:
            self.__dict__["_before"] = (L.detach(), active, self.epoch, self.step)

    def after_step(self, net, batch, **fit_params) -> None:
        """Called by the net after each optimiser step: the strategy's post-step hook.

        For a strategy with ``needs_post_step_losses``, evaluates the same batch again with the
        stepped parameters (evaluation mode, so that batch-norm statistics are not updated twice
        and dropout is off; no gradient; not counted in the epoch's losses) and calls
        ``strategy.after_step(before, after, ...)``. Does nothing for the other strategies.
        Inside :func:`~skmtl.neural.fit_distributed`, the losses before and after are averaged
        over the ranks first, so that every rank takes the same update of the strategy's state.
        """
        before = self.__dict__.pop("_before", None)
        if before is None or not self.strategy.needs_post_step_losses:
            return
        L0, active, epoch, step = before
        Xi, yi = unpack_data(batch)
        module = net.module_
        training = module.training
        acc = getattr(net, "_epoch_acc", None)
        net._epoch_acc = None  # the second evaluation is not part of the epoch's losses
        switch = self._mode_switch(module)
        switch(False)
        try:
            with torch.no_grad():
                y_pred = net.infer(Xi, **fit_params)
                losses, _ = net.get_task_losses(y_pred, yi, training=False)
                L1 = self.scaled(losses).detach()
        finally:
            switch(training)
            net._epoch_acc = acc
        L0, L1 = _rank_mean(net, L0, L1)
        self.strategy.after_step(L0, L1, active=active, epoch=epoch, step=step)

    def forward(self, losses: Mapping, counts: torch.Tensor | None = None, training: bool = True):
        """The scalar to back-propagate (training) or to report (validation)."""
        if not training:
            return _weighted_sum(losses, self.scale_list)
        s = self.strategy
        if self.static:
            weights = [a * b for a, b in zip(self.scale_list, s.weight_list, strict=True)]
            return _weighted_sum(losses, weights)
        if not isinstance(s, LossWeighting):
            # A gradient-level strategy outside gradient_train_step: equal weights.
            return _weighted_sum(losses, self.scale_list)
        L = self.scaled(losses)
        active = _active(counts, L)
        return self.loss_objective(L, active)

    def _mode_switch(self, module: nn.Module):
        """``switch(mode)``: ``module.train(mode)``, without its recursive walk at every step.

        ``nn.Module.train`` sets ``training`` on every submodule through ``__setattr__``; at two
        switches per step that was about a third of a small network's step. When no submodule
        overrides ``train``, the flags are set directly on a cached list of the submodules.
        """
        cache = self.__dict__.get("_modes_cache")
        if cache is None or cache[0]() is not module:
            subs = list(module.modules())
            plain = all(type(m).train is nn.Module.train for m in subs)
            cache = (weakref.ref(module), subs if plain else None)
            self.__dict__["_modes_cache"] = cache
        subs = cache[1]
        if subs is None:
            return module.train

        def switch(mode: bool) -> None:
            for m in subs:
                m.__dict__["training"] = mode

        return switch

    # -- shared parameters -------------------------------------------------------------------
    def shared_parameters(self, module: nn.Module, outputs: Mapping) -> list[torch.Tensor]:
        """The shared parameters of ``module`` (see :mod:`._gradients` for the convention)."""
        return self.split_parameters(module, outputs)[0]

    def split_parameters(self, module: nn.Module, outputs: Mapping) -> tuple[list, list]:
        """(shared, task-specific) trainable parameters, cached while the module is the same."""
        cache = self.__dict__.get("_split_cache")
        if cache is not None and cache[0]() is module:
            return cache[1], cache[2]
        self.shared_names = find_shared_parameters(module, outputs)
        names = set(self.shared_names)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        shared = [p for n, p in named if n in names]
        others = [p for n, p in named if n not in names]
        self.__dict__["_split_cache"] = (weakref.ref(module), shared, others)
        return shared, others

    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        state = {**state, "_acc": None, "_split_cache": None}
        state.pop("_before", None)
        state.pop("_modes_cache", None)
        return state


def _rank_mean(net, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The tensors averaged over the ranks while ``net`` trains data-parallel, else unchanged."""
    if getattr(net, "_ddp", None) is None:
        return tensors
    import torch.distributed as dist

    group = net._options().group
    flat = torch.stack([t.to(torch.float64) for t in tensors])
    dist.all_reduce(flat, group=group)
    flat /= dist.get_world_size(group)
    return tuple(f.to(t.dtype) for f, t in zip(flat, tensors, strict=True))


def _active(counts: torch.Tensor | None, L: torch.Tensor) -> torch.Tensor:
    if counts is None:
        return torch.ones(len(L), dtype=torch.bool, device=L.device)
    return (counts > 0).to(L.device)


def _add_grad(param: torch.Tensor, grad: torch.Tensor) -> None:
    if param.grad is None:
        param.grad = grad
    else:
        param.grad.add_(grad)


_REPRESENTATION_MODES = (True, False, "auto")


def _representation(module: nn.Module, strategy: Weighting) -> torch.Tensor | None:
    """The shared representation to differentiate with respect to, or None (exact gradients).

    ``strategy.use_representation``: False never; ``"auto"`` (the default of a strategy without
    the attribute) where the module exposes one; True always, or a ValueError that says why the
    module has none (its ``no_representation`` reason, for PLE and cross-stitch).
    """
    if not getattr(strategy, "representation_ok", False):
        return None
    mode = getattr(strategy, "use_representation", "auto")
    if not any(mode is m or (isinstance(mode, str) and mode == m) for m in _REPRESENTATION_MODES):
        raise ValueError(
            f"weighting={strategy.name!r}: use_representation must be True, False or 'auto', "
            f"got {mode!r}."
        )
    if mode is False:
        return None
    z = getattr(module, "representation_", None)
    if isinstance(z, torch.Tensor) and z.requires_grad and z.grad_fn is not None:
        return z
    if mode is True:
        reason = getattr(module, "no_representation", None) or (
            "its forward sets no representation_ tensor through which every shared parameter "
            "reaches the outputs"
        )
        raise ValueError(
            f"weighting={strategy.name!r} with use_representation=True needs the network's "
            f"shared representation, but {type(module).__name__} has none: {reason}. Use "
            "use_representation=False (exact per-parameter gradients), or an architecture "
            "that exposes one ('shared_bottom', 'mmoe', 'dselect_k')."
        )
    return None


def _task_aliases(module: nn.Module, z: torch.Tensor, T: int) -> list | None:
    """The module's per-task aliases of ``z`` (``task_representations_``), if it has them."""
    aliases = getattr(module, "task_representations_", None)
    if not isinstance(aliases, list | tuple) or len(aliases) != T:
        return None
    if any(a is z or not isinstance(a, torch.Tensor) or a.grad_fn is None for a in aliases):
        return None
    return list(aliases)


def gradient_train_step(net, Xi, yi, **fit_params) -> dict:
    """One training step of a gradient-level strategy (or GradNorm) on a MultiTaskNet.

    Leaves the update direction in the parameters' ``.grad`` (the net's optimiser then steps)
    and returns skorch's ``{"loss": ..., "y_pred": ...}``; the reported loss is
    :math:`\\sum_t s_t L_t` (GradNorm: :math:`\\sum_t w_t s_t L_t`).
    """
    balancer: TaskBalancer = net.weighting_
    strategy = balancer.strategy
    module = net.module_
    if hasattr(module, "representation_"):
        module.representation_ = None  # never use a stale one
        module.__dict__.pop("task_representations_", None)
    y_pred = net.infer(Xi, **fit_params)
    losses, counts = net.get_task_losses(y_pred, yi, training=True)
    L = balancer.scaled(losses)
    active = _active(counts, L)
    idx = torch.nonzero(active).flatten()
    shared, others = balancer.split_parameters(module, y_pred)

    if isinstance(strategy, LossWeighting):  # GradNorm: norms over the last shared layer
        grad_norms = torch.zeros_like(L)
        if shared and len(idx) > 0:
            last = last_shared_parameters(module, shared)
            J = task_jacobian(L[idx], last, balancer.grad_state)
            norms = torch.cat([j.reshape(len(idx), -1) for j in J], dim=1).norm(dim=1)
            grad_norms = grad_norms.index_copy(0, idx, norms.detach())
        obj = balancer.loss_objective(L, active, grad_norms=grad_norms)
        obj.backward()
        report = torch.sum(strategy.last_weights_.to(L.dtype) * L.detach())
        return {"loss": report, "y_pred": y_pred}

    report = L.detach().sum()
    k = len(idx)
    if k == 0:  # no label at all in this batch: nothing to learn from
        return {"loss": report, "y_pred": y_pred}
    if not shared:
        if not balancer._warned_no_shared:
            warnings.warn(
                f"weighting={strategy.name!r}: the network has no shared parameters (no "
                "parameter feeds two tasks), so there is nothing to balance; training on the "
                "sum of the task losses.",
                UserWarning,
                stacklevel=2,
            )
            balancer._warned_no_shared = True
        L.sum().backward()
        return {"loss": report, "y_pred": y_pred}

    step_kw = {"epoch": balancer.epoch, "step": balancer.step}
    L_act = L[idx]
    z = _representation(module, strategy)
    if z is not None:
        # MGDA-UB: gradients with respect to the shared representation only; the same batched
        # pass gives the task-specific parameters theirs (each reaches one task's loss only).
        aliases = _task_aliases(module, z, len(L))
        if aliases is not None:
            # One alias of z per task (read by that task's head only): one ordinary backward
            # pass of the summed losses gives each task's gradient with respect to z.
            chosen = [aliases[i] for i in idx.tolist()]
            grads = torch.autograd.grad(
                L_act.sum(), chosen + others, retain_graph=True, allow_unused=True
            )
            G = torch.stack(
                [
                    (torch.zeros_like(z) if g is None else g).reshape(-1)
                    for g in grads[: len(chosen)]
                ]
            )
            head = [g if g is None else g[None] for g in grads[len(chosen) :]]
        else:
            J = task_jacobian(L_act, [z, *others], balancer.grad_state)
            G, head = J[0].reshape(k, -1), J[1:]
        direction, w = _combine(strategy, G, L_act, step_kw)
        for p, j in zip(others, head, strict=True):
            if j is not None:
                _add_grad(p, j.sum(dim=0))
        z.backward(direction.reshape(z.shape).to(z.dtype))
    else:
        J = task_jacobian(L_act, shared + others, balancer.grad_state)
        G = torch.cat([j.reshape(k, -1) for j in J[: len(shared)]], dim=1)
        direction, w = _combine(strategy, G, L_act, step_kw)
        offset = 0
        for p in shared:
            n = p.numel()
            _add_grad(p, direction[offset : offset + n].view_as(p).to(p.dtype))
            offset += n
        for p, j in zip(others, J[len(shared) :], strict=True):
            _add_grad(p, j.sum(dim=0))
    if w is not None:
        full = torch.zeros(len(L), dtype=w.dtype, device=w.device).index_copy(0, idx, w.detach())
        strategy.last_weights_ = full
        balancer._record(full, active)
    balancer.remember_losses(L, active)
    balancer.step += 1
    return {"loss": report, "y_pred": y_pred}


def _combine(strategy: GradientWeighting, G: torch.Tensor, L: torch.Tensor, step_kw: dict):
    """Update direction (d,) and task weights (k,) (None if the method has none)."""
    if strategy.needs_gradients:
        direction = strategy.aggregate(G, L.detach(), **step_kw)
        w = strategy.last_weights_
        if w is not None and w.shape != L.shape:
            w = None
        return direction, w
    w = strategy.weights_from_gramian(G @ G.T, L.detach(), **step_kw)
    w = w.to(G.dtype)
    return w @ G, w


def weighting_params(params: Mapping, task_types: Mapping, task_weights: Mapping) -> dict:
    """The net's ``weighting__*`` parameters from the estimator's parameters.

    ``params["weighting"]`` (a name or an instance, default ``"fixed"``) and the routed
    ``weighting__<name>`` keyword arguments make the strategy.
    """
    routed = {k[len("weighting__") :]: v for k, v in params.items() if k.startswith("weighting__")}
    return {
        "weighting__task_types": dict(task_types),
        "weighting__strategy": make_weighting(params.get("weighting", "fixed"), routed),
        "weighting__task_weights": dict(task_weights),
    }


def _same_strategy(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return type(a) is type(b) and a.get_params(deep=False) == b.get_params(deep=False)


def weighting_changed(net, new: Mapping) -> bool:
    """Whether a warm start must rebuild the net's ``weighting_`` (new strategy or weights)."""
    return not (
        getattr(net, "weighting__task_weights", None) == new["weighting__task_weights"]
        and getattr(net, "weighting__task_types", None) == new["weighting__task_types"]
        and _same_strategy(getattr(net, "weighting__strategy", None), new["weighting__strategy"])
    )
