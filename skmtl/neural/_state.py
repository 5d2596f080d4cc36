"""Training state of MultiTaskEstimator: epoch snapshots, training faults, persistence.

* :class:`EpochSnapshot`, one of the net's default callbacks, copies the module's, the
  optimiser's and the weighting strategy's ``state_dict`` at the end of every epoch whose losses
  and parameters are finite (a few copies of the parameters: cheap for tabular networks). A fit
  interrupted by ``KeyboardInterrupt`` in the middle of an epoch goes back to the last completed
  epoch (:class:`TrainingInterruptedWarning`); a fit whose loss becomes NaN or infinite goes back
  to the last finite epoch (:func:`recover_from_divergence`, :class:`TrainingDivergedWarning`).
* :func:`training_rng`: a continued fit (``partial_fit``, ``warm_start``) resumes torch's random
  stream (shuffling, dropout) where the previous fit left it, so that 5 + 5 epochs equal 10.
* :func:`get_state` / :func:`set_state` back the estimator's ``__getstate__`` / ``__setstate__``:
  the fitted network is kept as numpy arrays (``state_dict`` of the module, the optimiser and the
  strategy, the history and the RNG state) and rebuilt from the estimator's parameters on load,
  so that :mod:`skops.io` can audit every type (no pickled blob) and plain pickle keeps working.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import warnings
from collections.abc import Iterator

import numpy as np
import torch
from skorch.callbacks import Callback

from ._config import seeded

__all__ = [
    "EpochSnapshot",
    "TrainingDivergedWarning",
    "TrainingInterruptedWarning",
    "get_state",
    "rebuild_net",
    "recover_from_divergence",
    "set_state",
    "training_rng",
]


class TrainingDivergedWarning(UserWarning):
    """Training stopped because a loss became NaN or infinite; the last finite epoch was kept."""


class TrainingInterruptedWarning(UserWarning):
    """Training was interrupted (``KeyboardInterrupt``); the last completed epoch was kept."""


# -- epoch snapshots ----------------------------------------------------------------------------
def _finite(tensors) -> bool:
    return all(
        bool(torch.isfinite(t).all()) for t in tensors if t.is_floating_point() or t.is_complex()
    )


def _clone_tree(obj):
    """A detached copy of a (nested) state dict's tensors; other values are copied."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return type(obj)((k, _clone_tree(v)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return type(obj)(_clone_tree(v) for v in obj)
    return copy.deepcopy(obj)


def _net_state(net) -> dict:
    state = {"module": _clone_tree(net.module_.state_dict())}
    if getattr(net, "optimizer_", None) is not None:
        state["optimizer"] = _clone_tree(net.optimizer_.state_dict())
    if getattr(net, "weighting_", None) is not None:
        state["weighting"] = _clone_tree(net.weighting_.state_dict())
    return state


def _load_net_state(net, state: dict) -> None:
    net.module_.load_state_dict(state["module"])
    if "weighting" in state:
        net.weighting_.load_state_dict(state["weighting"])
    if "optimizer" in state:
        try:
            net.optimizer_.load_state_dict(state["optimizer"])
        except (ValueError, KeyError):  # the optimiser was rebuilt with other parameter groups
            net.optimizer_.state.clear()


class EpochSnapshot(Callback):
    """Keep a copy of the last epoch whose losses and parameters are finite.

    Attributes
    ----------
    epoch_ : int
        The number of history rows when the snapshot was taken (0: none yet).
    state_ : dict or None
        ``state_dict`` copies of the module, the optimiser and the weighting strategy.
    """

    def initialize(self):
        self.epoch_ = 0
        self.state_ = None
        return self

    def take(self, net) -> None:
        self.state_ = _net_state(net)
        self.epoch_ = len(net.history)

    def on_train_begin(self, net, **kwargs):
        # A continued fit (partial_fit, warm start, or a network loaded from a file) can fall
        # back to where it starts if its first epoch diverges.
        if self.state_ is None and len(net.history) > 0:
            self.take(net)

    def on_epoch_end(self, net, **kwargs):
        # The losses of this epoch were finite (run_single_epoch raises otherwise), but the last
        # optimiser step may still have produced non-finite parameters.
        params = list(net.module_.parameters()) + list(net.weighting_.parameters())
        if not _finite(params):
            from ._net import TrainingDivergedError

            raise TrainingDivergedError(
                f"Training diverged in epoch {len(net.history)}: the network's parameters are "
                f"not finite after the epoch's last step. Lower the learning rate "
                f"(lr={net.lr}), standardise X and the regression targets, or lower the task "
                "weights."
            )
        self.take(net)

    def on_train_end(self, net, **kwargs):
        # skorch's partial_fit swallows KeyboardInterrupt and calls on_train_end. History rows
        # after the snapshot belong to epochs that did not complete: go back to the snapshot.
        n_rows = len(net.history)
        if n_rows <= self.epoch_ or self.state_ is None:
            if n_rows > 0 and "train_loss" not in net.history[-1]:
                warnings.warn(
                    f"Training was interrupted in epoch {n_rows}, before any epoch completed; "
                    "the network keeps the parameters of that partial epoch.",
                    TrainingInterruptedWarning,
                    stacklevel=2,
                )
            return
        _load_net_state(net, self.state_)
        del net.history[self.epoch_ :]
        warnings.warn(
            f"Training was interrupted (KeyboardInterrupt) in epoch {n_rows}; the network keeps "
            f"the parameters of epoch {self.epoch_}, the last completed epoch.",
            TrainingInterruptedWarning,
            stacklevel=2,
        )


def _snapshot_callback(net) -> EpochSnapshot | None:
    for _, cb in getattr(net, "callbacks_", []):
        if isinstance(cb, EpochSnapshot):
            return cb
    return None


def recover_from_divergence(net, exc: Exception) -> bool:
    """After a :class:`~skmtl.neural.TrainingDivergedError`, restore the last finite epoch.

    Returns False (nothing restored) when no epoch completed with finite losses.
    """
    snap = _snapshot_callback(net)
    if snap is None or snap.state_ is None or snap.epoch_ == 0:
        return False
    _load_net_state(net, snap.state_)
    del net.history[snap.epoch_ :]
    warnings.warn(
        f"{exc} Training stopped; the network keeps the parameters of epoch {snap.epoch_}, "
        "the last epoch with finite losses.",
        TrainingDivergedWarning,
        stacklevel=3,
    )
    return True


# -- random state ----------------------------------------------------------------------------
@contextlib.contextmanager
def training_rng(est, seed: int | None, continuing: bool) -> Iterator[None]:
    """Seed torch's RNG for a fit; a continued fit resumes the stream of the previous fit.

    The global RNG is restored afterwards (as :func:`~skmtl.neural._config.seeded`). With
    ``random_state=None`` (``seed`` None) nothing is seeded or recorded.
    """
    saved = getattr(est, "_rng_state_", None) if continuing else None
    with seeded(seed, est.device):
        if seed is not None and saved is not None:
            torch.set_rng_state(torch.from_numpy(np.array(saved, dtype=np.uint8)))
        yield
        if seed is not None:
            est._rng_state_ = torch.get_rng_state().numpy().copy()


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
        net_state = _to_numpy(_net_state(net))
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
    from ._build import build_net, make_train_split
    from ._config import task_seed

    params = est.get_params(deep=False)
    spec = est._spec_
    losses = check_task_mapping("task_losses", est.task_losses, spec.names)
    net = build_net(params, spec, est.n_features_in_, est.task_weights_, losses)
    net.set_params(train_split=make_train_split(est.train_split, task_seed(est.random_state)))
    with torch.random.fork_rng(devices=[]):  # initialisation draws random weights: discarded
        net.initialize()
    tensors = _to_torch({k: v for k, v in net_state.items() if k != "history"})
    if not _finite(tensors["module"].values()):
        raise ValueError("The saved network's parameters are not finite.")
    _load_net_state(net, tensors)
    net.history = History(net_state.get("history", []))
    est.net_ = net
