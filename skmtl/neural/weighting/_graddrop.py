"""GradDrop: per coordinate, keep only the gradients of one sign, chosen by sign purity."""

from __future__ import annotations

import torch

from ._base import GradientWeighting

__all__ = ["GradDrop"]


class GradDrop(GradientWeighting):
    r"""Gradient sign dropout.

    For each coordinate ``k`` of the shared gradient, the sign purity

    .. math:: P_k = \frac12 \Big(1 + \frac{\sum_t g_{tk}}{\sum_t |g_{tk}|}\Big) \in [0, 1]

    is the probability of keeping the positive gradients: with :math:`U_k \sim U(0, 1)`, task
    ``t``'s gradient is kept at ``k`` if :math:`P_k > U_k` and :math:`g_{tk} > 0`, or
    :math:`P_k < U_k` and :math:`g_{tk} < 0`; the update is

    .. math:: d_k = \sum_t \big(\ell + (1 - \ell) M_{tk}\big) g_{tk},

    so every coordinate keeps gradients of one sign only (``leak`` :math:`\ell = 0`). This is not a
    combination of whole gradients, so the strategy needs the gradients themselves
    (``needs_gradients = True``) and implements :meth:`aggregate` only. The paper applies the
    dropout to the gradients of a shared activation summed over the batch; here it applies to the
    per-task gradients the trainer passes (those of the shared parameters), as LibMTL does.

    Parameters
    ----------
    leak : float, default=0.0
        Fraction of every gradient always kept (the paper's leak parameter; 1 gives the sum).
    random_state : int or None, default=None
        Seed of the ``torch.Generator`` that draws :math:`U` (reseeded by ``setup``); ``None``
        uses torch's global generator.
    use_representation : bool or "auto", default=False
        %(use_representation)s

    Attributes
    ----------
    last_weights_ : Tensor of shape (T,)
        Share of each task's squared gradient norm kept in the last step,
        :math:`g_t^\top \tilde g_t / \|g_t\|^2` with :math:`\tilde g_t` the kept part (1 for a
        zero gradient): an effective weight that can be plotted like the others.

    References
    ----------
    Z. Chen, J. Ngiam, Y. Huang, T. Luong, H. Kretzschmar, Y. Chai and D. Anguelov. "Just Pick a
    Sign: Optimizing Deep Multitask Models with Gradient Sign Dropout." Advances in Neural
    Information Processing Systems 33 (NeurIPS), 2020.

    Examples
    --------
    >>> import torch
    >>> from skmtl.neural.weighting._graddrop import GradDrop
    >>> grads = torch.tensor([[1.0, 2.0], [3.0, -2.0]])
    >>> d = GradDrop(random_state=0).aggregate(grads, torch.ones(2), epoch=0, step=0)
    >>> d[0].item()  # both positive: always kept
    4.0
    """

    name = "graddrop"
    representation_ok = True
    needs_gradients = True

    def __init__(
        self,
        *,
        leak: float = 0.0,
        random_state: int | None = None,
        use_representation: bool | str = False,
    ) -> None:
        super().__init__()
        self.use_representation = use_representation
        self.leak = leak
        self.random_state = random_state
        self._generator = None

    def setup(self, tasks: list, task_types: dict) -> None:
        super().setup(tasks, task_types)
        self._generator = None

    def _rng(self, device: torch.device) -> torch.Generator | None:
        if self.random_state is None:
            return None
        gen = self._generator
        if gen is None or gen.device != device or getattr(self, "_seed", None) != self.random_state:
            gen = torch.Generator(device=device)
            gen.manual_seed(int(self.random_state))
            self._generator, self._seed = gen, self.random_state
        return gen

    def weights_from_gramian(
        self, gramian: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        raise NotImplementedError(
            "GradDrop masks individual coordinates, so it needs the per-task gradients "
            "(needs_gradients=True): call aggregate(grads, losses, epoch=..., step=...)"
        )

    def aggregate(
        self, grads: torch.Tensor, losses: torch.Tensor, *, epoch: int, step: int
    ) -> torch.Tensor:
        if grads.ndim != 2:
            raise ValueError(f"grads must have shape (T, d), got {tuple(grads.shape)}")
        if not 0.0 <= self.leak <= 1.0:
            raise ValueError(f"leak must be in [0, 1], got {self.leak!r}")
        grads = grads.detach()
        purity = 0.5 * (1.0 + grads.sum(0) / (grads.abs().sum(0) + 1e-30))
        u = torch.rand(
            grads.shape[1],
            generator=self._rng(grads.device),
            device=grads.device,
            dtype=grads.dtype,
        )
        keep = ((purity > u) & (grads > 0)) | ((purity < u) & (grads < 0))
        factor = self.leak + (1.0 - self.leak) * keep.to(grads.dtype)
        kept = factor * grads
        sq = (grads * grads).sum(1)
        share = torch.where(sq > 0, (kept * grads).sum(1) / torch.where(sq > 0, sq, 1.0), 1.0)
        self.last_weights_ = share.detach()
        return kept.sum(0)
