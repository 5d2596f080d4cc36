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
- :class:`GraphRegularizedRegressor`, :class:`GraphRegularizedClassifier`: a task graph you
  give (MALSAR's SRMTL);
- :class:`DirtyRegressor`, :class:`DirtyClassifier`: shared features plus task-specific
  exceptions (Jalali et al. 2010);
- :class:`RobustLowRankRegressor`, :class:`RobustLowRankClassifier`: a shared low-rank
  structure plus outlier tasks (Chen, Zhou & Ye 2011);
- :class:`SparseRegressorCV`, :class:`LowRankRegressorCV`, :class:`SparseClassifierCV`,
  :class:`LowRankClassifierCV`: ``alpha`` by cross-validation along a warm-started path;
  :class:`MeanRegularizedRegressorCV`, :class:`MeanRegularizedClassifierCV`: ``alpha`` and
  ``coupling`` by cross-validation; :class:`GraphRegularizedRegressorCV`,
  :class:`TaskRelationRegressorCV`, :class:`DirtyRegressorCV`, :class:`RobustLowRankRegressorCV`
  and their classifiers: the task-structure families' hyper-parameters by cross-validation.
"""

from ._clustered import ClusteredClassifier, ClusteredRegressor
from ._cv import (
    LowRankClassifierCV,
    LowRankRegressorCV,
    MeanRegularizedClassifierCV,
    MeanRegularizedRegressorCV,
    SparseClassifierCV,
    SparseRegressorCV,
)
from ._cv_structure import (
    DirtyClassifierCV,
    DirtyRegressorCV,
    GraphRegularizedClassifierCV,
    GraphRegularizedRegressorCV,
    RobustLowRankClassifierCV,
    RobustLowRankRegressorCV,
    TaskRelationClassifierCV,
    TaskRelationRegressorCV,
)
from ._dirty import DirtyClassifier, DirtyRegressor
from ._estimators import (
    LowRankClassifier,
    LowRankRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    SparseClassifier,
    SparseRegressor,
)
from ._graph import GraphRegularizedClassifier, GraphRegularizedRegressor
from ._robust import RobustLowRankClassifier, RobustLowRankRegressor
from ._task_relation import TaskRelationClassifier, TaskRelationRegressor

__all__ = [
    "ClusteredClassifier",
    "ClusteredRegressor",
    "DirtyClassifier",
    "DirtyClassifierCV",
    "DirtyRegressor",
    "DirtyRegressorCV",
    "GraphRegularizedClassifier",
    "GraphRegularizedClassifierCV",
    "GraphRegularizedRegressor",
    "GraphRegularizedRegressorCV",
    "LowRankClassifier",
    "LowRankClassifierCV",
    "LowRankRegressor",
    "LowRankRegressorCV",
    "MeanRegularizedClassifier",
    "MeanRegularizedClassifierCV",
    "MeanRegularizedRegressor",
    "MeanRegularizedRegressorCV",
    "RobustLowRankClassifier",
    "RobustLowRankClassifierCV",
    "RobustLowRankRegressor",
    "RobustLowRankRegressorCV",
    "SparseClassifier",
    "SparseClassifierCV",
    "SparseRegressor",
    "SparseRegressorCV",
    "TaskRelationClassifier",
    "TaskRelationClassifierCV",
    "TaskRelationRegressor",
    "TaskRelationRegressorCV",
]
