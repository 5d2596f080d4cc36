"""Bundled data sets and generators for multi-task learning."""

from ._school import load_school

__all__ = ["load_school"]
