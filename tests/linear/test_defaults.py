"""Default parameters (issue 10): the rule of ``alpha=None``, checked against independent
references, and useful models on two standard data sets, for every exported estimator."""

import warnings

import numpy as np
import pytest
from _registry import estimator_classes, is_classifier_class, name_of
from numpy.testing import assert_allclose
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge, RidgeCV
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl.linear import (
    LowRankRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    SparseClassifier,
    SparseRegressor,
)
from skmtl.linear._base import DEFAULT_ALPHA_RATIO

CLASSES = [cls for _, cls in sorted(estimator_classes().items())]


def _cv_score(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = make_pipeline(StandardScaler(), estimator)
        return float(np.mean(cross_val_score(pipe, X, y, cv=5)))


@pytest.fixture(scope="module")
def references():
    Xc, yc = load_breast_cancer(return_X_y=True)
    Xr, yr = load_diabetes(return_X_y=True)
    return {
        "classifier": (Xc, yc, _cv_score(LogisticRegression(), Xc, yc), 0.02),
        "regressor": (Xr, yr, _cv_score(RidgeCV(), Xr, yr), 0.03),
    }


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_defaults_give_a_useful_model(cls, references):
    """5-fold CV on standardised features: within 2 accuracy points of LogisticRegression()
    on breast cancer, within 0.03 R^2 of RidgeCV() on diabetes."""
    X, y, ref, margin = references["classifier" if is_classifier_class(cls) else "regressor"]
    score = _cv_score(cls(), X, y)
    assert score >= ref - margin, f"{cls.__name__}(): {score:.3f}, reference {ref:.3f}"


def _standardised(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_smooth_default_is_sklearn_default_for_one_task():
    """alpha=None is 1/n on the per-task mean loss: Ridge(alpha=1), LogisticRegression(C=1)."""
    X, y = _standardised(load_diabetes)
    reg = MeanRegularizedRegressor(tol=1e-10, max_iter=50000).fit(X, y)
    assert reg.alpha is None and reg.alpha_ == pytest.approx(1 / len(y))
    assert_allclose(reg.coef_, Ridge(alpha=1.0).fit(X, y).coef_, rtol=1e-6)
    X, y = _standardised(load_breast_cancer)
    clf = MeanRegularizedClassifier(tol=1e-10, max_iter=50000).fit(X, y)
    ref = LogisticRegression(tol=1e-12, max_iter=10000).fit(X, y)
    assert_allclose(clf.coef_, ref.coef_, rtol=1e-4, atol=1e-5)


def test_smooth_default_uses_the_mean_task_size():
    rng = np.random.default_rng(0)
    task = np.repeat([0, 1, 2], [10, 20, 60])
    X = np.column_stack([task, rng.normal(size=(90, 3))])
    y = rng.normal(size=90)
    est = MeanRegularizedRegressor(task_column=0).fit(X, y)
    assert est.alpha_ == pytest.approx(1 / 30)


def test_norm_default_is_relative_to_alpha_max():
    """alpha=None is DEFAULT_ALPHA_RATIO * alpha_max, alpha_max computed here by hand; the
    fit equals the fit at that explicit alpha; the constructor parameter stays None."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 8))
    Y = X[:, :3] @ rng.normal(size=(3, 4)) + rng.normal(size=(60, 4))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    grad0 = Xc.T @ Yc / len(X)
    for cls, alpha_max in [
        (SparseRegressor, np.max(np.linalg.norm(grad0, axis=1))),
        (LowRankRegressor, np.linalg.norm(grad0, 2)),
    ]:
        est = cls(tol=1e-10).fit(X, Y)
        assert est.alpha is None
        assert est.alpha_ == pytest.approx(DEFAULT_ALPHA_RATIO * alpha_max, rel=1e-10)
        explicit = cls(alpha=est.alpha_, tol=1e-10).fit(X, Y)
        assert_allclose(est.coef_, explicit.coef_, atol=1e-8)
        assert cls(alpha=0.5).fit(X, Y).alpha_ == 0.5
        # scale-free: (3 X, 5 Y) predicts 5 times the predictions of (X, Y)
        scaled = cls(tol=1e-10).fit(3 * X, 5 * Y)
        assert_allclose(scaled.predict(3 * X), 5 * est.predict(X), rtol=1e-6, atol=1e-6)


def test_norm_default_for_a_classifier():
    """Logistic: alpha_max is the L2,1 dual norm of the gradient at W = 0 with the intercept at
    its optimum, X_c'(y - mean y) / n for one binary task."""
    X, y = _standardised(load_breast_cancer)
    est = SparseClassifier().fit(X, y)
    alpha_max = np.max(np.abs((X - X.mean(0)).T @ (y - y.mean()) / len(y)))
    assert est.alpha_ == pytest.approx(DEFAULT_ALPHA_RATIO * alpha_max, rel=1e-10)
    # above alpha_max the solution is W = 0
    zero = SparseClassifier(alpha=1.0001 * alpha_max).fit(X, y)
    assert np.all(zero.coef_ == 0)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_n_iter_is_at_least_one_when_the_start_is_optimal(cls):
    """Balanced classes and a penalty above alpha_max: the start W = 0 (and zero intercepts)
    is already optimal, and the fit still reports one iteration."""
    X, y = load_iris(return_X_y=True)
    if not is_classifier_class(cls):
        y = np.ones(len(y))  # constant target: W = 0, intercept = 1
    est = cls().fit(X, y)
    assert est.n_iter_ >= 1, name_of(est)
    if "alpha" in est.get_params() and hasattr(est, "n_iter_"):
        big = cls(alpha=1e6).fit(X, y)
        assert big.n_iter_ >= 1
        assert np.all(np.asarray(big.coef_) == 0) or "MeanRegularized" in cls.__name__
