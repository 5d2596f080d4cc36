"""Shared-bottom network (the default): the default MLP, with its shared parts exposed."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import ClassVar

import torch
from torch import nn

from .._module import MultiTaskMLP

__all__ = ["SharedBottom"]


class SharedBottom(MultiTaskMLP):
    r"""Shared-bottom network (Caruana 1997): one shared trunk, one tower per task.

    .. math::

        h = \mathrm{MLP}_{\text{shared}}(x), \qquad \hat y_t = \mathrm{tower}_t(h),

    where the trunk has ``hidden_units`` layers and each tower ``head_units`` hidden layers and
    a linear output layer. This is :class:`~skmtl.neural.MultiTaskMLP` with two additions that
    gradient-level weighting strategies use: :meth:`shared_parameters` (the trunk) and
    ``representation_``, the trunk's output :math:`h` of the last forward pass (gradient-level
    strategies with ``use_representation`` differentiate the task losses with respect to it,
    MGDA-UB's shortcut).

    Parameters
    ----------
    n_features_in : int
        Number of input features.
    task_outputs : dict
        Task name -> number of outputs (classes for classification, 1 for regression).
    hidden_units, head_units, activation, dropout, batch_norm
        As :class:`~skmtl.neural.MultiTaskMLP`.

    Attributes
    ----------
    representation_ : Tensor of shape (batch, hidden_units[-1]) or None
        The shared representation of the last forward pass (the input itself with
        ``hidden_units=()``). Not pickled.
    task_representations_ : list of Tensor
        One alias (view) of ``representation_`` per task, each read by that task's head only,
        so that one backward pass gives every task's gradient with respect to the
        representation. Not pickled.

    References
    ----------
    .. [1] R. Caruana, "Multitask learning", Machine Learning 28, 41-75, 1997.

    Examples
    --------
    >>> import torch
    >>> net = SharedBottom(3, {"a": 2, "b": 1}, hidden_units=(8,))
    >>> out = net(torch.zeros(5, 3))
    >>> tuple(net.representation_.shape), len(net.shared_parameters())
    ((5, 8), 2)
    """

    params: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        n_features_in: int,
        task_outputs: Mapping[Hashable, int],
        hidden_units: Sequence[int] = (64, 64),
        head_units: Sequence[int] = (),
        activation: str | type[nn.Module] = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__(
            n_features_in,
            task_outputs,
            hidden_units=hidden_units,
            head_units=head_units,
            activation=activation,
            dropout=dropout,
            batch_norm=batch_norm,
        )
        self.representation_: torch.Tensor | None = None

    def forward(self, X: torch.Tensor) -> dict:
        z = self.trunk(X)
        self.representation_ = z
        if z.requires_grad and torch.is_grad_enabled():
            # One alias (a view) of z per head: the gradient of the summed losses with respect
            # to task t's alias is task t's gradient with respect to z, so one ordinary backward
            # pass gives every task's (instead of one vector-Jacobian product per task).
            inputs = [z.view_as(z) for _ in self.tasks]
        else:
            inputs = [z] * len(self.tasks)
        self.task_representations_ = inputs
        return {task: head(h) for task, head, h in zip(self.tasks, self.heads, inputs, strict=True)}

    def shared_parameters(self) -> list[torch.nn.Parameter]:
        """The trunk's parameters (empty without a trunk)."""
        return list(self.trunk.parameters())

    def __getstate__(self):
        # The last representation may hold an autograd graph: neither picklable nor worth keeping.
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        state = dict(state)
        state["representation_"] = None
        state.pop("task_representations_", None)
        return state
