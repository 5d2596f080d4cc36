"""Bundled data sets and generators for multi-task learning."""

from ._generators import (
    make_mmoe_synthetic,
    make_multitask_classification,
    make_multitask_regression,
)
from ._penguins import load_penguins
from ._school import load_school

__all__ = [
    "load_penguins",
    "load_school",
    "make_mmoe_synthetic",
    "make_multitask_classification",
    "make_multitask_regression",
]
