"""Bad input: a ValueError/TypeError that names the task or column, nothing left fitted."""

import numpy as np
import pandas as pd
import pytest
from _registry import instances, name_of
from sklearn.base import clone, is_classifier

from skmtl.linear import MeanRegularizedRegressor, SparseRegressor, SparseRegressorCV

REGRESSORS = instances("quick", select="regressor")
CLASSIFIERS = instances("quick", select="classifier")
ALL = REGRESSORS + CLASSIFIERS

rng = np.random.default_rng(0)
X = rng.normal(size=(30, 4))
Y_REG = rng.normal(size=(30, 3))
Y_CLF = (rng.normal(size=(30, 3)) > 0).astype(int)


def _y(est):
    return Y_CLF if is_classifier(est) else Y_REG


def _assert_unfitted(est):
    assert not any(
        k.endswith("_") and not k.startswith("_")
        for k in vars(est)
        if k not in ("n_features_in_", "feature_names_in_")
    ), vars(est).keys()


@pytest.mark.parametrize("est", ALL, ids=name_of)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_X_names_the_column(est, bad):
    est = clone(est)
    Xb = X.copy()
    Xb[3, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinity in column 2"):
        est.fit(Xb, _y(est))
    _assert_unfitted(est)
    df = pd.DataFrame(Xb, columns=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match=r"column 2 \('c'\)"):
        clone(est).fit(df, _y(est))


@pytest.mark.parametrize("est", REGRESSORS, ids=name_of)
def test_infinite_target_names_the_task(est):
    Y = Y_REG.copy()
    Y[5, 1] = np.inf
    with pytest.raises(ValueError, match="infinity in task 1"):
        clone(est).fit(X, Y)
    frame = pd.DataFrame(Y, columns=["math", "reading", "science"])
    with pytest.raises(ValueError, match="infinity in task 'reading'"):
        clone(est).fit(X, frame)


@pytest.mark.parametrize("est", ALL, ids=name_of)
def test_task_with_all_labels_missing(est):
    Y = _y(est).astype(float)
    Y[:, 2] = np.nan
    est = clone(est)
    with pytest.raises(ValueError, match="Task 2 has no labelled sample"):
        est.fit(X, Y)
    _assert_unfitted(est)


@pytest.mark.parametrize("est", CLASSIFIERS, ids=name_of)
def test_task_with_one_class(est):
    Y = Y_CLF.copy()
    Y[:, 1] = 1
    with pytest.raises(ValueError, match="Task 1 has only one class"):
        clone(est).fit(X, Y)
    frame = pd.DataFrame(Y, columns=["x", "y", "z"])
    with pytest.raises(ValueError, match="Task 'y' has only one class"):
        clone(est).fit(X, frame)


@pytest.mark.parametrize("est", ALL, ids=name_of)
def test_wrong_number_of_features_at_predict(est):
    est = clone(est).fit(X, _y(est))
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4 features"):
        est.predict(X[:, :3])


@pytest.mark.parametrize("est", ALL, ids=name_of)
def test_long_layout_errors(est):
    est = clone(est).set_params(task_column=0)
    task = np.repeat([0, 1, 2], 10)
    Xt = np.column_stack([task, X])
    y = _y(est)[:, 0]
    est.fit(Xt, y)
    with pytest.raises(ValueError, match=r"Task label\(s\) \[5\] .*not seen in fit"):
        est.predict(np.column_stack([np.full(30, 5), X]))
    with pytest.raises(ValueError, match="y must be 1-D"):
        clone(est).fit(Xt, _y(est))
    with pytest.raises(ValueError, match="out of range"):
        clone(est).set_params(task_column=9).fit(Xt, y)
    with pytest.raises(TypeError, match="not a DataFrame"):
        clone(est).set_params(task_column="school").fit(Xt, y)
    df = pd.DataFrame(X, columns=list("abcd"))
    with pytest.raises(ValueError, match="task_column='school' is not a column of X"):
        clone(est).set_params(task_column="school").fit(df, y)
    Xn = Xt.copy()
    Xn[4, 0] = np.nan
    with pytest.raises(ValueError, match="task column .* missing value"):
        clone(est).fit(Xn, y)


@pytest.mark.parametrize("est", REGRESSORS, ids=name_of)
def test_long_layout_task_without_labels(est):
    task = np.repeat([0, 1, 2], 10)
    y = Y_REG[:, 0].copy()
    y[task == 1] = np.nan
    with pytest.raises(ValueError, match="Task 1 has no labelled sample"):
        clone(est).set_params(task_column=0).fit(np.column_stack([task, X]), y)


@pytest.mark.parametrize("est", REGRESSORS, ids=name_of)
def test_strings_in_a_regression_target(est):
    Y = Y_REG.astype(object)
    Y[2, 1] = "n/a"
    with pytest.raises(ValueError, match="task 1 holds a non-numeric value 'n/a'"):
        clone(est).fit(X, Y)


@pytest.mark.parametrize("est", CLASSIFIERS, ids=name_of)
def test_continuous_target_in_a_classifier(est):
    with pytest.raises(ValueError, match="Unknown label type"):
        clone(est).fit(X, Y_REG)


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="30 rows in X, 29 in y"):
        SparseRegressor().fit(X, Y_REG[:29])


def test_invalid_parameters():
    with pytest.raises(ValueError, match="'alpha' parameter"):
        SparseRegressor(alpha=-1).fit(X, Y_REG)
    with pytest.raises(ValueError, match="'coupling' parameter"):
        MeanRegularizedRegressor(coupling=-0.5).fit(X, Y_REG)
    with pytest.raises(ValueError, match="'solver' parameter"):
        SparseRegressor(solver="cd").fit(X, Y_REG)
    with pytest.raises(ValueError, match="'eps' parameter"):
        SparseRegressorCV(eps=2.0).fit(X, Y_REG)


def test_failed_refit_keeps_previous_model_consistent():
    est = SparseRegressor(alpha=0.1).fit(X, Y_REG)
    coef = est.coef_.copy()
    Y = Y_REG.copy()
    Y[:, 0] = np.nan
    with pytest.raises(ValueError):
        est.fit(X, Y)
    np.testing.assert_array_equal(est.coef_, coef)
    assert est.predict(X).shape == (30, 3)
