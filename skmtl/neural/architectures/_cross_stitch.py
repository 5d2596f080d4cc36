"""Cross-stitch networks (Misra et al. 2016) for MLP columns."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import ClassVar

import torch
from torch import nn

from ._base import _ParallelBlock, make_towers

__all__ = ["CrossStitch"]


class CrossStitch(nn.Module):
    r"""Cross-stitch network (Misra et al. 2016) with one MLP column per task.

    Every task :math:`t` has its own column of ``hidden_units`` layers. After each hidden layer
    :math:`l`, a cross-stitch unit replaces each column's activations by a learned linear
    combination of all columns' activations,

    .. math::

        \tilde h^{(l)}_t = \sum_{s=1}^{T} \alpha^{(l)}_{ts}\, h^{(l)}_s, \qquad
        h^{(l+1)}_t = \sigma\big(W^{(l+1)}_t \tilde h^{(l)}_t + b^{(l+1)}_t\big), \qquad
        \hat y_t = \mathrm{tower}_t\big(\tilde h^{(L)}_t\big),

    with :math:`h^{(0)}_t = x`. The :math:`T \times T` matrices :math:`\alpha^{(l)}` start near
    the identity (diagonal ``stitch_init``, off-diagonal :math:`(1 - \text{stitch\_init})/(T-1)`,
    rows summing to 1, the paper's :math:`(\alpha_S, \alpha_D)` initialisation), so training
    starts from nearly independent columns and learns how much to share. With
    ``stitch_init=1`` it starts from exactly independent per-task networks.

    Parameters
    ----------
    n_features_in : int
        Number of input features.
    task_outputs : dict
        Task name -> number of outputs (classes for classification, 1 for regression).
    hidden_units : sequence of int, default=(64, 64)
        Widths of each column's hidden layers; a cross-stitch unit follows each of them.
    head_units, activation, dropout, batch_norm
        As :class:`~skmtl.neural.architectures.MMoE`.
    stitch_init : float, default=0.9
        Initial diagonal of every cross-stitch matrix, in [0, 1] (route it as
        ``module__stitch_init``).

    References
    ----------
    .. [1] I. Misra, A. Shrivastava, A. Gupta, M. Hebert, "Cross-stitch networks for multi-task
       learning", CVPR 2016.

    Examples
    --------
    >>> import torch
    >>> net = CrossStitch(5, {"a": 2, "b": 1}, hidden_units=(8, 8))
    >>> {k: tuple(v.shape) for k, v in net(torch.zeros(4, 5)).items()}
    {'a': (4, 2), 'b': (4, 1)}
    >>> net.stitch_weights()[0]
    tensor([[0.9000, 0.1000],
            [0.1000, 0.9000]])
    """

    params: ClassVar[tuple[str, ...]] = ()
    no_representation: ClassVar[str] = (
        "every column and cross-stitch unit is shared, and the last unit mixes the columns "
        "right before the task towers, so no tensor lies between all the shared parameters "
        "and the towers"
    )

    def __init__(
        self,
        n_features_in: int,
        task_outputs: Mapping[Hashable, int],
        hidden_units: Sequence[int] = (64, 64),
        head_units: Sequence[int] = (),
        activation: str | type[nn.Module] = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        stitch_init: float = 0.9,
    ) -> None:
        super().__init__()
        if not 0 <= stitch_init <= 1:
            raise ValueError(f"stitch_init must be in [0, 1], got {stitch_init!r}.")
        self.tasks = list(task_outputs)
        n_tasks, widths = len(self.tasks), [n_features_in, *hidden_units]
        self.columns = nn.ModuleList(
            _ParallelBlock(n_tasks, a, b, activation, dropout, batch_norm)
            for a, b in zip(widths[:-1], widths[1:])
        )
        off = (1.0 - stitch_init) / (n_tasks - 1) if n_tasks > 1 else 0.0
        init = torch.full((n_tasks, n_tasks), off)
        init.fill_diagonal_(stitch_init if n_tasks > 1 else 1.0)
        self.stitches = nn.ParameterList(nn.Parameter(init.clone()) for _ in self.columns)
        self.towers = make_towers(
            self.tasks,
            task_outputs,
            widths[-1],
            tuple(head_units),
            activation,
            dropout,
            batch_norm,
        )

    def forward(self, X: torch.Tensor) -> dict:
        h = X.expand(len(self.tasks), *X.shape)
        for column, alpha in zip(self.columns, self.stitches, strict=True):
            h = torch.einsum("ts,sbd->tbd", alpha, column(h))
        return {
            task: tower(h[t])
            for t, (task, tower) in enumerate(zip(self.tasks, self.towers, strict=True))
        }

    def stitch_weights(self) -> torch.Tensor:
        """The cross-stitch matrices, of shape (n_layers, n_tasks, n_tasks), detached."""
        if not len(self.stitches):
            return torch.empty(0, len(self.tasks), len(self.tasks))
        return torch.stack([alpha.detach() for alpha in self.stitches])

    def shared_parameters(self) -> list[nn.Parameter]:
        """The columns and the cross-stitch units (each column feeds every task through them)."""
        return list(self.columns.parameters()) + list(self.stitches)

    def last_shared_parameters(self) -> list[nn.Parameter]:
        """The last column layer's weights (GradNorm's :math:`W`), not a cross-stitch matrix."""
        return [self.columns[-1].linear.weight] if len(self.columns) else []
