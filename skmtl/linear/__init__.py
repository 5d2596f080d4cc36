"""Classical regularised multi-task linear models (no torch).

Regression and classification, in the wide layout (one design, one target column per task,
missing labels as NaN) and the long layout (each task its own samples, ``task_column=``):

- :class:`MeanRegularizedRegressor`, :class:`MeanRegularizedClassifier`: tasks pulled towards
  their mean (Evgeniou & Pontil 2004);
- :class:`LowRankRegressor`, :class:`LowRankClassifier`: trace-norm penalty (shared subspace);
- :class:`SparseRegressor`, :class:`SparseClassifier`: L2,1 penalty (joint feature selection);
- :class:`SparseRegressorCV`, :class:`LowRankRegressorCV`, :class:`SparseClassifierCV`,
  :class:`LowRankClassifierCV`: ``alpha`` by cross-validation along a warm-started path;
  :class:`MeanRegularizedRegressorCV`, :class:`MeanRegularizedClassifierCV`: ``alpha`` and
  ``coupling`` by cross-validation.
"""

from ._cv import (
    LowRankClassifierCV,
    LowRankRegressorCV,
    MeanRegularizedClassifierCV,
    MeanRegularizedRegressorCV,
    SparseClassifierCV,
    SparseRegressorCV,
)
from ._estimators import (
    LowRankClassifier,
    LowRankRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    SparseClassifier,
    SparseRegressor,
)

__all__ = [
    "LowRankClassifier",
    "LowRankClassifierCV",
    "LowRankRegressor",
    "LowRankRegressorCV",
    "MeanRegularizedClassifier",
    "MeanRegularizedClassifierCV",
    "MeanRegularizedRegressor",
    "MeanRegularizedRegressorCV",
    "SparseClassifier",
    "SparseClassifierCV",
    "SparseRegressor",
    "SparseRegressorCV",
]
