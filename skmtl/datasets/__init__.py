"""Bundled data sets and generators for multi-task learning."""

from ._penguins import load_penguins
from ._school import load_school

__all__ = ["load_penguins", "load_school"]
