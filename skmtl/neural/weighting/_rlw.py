"""Random loss weighting (RLW)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from ._base import LossWeighting

__all__ = ["RandomLossWeighting"]


class RandomLossWeighting(LossWeighting):
    r"""Random loss weighting: fresh random weights at every step.

    At each training step, :math:`\lambda \sim \mathcal{N}(0, I_T)` and
    :math:`w = \operatorname{softmax}(\lambda)`, so that the weights are positive and sum to 1;
    the step minimises :math:`\sum_t w_t L_t`. Lin et al. (2022) show that this simple baseline
    is competitive with most hand-designed strategies and escapes poor local minima more often
    than fixed weights. Note that the weights sum to 1, not to T: the effective learning rate is
    T times smaller than with equal weights of 1.

    Parameters
    ----------
    random_state : int or None, default=None
        Seed of the strategy's own generator (a NumPy ``Generator``, so a fitted estimator
        pickles). None draws a seed from torch's global generator at set-up, which the
        estimator's ``random_state`` seeds, so a seeded estimator stays reproducible.

    References
    ----------
    .. [1] B. Lin, F. Ye, Y. Zhang, I. W. Tsang, "Reasonable effectiveness of random weighting:
       a litmus test for multi-task learning", TMLR, 2022.

    Examples
    --------
    >>> import torch
    >>> w = RandomLossWeighting(random_state=0)
    >>> w.setup(["a", "b", "c"], {})
    >>> weights = w.weights(torch.ones(3), epoch=0, step=0)
    >>> round(float(weights.sum()), 6), bool((weights > 0).all())
    (1.0, True)
    """

    name: ClassVar[str] = "rlw"

    def __init__(self, random_state: int | None = None) -> None:
        super().__init__()
        self.random_state = random_state

    def setup(self, tasks: list, task_types: dict) -> None:
        super().setup(tasks, task_types)
        seed = self.random_state
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        self.rng_ = np.random.default_rng(seed)

    def weights(self, losses: torch.Tensor, *, epoch: int, step: int) -> torch.Tensor:
        lam = torch.from_numpy(self.rng_.standard_normal(len(self.tasks)))
        return torch.softmax(lam, dim=0).to(dtype=losses.dtype, device=losses.device)
