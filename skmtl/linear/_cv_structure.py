"""Cross-validated estimators of the task-structure families, on the machinery of :mod:`._cv`.

- graph-regularised and task-relation models: the grid ``couplings x alphas`` (as the
  mean-regularised CV estimators), a warm-started path over ``alpha`` for each coupling;
- dirty and robust low-rank models: the grid ``ratios x alphas`` with ``beta = ratio * alpha``
  (as :class:`~sklearn.linear_model.ElasticNetCV` has ``l1_ratio x alphas``), a warm-started path
  over ``alpha`` at each fixed ratio, the generated ``alpha`` grid starting at the largest
  ``alpha_max`` over the ratios.

The clustered model has no CV estimator: its number of clusters is discrete and the cluster
labels come from a k-means on the learned similarity, so neither a path nor a warm start helps;
``GridSearchCV`` over ``n_clusters x alpha`` is the tool for it.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import _ClassifierBase, _RegressorBase
from ._cv import (
    _CLF_SCORE,
    _CV_ATTRS,
    _CV_COMMON,
    _CV_NOTES,
    _CV_PARAMS,
    _REG_SCORE,
    _SMOOTH_SCALE,
    _alpha_scale,
    _coupling_grid,
    _cv_constraints,
    _CVMixin,
    _init_common,
    _MeanCV,
    _resolve_grid,
)
from ._dirty import DirtyClassifier, DirtyRegressor
from ._graph import GraphRegularizedClassifier, GraphRegularizedRegressor
from ._robust import RobustLowRankClassifier, RobustLowRankRegressor
from ._task_relation import TaskRelationClassifier, TaskRelationRegressor

# -- the grids -------------------------------------------------------------------------------


class _GraphCV(_MeanCV):
    """couplings as for the mean-regularised model; ``inf`` is left out of a generated grid
    when ``l1_ratio > 0`` (tied components do not combine with the L1 term)."""

    def _resolve_param_grid(self, name, scale):
        values = super()._resolve_param_grid(name, scale)
        if isinstance(self.couplings, numbers.Integral) and self.l1_ratio > 0:
            values = values[np.isfinite(values)]
        return values


class _RelationCV(_CVMixin):
    """couplings: finite (the task-relation term has no tied limit)."""

    _grid_params = ("coupling",)

    def _resolve_param_grid(self, name, scale):
        values = self.couplings
        if isinstance(values, numbers.Integral):
            inner = _coupling_grid(scale, self.eps, values - 1) if values > 1 else []
            return np.r_[0.0, inner]
        arr = np.asarray(values, dtype=float).ravel()
        if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"couplings must be finite non-negative numbers; got {values!r}.")
        return arr


class _SplitCV(_CVMixin):
    """The split models: ``beta = ratio * alpha``, a path over ``alpha`` at each ratio."""

    _grid_params = ("ratio",)

    def _candidate(self, alpha, row):
        return {"alpha": alpha, "beta": row["ratio"] * alpha}

    def _grids(self, X, y, sample_weight):
        est = self._base_estimator(alpha=1.0)
        design, targets, meta = est._prepare(X, y, sample_weight)
        datafit, _ = est._build_datafit(design, targets)
        penalty = est._penalty(meta["n_tasks"], meta["widths"])  # at the default ratio
        values = self.ratios
        if isinstance(values, numbers.Integral):
            # from 1 (the first part alone) to 1 / sqrt(T) (the second part alone): the range
            # of the model, the default ratio T ** -0.25 in its geometric middle
            low = penalty.default_ratio() ** 2
            ratios = np.geomspace(1.0, low, values) if values > 1 else np.array([low ** 0.5])
            ratios = ratios[np.r_[True, np.diff(ratios) != 0]]  # one task: a single ratio
        else:
            ratios = np.asarray(values, dtype=float).ravel()
            if ratios.size == 0 or not np.all(np.isfinite(ratios)) or np.any(ratios <= 0):
                raise ValueError(f"ratios must be positive finite numbers; got {values!r}.")
        scale = max(
            _alpha_scale(datafit, penalty.with_alpha_beta(1.0, float(r))) for r in ratios
        )
        alphas = _resolve_grid(self.alphas, scale, self.eps, "alphas")
        if np.any(alphas == 0):
            raise ValueError("alphas must be > 0 for a split model (see the base estimator).")
        return alphas, [{"ratio": float(r)} for r in ratios]


# -- documentation -----------------------------------------------------------------------------

_PARAMS = _CV_PARAMS.replace(
    """    n_alphas : int
        Deprecated: pass the number of alphas as ``alphas``.
""", ""
)

_ATTRS_TAIL = """
    task_weights : dict, array-like, "n_samples" or None, default=None
        As for :class:`{base}`.
    unknown_task : {{"error", "mean"}}, default="error"
        As for :class:`{base}`.

    Attributes
    ----------
    """ + _CV_ATTRS.replace("{", "{{").replace("}", "}}")


def _doc(summary, base, *, score, scale, n_default, eps, grid_params, attrs, example,
         extra_params=""):
    return f"""{summary}

    Parameters
    ----------
    {_PARAMS.format(n_default=n_default, scale=scale, eps=eps, score=score)}{grid_params}
    {_CV_COMMON}{extra_params}{_ATTRS_TAIL.format(base=base)}
{attrs}
    Notes
    -----
    {_CV_NOTES}

    Examples
    --------
{example}
    """


_COUPLING_SUMMARY = """{what} with ``alpha`` and ``coupling`` chosen by cross-validation.

    Each fold solves :class:`{base}` on the grid ``couplings x alphas``: for each coupling, a
    path of decreasing ``alpha``, each solve warm-started at the previous solution. Every
    solution is scored on the held-out rows and the pair of best mean score is refitted on all
    data (the choice of :class:`~sklearn.model_selection.GridSearchCV` over the same grid).
    A generated ``alpha`` grid starts at {scale}."""

_GRAPH_COUPLINGS = """
    couplings : int or array-like, default={n_couplings}
        The couplings tried. An int ``k >= 2``: ``0`` (independent tasks), ``k - 2`` values on a
        log scale from ``eps`` times the scale above up to it, and ``inf`` (one block per
        connected component; left out when ``l1_ratio > 0``); an array: those values."""

_RELATION_COUPLINGS = """
    couplings : int or array-like, default={n_couplings}
        The couplings tried (finite). An int ``k >= 2``: ``0`` (independent ridge tasks) and
        ``k - 1`` values on a log scale from ``eps`` times the scale above up to it; an array:
        those values."""

_COUPLING_ATTRS = """    coupling_ : float
        The chosen coupling.
    couplings_ : ndarray of shape (n_couplings,)
        The couplings tried.
    scores_ : ndarray of shape (n_folds, n_couplings, n_alphas)
        Held-out score of each (coupling, alpha) on each fold (higher is better).
"""

_GRAPH_EXTRA = """
    task_graph : array-like of shape (n_tasks, n_tasks), list of edges or None, default=None
        As for :class:`{base}` (the same graph for every fold).
    l1_ratio : float in [0, 1), default=0.0
        As for :class:`{base}` (fixed, not cross-validated)."""

_SPLIT_SUMMARY = """{what} with ``alpha`` and ``beta`` chosen by cross-validation.

    ``beta = ratio * alpha``: each fold solves :class:`{base}` on the grid ``ratios x alphas``,
    for each ratio a path of decreasing ``alpha`` (``with_alpha`` keeps the ratio, as the base
    estimator's own default does), each solve warm-started at the previous solution (both
    parts). Every solution is scored on the held-out rows and the pair of best mean score is
    refitted on all data (the choice of :class:`~sklearn.model_selection.GridSearchCV` over the
    pairs ``(alpha, beta)``). A generated ``alpha`` grid starts at the largest ``alpha_max``
    over the ratios (the smallest alpha giving ``W = 0`` at every ratio)."""

_SPLIT_RATIOS = """
    ratios : int or array-like, default=3
        The ratios ``beta / alpha`` tried. An int ``k``: ``k`` values on a log scale from ``1``
        (the first part alone) down to ``1 / sqrt(T)`` (the second part alone), ``T`` the
        number of {groups}, so that ``k = 3`` has the base estimator's default ratio
        ``T ** -0.25`` in the middle; an array: those values (> 0)."""

_SPLIT_ATTRS = """    ratio_ : float
        The chosen ratio; ``best_params_["beta"] = ratio_ * alpha_``.
    ratios_ : ndarray of shape (n_ratios,)
        The ratios tried.
    beta_ : float
        The chosen ``beta`` (that of the refit).
    scores_ : ndarray of shape (n_folds, n_ratios, n_alphas)
        Held-out score of each (ratio, alpha) on each fold (higher is better).
"""

_NORM_SCALE = "``alpha_max``"


# -- the estimators ----------------------------------------------------------------------------


_COUPLING_CONSTRAINTS = {
    "couplings": [Interval(numbers.Integral, 2, None, closed="left"), "array-like"]
}
_RATIO_CONSTRAINTS = {
    "ratios": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"]
}


def _constraints(base, grid, drop):
    out = {**_cv_constraints(base), **grid}
    for name in ("n_alphas", *drop):
        out.pop(name, None)
    return out


class GraphRegularizedRegressorCV(_GraphCV, _RegressorBase):
    __doc__ = _doc(
        _COUPLING_SUMMARY.format(
            what="Multi-task ridge regression on a task graph", base="GraphRegularizedRegressor",
            scale=_SMOOTH_SCALE,
        ),
        "GraphRegularizedRegressor", score=_REG_SCORE, scale=_SMOOTH_SCALE, n_default="8",
        eps="1e-4", grid_params=_GRAPH_COUPLINGS.format(n_couplings=4),
        extra_params=_GRAPH_EXTRA.format(base="GraphRegularizedRegressor"),
        attrs=_COUPLING_ATTRS,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import GraphRegularizedRegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 4))
    >>> Y = np.column_stack([X @ [1.0, 0, 0, 1], X @ [1.1, 0, 0, 1], X @ [0, 1.0, 1, 0]])
    >>> Y += 0.5 * rng.normal(size=Y.shape)
    >>> model = GraphRegularizedRegressorCV(alphas=5, couplings=[0.0, 1.0, 10.0],
    ...                                     task_graph=[(0, 1)]).fit(X, Y)
    >>> model.scores_.shape
    (5, 3, 5)
    >>> sorted(model.best_params_)
    ['alpha', 'coupling']""",
    )
    _base_class = GraphRegularizedRegressor
    _parameter_constraints = _constraints(
        GraphRegularizedRegressor, _COUPLING_CONSTRAINTS, ("coupling",)
    )

    def __init__(self, *, alphas=8, couplings=4, eps=1e-4, cv=None, scoring=None, n_jobs=None,
                 refit=True, fit_intercept=True, task_column=None, tol=1e-4, max_iter=5000,
                 task_graph=None, l1_ratio=0.0, task_weights=None, unknown_task="error"):
        _init_common(self, locals())


class GraphRegularizedClassifierCV(_GraphCV, _ClassifierBase):
    __doc__ = _doc(
        _COUPLING_SUMMARY.format(
            what="Multi-task logistic regression on a task graph",
            base="GraphRegularizedClassifier", scale=_SMOOTH_SCALE,
        ),
        "GraphRegularizedClassifier", score=_CLF_SCORE, scale=_SMOOTH_SCALE, n_default="5",
        eps="1e-3", grid_params=_GRAPH_COUPLINGS.format(n_couplings=3),
        extra_params=_GRAPH_EXTRA.format(base="GraphRegularizedClassifier"),
        attrs=_COUPLING_ATTRS,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import GraphRegularizedClassifierCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> Y = np.column_stack([X[:, 0] > 0, X[:, 0] + 0.2 * X[:, 1] > 0, X[:, 2] > 0]).astype(int)
    >>> clf = GraphRegularizedClassifierCV(alphas=4, couplings=3, cv=3,
    ...                                    task_graph=[(0, 1)]).fit(X, Y)
    >>> clf.scores_.shape
    (3, 3, 4)
    >>> bool(clf.score(X, Y) > 0.9)
    True""",
    )
    _base_class = GraphRegularizedClassifier
    _parameter_constraints = _constraints(
        GraphRegularizedClassifier, _COUPLING_CONSTRAINTS, ("coupling",)
    )

    def __init__(self, *, alphas=5, couplings=3, eps=1e-3, cv=None, scoring=None, n_jobs=None,
                 refit=True, fit_intercept=True, task_column=None, tol=1e-4, max_iter=5000,
                 task_graph=None, l1_ratio=0.0, task_weights=None, unknown_task="error"):
        _init_common(self, locals())


class TaskRelationRegressorCV(_RelationCV, _RegressorBase):
    __doc__ = _doc(
        _COUPLING_SUMMARY.format(
            what="Multi-task ridge regression with a learned task covariance",
            base="TaskRelationRegressor", scale=_SMOOTH_SCALE,
        ),
        "TaskRelationRegressor", score=_REG_SCORE, scale=_SMOOTH_SCALE, n_default="8",
        eps="1e-4", grid_params=_RELATION_COUPLINGS.format(n_couplings=4),
        attrs=_COUPLING_ATTRS,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import TaskRelationRegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 4))
    >>> w = rng.normal(size=4)
    >>> Y = np.column_stack([X @ w, X @ w, -(X @ w)]) + 0.5 * rng.normal(size=(100, 3))
    >>> model = TaskRelationRegressorCV(alphas=5, couplings=3).fit(X, Y)
    >>> model.scores_.shape, model.couplings_.shape
    ((5, 3, 5), (3,))
    >>> np.sign(np.round(model.task_correlation_[0], 1))
    array([ 1.,  1., -1.])""",
    )
    _base_class = TaskRelationRegressor
    _parameter_constraints = _constraints(
        TaskRelationRegressor, _COUPLING_CONSTRAINTS, ("coupling",)
    )

    def __init__(self, *, alphas=8, couplings=4, eps=1e-4, cv=None, scoring=None, n_jobs=None,
                 refit=True, fit_intercept=True, task_column=None, tol=1e-4, max_iter=5000,
                 task_weights=None, unknown_task="error"):
        _init_common(self, locals())


class TaskRelationClassifierCV(_RelationCV, _ClassifierBase):
    __doc__ = _doc(
        _COUPLING_SUMMARY.format(
            what="Multi-task logistic regression with a learned task covariance",
            base="TaskRelationClassifier", scale=_SMOOTH_SCALE,
        ),
        "TaskRelationClassifier", score=_CLF_SCORE, scale=_SMOOTH_SCALE, n_default="5",
        eps="1e-3", grid_params=_RELATION_COUPLINGS.format(n_couplings=3),
        attrs=_COUPLING_ATTRS,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import TaskRelationClassifierCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3))
    >>> z = X[:, 0] + 0.3 * rng.normal(size=300)
    >>> Y = np.column_stack([z > 0, z > 0, z < 0]).astype(int)
    >>> clf = TaskRelationClassifierCV(alphas=4, couplings=3, cv=3).fit(X, Y)
    >>> clf.scores_.shape
    (3, 3, 4)
    >>> bool(clf.score(X, Y) > 0.8)
    True""",
    )
    _base_class = TaskRelationClassifier
    _parameter_constraints = _constraints(
        TaskRelationClassifier, _COUPLING_CONSTRAINTS, ("coupling",)
    )

    def __init__(self, *, alphas=5, couplings=3, eps=1e-3, cv=None, scoring=None, n_jobs=None,
                 refit=True, fit_intercept=True, task_column=None, tol=1e-4, max_iter=5000,
                 task_weights=None, unknown_task="error"):
        _init_common(self, locals())


class DirtyRegressorCV(_SplitCV, _RegressorBase):
    __doc__ = _doc(
        _SPLIT_SUMMARY.format(what="The dirty multi-task regression model",
                              base="DirtyRegressor"),
        "DirtyRegressor", score=_REG_SCORE, scale=_NORM_SCALE, n_default="10", eps="1e-2",
        grid_params=_SPLIT_RATIOS.format(groups="outputs (tasks)"), attrs=_SPLIT_ATTRS,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import DirtyRegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 10))
    >>> W = np.zeros((10, 4)); W[:2] = 1.0; W[5, 0] = 2.0   # shared rows + one exception
    >>> Y = X @ W + 0.5 * rng.normal(size=(120, 4))
    >>> model = DirtyRegressorCV(alphas=6, cv=3).fit(X, Y)
    >>> model.scores_.shape, model.ratios_.round(2)
    ((3, 3, 6), array([1.  , 0.71, 0.5 ]))
    >>> bool(np.isclose(model.beta_, model.ratio_ * model.alpha_))
    True""",
    )
    _base_class = DirtyRegressor
    _parameter_constraints = _constraints(DirtyRegressor, _RATIO_CONSTRAINTS, ("beta",))

    def __init__(self, *, alphas=10, ratios=3, eps=1e-2, cv=None, scoring=None, n_jobs=None,
                 refit=True, fit_intercept=True, task_column=None, tol=1e-4, max_iter=5000,
                 task_weights=None, unknown_task="error"):
        _init_common(self, locals())


class DirtyClassifierCV(_SplitCV, _ClassifierBase):
    __doc__ = _doc(
        _SPLIT_SUMMARY.format(what="The dirty multi-task logistic regression model",
                              base="DirtyClassifier"),
        "DirtyClassifier", score=_CLF_SCORE, scale=_NORM_SCALE, n_default="5", eps="1e-2",
        grid_params=_SPLIT_RATIOS.format(groups="outputs (one per binary task, one per class "
                                         "of a multiclass task)"),
        attrs=_SPLIT_ATTRS,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import DirtyClassifierCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 6))
    >>> Y = np.column_stack([X[:, 0] + 0.5 * k * X[:, 1] > 0 for k in range(3)]).astype(int)
    >>> clf = DirtyClassifierCV(alphas=4, ratios=2, cv=3).fit(X, Y)
    >>> clf.scores_.shape
    (3, 2, 4)
    >>> bool(clf.score(X, Y) > 0.9)
    True""",
    )
    _base_class = DirtyClassifier
    _parameter_constraints = _constraints(DirtyClassifier, _RATIO_CONSTRAINTS, ("beta",))

    def __init__(self, *, alphas=5, ratios=3, eps=1e-2, cv=None, scoring=None, n_jobs=None,
                 refit=True, fit_intercept=True, task_column=None, tol=1e-4, max_iter=5000,
                 task_weights=None, unknown_task="error"):
        _init_common(self, locals())


class RobustLowRankRegressorCV(_SplitCV, _RegressorBase):
    __doc__ = _doc(
        _SPLIT_SUMMARY.format(what="Robust low-rank multi-task regression",
                              base="RobustLowRankRegressor"),
        "RobustLowRankRegressor", score=_REG_SCORE, scale=_NORM_SCALE, n_default="10",
        eps="1e-2", grid_params=_SPLIT_RATIOS.format(groups="tasks"), attrs=_SPLIT_ATTRS,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import RobustLowRankRegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 8))
    >>> W = rng.normal(size=(8, 1)) @ np.ones((1, 5)); W[:, 4] = rng.normal(size=8)
    >>> Y = X @ W + 0.5 * rng.normal(size=(120, 5))
    >>> model = RobustLowRankRegressorCV(alphas=6, cv=3).fit(X, Y)
    >>> model.scores_.shape
    (3, 3, 6)
    >>> bool(model.score(X, Y) > 0.8)
    True""",
    )
    _base_class = RobustLowRankRegressor
    _parameter_constraints = _constraints(
        RobustLowRankRegressor, _RATIO_CONSTRAINTS, ("beta",)
    )

    def __init__(self, *, alphas=10, ratios=3, eps=1e-2, cv=None, scoring=None, n_jobs=None,
                 refit=True, fit_intercept=True, task_column=None, tol=1e-4, max_iter=5000,
                 task_weights=None, unknown_task="error"):
        _init_common(self, locals())


class RobustLowRankClassifierCV(_SplitCV, _ClassifierBase):
    __doc__ = _doc(
        _SPLIT_SUMMARY.format(what="Robust low-rank multi-task logistic regression",
                              base="RobustLowRankClassifier"),
        "RobustLowRankClassifier", score=_CLF_SCORE, scale=_NORM_SCALE, n_default="5",
        eps="1e-2", grid_params=_SPLIT_RATIOS.format(groups="tasks"), attrs=_SPLIT_ATTRS,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import RobustLowRankClassifierCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 6))
    >>> Y = np.column_stack([(X[:, 0] - X[:, 1] + 0.1 * k > 0) for k in range(4)]).astype(int)
    >>> clf = RobustLowRankClassifierCV(alphas=4, ratios=2, cv=3).fit(X, Y)
    >>> clf.scores_.shape
    (3, 2, 4)""",
    )
    _base_class = RobustLowRankClassifier
    _parameter_constraints = _constraints(
        RobustLowRankClassifier, _RATIO_CONSTRAINTS, ("beta",)
    )

    def __init__(self, *, alphas=5, ratios=3, eps=1e-2, cv=None, scoring=None, n_jobs=None,
                 refit=True, fit_intercept=True, task_column=None, tol=1e-4, max_iter=5000,
                 task_weights=None, unknown_task="error"):
        _init_common(self, locals())


__all__ = [
    "DirtyClassifierCV",
    "DirtyRegressorCV",
    "GraphRegularizedClassifierCV",
    "GraphRegularizedRegressorCV",
    "RobustLowRankClassifierCV",
    "RobustLowRankRegressorCV",
    "TaskRelationClassifierCV",
    "TaskRelationRegressorCV",
]
