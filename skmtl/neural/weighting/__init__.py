"""Task-weighting strategies for :class:`~skmtl.neural.MultiTaskEstimator` (``weighting=``).

Loss-level strategies turn the per-task losses into one objective; gradient-level strategies
combine the per-task gradients of the shared parameters (computed in one batched backward
pass). ``WEIGHTINGS`` is the one table from the string names to the classes; an instance of a
class works wherever a name does.
"""

from ._base import GradientWeighting, LossWeighting, Weighting
from ._dwa import DynamicWeightAverage
from ._fixed import FixedWeighting
from ._gradnorm import GradNorm
from ._rlw import RandomLossWeighting
from ._trainer import TaskBalancer, make_weighting
from ._uncertainty import UncertaintyWeighting

#: String name -> strategy class (``weighting="dwa"``).
WEIGHTINGS: dict[str, type[Weighting]] = {
    "fixed": FixedWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DynamicWeightAverage,
    "rlw": RandomLossWeighting,
    "gradnorm": GradNorm,
}

__all__ = [
    "WEIGHTINGS",
    "DynamicWeightAverage",
    "FixedWeighting",
    "GradNorm",
    "GradientWeighting",
    "LossWeighting",
    "RandomLossWeighting",
    "TaskBalancer",
    "UncertaintyWeighting",
    "Weighting",
    "make_weighting",
]
