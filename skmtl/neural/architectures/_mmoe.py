"""Multi-gate mixture of experts (Ma et al. 2018)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import ClassVar

import torch
from torch import nn

from ._base import GatedArchitecture, ParallelMLP, check_count, make_towers

__all__ = ["MMoE", "SoftmaxGate"]


class SoftmaxGate(nn.Module):
    r"""Input-dependent softmax gate :math:`g(x) = \mathrm{softmax}(W x + b)` over ``n_experts``."""

    def __init__(self, n_in: int, n_experts: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_experts)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.linear(X), dim=-1)


class MMoE(GatedArchitecture):
    r"""Multi-gate mixture of experts (MMoE, Ma et al. 2018).

    ``n_experts`` expert MLPs :math:`f_1, \dots, f_E` are shared by all tasks; each task
    :math:`t` mixes them with its own softmax gate and reads the mixture with its own tower:

    .. math::

        g_t(x) = \mathrm{softmax}(W_t x + b_t) \in \Delta^{E}, \qquad
        h_t(x) = \sum_{e=1}^{E} g_t(x)_e \, f_e(x), \qquad
        \hat y_t = \mathrm{tower}_t\big(h_t(x)\big).

    Tasks that disagree can use different experts, which is why MMoE degrades less than a
    shared bottom when the tasks are less related (the paper's synthetic experiment, reproduced
    in ``benchmarks/bench_mmoe.py``).

    The experts are the shared parameters; their stacked outputs :math:`(f_e(x))_e` of the last
    forward pass are ``representation_`` (shape (n_experts, batch, hidden_units[-1])), which
    gradient-level strategies with ``use_representation`` differentiate the losses with respect
    to.

    Parameters
    ----------
    n_features_in : int
        Number of input features.
    task_outputs : dict
        Task name -> number of outputs (classes for classification, 1 for regression).
    n_experts : int, default=4
        Number of experts :math:`E`.
    hidden_units : sequence of int, default=(64, 64)
        Widths of each expert's hidden layers (at least one layer).
    head_units : sequence of int, default=()
        Widths of each task tower's hidden layers, before its linear output layer.
    activation : str or nn.Module class, default="relu"
        Activation after every hidden layer (experts and towers).
    dropout : float, default=0.0
        Dropout probability after every hidden activation.
    batch_norm : bool, default=False
        Batch normalisation after every hidden linear layer.

    References
    ----------
    .. [1] J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong, E. H. Chi, "Modeling task relationships in
       multi-task learning with multi-gate mixture-of-experts", KDD 2018.

    Examples
    --------
    >>> import torch
    >>> net = MMoE(5, {"a": 3, "b": 1}, n_experts=4, hidden_units=(8,))
    >>> {k: tuple(v.shape) for k, v in net(torch.zeros(2, 5)).items()}
    {'a': (2, 3), 'b': (2, 1)}
    >>> tuple(net.gate_weights(torch.zeros(2, 5))["a"].shape)
    (2, 4)
    """

    params: ClassVar[tuple[str, ...]] = ("n_experts",)

    def __init__(
        self,
        n_features_in: int,
        task_outputs: Mapping[Hashable, int],
        n_experts: int = 4,
        hidden_units: Sequence[int] = (64, 64),
        head_units: Sequence[int] = (),
        activation: str | type[nn.Module] = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.tasks = list(task_outputs)
        units = self._check_units(hidden_units)
        self.n_experts = check_count("n_experts", n_experts)
        self.experts = ParallelMLP(
            self.n_experts, n_features_in, units, activation, dropout, batch_norm
        )
        # One module per task: a task's gate never shares a tensor with another task's.
        self.gates = nn.ModuleList(
            self._make_gate(n_features_in, self.n_experts) for _ in self.tasks
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

    def _make_gate(self, n_in: int, n_experts: int) -> nn.Module:
        return SoftmaxGate(n_in, n_experts)

    def _task_inputs(self, X: torch.Tensor) -> torch.Tensor:
        experts = self.experts(X)  # (E, batch, d)
        self.representation_ = experts  # every shared parameter (the experts) reaches it
        gates = torch.stack([gate(X) for gate in self.gates])  # (T, batch, E)
        return torch.einsum("tbe,ebd->tbd", gates, experts)

    def gate_weights(self, X: torch.Tensor) -> dict:
        """Task -> gate weights of shape (batch, n_experts); each row sums to 1."""
        return {task: gate(X) for task, gate in zip(self.tasks, self.gates, strict=True)}

    def shared_parameters(self) -> list[nn.Parameter]:
        """The experts' parameters (gates and towers belong to one task each)."""
        return list(self.experts.parameters())
