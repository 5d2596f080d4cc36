"""skmtl.metrics: per-task scores on labelled samples, scorers for GridSearchCV."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score

from skmtl.metrics import METRICS, make_task_scorer, make_task_scorers, score_tasks, task_score


def test_task_score_leaves_missing_labels_out():
    y_true = np.array([1.0, np.nan, 3.0, 4.0])
    y_pred = np.array([1.5, 100.0, 2.0, 4.0])
    expected = r2_score([1.0, 3.0, 4.0], [1.5, 2.0, 4.0])
    assert task_score(y_true, y_pred, "regression") == pytest.approx(expected)
    labels = np.array(["a", None, "b", pd.NA], dtype=object)
    assert task_score(labels, ["a", "a", "a", "a"], "classification") == 0.5
    assert np.isnan(task_score([None, None], ["a", "b"], "classification"))


def test_task_score_float_labels_in_object_arrays():
    # Labels as floats in an object array (a list with None) still compare by value.
    assert task_score([0.0, 1.0, None], np.array([0.0, 0.0, 1.0]), "classification") == 0.5


@pytest.mark.parametrize("name", sorted(METRICS))
def test_named_metrics_are_greater_is_better(name):
    y = np.array([0, 1, 1, 0, 1])
    kind = "regression" if name == "r2" or "error" in name else "classification"
    assert task_score(y, y, kind, metric=name) > task_score(y, 1 - y, kind, metric=name)


def test_score_tasks_any_container_and_inferred_types():
    y_true = pd.DataFrame({"c": ["a", "b", None, "a"], "r": [1.0, 2.0, 3.0, np.nan]})
    y_pred = {"c": np.array(["a", "a", "b", "a"]), "r": np.array([1.0, 2.0, 2.0, 0.0])}
    scores = score_tasks(y_true, y_pred)
    assert scores["c"] == pytest.approx(accuracy_score(["a", "b", "a"], ["a", "a", "a"]))
    assert scores["r"] == pytest.approx(r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 2.0]))
    scores = score_tasks(y_true, y_pred, metric=lambda t, p: len(t))
    assert scores == {"c": 3, "r": 3}
    with pytest.raises(ValueError, match="y_pred has no task 'r'"):
        score_tasks(y_true, {"c": y_pred["c"]})


class _Fixed:
    """An 'estimator' whose predict returns a fixed multi-task prediction."""

    task_types_ = {"c": "classification", "r": "regression"}

    def __init__(self, pred):
        self.pred = pred

    def predict(self, X):
        return self.pred


def test_task_scorers():
    y = pd.DataFrame({"c": ["a", "b", "b"], "r": [1.0, np.nan, 3.0]})
    est = _Fixed(pd.DataFrame({"c": ["a", "b", "a"], "r": [2.0, 0.0, 3.0]}))
    assert make_task_scorer("c")(est, None, y) == pytest.approx(2 / 3)
    mae = make_task_scorer("r", metric="neg_mean_absolute_error")(est, None, y)
    assert mae == pytest.approx(-mean_absolute_error([1.0, 3.0], [2.0, 3.0]))
    scorers = make_task_scorers(["c", "r"])
    assert scorers["r"](est, None, y) == pytest.approx(r2_score([1.0, 3.0], [2.0, 3.0]))
    assert "make_task_scorer('c'" in repr(scorers["c"])
    with pytest.raises(ValueError, match="y has no task 'z'"):
        make_task_scorer("z")(est, None, y)
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        make_task_scorer("c", metric="auc")(est, None, y)
