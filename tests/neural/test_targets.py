"""skmtl._targets: containers -> per-task arrays, missing masks, types, and back."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from skorch.helper import SliceDict

from skmtl import _targets as T


def test_targets_metrics_datasets_do_not_import_torch():
    code = (
        "import sys, skmtl, skmtl._targets, skmtl.metrics, skmtl.datasets; "
        "print('torch' in sys.modules, 'skorch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    "values, expected",
    [
        ([1.0, np.nan, 2.0], [False, True, False]),
        (np.array(["a", None, "b"], dtype=object), [False, True, False]),
        (np.array([1, None, float("nan")], dtype=object), [False, True, True]),
        (pd.Series(["a", pd.NA, "b"], dtype="string"), [False, True, False]),
        (pd.Series([1, None, 3], dtype="Int64"), [False, True, False]),
        (np.array([1, 2, 3]), [False, False, False]),
        (np.array(["", "x"]), [False, False]),
    ],
)
def test_missing_mask(values, expected):
    assert T.missing_mask(values).tolist() == expected


def test_split_dict_frame_array_slicedict_agree():
    a = np.array([0.5, 1.5, np.nan, 2.5])
    b = np.array(["x", "y", "x", "y"])
    forms = {
        "dict": {"a": a, "b": b},
        "slicedict": SliceDict(a=a, b=b),
        "frame": pd.DataFrame({"a": a, "b": b}),
    }
    for kind, y in forms.items():
        t = T.split_targets(y, n_samples=4)
        assert t.kind == kind
        assert t.names == ["a", "b"]
        assert t.missing["a"].tolist() == [False, False, True, False]
        assert list(t.columns["b"]) == list(b)
    t = T.split_targets(np.column_stack([a, a]))
    assert (t.kind, t.names) == ("array", [0, 1])
    t = T.split_targets(a)
    assert (t.kind, t.names) == ("array1d", [0])


def test_split_rejects_unequal_lengths_naming_tasks():
    with pytest.raises(ValueError, match=r"different numbers of samples.*'a': 3.*'b': 2"):
        T.split_targets({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0]})


def test_split_rejects_length_mismatch_with_X():
    with pytest.raises(ValueError, match="X has 5 samples but the tasks in y have 3"):
        T.split_targets({"a": [1.0, 2.0, 3.0]}, n_samples=5)


def test_split_rejects_2d_task_and_no_task():
    with pytest.raises(ValueError, match="Task 'a'.*1-D"):
        T.split_targets({"a": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="no tasks"):
        T.split_targets({})
    with pytest.raises(ValueError, match="duplicated task columns"):
        T.split_targets(pd.DataFrame(np.zeros((2, 2)), columns=["a", "a"]))


@pytest.mark.parametrize(
    "values, expected",
    [
        (np.array([1.5, 2.0]), "regression"),
        (np.array([1.0, 2.0]), "regression"),  # floats are regression even when integral
        (np.array([1, 2]), "classification"),
        (np.array([True, False]), "classification"),
        (np.array(["a", "b"]), "classification"),
        (np.array([1.5, None], dtype=object), "regression"),
        (np.array([1, None], dtype=object), "classification"),
        (np.array(["a", None], dtype=object), "classification"),
    ],
)
def test_infer_task_type_from_dtype(values, expected):
    assert T.infer_task_type(values, T.missing_mask(values)) == expected


def test_infer_task_type_pandas_dtypes():
    y = pd.DataFrame(
        {
            "i": pd.Series([1, None, 2], dtype="Int64"),
            "c": pd.Categorical([1.5, 2.5, 1.5]),
            "f": [1.0, 2.0, np.nan],
        }
    )
    spec = T.fit_task_spec(T.split_targets(y))
    assert spec.types == {"i": "classification", "c": "classification", "f": "regression"}
    assert spec.classes["i"].tolist() == [1, 2]


def test_task_types_override_and_validation():
    t = T.split_targets({"a": [0.0, 1.0, 0.0], "b": [1.0, 2.0, 3.0]})
    spec = T.fit_task_spec(t, task_types={"a": "classification"})
    assert spec.types == {"a": "classification", "b": "regression"}
    assert spec.classes["a"].tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="task_types names unknown task 'c'"):
        T.fit_task_spec(t, task_types={"c": "regression"})
    with pytest.raises(ValueError, match=r"task_types\['a'\] must be"):
        T.fit_task_spec(t, task_types={"a": "ordinal"})


def test_fit_task_spec_rejects_unlearnable_tasks():
    with pytest.raises(ValueError, match="Task 'b' has no labels"):
        T.fit_task_spec(T.split_targets({"a": [1.0, 2.0], "b": [None, None]}))
    with pytest.raises(ValueError, match="Classification task 'c' has only one class"):
        T.fit_task_spec(T.split_targets({"c": ["x", None, "x"]}))
    with pytest.raises(TypeError, match="task 'm' mixes label types"):
        T.fit_task_spec(T.split_targets({"m": np.array(["x", 1], dtype=object)}))
    with pytest.raises(ValueError, match="Regression task 'r' has infinite"):
        T.fit_task_spec(T.split_targets({"r": [1.0, np.inf]}))


def test_encode_codes_and_missing():
    t = T.split_targets({"s": ["b", "a", None, "c"], "m": [1.5, None, 2.0, 3.0]})
    spec = T.fit_task_spec(t)
    Y = T.encode_targets(spec, t)
    assert Y.dtype == np.float32
    np.testing.assert_array_equal(Y[:, 0], [1, 0, np.nan, 2])
    np.testing.assert_array_equal(Y[:, 1], [1.5, np.nan, 2.0, 3.0])


def test_label_codes_rejects_unknown_labels():
    t = T.split_targets({"s": ["a", "b"]})
    spec = T.fit_task_spec(t)
    with pytest.raises(ValueError, match=r"task 's' has labels \['z'\]"):
        T.label_codes(spec, "s", np.array(["a", "z"]))


def test_classes_argument_adds_unseen_classes():
    t = T.split_targets({"s": ["a", "b", "a"]})
    spec = T.fit_task_spec(t, classes={"s": ["a", "b", "c"]})
    assert spec.classes["s"].tolist() == ["a", "b", "c"]


def _round_trip(y):
    t = T.split_targets(y)
    spec = T.fit_task_spec(t)
    preds = {name: t.columns[name] for name in t.names}
    return T.decode_predictions(spec, t, preds, index=getattr(y, "index", None))


def test_decode_restores_each_container_kind():
    a, b = np.array([0.5, 1.5, 2.5]), np.array(["x", "y", "x"], dtype=object)
    out = _round_trip({"a": a, "b": b})
    assert type(out) is dict and list(out) == ["a", "b"]
    out = _round_trip(SliceDict(a=a, b=b))
    assert isinstance(out, SliceDict) and len(out) == 3
    frame = pd.DataFrame({"b": b, "a": a}, index=[10, 20, 30])
    out = _round_trip(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["b", "a"] and list(out.index) == [10, 20, 30]
    pd.testing.assert_frame_equal(out, frame, check_dtype=False)
    out = _round_trip(np.column_stack([a, a]))
    assert out.shape == (3, 2) and out.dtype == np.float64
    out = _round_trip(np.array([1, 2, 1]))
    assert out.shape == (3,) and out.dtype.kind == "i"


def test_decode_keeps_categorical_dtype():
    frame = pd.DataFrame({"c": pd.Categorical(["u", "v", "u"]), "r": [1.0, 2.0, 3.0]})
    out = _round_trip(frame)
    assert isinstance(out["c"].dtype, pd.CategoricalDtype)
    assert out["c"].tolist() == ["u", "v", "u"]


def test_check_task_mapping():
    assert T.check_task_mapping("task_weights", None, ["a"]) == {}
    with pytest.raises(TypeError, match="task_weights must be a dict"):
        T.check_task_mapping("task_weights", [1.0], ["a"])
