"""Convex clustered multi-task learning (Jacob, Bach & Vert 2008; Zhou, Chen & Ye 2011): the
penalty, which owns the task-similarity matrix ``M``, and the two estimators.

The penalty is variational,

    P(W) = min_M 1/2 alpha (alpha + coupling) tr(W (alpha I + coupling M)^-1 W'),
           tr M = n_clusters, 0 <= M <= I,

and ``M`` is eliminated in closed form: with the task Gram ``W'W = V diag(s) V'``, the minimiser
is ``M* = V diag(m) V'`` with ``m_i = clip(sqrt(s_i / nu) - eta, 0, 1)``, ``eta = alpha /
coupling`` and ``nu`` such that ``sum m_i = n_clusters``. ``P`` is then C^1 with gradient
``alpha (alpha + coupling) W (alpha I + coupling M*)^-1`` (Danskin), ``alpha``-strongly convex,
and its conjugate is ``P*(V) = (alpha ||V||^2 + coupling * (sum of the n_clusters largest
eigenvalues of V'V)) / (2 alpha (alpha + coupling))`` (Ky Fan), which gives an exact duality gap.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from . import _family
from ._family import Param, make_family
from ._penalties import SMOOTH, Penalty
from ._solvers._fenchel import CONJUGATE, structured_rule
from ._solvers._smooth import accelerated_gradient

# ----------------------------------------------------------------------------------------------
# Task-space helpers (shared with the task-relation family)


def to_task_matrix(W, n_tasks, width):
    """``W`` (p, n_tasks * width) -> (p * width, n_tasks): one column per task, the class
    blocks of a multiclass task stacked, so that ``R'R = sum_k W_k' W_k`` acts on tasks
    (``M (x) I_K``)."""
    p = W.shape[0]
    return W.reshape(p, n_tasks, width).transpose(0, 2, 1).reshape(p * width, n_tasks)


def from_task_matrix(R, n_features, width):
    n_tasks = R.shape[1]
    return R.reshape(n_features, width, n_tasks).transpose(0, 2, 1).reshape(
        n_features, n_tasks * width
    )


def task_spectrum(R):
    """Thin SVD of the task matrix with numerically zero singular values dropped:
    ``R = U diag(s) Vt`` with ``s > 0``."""
    if min(R.shape) == 0:
        return np.zeros((R.shape[0], 0)), np.zeros(0), np.zeros((0, R.shape[1]))
    U, s, Vt = np.linalg.svd(R, full_matrices=False)
    tol = (s[0] if s.size else 0.0) * max(R.shape) * np.finfo(float).eps
    r = int(np.count_nonzero(s > max(tol, np.finfo(float).tiny)))
    return U[:, :r], s[:r], Vt[:r]


def check_equal_widths(widths, model):
    if len(set(widths)) > 1:
        raise ValueError(
            f"{model} relates whole tasks (M acts on tasks, M (x) I_K on the class blocks), so "
            f"all tasks need the same number of outputs; got output widths {widths} (binary "
            "tasks have 1, a task with K > 2 classes has K)."
        )
    return int(widths[0])


# ----------------------------------------------------------------------------------------------
# The penalty


def cluster_eigenvalues(sigma, eta, n_clusters, n_tasks, coupling_zero=False):
    """Eigenvalues of the optimal ``M`` on the range of ``W'W`` (singular values ``sigma`` of
    the task matrix, decreasing, all > 0) and the value it takes on the null space.

    ``m_i = clip(u sigma_i - eta, 0, 1)`` (``u = 1 / sqrt(nu)``) is piecewise linear and
    nondecreasing in ``u``, so the ``u`` with ``sum m_i = k`` is found exactly between two
    consecutive breakpoints (``eta / sigma_i`` and ``(eta + 1) / sigma_i``) rather than by
    bisection. When ``rank < k`` there is no root: ``m = 1`` on the range and the remaining
    trace ``k - rank`` is spread evenly over the null space (where it does not change ``P``).
    With ``coupling = 0`` (``eta = inf``) ``M`` is the limit as ``coupling -> 0``: the projection
    on the ``k`` leading eigenvectors.
    """
    r, k = sigma.size, n_clusters
    if r <= k:
        null = (k - r) / (n_tasks - r) if n_tasks > r else 0.0
        return np.ones(r), null
    if coupling_zero:
        m = np.zeros(r)
        m[:k] = 1.0
        return m, 0.0
    bp = np.sort(np.concatenate([eta / sigma, (eta + 1.0) / sigma]))
    g = np.clip(bp[:, None] * sigma[None, :] - eta, 0.0, 1.0).sum(axis=1)
    j = int(np.searchsorted(g, k, side="left"))  # g[j - 1] < k <= g[j]; g[0] = 0 < k
    j = min(max(j, 1), bp.size - 1)
    u_lo, u_hi, g_lo, g_hi = bp[j - 1], bp[j], g[j - 1], g[j]
    u = u_hi if g_hi == g_lo else u_lo + (k - g_lo) * (u_hi - u_lo) / (g_hi - g_lo)
    m = np.clip(u * sigma - eta, 0.0, 1.0)
    return m, 0.0


class ClusteredPenalty(Penalty):
    """``P(W) = min_M 1/2 alpha (alpha + coupling) tr(W (alpha I + coupling M)^-1 W')`` over
    ``tr M = n_clusters, 0 <= M <= I`` (``M`` acts on tasks: ``M (x) I_K`` on the class blocks).

    Declares ``"smooth"`` (``value_grad``, ``strong_convexity = alpha``, ``lipschitz``) and
    ``"conjugate"`` (``conjugate(V)``, for the duality gap). The auxiliary variable is
    :meth:`cluster_matrix`; :meth:`cluster_labels` turns it into one label per task.
    """

    capabilities = frozenset({SMOOTH, CONJUGATE})

    def __init__(self, alpha, coupling, n_clusters, n_tasks, width=1):
        self.alpha = float(alpha)
        self.coupling = float(coupling)
        self.n_clusters = int(n_clusters)
        self.n_tasks = int(n_tasks)
        self.width = int(width)
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0 for the clustered penalty, got {alpha!r}.")
        if not 0 <= self.coupling < np.inf:
            raise ValueError(f"coupling must be finite and >= 0, got {coupling!r}.")
        if not 1 <= self.n_clusters <= self.n_tasks:
            raise ValueError(
                f"n_clusters={n_clusters} must be between 1 and the number of tasks "
                f"({self.n_tasks})."
            )

    def with_alpha(self, alpha):
        return type(self)(alpha, self.coupling, self.n_clusters, self.n_tasks, self.width)

    @property
    def strong_convexity(self):
        return self.alpha

    @property
    def lipschitz(self):
        return self.alpha + self.coupling

    # -- the auxiliary variable -----------------------------------------------------------
    def _spectral(self, W):
        R = to_task_matrix(W, self.n_tasks, self.width)
        U, s, Vt = task_spectrum(R)
        c = self.coupling
        eta = self.alpha / c if c > 0 else np.inf
        m, null = cluster_eigenvalues(s, eta, self.n_clusters, self.n_tasks, c == 0)
        # weights alpha (alpha + c) / (alpha + c m): alpha on a cluster direction (m = 1),
        # alpha + c off all clusters (m = 0); finite at c = 0
        weights = self.alpha * (self.alpha + c) / (self.alpha + c * m)
        return U, s, Vt, m, null, weights

    def cluster_matrix(self, W):
        """The optimal ``M`` (n_tasks, n_tasks) for ``W``."""
        _, _, Vt, m, null, _ = self._spectral(W)
        M = (Vt.T * m) @ Vt
        if null:
            M += null * (np.eye(self.n_tasks) - Vt.T @ Vt)
        return 0.5 * (M + M.T)

    def cluster_labels(self, M, random_state=None):
        """One label per task: k-means (``n_init=10``) on the rows of ``M^(1/2)`` restricted to
        its ``n_clusters`` leading eigenvectors, each row scaled to unit length (spectral
        clustering of ``M``). For a cluster projection ``M`` (``sum_c 1_c 1_c' / |c|``) the rows
        of one cluster coincide, so the labels are the clusters."""
        T, k = self.n_tasks, self.n_clusters
        if k == 1:
            return np.zeros(T, dtype=np.intp)
        if k == T:
            return np.arange(T, dtype=np.intp)
        lam, Q = np.linalg.eigh(M)
        lam, Q = lam[::-1][:k], Q[:, ::-1][:, :k]
        E = Q * np.sqrt(np.maximum(lam, 0.0))
        norms = np.linalg.norm(E, axis=1, keepdims=True)
        E = E / np.where(norms > 0, norms, 1.0)
        from sklearn.cluster import KMeans

        labels = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit_predict(E)
        # relabel in order of first appearance, so that labels do not depend on k-means' order
        uniq, first = np.unique(labels, return_index=True)
        remap = np.zeros(int(labels.max()) + 1, dtype=np.intp)
        remap[uniq[np.argsort(first)]] = np.arange(uniq.size)
        return remap[labels]

    # -- value, gradient, conjugate -------------------------------------------------------
    def value(self, W):
        _, s, _, _, _, weights = self._spectral(W)
        return 0.5 * float(np.sum(weights * s * s))

    def value_grad(self, W):
        U, s, Vt, _, _, weights = self._spectral(W)
        value = 0.5 * float(np.sum(weights * s * s))
        G = (U * (weights * s)) @ Vt
        return value, from_task_matrix(G, W.shape[0], self.width)

    def conjugate(self, V):
        """``P*(V) = (alpha ||V||^2 + coupling * top_k(V'V)) / (2 alpha (alpha + coupling))``."""
        R = to_task_matrix(V, self.n_tasks, self.width)
        s = np.linalg.svd(R, compute_uv=False) if R.size else np.zeros(0)
        top = float(np.sum(s[: self.n_clusters] ** 2))
        total = float(np.sum(s * s))
        a, c = self.alpha, self.coupling
        return (a * total + c * top) / (2.0 * a * (a + c))


# ----------------------------------------------------------------------------------------------
# Estimators


def resolve_n_clusters(n_clusters, n_tasks):
    """``None`` -> ``max(1, round(sqrt(n_tasks / 2)))`` (the ``k ~ sqrt(n / 2)`` rule of thumb:
    1 for up to 4 tasks, 2 for 5 to 12, 8 for the 139 schools)."""
    if n_clusters is None:
        return max(1, int(round(np.sqrt(n_tasks / 2.0))))
    if n_clusters > n_tasks:
        raise ValueError(
            f"n_clusters={n_clusters} is larger than the number of tasks ({n_tasks}); use at "
            f"most {n_tasks} (n_clusters = n_tasks means independent ridge tasks)."
        )
    return int(n_clusters)


def _clustered_penalty(p, n_tasks, widths):
    width = check_equal_widths(widths, "Clustered MTL")
    k = resolve_n_clusters(p.n_clusters, n_tasks)
    return ClusteredPenalty(p.alpha, p.coupling, k, n_tasks, width)


class StructuredFit:
    """Mixin of the task-structure families: solve with the family's solver (``_solver``: a
    function like :func:`._solvers._fista.fista`) stopped on :func:`structured_rule`, and store
    the penalty's auxiliary variable (``_set_structure(penalty, W)``) with the fit."""

    _solver = staticmethod(accelerated_gradient)

    def _solve(self, datafit, penalty, W0, b0):
        rule, name, threshold = structured_rule(
            datafit, penalty, self.tol, is_classifier=self._is_classifier
        )
        self._threshold_ = threshold
        self._solved_penalty = penalty  # at the alpha in use (alpha_), for _set_fitted
        W, b, n_iter, crit, ok = self._solver(
            datafit, penalty, W0, b0, rule=rule, max_iter=self.max_iter
        )
        return W, b, n_iter, crit, ok, name

    def _set_fitted(self, W, b, meta, n_iter, crit, rule_name):
        super()._set_fitted(W, b, meta, n_iter, crit, rule_name)
        penalty = self.__dict__.pop("_solved_penalty", None)
        if penalty is None:  # a solution set from outside fit (a path)
            penalty = self._penalty(meta["n_tasks"], meta["widths"])
        self._set_structure(penalty, W)


class _ClusteredFit(StructuredFit):
    def _set_structure(self, penalty, W):
        M = penalty.cluster_matrix(W)
        self.n_clusters_ = penalty.n_clusters
        self.task_similarity_ = M
        self.task_clusters_ = penalty.cluster_labels(M, self.random_state)


def stops_on_gap(regressor, note):
    """The regressor stops on the Fenchel duality gap (:func:`structured_rule`), not on the
    proximal-gradient norm that :func:`make_family` describes for a penalty without
    ``"duality_gap"``: put ``note`` in its place."""
    regressor.__doc__ = regressor.__doc__.replace(_family._NOTES_PROX, note)
    return regressor


_CLUSTER_ATTRS = """task_similarity_ : ndarray of shape (n_tasks, n_tasks)
    The learned :math:`M` (symmetric, eigenvalues in [0, 1], trace ``n_clusters_``).
task_clusters_ : ndarray of shape (n_tasks,)
    One cluster label per task (0 .. ``n_clusters_ - 1``, in order of first appearance):
    k-means on the rows of :math:`M^{1/2}` restricted to its ``n_clusters_`` leading
    eigenvectors, rows scaled to unit length (spectral clustering of :math:`M`).
n_clusters_ : int
    The number of clusters used (``n_clusters``, or the rule above when None)."""

ClusteredRegressor, ClusteredClassifier = make_family(
    "Clustered",
    penalty=ClusteredPenalty,
    build=_clustered_penalty,
    mixin=_ClusteredFit,
    alpha="Overall ridge strength; must be > 0 (the relaxation collapses at 0).",
    params=[
        Param(
            "coupling", 1.0, [Interval(numbers.Real, 0, None, closed="left")],
            "How hard the tasks of a cluster are pulled together (finite, >= 0; ``0`` gives "
            "independent ridge tasks).", positional=True,
        ),
        Param(
            "n_clusters", None, [None, Interval(numbers.Integral, 1, None, closed="left")],
            """Trace of :math:`M`, the (relaxed) number of clusters, between 1 and the number of
tasks. ``None``: ``max(1, round(sqrt(n_tasks / 2)))`` (1 for up to 4 tasks), in
``n_clusters_``.""",
            type_doc="int or None",
        ),
        Param(
            "random_state", None, ["random_state"],
            "Seeds the k-means that turns :math:`M` into ``task_clusters_``.",
            type_doc="int, RandomState instance or None",
        ),
    ],
    summary={
        "regressor": "Multi-task ridge regression with learned clusters of tasks (convex "
        "clustered MTL).",
        "classifier": "Multi-task logistic regression with learned clusters of tasks (convex "
        "clustered MTL).",
    },
    objective=r"""f(W, b) + \frac{\alpha(\alpha + \text{coupling})}{2}
          \operatorname{tr}\big(W (\alpha I + \text{coupling}\, M)^{-1} W^\top\big)
          \quad\text{over } W, b, M:\;
          \operatorname{tr} M = k,\; 0 \preceq M \preceq I,""",
    description={
        kind: r"""Here :math:`k` = ``n_clusters``. When :math:`M` is the projection on :math:`k`
clusters of tasks (:math:`M = \sum_c 1_c 1_c^\top / |c|`) the penalty is
:math:`\frac{\alpha}{2} \|W\|_F^2 + \frac{\text{coupling}}{2} \sum_t \|w_t - \bar w_{c(t)}\|^2`,
mean regularisation within each cluster; the convex relaxation (Jacob, Bach & Vert 2008) lets
:math:`M` range over :math:`0 \preceq M \preceq I` and learns it with the coefficients.
``n_clusters = n_tasks`` forces :math:`M = I` (independent ridge tasks); with
``n_clusters = 1``, :math:`M = 11^\top/T` is feasible and gives :class:`MeanRegularized"""
        + name + r"""`'s objective, so the optimum is at most that one. ``alpha > 0`` is
required: as ``alpha -> 0`` the relaxation collapses (:math:`M = (k/T) I` drives the penalty
to 0). This is MALSAR's ``Least_CMTL`` objective :math:`c\,\operatorname{tr}(W (\eta I +
M)^{-1} W^\top)` with :math:`\eta = \alpha/\text{coupling}`, :math:`c = \text{coupling}\,
\eta (1 + \eta)`, written so that it stays finite at ``coupling = 0``.

For a task with :math:`K > 2` classes :math:`M` acts on whole tasks (:math:`M \otimes I_K`
on its class blocks); all tasks must then have the same number of outputs."""
        for kind, name in [("regressor", "Regressor"), ("classifier", "Classifier")]
    },
    attributes={
        "regressor": _family._GAP_ATTR + "\n" + _CLUSTER_ATTRS,
        "classifier": _CLUSTER_ATTRS,
    },
    see_also={
        "regressor": """MeanRegularizedRegressor : one cluster, known in advance.
TaskRelationRegressor : learned task covariance, negative relations allowed.""",
        "classifier": """MeanRegularizedClassifier : one cluster, known in advance.
TaskRelationClassifier : learned task covariance, negative relations allowed.""",
    },
    notes=r"""For fixed :math:`W`, with :math:`W^\top W = V \operatorname{diag}(s) V^\top`, the
optimal :math:`M` is :math:`V \operatorname{diag}(m) V^\top`,
:math:`m_i = \operatorname{clip}(\sqrt{s_i/\nu} - \eta, 0, 1)`,
:math:`\eta = \alpha/\text{coupling}`, :math:`\nu` such that :math:`\sum_i m_i = k` (found
exactly on the piecewise-linear path; when :math:`\operatorname{rank} W < k`, :math:`m = 1`
on the range of :math:`W^\top W` and the remaining trace is spread over its null space).
Eliminating :math:`M` leaves a C^1, :math:`\alpha`-strongly convex penalty with gradient
:math:`\alpha(\alpha + \text{coupling}) W (\alpha I + \text{coupling}\, M^*)^{-1}`, minimised
by accelerated gradient with backtracking and adaptive restart (no alternation, no prox).""",
    references="""L. Jacob, F. Bach and J.-P. Vert. Clustered multi-task learning: a convex
formulation. NIPS 2008.

J. Zhou, J. Chen and J. Ye. Clustered multi-task learning via alternating structure
optimization. NIPS 2011 (MALSAR's ``Least_CMTL``).""",
    examples={
        "regressor": """>>> import numpy as np
>>> from skmtl.linear import ClusteredRegressor
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(100, 5))
>>> centres = rng.normal(size=(2, 5))
>>> W = centres[[0, 0, 0, 1, 1, 1]] + 0.05 * rng.normal(size=(6, 5))
>>> Y = X @ W.T + 0.1 * rng.normal(size=(100, 6))
>>> model = ClusteredRegressor(alpha=0.01, coupling=1.0, n_clusters=2, random_state=0)
>>> model.fit(X, Y).task_clusters_
array([0, 0, 0, 1, 1, 1])
>>> np.round(np.trace(model.task_similarity_), 6)
np.float64(2.0)""",
        "classifier": """>>> import numpy as np
>>> from skmtl.linear import ClusteredClassifier
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 4))
>>> w = [X[:, 0], X[:, 0], X[:, 1], X[:, 1]]   # two pairs of alike tasks
>>> Y = np.column_stack([(z + 0.3 * rng.normal(size=300) > 0) for z in w]).astype(int)
>>> clf = ClusteredClassifier(alpha=0.01, coupling=0.5, n_clusters=2, random_state=0)
>>> clf.fit(X, Y).task_clusters_
array([0, 0, 1, 1])""",
    },
)
ClusteredRegressor = stops_on_gap(ClusteredRegressor, """The solver stops on the exact duality gap
(the conjugate of the penalty has a closed form, by Ky Fan's theorem:
:math:`P^*(V) = (\\alpha\\|V\\|^2 + \\text{coupling}\\,\\lambda_{1..k}(V^\\top V)) /
(2\\alpha(\\alpha + \\text{coupling}))`) below ``tol * sum_t ||y_t - mean(y_t)||^2 / n_t``,
stored in ``dual_gap_``. Hitting ``max_iter`` first raises a
:class:`~sklearn.exceptions.ConvergenceWarning`.""")


__all__ = ["ClusteredClassifier", "ClusteredPenalty", "ClusteredRegressor"]
