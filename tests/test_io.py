"""Secure persistence: linear estimators round-trip through skops; foreign types are refused."""

import io

import numpy as np
import pytest
from numpy.testing import assert_array_equal

pytest.importorskip("skops")

from skmtl.io import UntrustedTypesError, load, save, trusted_types  # noqa: E402
from skmtl.linear import MeanRegularizedRegressor, SparseClassifier, SparseRegressor  # noqa: E402

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 4))
Y = X[:, :3] + 0.1 * rng.normal(size=(40, 3))
Y[::5, 1] = np.nan
Y_CLF = np.where(X[:, :3] > 0, "up", "down").astype(object)
TASK = np.repeat([0, 1], 20)


def test_long_layout_round_trip(tmp_path):
    # every exported estimator round-trips in tests/linear/test_persistence_linear.py (wide
    # layout, discovered from skmtl.linear.__all__); here the long layout of two of them
    for est, y in [
        (SparseClassifier(alpha=0.05, task_column=0), Y_CLF[:, 0]),
        (MeanRegularizedRegressor(task_column=0), np.nan_to_num(Y[:, 0])),
    ]:
        Xf = np.column_stack([TASK, X])
        est.fit(Xf, y)
        path = tmp_path / "model.skops"
        save(est, path)
        loaded = load(path)
        assert type(loaded) is type(est)
        assert_array_equal(loaded.predict(Xf), est.predict(Xf))
        assert loaded.get_params() == est.get_params()


def test_file_object_round_trip():
    est = SparseRegressor(alpha=0.05).fit(X, Y)
    buf = io.BytesIO()
    save(est, buf)
    buf.seek(0)
    assert_array_equal(load(buf).coef_, est.coef_)


class Evil:
    """A type that is not skmtl's: loading it must be refused."""


def test_untrusted_type_is_refused(tmp_path):
    est = SparseRegressor(alpha=0.05).fit(X, Y)
    est.payload_ = Evil()  # e.g. a tampered file carrying a foreign object
    path = tmp_path / "evil.skops"
    save(est, path)
    with pytest.raises(UntrustedTypesError, match=r"test_io\.Evil"):
        load(path)
    # explicitly trusted by the user: loads
    assert isinstance(load(path, trusted=[f"{Evil.__module__}.Evil"]).payload_, Evil)


def test_trusted_types_are_skmtl_classes():
    names = trusted_types()
    assert "skmtl.linear._estimators.SparseRegressor" in names
    assert all(name.startswith("skmtl.") for name in names)
