"""The default architecture: a shared-bottom MLP with one head per task.

The module contract (every architecture follows it, the default one and a user's own):

- ``__init__(n_features_in, task_outputs, **module__params)``: ``task_outputs`` maps each task name
  to its number of outputs (the number of classes of a classification task, 1 for regression);
- ``forward(X)`` maps a float tensor of shape (batch, n_features_in) to a dict
  ``{task name: Tensor}``: logits of shape (batch, n_classes) for classification, values of shape
  (batch,) or (batch, 1) for regression.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "MultiTaskMLP", "make_activation"]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "selu": nn.SELU,
    "silu": nn.SiLU,
}


def make_activation(activation: str | type[nn.Module]) -> nn.Module:
    """Return an activation module from its name (see ``ACTIVATIONS``) or an ``nn.Module`` class."""
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation={activation!r} is not one of {sorted(ACTIVATIONS)} "
                "(or pass a torch.nn.Module class)."
            )
        return ACTIVATIONS[activation]()
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation()
    raise TypeError(f"activation must be a string or a torch.nn.Module class, got {activation!r}.")


def _mlp(n_in: int, units: Sequence[int], activation, dropout: float, batch_norm: bool) -> list:
    layers: list[nn.Module] = []
    for n_out in units:
        layers.append(nn.Linear(n_in, n_out))
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(make_activation(activation))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        n_in = n_out
    return layers


class MultiTaskMLP(nn.Module):
    r"""Shared-bottom multi-layer perceptron with one head per task.

    The trunk :math:`h(x)` is an MLP shared by all tasks; task :math:`t` reads its own head
    :math:`g_t`, an optional tower of ``head_units`` followed by a linear output layer, so that
    :math:`f_t(x) = g_t(h(x))`. With ``hidden_units=()`` there is no trunk and, without
    ``head_units``, each task is a linear (or softmax-linear) model of ``x``.

    Parameters
    ----------
    n_features_in : int
        Number of input features.
    task_outputs : dict
        Task name -> number of outputs (classes for classification, 1 for regression).
    hidden_units : sequence of int, default=(64, 64)
        Widths of the shared trunk's hidden layers.
    head_units : sequence of int, default=()
        Widths of the hidden layers of each task's tower (the same for every task).
    activation : str or nn.Module class, default="relu"
        Activation after every hidden layer.
    dropout : float, default=0.0
        Dropout probability after every hidden activation.
    batch_norm : bool, default=False
        Batch normalisation after every hidden linear layer.

    Examples
    --------
    >>> import torch
    >>> net = MultiTaskMLP(3, {"a": 2, "b": 1}, hidden_units=(8,))
    >>> {k: tuple(v.shape) for k, v in net(torch.zeros(5, 3)).items()}
    {'a': (5, 2), 'b': (5, 1)}
    """

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
        super().__init__()
        self.tasks = list(task_outputs)
        hidden_units, head_units = tuple(hidden_units), tuple(head_units)
        self.trunk = nn.Sequential(
            *_mlp(n_features_in, hidden_units, activation, dropout, batch_norm)
        )
        n_shared = hidden_units[-1] if hidden_units else n_features_in
        n_head_in = head_units[-1] if head_units else n_shared
        # A ModuleList (not a ModuleDict): task names need not be strings without dots.
        self.heads = nn.ModuleList(
            nn.Sequential(
                *_mlp(n_shared, head_units, activation, dropout, batch_norm),
                nn.Linear(n_head_in, int(task_outputs[task])),
            )
            for task in self.tasks
        )

    def forward(self, X: torch.Tensor) -> dict:
        z = self.trunk(X)
        return {task: head(z) for task, head in zip(self.tasks, self.heads, strict=True)}
