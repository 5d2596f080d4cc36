"""GradNorm: learned weights that balance the gradient norms of the tasks."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ._base import LossWeighting

__all__ = ["GradNorm"]


class GradNorm(LossWeighting):
    r"""GradNorm: learn the task weights so that the tasks train at similar rates.

    With learned weights :math:`w_t` (initialised at 1, renormalised to sum to :math:`T` at
    every step), :math:`W` the weights of the last shared layer, :math:`G_t = \|\nabla_W w_t
    L_t\|` the norm of task :math:`t`'s weighted gradient, :math:`\bar G` its mean over the
    tasks, and :math:`r_t = \tilde L_t / \operatorname{mean}_s \tilde L_s` the relative inverse
    training rate, where :math:`\tilde L_t = L_t / L_t(0)`, the weights follow the gradient of

    .. math::

        L_{\text{grad}} = \sum_t \big| G_t - \bar G \, r_t^{\alpha} \big|

    (with :math:`\bar G r_t^\alpha` held constant), while the network minimises
    :math:`\sum_t w_t L_t` (with :math:`w` held constant). Tasks that train slower (larger
    :math:`r_t`) get larger gradients. Both steps share the estimator's optimiser.

    The trainer gives the strategy the norms :math:`\|\nabla_W L_t\|` of the unweighted losses
    (``grad_norms``), computed in one batched backward pass over the last shared layer only.
    :math:`L_t(0)` is the task's loss at the first step in which it had labels.

    Parameters
    ----------
    alpha : float, default=1.5
        Strength of the restoring force towards equal training rates; 0 asks for equal gradient
        norms. The paper uses 0.12 to 3 (1.5 on NYUv2).

    Attributes
    ----------
    task_weights_raw : nn.Parameter of shape (n_tasks,)
        The learned weights before renormalisation.

    References
    ----------
    .. [1] Z. Chen, V. Badrinarayanan, C.-Y. Lee, A. Rabinovich, "GradNorm: gradient
       normalization for adaptive loss balancing in deep multitask networks", ICML, 2018.

    Examples
    --------
    >>> import torch
    >>> w = GradNorm(alpha=1.0)
    >>> w.setup(["a", "b"], {})
    >>> active = torch.tensor([True, True])
    >>> obj = w.objective(torch.tensor([1.0, 1.0]), epoch=0, step=0, active=active,
    ...                   grad_norms=torch.tensor([3.0, 1.0]))
    >>> obj.backward()
    >>> w.task_weights_raw.grad  # task a's gradient is the larger: its weight is pushed down
    tensor([ 3., -1.])
    """

    name: ClassVar[str] = "gradnorm"
    inputs: ClassVar[frozenset] = frozenset({"active", "grad_norms"})

    def __init__(self, alpha: float = 1.5) -> None:
        super().__init__()
        self.alpha = alpha

    def setup(self, tasks: list, task_types: dict) -> None:
        super().setup(tasks, task_types)
        if not (isinstance(self.alpha, int | float) and self.alpha >= 0):
            raise ValueError(f"GradNorm: alpha must be >= 0, got {self.alpha!r}.")
        T = len(self.tasks)
        self.task_weights_raw = nn.Parameter(torch.ones(T))
        self.register_buffer("initial_losses", torch.full((T,), float("nan")))

    @torch.no_grad()
    def _renormalise(self) -> torch.Tensor:
        w = self.task_weights_raw
        w.clamp_(min=1e-6)
        w.mul_(len(w) / w.sum())
        return w.detach().clone()

    def weights(self, losses: torch.Tensor, *, epoch: int, step: int) -> torch.Tensor:
        return self._renormalise().to(losses.dtype)

    def objective(
        self,
        losses: torch.Tensor,
        *,
        epoch: int,
        step: int,
        active: torch.Tensor | None = None,
        grad_norms: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``sum_t w_t L_t`` (w constant) plus ``L_grad`` (a function of w only)."""
        w_const = self._renormalise().to(losses.dtype)
        self.last_weights_ = w_const
        main = torch.sum(w_const * losses)
        if grad_norms is None:
            return main
        if active is None:
            active = torch.ones_like(losses, dtype=torch.bool)
        with torch.no_grad():
            first = active & torch.isnan(self.initial_losses)
            self.initial_losses[first] = losses.detach()[first].to(self.initial_losses.dtype)
        if int(active.sum()) < 2:
            return main
        w = self.task_weights_raw.to(losses.dtype)
        G = w * grad_norms.detach()
        with torch.no_grad():
            ratio = losses.detach() / self.initial_losses.to(losses.dtype).clamp(min=1e-12)
            ratio = torch.where(active, ratio, torch.zeros_like(ratio))
            n = active.sum()
            rate = ratio / (ratio.sum() / n).clamp(min=1e-12)
            G_mean = torch.where(active, G, torch.zeros_like(G)).sum() / n
            target = G_mean * rate**self.alpha
        balance = torch.where(active, (G - target).abs(), torch.zeros_like(G)).sum()
        return main + balance
