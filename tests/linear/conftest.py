"""Known failures from the registry: a test of ``tests/linear`` parametrized over estimator
instances is marked ``xfail`` for an estimator whose ``_registry.REGISTRY`` entry lists that
test under ``"xfail"`` (not strict: a fuzzed test need not draw the failing case every run)."""

import pytest
from _registry import REGISTRY
from sklearn.base import BaseEstimator


def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None:
            continue
        for value in callspec.params.values():
            if not isinstance(value, BaseEstimator):
                continue
            entry = REGISTRY.get(type(value).__name__, {})
            reason = entry.get("xfail", {}).get(item.originalname)
            if reason:
                item.add_marker(pytest.mark.xfail(reason=reason, strict=False))
