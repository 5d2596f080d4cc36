"""Multi-task network architectures, chosen by name with ``MultiTaskEstimator(architecture=...)``.

Every architecture is an ``nn.Module`` class called as
``cls(n_features_in, task_outputs, **params)`` whose ``forward(X)`` returns ``{task: Tensor}``;
it also works as ``MultiTaskEstimator(module=cls, module__<param>=...)``. Each one exposes
``shared_parameters()`` and, where it has gates, ``gate_weights(X)``.

The estimator's ``hidden_units``, ``head_units``, ``activation``, ``dropout`` and
``batch_norm`` apply to every architecture (``hidden_units`` sizes the shared trunk, each expert
or each column); the parameters of :data:`ARCHITECTURE_ONLY_PARAMS` apply to the architectures
that list them in their ``params`` and default to None ("the architecture's default").
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ._cross_stitch import CrossStitch
from ._dselect_k import DSelectK
from ._mmoe import MMoE
from ._ple import PLE
from ._shared_bottom import SharedBottom

__all__ = [
    "ARCHITECTURES",
    "ARCHITECTURE_ONLY_PARAMS",
    "CrossStitch",
    "DSelectK",
    "MMoE",
    "PLE",
    "SharedBottom",
    "architecture_module",
    "check_architecture_params",
    "module_gate_weights",
]

#: ``architecture=`` name -> module class: the one table.
ARCHITECTURES: dict[str, type[nn.Module]] = {
    "shared_bottom": SharedBottom,
    "mmoe": MMoE,
    "ple": PLE,
    "cross_stitch": CrossStitch,
    "dselect_k": DSelectK,
}

#: Estimator parameters for the architectures that take them (None: not given).
ARCHITECTURE_ONLY_PARAMS = ("n_experts", "n_task_experts", "n_levels", "top_k")

#: Estimator parameters that every architecture takes.
_COMMON_PARAMS = ("hidden_units", "head_units", "activation", "dropout", "batch_norm")


def _takers(param: str) -> list[str]:
    return [name for name, cls in ARCHITECTURES.items() if param in cls.params]


def check_architecture_params(params: dict[str, Any]) -> None:
    """Check ``architecture`` and the architecture-only parameters of an estimator.

    ``params`` holds the estimator's parameters (``get_params(deep=False)``). Raises a
    ValueError for an unknown architecture name, an architecture-only parameter given to an
    architecture that does not take it, or any of them together with a user's ``module``.
    """
    name = params.get("architecture", "shared_bottom")
    if name not in ARCHITECTURES:
        raise ValueError(
            f"architecture={name!r} is not one of {sorted(ARCHITECTURES)}; pass a network of "
            "your own as module=<nn.Module class> instead."
        )
    given = [p for p in ARCHITECTURE_ONLY_PARAMS if params.get(p) is not None]
    if params.get("module") is not None:
        if name != "shared_bottom" or given:
            extra = [f"architecture={name!r}"] if name != "shared_bottom" else []
            extra += [f"{p}={params[p]!r}" for p in given]
            raise ValueError(
                f"{', '.join(extra)} cannot be used with module={params['module']!r}: the "
                "architecture parameters size the built-in networks only. Pass the module's own "
                "parameters as module__<name>."
            )
        return
    accepted = ARCHITECTURES[name].params
    for p in given:
        if p not in accepted:
            raise ValueError(
                f"{p}={params[p]!r} does not apply to architecture={name!r}; it is a parameter "
                f"of {_takers(p)}. Leave it as None for {name!r}."
            )


def architecture_module(params: dict[str, Any]) -> tuple[type[nn.Module], dict[str, Any]]:
    """The module class named by ``params["architecture"]`` and its keyword arguments.

    The keyword arguments are the common parameters and the architecture-only parameters that
    were given (not None); ``n_features_in`` and ``task_outputs`` are added by the caller.
    """
    check_architecture_params(params)
    cls = ARCHITECTURES[params.get("architecture", "shared_bottom")]
    kwargs = {p: params[p] for p in _COMMON_PARAMS}
    kwargs["hidden_units"] = tuple(kwargs["hidden_units"])
    kwargs["head_units"] = tuple(kwargs["head_units"])
    kwargs.update({p: params[p] for p in cls.params if params.get(p) is not None})
    return cls, kwargs


def module_gate_weights(module: nn.Module, X: torch.Tensor, tasks: list) -> dict:
    """Gate weights ``{task: ndarray}`` of a fitted module, in evaluation mode without gradients."""
    if not callable(getattr(module, "gate_weights", None)):
        gated = [name for name, cls in ARCHITECTURES.items() if hasattr(cls, "gate_weights")]
        raise AttributeError(
            f"The network ({type(module).__name__}) has no gates; gate weights exist for the "
            f"architectures {gated} and for modules with a gate_weights(X) method."
        )
    training = module.training
    module.eval()
    try:
        with torch.no_grad():
            gates = module.gate_weights(X)
    finally:
        module.train(training)
    return {task: gates[task].detach().cpu().double().numpy() for task in tasks}
