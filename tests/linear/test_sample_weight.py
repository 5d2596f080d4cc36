"""Sample weights and task weights of the linear estimators: references and equivalences."""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import Lasso, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
    check_sample_weight_equivalence_on_sparse_data,
)

from skmtl.linear import (
    LowRankClassifier,
    LowRankRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    SparseClassifier,
    SparseRegressor,
)

TIGHT = {"tol": 1e-12, "max_iter": 100_000}

TIGHT_ESTIMATORS = [
    MeanRegularizedRegressor(**TIGHT),
    MeanRegularizedClassifier(**TIGHT),
    LowRankRegressor(alpha=0.1, **TIGHT),
    LowRankClassifier(alpha=0.01, **TIGHT),
    SparseRegressor(alpha=0.1, **TIGHT),
    SparseRegressor(alpha=0.1, solver="fista", **TIGHT),
    SparseRegressor(**TIGHT),  # the default alpha (relative to alpha_max) too
    SparseClassifier(alpha=0.01, **TIGHT),
]


@pytest.mark.parametrize("est", TIGHT_ESTIMATORS, ids=lambda e: repr(e))
@pytest.mark.parametrize(
    "check",
    [check_sample_weight_equivalence_on_dense_data, check_sample_weight_equivalence_on_sparse_data],
)
def test_sklearn_sample_weight_equivalence(est, check):
    # scikit-learn compares to 1e-7: the solver must be run to a tight tolerance
    check(type(est).__name__, est)


def _data(n=40, p=5, T=3, seed=0, classification=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    W = rng.normal(size=(p, T))
    Y = X @ W + 0.3 * rng.normal(size=(n, T))
    if classification:
        Y = (Y > 0).astype(int)
    return X, Y


@pytest.mark.parametrize("sparse", [False, True])
def test_mean_regularized_coupling0_equals_weighted_ridge(sparse):
    X, Y = _data()
    y = Y[:, 0]
    w = np.random.default_rng(1).uniform(0.1, 3.0, size=len(y))
    Xin = sp.csr_matrix(X) if sparse else X
    alpha = 0.3
    est = MeanRegularizedRegressor(alpha=alpha, coupling=0.0, **TIGHT).fit(Xin, y, sample_weight=w)
    # (1 / (2 sum w)) sum_i w_i r_i^2 + alpha/2 ||w||^2  <=>  Ridge with alpha * sum(w) (doubled)
    ref = Ridge(alpha=alpha * w.sum()).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("solver", ["auto", "fista"])
def test_sparse_single_task_equals_weighted_lasso(solver):
    X, Y = _data(n=60, p=8)
    y = Y[:, 1]
    w = np.random.default_rng(2).uniform(0.1, 3.0, size=len(y))
    # scikit-learn's Lasso rescales sample_weight to sum to n: the same weighted mean objective
    ref = Lasso(alpha=0.05, tol=1e-12, max_iter=100_000).fit(X, y, sample_weight=w)
    est = SparseRegressor(alpha=0.05, solver=solver, **TIGHT).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-6, atol=1e-8)


def test_mean_regularized_classifier_equals_weighted_logistic_regression():
    X, Y = _data(classification=True)
    y = Y[:, 0]
    w = np.random.default_rng(3).uniform(0.1, 3.0, size=len(y))
    alpha = 0.05
    est = MeanRegularizedClassifier(alpha=alpha, coupling=0.0, **TIGHT).fit(X, y, sample_weight=w)
    # (1/sum w) sum_i w_i loss_i + alpha/2 ||w||^2  <=>  C sum_i w_i loss_i + 1/2 ||w||^2
    ref = LogisticRegression(C=1.0 / (alpha * w.sum()), tol=1e-12, max_iter=10_000).fit(
        X, y, sample_weight=w
    )
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-5, atol=1e-7)


def _long(X, Y):
    n, T = Y.shape
    Xl = np.column_stack([np.repeat(np.arange(T), n), np.tile(X, (T, 1))])
    return Xl, Y.T.ravel()


@pytest.mark.parametrize(
    "make",
    [
        lambda **k: MeanRegularizedRegressor(alpha=0.1, coupling=1.0, **k),
        lambda **k: LowRankRegressor(alpha=0.05, **k),
        lambda **k: SparseRegressor(alpha=0.05, **k),
        lambda **k: SparseClassifier(alpha=0.01, **k),
        lambda **k: MeanRegularizedClassifier(alpha=0.05, coupling=1.0, **k),
    ],
)
def test_long_layout_integer_weights_equal_repeated_rows(make):
    X, Y = _data(n=20, classification="Classifier" in type(make()).__name__)
    Xl, yl = _long(X, Y)
    sw = np.random.default_rng(4).integers(0, 4, size=len(yl))
    # every task keeps rows of both classes
    sw[: len(sw)] = np.maximum(sw, 1) * (np.arange(len(sw)) % 7 != 3)
    weighted = make(task_column=0, **TIGHT).fit(Xl, yl, sample_weight=sw)
    repeated = make(task_column=0, **TIGHT).fit(np.repeat(Xl, sw, axis=0), np.repeat(yl, sw))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-6, atol=1e-8)


def test_wide_missing_labels_integer_weights_equal_repeated_rows():
    X, Y = _data(n=30)
    Y[::4, 0] = np.nan
    Y[1::5, 2] = np.nan
    sw = np.random.default_rng(5).integers(0, 4, size=len(X))
    for est in [SparseRegressor(alpha=0.05, **TIGHT), LowRankRegressor(alpha=0.05, **TIGHT)]:
        a = est.fit(X, Y, sample_weight=sw).coef_.copy()
        b = est.fit(np.repeat(X, sw, axis=0), np.repeat(Y, sw, axis=0)).coef_
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def test_zero_weight_rows_are_dropped_even_with_extreme_values():
    X, Y = _data(n=30)
    X2, Y2 = X.copy(), Y.copy()
    X2[:5] *= 1e6
    Y2[:5] = 1e6
    sw = np.ones(len(X))
    sw[:5] = 0
    a = SparseRegressor(alpha=0.05, **TIGHT).fit(X2, Y2, sample_weight=sw)
    b = SparseRegressor(alpha=0.05, **TIGHT).fit(X[5:], Y[5:])
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-7, atol=1e-9)


def test_constant_weights_cancel_within_tasks():
    X, Y = _data()
    a = MeanRegularizedRegressor(**TIGHT).fit(X, Y, sample_weight=np.full(len(X), 7.0))
    b = MeanRegularizedRegressor(**TIGHT).fit(X, Y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-9)


def test_bad_sample_weight():
    X, Y = _data()
    est = SparseRegressor(alpha=0.1)
    with pytest.raises(ValueError, match="Negative values in data passed to"):
        est.fit(X, Y, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="at least one non-zero"):
        est.fit(X, Y, sample_weight=np.zeros(len(X)))
    with pytest.raises(ValueError, match=r"sample_weight.shape"):
        est.fit(X, Y, sample_weight=np.ones(3))


def test_long_task_whose_rows_all_weigh_zero_is_dropped_like_its_rows():
    X, Y = _data(n=20)
    Xl, yl = _long(X, Y)
    sw = np.ones(len(yl))
    rows1 = Xl[:, 0] == 1
    sw[rows1] = 0  # every row of task 1
    est = SparseRegressor(alpha=0.1, task_column=0).fit(Xl, yl, sample_weight=sw)
    ref = SparseRegressor(alpha=0.1, task_column=0).fit(Xl[~rows1], yl[~rows1])
    np.testing.assert_array_equal(est.tasks_, [0, 2])
    np.testing.assert_allclose(est.coef_, ref.coef_)


def test_wide_task_whose_labelled_rows_all_weigh_zero_is_named():
    X, Y = _data(n=20)
    Y[:10, 1] = np.nan
    sw = np.r_[np.ones(10), np.zeros(10)]
    with pytest.raises(ValueError, match="Task 1 has no labelled sample"):
        SparseRegressor(alpha=0.1).fit(X, Y, sample_weight=sw)


# --- metadata routing -----------------------------------------------------------------------


def test_metadata_routing_through_pipeline_and_grid_search():
    X, Y = _data(n=60)
    sw = np.random.default_rng(6).integers(0, 3, size=len(X)).astype(float)
    with sklearn.config_context(enable_metadata_routing=True):
        est = (
            SparseRegressor(**TIGHT)
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True)
        )
        scaler = StandardScaler().set_fit_request(sample_weight=False)
        pipe = make_pipeline(scaler, est)
        search = GridSearchCV(pipe, {"sparseregressor__alpha": [0.01, 0.1]}, cv=KFold(3))
        search.fit(X, Y, sample_weight=sw)
        alpha = search.best_params_["sparseregressor__alpha"]
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
        pipe.fit(X, Y, sample_weight=sw)
        # the weights reached the estimator: zero-weight rows are ignored
        keep = sw > 0
        Xs = StandardScaler().fit(X).transform(X)
        direct = SparseRegressor(**TIGHT).fit(Xs[keep], Y[keep], sample_weight=sw[keep])
        np.testing.assert_allclose(pipe[-1].coef_, direct.coef_, rtol=1e-7, atol=1e-9)
        unweighted = SparseRegressor(**TIGHT).fit(Xs, Y)
        assert not np.allclose(pipe[-1].coef_, unweighted.coef_)
    assert alpha in (0.01, 0.1)


# --- task weights ---------------------------------------------------------------------------


def _reference_objective_minimiser(X, Y, c, alpha):
    """Independent weighted per-task ridge (coupling 0): task t minimises
    c_t/(2 n) ||y_t - X w_t - b_t||^2 + alpha/2 ||w_t||^2."""
    n = len(X)
    coefs = []
    for t in range(Y.shape[1]):
        if c[t] == 0:
            coefs.append(np.zeros(X.shape[1]))
            continue
        ref = Ridge(alpha=alpha * n / c[t]).fit(X, Y[:, t])
        coefs.append(ref.coef_)
    return np.array(coefs)


@pytest.mark.parametrize(
    "task_weights",
    [{0: 2.0, 2: 0.5}, np.array([2.0, 1.0, 0.5])],
    ids=["mapping", "array"],
)
def test_task_weights_scale_each_task_data_fit(task_weights):
    X, Y = _data()
    est = MeanRegularizedRegressor(
        alpha=0.2, coupling=0.0, task_weights=task_weights, **TIGHT
    ).fit(X, Y)
    ref = _reference_objective_minimiser(X, Y, np.array([2.0, 1.0, 0.5]), 0.2)
    np.testing.assert_allclose(est.coef_, ref, rtol=1e-7, atol=1e-9)
    assert est.task_weights_ == {0: 2.0, 1: 1.0, 2: 0.5}


def test_task_weights_n_samples_is_summed_loss():
    # long layout, tasks of different sizes: "n_samples" = the summed data fit (MALSAR),
    # i.e. the objective over all rows pooled, up to the factor T / N
    rng = np.random.default_rng(7)
    sizes = [10, 25, 40]
    X = rng.normal(size=(sum(sizes), 4))
    task = np.repeat(np.arange(3), sizes)
    y = X @ rng.normal(size=4) + 0.1 * rng.normal(size=len(X))
    Xl = np.column_stack([task, X])
    est = MeanRegularizedRegressor(
        alpha=0.1, coupling=np.inf, task_weights="n_samples", fit_intercept=False, task_column=0,
        **TIGHT,
    ).fit(Xl, y)
    # coupling=inf: one shared vector; summed loss (T/N) sum_i r_i^2 / 2 + alpha/2 * T ||w||^2
    N, T = len(y), 3
    ref = Ridge(alpha=0.1 * N, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(est.coef_[0], ref.coef_, rtol=1e-7)
    expected = {t: T * s / N for t, s in enumerate(sizes)}
    assert est.task_weights_ == pytest.approx(expected)


def test_task_weights_errors():
    X, Y = _data()
    with pytest.raises(ValueError, match="unknown task 'z'"):
        SparseRegressor(task_weights={"z": 1.0}).fit(X, Y)
    with pytest.raises(ValueError, match="one weight per task"):
        SparseRegressor(task_weights=[1.0, 2.0]).fit(X, Y)
    with pytest.raises(ValueError, match=r"task_weights\[1\] = -1.0"):
        SparseRegressor(task_weights=[1.0, -1.0, 1.0]).fit(X, Y)
    with pytest.raises(TypeError, match=r"task_weights\[0\] must be a number"):
        SparseRegressor(task_weights={0: "a"}).fit(X, Y)
