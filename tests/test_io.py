"""Secure persistence: linear estimators round-trip through skops; foreign types are refused."""

import io

import numpy as np
import pytest
from numpy.testing import assert_array_equal

pytest.importorskip("skops")

from skmtl.io import UntrustedTypesError, load, save, trusted_types  # noqa: E402
from skmtl.linear import (  # noqa: E402
    LowRankClassifier,
    LowRankRegressor,
    LowRankRegressorCV,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    SparseClassifier,
    SparseRegressor,
    SparseRegressorCV,
)

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 4))
Y = X[:, :3] + 0.1 * rng.normal(size=(40, 3))
Y[::5, 1] = np.nan
Y_CLF = np.where(X[:, :3] > 0, "up", "down").astype(object)
TASK = np.repeat([0, 1], 20)


@pytest.mark.parametrize(
    "est, y, task",
    [
        (MeanRegularizedRegressor(alpha=0.1), Y, False),
        (LowRankRegressor(alpha=0.05), Y, False),
        (SparseRegressor(alpha=0.05), Y, False),
        (SparseRegressorCV(alphas=4, cv=3), np.nan_to_num(Y), False),
        (LowRankRegressorCV(alphas=4, cv=3), np.nan_to_num(Y), False),
        (MeanRegularizedClassifier(alpha=0.1), Y_CLF, False),
        (LowRankClassifier(alpha=0.05), Y_CLF, False),
        (SparseClassifier(alpha=0.05), Y_CLF, False),
        (SparseClassifier(alpha=0.05, task_column=0), Y_CLF[:, 0], True),
        (MeanRegularizedRegressor(task_column=0), Y[:, 0], True),
    ],
    ids=lambda v: type(v).__name__ if hasattr(v, "fit") else "",
)
def test_round_trip(tmp_path, est, y, task):
    Xf = np.column_stack([TASK, X]) if task else X
    yy = np.nan_to_num(y) if task and y.dtype.kind == "f" else y
    est.fit(Xf, yy)
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
