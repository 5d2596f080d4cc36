"""Robust multi-task learning (Chen, Zhou & Ye 2011; MALSAR ``Least_RMTL``): ``W = L + S`` with
``alpha ||L||_* + beta sum_t ||S_t||_F``: most tasks share a low-rank structure (``L``), a few
outlier tasks deviate from it (``S``, whose columns are zero except for the outliers).

``S_t`` is the block of task ``t`` (one column for regression and binary tasks, one per class for
a task with ``K_t > 2`` classes). The solver works on the stacked variable ``[L | S]``
(accelerated proximal gradient; the prox is singular-value thresholding of ``L`` and group
soft-thresholding of the task blocks of ``S``) and stops on the duality gap of the problem in
``W``: the dual norm of the infimal convolution is ``max(||V||_2 / alpha, max_t ||V_t||_F /
beta)``.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from ._family import Param, make_family
from ._penalties import DUALITY_GAP, Penalty, TraceNorm
from ._split import _SplitMixin, default_ratio, split_penalty


def _slices(widths):
    ends = np.cumsum(widths)
    return [slice(int(e - w), int(e)) for e, w in zip(ends, widths)]


class TaskGroupNorm(Penalty):
    """``P(W) = alpha * sum_t ||W[:, cols_t]||_F``: whole tasks are switched on or off."""

    capabilities = frozenset({DUALITY_GAP})

    def __init__(self, alpha, widths):
        self.alpha = float(alpha)
        self.widths = [int(w) for w in widths]
        self._sl = _slices(self.widths)
        self._starts = np.array([s.start for s in self._sl], dtype=np.intp)
        self._unit = all(w == 1 for w in self.widths)

    def with_alpha(self, alpha):
        return TaskGroupNorm(alpha, self.widths)

    def norms(self, W):
        sq = np.einsum("ij,ij->j", W, W)
        if self._unit:
            return np.sqrt(sq)
        return np.sqrt(np.add.reduceat(sq, self._starts)) if sq.size else np.zeros(0)

    def value(self, W):
        return self.alpha * float(self.norms(W).sum())

    def prox(self, V, step):
        thresh = step * self.alpha
        norms = self.norms(V)
        shrink = 1.0 - thresh / np.maximum(norms, thresh)  # 0 where norms <= thresh
        return V * (shrink if self._unit else np.repeat(shrink, self.widths))[None, :]

    def dual_norm(self, V):
        norm = float(self.norms(V).max(initial=0.0))
        return norm / self.alpha if self.alpha > 0 else (np.inf if norm > 0 else 0.0)

    def alpha_max(self, grad0):
        return float(self.norms(grad0).max(initial=0.0))


class RobustLowRank(Penalty):
    """``min_{L + S = W} alpha ||L||_* + beta sum_t ||S_t||_F`` on the stacked ``[L | S]``.

    ``with_alpha`` keeps ``beta / alpha``; ``alpha_max`` is the smallest ``alpha`` with ``W = 0``
    at that ratio.
    """

    capabilities = frozenset({DUALITY_GAP})

    def __init__(self, alpha, beta, widths):
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.widths = [int(w) for w in widths]
        self.n_outputs = int(sum(self.widths))
        self._trace = TraceNorm(self.alpha)
        self._group = TaskGroupNorm(self.beta, self.widths)

    def with_alpha(self, alpha):
        return RobustLowRank(alpha, self.beta * float(alpha) / self.alpha, self.widths)

    def with_alpha_beta(self, alpha, beta):
        return RobustLowRank(alpha, beta, self.widths)

    def default_ratio(self):
        return default_ratio(len(self.widths))

    def _halves(self, V):
        M = self.n_outputs
        if V.shape[1] == 2 * M:
            return V[:, :M], V[:, M:]
        return V, V  # a gradient in W: the stacked gradient is [G | G]

    def value(self, V):
        if V.shape[1] == self.n_outputs and self.limit() is not None:
            return self.limit().value(V)  # at the limits the infimal convolution is one norm
        L, S = self._halves(V)
        return self._trace.value(L) + self._group.value(S)

    def prox(self, V, step):
        M = self.n_outputs
        out = np.empty_like(V)
        out[:, :M] = self._trace.prox(V[:, :M], step)
        out[:, M:] = self._group.prox(V[:, M:], step)
        return out

    def dual_norm(self, V):
        L, S = self._halves(V)
        return max(self._trace.dual_norm(L), self._group.dual_norm(S))

    def alpha_max(self, grad0):
        G, _ = self._halves(grad0)
        ratio = self.beta / self.alpha
        return max(TraceNorm.alpha_max(G), self._group.alpha_max(G) / ratio)

    # -- the split ------------------------------------------------------------------------------
    def limit(self):
        """The penalty on ``W`` at the exact limits, else None.

        ``||S||_* <= sum_t ||S_t||_* <= sum_t sqrt(K_t) ||S_t||_F`` gives ``S = 0`` for ``beta >=
        alpha sqrt(max_t K_t)`` (``beta >= alpha`` with one column per task), and ``sum_t
        ||L_t||_F <= sqrt(T) ||L||_F <= sqrt(T) ||L||_*`` gives ``L = 0`` for ``beta <= alpha /
        sqrt(T)``."""
        if self.beta >= self.alpha * np.sqrt(max(self.widths)):
            return self._trace
        if self.beta * np.sqrt(len(self.widths)) <= self.alpha:
            return self._group
        return None

    def assign(self, W):
        zero = np.zeros_like(W)
        return (W, zero) if self.limit() is self._trace else (zero, W)

    def polish(self, L, S):
        return L, S


class _RobustMixin(_SplitMixin):
    _part_names = ("low_rank_coef_", "outlier_coef_")

    def _set_fitted(self, W, b, meta, n_iter, crit, rule_name):
        super()._set_fitted(W, b, meta, n_iter, crit, rule_name)
        norms = TaskGroupNorm(1.0, meta["widths"]).norms(self._parts[1])
        self.outlier_norms_ = norms
        self.outlier_tasks_ = np.asarray(meta["tasks"])[norms > 0]


_BETA = [Interval(numbers.Real, 0, None, closed="neither"), None]

_LIMITS = r"""``L`` (``low_rank_coef_``) is the structure that the tasks share, ``S``
(``outlier_coef_``) is zero except on the outlier tasks (``outlier_tasks_``), which it lets
deviate from that structure; ``S_t`` is the block of task ``t`` (one column, or one per class
for a task with ``K > 2`` classes). Exact limits: ``beta >= alpha`` (``alpha sqrt(K)`` with
``K`` classes per task) gives ``S = 0``, the trace-norm model with the same ``alpha``;
``beta <= alpha / sqrt(n_tasks)`` gives ``L = 0`` (every task on its own, with a group penalty
``beta ||w_t||`` per task). Where the split of a solution is not unique (it can be at ``beta``
equal to either bound) the solver's split is returned, except at the limits, where it is the
one above."""

RobustLowRankRegressor, RobustLowRankClassifier = make_family(
    "RobustLowRank",
    penalty=RobustLowRank,
    build=lambda p, n_tasks, widths: split_penalty(RobustLowRank, p, n_tasks, widths),
    mixin=_RobustMixin,
    alpha="Strength of the trace-norm penalty on the shared part ``L`` (> 0).",
    alpha_default_doc="""``None`` (default): ``alpha_ = 0.01 * alpha_max`` at the ratio
``beta_ / alpha_`` of the ``beta`` default, with ``alpha_max`` the smallest ``alpha`` giving
``W = 0`` there; when ``beta`` is given, ``alpha_ = beta * n_tasks ** 0.25``.""",
    params=[
        Param("beta", None, _BETA,
              """Strength of the task-group penalty on the outlier part ``S``. ``None``
(default): ``beta_ = alpha_ * n_tasks ** -0.25``, the geometric middle of the range
``(alpha / sqrt(n_tasks), alpha)`` where both parts are used.""", positional=True,
              type_doc="float or None"),
    ],
    summary={
        "regressor": "Robust multi-task least squares: a low-rank structure shared by the tasks "
        "plus outlier tasks (Chen, Zhou & Ye 2011).",
        "classifier": "Robust multi-task logistic regression: a shared low-rank structure plus "
        "outlier tasks.",
    },
    objective=r"""f(W, b) + \min_{L + S = W} \; \alpha \|L\|_* + \beta \sum_{t=1}^T
          \|S_t\|_F,""",
    description=_LIMITS,
    attributes="""beta_ : float
    The ``beta`` used.
low_rank_coef_ : ndarray, shaped like ``coef_``
    The shared low-rank part ``L``.
outlier_coef_ : ndarray, shaped like ``coef_``
    The outlier part ``S``; ``low_rank_coef_ + outlier_coef_ == coef_``.
outlier_tasks_ : ndarray
    Labels (as in ``tasks_``) of the outlier tasks: the tasks whose block of
    ``outlier_coef_`` is not zero (exact zeros, from group soft-thresholding).
outlier_norms_ : ndarray of shape (n_tasks,)
    ``||S_t||_F`` per task (0 for the tasks that follow the shared structure).""",
    see_also={
        "regressor": """LowRankRegressor : the ``beta >= alpha`` limit.
DirtyRegressor : the same split with a row-sparse shared part.""",
        "classifier": "LowRankClassifier : the ``beta >= alpha`` limit (binary tasks).",
    },
    notes="""Accelerated proximal gradient on the stacked variable ``[L | S]`` (the datafit sees
``L + S``; the prox is singular-value thresholding of ``L`` and group soft-thresholding of the
task blocks of ``S``); at the limits the problem in ``W`` is solved directly. The duality gap is
that of the problem in ``W``, computed with the penalty of the returned split (an upper bound):
the dual norm is ``max(||V||_2 / alpha, max_t ||V_t||_F / beta)``.""",
    references="""J. Chen, J. Zhou and J. Ye. Integrating low-rank and group-sparse structures for
robust multi-task learning. KDD 2011.

J. Zhou, J. Chen and J. Ye. MALSAR: Multi-task learning via structural regularization. 2011
(``Least_RMTL``).""",
    examples={
        "regressor": """>>> import numpy as np
>>> from skmtl.linear import RobustLowRankRegressor
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(100, 6))
>>> W = np.outer(rng.normal(size=6), np.ones(8))   # 8 tasks, one shared direction
>>> W[:, 3] = 2 * rng.normal(size=6)              # task 3 is an outlier
>>> Y = X @ W + 0.1 * rng.normal(size=(100, 8))
>>> model = RobustLowRankRegressor(alpha=0.3, beta=0.2).fit(X, Y)
>>> model.outlier_tasks_
array([3])
>>> int(np.linalg.matrix_rank(model.low_rank_coef_, tol=1e-6))
1""",
        "classifier": """>>> import numpy as np
>>> from skmtl.linear import RobustLowRankClassifier
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 4))
>>> Y = np.column_stack([X[:, 0] - X[:, 1] > 0] * 5 + [X[:, 2] > 0]).astype(int)
>>> clf = RobustLowRankClassifier(alpha=0.05, beta=0.03).fit(X, Y)
>>> clf.outlier_tasks_
array([5])""",
    },
)

__all__ = ["RobustLowRankClassifier", "RobustLowRankRegressor"]
