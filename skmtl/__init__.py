"""skmtl: multi-task learning as scikit-learn estimators.

Two halves:

- :mod:`skmtl.linear`: classical regularised multi-task linear models (mean-regularised,
  low-rank / trace norm, sparse / L2,1), for regression and classification. Imports no torch.
- :class:`skmtl.MultiTaskEstimator`: a shared-parameter torch network over a dict of targets,
  trained through skorch. Imported lazily, so ``import skmtl`` stays fast and torch-free until used.
"""

from __future__ import annotations

from .linear import (
    ClusteredClassifier,
    ClusteredRegressor,
    DirtyClassifier,
    DirtyClassifierCV,
    DirtyRegressor,
    DirtyRegressorCV,
    GraphRegularizedClassifier,
    GraphRegularizedClassifierCV,
    GraphRegularizedRegressor,
    GraphRegularizedRegressorCV,
    LowRankClassifier,
    LowRankClassifierCV,
    LowRankRegressor,
    LowRankRegressorCV,
    MeanRegularizedClassifier,
    MeanRegularizedClassifierCV,
    MeanRegularizedRegressor,
    MeanRegularizedRegressorCV,
    RobustLowRankClassifier,
    RobustLowRankClassifierCV,
    RobustLowRankRegressor,
    RobustLowRankRegressorCV,
    SparseClassifier,
    SparseClassifierCV,
    SparseRegressor,
    SparseRegressorCV,
    TaskRelationClassifier,
    TaskRelationClassifierCV,
    TaskRelationRegressor,
    TaskRelationRegressorCV,
)

__version__ = "0.1.0.dev0"

_LAZY = {"MultiTaskEstimator": "skmtl.neural"}

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
    "MultiTaskEstimator",
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


def __getattr__(name: str):
    # PEP 562: the torch half is imported on first use only.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'skmtl' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
