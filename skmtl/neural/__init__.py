"""Shared-parameter multi-task networks trained through skorch (imports torch)."""

from ._asynchronous import fit_asynchronous
from ._distributed import fit_distributed
from ._estimator import MultiTaskEstimator
from ._losses import MaskedTaskLoss, MultiTaskLoss, StaticWeighting
from ._module import MultiTaskMLP
from ._net import MultiTaskNet, TrainingDivergedError
from ._state import TrainingDivergedWarning, TrainingInterruptedWarning

__all__ = [
    "MaskedTaskLoss",
    "MultiTaskEstimator",
    "MultiTaskLoss",
    "MultiTaskMLP",
    "MultiTaskNet",
    "StaticWeighting",
    "TrainingDivergedError",
    "TrainingDivergedWarning",
    "TrainingInterruptedWarning",
    "fit_asynchronous",
    "fit_distributed",
]
