"""Tasks not seen in fit (long layout): the error, and unknown_task="mean"."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold

from skmtl.linear import (
    LowRankClassifier,
    LowRankRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    SparseClassifier,
    SparseRegressor,
)
from skmtl.model_selection import TaskStratifiedKFold

TIGHT = {"tol": 1e-12, "max_iter": 100_000}


def _long(T=4, n=15, p=3, seed=0, classification=False):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=p)
    task = np.repeat(np.arange(T), n)
    X = rng.normal(size=(T * n, p))
    W = w[:, None] + 0.3 * rng.normal(size=(p, T))
    y = np.einsum("ij,ji->i", X, W[:, task]) + 0.5 * task + 0.1 * rng.normal(size=T * n)
    if classification:
        y = (y > np.median(y)).astype(int)
    return np.column_stack([task, X]), y


REGRESSORS = [
    MeanRegularizedRegressor(alpha=0.1, coupling=1.0),
    LowRankRegressor(alpha=0.01),
    SparseRegressor(alpha=0.01),
]
CLASSIFIERS = [
    MeanRegularizedClassifier(alpha=0.1, coupling=1.0),
    LowRankClassifier(alpha=0.01),
    SparseClassifier(alpha=0.01),
]


@pytest.mark.parametrize("est", REGRESSORS + CLASSIFIERS, ids=lambda e: type(e).__name__)
def test_unseen_task_error_names_task_and_splitter(est):
    X, y = _long(classification=est._is_classifier)
    est = est.set_params(task_column=0).fit(X, y)
    X_new = X[:3].copy()
    X_new[:, 0] = 99
    msg = r"\[99\] in task column 0 were not seen in fit.*TaskStratifiedKFold"
    with pytest.raises(ValueError, match=msg):
        est.predict(X_new)


@pytest.mark.parametrize("est", REGRESSORS, ids=lambda e: type(e).__name__)
def test_mean_regressors_predict_new_task_with_average_model(est):
    X, y = _long()
    est = est.set_params(task_column=0, unknown_task="mean").fit(X, y)
    X_new = X[:5].copy()
    X_new[:, 0] = 99
    T = est.n_tasks_
    coef = est.coef_.T
    factor = 1.0
    if isinstance(est, MeanRegularizedRegressor):
        factor = est.coupling / (est.alpha + est.coupling)
    expected = X_new[:, 1:] @ (factor * coef.mean(axis=1)) + est.intercept_.mean()
    np.testing.assert_allclose(est.predict(X_new), expected)
    # known tasks are unchanged, in a mixed batch too
    mixed = np.vstack([X[:4], X_new])
    known = est.predict(X[:4])
    np.testing.assert_allclose(est.predict(mixed), np.r_[known, expected])
    assert T == 4


@pytest.mark.parametrize("coupling", [0.3, 2.0])
def test_mean_regularized_population_is_hierarchical_shared_vector(coupling):
    # direct solve of the hierarchical form: sum_t 1/(2 n_t) ||y_t - X_t w_t - b_t||^2
    # + l0/2 ||w_0||^2 + l1/2 sum_t ||w_t - w_0||^2, l1 = alpha + c, l0 = T alpha (alpha + c) / c
    X, y = _long(T=3, n=12)
    alpha, T, p = 0.2, 3, 3
    task = X[:, 0].astype(int)
    l1 = alpha + coupling
    l0 = T * alpha * (alpha + coupling) / coupling
    # unknowns: w_1..w_T (T p), b_1..b_T (T), w_0 (p): one linear least-squares problem
    n_var = T * p + T + p
    rows, rhs = [], []
    for t in range(T):
        Xt, yt = X[task == t, 1:], y[task == t]
        s = 1.0 / np.sqrt(len(yt))
        A = np.zeros((len(yt), n_var))
        A[:, t * p : (t + 1) * p] = s * Xt
        A[:, T * p + t] = s
        rows.append(A)
        rhs.append(s * yt)
        B = np.zeros((p, n_var))
        B[:, t * p : (t + 1) * p] = np.sqrt(l1) * np.eye(p)
        B[:, T * p + T :] = -np.sqrt(l1) * np.eye(p)
        rows.append(B)
        rhs.append(np.zeros(p))
    C = np.zeros((p, n_var))
    C[:, T * p + T :] = np.sqrt(l0) * np.eye(p)
    rows.append(C)
    rhs.append(np.zeros(p))
    theta = np.linalg.lstsq(np.vstack(rows), np.concatenate(rhs), rcond=None)[0]
    W_ref = theta[: T * p].reshape(T, p)
    w0_ref = theta[T * p + T :]

    est = MeanRegularizedRegressor(
        alpha=alpha, coupling=coupling, task_column=0, unknown_task="mean", **TIGHT
    ).fit(X, y)
    np.testing.assert_allclose(est.coef_, W_ref, rtol=1e-7, atol=1e-9)
    Wp, _ = est._population_model()
    np.testing.assert_allclose(Wp[:, 0], w0_ref, rtol=1e-7, atol=1e-9)
    # and through predict
    X_new = np.column_stack([np.full(2, -1), X[:2, 1:]])
    np.testing.assert_allclose(
        est.predict(X_new), X[:2, 1:] @ w0_ref + est.intercept_.mean(), rtol=1e-7
    )


@pytest.mark.parametrize("est", CLASSIFIERS, ids=lambda e: type(e).__name__)
def test_classifiers_predict_new_task(est):
    X, y = _long(classification=True)
    est = est.set_params(task_column=0, unknown_task="mean").fit(X, y)
    X_new = X[:6].copy()
    X_new[:, 0] = 42
    proba = est.predict_proba(X_new)
    Wp, bp = est._population_model()
    z = X_new[:, 1:] @ Wp[:, 0] + bp[0]
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)))
    np.testing.assert_array_equal(est.predict(X_new), est.classes_[(z > 0).astype(int)])
    dec = est.decision_function(X_new)
    np.testing.assert_allclose(dec, z)


def test_classifier_new_task_needs_shared_label_sets():
    X, y = _long(classification=True)
    task = X[:, 0]
    y = y.astype(str).astype(object)
    y[task == 1] = np.where(y[task == 1] == "1", "b", "c")
    est = SparseClassifier(alpha=0.01, task_column=0, unknown_task="mean").fit(X, y)
    X_new = X[:2].copy()
    X_new[:, 0] = 7
    with pytest.raises(ValueError, match="same classes.*task 1"):
        est.predict(X_new)


def test_grid_search_plain_kfold_vs_task_stratified():
    # small tasks: a shuffled KFold leaves some task out of a training fold, scores are NaN
    rng = np.random.default_rng(3)
    T, n = 12, 3
    task = np.repeat(np.arange(T), n)
    X = np.column_stack([task, rng.normal(size=(T * n, 2))])
    y = X[:, 1] + 0.1 * rng.normal(size=T * n)
    est = MeanRegularizedRegressor(task_column=0)
    grid = {"alpha": [0.01, 0.1]}
    with pytest.warns(UserWarning, match="TaskStratifiedKFold"):
        GridSearchCV(est, grid, cv=KFold(3, shuffle=True, random_state=0)).fit(X, y)
    search = GridSearchCV(est, grid, cv=TaskStratifiedKFold(3, task_column=0)).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # with unknown_task="mean" a plain KFold scores every split
    search = GridSearchCV(
        est.set_params(unknown_task="mean"), grid, cv=KFold(3, shuffle=True, random_state=0)
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_unknown_task_parameter_validated():
    X, y = _long()
    with pytest.raises(ValueError, match="unknown_task"):
        SparseRegressor(task_column=0, unknown_task="zero").fit(X, y)
