"""Default parameters on standardised data: every public linear estimator constructed with no
argument, 5-fold cross-validation on breast cancer (accuracy, classifiers) and diabetes (R^2,
regressors), beside the scikit-learn defaults measured in the same run.

Goal (issue 10): within 2 accuracy points of ``LogisticRegression()`` and within 0.03 R^2 of
``RidgeCV()``.

    python -m benchmarks.check_defaults      (from the repository root)
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skmtl.linear

GOALS = {"classifier": 0.02, "regressor": 0.03}


def score(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = make_pipeline(StandardScaler(), estimator)
        return float(np.mean(cross_val_score(pipe, X, y, cv=5)))


def main():
    data = {
        "classifier": (*load_breast_cancer(return_X_y=True), LogisticRegression(), "accuracy"),
        "regressor": (*load_diabetes(return_X_y=True), RidgeCV(), "R^2"),
    }
    refs = {kind: score(ref, X, y) for kind, (X, y, ref, _) in data.items()}
    print(f"{'estimator (defaults)':32s} {'data':14s} {'score':>7s} {'reference':>22s} "
          f"{'diff':>7s}  goal")
    for kind, (_, _, ref, _) in data.items():
        print(f"{type(ref).__name__ + '()':32s} {'':14s} {refs[kind]:7.3f}")
    for name in skmtl.linear.__all__:
        cls = getattr(skmtl.linear, name)
        if not (inspect.isclass(cls) and issubclass(cls, BaseEstimator)):
            continue
        kind = "classifier" if is_classifier(cls()) else "regressor"
        X, y, ref, metric = data[kind]
        s = score(cls(), X, y)
        diff = s - refs[kind]
        ok = "met" if diff >= -GOALS[kind] else "MISSED"
        where = "breast cancer" if kind == "classifier" else "diabetes"
        reference = f"{type(ref).__name__}() {refs[kind]:.3f}"
        print(f"{name + '()':32s} {where:14s} {s:7.3f} {reference:>22s} "
              f"{diff:+7.3f}  {ok} ({metric}, >= -{GOALS[kind]})")


if __name__ == "__main__":
    main()
