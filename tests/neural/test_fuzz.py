"""Generated bad and odd input for MultiTaskEstimator.

The contract (as tests/linear/test_fuzz.py): either a fit whose predictions are finite, or a
``ValueError`` / ``TypeError`` whose message names the problem. Any other exception, a hang or
NaN predictions fails. Networks are tiny and train for one or two epochs.
"""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skorch.helper import SliceDict

from skmtl.neural import MultiTaskEstimator

# examples per test; SKMTL_FUZZ_EXAMPLES=2000 for a long local run
N_EXAMPLES = int(os.environ.get("SKMTL_FUZZ_EXAMPLES", "60"))

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
    "numeric",
    "sparse",
    "array",
    "task_weights",
    "task_types",
)

SETTINGS = settings(
    max_examples=N_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def model(**kwargs):
    params = dict(hidden_units=(4,), max_epochs=1, batch_size=-1, random_state=0)
    return MultiTaskEstimator(**{**params, **kwargs})


def check(est, X, y):
    """Fit and predict under the contract; return True if the fit succeeded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # divergence / interruption warnings are fine
            est.fit(X, y)
    except (ValueError, TypeError) as exc:
        message = str(exc).lower()
        assert any(word in message for word in NAMED), f"unclear message: {exc!r}"
        return False
    pred = est.predict(X)
    if isinstance(pred, pd.DataFrame | pd.Series):
        pred = {c: pred[c].to_numpy() for c in pred} if pred.ndim == 2 else {0: pred.to_numpy()}
    elif isinstance(pred, np.ndarray):
        pred = {j: col for j, col in enumerate(np.atleast_2d(pred.T))}
    for task, type_ in est.task_types_.items():
        if type_ == "regression":
            values = next(iter(pred.values())) if len(pred) == 1 else None
            for key in (task, est.tasks_.index(task)):
                if key in pred:
                    values = pred[key]
                    break
            if values is not None:
                assert np.all(np.isfinite(np.asarray(values, dtype=float))), "NaN predictions"
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        items = proba.values() if isinstance(proba, dict) else proba
        for p in items if isinstance(items, list | type({}.values())) else [items]:
            if p is not None:
                assert np.all(np.isfinite(p)) and np.allclose(np.sum(p, axis=1), 1)
    return True


@st.composite
def features(draw, n):
    p = draw(st.sampled_from([0, 1, 2, 3, 3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(n, p))
    kinds = ["float", "float", "float16", "int", "bool", "object", "sparse", "frame", "frame"]
    kind = draw(st.sampled_from(kinds))
    if draw(st.integers(0, 3)) == 0 and X.size:  # one bad value in a quarter of the cases
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, p - 1))
        X[i, j] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e30, 1e5]))
    if kind == "float16":
        X = np.clip(X, -6e4, 6e4).astype(np.float16)
    elif kind == "int":
        X = np.clip(np.nan_to_num(X), -9, 9).round().astype(int)
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
        if p and draw(st.booleans()):
            c0 = np.clip(np.nan_to_num(X["c0"].to_numpy()), -9, 9).round()
            X["c0"] = pd.array(c0.astype(int), dtype="Int64")
            if draw(st.booleans()):
                X.loc[0, "c0"] = pd.NA
    return X


def column(draw, rng, n, kind, hostile=True):
    """One task's labels of the given kind, with missing values drawn at some rate."""
    z = rng.normal(size=n)
    rate = draw(st.sampled_from([0.0, 0.0, 0.3, 0.3, 0.9, 1.0] if hostile else [0.0, 0.2]))
    miss = rng.random(n) < rate
    if kind == "float":
        col = z.copy()
        col[miss] = np.nan
        if n and hostile and draw(st.integers(0, 3)) == 0:
            col[0] = draw(st.sampled_from([np.inf, -np.inf, 1e30, 1e6]))
        return col
    if kind == "float16":
        return z.astype(np.float16)
    if kind == "int":
        return (z > 0).astype(int) + (z > 1)
    if kind == "bool":
        return z > 0
    if kind == "str":
        col = np.where(z > 0, "up", "down").astype(object)
        col[miss] = None
        return col
    if kind == "str_in_float":  # strings in a regression target
        col = z.astype(object)
        if n:
            col[rng.integers(n)] = "oops"
        return col
    if kind == "one_label":  # a task with a single labelled sample
        col = np.full(n, np.nan)
        if n:
            col[0] = 1.0
        return col
    if kind == "nullable_int":
        col = pd.array((z > 0).astype(int), dtype="Int64")
        col[miss] = pd.NA
        return col
    if kind == "nullable_float":
        col = pd.array(z, dtype="Float64")
        col[miss] = pd.NA
        return col
    if kind == "category":
        return pd.Categorical(np.where(z > 0, "a", "b"))
    if kind == "boolean":
        col = pd.array(z > 0, dtype="boolean")
        col[miss] = pd.NA
        return col
    if kind == "string":
        col = pd.array(np.where(z > 0, "x", "y"), dtype="string")
        col[miss] = pd.NA
        return col
    raise AssertionError(kind)


KINDS = [
    "float",
    "float",
    "str",
    "int",
    "float16",
    "int",
    "bool",
    "str",
    "str_in_float",
    "one_label",
    "nullable_int",
    "nullable_float",
    "category",
    "boolean",
    "string",
]


VALID_KINDS = [k for k in KINDS if k not in ("float16", "str_in_float")]


@st.composite
def problems(draw):
    # Half the cases are hostile anywhere; the other half are valid but for odd shapes and
    # missing-label patterns (few samples, more tasks than samples, one labelled sample), so
    # that the training path itself is exercised.
    hostile = draw(st.booleans())
    n = draw(st.sampled_from([0, 1, 2, 3, 5, 12, 12, 20] if hostile else [2, 3, 5, 12]))
    X = draw(features(n)) if hostile else np.random.default_rng(n).normal(size=(n, 2))
    T = draw(st.integers(1, 6))  # more tasks than samples, often
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    names = draw(
        st.sampled_from(
            [
                [f"t{k}" for k in range(T)],
                list(range(T)),
                [("a", k) for k in range(T)],
                ["t"] * T,  # duplicated (kept by a DataFrame)
                [""] + [f"t{k}" for k in range(1, T)],
            ]
        )
    )
    kinds = KINDS if hostile else VALID_KINDS
    cols = [column(draw, rng, n, draw(st.sampled_from(kinds)), hostile) for _ in range(T)]
    if draw(st.integers(0, 3)) == 0 and n:  # a row with no label at all
        for col in cols:
            try:
                col[0] = None if not isinstance(col, np.ndarray) or col.dtype == object else np.nan
            except (TypeError, ValueError):
                pass
    containers = ["dict", "dict", "frame", "frame", "array", "slicedict", "1d", "short"]
    container = draw(st.sampled_from(containers if hostile else containers[:5]))
    if container == "frame":
        y = pd.DataFrame(dict(enumerate(cols)))
        y.columns = pd.Index(names, tupleize_cols=False)
    elif container == "array":
        y = np.column_stack([np.asarray(c, dtype=object) for c in cols]) if n else np.empty((0, T))
    elif container == "slicedict":
        try:
            y = SliceDict(**{f"t{k}": np.asarray(c) for k, c in enumerate(cols)})
        except ValueError:
            y = {f"t{k}": np.asarray(c) for k, c in enumerate(cols)}
    elif container == "1d":
        y = cols[0]
    elif container == "short":  # mismatched lengths
        y = {f"t{k}": c[: max(n - k, 0)] for k, c in enumerate(cols)}
    else:
        y = {name: c for name, c in zip(dict.fromkeys(names), cols, strict=False)}
    return X, y


@SETTINGS
@given(
    problem=problems(),
    params=st.sampled_from(
        [
            {},
            {"max_epochs": 2, "batch_size": 2},
            {"architecture": "mmoe", "n_experts": 2},
            {"weighting": "pcgrad"},
            {"batch_norm": True, "dropout": 0.5},
            {"train_split": 0.5},
        ]
    ),
)
def test_fuzzed_input(problem, params):
    X, y = problem
    check(model(**params), X, y)


@settings(max_examples=max(N_EXAMPLES // 2, 10), deadline=None)
@given(
    weights=st.one_of(
        st.dictionaries(
            st.sampled_from(["a", "b", "zz", 0]),
            st.one_of(
                st.floats(allow_nan=True, allow_infinity=True),
                st.integers(-2, 3),
                st.text(max_size=2),
                st.none(),
                st.booleans(),
            ),
            max_size=3,
        ),
        st.lists(st.tuples(st.just("a"), st.floats()), max_size=2),  # not a mapping
        st.just("a"),
    ),
    types=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["a", "b", "zz"]),
            st.sampled_from(["classification", "regression", "other", 1]),
            max_size=2,
        ),
    ),
)
def test_fuzzed_task_parameters(weights, types):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 2))
    y = {"a": rng.normal(size=10), "b": np.where(X[:, 0] > 0, "p", "q")}
    check(model(task_weights=weights, task_types=types), X, y)


def test_unhashable_task_names_are_a_clear_error():
    X = np.zeros((4, 2))
    with pytest.raises(TypeError, match=r"hashable.*task named \['a'\]"):
        y = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1.0, 2.0, 3.0, 4.0]})
        y.columns = pd.Index([["a"], ["b"]], tupleize_cols=False, dtype=object)
        model().fit(X, y)


def test_predict_with_wrong_features_is_a_clear_error():
    X = np.random.default_rng(0).normal(size=(6, 3))
    est = model().fit(X, {"r": X[:, 0]})
    for bad in (X[:, :2], np.full((2, 3), np.nan), X.astype(object).tolist()[:0]):
        with pytest.raises(ValueError, match="feature|NaN|sample|array"):
            est.predict(bad)


@pytest.mark.parametrize(
    "X, y, params, match",
    [  # the cases the fuzzing found (each was an unclear error before)
        (np.array([["a"]], dtype=object), {"t": [0.5]}, {}, "X must be numeric"),
        (pd.DataFrame(index=[0, 1]), {"t": [0.5, 1.0]}, {}, "X has 0 features"),
        (np.ones((1, 2)), {"t": [0.5]}, {"batch_norm": True}, "batch_norm=True .* 2 training"),
        (np.full((3, 1), 1e30), {"t": [0.5, 1.0, 2.0]}, {}, "diverged.*task 't'"),
    ],
)
def test_found_by_fuzzing(X, y, params, match):
    with pytest.raises(ValueError, match=match):
        model(**params).fit(X, y)
