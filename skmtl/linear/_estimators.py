"""The named linear multi-task estimators: a datafit (least squares or logistic/softmax) and a
penalty, composed by :mod:`._base`. Each class only stores its parameters and names its penalty.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import _SOLVER_CONSTRAINT, _ClassifierBase, _RegressorBase
from ._penalties import L21, MeanRegularized, TraceNorm

_COMMON_PARAMS = """fit_intercept : bool, default=True
        Fit one unpenalised intercept per task (per class for a multiclass task).
    task_column : int, str or None, default=None
        Long layout: the column of ``X`` (position, or name for a DataFrame) that holds each
        row's task label; ``y`` is then 1-D. ``None``: wide layout (``y`` has one column per
        task) or, for a 1-D ``y``, a single task.
    tol : float, default=1e-4
        Stopping tolerance, relative to the scale of the problem: see the Notes.
    max_iter : int, default=5000
        Maximum number of solver iterations (gradient evaluations).
    warm_start : bool, default=False
        Start from the previous solution when the shapes match."""

_COMMON_ATTRS = """n_iter_ : int
        Number of solver iterations run.
    criterion_ : float
        Final value of the stopping criterion (duality gap or proximal-gradient norm).
    tasks_ : ndarray
        Task labels: the column names (or positions) of ``y`` in the wide layout, the sorted
        distinct values of the task column in the long layout.
    n_tasks_ : int
        Number of tasks.
    n_features_in_ : int
        Number of features seen in fit (the task column excluded).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen in fit, when ``X`` has string column names."""

_DATAFIT_REG = r"""with the data-fit term, summed over tasks, of each task's mean squared error over
    its labelled samples (``n_t`` of them):

    .. math:: f(W, b) = \sum_{t=1}^{T} \frac{1}{2 n_t} \sum_{i \,\text{labelled for}\, t}
              (y_{it} - x_i^\top w_t - b_t)^2 ."""

_DATAFIT_CLF = r"""with the data-fit term, summed over tasks, of each task's mean cross-entropy over
    its labelled samples: logistic loss for a binary task (one coefficient vector), softmax
    cross-entropy for a task with :math:`K_t > 2` classes (one vector per class):

    .. math:: f(W, b) = \sum_{t=1}^{T} \frac{1}{n_t} \sum_{i \,\text{labelled for}\, t}
              -\log p_{t}(y_{it} \mid x_i; W, b) ."""

_NOTES_GAP = """The solver stops when the duality gap falls below
    ``tol * sum_t ||y_t - mean(y_t)||^2 / n_t`` (for one design and no missing label, exactly
    scikit-learn's ``MultiTaskLasso`` rule). Hitting ``max_iter`` first raises a
    :class:`~sklearn.exceptions.ConvergenceWarning`."""

_NOTES_PROX = """The solver (accelerated proximal gradient with backtracking and adaptive restart)
    stops when the norm of the proximal-gradient mapping falls below ``tol`` times the norm of
    the data-fit gradient at ``W = 0, b = 0`` (which scales with the targets); the mapping is
    zero exactly at the minimiser. Hitting ``max_iter`` first raises a
    :class:`~sklearn.exceptions.ConvergenceWarning`."""


_PIECES = {
    "common": _COMMON_PARAMS,
    "attrs": _COMMON_ATTRS,
    "reg": _DATAFIT_REG,
    "clf": _DATAFIT_CLF,
    "gap": _NOTES_GAP,
    "prox": _NOTES_PROX,
}


def _doc(template):
    def wrap(cls):
        doc = template
        for key, text in _PIECES.items():
            doc = doc.replace("{" + key + "}", text)
        cls.__doc__ = doc
        return cls

    return wrap


# ----------------------------------------------------------------------------------------------
# Mean-regularised (Evgeniou & Pontil 2004)


class _MeanRegularizedMixin:
    def _penalty(self, n_tasks, widths):
        if len(set(widths)) > 1:
            raise ValueError(
                "Mean regularisation pulls every task's coefficients towards their mean, so all "
                f"tasks need the same number of outputs; got output widths {widths} (binary tasks "
                "have 1, a task with K > 2 classes has K)."
            )
        return MeanRegularized(self.alpha, self.coupling, n_tasks, widths[0])


_MEAN_PARAMS = {
    "coupling": [Interval(numbers.Real, 0, None, closed="both")],
}


@_doc(r"""Multi-task ridge regression with tasks pulled towards their mean (Evgeniou & Pontil 2004).

    Minimises

    .. math:: f(W, b) + \frac{\alpha}{2} \sum_t \|w_t\|_2^2
              + \frac{\text{coupling}}{2} \sum_t \|w_t - \bar w\|_2^2,
              \qquad \bar w = \frac{1}{T} \sum_t w_t,

    {reg}

    ``coupling = 0`` gives independent ridge regressions (each task alone equals
    :class:`sklearn.linear_model.Ridge` with ``alpha * n_t``); ``coupling = inf`` forces one
    coefficient vector shared by all tasks (intercepts stay per task). In between, every task
    borrows strength from the others in proportion to ``coupling / alpha``.

    Parameters
    ----------
    alpha : float, default=1.0
        Overall ridge strength (on every task's coefficients).
    coupling : float, default=1.0
        How hard the tasks are pulled towards their mean; ``np.inf`` for one shared vector.
    {common}

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features) or (n_features,)
        Coefficients, one row per task (a vector for a 1-D ``y``).
    intercept_ : ndarray of shape (n_tasks,) or float
        Intercepts.
    {attrs}

    See Also
    --------
    sklearn.linear_model.Ridge : the ``coupling=0`` limit, one task at a time.
    LowRankRegressor, SparseRegressor : other ways for tasks to share.

    Notes
    -----
    {prox}

    References
    ----------
    T. Evgeniou and M. Pontil. Regularized multi-task learning. KDD 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.linear import MeanRegularizedRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> w = np.array([1.0, -2.0, 0.5])
    >>> Y = np.column_stack([X @ (w + 0.1 * k) for k in range(4)])
    >>> for coupling in [0.0, 1.0, np.inf]:  # first coefficient of each task: 1.0, 1.1, 1.2, 1.3
    ...     model = MeanRegularizedRegressor(alpha=1e-3, coupling=coupling, tol=1e-8).fit(X, Y)
    ...     print(coupling, np.round(model.coef_[:, 0], 2))
    0.0 [1.  1.1 1.2 1.3]
    1.0 [1.06 1.12 1.18 1.24]
    inf [1.15 1.15 1.15 1.15]
""")
class MeanRegularizedRegressor(_MeanRegularizedMixin, _RegressorBase):
    _parameter_constraints = {**_RegressorBase._parameter_constraints, **_MEAN_PARAMS}

    def __init__(
        self,
        alpha=1.0,
        coupling=1.0,
        *,
        fit_intercept=True,
        task_column=None,
        tol=1e-4,
        max_iter=5000,
        warm_start=False,
    ):
        self.alpha = alpha
        self.coupling = coupling
        self.fit_intercept = fit_intercept
        self.task_column = task_column
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start


@_doc(r"""Multi-task logistic regression with tasks pulled towards their mean (Evgeniou & Pontil).

    Minimises

    .. math:: f(W, b) + \frac{\alpha}{2} \sum_t \|w_t\|_2^2
              + \frac{\text{coupling}}{2} \sum_t \|w_t - \bar w\|_2^2,

    {clf}

    All tasks must have the same number of outputs (all binary, or the same number of classes).
    ``coupling = 0`` gives independent L2-regularised logistic regressions; ``coupling = inf``
    one shared coefficient block.

    Parameters
    ----------
    alpha : float, default=1.0
        Overall L2 strength.
    coupling : float, default=1.0
        How hard the tasks are pulled towards their mean; ``np.inf`` for one shared block.
    {common}

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, n_features)
        Coefficients: one row per binary task, ``K_t`` consecutive rows for a task with
        ``K_t > 2`` classes (for one binary task: shape (1, n_features), as
        :class:`~sklearn.linear_model.LogisticRegression`).
    intercept_ : ndarray of shape (n_outputs,)
        Intercepts.
    classes_ : ndarray or list of ndarray
        Class labels: one array for one task or the long layout (the union over tasks; see
        ``task_classes_``), a list with one array per task in the wide layout.
    task_classes_ : list of ndarray
        Long layout only: the classes each task saw in fit.
    {attrs}

    Notes
    -----
    {prox}

    References
    ----------
    T. Evgeniou and M. Pontil. Regularized multi-task learning. KDD 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.linear import MeanRegularizedClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> Y = np.column_stack([(X[:, 0] + 0.2 * k * X[:, 1] > 0).astype(int) for k in range(3)])
    >>> clf = MeanRegularizedClassifier(alpha=0.01, coupling=0.1).fit(X, Y)
    >>> clf.predict(X[:2])
    array([[1, 1, 1],
           [1, 0, 0]])
    >>> round(clf.score(X, Y), 2)
    0.98
""")
class MeanRegularizedClassifier(_MeanRegularizedMixin, _ClassifierBase):
    _parameter_constraints = {**_ClassifierBase._parameter_constraints, **_MEAN_PARAMS}

    def __init__(
        self,
        alpha=1.0,
        coupling=1.0,
        *,
        fit_intercept=True,
        task_column=None,
        tol=1e-4,
        max_iter=5000,
        warm_start=False,
    ):
        self.alpha = alpha
        self.coupling = coupling
        self.fit_intercept = fit_intercept
        self.task_column = task_column
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start


# ----------------------------------------------------------------------------------------------
# Low rank (trace norm)


class _LowRankMixin:
    def _penalty(self, n_tasks, widths):
        return TraceNorm(self.alpha)


@_doc(r"""Multi-task least squares with a trace-norm penalty: tasks share a low-dimensional
    subspace of coefficient vectors.

    Minimises

    .. math:: f(W, b) + \alpha \|W\|_*, \qquad \|W\|_* = \sum_k \sigma_k(W),

    {reg}

    The trace (nuclear) norm is the convex surrogate of rank: larger ``alpha`` gives fewer
    nonzero singular values, i.e. task coefficient vectors spanned by fewer shared directions.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the trace-norm penalty; ``W = 0`` for ``alpha`` at or above
        ``||X_c' Y_c / n||_2`` (spectral norm, no missing labels).
    {common}

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features) or (n_features,)
        Coefficients, one row per task.
    intercept_ : ndarray of shape (n_tasks,) or float
        Intercepts.
    dual_gap_ : float
        Duality gap at the solution.
    {attrs}

    See Also
    --------
    LowRankRegressorCV : ``alpha`` by cross-validation along a warm-started path.

    Notes
    -----
    {gap}

    References
    ----------
    S. Ji and J. Ye. An accelerated gradient method for trace norm minimization. ICML 2009.
    J. Zhou, J. Chen and J. Ye. MALSAR: Multi-task learning via structural regularization. 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.linear import LowRankRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 8))
    >>> W = rng.normal(size=(8, 1)) @ rng.normal(size=(1, 5))   # rank one, 5 tasks
    >>> Y = X @ W + 0.01 * rng.normal(size=(100, 5))
    >>> model = LowRankRegressor(alpha=0.1).fit(X, Y)
    >>> int(np.linalg.matrix_rank(model.coef_, tol=1e-6))
    1
""")
class LowRankRegressor(_LowRankMixin, _RegressorBase):
    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        task_column=None,
        tol=1e-4,
        max_iter=5000,
        warm_start=False,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.task_column = task_column
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start


@_doc(r"""Multi-task logistic regression with a trace-norm penalty (shared low-rank structure).

    Minimises

    .. math:: f(W, b) + \alpha \|W\|_*,

    {clf}

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the trace-norm penalty.
    {common}

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, n_features)
        Coefficients: one row per binary task, ``K_t`` rows for a task with ``K_t > 2`` classes.
    intercept_ : ndarray of shape (n_outputs,)
        Intercepts.
    classes_ : ndarray or list of ndarray
        Class labels (one array for one task or the long layout, one per task otherwise).
    {attrs}

    Notes
    -----
    {prox}

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.linear import LowRankClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 6))
    >>> Y = np.column_stack([(X[:, 0] - X[:, 1] + 0.1 * k > 0) for k in range(4)]).astype(int)
    >>> clf = LowRankClassifier(alpha=0.05).fit(X, Y)
    >>> clf.coef_.shape
    (4, 6)
    >>> int(np.linalg.matrix_rank(clf.coef_, tol=1e-6))
    1
""")
class LowRankClassifier(_LowRankMixin, _ClassifierBase):
    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        task_column=None,
        tol=1e-4,
        max_iter=5000,
        warm_start=False,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.task_column = task_column
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start


# ----------------------------------------------------------------------------------------------
# Sparse (L2,1: joint feature selection)


class _SparseMixin:
    def _penalty(self, n_tasks, widths):
        return L21(self.alpha)


@_doc(r"""Multi-task least squares with an L2,1 penalty: features are selected jointly by all tasks.

    Minimises

    .. math:: f(W, b) + \alpha \|W\|_{2,1}, \qquad \|W\|_{2,1} = \sum_j \|W_{j,:}\|_2,

    {reg}

    With one design and no missing label this is exactly the objective of
    :class:`sklearn.linear_model.MultiTaskLasso` (``1/(2n) ||Y - XW - b||_F^2 + alpha ||W||_21``),
    so the two give the same solution for the same ``alpha``. skmtl adds missing labels, the
    long layout, classification (:class:`SparseClassifier`) and a working-set solver.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the L2,1 penalty; ``W = 0`` for ``alpha`` at or above
        ``max_j ||(X_c' Y_c)_j|| / n``.
    {common}
    solver : {"auto", "working_set", "fista"}, default="auto"
        ``"working_set"`` (what ``"auto"`` picks): solve on a growing set of features (the
        support and the worst violators of the optimality conditions) — with one design and no
        missing label by blocked coordinate descent (on the Gram matrix of the working set when
        it has fewer than ``2 n`` features), otherwise by accelerated proximal gradient;
        ``"fista"``: accelerated proximal gradient on all features at once.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features) or (n_features,)
        Coefficients, one row per task; whole columns (features) are zero.
    intercept_ : ndarray of shape (n_tasks,) or float
        Intercepts.
    dual_gap_ : float
        Duality gap at the solution.
    {attrs}

    See Also
    --------
    SparseRegressorCV : ``alpha`` by cross-validation along a warm-started path.
    sklearn.linear_model.MultiTaskLasso : the same model, coordinate descent, no missing labels.

    Notes
    -----
    {gap}

    References
    ----------
    G. Obozinski, B. Taskar and M. Jordan. Joint covariate selection and joint subspace
    selection for multiple classification problems. Statistics and Computing, 2010.
    A. Argyriou, T. Evgeniou and M. Pontil. Convex multi-task feature learning. Machine
    Learning, 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.linear import SparseRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 20))
    >>> W = np.zeros((20, 3)); W[:4] = rng.normal(size=(4, 3))
    >>> Y = X @ W + 0.01 * rng.normal(size=(100, 3))
    >>> model = SparseRegressor(alpha=0.05).fit(X, Y)
    >>> np.flatnonzero(np.any(model.coef_ != 0, axis=0))
    array([0, 1, 2, 3])
""")
class SparseRegressor(_SparseMixin, _RegressorBase):
    _parameter_constraints = {**_RegressorBase._parameter_constraints, "solver": _SOLVER_CONSTRAINT}

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        task_column=None,
        tol=1e-4,
        max_iter=5000,
        warm_start=False,
        solver="auto",
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.task_column = task_column
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.solver = solver


@_doc(r"""Multi-task logistic regression with an L2,1 penalty (joint feature selection).

    Minimises

    .. math:: f(W, b) + \alpha \|W\|_{2,1},

    {clf}

    A feature is kept or dropped for all tasks (and all classes) together.

    Parameters
    ----------
    alpha : float, default=1.0
        Strength of the L2,1 penalty.
    {common}
    solver : {"auto", "working_set", "fista"}, default="auto"
        As for :class:`SparseRegressor`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, n_features)
        Coefficients: one row per binary task, ``K_t`` rows for a task with ``K_t > 2`` classes.
    intercept_ : ndarray of shape (n_outputs,)
        Intercepts.
    classes_ : ndarray or list of ndarray
        Class labels (one array for one task or the long layout, one per task otherwise).
    {attrs}

    Notes
    -----
    {prox}

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.linear import SparseClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 10))
    >>> Y = np.column_stack([X[:, 0] + 0.5 * k * X[:, 1] > 0 for k in range(3)]).astype(int)
    >>> clf = SparseClassifier(alpha=0.03).fit(X, Y)
    >>> np.flatnonzero(np.any(clf.coef_ != 0, axis=0))
    array([0, 1])
""")
class SparseClassifier(_SparseMixin, _ClassifierBase):
    _parameter_constraints = {
        **_ClassifierBase._parameter_constraints,
        "solver": _SOLVER_CONSTRAINT,
    }

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        task_column=None,
        tol=1e-4,
        max_iter=5000,
        warm_start=False,
        solver="auto",
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.task_column = task_column
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.solver = solver


__all__ = [
    "LowRankClassifier",
    "LowRankRegressor",
    "MeanRegularizedClassifier",
    "MeanRegularizedRegressor",
    "SparseClassifier",
    "SparseRegressor",
]

_ = np  # numpy is used in the doctests
