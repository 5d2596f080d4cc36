"""Multi-task relationship learning (MTRL, Zhang & Yeung 2010): the penalty, which owns the task
covariance ``Omega``, and the two estimators.

The penalty is variational,

    P(W) = alpha/2 ||W||_F^2 + min_Omega coupling/2 tr(W Omega^+ W'),  Omega >= 0, tr Omega = 1,

(``W`` in the range of ``Omega``). For fixed ``W`` the optimum is ``Omega* = (W'W)^(1/2) /
tr((W'W)^(1/2))`` and ``tr(W Omega*^+ W') = ||W||_*^2``, so

    P(W) = alpha/2 ||W||_F^2 + coupling/2 ||W||_*^2,

a spectral function of ``W``: its prox and its conjugate act on the singular values and have
closed forms. The solver is accelerated proximal gradient on this eliminated problem, which,
unlike alternating ``W``- and ``Omega``-steps, does not stall when ``W`` is low rank (a zero
eigenvalue of ``Omega`` would freeze its direction).
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from . import _family
from ._clustered import (
    StructuredFit,
    check_equal_widths,
    from_task_matrix,
    stops_on_gap,
    task_spectrum,
    to_task_matrix,
)
from ._family import Param, make_family
from ._penalties import Penalty
from ._solvers._fenchel import CONJUGATE
from ._solvers._fista import fista


def _shrink(v, tau_c, denom):
    """``sigma_i = max(v_i - tau_c S, 0) / denom`` with ``S = sum_i sigma_i`` (v decreasing,
    >= 0): the active set is the ``r`` largest, ``S = sum_{i<=r} v_i / (denom + r tau_c)``."""
    if v.size == 0 or v[0] <= 0:
        return np.zeros_like(v)
    r = np.arange(1, v.size + 1)
    S = np.cumsum(v) / (denom + r * tau_c)
    active = v > tau_c * S
    if not active.any():  # only for an infinite tau_c (overflow on extreme data): the limit, 0
        return np.zeros_like(v)
    n = int(np.flatnonzero(active)[-1]) + 1
    return np.maximum(v - tau_c * S[n - 1], 0.0) / denom


class TaskRelationPenalty(Penalty):
    """``P(W) = alpha/2 ||W||_F^2 + coupling/2 ||W||_*^2``, the MTRL penalty with ``Omega``
    eliminated (the trace norm of the task matrix: one column per task, the class blocks of a
    multiclass task stacked).

    Its ``prox`` has a closed form on the singular values; it declares ``"conjugate"``
    (``conjugate(V)``, for the duality gap). The auxiliary variable is :meth:`task_covariance`.
    """

    capabilities = frozenset({CONJUGATE})

    def __init__(self, alpha, coupling, n_tasks, width=1, *, tied=False):
        self.alpha = float(alpha)
        # tied: the coupling follows alpha (coupling=None), also through with_alpha
        self.tied = bool(tied)
        self.coupling = self.alpha if tied else float(coupling)
        self.n_tasks = int(n_tasks)
        self.width = int(width)
        if not (self.alpha >= 0 and 0 <= self.coupling < np.inf):
            raise ValueError(
                f"alpha and coupling must be finite and >= 0, got {alpha!r}, {coupling!r}."
            )

    def with_alpha(self, alpha):
        return type(self)(alpha, self.coupling, self.n_tasks, self.width, tied=self.tied)

    @property
    def strong_convexity(self):
        return self.alpha

    def _R(self, W):
        return to_task_matrix(W, self.n_tasks, self.width)

    def value(self, W):
        R = self._R(W)
        nuc = float(np.sum(np.linalg.svd(R, compute_uv=False))) if R.size else 0.0
        return 0.5 * self.alpha * float(np.sum(W * W)) + 0.5 * self.coupling * nuc * nuc

    def prox(self, V, step):
        """``argmin_W ||W - V||^2 / (2 step) + P(W)``: on the singular values ``v``,
        ``sigma_i = max(v_i - step coupling S, 0) / (1 + step alpha)`` with ``S = sum sigma``."""
        U, s, Vt = task_spectrum(self._R(V))
        sig = _shrink(s, step * self.coupling, 1.0 + step * self.alpha)
        return from_task_matrix((U * sig) @ Vt, V.shape[0], self.width)

    def conjugate(self, V):
        """``P*(V) = sup_W <V, W> - P(W)``: on the singular values ``u`` of ``V``, the maximiser
        is ``sigma_i = max(u_i - coupling S, 0) / alpha``. For ``alpha = 0`` it is
        ``||V||_2^2 / (2 coupling)``."""
        R = self._R(V)
        u = np.linalg.svd(R, compute_uv=False) if R.size else np.zeros(0)
        a, c = self.alpha, self.coupling
        if a == 0:
            if c == 0:
                return 0.0 if not np.any(u > 0) else np.inf
            return float(u[0] ** 2 / (2.0 * c)) if u.size else 0.0
        sig = _shrink(u, c, a)
        S = float(sig.sum())
        return float(u @ sig - 0.5 * a * sig @ sig - 0.5 * c * S * S)

    def task_covariance(self, W):
        """``Omega* = (W'W)^(1/2) / tr((W'W)^(1/2))`` (n_tasks, n_tasks); ``I / n_tasks`` when
        ``W = 0``."""
        _, s, Vt = task_spectrum(self._R(W))
        if s.size == 0:
            return np.eye(self.n_tasks) / self.n_tasks
        Omega = (Vt.T * s) @ Vt / float(s.sum())
        return 0.5 * (Omega + Omega.T)


def task_correlation(Omega):
    """``Omega_st / sqrt(Omega_ss Omega_tt)``; a task with ``Omega_tt = 0`` (all its coefficients
    zero) has correlation 0 with every other task and 1 with itself."""
    d = np.sqrt(np.clip(np.diag(Omega), 0.0, None))
    scale = np.where(d > 0, d, 1.0)
    C = Omega / scale[:, None] / scale[None, :]
    zero = d <= 0
    C[zero, :] = 0.0
    C[:, zero] = 0.0
    np.fill_diagonal(C, 1.0)
    return np.clip(C, -1.0, 1.0)


def _relation_penalty(p, n_tasks, widths):
    width = check_equal_widths(widths, "Task-relation learning")
    return TaskRelationPenalty(
        p.alpha, p.coupling, n_tasks, width, tied=p.coupling is None
    )


class _TaskRelationFit(StructuredFit):
    _solver = staticmethod(fista)

    def _set_structure(self, penalty, W):
        self.coupling_ = penalty.coupling
        Omega = penalty.task_covariance(W)
        self.task_covariance_ = Omega
        self.task_correlation_ = task_correlation(Omega)


_RELATION_ATTRS = """coupling_ : float
    The ``coupling`` used (``coupling``, or ``alpha_`` when it is None).
task_covariance_ : ndarray of shape (n_tasks, n_tasks)
    The learned :math:`\\Omega^*` (positive semi-definite, trace 1; ``I / n_tasks`` when all
    coefficients are zero).
task_correlation_ : ndarray of shape (n_tasks, n_tasks)
    :math:`\\Omega_{st} / \\sqrt{\\Omega_{ss} \\Omega_{tt}}`. A task whose coefficients are all
    zero has :math:`\\Omega_{tt} = 0`: its correlation is 0 with every other task and 1 with
    itself."""

TaskRelationRegressor, TaskRelationClassifier = make_family(
    "TaskRelation",
    penalty=TaskRelationPenalty,
    build=_relation_penalty,
    mixin=_TaskRelationFit,
    alpha="Ridge strength, >= 0.",
    params=[
        Param(
            "coupling", None, [None, Interval(numbers.Real, 0, None, closed="left")],
            """Strength of the task-relation term (finite, >= 0). ``None``: ``coupling_ =
alpha_``, the relation term as strong as the ridge term (for one task the penalty is then
a ridge of ``2 alpha_``).""", positional=True, type_doc="float or None",
        ),
    ],
    summary={
        "regressor": "Multi-task ridge regression with a learned task covariance (multi-task "
        "relationship learning).",
        "classifier": "Multi-task logistic regression with a learned task covariance "
        "(multi-task relationship learning).",
    },
    objective=r"""f(W, b) + \frac{\alpha}{2} \|W\|_F^2
          + \frac{\text{coupling}}{2} \operatorname{tr}(W \Omega^{+} W^\top)
          \quad\text{over } W, b, \Omega:\; \Omega \succeq 0,\; \operatorname{tr} \Omega = 1""",
    description=r"""(:math:`W` in the range of :math:`\Omega`). For fixed :math:`W` the optimal
covariance is :math:`\Omega^* = (W^\top W)^{1/2} / \operatorname{tr}(W^\top W)^{1/2}`, and the
coupling term becomes :math:`\frac{\text{coupling}}{2} \|W\|_*^2` (squared trace norm): the
problem is the convex

.. math:: f(W, b) + \frac{\alpha}{2} \|W\|_F^2 + \frac{\text{coupling}}{2} \|W\|_*^2 .

Unlike clustering or mean regularisation, :math:`\Omega` can say that two tasks are
*negatively* related (their coefficients point in opposite directions), which
``task_correlation_`` shows. ``coupling = 0`` gives independent ridge tasks. For a task with
:math:`K > 2` classes :math:`\Omega` acts on whole tasks (the class blocks stacked); all tasks
must then have the same number of outputs.""",
    attributes={
        "regressor": _family._GAP_ATTR + "\n" + _RELATION_ATTRS,
        "classifier": _RELATION_ATTRS,
    },
    see_also={
        "regressor": """ClusteredRegressor : learned clusters of tasks.
LowRankRegressor : the trace norm itself, not squared.""",
        "classifier": "ClusteredClassifier : learned clusters of tasks.",
    },
    notes=r"""The solver is accelerated proximal gradient on the eliminated problem: the prox of
:math:`\frac{\alpha}{2}\|\cdot\|_F^2 + \frac{c}{2}\|\cdot\|_*^2` with step :math:`\tau` maps
the singular values :math:`v_i` to :math:`\max(v_i - \tau c S, 0) / (1 + \tau\alpha)`,
:math:`S` their sum (closed form on the active set). Alternating :math:`W`- and
:math:`\Omega`-steps, as the original algorithm does, stalls when :math:`W` is low rank.""",
    references="""Y. Zhang and D.-Y. Yeung. A convex formulation for learning task relationships in
multi-task learning. UAI 2010.""",
    examples={
        "regressor": """>>> import numpy as np
>>> from skmtl.linear import TaskRelationRegressor
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(100, 4))
>>> w = rng.normal(size=4)
>>> Y = np.column_stack([X @ w, X @ w, -(X @ w)]) + 0.1 * rng.normal(size=(100, 3))
>>> model = TaskRelationRegressor(alpha=0.01, coupling=0.1).fit(X, Y)
>>> np.round(model.task_correlation_, 2)
array([[ 1.,  1., -1.],
       [ 1.,  1., -1.],
       [-1., -1.,  1.]])""",
        "classifier": """>>> import numpy as np
>>> from skmtl.linear import TaskRelationClassifier
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 3))
>>> z = X[:, 0] + 0.3 * rng.normal(size=300)
>>> Y = np.column_stack([z > 0, z > 0, z < 0]).astype(int)   # the third task is the opposite
>>> clf = TaskRelationClassifier(alpha=0.01, coupling=0.01).fit(X, Y)
>>> np.sign(np.round(clf.task_correlation_[0], 1))
array([ 1.,  1., -1.])""",
    },
)
TaskRelationRegressor = stops_on_gap(TaskRelationRegressor, r"""The solver stops on the duality
gap (the conjugate of the penalty has a closed form on the singular values; for ``alpha = 0``
it is :math:`\|V\|_2^2 / (2\,\text{coupling})`) below
``tol * sum_t ||y_t - mean(y_t)||^2 / n_t``, stored in ``dual_gap_``. Hitting ``max_iter``
first raises a :class:`~sklearn.exceptions.ConvergenceWarning`.""")


__all__ = ["TaskRelationClassifier", "TaskRelationPenalty", "TaskRelationRegressor"]
