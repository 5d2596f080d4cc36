"""Progressive layered extraction (Tang et al. 2020)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import ClassVar

import torch
from torch import nn

from ._base import GatedArchitecture, ParallelMLP, check_count, make_towers
from ._mmoe import SoftmaxGate

__all__ = ["PLE"]


def _mix(gate: torch.Tensor, experts: torch.Tensor) -> torch.Tensor:
    """(batch, E) gate weights times (E, batch, d) expert outputs -> (batch, d)."""
    return torch.einsum("be,ebd->bd", gate, experts)


class _Level(nn.Module):
    """One customized gate control (CGC) level: task and shared experts, their gates."""

    def __init__(self, n_tasks, n_in, units, n_task_experts, n_shared, last, mlp_args) -> None:
        super().__init__()
        self.task_experts = nn.ModuleList(
            ParallelMLP(n_task_experts, n_in, units, *mlp_args) for _ in range(n_tasks)
        )
        self.shared_experts = ParallelMLP(n_shared, n_in, units, *mlp_args)
        self.task_gates = nn.ModuleList(
            SoftmaxGate(n_in, n_task_experts + n_shared) for _ in range(n_tasks)
        )
        # The shared gate feeds the next level's shared experts: the last level has none.
        self.shared_gate = None if last else SoftmaxGate(n_in, n_tasks * n_task_experts + n_shared)

    def forward(self, task_inputs: list, shared_input: torch.Tensor, gates: list | None):
        shared = self.shared_experts(shared_input)
        own = [experts(x) for experts, x in zip(self.task_experts, task_inputs, strict=True)]
        outputs = []
        for t, (gate, x) in enumerate(zip(self.task_gates, task_inputs, strict=True)):
            g = gate(x)
            if gates is not None:
                gates[t].append(g)
            outputs.append(_mix(g, torch.cat([own[t], shared])))
        if self.shared_gate is None:
            return outputs, None
        return outputs, _mix(self.shared_gate(shared_input), torch.cat([*own, shared]))


class PLE(GatedArchitecture):
    r"""Progressive layered extraction (PLE, Tang et al. 2020): stacked CGC levels.

    Each level :math:`j = 1, \dots, J` has ``n_task_experts`` experts :math:`E_{t,j}` of its own
    per task and ``n_experts`` shared experts :math:`E_{s,j}`. Task :math:`t`'s gate mixes its own
    experts and the shared ones; the shared gate mixes all experts of the level and feeds the
    next level's shared experts (customized gate control, CGC):

    .. math::

        g_{t,j} &= w_{t,j}(g_{t,j-1})^\top \big[E_{t,j}(g_{t,j-1});\, E_{s,j}(g_{s,j-1})\big],
        \qquad w_{t,j}(x) = \mathrm{softmax}(W_{t,j}\, x + b_{t,j}), \\
        g_{s,j} &= w_{s,j}(g_{s,j-1})^\top \big[E_{1,j}(g_{1,j-1}); \dots;
                   E_{T,j}(g_{T,j-1});\, E_{s,j}(g_{s,j-1})\big] \quad (j < J), \\
        \hat y_t &= \mathrm{tower}_t(g_{t,J}), \qquad g_{t,0} = g_{s,0} = x,

    where :math:`[\cdot\,;\cdot]` stacks expert outputs. With one level this is CGC; with no
    task experts it would be MMoE. Separating task and shared experts reduces the "seesaw"
    effect of MMoE, where improving one task hurts another.

    Parameters
    ----------
    n_features_in : int
        Number of input features.
    task_outputs : dict
        Task name -> number of outputs (classes for classification, 1 for regression).
    n_experts : int, default=2
        Number of shared experts per level.
    n_task_experts : int, default=1
        Number of experts of each task, per level.
    n_levels : int, default=2
        Number of stacked CGC levels :math:`J`.
    hidden_units : sequence of int, default=(64, 64)
        Widths of each expert's hidden layers (at least one layer).
    head_units, activation, dropout, batch_norm
        As :class:`MMoE`.

    References
    ----------
    .. [1] H. Tang, J. Liu, M. Zhao, X. Gong, "Progressive layered extraction (PLE): a novel
       multi-task learning (MTL) model for personalized recommendations", RecSys 2020.

    Examples
    --------
    >>> import torch
    >>> net = PLE(5, {"a": 2, "b": 1}, n_experts=2, n_task_experts=1, n_levels=2,
    ...           hidden_units=(8,))
    >>> {k: tuple(v.shape) for k, v in net(torch.zeros(4, 5)).items()}
    {'a': (4, 2), 'b': (4, 1)}
    >>> tuple(net.gate_weights(torch.zeros(4, 5))["a"].shape)  # (batch, levels, 1 + 2 experts)
    (4, 2, 3)
    """

    params: ClassVar[tuple[str, ...]] = ("n_experts", "n_task_experts", "n_levels")
    no_representation: ClassVar[str] = (
        "PLE's levels alternate shared and task-specific parameters (the tasks' own experts "
        "feed the next level's shared gate), so no single tensor separates the shared "
        "parameters from the task-specific ones"
    )

    def __init__(
        self,
        n_features_in: int,
        task_outputs: Mapping[Hashable, int],
        n_experts: int = 2,
        n_task_experts: int = 1,
        n_levels: int = 2,
        hidden_units: Sequence[int] = (64, 64),
        head_units: Sequence[int] = (),
        activation: str | type[nn.Module] = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.tasks = list(task_outputs)
        units = self._check_units(hidden_units)
        n_shared = check_count("n_experts", n_experts)
        n_own = check_count("n_task_experts", n_task_experts)
        n_levels = check_count("n_levels", n_levels)
        mlp_args = (activation, dropout, batch_norm)
        self.levels = nn.ModuleList(
            _Level(
                len(self.tasks),
                n_features_in if j == 0 else units[-1],
                units,
                n_own,
                n_shared,
                j == n_levels - 1,
                mlp_args,
            )
            for j in range(n_levels)
        )
        self.towers = make_towers(
            self.tasks,
            task_outputs,
            units[-1],
            tuple(head_units),
            activation,
            dropout,
            batch_norm,
        )

    def _run(self, X: torch.Tensor, gates: list | None = None) -> list:
        task_inputs, shared = [X] * len(self.tasks), X
        for level in self.levels:
            task_inputs, shared = level(task_inputs, shared, gates)
        return task_inputs

    def _task_inputs(self, X: torch.Tensor) -> list:
        return self._run(X)

    def gate_weights(self, X: torch.Tensor) -> dict:
        """Task -> gate weights of shape (batch, n_levels, n_task_experts + n_experts).

        At each level, the first ``n_task_experts`` columns weigh the task's own experts, the
        others the shared experts; each row sums to 1.
        """
        gates: list = [[] for _ in self.tasks]
        self._run(X, gates)
        return {task: torch.stack(g, dim=1) for task, g in zip(self.tasks, gates, strict=True)}

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters that feed more than one task.

        The shared experts of every level; below the last level also the shared gate and every
        task's experts, which the shared gate passes on to the next level's shared experts.
        """
        params = []
        for level in self.levels:
            params += list(level.shared_experts.parameters())
            if level.shared_gate is not None:
                params += list(level.shared_gate.parameters())
                params += list(level.task_experts.parameters())
        return params
