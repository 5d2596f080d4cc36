"""Epoch snapshots and the training RNG of MultiTaskEstimator.

* :class:`EpochSnapshot`, one of the net's default callbacks, copies the module's, the
  optimisers' and the weighting strategy's ``state_dict`` at the end of every epoch whose losses
  and parameters are finite (a few copies of the parameters: cheap for tabular networks). A fit
  interrupted by ``KeyboardInterrupt`` in the middle of an epoch goes back to the last completed
  epoch (:class:`TrainingInterruptedWarning`); a fit whose loss becomes NaN or infinite goes back
  to the last finite epoch (:func:`recover_from_divergence`, :class:`TrainingDivergedWarning`).
* :func:`training_rng`: a continued fit (``partial_fit``, ``warm_start``) resumes torch's random
  stream (shuffling, dropout) where the previous fit left it, so that 5 + 5 epochs equal 10.

Persistence (the network as arrays) is :mod:`skmtl.neural._state`, one layer above the net.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Iterator

import numpy as np
import torch
from skorch.callbacks import Callback

from ._config import seeded
from ._errors import TrainingDivergedError, TrainingDivergedWarning, TrainingInterruptedWarning

__all__ = [
    "EpochSnapshot",
    "net_state",
    "load_net_state",
    "recover_from_divergence",
    "training_rng",
]


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


def net_state(net) -> dict:
    state = {"module": _clone_tree(net.module_.state_dict())}
    if getattr(net, "optimizer_", None) is not None:
        state["optimizer"] = _clone_tree(net.optimizer_.state_dict())
    if getattr(net, "head_optimizer_", None) is not None:  # the long layout's lazy optimiser
        state["head_optimizer"] = _clone_tree(net.head_optimizer_.state_dict())
    if getattr(net, "weighting_", None) is not None:
        state["weighting"] = _clone_tree(net.weighting_.state_dict())
    return state


def load_net_state(net, state: dict) -> None:
    net.module_.load_state_dict(state["module"])
    if "weighting" in state:
        net.weighting_.load_state_dict(state["weighting"])
    for key in ("optimizer", "head_optimizer"):
        optimizer = getattr(net, f"{key}_", None)
        if key not in state or optimizer is None:
            continue
        try:
            optimizer.load_state_dict(state[key])
        except (ValueError, KeyError):  # the optimiser was rebuilt with other parameter groups
            optimizer.state.clear()


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
        self.state_ = net_state(net)
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
        load_net_state(net, self.state_)
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
    load_net_state(net, snap.state_)
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
