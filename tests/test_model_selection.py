import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from skmtl.linear import MeanRegularizedRegressor
from skmtl.model_selection import TaskStratifiedKFold


def test_every_fold_holds_every_task_and_folds_partition_rows():
    task = np.repeat(["a", "b", "c"], [7, 9, 12])
    X = pd.DataFrame({"f": np.arange(28.0), "task": task})
    seen = []
    for train, test in TaskStratifiedKFold(3, task_column="task").split(X):
        assert set(task[test]) == {"a", "b", "c"} and set(task[train]) == {"a", "b", "c"}
        assert not set(train) & set(test)
        seen.extend(test)
    assert sorted(seen) == list(range(28))


def test_in_grid_search_on_sorted_long_data():
    rng = np.random.default_rng(0)
    task = np.repeat(np.arange(6), 15)  # sorted by task: KFold would hold whole tasks out
    X = np.column_stack([rng.normal(size=(90, 3)), task])
    y = X[:, 0] + task + 0.1 * rng.normal(size=90)
    search = GridSearchCV(
        MeanRegularizedRegressor(task_column=3),
        {"alpha": [0.01, 1.0]},
        cv=TaskStratifiedKFold(3, task_column=3),
        error_score="raise",
    )
    search.fit(X, y)
    assert search.best_params_ == {"alpha": 0.01}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_bad_task_column():
    with pytest.raises(ValueError, match="not a column"):
        list(TaskStratifiedKFold(2, task_column="x").split(pd.DataFrame({"a": [1, 2]})))
    with pytest.raises(TypeError, match="not a DataFrame"):
        list(TaskStratifiedKFold(2, task_column="x").split(np.zeros((4, 2))))
