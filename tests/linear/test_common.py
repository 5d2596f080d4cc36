"""scikit-learn's estimator checks over every estimator of skmtl.linear."""

from sklearn.utils.estimator_checks import parametrize_with_checks

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

ESTIMATORS = [
    MeanRegularizedRegressor(),
    MeanRegularizedClassifier(),
    LowRankRegressor(alpha=0.1),
    LowRankClassifier(alpha=0.01),
    SparseRegressor(alpha=0.1),
    SparseClassifier(alpha=0.01),
    # a tight tol: check_sample_weight_equivalence compares weighted and repeated fits to 1e-7
    SparseRegressorCV(alphas=5, cv=3, tol=1e-10),
    LowRankRegressorCV(alphas=5, cv=3, tol=1e-10),
    SparseClassifierCV(alphas=3, cv=3, tol=1e-10),
    LowRankClassifierCV(alphas=3, cv=3, tol=1e-10),
    # (alphas well above 0: the check's data have more features than samples, and a ridge at
    # a vanishing alpha is too ill-conditioned to agree to 1e-7)
    MeanRegularizedRegressorCV(alphas=[1.0, 0.3, 0.1], couplings=3, cv=3, tol=1e-10),
    MeanRegularizedClassifierCV(alphas=[1.0, 0.3, 0.1], couplings=3, cv=3, tol=1e-10),
]

# With several tasks, ``classes_`` is a list with one array per task (the convention of
# scikit-learn's multi-output classifiers, e.g. RandomForestClassifier); this check indexes
# ``classes_`` with the 0/1 decision matrix, which assumes one label set shared by all outputs.
_MULTIOUTPUT_REASON = (
    "classes_ is a per-task list (scikit-learn's multi-output convention); the check indexes it "
    "as one shared array because the estimator also has decision_function"
)
EXPECTED_FAILED = {
    name: {"check_classifier_multioutput": _MULTIOUTPUT_REASON}
    for name in (
        "MeanRegularizedClassifier",
        "LowRankClassifier",
        "SparseClassifier",
        "MeanRegularizedClassifierCV",
        "LowRankClassifierCV",
        "SparseClassifierCV",
    )
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
