"""Classical regularised multi-task linear models (no torch).

Regression and classification, in the wide layout (one design, one target column per task,
missing labels as NaN) and the long layout (each task its own samples, ``task_column=``):

- :class:`MeanRegularizedRegressor`, :class:`MeanRegularizedClassifier`: tasks pulled towards
  their mean (Evgeniou & Pontil 2004);
- :class:`LowRankRegressor`, :class:`LowRankClassifier`: trace-norm penalty (shared subspace);
- :class:`SparseRegressor`, :class:`SparseClassifier`: L2,1 penalty (joint feature selection);
- :class:`ClusteredRegressor`, :class:`ClusteredClassifier`: learned clusters of tasks (convex
  clustered MTL);
- :class:`TaskRelationRegressor`, :class:`TaskRelationClassifier`: learned task covariance,
  negative relations included (multi-task relationship learning);
- :class:`SparseRegressorCV`, :class:`LowRankRegressorCV`: ``alpha`` by cross-validation along a
  warm-started regularisation path.
"""

from ._clustered import ClusteredClassifier, ClusteredRegressor
from ._cv import LowRankRegressorCV, SparseRegressorCV
from ._estimators import (
    LowRankClassifier,
    LowRankRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    SparseClassifier,
    SparseRegressor,
)
from ._task_relation import TaskRelationClassifier, TaskRelationRegressor

__all__ = [
    "ClusteredClassifier",
    "ClusteredRegressor",
    "LowRankClassifier",
    "LowRankRegressor",
    "LowRankRegressorCV",
    "MeanRegularizedClassifier",
    "MeanRegularizedRegressor",
    "SparseClassifier",
    "SparseRegressor",
    "SparseRegressorCV",
    "TaskRelationClassifier",
    "TaskRelationRegressor",
]
