"""Wide and long layouts, labels, pipelines and searches."""

import numpy as np
import pandas as pd
import pytest
from _registry import instances, name_of
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl.linear import (
    LowRankRegressor,
    LowRankRegressorCV,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    SparseClassifier,
    SparseRegressor,
    SparseRegressorCV,
)

REGRESSORS = instances("layout", select="regressor")
CLASSIFIERS = instances("layout", select="classifier")


def _long_problem(seed=0, T=4, p=5, classification=False):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(20, 40, size=T)
    task = np.repeat(np.arange(T), sizes)
    rng.shuffle(task)
    n = task.size
    X = rng.normal(size=(n, p))
    W = rng.normal(size=(p, 1)) + 0.3 * rng.normal(size=(p, T))
    z = np.einsum("ij,ji->i", X, W[:, task]) + 0.3 * rng.normal(size=n)
    y = (z > np.median(z)).astype(int) if classification else z
    return X, y, task


@pytest.mark.parametrize("est", REGRESSORS + CLASSIFIERS, ids=name_of)
def test_long_layout_equals_wide_layout_with_missing_labels(est):
    """Each task with its own rows (long) is the wide problem on the stacked rows where every
    row is labelled for its own task only."""
    est = clone(est)
    clf = is_classifier(est)
    X, y, task = _long_problem(classification=clf)
    T = task.max() + 1
    Y = np.full((len(y), T), np.nan)
    Y[np.arange(len(y)), task] = y
    est.set_params(tol=1e-11, max_iter=50000)
    wide = est.fit(X, Y)
    coef_wide = wide.coef_.copy()
    pred_wide = wide.predict(X)
    long = est.set_params(task_column=0).fit(np.column_stack([task, X]), y)
    assert_allclose(long.coef_, coef_wide, atol=1e-7)
    pred_long = long.predict(np.column_stack([task, X]))
    assert pred_long.shape == (len(y),)
    assert_array_equal(pred_long, pred_wide[np.arange(len(y)), task]) if clf else assert_allclose(
        pred_long, pred_wide[np.arange(len(y)), task], atol=1e-8
    )


def test_long_layout_with_dataframe_and_string_tasks():
    X, y, task = _long_problem(seed=1)
    names = np.array(["north", "south", "east", "west"])[task]
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    df.insert(2, "region", names)
    est = MeanRegularizedRegressor(alpha=0.1, task_column="region").fit(df, y)
    assert list(est.tasks_) == ["east", "north", "south", "west"]
    assert est.n_features_in_ == X.shape[1]
    assert list(est.feature_names_in_) == [f"f{j}" for j in range(X.shape[1])]
    # the column may also be given by position
    by_pos = MeanRegularizedRegressor(alpha=0.1, task_column=2).fit(df, y)
    assert_allclose(by_pos.coef_, est.coef_)
    # rows in any order predict the same
    perm = np.random.default_rng(0).permutation(len(y))
    assert_allclose(est.predict(df.iloc[perm]), est.predict(df)[perm])


def test_unknown_task_at_predict_is_a_clear_error():
    X, y, task = _long_problem(seed=2)
    est = SparseRegressor(alpha=0.05, task_column=0).fit(np.column_stack([task, X]), y)
    Xnew = np.column_stack([np.full(3, 17), X[:3]])
    msg = r"Task label\(s\) \[17\].*not seen in fit.*TaskStratifiedKFold"
    with pytest.raises(ValueError, match=msg):
        est.predict(Xnew)


def test_long_layout_in_pipeline_with_column_transformer_and_grid_search():
    X, y, task = _long_problem(seed=3, T=5)
    df = pd.DataFrame(X * 10 + 3, columns=[f"f{j}" for j in range(X.shape[1])])
    df["task"] = task
    features = [c for c in df.columns if c != "task"]
    scale = ColumnTransformer(
        [("scale", StandardScaler(), features)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    pipe = make_pipeline(scale, MeanRegularizedRegressor(task_column="task"))
    folds = list(StratifiedKFold(3).split(df, task))
    search = GridSearchCV(
        pipe,
        {
            "meanregularizedregressor__alpha": [0.01, 0.1],
            "meanregularizedregressor__coupling": [0.1, 10.0],
        },
        cv=folds,
        scoring="neg_mean_absolute_error",
    ).fit(df, y)
    assert search.best_score_ < 0
    assert search.predict(df).shape == (len(y),)
    # the pipeline's result equals scaling by hand then fitting
    best = search.best_estimator_[-1]
    Xs = StandardScaler().fit_transform(df[features])
    direct = MeanRegularizedRegressor(
        alpha=best.alpha, coupling=best.coupling, task_column=Xs.shape[1]
    ).fit(np.column_stack([Xs, task]), y)
    assert_allclose(best.coef_, direct.coef_, atol=1e-8)


def test_long_layout_classifier_with_any_scorer():
    X, y, task = _long_problem(seed=4, classification=True)
    labels = np.array(["lo", "hi"])[y]
    Xt = np.column_stack([task, X])
    folds = list(StratifiedKFold(3).split(Xt, task))
    search = GridSearchCV(
        SparseClassifier(task_column=0), {"alpha": [0.005, 0.05]}, cv=folds, scoring="neg_log_loss"
    ).fit(Xt, labels)
    est = search.best_estimator_
    assert list(est.classes_) == ["hi", "lo"]
    proba = est.predict_proba(Xt)
    assert proba.shape == (len(y), 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert set(est.predict(Xt)) <= {"hi", "lo"}
    roc = GridSearchCV(
        SparseClassifier(task_column=0), {"alpha": [0.01]}, cv=folds, scoring="roc_auc"
    ).fit(Xt, labels)
    assert roc.best_score_ > 0.5


def test_long_layout_tasks_with_different_class_sets():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 3))
    task = np.repeat([0, 1], 100)
    y = np.where(
        task == 0, np.where(X[:, 0] > 0, "a", "b"), np.array(["a", "b", "c"])[np.argmax(X, axis=1)]
    )
    est = SparseClassifier(alpha=0.01, task_column=0).fit(np.column_stack([task, X]), y)
    assert list(est.classes_) == ["a", "b", "c"]
    assert [list(c) for c in est.task_classes_] == [["a", "b"], ["a", "b", "c"]]
    proba = est.predict_proba(np.column_stack([task, X]))
    assert_allclose(proba[task == 0, 2], 0.0)  # task 0 never saw "c"
    assert_allclose(proba.sum(axis=1), 1.0)
    assert est.coef_.shape == (1 + 3, 3)


@pytest.mark.parametrize("est", CLASSIFIERS, ids=name_of)
def test_string_labels_and_missing_labels_wide(est):
    est = clone(est)
    rng = np.random.default_rng(6)
    X = rng.normal(size=(150, 4))
    Y = np.empty((150, 3), dtype=object)
    Y[:, 0] = np.where(X[:, 0] > 0, "yes", "no")
    Y[:, 1] = np.where(X[:, 1] + X[:, 0] > 0, "spam", "ham")
    Y[:, 2] = np.where(X[:, 2] > 0, 1, 0)
    Y[::7, 1] = None
    Y[::5, 0] = np.nan
    est.fit(X, Y)
    assert [list(c) for c in est.classes_] == [["no", "yes"], ["ham", "spam"], [0, 1]]
    pred = est.predict(X)
    assert pred.shape == (150, 3)
    assert est.score(X, Y) > 0.8
    probas = est.predict_proba(X)
    assert len(probas) == 3 and all(p.shape == (150, 2) for p in probas)


def test_multiclass_tasks_need_equal_widths_for_mean_regularisation():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(90, 3))
    Y = np.column_stack([np.argmax(X, axis=1), (X[:, 0] > 0).astype(int)])
    with pytest.raises(ValueError, match="same number of outputs"):
        MeanRegularizedClassifier().fit(X, Y)
    assert not hasattr(MeanRegularizedClassifier(), "coef_")


@pytest.mark.parametrize("est", REGRESSORS, ids=name_of)
def test_single_task_is_an_ordinary_regressor(est):
    est = clone(est)
    rng = np.random.default_rng(8)
    X = rng.normal(size=(50, 4))
    y = X @ np.array([1.0, 0.0, -1.0, 2.0]) + 0.1 * rng.normal(size=50)
    est.fit(X, y)
    assert est.coef_.shape == (4,)
    assert np.ndim(est.intercept_) == 0
    assert est.predict(X).shape == (50,)
    assert est.score(X, y) > 0.9


def test_single_task_mean_regularized_is_ridge():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, 2.0, 3.0]) + rng.normal(size=40)
    est = MeanRegularizedRegressor(alpha=0.2, coupling=7.0, tol=1e-12, max_iter=10000).fit(X, y)
    # with one task the deviation from the mean is zero: coupling plays no role
    assert_allclose(est.coef_, Ridge(alpha=0.2 * 40).fit(X, y).coef_, atol=1e-8)


def test_warm_start_reuses_the_solution():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(100, 30))
    Y = X[:, :3] @ rng.normal(size=(3, 4)) + 0.1 * rng.normal(size=(100, 4))
    est = LowRankRegressor(alpha=0.05, tol=1e-10, warm_start=True).fit(X, Y)
    first = est.coef_.copy()
    est.fit(X, Y)
    assert est.n_iter_ <= 10
    assert_allclose(est.coef_, first, atol=1e-6)
    cold = LowRankRegressor(alpha=0.05, tol=1e-10).fit(X, Y)
    assert cold.n_iter_ > est.n_iter_


@pytest.mark.parametrize("est", REGRESSORS + CLASSIFIERS, ids=name_of)
def test_float32_stays_float32(est):
    est = clone(est)
    rng = np.random.default_rng(11)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) if is_classifier(est) else X[:, 0] * 2
    est.fit(X, y)
    assert est.coef_.dtype == np.float32
    if not is_classifier(est):
        assert est.predict(X).dtype == np.float32


def test_max_iter_reached_warns_and_reports():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(80, 20))
    Y = X @ rng.normal(size=(20, 3))
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=2"):
        est = LowRankRegressor(alpha=1e-3, tol=1e-12, max_iter=2).fit(X, Y)
    assert est.n_iter_ == 2
    assert est.dual_gap_ > 0


def test_tol_is_relative_to_the_scale_of_y():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(80, 10))
    Y = X @ rng.normal(size=(10, 3)) + rng.normal(size=(80, 3))
    a = SparseRegressor(alpha=0.1, tol=1e-6).fit(X, Y)
    b = SparseRegressor(alpha=0.1 * 1000, tol=1e-6).fit(X, Y * 1000)
    assert_allclose(b.coef_, 1000 * a.coef_, rtol=1e-6, atol=1e-6)
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize(
    "CV,Base", [(SparseRegressorCV, SparseRegressor), (LowRankRegressorCV, LowRankRegressor)]
)
def test_cv_estimators_choose_by_held_out_error(CV, Base):
    rng = np.random.default_rng(14)
    X = rng.normal(size=(90, 12))
    Y = X[:, :3] @ rng.normal(size=(3, 4)) + 0.5 * rng.normal(size=(90, 4))
    folds = list(StratifiedKFold(3).split(X, np.arange(90) % 3))
    cv = CV(alphas=8, cv=folds, scoring="neg_mean_squared_error", tol=1e-8).fit(X, Y)
    assert cv.alphas_.shape == (8,) and np.all(np.diff(cv.alphas_) < 0)
    assert cv.mse_path_.shape == (8, 3)
    # recompute one entry of the path by hand
    k = 5
    train, test = folds[1]
    m = Base(alpha=cv.alphas_[k], tol=1e-10).fit(X[train], Y[train])
    assert_allclose(np.mean((m.predict(X[test]) - Y[test]) ** 2), cv.mse_path_[k, 1], rtol=1e-4)
    assert cv.alpha_ == cv.alphas_[np.argmin(cv.mse_path_.mean(axis=1))]
    refit = Base(alpha=cv.alpha_, tol=1e-8).fit(X, Y)
    assert_allclose(cv.coef_, refit.coef_, atol=1e-6)
    # the first alpha is alpha_max: everything zero
    zero = Base(alpha=cv.alphas_[0] * (1 + 1e-9)).fit(X, Y)
    assert np.all(zero.coef_ == 0)


def test_cv_long_layout_stratifies_on_task():
    from skmtl.datasets import load_school

    X, y = load_school(return_X_y=True)
    keep = X[:, -1] < 6
    cv = SparseRegressorCV(alphas=5, task_column=-1).fit(X[keep], y[keep])
    assert cv.mse_path_.shape == (5, 5)
    assert cv.n_tasks_ == 6


@pytest.mark.parametrize("est", REGRESSORS + CLASSIFIERS, ids=name_of)
def test_score_leaves_out_missing_labels_of_any_kind(est):
    """``score`` is over the labelled samples whatever marks a missing label (NaN, None,
    pandas' NA), in one task as in several: the same number as on the labelled rows alone."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    z = X @ np.array([1.0, -1.0, 0.5]) + 0.3 * rng.normal(size=40)
    clf = is_classifier(est)
    y = np.where(z > 0, "yes", "no").astype(object) if clf else z
    Y = np.column_stack([y, y[::-1]])
    model = clone(est).fit(X, Y)
    holes = [3, 11, 30]
    if clf:
        missing = pd.DataFrame(Y, columns=["a", "b"], dtype=object)
        missing.iloc[holes, 0] = None
    else:
        missing = pd.DataFrame(Y, columns=["a", "b"]).astype("Float64")
        missing.iloc[holes, 0] = pd.NA
    keep = np.setdiff1d(np.arange(40), holes)
    got = model.score(X, missing)
    # task a on its labelled rows, task b on all of them
    pred = model.predict(X)
    if clf:
        acc_a = np.mean(pred[keep, 0] == Y[keep, 0])
        acc_b = np.mean(pred[:, 1] == Y[:, 1])
        assert got == pytest.approx((acc_a + acc_b) / 2, rel=1e-12)
    else:
        from sklearn.metrics import r2_score

        r2 = (r2_score(Y[keep, 0], pred[keep, 0]) + r2_score(Y[:, 1], pred[:, 1])) / 2
        assert got == pytest.approx(r2, rel=1e-12)
    # one task: a 1-D y with the same holes
    single = clone(est).fit(X, y)
    y_missing = missing["a"]
    want = single.score(X[keep], y[keep])
    assert single.score(X, y_missing) == pytest.approx(want, rel=1e-12)
