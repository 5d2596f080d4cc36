"""Small helpers of the estimator: routed-parameter prefixes, parameter checks, seeding."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from numbers import Integral

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["ARCHITECTURE_PARAMS", "KWARG_PREFIXES", "check_units", "seeded", "task_seed"]

#: Keyword arguments of MultiTaskEstimator that skorch routes to a component.
KWARG_PREFIXES = (
    "module__",
    "optimizer__",
    "iterator_train__",
    "iterator_valid__",
    "callbacks__",
    "weighting__",
)

#: Parameters whose change makes a warm start a cold start (a new network is built).
ARCHITECTURE_PARAMS = (
    "architecture",
    "n_experts",
    "n_task_experts",
    "n_levels",
    "top_k",
    "hidden_units",
    "head_units",
    "activation",
    "dropout",
    "batch_norm",
    "task_losses",
    "optimizer",
    "device",
)


def check_units(name: str, units) -> None:
    """Check a tuple of layer widths: positive integers."""
    for n in units:
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name} must hold positive integers, got {tuple(units)!r}.")


def task_seed(random_state, offset: int = 0) -> int | None:
    """An int seed for torch from ``random_state`` (None stays None), shifted by ``offset``.

    The offset (epochs already trained) gives a continued fit a fresh but reproducible stream.
    """
    if random_state is None:
        return None
    base = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    return (base + offset) % np.iinfo(np.int32).max


@contextlib.contextmanager
def seeded(seed: int | None, device) -> Iterator[None]:
    """Run the block with torch's RNG seeded by ``seed``, restoring the global RNG afterwards."""
    if seed is None:
        yield
        return
    devices = []
    if str(device).startswith("cuda") and torch.cuda.is_available():
        dev = torch.device(device)
        devices = [dev.index if dev.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
