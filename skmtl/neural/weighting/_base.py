"""The interface of a task-weighting strategy.

A strategy receives what it needs as call arguments and nothing else (no trainer attributes):

- :class:`LossWeighting` (loss level): ``weights(losses, *, epoch, step)`` returns the per-task
  weights of this step; the trainer back-propagates ``sum_t w_t L_t`` once. A strategy with
  learned parameters (uncertainty weighting) registers them as ``nn.Parameter`` and returns the
  full objective from ``objective(losses, ...)`` instead (the default is ``sum_t w_t L_t``).
- :class:`GradientWeighting` (gradient level): ``weights_from_gramian(gramian, losses, *, epoch,
  step)`` returns weights computed from the Gramian ``G G'`` of the per-task gradients of the shared
  parameters (or, with ``use_representation``, of the shared representation: MGDA-UB's
  approximation); the trainer combines ``sum_t w_t g_t`` without a second backward pass. A
  method that needs the gradients themselves (GradDrop) sets ``needs_gradients = True`` and
  implements ``aggregate(grads, losses, ...) -> direction``.

Every strategy exposes ``last_weights_`` (the weights of the last step, a 1-D tensor in task
order) so that the trainer can record them in the history.

A strategy that learns from how the step it weighted changed the losses (FAMO) sets
``needs_post_step_losses = True`` and implements ``after_step(before, after, *, active, epoch,
step)``: after the optimiser step, the trainer evaluates the same batch again (evaluation mode,
no gradient, so that batch-norm statistics and dropout are left alone) and calls it with the
per-task losses of the batch before and after the step. Any strategy, loss or gradient level, may
declare it; the trainer has no special case for any method.
"""

from __future__ import annotations

import re
from typing import ClassVar

import torch
from torch import nn

__all__ = ["GradientWeighting", "LossWeighting", "Weighting"]

#: The description of the ``use_representation`` parameter, shared by every gradient-level
#: strategy: a line holding only ``%(use_representation)s`` in a subclass docstring is replaced
#: by it (at that line's indentation) when the class is created.
USE_REPRESENTATION_DOC = r"""
Per-task gradients with respect to the shared representation (the architecture's
``representation_``) instead of the shared parameters, then one backward pass of
:math:`\sum_t w_t L_t`: an approximation (MGDA-UB's, Sener and Koltun 2018, section
3.3; LibMTL's ``rep_grad``) that replaces one vector-Jacobian product through the
trunk per task by one through the heads. True: required (an error for an architecture
without one); ``"auto"``: where the architecture exposes one; False: exact.
""".strip()

_USE_REPRESENTATION_PLACEHOLDER = re.compile(r"^([ \t]*)%\(use_representation\)s[ \t]*$", re.M)


def _fill_use_representation(doc: str | None) -> str | None:
    """``doc`` with its ``%(use_representation)s`` line replaced by the shared text."""
    if not doc:
        return doc
    return _USE_REPRESENTATION_PLACEHOLDER.sub(
        lambda m: "\n".join(m.group(1) + line for line in USE_REPRESENTATION_DOC.splitlines()),
        doc,
    )


class Weighting(nn.Module):
    """Base class of every strategy. ``name`` is its string alias (``weighting="pcgrad"``)."""

    name: ClassVar[str] = ""
    level: ClassVar[str] = ""  # "loss" or "gradient"
    #: whether the trainer calls :meth:`after_step` after each optimiser step
    needs_post_step_losses: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.last_weights_: torch.Tensor | None = None

    def setup(self, tasks: list, task_types: dict) -> None:
        """Called once before training with the task names (in order) and their types."""
        self.tasks = list(tasks)
        self.task_types = dict(task_types)

    def after_step(
        self,
        before: torch.Tensor,
        after: torch.Tensor,
        *,
        active: torch.Tensor,
        epoch: int,
        step: int,
    ) -> None:
        """The batch's per-task losses ``before`` and ``after`` the optimiser step (shape (T,),
        detached, scaled by ``task_weights``; ``active`` marks the tasks with a label in the
        batch). Called only when ``needs_post_step_losses`` is True; the default does nothing."""

    def get_params(self, deep: bool = True) -> dict:  # pragma: no cover - documented contract
        """Constructor parameters (so that GridSearchCV can search a strategy object)."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self


class LossWeighting(Weighting):
    level = "loss"

    def weights(self, losses: torch.Tensor, *, epoch: int, step: int) -> torch.Tensor:
        raise NotImplementedError

    def objective(self, losses: torch.Tensor, *, epoch: int, step: int) -> torch.Tensor:
        w = self.weights(losses.detach(), epoch=epoch, step=step)
        self.last_weights_ = w.detach()
        return torch.sum(w * losses)


class GradientWeighting(Weighting):
    level = "gradient"
    needs_gradients: ClassVar[bool] = False
    #: whether the strategy may use gradients w.r.t. the shared representation (MGDA-UB); the
    #: built-in strategies set it and take a ``use_representation`` parameter (False, True or
    #: "auto"; a strategy without that attribute counts as "auto")
    representation_ok: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "__doc__" in cls.__dict__:
            cls.__doc__ = _fill_use_representation(cls.__dict__["__doc__"])

    def weights_from_gramian(
        self, gramian: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        raise NotImplementedError

    def aggregate(
        self, grads: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        """Combined update direction from per-task gradients ``grads`` of shape (T, d)."""
        w = self.weights_from_gramian(grads @ grads.T, losses, epoch=epoch, step=step)
        self.last_weights_ = w.detach()
        return w @ grads
