"""DSelect-k gates (Hazimeh et al. 2021): MMoE with sparse, differentiable expert selection."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import ClassVar

import torch
from torch import nn

from ._base import check_count
from ._mmoe import MMoE

__all__ = ["DSelectK", "DSelectKGate", "smooth_step"]


def smooth_step(t: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""The cubic smooth step :math:`S(t)`: 0 below :math:`-\gamma/2`, 1 above :math:`\gamma/2`.

    .. math:: S(t) = -\frac{2}{\gamma^3} t^3 + \frac{3}{2\gamma} t + \frac12
              \quad\text{for } |t| \le \gamma/2.
    """
    t = t.clamp(-gamma / 2, gamma / 2)
    return -2.0 / gamma**3 * t**3 + 1.5 / gamma * t + 0.5


class DSelectKGate(nn.Module):
    r"""Per-example DSelect-k gate over ``n_experts`` (a power of two), selecting at most ``k``.

    Selector :math:`i` has a binary code :math:`z_i(x) = Z_i x + c_i \in \mathbb{R}^m`,
    :math:`m = \log_2 E`; it puts on expert :math:`j` (bits :math:`j_1 \dots j_m`) the weight
    :math:`r(z_i)_j = \prod_{l} S(z_{il})^{j_l} (1 - S(z_{il}))^{1 - j_l}`, a distribution that
    becomes one-hot once every :math:`|z_{il}| \ge \gamma/2`. The gate is the softmax-weighted
    sum of the ``k`` selectors, :math:`q(x) = \sum_{i=1}^{k} \mathrm{softmax}(W x + b)_i\,r(z_i)`.
    """

    def __init__(self, n_in: int, n_experts: int, k: int, gamma: float = 1.0) -> None:
        super().__init__()
        if n_experts & (n_experts - 1):
            raise ValueError(f"dselect_k needs n_experts to be a power of 2, got {n_experts}.")
        if not 1 <= k <= n_experts:
            raise ValueError(f"top_k must be between 1 and n_experts={n_experts}, got {k}.")
        if not gamma > 0:
            raise ValueError(f"gamma must be positive, got {gamma!r}.")
        self.k, self.gamma, self.n_bits = k, float(gamma), n_experts.bit_length() - 1
        self.selectors = nn.Linear(n_in, k * self.n_bits)
        self.mix = nn.Linear(n_in, k)
        # Start in the smooth step's linear zone: saturated codes would get no gradient.
        with torch.no_grad():
            bound = gamma / (4 * n_in**0.5)
            self.selectors.weight.uniform_(-bound, bound)
            self.selectors.bias.uniform_(-gamma / 4, gamma / 4)
        codes = torch.arange(n_experts)
        bits = (codes[:, None] >> torch.arange(self.n_bits)[None, :]) & 1
        self.register_buffer("bits", bits.bool(), persistent=False)  # (E, m)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        z = self.selectors(X).view(len(X), self.k, 1, self.n_bits)
        s = smooth_step(z, self.gamma)  # (batch, k, 1, m)
        r = torch.where(self.bits, s, 1 - s).prod(dim=-1)  # (batch, k, E)
        alpha = torch.softmax(self.mix(X), dim=-1)  # (batch, k)
        return torch.einsum("bk,bke->be", alpha, r)


class DSelectK(MMoE):
    r"""Mixture of experts with DSelect-k gates (Hazimeh et al. 2021).

    As :class:`MMoE`, :math:`h_t(x) = \sum_e q_t(x)_e f_e(x)` and
    :math:`\hat y_t = \mathrm{tower}_t(h_t(x))`, but each task's gate :math:`q_t` is a
    :class:`DSelectKGate`: a convex combination of ``top_k`` differentiable binary selectors,
    each of which converges to a single expert, so that a trained gate uses at most ``top_k``
    experts (an MMoE softmax gate is dense). Smooth-step codes are trained by gradient descent;
    the paper's optional entropy regulariser, which speeds up convergence to binary codes, is
    not included.

    .. math::

        q_t(x) = \sum_{i=1}^{k} \mathrm{softmax}(W_t x + b_t)_i \; r\big(Z_{t,i} x + c_{t,i}\big),
        \qquad r(z)_j = \prod_{l=1}^{\log_2 E} S(z_l)^{j_l} \big(1 - S(z_l)\big)^{1 - j_l}.

    Parameters
    ----------
    n_features_in : int
        Number of input features.
    task_outputs : dict
        Task name -> number of outputs (classes for classification, 1 for regression).
    n_experts : int, default=4
        Number of experts :math:`E`, a power of 2.
    top_k : int, default=2
        Number of selectors :math:`k` per task: the most experts a trained gate uses.
    hidden_units, head_units, activation, dropout, batch_norm
        As :class:`MMoE`.
    gamma : float, default=1.0
        Width of the smooth step's transition zone (route it as ``module__gamma``).

    References
    ----------
    .. [1] H. Hazimeh, Z. Zhao, A. Chowdhery, M. Sathiamoorthy, Y. Chen, R. Mazumder, L. Hong,
       E. H. Chi, "DSelect-k: Differentiable selection in the mixture of experts with
       applications to multi-task learning", NeurIPS 2021.

    Examples
    --------
    >>> import torch
    >>> net = DSelectK(5, {"a": 1, "b": 1}, n_experts=4, top_k=2, hidden_units=(8,))
    >>> q = net.gate_weights(torch.randn(3, 5))["a"]
    >>> tuple(q.shape), bool(torch.allclose(q.sum(dim=1), torch.ones(3)))
    ((3, 4), True)
    """

    params: ClassVar[tuple[str, ...]] = ("n_experts", "top_k")

    def __init__(
        self,
        n_features_in: int,
        task_outputs: Mapping[Hashable, int],
        n_experts: int = 4,
        top_k: int = 2,
        hidden_units: Sequence[int] = (64, 64),
        head_units: Sequence[int] = (),
        activation: str | type[nn.Module] = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        gamma: float = 1.0,
    ) -> None:
        self.top_k = check_count("top_k", top_k)
        self.gamma = gamma
        super().__init__(
            n_features_in,
            task_outputs,
            n_experts=n_experts,
            hidden_units=hidden_units,
            head_units=head_units,
            activation=activation,
            dropout=dropout,
            batch_norm=batch_norm,
        )

    def _make_gate(self, n_in: int, n_experts: int) -> nn.Module:
        return DSelectKGate(n_in, n_experts, self.top_k, self.gamma)
