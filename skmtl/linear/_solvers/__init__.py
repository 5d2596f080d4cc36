"""Solvers for datafit + penalty problems; one file per solver."""

from ._criteria import DualityGap, ProxGradNorm, StoppingRule, duality_gap
from ._fista import fista
from ._working_set import working_set

__all__ = ["DualityGap", "ProxGradNorm", "StoppingRule", "duality_gap", "fista", "working_set"]
