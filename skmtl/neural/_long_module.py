r"""The network of the long layout: a shared trunk, a shared head and per-task deviations.

Each row carries its task code in the last input column. The output for a row of task :math:`t`
is :math:`f_t(x) = (v + U_t)^\top h(x) + c + b_t`: the head :math:`(v, c)` shared by all tasks
plus the task's deviation :math:`(U_t, b_t)`, gathered by the row's task code. An epoch then costs
about one single-head network whatever the number of tasks (one small layer per task would cost
one layer call per task and batch). The deviations live in one table, an
:class:`~torch.nn.Embedding`, with sparse gradients when there are more tasks than rows in a
batch, so that a step touches only the rows of the tasks in its batch (see
:class:`~skmtl.neural._long_net.LongLayoutNet`).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import torch
from torch import nn

from ._module import _mlp

__all__ = ["TaskHeadsMLP"]


class TaskHeadsMLP(nn.Module):
    r"""Shared MLP trunk, a shared linear head and one sparse deviation per task.

    Parameters
    ----------
    n_features_in : int
        Number of features (the task code is one more input column, the last).
    task_outputs : dict
        ``{target name: n_outputs}`` with one entry (the long layout has one target column).
    n_tasks : int
        Number of tasks :math:`T` (task codes ``0 .. T-1``; a code ``-1`` is an unseen task,
        predicted by the shared head alone).
    hidden_units, activation, dropout, batch_norm
        The trunk, as :class:`~skmtl.neural.MultiTaskMLP`.
    sparse : bool, default=True
        Sparse gradients for the deviation table (only the batch's rows), for a lazy optimiser.

    Examples
    --------
    >>> import torch
    >>> net = TaskHeadsMLP(3, {"y": 1}, n_tasks=4, hidden_units=(8,))
    >>> X = torch.column_stack([torch.zeros(5, 3), torch.tensor([0.0, 1, 2, 3, -1])])
    >>> tuple(net(X)["y"].shape)
    (5,)
    """

    def __init__(
        self,
        n_features_in: int,
        task_outputs: Mapping[Hashable, int],
        n_tasks: int,
        hidden_units: Sequence[int] = (64, 64),
        activation="relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        sparse: bool = True,
    ) -> None:
        super().__init__()
        ((self.key, n_out),) = task_outputs.items()
        self.n_out = int(n_out)
        hidden_units = tuple(hidden_units)
        self.trunk = nn.Sequential(
            *_mlp(n_features_in, hidden_units, activation, dropout, batch_norm)
        )
        self.width = hidden_units[-1] if hidden_units else n_features_in
        self.shared = nn.Linear(self.width, self.n_out)
        # Row t: the flattened (width, n_out) weight deviation, then the n_out bias deviation.
        self.deviation = nn.Embedding(
            int(n_tasks), (self.width + 1) * self.n_out, sparse=bool(sparse)
        )
        nn.init.zeros_(self.deviation.weight)
        self.rows_: torch.Tensor | None = None

    def forward(self, X: torch.Tensor) -> dict:
        task = X[:, -1].long()
        z = self.trunk(X[:, :-1])
        D = self.deviation(task.clamp(min=0))
        if self.training:
            self.rows_ = D  # the net's coupling penalty reads the batch's rows
        else:
            D = D * (task >= 0).unsqueeze(1).to(D.dtype)  # unseen task: the shared head
        k, h = self.n_out, self.width
        W = D[:, : h * k].view(-1, h, k)
        out = self.shared(z) + torch.bmm(z.unsqueeze(1), W).squeeze(1) + D[:, h * k :]
        return {self.key: out.squeeze(1) if k == 1 else out}
