"""load_penguins and a quick multi-task fit on it."""

import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl.datasets import load_penguins
from skmtl.neural import MultiTaskEstimator


def test_arrays_and_frames_agree():
    bunch = load_penguins()
    X, y = bunch.data, bunch.target
    Xf, yf = load_penguins(as_frame=True, return_X_y=True)
    assert X.shape == (342, 6) and list(Xf.columns) == bunch.feature_names
    np.testing.assert_array_equal(Xf.to_numpy(), X)
    assert bunch.task_names == list(yf.columns) == ["species", "sex", "body_mass"]
    assert sorted(set(y["species"])) == ["Adelie", "Chinstrap", "Gentoo"]
    assert sum(v is None for v in y["sex"]) == int(yf["sex"].isna().sum()) == 9
    assert np.all(X[:, 3:].sum(axis=1) == 1)  # one island per bird
    assert 2700 <= y["body_mass"].min() and y["body_mass"].max() <= 6300
    assert "MIT" in bunch.DESCR and "Muhammad Chenariyan Nakhaee" in bunch.DESCR
    assert isinstance(bunch.frame, type(None))
    assert isinstance(load_penguins(as_frame=True).frame, pd.DataFrame)


def test_multitask_fit_with_missing_sex_labels():
    X, y = load_penguins(as_frame=True, return_X_y=True)
    y = y.assign(body_mass=y["body_mass"] / 1000)  # kilograms: a well-scaled regression
    est = MultiTaskEstimator(hidden_units=(32,), lr=0.01, max_epochs=60, random_state=0)
    model = make_pipeline(StandardScaler(), est).fit(X, y)
    scores = est.score_tasks(model[0].transform(X), y)
    assert scores["species"] > 0.95 and scores["sex"] > 0.8 and scores["body_mass"] > 0.7
    pred = model.predict(X)
    assert list(pred.columns) == ["species", "sex", "body_mass"]
    assert pred["sex"].notna().all()  # every bird gets a predicted sex
