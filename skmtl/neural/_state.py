"""Persistence of MultiTaskEstimator: the fitted network as numpy arrays, rebuilt on load.

:func:`get_state` / :func:`set_state` back the estimator's ``__getstate__`` / ``__setstate__``:
the fitted network is kept as numpy arrays (``state_dict`` of the module, the optimisers and the
strategy, the history and the RNG state) and rebuilt from the estimator's parameters on load
(:func:`rebuild_net`), so that :mod:`skops.io` can audit every type (no pickled blob) and plain
pickle keeps working.
"""

from __future__ import annotations

import importlib

import numpy as np
import torch

from ._build import build_net, make_train_split
from ._config import task_seed
from ._snapshot import _finite, load_net_state
from ._snapshot import net_state as snapshot_state

__all__ = ["get_state", "rebuild_net", "set_state"]


# -- persistence ---------------------------------------------------------------------------------
_CLASS_KEY = "__torch_class__"


def _encode(obj):
    """Replace torch optimiser and module classes (e.g. ``optimizer=torch.optim.Adam``) by
    their names, recursively through dicts, lists and tuples."""
    if isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer | torch.nn.Module):
        if obj.__module__.split(".")[0] == "torch":
            return {_CLASS_KEY: f"{obj.__module__}.{obj.__qualname__}"}
        return obj
    if isinstance(obj, dict) and type(obj) is dict:
        return {k: _encode(v) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(_encode(v) for v in obj)
    return obj


def _resolve(name: str) -> type:
    module, _, attr = name.rpartition(".")
    if module.split(".")[0] != "torch":
        raise ValueError(f"Refusing to load class {name!r}: only torch classes are named.")
    obj = getattr(importlib.import_module(module), attr, None)
    if not (isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer | torch.nn.Module)):
        raise ValueError(f"{name!r} is not a torch optimiser or module class.")
    return obj


def _decode(obj):
    if isinstance(obj, dict) and type(obj) is dict:
        if set(obj) == {_CLASS_KEY} and isinstance(obj[_CLASS_KEY], str):
            return _resolve(obj[_CLASS_KEY])
        return {k: _decode(v) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(_decode(v) for v in obj)
    return obj


def _encode_dtype(dtype):
    """numpy and pandas dtypes as plain data (skops does not trust ``numpy.dtype``)."""
    if dtype is None:
        return None
    if isinstance(dtype, np.dtype):
        return ("numpy", dtype.str)
    if type(dtype).__name__ == "CategoricalDtype":
        return ("category", np.asarray(dtype.categories), bool(dtype.ordered))
    return ("pandas", str(dtype))


def _decode_dtype(code):
    if code is None or not isinstance(code, tuple):
        return code
    if code[0] == "numpy":
        return np.dtype(code[1])
    import pandas as pd

    if code[0] == "category":
        return pd.CategoricalDtype(code[1], ordered=code[2])
    return pd.api.types.pandas_dtype(code[1])


def _to_numpy(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy().copy()
    if isinstance(obj, dict):
        return {k: _to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_numpy(v) for v in obj)
    return obj


def _to_torch(obj):
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.array(obj))  # a writeable copy (the file may be a memmap)
    if isinstance(obj, dict):
        return {k: _to_torch(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_torch(v) for v in obj)
    return obj


def _plain(obj):
    """History values as plain Python data (numpy scalars become floats and ints)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def get_state(est, state: dict) -> dict:
    """The estimator's ``__getstate__``: ``state`` (from ``BaseEstimator.__getstate__``) with the
    fitted net replaced by arrays."""
    from .._targets import Targets

    state = dict(state)
    net = state.pop("net_", None)
    state = _encode(state)
    container = state.get("_container_")
    if isinstance(container, Targets):
        state["_container_"] = Targets(
            container.kind,
            {},
            {},
            None,
            {k: _encode_dtype(v) for k, v in container.dtypes.items()},
            _encode_dtype(container.array_dtype),
        )
    if net is not None:
        net_state = _to_numpy(snapshot_state(net))
        net_state["history"] = _plain(list(net.history))
        state["_net_state_"] = net_state
    return state


def set_state(state: dict) -> tuple[dict, dict | None]:
    """Decode a state made by :func:`get_state`: ``(state, net_state)``; the estimator sets
    ``state`` as its ``__dict__``, then calls :func:`rebuild_net` with ``net_state``."""
    from .._targets import Targets

    state = _decode(dict(state))
    net_state = state.pop("_net_state_", None)
    container = state.get("_container_")
    if isinstance(container, Targets):
        container.dtypes = {k: _decode_dtype(v) for k, v in container.dtypes.items()}
        container.array_dtype = _decode_dtype(container.array_dtype)
    return state, net_state


def rebuild_net(est, net_state: dict) -> None:
    """Rebuild the fitted net of ``est`` from its parameters and load ``net_state`` into it."""
    from skorch.history import History

    from .._targets import check_task_mapping

    params = est.get_params(deep=False)
    spec = est._spec_
    losses = check_task_mapping("task_losses", est.task_losses, spec.names)
    long = getattr(est, "_layout_", "wide") == "long"
    weights = {spec.names[0]: 1.0} if long else est.task_weights_
    tasks = list(est.tasks_) if long else None
    net = build_net(params, spec, est.n_features_in_, weights, losses, task_names=tasks)
    split = make_train_split(est.train_split, task_seed(est.random_state), params, len(est.tasks_))
    net.set_params(train_split=split)
    with torch.random.fork_rng(devices=[]):  # initialisation draws random weights: discarded
        net.initialize()
    tensors = _to_torch({k: v for k, v in net_state.items() if k != "history"})
    if not _finite(tensors["module"].values()):
        raise ValueError("The saved network's parameters are not finite.")
    load_net_state(net, tensors)
    net.history = History(net_state.get("history", []))
    est.net_ = net
