"""Generated bad and odd input for every linear estimator.

The contract: either a fit whose predictions are finite, or a ``ValueError`` / ``TypeError``
whose message names the problem. Any other exception, a hang or NaN predictions fails.
"""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _registry import instances, name_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning

# examples per estimator; SKMTL_FUZZ_EXAMPLES=2000 for a long local run
N_EXAMPLES = int(os.environ.get("SKMTL_FUZZ_EXAMPLES", "60"))


# every exported estimator, with a small iteration budget (fuzzed problems are tiny)
ESTIMATORS = [est.set_params(max_iter=300) for est in instances("quick")]

# words a message must contain for the problem it reports (any one of them)
NAMED = (
    "task",
    "column",
    "sample",
    "feature",
    "class",
    "label",
    "nan",
    "infinity",
    "inf",
    "y ",
    "x ",
    "dtype",
    "shape",
    "2-d",
    "1-d",
    "complex",
    "numeric",
    "sparse",
    "array",
)


@st.composite
def problems(draw):
    n = draw(st.integers(0, 12))
    p = draw(st.integers(0, 4))
    T = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(n, p))
    kind = draw(st.sampled_from(["float", "float16", "int", "bool", "object", "sparse", "frame"]))
    if draw(st.booleans()) and X.size:
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, p - 1))
        X[i, j] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e300]))
    if kind == "float16":
        X = X.astype(np.float16)
    elif kind == "int":
        X = np.nan_to_num(X, posinf=9, neginf=-9).round().astype(int)
    elif kind == "bool":
        X = np.nan_to_num(X) > 0
    elif kind == "object":
        X = X.astype(object)
        if X.size and draw(st.booleans()):
            X[0, 0] = "a"
    elif kind == "sparse":
        X = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    elif kind == "frame":
        X = pd.DataFrame(X, columns=[f"c{j}" for j in range(p)])
    y_kind = draw(st.sampled_from(["float", "int", "str", "nullable", "category", "object"]))
    Y = rng.normal(size=(n, T))
    if y_kind == "int":
        Y = (Y > 0).astype(int) + (Y > 1).astype(int)
    elif y_kind == "str":
        Y = np.where(Y > 0, "up", "down").astype(object)
    elif y_kind == "object":
        Y = np.where(Y > 0, "1.5", "x").astype(object)
        Y[Y == "1.5"] = 1.5
    miss = rng.random((n, T)) < draw(st.sampled_from([0.0, 0.3, 0.9, 1.0]))
    if y_kind in ("float", "str", "object"):
        Y = Y.astype(object) if y_kind != "float" else Y
        Y[miss] = np.nan if y_kind == "float" else None
    if draw(st.booleans()) and Y.size and y_kind == "float":
        Y[0, 0] = draw(st.sampled_from([np.inf, -np.inf]))
    shape = draw(st.sampled_from(["2d", "1d", "col", "short", "frame"]))
    if shape == "1d":
        Y = Y[:, 0]
    elif shape == "col":
        Y = Y[:, :1]
    elif shape == "short" and n:
        Y = Y[:-1]
    elif shape == "frame":
        cols = [f"t{k}" for k in range(Y.shape[1])]
        if draw(st.booleans()) and len(cols) > 1:
            cols[1] = cols[0]  # duplicated task names
        Y = pd.DataFrame(Y, columns=cols)
        if y_kind == "nullable":
            Y = Y.round().astype("Int64")
            Y.iloc[::3, 0] = pd.NA
        elif y_kind == "category":
            Y = (Y > 0).astype("category")
    return X, Y


def _check(est, X, Y):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, Y)
    except (ValueError, TypeError) as exc:
        message = str(exc).lower()
        assert any(word in message for word in NAMED), f"unclear message: {exc!r}"
        return
    pred = est.predict(X)
    if pred.dtype.kind == "f":
        assert np.all(np.isfinite(pred)), "NaN/inf predictions"
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        for p in proba if isinstance(proba, list) else [proba]:
            assert np.all(np.isfinite(p))


@pytest.mark.parametrize("est", ESTIMATORS, ids=name_of)
@settings(max_examples=N_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def test_fuzzed_input(est, problem):
    X, Y = problem
    _check(clone(est), X, Y)


@pytest.mark.parametrize("est", ESTIMATORS, ids=name_of)
@settings(max_examples=max(N_EXAMPLES // 2, 10), deadline=None)
@given(
    n_tasks=st.integers(1, 4),
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    labels=st.sampled_from(["int", "str", "float"]),
    missing=st.booleans(),
)
def test_fuzzed_long_layout(est, n_tasks, sizes, labels, missing):
    rng = np.random.default_rng(sum(sizes))
    task = np.repeat(np.arange(len(sizes)), sizes)
    n = task.size
    names = {
        "int": task,
        "str": np.array([f"s{t}" for t in task], dtype=object),
        "float": task + 0.5,
    }[labels]
    X = pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"])
    X["task"] = names
    y = rng.normal(size=n)
    if is_classifier(est):
        y = np.where(y > 0, "p", "q").astype(object)
    if missing:
        y[::2] = None if y.dtype == object else np.nan
    _check(clone(est).set_params(task_column="task"), X, y)
