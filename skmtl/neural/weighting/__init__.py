"""Task-weighting strategies for :class:`~skmtl.neural.MultiTaskEstimator` (``weighting=``).

Loss-level strategies turn the per-task losses into one objective (FAMO also learns from the
same batch's losses after the step, through the post-step hook); gradient-level strategies
combine the per-task gradients of the shared parameters, or of the shared representation with
``use_representation`` (computed in one batched backward pass). ``WEIGHTINGS`` is the one table
from the string names to the classes; an instance of a class works wherever a name does.
"""

from ._aligned_mtl import AlignedMTL
from ._base import GradientWeighting, LossWeighting, Weighting
from ._cagrad import CAGrad
from ._dwa import DynamicWeightAverage
from ._famo import FAMO
from ._fixed import FixedWeighting
from ._graddrop import GradDrop
from ._gradnorm import GradNorm
from ._gradvac import GradVac
from ._imtl import IMTLG
from ._mgda import MGDA
from ._nash_mtl import NashMTL
from ._pcgrad import PCGrad
from ._rlw import RandomLossWeighting
from ._trainer import TaskBalancer, make_weighting
from ._uncertainty import UncertaintyWeighting
from ._upgrad import UPGrad

#: String name -> strategy class (``weighting="dwa"``): the one table of names.
WEIGHTINGS: dict[str, type[Weighting]] = {
    # loss level
    "fixed": FixedWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DynamicWeightAverage,
    "rlw": RandomLossWeighting,
    "gradnorm": GradNorm,
    "famo": FAMO,
    # gradient level
    "pcgrad": PCGrad,
    "mgda": MGDA,
    "cagrad": CAGrad,
    "imtl": IMTLG,
    "aligned_mtl": AlignedMTL,
    "nash_mtl": NashMTL,
    "upgrad": UPGrad,
    "graddrop": GradDrop,
    "gradvac": GradVac,
}

__all__ = [
    "FAMO",
    "IMTLG",
    "MGDA",
    "WEIGHTINGS",
    "AlignedMTL",
    "CAGrad",
    "DynamicWeightAverage",
    "FixedWeighting",
    "GradDrop",
    "GradNorm",
    "GradVac",
    "GradientWeighting",
    "LossWeighting",
    "NashMTL",
    "PCGrad",
    "RandomLossWeighting",
    "TaskBalancer",
    "UPGrad",
    "UncertaintyWeighting",
    "Weighting",
    "make_weighting",
]
