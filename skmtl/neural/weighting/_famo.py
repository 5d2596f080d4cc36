"""FAMO: fast adaptive multitask optimisation (O(1) per step, no per-task gradient)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from ._base import LossWeighting

__all__ = ["FAMO"]


class FAMO(LossWeighting):
    r"""Fast adaptive multitask optimisation: balance the tasks' log-loss decreases.

    FAMO keeps one logit :math:`\xi_t` per task (initialised at 0), with
    :math:`z = \operatorname{softmax}(\xi)`, and steps along the gradient of

    .. math:: \sum_t \frac{z_t}{c} \log \tilde L_t, \qquad
              \tilde L_t = \max(L_t - m_t, 0) + \epsilon, \qquad
              c = \sum_s \frac{z_s}{\tilde L_s},

    that is, along :math:`\sum_t w_t \nabla L_t` with :math:`w_t = z_t / (c \tilde L_t)` (the
    weights sum to 1; ``last_weights_`` and ``weight_<task>`` in the history are these
    :math:`w_t`). One backward pass per step, like equal weighting: no per-task gradient.

    After the optimiser step, the same batch is evaluated again (the trainer's post-step hook:
    evaluation mode, no gradient) and the logits take one Adam step (learning rate ``w_lr``,
    L2 regularisation ``gamma``, as the authors' ``torch.optim.Adam(weight_decay=gamma)``) along

    .. math:: \delta = J_{\operatorname{softmax}}(\xi)^\top
              \big(\log \tilde L^{\text{before}} - \log \tilde L^{\text{after}}\big)
              = z \odot (\Delta - z^\top \Delta),

    so that the weight moves towards the tasks whose log-loss decreased least: FAMO seeks equal
    relative progress of every task at O(1) cost (Liu et al. 2023, Algorithm 1).

    Zero losses: :math:`\epsilon` keeps every logarithm finite (as the authors' ``+ 1e-8``). A
    task whose loss is at its lower bound (:math:`L_t \le m_t`, for example a task weighted 0 by
    ``task_weights``, or one fitted exactly) has a zero gradient there, yet :math:`1/\tilde L_t
    = 1/\epsilon` would give it nearly all the weight and stall every other task; such a task gets
    weight 0 in that step instead (the normalisation :math:`c` runs over the others), as does a
    task without a label in the batch, whose logit difference counts as 0.

    Parameters
    ----------
    w_lr : float, default=0.025
        Adam learning rate of the logits (the paper's :math:`\beta`).
    gamma : float, default=0.01
        L2 regularisation of the logits (Adam's ``weight_decay``; the paper's :math:`\gamma`).
    eps : float, default=1e-8
        Added to every (shifted) loss before taking its logarithm.
    min_losses : array-like of shape (n_tasks,) or None, default=None
        Lower bounds :math:`m_t` of the (``task_weights``-scaled) losses; None: 0.

    Attributes
    ----------
    logits : Tensor of shape (n_tasks,)
        The logits :math:`\xi` (a buffer: saved with the estimator, kept by a warm start), with
        the Adam moments ``exp_avg``, ``exp_avg_sq`` and the update count ``n_updates``.
    last_weights_ : Tensor of shape (n_tasks,)
        The weights :math:`w` of the last step.

    References
    ----------
    .. [1] B. Liu, Y. Feng, P. Stone, Q. Liu, "FAMO: Fast Adaptive Multitask Optimization",
       NeurIPS, 2023. Authors' code: https://github.com/Cranial-XIX/FAMO.

    Examples
    --------
    >>> import torch
    >>> famo = FAMO()
    >>> famo.setup(["a", "b"], {})
    >>> famo.weights(torch.tensor([1.0, 3.0]), epoch=0, step=0)  # equal logits: w ~ 1 / L
    tensor([0.7500, 0.2500])
    >>> famo.after_step(torch.tensor([1.0, 3.0]), torch.tensor([0.5, 2.9]),
    ...                 active=torch.ones(2, dtype=torch.bool), epoch=0, step=0)
    >>> bool(famo.logits[1] > famo.logits[0])  # b improved least: its logit goes up
    True
    """

    name: ClassVar[str] = "famo"
    inputs: ClassVar[frozenset] = frozenset({"active"})
    needs_post_step_losses: ClassVar[bool] = True
    _BETAS = (0.9, 0.999)
    _ADAM_EPS = 1e-8

    def __init__(
        self,
        *,
        w_lr: float = 0.025,
        gamma: float = 0.01,
        eps: float = 1e-8,
        min_losses=None,
    ) -> None:
        super().__init__()
        self.w_lr = w_lr
        self.gamma = gamma
        self.eps = eps
        self.min_losses = min_losses

    def setup(self, tasks: list, task_types: dict) -> None:
        super().setup(tasks, task_types)
        for name, value in (("w_lr", self.w_lr), ("gamma", self.gamma), ("eps", self.eps)):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not np.isfinite(value) or value < 0 or (name == "eps" and value <= 0):
                bound = "> 0" if name == "eps" else ">= 0"
                raise ValueError(f"FAMO: {name} must be a finite number {bound}, got {value!r}.")
        T = len(self.tasks)
        if self.min_losses is None:
            m = np.zeros(T)
        else:
            m = np.asarray(self.min_losses, dtype=np.float64).reshape(-1)
            if m.shape != (T,) or not np.all(np.isfinite(m)):
                raise ValueError(
                    f"FAMO: min_losses must hold one finite value per task ({T}), got "
                    f"{self.min_losses!r}."
                )
        zeros = torch.zeros(T, dtype=torch.float64)
        self.register_buffer("min_loss", torch.from_numpy(m), persistent=False)
        self.register_buffer("logits", zeros.clone())
        self.register_buffer("exp_avg", zeros.clone())
        self.register_buffer("exp_avg_sq", zeros.clone())
        self.register_buffer("n_updates", torch.zeros((), dtype=torch.float64))

    def _shifted(self, losses: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(max(L - m, 0) + eps, L > m)`` in float64."""
        gap = losses.detach().to(torch.float64) - self.min_loss.to(losses.device)
        return gap.clamp(min=0.0) + self.eps, gap > 0

    def weights(
        self,
        losses: torch.Tensor,
        *,
        epoch: int,
        step: int,
        active: torch.Tensor | None = None,
    ) -> torch.Tensor:
        D, positive = self._shifted(losses)
        keep = positive if active is None else positive & active.to(positive.device)
        z = torch.softmax(self.logits.to(D.device), dim=0)
        r = torch.where(keep, z / D, torch.zeros_like(D))
        c = r.sum()
        w = r / c if c > 0 else r  # every task solved (or unlabelled): nothing to weigh
        return w.to(dtype=losses.dtype, device=losses.device)

    def after_step(
        self,
        before: torch.Tensor,
        after: torch.Tensor,
        *,
        active: torch.Tensor,
        epoch: int,
        step: int,
    ) -> None:
        D0, _ = self._shifted(before)
        D1, _ = self._shifted(after)
        diff = torch.log(D0) - torch.log(D1)
        diff = torch.where(active.to(diff.device) & torch.isfinite(diff), diff, 0.0)
        xi = self.logits
        z = torch.softmax(xi, dim=0)
        grad = z * (diff.to(xi.device) - torch.dot(z, diff.to(xi.device)))  # J_softmax' diff
        grad = grad + self.gamma * xi  # Adam's weight_decay (L2, not decoupled)
        b1, b2 = self._BETAS
        self.n_updates.add_(1.0)
        k = float(self.n_updates)
        self.exp_avg.mul_(b1).add_(grad, alpha=1.0 - b1)
        self.exp_avg_sq.mul_(b2).addcmul_(grad, grad, value=1.0 - b2)
        denom = (self.exp_avg_sq / (1.0 - b2**k)).sqrt_().add_(self._ADAM_EPS)
        xi.addcdiv_(self.exp_avg, denom, value=-self.w_lr / (1.0 - b1**k))
