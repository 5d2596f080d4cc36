"""Building blocks shared by the architectures: batched expert MLPs, task towers, gates.

Every architecture follows the module contract of :mod:`skmtl.neural._module`
(``__init__(n_features_in, task_outputs, **params)``, ``forward(X) -> {task: Tensor}``) and adds:

- ``shared_parameters()``: the parameters that feed more than one task's output (what a
  gradient-level weighting strategy computes per-task gradients of); every other parameter
  belongs to exactly one task. Task-specific and shared weights never live in the same tensor.
- ``gate_weights(X) -> {task: Tensor}`` for architectures with gates (rows sum to 1).
- ``representation_``: the shared representation of the last forward pass, the tensor through
  which every shared parameter reaches the outputs and below which nothing is task-specific
  (the trunk's output of shared-bottom; the stacked expert outputs of MMoE and DSelect-k).
  Gradient-level strategies with ``use_representation`` differentiate the task losses with
  respect to it instead of the shared parameters (MGDA-UB's approximation).
- ``no_representation`` (a class attribute): where no such tensor exists (PLE, cross-stitch),
  the reason, which the trainer gives in its error when a representation is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from numbers import Integral
from typing import ClassVar

import torch
from torch import nn

from .._module import _mlp, make_activation

__all__ = ["ParallelLinear", "ParallelMLP", "check_count", "make_towers"]


def check_count(name: str, value, minimum: int = 1) -> int:
    """Check an integer architecture parameter (a number of experts, levels, ...)."""
    if not isinstance(value, Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


class ParallelLinear(nn.Module):
    """``n_members`` independent affine maps of the same shape, applied in one batched product.

    Input of shape (batch, n_in) (the same input for every member) or (n_members, batch, n_in);
    output of shape (n_members, batch, n_out). Initialised as :class:`torch.nn.Linear`
    (uniform on :math:`\\pm 1/\\sqrt{n_{in}}`), member by member.
    """

    def __init__(self, n_members: int, n_in: int, n_out: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        self.weight = nn.Parameter(torch.empty(n_members, n_in, n_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_members, 1, n_out).uniform_(-bound, bound))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if X.dim() == 2:
            X = X.expand(self.weight.shape[0], *X.shape)
        return torch.baddbmm(self.bias, X, self.weight)


class _ParallelBlock(nn.Module):
    """ParallelLinear, then optional batch norm, the activation and optional dropout."""

    def __init__(self, n_members, n_in, n_out, activation, dropout, batch_norm) -> None:
        super().__init__()
        self.linear = ParallelLinear(n_members, n_in, n_out)
        self.norm = nn.BatchNorm1d(n_members * n_out) if batch_norm else None
        self.activation = make_activation(activation)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        h = self.linear(X)
        if self.norm is not None:
            m, b, d = h.shape
            h = self.norm(h.transpose(0, 1).reshape(b, m * d)).reshape(b, m, d).transpose(0, 1)
        h = self.activation(h)
        if self.dropout is not None:
            h = self.dropout(h)
        return h


class ParallelMLP(nn.Module):
    """``n_members`` MLPs of the same widths (experts, columns), evaluated as batched products.

    Each hidden layer is affine, then batch norm (optional), the activation and dropout, as in
    the default network. Input (batch, n_in) or (n_members, batch, n_in); output
    (n_members, batch, units[-1]).
    """

    def __init__(
        self,
        n_members: int,
        n_in: int,
        units: Sequence[int],
        activation="relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        widths = [n_in, *units]
        self.layers = nn.ModuleList(
            _ParallelBlock(n_members, a, b, activation, dropout, batch_norm)
            for a, b in zip(widths[:-1], widths[1:])
        )
        self.n_out = widths[-1]

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            X = layer(X)
        return X


def make_towers(
    tasks: list,
    task_outputs: Mapping[Hashable, int],
    n_in: int,
    head_units: Sequence[int],
    activation,
    dropout: float,
    batch_norm: bool,
) -> nn.ModuleList:
    """One tower per task: ``head_units`` hidden layers and a linear output layer (as the default
    network's heads). A ModuleList in task order: task names need not be valid attribute names."""
    n_last = head_units[-1] if head_units else n_in
    return nn.ModuleList(
        nn.Sequential(
            *_mlp(n_in, head_units, activation, dropout, batch_norm),
            nn.Linear(n_last, int(task_outputs[task])),
        )
        for task in tasks
    )


class GatedArchitecture(nn.Module):
    """Base of the architectures with gates: experts mixed per task, then one tower per task.

    Subclasses set ``params`` (the estimator parameters they accept besides the common ones)
    and implement ``_task_inputs(X) -> (T, batch, d)`` and ``gate_weights(X)``.
    """

    params: ClassVar[tuple[str, ...]] = ()
    representation_: torch.Tensor | None = None

    def _check_units(self, hidden_units: Sequence[int]) -> tuple[int, ...]:
        units = tuple(hidden_units)
        if not units:
            raise ValueError(
                f"{type(self).__name__} needs at least one hidden layer per expert: "
                "hidden_units=() was given."
            )
        return units

    def forward(self, X: torch.Tensor) -> dict:
        inputs = self._task_inputs(X)
        return {
            task: tower(inputs[t])
            for t, (task, tower) in enumerate(zip(self.tasks, self.towers, strict=True))
        }

    def __getstate__(self):
        # The last representation may hold an autograd graph: neither picklable nor worth keeping.
        state = dict(super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__)
        state.pop("representation_", None)
        return state
