"""Every exported linear estimator (discovered from ``skmtl.linear.__all__``) round-trips through
skops with identical predictions and parameters."""

import numpy as np
import pytest
from _registry import instances, name_of
from numpy.testing import assert_array_equal
from sklearn.base import is_classifier

pytest.importorskip("skops")

from skmtl.io import load, save  # noqa: E402

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 4))
Y = X[:, :3] + 0.1 * rng.normal(size=(40, 3))
Y[::5, 1] = np.nan
Y_CLF = np.where(X[:, :3] > 0, "up", "down").astype(object)


@pytest.mark.parametrize("est", instances("quick"), ids=name_of)
def test_round_trip(tmp_path, est):
    y = Y_CLF if is_classifier(est) else Y
    est.fit(X, y)
    path = tmp_path / "model.skops"
    save(est, path)
    loaded = load(path)
    assert type(loaded) is type(est)
    assert_array_equal(loaded.predict(X), est.predict(X))
    assert loaded.get_params().keys() == est.get_params().keys()
    assert repr(loaded.get_params()) == repr(est.get_params())
