"""The one table of per-estimator test parameters; the estimators come from ``skmtl.linear``.

Every estimator class exported in ``skmtl.linear.__all__`` is found by :func:`estimator_classes`
(as scikit-learn's ``all_estimators`` does) and must have an entry here:
``test_registry_covers_every_exported_estimator`` fails on a class without one, and on an entry
that names no exported class. An entry gives the constructor parameters of

- ``"quick"``: scikit-learn's estimator checks with tuned parameters, the input-error and fuzz
  tests (small, fast problems);
- ``"layout"``: the layout tests (long layout = wide with missing labels, labels, float32, single
  task); defaults to ``"quick"``;
- ``"failed_checks"`` (optional): ``{scikit-learn check name: reason}``, expected failures of
  that estimator in scikit-learn's estimator checks (``test_common.py``);
- ``"xfail"`` (optional): ``{test function name: reason}``, known failures of that estimator in
  that test (``conftest.py`` marks them ``xfail`` in any test parametrized over estimators);
  delete the line when the bug is fixed.

Each test file picks from :func:`instances`, so a newly exported estimator is covered by every
test the moment it has its line here. (The default-parameter checks use no entry at all.)
"""

from __future__ import annotations

import inspect

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

import skmtl.linear

# scikit-learn's checks set n_clusters=2 on every estimator that has it (as for k-means); this
# one then fits a single task, and n_clusters > n_tasks is an error by design (issue 9)
_N_CLUSTERS = "the check sets n_clusters=2 and fits a single task: n_clusters > n_tasks"

REGISTRY: dict[str, dict[str, dict]] = {
    "MeanRegularizedRegressor": {"quick": {}, "layout": {"alpha": 0.1, "coupling": 1.0}},
    "MeanRegularizedClassifier": {"quick": {}, "layout": {"alpha": 0.05, "coupling": 1.0}},
    "LowRankRegressor": {"quick": {"alpha": 0.1}, "layout": {"alpha": 0.05}},
    "LowRankClassifier": {"quick": {"alpha": 0.01}, "layout": {"alpha": 0.02}},
    "SparseRegressor": {"quick": {"alpha": 0.1, "tol": 1e-10}, "layout": {"alpha": 0.05}},
    "ClusteredRegressor": {
        "quick": {"alpha": 0.1}, "layout": {"alpha": 0.1},
        "failed_checks": {"check_methods_sample_order_invariance": _N_CLUSTERS},
    },
    "ClusteredClassifier": {
        "quick": {"alpha": 0.01}, "layout": {"alpha": 0.05},
        "failed_checks": {"check_methods_sample_order_invariance": _N_CLUSTERS},
    },
    "TaskRelationRegressor": {"quick": {"alpha": 0.1}, "layout": {"alpha": 0.1, "coupling": 0.1}},
    "TaskRelationClassifier": {
        "quick": {"alpha": 0.01}, "layout": {"alpha": 0.05, "coupling": 0.1},
    },
    "SparseClassifier": {"quick": {"alpha": 0.01}, "layout": {"alpha": 0.02}},
    "GraphRegularizedRegressor": {"quick": {}, "layout": {"alpha": 0.1, "coupling": 1.0}},
    "GraphRegularizedClassifier": {"quick": {}, "layout": {"alpha": 0.05, "coupling": 1.0}},
    "DirtyRegressor": {"quick": {"alpha": 0.1, "beta": 0.07},
                       "layout": {"alpha": 0.05, "beta": 0.035}},
    "DirtyClassifier": {"quick": {"alpha": 0.01, "beta": 0.007},
                        "layout": {"alpha": 0.02, "beta": 0.014}},
    "RobustLowRankRegressor": {"quick": {"alpha": 0.1, "beta": 0.07},
                               "layout": {"alpha": 0.05, "beta": 0.035}},
    "RobustLowRankClassifier": {"quick": {"alpha": 0.01, "beta": 0.007},
                                "layout": {"alpha": 0.02, "beta": 0.014}},
    # one alpha in the layout tests: wide and long folds differ, the choice must not
    # quick: a tight tol, as check_sample_weight_equivalence compares weighted and repeated
    # fits to 1e-7; one alpha in the layout tests: wide and long folds differ, the choice must not
    "SparseRegressorCV": {
        "quick": {"alphas": 5, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.05]},
    },
    "LowRankRegressorCV": {
        "quick": {"alphas": 5, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.05]},
    },
    "SparseClassifierCV": {
        "quick": {"alphas": 3, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.02]},
    },
    "LowRankClassifierCV": {
        "quick": {"alphas": 3, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.02]},
    },
    # alphas well above 0: the check's data have more features than samples, and a ridge at a
    # vanishing alpha is too ill-conditioned for weighted and repeated fits to agree to 1e-7
    "MeanRegularizedRegressorCV": {
        "quick": {"alphas": [1.0, 0.3, 0.1], "couplings": 3, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.1], "couplings": [1.0]},
    },
    "MeanRegularizedClassifierCV": {
        "quick": {"alphas": [1.0, 0.3, 0.1], "couplings": 3, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.05], "couplings": [1.0]},
    },
    # the task-structure families' CV estimators (quick: small grids, a tight tol for the
    # sample-weight equivalence check; one candidate in the layout tests)
    "GraphRegularizedRegressorCV": {
        "quick": {"alphas": [1.0, 0.1], "couplings": 2, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.1], "couplings": [1.0]},
    },
    "GraphRegularizedClassifierCV": {
        "quick": {"alphas": [0.1, 0.01], "couplings": 2, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.05], "couplings": [1.0]},
    },
    "TaskRelationRegressorCV": {
        "quick": {"alphas": [1.0, 0.1], "couplings": 2, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.1], "couplings": [0.1]},
    },
    "TaskRelationClassifierCV": {
        "quick": {"alphas": [0.1, 0.01], "couplings": 2, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.05], "couplings": [0.1]},
    },
    "DirtyRegressorCV": {
        "quick": {"alphas": 3, "ratios": 2, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.05], "ratios": [0.7]},
    },
    "DirtyClassifierCV": {
        "quick": {"alphas": 3, "ratios": 2, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.02], "ratios": [0.7]},
    },
    "RobustLowRankRegressorCV": {
        "quick": {"alphas": 3, "ratios": 2, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.05], "ratios": [0.7]},
    },
    "RobustLowRankClassifierCV": {
        "quick": {"alphas": 3, "ratios": 2, "cv": 3, "tol": 1e-10},
        "layout": {"alphas": [0.02], "ratios": [0.7]},
    },
}


def estimator_classes():
    """``{name: class}`` for every estimator class in ``skmtl.linear.__all__``."""
    found = {}
    for name in skmtl.linear.__all__:
        obj = getattr(skmtl.linear, name)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
            found[name] = obj
    return found


def is_classifier_class(cls):
    return issubclass(cls, ClassifierMixin)


def is_regressor_class(cls):
    return issubclass(cls, RegressorMixin)


def instances(kind="quick", *, select=None):
    """One instance per exported estimator with its ``kind`` parameters (sorted by name).

    ``select``: ``"regressor"``, ``"classifier"`` or None (all). A class without an entry is
    built with its defaults here (the registry test reports it)."""
    out = []
    for name, cls in sorted(estimator_classes().items()):
        if select == "regressor" and not is_regressor_class(cls):
            continue
        if select == "classifier" and not is_classifier_class(cls):
            continue
        entry = REGISTRY.get(name, {})
        params = entry.get(kind, entry.get("quick", {}))
        out.append(cls(**params))
    return out


def name_of(est):
    return type(est).__name__
