"""The named linear multi-task estimators: one family definition each (see :mod:`._family`),
from which its regressor and its classifier are made."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import _SOLVER_CONSTRAINT
from ._family import Param, make_family
from ._penalties import L21, MeanRegularized, TraceNorm

# ----------------------------------------------------------------------------------------------
# Mean-regularised (Evgeniou & Pontil 2004)


def _mean_penalty(p, n_tasks, widths):
    if len(set(widths)) > 1:
        raise ValueError(
            "Mean regularisation pulls every task's coefficients towards their mean, so all "
            f"tasks need the same number of outputs; got output widths {widths} (binary tasks "
            "have 1, a task with K > 2 classes has K)."
        )
    return MeanRegularized(p.alpha, p.coupling, n_tasks, widths[0])


MeanRegularizedRegressor, MeanRegularizedClassifier = make_family(
    "MeanRegularized",
    penalty=MeanRegularized,
    build=_mean_penalty,
    alpha="Overall ridge (L2) strength, on every task's coefficients.",
    params=[
        Param(
            "coupling",
            1.0,
            [Interval(numbers.Real, 0, None, closed="both")],
            "How hard the tasks are pulled towards their mean; ``np.inf`` for one shared "
            "coefficient block.",
            positional=True,
        ),
    ],
    summary={
        "regressor": "Multi-task ridge regression with tasks pulled towards their mean "
        "(Evgeniou & Pontil 2004).",
        "classifier": "Multi-task logistic regression with tasks pulled towards their mean "
        "(Evgeniou & Pontil).",
    },
    objective=r"""f(W, b) + \frac{\alpha}{2} \sum_t \|w_t\|_2^2
          + \frac{\text{coupling}}{2} \sum_t \|w_t - \bar w\|_2^2,
          \qquad \bar w = \frac{1}{T} \sum_t w_t,""",
    description={
        "regressor": """``coupling = 0`` gives independent ridge regressions (each task alone equals
:class:`sklearn.linear_model.Ridge` with ``alpha * n_t``); ``coupling = inf`` forces one
coefficient vector shared by all tasks (intercepts stay per task). In between, every task
borrows strength from the others in proportion to ``coupling / alpha``.""",
        "classifier": """All tasks must have the same number of outputs (all binary, or the same
number of classes). ``coupling = 0`` gives independent L2-regularised logistic regressions;
``coupling = inf`` one shared coefficient block.""",
    },
    see_also={
        "regressor": """sklearn.linear_model.Ridge : the ``coupling=0`` limit, one task at a time.
LowRankRegressor, SparseRegressor : other ways for tasks to share.""",
        "classifier": """sklearn.linear_model.LogisticRegression : the ``coupling=0`` limit, one
    task at a time.
LowRankClassifier, SparseClassifier : other ways for tasks to share.""",
    },
    references="T. Evgeniou and M. Pontil. Regularized multi-task learning. KDD 2004.",
    examples={
        "regressor": """>>> import numpy as np
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
inf [1.15 1.15 1.15 1.15]""",
        "classifier": """>>> import numpy as np
>>> from skmtl.linear import MeanRegularizedClassifier
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 3))
>>> Y = np.column_stack([(X[:, 0] + 0.2 * k * X[:, 1] > 0).astype(int) for k in range(3)])
>>> clf = MeanRegularizedClassifier(alpha=0.01, coupling=0.1).fit(X, Y)
>>> clf.predict(X[:2])
array([[1, 1, 1],
       [1, 0, 0]])
>>> round(clf.score(X, Y), 2)
0.98""",
    },
)


# ----------------------------------------------------------------------------------------------
# Low rank (trace norm)

LowRankRegressor, LowRankClassifier = make_family(
    "LowRank",
    penalty=TraceNorm,
    alpha={
        "regressor": """Strength of the trace-norm penalty; ``W = 0`` for ``alpha`` at or above
``alpha_max = ||X_c' Y_c / n||_2`` (spectral norm, no missing labels).""",
        "classifier": "Strength of the trace-norm penalty.",
    },
    summary={
        "regressor": "Multi-task least squares with a trace-norm penalty: tasks share a "
        "low-dimensional subspace of coefficient vectors.",
        "classifier": "Multi-task logistic regression with a trace-norm penalty (shared "
        "low-rank structure).",
    },
    objective=r"f(W, b) + \alpha \|W\|_*, \qquad \|W\|_* = \sum_k \sigma_k(W),",
    description="""The trace (nuclear) norm is the convex surrogate of rank: larger ``alpha`` gives
fewer nonzero singular values, i.e. task coefficient vectors spanned by fewer shared
directions.""",
    see_also={
        "regressor": "LowRankRegressorCV : ``alpha`` by cross-validation along a warm-started "
        "path.",
        "classifier": "LowRankRegressor : the same penalty with least squares.",
    },
    references="""S. Ji and J. Ye. An accelerated gradient method for trace norm minimization. ICML
2009.

J. Zhou, J. Chen and J. Ye. MALSAR: Multi-task learning via structural regularization.
2011.""",
    examples={
        "regressor": """>>> import numpy as np
>>> from skmtl.linear import LowRankRegressor
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(100, 8))
>>> W = rng.normal(size=(8, 1)) @ rng.normal(size=(1, 5))   # rank one, 5 tasks
>>> Y = X @ W + 0.01 * rng.normal(size=(100, 5))
>>> model = LowRankRegressor(alpha=0.1).fit(X, Y)
>>> int(np.linalg.matrix_rank(model.coef_, tol=1e-6))
1""",
        "classifier": """>>> import numpy as np
>>> from skmtl.linear import LowRankClassifier
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 6))
>>> Y = np.column_stack([(X[:, 0] - X[:, 1] + 0.1 * k > 0) for k in range(4)]).astype(int)
>>> clf = LowRankClassifier(alpha=0.05).fit(X, Y)
>>> clf.coef_.shape
(4, 6)
>>> int(np.linalg.matrix_rank(clf.coef_, tol=1e-6))
1""",
    },
)


# ----------------------------------------------------------------------------------------------
# Sparse (L2,1: joint feature selection)

SparseRegressor, SparseClassifier = make_family(
    "Sparse",
    penalty=L21,
    alpha={
        "regressor": """Strength of the L2,1 penalty; ``W = 0`` for ``alpha`` at or above
``alpha_max = max_j ||(X_c' Y_c)_j|| / n``.""",
        "classifier": "Strength of the L2,1 penalty.",
    },
    params=[
        Param(
            "solver",
            "auto",
            _SOLVER_CONSTRAINT,
            type_doc='{"auto", "working_set", "fista"}',
            default_doc='"auto"',
            doc="""``"working_set"`` (what ``"auto"`` picks): solve on a growing set of features
(the support and the worst violators of the optimality conditions) — with one design
and no missing label by blocked coordinate descent (on the Gram matrix of the working set
when it has fewer than ``2 n`` features), otherwise by accelerated proximal gradient;
``"fista"``: accelerated proximal gradient on all features at once.""",
        ),
    ],
    summary={
        "regressor": "Multi-task least squares with an L2,1 penalty: features are selected "
        "jointly by all tasks.",
        "classifier": "Multi-task logistic regression with an L2,1 penalty (joint feature "
        "selection).",
    },
    objective=r"f(W, b) + \alpha \|W\|_{2,1}, \qquad \|W\|_{2,1} = \sum_j \|W_{j,:}\|_2,",
    description={
        "regressor": """With one design and no missing label this is exactly the objective of
:class:`sklearn.linear_model.MultiTaskLasso` (``1/(2n) ||Y - XW - b||_F^2 + alpha ||W||_21``),
so the two give the same solution for the same ``alpha``. skmtl adds missing labels, the
long layout, classification (:class:`SparseClassifier`) and a working-set solver.""",
        "classifier": """A feature is kept or dropped for all tasks (and all classes) together:
whole columns of ``coef_`` are zero.""",
    },
    see_also={
        "regressor": """SparseRegressorCV : ``alpha`` by cross-validation along a warm-started path.
sklearn.linear_model.MultiTaskLasso : the same model, coordinate descent, no missing labels.""",
        "classifier": "SparseRegressor : the same penalty with least squares.",
    },
    references="""G. Obozinski, B. Taskar and M. Jordan. Joint covariate selection and joint
subspace selection for multiple classification problems. Statistics and Computing, 2010.

A. Argyriou, T. Evgeniou and M. Pontil. Convex multi-task feature learning. Machine
Learning, 2008.""",
    examples={
        "regressor": """>>> import numpy as np
>>> from skmtl.linear import SparseRegressor
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(100, 20))
>>> W = np.zeros((20, 3)); W[:4] = rng.normal(size=(4, 3))
>>> Y = X @ W + 0.01 * rng.normal(size=(100, 3))
>>> model = SparseRegressor(alpha=0.05).fit(X, Y)
>>> np.flatnonzero(np.any(model.coef_ != 0, axis=0))
array([0, 1, 2, 3])""",
        "classifier": """>>> import numpy as np
>>> from skmtl.linear import SparseClassifier
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(300, 10))
>>> Y = np.column_stack([X[:, 0] + 0.5 * k * X[:, 1] > 0 for k in range(3)]).astype(int)
>>> clf = SparseClassifier(alpha=0.03).fit(X, Y)
>>> np.flatnonzero(np.any(clf.coef_ != 0, axis=0))
array([0, 1])""",
    },
)


__all__ = [
    "LowRankClassifier",
    "LowRankRegressor",
    "MeanRegularizedClassifier",
    "MeanRegularizedRegressor",
    "SparseClassifier",
    "SparseRegressor",
]

_ = np  # numpy is used in the doctests
