"""The errors and warnings of training a MultiTaskEstimator (imported by every layer)."""

from __future__ import annotations

__all__ = ["TrainingDivergedError", "TrainingDivergedWarning", "TrainingInterruptedWarning"]


class TrainingDivergedError(FloatingPointError, ValueError):
    """Raised when a training loss becomes NaN or infinite.

    :class:`~skmtl.neural.MultiTaskEstimator` catches it and keeps the last epoch with finite
    losses (with a warning); it raises it, and is left unfitted, when no epoch was finite. A
    ``ValueError`` too: the cause is the data's scale or a parameter (lr, task weights).
    """


class TrainingDivergedWarning(UserWarning):
    """Training stopped because a loss became NaN or infinite; the last finite epoch was kept."""


class TrainingInterruptedWarning(UserWarning):
    """Training was interrupted (``KeyboardInterrupt``); the last completed epoch was kept."""
