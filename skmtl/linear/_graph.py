"""Graph-regularised multi-task learning (MALSAR's SRMTL): the user gives a weighted task graph and
neighbouring tasks are pulled together,

    alpha (1 - l1_ratio) / 2 ||W||_F^2 + coupling / 2 sum_{s<t} A_st ||w_s - w_t||^2
    + alpha l1_ratio ||W||_1,

and ``sum_{s<t} A_st ||w_s - w_t||^2 = tr(W L W')`` with ``L = D - A`` the graph Laplacian
(acting on tasks, ``L (x) I_K`` on the class blocks of tasks with ``K > 2`` classes).

Without the L1 term the penalty is quadratic and its prox has a closed form in the eigenbasis of
``L``: ``prox(V) = V U diag(1 / (1 + step (alpha + coupling lambda_s))) U'``. With it, the
quadratic part joins the datafit as a smooth term (``value_grad``) and the prox is
soft-thresholding.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval

from . import _validation as V
from ._dirty import L1
from ._family import Param, make_family
from ._penalties import SMOOTH, Penalty
from ._solvers import ProxGradNorm
from ._solvers._composite import SmoothPlus


def resolve_task_graph(task_graph, tasks):
    """``task_graph`` (None, a T x T weight matrix or an edge list of task labels) -> the
    symmetric non-negative adjacency matrix with a zero diagonal, of shape (T, T).

    ``None`` is the complete graph with every weight ``1 / T`` (the mean-regularised model). An
    array, sparse matrix or DataFrame is a weight matrix (a DataFrame's index and columns, when
    they are the task labels, are matched to the tasks); a list or tuple of ``(s, t)`` or
    ``(s, t, weight)`` is an edge list (weight 1 by default).
    """
    tasks = np.asarray(tasks)
    T = len(tasks)
    names = tasks.tolist()
    if task_graph is None:
        A = np.full((T, T), 1.0 / T)
    elif isinstance(task_graph, (list, tuple)):
        A = _from_edges(task_graph, names)
    else:
        if hasattr(task_graph, "columns") and hasattr(task_graph, "index"):
            cols, idx = list(task_graph.columns), list(task_graph.index)
            if set(map(str, cols)) == set(map(str, names)) and set(map(str, idx)) == set(
                map(str, names)
            ) and len(cols) == T == len(idx):
                order = [str(n) for n in names]
                task_graph = task_graph.set_axis([str(c) for c in cols], axis=1)
                task_graph = task_graph.set_axis([str(i) for i in idx], axis=0)
                task_graph = task_graph.loc[order, order]
            task_graph = task_graph.to_numpy()
        if sp.issparse(task_graph):
            task_graph = task_graph.toarray()
        try:
            A = np.asarray(task_graph, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(
                "task_graph must be None, a (n_tasks, n_tasks) array of non-negative weights or a "
                f"list of (task, task[, weight]) edges; got {type(task_graph).__name__}."
            ) from None
        if A.ndim != 2 or A.shape != (T, T):
            raise ValueError(
                f"task_graph has shape {A.shape}, but y has {T} task(s): it must be "
                f"({T}, {T}) (pass a list of (task, task) pairs for an edge list)."
            )
    A = A.copy()
    if not np.all(np.isfinite(A)):
        raise ValueError("task_graph has a non-finite weight (NaN or infinity).")
    np.fill_diagonal(A, 0.0)
    if (A < 0).any():
        s, t = np.argwhere(A < 0)[0]
        raise ValueError(
            f"task_graph has a negative weight {A[s, t]:g} between {V.task_label(tasks, s)} and "
            f"{V.task_label(tasks, t)}; weights must be >= 0 (a graph pulls tasks together)."
        )
    scale = max(float(np.abs(A).max(initial=0.0)), 1.0)
    if not np.allclose(A, A.T, rtol=0.0, atol=1e-12 * scale):
        s, t = np.argwhere(~np.isclose(A, A.T, rtol=0.0, atol=1e-12 * scale))[0]
        raise ValueError(
            f"task_graph is not symmetric: weight {A[s, t]:g} from {V.task_label(tasks, s)} to "
            f"{V.task_label(tasks, t)} but {A[t, s]:g} back."
        )
    return 0.5 * (A + A.T)


def _from_edges(edges, names):
    T = len(names)
    lookup = {}
    for i, n in enumerate(names):
        lookup[V._plain(n)] = i
    A = np.zeros((T, T))
    seen = set()
    for edge in edges:
        if not isinstance(edge, (list, tuple)) or len(edge) not in (2, 3):
            raise ValueError(
                f"task_graph edge {edge!r} must be a pair (task, task) or a triple "
                "(task, task, weight)."
            )
        ends = []
        for label in edge[:2]:
            key = V._plain(label)
            if key not in lookup:
                raise ValueError(
                    f"task_graph edge {tuple(edge)!r}: {key!r} is not a task; the tasks are "
                    f"{[V._plain(n) for n in names[:10]]}{'...' if T > 10 else ''}."
                )
            ends.append(lookup[key])
        s, t = ends
        w = 1.0 if len(edge) == 2 else float(edge[2])
        pair = (min(s, t), max(s, t))
        if pair in seen:
            raise ValueError(f"task_graph lists the edge {tuple(edge[:2])!r} twice.")
        seen.add(pair)
        if s != t:
            A[s, t] = A[t, s] = w
    return A


def laplacian(A):
    return np.diag(A.sum(axis=1)) - A


class _Quadratic:
    """``a / 2 ||W||^2 + c / 2 tr(W (L (x) I_K) W')`` in the eigenbasis of ``L``."""

    def __init__(self, a, c, L, width):
        self.a, self.c, self.width = float(a), float(c), int(width)
        lam, U = np.linalg.eigh(L)
        self.lam = np.maximum(lam, 0.0)
        self.lam[self.lam < 1e-12 * max(self.lam.max(initial=0.0), 1.0)] = 0.0
        self.U = U
        self.T = L.shape[0]

    def _rot(self, W, U):
        if self.width == 1:
            return (W @ U)[:, :, None]
        B = W.reshape(W.shape[0], self.T, self.width)
        return np.einsum("ptk,ts->psk", B, U)

    def _back(self, C):
        if self.width == 1:
            return C[:, :, 0] @ self.U.T
        return np.einsum("psk,ts->ptk", C, self.U).reshape(C.shape[0], -1)

    def _coupling(self, W):
        """``tr(W L W')`` and ``W L``."""
        C = self._rot(W, self.U)
        value = float(np.sum(self.lam[None, :, None] * C * C))
        return value, self._back(self.lam[None, :, None] * C)

    def value_grad(self, W):
        if np.isinf(self.c):
            raise ValueError("coupling=inf has no gradient")
        q, WL = self._coupling(W)
        return 0.5 * (self.a * float(np.sum(W * W)) + self.c * q), self.a * W + self.c * WL

    def value(self, W):
        if np.isinf(self.c):
            C = self._rot(W, self.U)
            off = C[:, self.lam > 0]
            ok = np.allclose(off, 0.0, atol=1e-10 * max(float(np.abs(W).max(initial=0)), 1.0))
            return 0.5 * self.a * float(np.sum(W * W)) if ok else np.inf
        return self.value_grad(W)[0]

    def prox(self, V, step):
        C = self._rot(V, self.U)
        if np.isinf(self.c):
            scale = np.where(self.lam > 0, 0.0, 1.0 / (1.0 + step * self.a))
        else:
            scale = 1.0 / (1.0 + step * (self.a + self.c * self.lam))
        return self._back(C * scale[None, :, None])

    def lipschitz(self):
        return self.a + self.c * float(self.lam.max(initial=0.0))


class GraphRegularized(Penalty):
    """The SRMTL penalty; see the module docstring.

    The graph names tasks by their labels, known only once ``y`` is validated: a penalty built
    from a ``task_graph`` specification is bound to the task labels (:meth:`bind`) before it is
    used. ``capabilities``: ``{"smooth"}`` without the L1 term (``value_grad``,
    ``strong_convexity``), none with it or at ``coupling=inf`` (the solver then splits it into
    :meth:`smooth_part` and :meth:`prox_part`).
    """

    capabilities = frozenset({SMOOTH})

    def __init__(self, alpha, coupling, task_graph=None, width=1, l1_ratio=0.0, tasks=None):
        self.alpha = float(alpha)
        self.coupling = float(coupling)
        self.task_graph = task_graph
        self.width = int(width)
        self.l1_ratio = float(l1_ratio)
        self.adjacency = None
        if self.l1_ratio > 0 or np.isinf(self.coupling):
            self.capabilities = frozenset()
        self.strong_convexity = self.alpha * (1.0 - self.l1_ratio)
        if tasks is not None:
            self.bind(tasks)

    def bind(self, tasks):
        """Resolve the graph against the task labels (:func:`resolve_task_graph`)."""
        self.adjacency = resolve_task_graph(self.task_graph, tasks)
        self._quad = _Quadratic(self.alpha * (1.0 - self.l1_ratio), self.coupling,
                                laplacian(self.adjacency), self.width)
        return self

    def with_alpha(self, alpha):
        new = GraphRegularized(alpha, self.coupling, self.task_graph, self.width, self.l1_ratio)
        if self.adjacency is not None:
            new.task_graph = self.adjacency
            new.bind(np.arange(len(self.adjacency)))
        return new

    def value(self, W):
        return self._quad.value(W) + self.alpha * self.l1_ratio * float(np.abs(W).sum())

    def value_grad(self, W):
        if self.l1_ratio:
            raise ValueError("the penalty is not smooth with l1_ratio > 0")
        return self._quad.value_grad(W)

    def prox(self, V, step):
        if self.l1_ratio:
            raise ValueError("no closed-form prox with l1_ratio > 0: use smooth_part/prox_part")
        return self._quad.prox(V, step)

    def smooth_part(self):
        return self._quad

    def prox_part(self):
        return L1(self.alpha * self.l1_ratio)


def _graph_penalty(p, n_tasks, widths):
    if len(set(widths)) > 1:
        raise ValueError(
            "A task graph pulls neighbouring tasks' coefficients together, so all tasks need "
            f"the same number of outputs; got output widths {widths} (binary tasks have 1, a "
            "task with K > 2 classes has K)."
        )
    if p.l1_ratio > 0 and np.isinf(p.coupling):
        raise ValueError("coupling=inf (tied components) cannot be combined with l1_ratio > 0.")
    return GraphRegularized(p.alpha, p.coupling, p.task_graph, widths[0], p.l1_ratio)


class _GraphMixin:
    def _prepare(self, X, y, sample_weight=None):
        design, targets, meta = super()._prepare(X, y, sample_weight)
        self._graph_tasks = meta["tasks"]
        return design, targets, meta

    def _rule(self, datafit, penalty, threshold):
        return ProxGradNorm(datafit, penalty, threshold)

    def _threshold(self, datafit, penalty):
        return super()._threshold(getattr(datafit, "base", datafit), penalty)

    def _solve(self, datafit, penalty, W0, b0):
        if isinstance(penalty, GraphRegularized):
            if penalty.adjacency is None:
                penalty.bind(self._graph_tasks)
            self._adjacency = penalty.adjacency
            if penalty.l1_ratio > 0:
                return super()._solve(SmoothPlus(datafit, penalty.smooth_part()),
                                      penalty.prox_part(), W0, b0)
        return super()._solve(datafit, penalty, W0, b0)

    def _set_fitted(self, W, b, meta, n_iter, crit, rule_name):
        super()._set_fitted(W, b, meta, n_iter, crit, rule_name)
        self.task_graph_ = self._adjacency


GraphRegularizedRegressor, GraphRegularizedClassifier = make_family(
    "GraphRegularized",
    penalty=GraphRegularized,
    build=_graph_penalty,
    mixin=_GraphMixin,
    alpha="Overall strength of the ridge (and, with ``l1_ratio``, L1) penalty.",
    params=[
        Param("coupling", 1.0, [Interval(numbers.Real, 0, None, closed="both")],
              """How hard neighbouring tasks are pulled together; ``np.inf`` for one block per
connected component (without the L1 term).""", positional=True),
        Param("task_graph", None, [None, "array-like", "sparse matrix", list, tuple],
              """Symmetric non-negative task weights (the diagonal is ignored; a DataFrame whose
index and columns are the task labels is matched to the tasks by label), or a list of
``(task, task)`` / ``(task, task, weight)`` edges naming tasks by their labels (the column
names of ``y`` when it has them, positions otherwise; the task-column values in the long
layout). ``None``: the complete graph with weights ``1 / n_tasks``.""",
              type_doc="array-like of shape (n_tasks, n_tasks), list of edges or None"),
        Param("l1_ratio", 0.0, [Interval(numbers.Real, 0, 1, closed="left")],
              "Fraction of ``alpha`` that goes to the L1 term ``||W||_1``.",
              type_doc="float in [0, 1)"),
    ],
    summary={
        "regressor": "Multi-task ridge regression on a task graph: neighbouring tasks are pulled "
        "together (MALSAR's SRMTL).",
        "classifier": "Multi-task logistic regression on a task graph: neighbouring tasks are "
        "pulled together.",
    },
    objective=r"""f(W, b) + \frac{\alpha (1 - \rho)}{2} \|W\|_F^2
          + \frac{\text{coupling}}{2} \sum_{s < t} A_{st} \|w_s - w_t\|_2^2
          + \alpha \rho \|W\|_1,
          \qquad \sum_{s<t} A_{st} \|w_s - w_t\|^2 = \operatorname{tr}(W L W^\top),""",
    description={
        kind: r"""Here :math:`A` is the task graph (``task_graph``), :math:`L = D - A` its Laplacian
and :math:`\rho` = ``l1_ratio`` (how ``alpha`` splits between the ridge and the L1 term, as in
:class:`~sklearn.linear_model.ElasticNet`; MALSAR's SRMTL with ``rho_L3``).

``task_graph=None`` is the complete graph with every weight ``1 / T``, for which
:math:`\sum_{s<t} \|w_s - w_t\|^2 / T = \sum_t \|w_t - \bar w\|^2`: the model is then
exactly the mean-regularised one with the same ``alpha`` and ``coupling``. An unweighted
complete edge list (every pair, weight 1) is ``T`` times that coupling. ``coupling = inf``
ties the tasks of each connected component of the graph to one coefficient block."""
        + extra
        for kind, extra in [
            ("regressor", ""),
            ("classifier", """

All tasks must have the same number of outputs (all binary, or the same number of classes);
for ``K > 2`` classes the graph acts on the tasks' class blocks (``L (x) I_K``)."""),
        ]
    },
    attributes="""task_graph_ : ndarray of shape (n_tasks, n_tasks)
    The adjacency matrix used (symmetric, zero diagonal), tasks in the order of ``tasks_``.""",
    see_also={
        "regressor": "MeanRegularizedRegressor : ``task_graph=None``.",
        "classifier": "MeanRegularizedClassifier : ``task_graph=None``.",
    },
    notes="""Accelerated proximal gradient: without the L1 term the prox of the whole (quadratic)
penalty is closed form in the eigenbasis of the Laplacian; with it the quadratic part is a
smooth term of the objective and the prox is soft-thresholding.""",
    references="""J. Zhou, J. Chen and J. Ye. MALSAR: Multi-task learning via structural
regularization. Arizona State University, 2011 (``Least_SRMTL``).

T. Evgeniou, C. Micchelli and M. Pontil. Learning multiple tasks with kernel methods. JMLR
2005 (graph regularisation of tasks).""",
    examples={
        "regressor": """>>> import numpy as np
>>> from skmtl.linear import GraphRegularizedRegressor
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(30, 3))
>>> Y = np.column_stack([X @ [1.0, 0, 0], X @ [1.2, 0, 0], X @ [0, 0, 1.0]])
>>> graph = [(0, 1)]                   # tasks 0 and 1 are neighbours, task 2 is alone
>>> model = GraphRegularizedRegressor(alpha=1e-3, coupling=10.0, task_graph=graph)
>>> np.round(model.fit(X, Y).coef_, 2)
array([[ 1.1,  0. ,  0. ],
       [ 1.1,  0. , -0. ],
       [ 0. ,  0. ,  1. ]])""",
        "classifier": """>>> import numpy as np
>>> from skmtl.linear import GraphRegularizedClassifier
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 3))
>>> Y = np.column_stack([X[:, 0] > 0, X[:, 0] + 0.2 * X[:, 1] > 0, X[:, 2] > 0]).astype(int)
>>> clf = GraphRegularizedClassifier(alpha=0.01, coupling=1.0, task_graph=[(0, 1)]).fit(X, Y)
>>> round(clf.score(X, Y), 2)
0.98""",
    },
)

__all__ = ["GraphRegularizedClassifier", "GraphRegularizedRegressor"]
