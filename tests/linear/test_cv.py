"""CV estimators of every family: the same choice as GridSearchCV, paths, folds, NaN folds."""

import warnings

import numpy as np
import pytest
from _registry import instances
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
)

from skmtl.linear import (
    LowRankClassifier,
    LowRankClassifierCV,
    LowRankRegressor,
    LowRankRegressorCV,
    MeanRegularizedClassifier,
    MeanRegularizedClassifierCV,
    MeanRegularizedRegressor,
    MeanRegularizedRegressorCV,
    SparseClassifier,
    SparseClassifierCV,
    SparseRegressor,
    SparseRegressorCV,
)
from skmtl.model_selection import TaskStratifiedKFold

TOL = {"tol": 1e-8, "max_iter": 20_000}


def _wide(n=90, p=8, T=3, seed=0, classification=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    W = np.zeros((p, T))
    W[:3] = rng.normal(size=(3, T)) + 1.0
    Y = X @ W + 1.0 * rng.normal(size=(n, T))
    if classification:
        Y = (Y > 0).astype(int)
    return X, Y


CASES = [
    (SparseRegressorCV, SparseRegressor, False, {"alphas": 8}),
    (LowRankRegressorCV, LowRankRegressor, False, {"alphas": 8}),
    (SparseClassifierCV, SparseClassifier, True, {"alphas": 6}),
    (LowRankClassifierCV, LowRankClassifier, True, {"alphas": 6}),
    (MeanRegularizedRegressorCV, MeanRegularizedRegressor, False, {"alphas": 5, "couplings": 4}),
    (MeanRegularizedClassifierCV, MeanRegularizedClassifier, True, {"alphas": 4, "couplings": 3}),
]


@pytest.mark.parametrize("CV,Base,clf,grid", CASES, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("scoring", [None, "neg_mean_absolute_error"])
def test_same_choice_as_grid_search(CV, Base, clf, grid, scoring):
    if clf and scoring is not None:
        pytest.skip("scikit-learn's classification scorers take one label column")
    X, Y = _wide(classification=clf)
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    cv = CV(cv=folds, scoring=scoring, **grid, **TOL).fit(X, Y)
    param_grid = {"alpha": cv.alphas_}
    if hasattr(cv, "couplings_"):
        param_grid["coupling"] = cv.couplings_
    search = GridSearchCV(Base(**TOL), param_grid, cv=folds, scoring=scoring).fit(X, Y)
    means = search.cv_results_["mean_test_score"]
    params = search.cv_results_["params"]

    def mean_of(choice):
        return means[[i for i, p in enumerate(params) if p == choice][0]]

    # the same choice, or a tie: the two choices' scores agree within the solvers' accuracy
    assert mean_of(cv.best_params_) == pytest.approx(search.best_score_, abs=1e-6)
    assert cv.best_score_ == pytest.approx(search.best_score_, abs=1e-6)
    # the whole score path agrees with GridSearchCV's per-split scores
    for i, p in enumerate(params):
        k = int(np.flatnonzero(cv.alphas_ == p["alpha"])[0])
        for f in range(len(folds)):
            split = search.cv_results_[f"split{f}_test_score"][i]
            if hasattr(cv, "couplings_"):
                r = int(np.flatnonzero(cv.couplings_ == p["coupling"])[0])
                mine = cv.scores_[f, r, k]
            else:
                mine = cv.scores_[f, k]
            assert mine == pytest.approx(split, abs=1e-5)
    # refit: the base estimator at the choice
    ref = Base(**cv.best_params_, **TOL).fit(X, Y)
    np.testing.assert_allclose(cv.coef_, ref.coef_, atol=1e-5)


def test_mean_regularized_grid_shapes_and_chosen_pair():
    X, Y = _wide()
    cv = MeanRegularizedRegressorCV(alphas=[1.0, 0.1, 0.01], couplings=[0.0, 1.0, np.inf], cv=3)
    cv.fit(X, Y)
    assert cv.scores_.shape == (3, 3, 3)
    np.testing.assert_allclose(cv.alphas_, [1.0, 0.1, 0.01])
    mean = cv.scores_.mean(axis=0)
    r, k = np.unravel_index(np.argmax(mean), mean.shape)
    assert (cv.coupling_, cv.alpha_) == (cv.couplings_[r], cv.alphas_[k])
    assert cv.best_params_ == {"alpha": cv.alpha_, "coupling": cv.coupling_}


def test_generated_alpha_grid_starts_at_alpha_max():
    X, Y = _wide()
    cv = SparseRegressorCV(alphas=5, cv=3).fit(X, Y)
    assert np.all(np.diff(cv.alphas_) < 0)
    assert np.all(SparseRegressor(alpha=cv.alphas_[0] * (1 + 1e-9)).fit(X, Y).coef_ == 0)
    assert np.any(SparseRegressor(alpha=cv.alphas_[0] * 0.99, tol=1e-10).fit(X, Y).coef_ != 0)
    Xc, Yc = _wide(classification=True)
    cvc = SparseClassifierCV(alphas=4, cv=3).fit(Xc, Yc)
    assert np.all(SparseClassifier(alpha=cvc.alphas_[0] * (1 + 1e-6)).fit(Xc, Yc).coef_ == 0)
    assert np.any(
        SparseClassifier(alpha=cvc.alphas_[0] * 0.9, tol=1e-10).fit(Xc, Yc).coef_ != 0
    )


def test_n_alphas_is_deprecated():
    X, Y = _wide()
    with pytest.warns(FutureWarning, match="n_alphas"):
        cv = SparseRegressorCV(n_alphas=4, cv=3).fit(X, Y)
    assert cv.alphas_.shape == (4,)


def test_refit_false_chooses_only():
    X, Y = _wide()
    cv = SparseRegressorCV(alphas=4, cv=3, refit=False).fit(X, Y)
    assert not hasattr(cv, "coef_")
    assert cv.alpha_ in cv.alphas_


def _long_small_tasks(seed=0):
    rng = np.random.default_rng(seed)
    sizes = [2, 3, 8, 12, 2, 9]
    task = np.repeat(np.arange(len(sizes)), sizes)
    X = rng.normal(size=(len(task), 3))
    y = X @ np.array([1.0, -1.0, 0.5]) + 0.3 * task + 0.2 * rng.normal(size=len(task))
    return np.column_stack([X, task]), y


def test_long_layout_default_folds_keep_every_task_even_small_ones():
    X, y = _long_small_tasks()
    for CV in (SparseRegressorCV, MeanRegularizedRegressorCV):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no NaN fold, no warning
            cv = CV(alphas=4, task_column=-1).fit(X, y)
        assert np.isfinite(cv.scores_).all()
        assert cv.scores_.shape[0] == 5


def test_task_stratified_folds_small_tasks_in_every_training_fold():
    X, _ = _long_small_tasks()
    task = X[:, -1]
    tests = []
    for train, test in TaskStratifiedKFold(5, task_column=-1).split(X):
        assert set(task[train]) == set(task)
        tests.append(test)
    assert sorted(np.concatenate(tests).tolist()) == list(range(len(X)))
    sizes = [len(t) for t in tests]
    assert max(sizes) - min(sizes) <= 1


def test_nan_fold_is_warned_and_excluded():
    # a plain KFold on sorted long data holds whole tasks out: those folds cannot be scored
    X, y = _long_small_tasks()
    with pytest.raises(ValueError, match="No candidate could be scored.*TaskStratifiedKFold"):
        SparseRegressorCV(alphas=3, task_column=-1, cv=KFold(3)).fit(X, y)
    # with unknown_task="mean" every fold is scored
    cv = SparseRegressorCV(alphas=3, task_column=-1, cv=KFold(3), unknown_task="mean").fit(X, y)
    assert np.isfinite(cv.scores_).all()


def test_nan_candidate_excluded_not_chosen():
    from skmtl.linear._cv import _CVMixin

    scores = np.array([[[0.9, 0.5]], [[np.nan, 0.4]]])  # candidate 0 wins fold 0, NaN on fold 1
    with pytest.warns(UserWarning, match="1 of 2 candidates"):
        row, k, best = _CVMixin._choose(scores, [])
    assert (row, k) == (0, 1) and best == pytest.approx(0.45)


@pytest.mark.parametrize(
    "est",
    [
        SparseRegressorCV(alphas=4, tol=1e-12, max_iter=100_000),
        LowRankRegressorCV(alphas=4, tol=1e-12, max_iter=100_000),
        MeanRegularizedRegressorCV(
            alphas=[1.0, 0.3, 0.1], couplings=3, tol=1e-12, max_iter=100_000
        ),
        SparseClassifierCV(alphas=3, tol=1e-12, max_iter=100_000),
    ],
    ids=lambda e: type(e).__name__,
)
def test_cv_sample_weight_equivalence(est):
    # weights go to each fold's fit, to the held-out scores and to the refit
    check_sample_weight_equivalence_on_dense_data(type(est).__name__, est)


@pytest.mark.parametrize("kind", ["reg_nan", "reg_single", "clf_multiclass", "clf_strings"])
def test_fast_own_score_equals_score(kind):
    from skmtl.linear._cv import _OwnScore

    rng = np.random.default_rng(9)
    X = rng.normal(size=(60, 4))
    w = rng.uniform(0.5, 2.0, size=60)
    if kind.startswith("reg"):
        Y = X @ rng.normal(size=(4, 3)) + rng.normal(size=(60, 3))
        if kind == "reg_nan":
            Y[::5, 1] = np.nan
        else:
            Y = Y[:, 0]
        est = SparseRegressor(alpha=0.05).fit(X[:40], Y[:40] if Y.ndim == 1 else Y[:40])
    else:
        Y = np.column_stack([np.digitize(X[:, 0] + 0.3 * k * X[:, 1], [-0.5, 0.5]) for k in (0, 1)])
        if kind == "clf_strings":
            Y = np.where(Y == 0, "a", np.where(Y == 1, "b", "c")).astype(object)
            Y[3, 1] = None
        est = SparseClassifier(alpha=0.01).fit(X[:40], Y[:40])
    fast = _OwnScore.build(est, X[40:], Y[40:], w[40:])
    W = np.atleast_2d(est.coef_).T
    b = np.atleast_1d(est.intercept_)
    assert fast(W, b) == pytest.approx(est.score(X[40:], Y[40:], sample_weight=w[40:]), abs=1e-12)


@pytest.mark.parametrize("coupling", [0.0, 0.5, np.inf])
def test_mean_ridge_closed_form_equals_solver(coupling):
    from skmtl.linear._cv import _MeanRidgeClosedForm

    X, Y = _wide()
    est = MeanRegularizedRegressor(alpha=0.05, coupling=coupling, tol=1e-12, max_iter=100_000)
    est.fit(X, Y)
    design, targets, meta = est._prepare(X, Y)
    datafit, _ = est._build_datafit(design, targets)
    closed = _MeanRidgeClosedForm.build(datafit, est._penalty(meta["n_tasks"], meta["widths"]))
    np.testing.assert_allclose(closed(0.05, coupling).T, est.coef_, rtol=1e-8, atol=1e-10)


_CV_REGRESSORS = [est for est in instances("quick", select="regressor")
                  if type(est).__name__.endswith("CV")]


@pytest.mark.parametrize("est", _CV_REGRESSORS, ids=lambda e: type(e).__name__)
def test_pandas_na_in_nullable_targets_is_a_missing_label_in_every_fold(est):
    """A nullable ``Float64`` frame with ``pd.NA`` scores every fold as the same frame with NaN
    (the held-out labels went through ``float()`` before: a TypeError naming no task)."""
    pd = pytest.importorskip("pandas")
    X, Y = _wide(n=60, p=4, T=3, seed=3)
    Y_nan = pd.DataFrame(Y, columns=["a", "b", "c"])
    Y_nan.iloc[[2, 17], 0] = np.nan
    Y_nan.iloc[[5, 40], 2] = np.nan
    Y_na = Y_nan.astype("Float64")
    assert Y_na.isna().to_numpy().sum() == 4 and Y_na.dtypes.iloc[0] == "Float64"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = clone(est).fit(X, Y_na)
        b = clone(est).fit(X, Y_nan)
    np.testing.assert_allclose(a.scores_, b.scores_, rtol=1e-12, equal_nan=True)
    assert np.isfinite(a.scores_).all()
