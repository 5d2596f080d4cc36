"""Shared-parameter multi-task networks trained through skorch (imports torch)."""

from ._asynchronous import fit_asynchronous
from ._distributed import fit_distributed
from ._early_stopping import TaskValidSplit
from ._errors import TrainingDivergedError, TrainingDivergedWarning, TrainingInterruptedWarning
from ._estimator import MultiTaskEstimator
from ._long_module import TaskHeadsMLP
from ._losses import MaskedTaskLoss, MultiTaskLoss, StaticWeighting
from ._module import MultiTaskMLP
from ._net import MultiTaskNet

__all__ = [
    "MaskedTaskLoss",
    "MultiTaskEstimator",
    "MultiTaskLoss",
    "MultiTaskMLP",
    "MultiTaskNet",
    "StaticWeighting",
    "TaskHeadsMLP",
    "TaskValidSplit",
    "TrainingDivergedError",
    "TrainingDivergedWarning",
    "TrainingInterruptedWarning",
    "fit_asynchronous",
    "fit_distributed",
]
