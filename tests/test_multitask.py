"""skmtl.multitask.PerTaskEstimator: one independent model per task, both layouts."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge

from skmtl.multitask import PerTaskEstimator


def _wide(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(50, 3)
    Y = np.column_stack([X @ [1.0, 0, 2], X @ [0, -1.0, 1]]) + 0.1 * rng.randn(50, 2)
    Y[rng.rand(50) < 0.3, 1] = np.nan
    return X, Y


def test_wide_each_task_is_scikit_learns_fit_on_its_labelled_rows():
    X, Y = _wide()
    model = PerTaskEstimator(Ridge(alpha=0.7)).fit(X, Y)
    pred = model.predict(X)
    for j in range(2):
        keep = ~np.isnan(Y[:, j])
        ref = Ridge(alpha=0.7).fit(X[keep], Y[keep, j])
        np.testing.assert_allclose(pred[:, j], ref.predict(X), rtol=1e-10)
    assert model.n_tasks_ == 2 and model.tasks_.tolist() == [0, 1]


def test_wide_dataframe_target_names_and_mixed_types():
    X, Y = _wide(1)
    labels = np.where(X[:, 0] > 0, "up", None).astype(object)
    labels[X[:, 0] < -0.5] = "down"
    y = pd.DataFrame({"size": Y[:, 0], "direction": labels})
    model = PerTaskEstimator(LogisticRegression()).fit(X, y.assign(size=(Y[:, 0] > 0)))
    assert model.tasks_.tolist() == ["size", "direction"]
    keep = np.array([v is not None for v in labels])
    ref = LogisticRegression().fit(X[keep], labels[keep].astype(str))
    assert model.predict(X)[:, 1].tolist() == ref.predict(X).tolist()


def test_long_layout_task_column_by_position_and_by_name():
    rng = np.random.RandomState(2)
    X = rng.randn(60, 2)
    task = rng.choice(["a", "b", "c"], size=60)
    slope = {"a": 1.0, "b": -1.0, "c": 3.0}
    y = np.array([slope[t] for t in task]) * X[:, 0]
    frame = pd.DataFrame({"x0": X[:, 0], "school": task, "x1": X[:, 1]})
    by_name = PerTaskEstimator(Ridge(alpha=1e-3), task_column="school").fit(frame, y)
    arr = np.column_stack([X, task]).astype(object)
    by_pos = PerTaskEstimator(Ridge(alpha=1e-3), task_column=-1).fit(arr, y)
    np.testing.assert_allclose(by_name.predict(frame), by_pos.predict(arr))
    for t in "abc":
        rows = task == t
        ref = Ridge(alpha=1e-3).fit(X[rows], y[rows])
        np.testing.assert_allclose(by_pos.predict(arr[rows]), ref.predict(X[rows]), rtol=1e-10)
    with pytest.raises(ValueError, match="'d'"):
        by_name.predict(frame.assign(school="d"))


def test_errors_name_the_problem():
    X, Y = _wide()
    Y[:, 1] = np.nan
    with pytest.raises(ValueError, match="task 1 has no labelled row"):
        PerTaskEstimator(Ridge()).fit(X, Y)
    with pytest.raises(TypeError, match="estimator must be a scikit-learn estimator"):
        PerTaskEstimator().fit(X, Y)
    with pytest.raises(ValueError, match="y must be 1-D"):
        PerTaskEstimator(Ridge(), task_column=0).fit(X, Y)


def test_clone_and_params():
    est = PerTaskEstimator(Ridge(alpha=3.0), task_column=-1)
    copy = clone(est).set_params(estimator__alpha=5.0)
    assert copy.estimator.alpha == 5.0 and est.estimator.alpha == 3.0
