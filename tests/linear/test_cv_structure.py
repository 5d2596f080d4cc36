"""CV estimators of the task-structure families: the same choice and scores as GridSearchCV over
the same grid and folds, sample weights against a hand-written fold loop, the long layout."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from skmtl.linear import (
    DirtyClassifier,
    DirtyClassifierCV,
    DirtyRegressor,
    DirtyRegressorCV,
    GraphRegularizedClassifier,
    GraphRegularizedClassifierCV,
    GraphRegularizedRegressor,
    GraphRegularizedRegressorCV,
    RobustLowRankClassifier,
    RobustLowRankClassifierCV,
    RobustLowRankRegressor,
    RobustLowRankRegressorCV,
    TaskRelationClassifier,
    TaskRelationClassifierCV,
    TaskRelationRegressor,
    TaskRelationRegressorCV,
)
from skmtl.model_selection import TaskStratifiedKFold

TOL = {"tol": 1e-9, "max_iter": 50_000}
GRAPH = [(0, 1), (1, 2)]


def _wide(n=90, p=6, T=3, seed=0, classification=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    W = np.zeros((p, T))
    W[:3] = rng.normal(size=(3, 1)) + 0.3 * rng.normal(size=(3, T))
    W[4, 0] = 1.5
    Y = X @ W + 1.0 * rng.normal(size=(n, T))
    if classification:
        Y = (Y > 0).astype(int)
    return X, Y


CASES = [
    (GraphRegularizedRegressorCV, GraphRegularizedRegressor, False,
     {"alphas": 4, "couplings": 3, "task_graph": GRAPH}),
    (GraphRegularizedClassifierCV, GraphRegularizedClassifier, True,
     {"alphas": 3, "couplings": 3, "task_graph": GRAPH}),
    (TaskRelationRegressorCV, TaskRelationRegressor, False, {"alphas": 4, "couplings": 3}),
    (TaskRelationClassifierCV, TaskRelationClassifier, True, {"alphas": 3, "couplings": 2}),
    (DirtyRegressorCV, DirtyRegressor, False, {"alphas": 5, "ratios": 3}),
    (DirtyClassifierCV, DirtyClassifier, True, {"alphas": 3, "ratios": 2}),
    (RobustLowRankRegressorCV, RobustLowRankRegressor, False, {"alphas": 5, "ratios": 3}),
    (RobustLowRankClassifierCV, RobustLowRankClassifier, True, {"alphas": 3, "ratios": 2}),
]
_ids = [c[0].__name__ for c in CASES]


def _grid_of(cv):
    """The candidates of a fitted CV estimator, as base-estimator parameters, in its order."""
    if hasattr(cv, "ratios_"):
        rows = [(r, {"ratio": r}) for r in cv.ratios_]
        return [
            (i, k, {"alpha": a, "beta": r * a})
            for i, (r, _) in enumerate(rows) for k, a in enumerate(cv.alphas_)
        ]
    return [
        (i, k, {"alpha": a, "coupling": c})
        for i, c in enumerate(cv.couplings_) for k, a in enumerate(cv.alphas_)
    ]


def _base_params(grid):
    return {k: v for k, v in grid.items() if k in ("task_graph",)}


@pytest.mark.parametrize("CV,Base,clf,grid", CASES, ids=_ids)
@pytest.mark.parametrize("scoring", [None, "neg_mean_absolute_error"])
def test_same_choice_and_scores_as_grid_search(CV, Base, clf, grid, scoring):
    if clf and scoring is not None:
        pytest.skip("scikit-learn's classification scorers take one label column")
    X, Y = _wide(classification=clf)
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    cv = CV(cv=folds, scoring=scoring, **grid, **TOL).fit(X, Y)
    cands = _grid_of(cv)
    param_grid = [{name: [v] for name, v in p.items()} for _, _, p in cands]
    search = GridSearchCV(
        Base(**_base_params(grid), **TOL), param_grid, cv=folds, scoring=scoring
    ).fit(X, Y)
    means = search.cv_results_["mean_test_score"]
    # the same choice, or a tie within the solvers' accuracy
    chosen = [j for j, (_, _, p) in enumerate(cands) if p == cv.best_params_]
    assert len(chosen) == 1
    assert means[chosen[0]] == pytest.approx(search.best_score_, abs=1e-6)
    assert cv.best_score_ == pytest.approx(search.best_score_, abs=1e-6)
    # every candidate's held-out score on every fold agrees with GridSearchCV's
    for j, (i, k, _) in enumerate(cands):
        for f in range(len(folds)):
            split = search.cv_results_[f"split{f}_test_score"][j]
            assert cv.scores_[f, i, k] == pytest.approx(split, abs=1e-5)
    # the refit is the base estimator at the choice
    ref = Base(**_base_params(grid), **cv.best_params_, **TOL).fit(X, Y)
    np.testing.assert_allclose(cv.coef_, ref.coef_, atol=1e-5)


@pytest.mark.parametrize("CV,Base,clf,grid", CASES, ids=_ids)
def test_sample_weight_against_a_fold_loop(CV, Base, clf, grid):
    """Weights in every fold's fit and score: a plain loop over folds and candidates."""
    X, Y = _wide(classification=clf, seed=1)
    # (seed 4: no task's weighted classes exactly balanced, where W = 0 predicts a coin flip)
    sw = np.random.default_rng(4).integers(0, 4, size=X.shape[0]).astype(float)
    folds = list(KFold(3, shuffle=True, random_state=1).split(X))
    cv = CV(cv=folds, **grid, **TOL).fit(X, Y, sample_weight=sw)
    base = Base(**_base_params(grid), **TOL)
    for i, k, params in _grid_of(cv):
        for f, (train, test) in enumerate(folds):
            est = clone(base).set_params(**params).fit(X[train], Y[train], sample_weight=sw[train])
            expected = est.score(X[test], Y[test], sample_weight=sw[test])
            assert cv.scores_[f, i, k] == pytest.approx(expected, abs=1e-5)
    ref = clone(base).set_params(**cv.best_params_).fit(X, Y, sample_weight=sw)
    np.testing.assert_allclose(cv.coef_, ref.coef_, atol=1e-5)


def test_split_grid_ratios_and_alpha_max():
    X, Y = _wide(T=4)
    cv = DirtyRegressorCV(alphas=4, ratios=3, cv=3).fit(X, Y)
    # 1 (L2,1 alone), T ** -0.25 (the default ratio), T ** -0.5 (L1 alone)
    np.testing.assert_allclose(cv.ratios_, [1.0, 4 ** -0.25, 0.5])
    assert cv.best_params_ == {"alpha": cv.alpha_, "beta": cv.ratio_ * cv.alpha_}
    assert cv.beta_ == pytest.approx(cv.ratio_ * cv.alpha_)
    # the first alpha gives W = 0 at every ratio, and is the smallest that does at one of them
    a0 = cv.alphas_[0]
    zero = [np.all(DirtyRegressor(alpha=a0, beta=r * a0).fit(X, Y).coef_ == 0)
            for r in cv.ratios_]
    assert all(zero)
    below = [np.any(DirtyRegressor(alpha=0.99 * a0, beta=0.99 * r * a0, tol=1e-10)
                    .fit(X, Y).coef_ != 0) for r in cv.ratios_]
    assert any(below)
    # one task: a single ratio
    cv1 = RobustLowRankRegressorCV(alphas=3, cv=3).fit(X, Y[:, 0])
    np.testing.assert_allclose(cv1.ratios_, [1.0])


def test_explicit_grids_and_their_errors():
    X, Y = _wide()
    cv = TaskRelationRegressorCV(alphas=[0.1, 0.01], couplings=[0.0, 0.05], cv=3).fit(X, Y)
    np.testing.assert_allclose(cv.couplings_, [0.0, 0.05])
    assert cv.scores_.shape == (3, 2, 2)
    with pytest.raises(ValueError, match="couplings must be finite"):
        TaskRelationRegressorCV(couplings=[0.0, np.inf], cv=3).fit(X, Y)
    with pytest.raises(ValueError, match="ratios must be positive"):
        DirtyRegressorCV(ratios=[0.5, -1.0], cv=3).fit(X, Y)
    with pytest.raises(ValueError, match="alphas must be > 0"):
        DirtyRegressorCV(alphas=[0.1, 0.0], cv=3).fit(X, Y)
    # graph: the generated grid has 0 and inf; inf is left out with an L1 term
    g = GraphRegularizedRegressorCV(alphas=2, couplings=3, cv=3).fit(X, Y)
    assert g.couplings_[0] == 0 and np.isinf(g.couplings_[-1])
    g1 = GraphRegularizedRegressorCV(alphas=2, couplings=3, l1_ratio=0.5, cv=3).fit(X, Y)
    assert np.all(np.isfinite(g1.couplings_)) and g1.couplings_.shape == (2,)


def _long(seed=0):
    rng = np.random.default_rng(seed)
    sizes = [3, 5, 12, 9]
    task = np.repeat(np.arange(len(sizes)), sizes)
    X = rng.normal(size=(len(task), 3))
    y = X @ np.array([1.0, -1.0, 0.5]) + 0.3 * task + 0.2 * rng.normal(size=len(task))
    return np.column_stack([X, task]), y


@pytest.mark.parametrize(
    "CV", [GraphRegularizedRegressorCV, TaskRelationRegressorCV, DirtyRegressorCV,
           RobustLowRankRegressorCV], ids=lambda c: c.__name__,
)
def test_long_layout_uses_task_stratified_folds(CV):
    X, y = _long()
    grid = {"ratios": 2} if "ratios" in CV().get_params() else {"couplings": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NaN fold, no warning
        cv = CV(alphas=3, task_column=-1, cv=3, **grid, **TOL).fit(X, y)
    assert np.isfinite(cv.scores_).all()
    # the same numbers as an explicit TaskStratifiedKFold
    folds = list(TaskStratifiedKFold(3, task_column=-1).split(X))
    ref = CV(alphas=cv.alphas_, task_column=-1, cv=folds, **grid, **TOL).fit(X, y)
    np.testing.assert_allclose(cv.scores_, ref.scores_)
    assert cv.best_params_ == ref.best_params_


def test_rowwise_logsumexp_matches_scipy():
    from scipy.special import logsumexp

    from skmtl.linear._datafits import _logsumexp_rows

    rng = np.random.default_rng(0)
    for scale in (1.0, 50.0, 800.0):  # 800: exp overflows without the row maxima
        z = scale * rng.normal(size=(40, 4))
        np.testing.assert_allclose(_logsumexp_rows(z), logsumexp(z, axis=1), rtol=1e-13)
