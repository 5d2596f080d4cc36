"""Per-task gradients of the shared parameters in one batched backward pass, and what is shared.

The module convention (any architecture, the default one and a user's own):

- ``shared_parameters()`` (optional): the parameters that feed more than one task's output.
  Without it, the shared parameters are found once, from the autograd graph of the first
  training batch: those that two or more task outputs depend on. Every other parameter must
  belong to one task only (a task-specific head, tower or gate).
- ``representation_`` (optional): a tensor set by ``forward``, through which every shared
  parameter reaches the outputs and after which every parameter belongs to one task (the
  trunk's output of a shared-bottom network, the stacked expert outputs of MMoE). A strategy
  with ``use_representation`` (True, or ``"auto"``: MGDA's default) then differentiates the task
  losses with respect to it instead of the shared parameters: cheaper, an approximation
  (MGDA-UB). ``no_representation`` (optional, a class attribute): why a module has none, for
  the error raised when ``use_representation=True``.
- ``last_shared_parameters()`` (optional, GradNorm): the weights of the last shared layer;
  by default the last shared parameter with two or more dimensions.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

__all__ = ["find_shared_parameters", "last_shared_parameters", "task_jacobian"]


class BatchedGradState:
    """Remembers whether the batched backward pass works for a module (a plain flag)."""

    def __init__(self) -> None:
        self.batched = True


def task_jacobian(
    losses: torch.Tensor, inputs: list[torch.Tensor], state: BatchedGradState | None = None
) -> list[torch.Tensor]:
    """Gradients of every entry of ``losses`` (shape (k,)) with respect to every input.

    Returns one tensor of shape ``(k, *input.shape)`` per input (zeros where an input does not
    reach a loss). One backward pass with ``is_grads_batched=True`` (vmap over the
    vector-Jacobian product with the rows of the identity); if the module has an operation
    without a batching rule, a loop of k backward passes instead, with one warning, remembered
    in ``state``. The graph is retained.
    """
    k = losses.shape[0]
    if state is None or state.batched:
        eye = torch.eye(k, dtype=losses.dtype, device=losses.device)
        try:
            grads = torch.autograd.grad(
                losses,
                inputs,
                grad_outputs=eye,
                is_grads_batched=True,
                retain_graph=True,
                allow_unused=True,
            )
        except (RuntimeError, NotImplementedError) as exc:
            if state is None:
                raise
            state.batched = False
            warnings.warn(
                "Per-task gradients could not be computed in one batched backward pass "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); falling back to one "
                "backward pass per task for this network (slower, same result).",
                RuntimeWarning,
                stacklevel=3,
            )
        else:
            return [
                torch.zeros(k, *x.shape, dtype=x.dtype, device=x.device) if g is None else g
                for x, g in zip(inputs, grads, strict=True)
            ]
    rows = []
    for i in range(k):
        g = torch.autograd.grad(losses[i], inputs, retain_graph=True, allow_unused=True)
        rows.append(
            [torch.zeros_like(x) if gi is None else gi for x, gi in zip(inputs, g, strict=True)]
        )
    return [torch.stack(col) for col in zip(*rows, strict=True)]


def find_shared_parameters(module: nn.Module, outputs: dict) -> list[str]:
    """Names of the parameters of ``module`` that two or more task outputs depend on.

    ``module.shared_parameters()`` wins when the module defines it. Otherwise each task's
    output is differentiated once (``allow_unused``) to see which parameters it reaches.
    """
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    by_id = {id(p): n for n, p in named}
    if hasattr(module, "shared_parameters"):
        return [by_id[id(p)] for p in module.shared_parameters() if id(p) in by_id]
    params = [p for _, p in named]
    reach = torch.zeros(len(params), dtype=torch.long)
    for out in outputs.values():
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            continue
        grads = torch.autograd.grad(out.sum(), params, retain_graph=True, allow_unused=True)
        reach += torch.tensor([g is not None for g in grads], dtype=torch.long)
    return [n for (n, _), r in zip(named, reach.tolist(), strict=True) if r >= 2]


def last_shared_parameters(module: nn.Module, shared: list[torch.Tensor]) -> list[torch.Tensor]:
    """The last shared layer's weights (GradNorm's W): ``module.last_shared_parameters()`` if
    defined, else the last shared parameter with two or more dimensions (or the last one)."""
    if hasattr(module, "last_shared_parameters"):
        return list(module.last_shared_parameters())
    matrices = [p for p in shared if p.dim() >= 2]
    if matrices:
        return [matrices[-1]]
    return shared[-1:]
