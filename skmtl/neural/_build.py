"""Building the skorch net from the estimator's parameters, and updating it for a warm start.

The functions receive the estimator's parameters (``get_params(deep=False)``, routed keyword
arguments included) as a dict, not the estimator.
"""

from __future__ import annotations

import copy
from numbers import Integral
from typing import Any

import torch
from skorch.callbacks import PrintLog
from skorch.dataset import ValidSplit

from .._targets import TaskSpec
from . import _asynchronous, _distributed
from ._config import ARCHITECTURE_PARAMS
from ._early_stopping import TaskValidSplit, early_stopping_callback
from ._long_module import TaskHeadsMLP
from ._long_net import LongLayoutNet, use_sparse_heads
from ._losses import MultiTaskLoss
from ._net import MultiTaskNet
from .architectures import architecture_module, check_architecture_params
from .weighting._trainer import TaskBalancer, weighting_changed, weighting_params

__all__ = ["build_net", "make_train_split", "net_architecture", "update_training_params"]

_ROUTED_TO_NET = ("optimizer__", "iterator_train__", "iterator_valid__", "callbacks__")


def net_class():
    """The net class that :func:`build_net` builds: distributed inside ``fit_distributed``,
    asynchronous (Hogwild) inside ``fit_asynchronous``, the plain net otherwise."""
    return _distributed.net_class() or _asynchronous.active_net_class()


def _routed(params: dict, prefix: str) -> dict:
    return {k: v for k, v in params.items() if k.startswith(prefix)}


def net_architecture(params: dict, spec: TaskSpec, n_features_in: int) -> dict:
    """What the network is built from; a warm start needs all of it unchanged."""
    config = {name: params[name] for name in ARCHITECTURE_PARAMS}
    config.update(_routed(params, "module__"), **_routed(params, "optimizer__"))
    module = params["module"]
    config["module"] = id(module) if isinstance(module, torch.nn.Module) else module
    config["n_features_in"] = n_features_in
    config["tasks"] = list(spec.names)
    config["types"] = dict(spec.types)
    config["classes"] = {t: c.tolist() for t, c in spec.classes.items()}
    config["task_column"] = params.get("task_column")
    return config


def make_train_split(split: Any, seed: int | None, params: dict | None = None, n_tasks=None):
    """skorch's ``train_split`` from the estimator's: None, a fraction, a fold count, a callable.

    With ``early_stopping=True`` and ``train_split=None``, :class:`TaskValidSplit` holds out
    ``validation_fraction`` of the rows (every task represented); an explicit ``train_split``
    gives the validation part instead (``validation_fraction`` is then unused).
    """
    if split is None and params is not None and params.get("early_stopping"):
        layout = "long" if params.get("task_column") is not None else "wide"
        return TaskValidSplit(
            params["validation_fraction"], layout=layout, n_tasks=n_tasks, random_state=seed
        )
    if split is None or callable(split):
        return split
    if isinstance(split, Integral):
        return ValidSplit(int(split))
    return ValidSplit(float(split), random_state=seed)


def build_net(
    params: dict,
    spec: TaskSpec,
    n_features: int,
    weights: dict,
    losses: dict,
    task_names: list | None = None,
) -> MultiTaskNet:
    """A new, uninitialised MultiTaskNet for these tasks (its train_split is set at fit).

    With ``task_names`` (the long layout), a :class:`LongLayoutNet` over a
    :class:`TaskHeadsMLP` with one deviation per task; ``spec`` then has the one target.
    """
    check_architecture_params(params)
    module = params["module"]
    cls, long_kwargs = net_class(), {}
    if task_names is not None:
        if cls is not MultiTaskNet:
            raise ValueError("fit_distributed does not support task_column (the long layout).")
        cls = LongLayoutNet
        long_kwargs = {"coupling": params["coupling"], "task_names": list(task_names)}
        hidden = tuple(params["hidden_units"])
        row_size = ((hidden[-1] if hidden else n_features) + 1) * max(spec.n_outputs().values())
        module, module_kwargs = (
            TaskHeadsMLP,
            {
                "n_tasks": len(task_names),
                "hidden_units": tuple(params["hidden_units"]),
                "activation": params["activation"],
                "dropout": params["dropout"],
                "batch_norm": params["batch_norm"],
                "sparse": use_sparse_heads(len(task_names), row_size, params["batch_size"]),
            },
        )
    elif module is None:
        # architecture= names a class of skmtl.neural.architectures (default: shared bottom).
        module, module_kwargs = architecture_module(params)
    elif isinstance(module, torch.nn.Module):
        module, module_kwargs = copy.deepcopy(module), None  # an instance is used as it is
    else:
        module_kwargs = {}
    routed = {}
    if module_kwargs is not None:
        module_kwargs.update(n_features_in=n_features, task_outputs=spec.n_outputs())
        given = _routed(params, "module__")
        module_kwargs.update({k[len("module__") :]: v for k, v in given.items()})
        routed.update({f"module__{k}": v for k, v in module_kwargs.items()})
    for prefix in _ROUTED_TO_NET:
        routed.update(_routed(params, prefix))
    routed.setdefault("iterator_train__shuffle", True)
    if not params["verbose"]:
        # skorch's PrintLog formats its table every epoch even when silent: drop it.
        routed.setdefault("callbacks__print_log", None)
    elif task_names is not None:  # the long layout: no column per task in the printed table
        per_task = [f"{p}_loss_{t}" for p in ("train", "valid") for t in task_names]
        per_task += [f"weight_{name}" for name in spec.names]  # the one target's weight, 1
        routed.setdefault("callbacks__print_log__keys_ignored", per_task)
    callbacks = params["callbacks"]
    if isinstance(callbacks, list):
        callbacks = copy.deepcopy(callbacks)  # training mutates callbacks; keep the parameter
    if params["verbose"] >= 2 and callbacks != "disable":
        # verbose=2: skorch's per-batch progress bar (tqdm) besides the per-epoch table
        from skorch.callbacks import ProgressBar

        callbacks = [*(callbacks or []), ("progress_bar", ProgressBar())]
    stopping = early_stopping_callback(params)
    if stopping is not None:
        callbacks = [*(callbacks or []), stopping]
    return cls(
        module=module,
        criterion=MultiTaskLoss,
        optimizer=params["optimizer"],
        lr=params["lr"],
        max_epochs=params["max_epochs"],
        batch_size=params["batch_size"],
        train_split=None,
        callbacks=callbacks,
        verbose=params["verbose"],
        device=params["device"],
        weighting=TaskBalancer,
        criterion__task_types=dict(spec.types),
        criterion__task_losses=losses,
        **weighting_params(params, spec.types, weights),
        **long_kwargs,
        **routed,
    )


def update_training_params(net: MultiTaskNet, params: dict, weights: dict) -> None:
    """Apply the current training parameters to a fitted net before continuing its training."""
    if bool(net.verbose) != bool(params["verbose"]) and "callbacks__print_log" not in params:
        net.set_params(callbacks__print_log=PrintLog() if params["verbose"] else None)
    net.set_params(
        lr=params["lr"],
        max_epochs=params["max_epochs"],
        batch_size=params["batch_size"],
        verbose=params["verbose"],
    )
    if isinstance(net, LongLayoutNet):
        net.coupling = params["coupling"]
    new = weighting_params(params, net.weighting__task_types, weights)
    if weighting_changed(net, new):
        # A criterion-side change: skorch re-initialises the criteria and the optimiser.
        net.set_params(**new)
