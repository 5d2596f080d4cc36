"""The long layout of MultiTaskEstimator (task_column): references, unseen tasks, pipelines."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl.model_selection import TaskStratifiedKFold
from skmtl.neural import MultiTaskEstimator

torch.set_num_threads(1)


def linear_tasks(n_tasks=6, sizes=None, seed=0, noise=0.05):
    """Long-layout data: task t's slope w_t = w + d_t on 2 features; task code in column 0."""
    rng = np.random.RandomState(seed)
    sizes = [30] * n_tasks if sizes is None else sizes
    task = np.repeat(np.arange(len(sizes)), sizes)
    X = rng.normal(size=(len(task), 2))
    W = np.array([1.0, -2.0]) + 0.5 * rng.normal(size=(len(sizes), 2))
    b = 0.5 * rng.normal(size=len(sizes))
    y = np.einsum("ij,ij->i", X, W[task]) + b[task] + noise * rng.normal(size=len(task))
    return np.column_stack([task, X]), y, task


def linear_fit(**params):
    """A long-layout network that is a linear model per task, trained to convergence."""
    base = dict(hidden_units=(), lr=0.05, max_epochs=400, batch_size=-1, random_state=0)
    return MultiTaskEstimator(task_column=0, **{**base, **params})


def task_coefs(est):
    """(T, p) slopes and (T,) intercepts v + U_t, c + b_t of a linear long-layout network."""
    m = est.module_
    dev = m.deviation.weight.detach().double().numpy()
    p = m.width
    W = m.shared.weight.detach().double().numpy()[0] + dev[:, :p]
    b = float(m.shared.bias.detach()) + dev[:, p]
    return W, b


def test_independent_tasks_match_per_task_least_squares():
    X, y, task = linear_tasks()
    est = linear_fit(coupling=0.0).fit(X, y)
    W, b = task_coefs(est)
    for t in range(6):
        ref = LinearRegression().fit(X[task == t, 1:], y[task == t])
        np.testing.assert_allclose(W[t], ref.coef_, atol=0.02)
        np.testing.assert_allclose(b[t], ref.intercept_, atol=0.02)


@pytest.mark.parametrize("task_weights", [None, "n_samples", {0: 3.0, 2: 0.5}])
def test_strong_coupling_is_one_model_with_task_mean_loss(task_weights):
    # Unequal task sizes: the default per-task mean weighs row i by 1/n_t (times w_t), the
    # "n_samples" weights give the plain row mean. With a huge coupling every deviation is 0
    # and the network is one weighted least-squares fit.
    sizes = [10, 40, 80, 20]
    X, y, task = linear_tasks(sizes=sizes, seed=1)
    n = np.bincount(task)
    if task_weights == "n_samples":
        row_w = np.ones(len(y))
    else:
        w = np.array([(task_weights or {}).get(t, 1.0) for t in range(4)])
        row_w = w[task] / n[task]
    est = linear_fit(coupling=1e4, task_weights=task_weights).fit(X, y)
    W, b = task_coefs(est)
    ref = LinearRegression().fit(X[:, 1:], y, sample_weight=row_w)
    np.testing.assert_allclose(W, np.tile(ref.coef_, (4, 1)), atol=0.02)
    np.testing.assert_allclose(b, ref.intercept_, atol=0.02)


def test_coupling_shrinks_tasks_towards_the_shared_head():
    X, y, _ = linear_tasks()
    spread = []
    for coupling in [0.0, 0.1, 10.0]:
        W, _ = task_coefs(linear_fit(coupling=coupling, max_epochs=200).fit(X, y))
        spread.append(float(np.linalg.norm(W - W.mean(axis=0))))
    assert spread[0] > spread[1] > spread[2]


def test_classification_long_layout():
    rng = np.random.RandomState(0)
    task = np.repeat(np.arange(8), 40)
    X = np.column_stack([task, rng.normal(size=(320, 2))])
    sign = np.where(task % 2 == 0, 1.0, -1.0)  # the decision flips between tasks
    y = np.where(sign * X[:, 1] > 0, "pos", "neg").astype(object)
    est = MultiTaskEstimator(
        task_column=0, hidden_units=(16,), lr=0.03, max_epochs=60, coupling=0.0, random_state=0
    ).fit(X, y)
    assert est.task_types_ == dict.fromkeys(range(8), "classification")
    assert est.score(X, y) > 0.9
    proba = est.predict_proba(X)
    assert proba.shape == (320, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(est.predict(X), est.classes_[0][proba.argmax(axis=1)])


def test_unknown_task_error_names_the_task_and_the_splitter():
    X, y, _ = linear_tasks()
    est = linear_fit(max_epochs=2).fit(X, y)
    X_new = X[:3].copy()
    X_new[:, 0] = 42
    with pytest.raises(ValueError, match=r"\['42.0'\].*TaskStratifiedKFold"):
        est.predict(X_new)


def test_unknown_task_mean_uses_the_shared_head():
    X, y, _ = linear_tasks()
    est = MultiTaskEstimator(
        task_column=0, hidden_units=(8,), max_epochs=20, unknown_task="mean", random_state=0
    ).fit(X, y)
    X_new = X[:5].copy()
    X_new[:, 0] = -7
    m = est.module_
    with torch.no_grad():
        shared = m.shared(m.trunk(torch.from_numpy(X_new[:, 1:].astype(np.float32))))[:, 0]
    np.testing.assert_allclose(est.predict(X_new), shared.double().numpy(), rtol=1e-6)
    assert not np.allclose(est.predict(X[:5]), est.predict(X_new))  # deviations are used


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_a_missing_task_label_in_a_string_column_is_a_clear_error(missing):
    """A missing label in a string task column (pandas gives NaN there) is refused like a NaN in
    a numeric one, in fit and in predict, even with unknown_task="mean" (not the shared head)."""
    X, y, task = linear_tasks(n_tasks=3)
    df = pd.DataFrame({"task": np.array(["a", "b", "c"], dtype=object)[task], "x0": X[:, 1],
                       "x1": X[:, 2]})
    bad = df.copy()
    bad.loc[4, "task"] = missing
    est = MultiTaskEstimator(task_column="task", hidden_units=(), max_epochs=2,
                             unknown_task="mean", random_state=0)
    with pytest.raises(ValueError, match=r"task column 'task' has 1 missing value"):
        est.fit(bad, y)
    est.fit(df, y)
    with pytest.raises(ValueError, match=r"task column 'task' has 1 missing value"):
        est.predict(bad)


def test_dataframe_task_column_by_name_and_position():
    X, y, _ = linear_tasks()
    frame = pd.DataFrame({"x1": X[:, 1], "school": X[:, 0].astype(int), "x2": X[:, 2]})
    by_name = MultiTaskEstimator(task_column="school", max_epochs=3, random_state=0)
    by_pos = MultiTaskEstimator(task_column=1, max_epochs=3, random_state=0)
    p1 = by_name.fit(frame, y).predict(frame)
    p2 = by_pos.fit(frame, y).predict(frame)
    np.testing.assert_allclose(p1, p2)
    assert list(by_name.feature_names_in_) == ["x1", "x2"]
    with pytest.raises(ValueError, match="task_column='nope' is not a column"):
        MultiTaskEstimator(task_column="nope").fit(frame, y)


def test_pipeline_with_column_transformer_and_grid_search():
    # The ColumnTransformer renames the passed-through column to "remainder__school": the
    # estimator is told the new name, the splitter (which sees the raw X) the original one.
    X, y, _ = linear_tasks(n_tasks=5)
    frame = pd.DataFrame({"school": X[:, 0].astype(int), "x1": X[:, 1], "x2": X[:, 2]})
    pre = ColumnTransformer(
        [("num", StandardScaler(), ["x1", "x2"])], remainder="passthrough"
    ).set_output(transform="pandas")
    est = MultiTaskEstimator(
        task_column="remainder__school", hidden_units=(8,), max_epochs=5, random_state=0
    )
    pipe = make_pipeline(pre, est)
    search = GridSearchCV(
        pipe,
        {"multitaskestimator__coupling": [0.0, 1.0]},
        cv=TaskStratifiedKFold(3, task_column="school", shuffle=True, random_state=0),
    ).fit(frame, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    fitted = search.best_estimator_
    inner = fitted[-1]
    assert inner.tasks_ == list(range(5))
    Z = pre.fit_transform(frame)
    assert "remainder__school" in Z.columns
    direct = MultiTaskEstimator(
        task_column="remainder__school",
        hidden_units=(8,),
        max_epochs=5,
        random_state=0,
        coupling=search.best_params_["multitaskestimator__coupling"],
    ).fit(Z, y)
    np.testing.assert_allclose(fitted.predict(frame), direct.predict(Z), rtol=1e-5)


def test_numpy_column_transformer_puts_the_remainder_last():
    X, y, _ = linear_tasks(n_tasks=3)
    pre = ColumnTransformer([("num", StandardScaler(), [1, 2])], remainder="passthrough")
    pipe = make_pipeline(pre, MultiTaskEstimator(task_column=-1, max_epochs=2, random_state=0))
    pipe.fit(X, y)
    assert pipe[-1].tasks_ == [0.0, 1.0, 2.0]


@pytest.fixture
def sparse_tables(monkeypatch):
    """Sparse deviation tables from any size on (the default threshold is 65,536 floats)."""
    import skmtl.neural._long_net as long_net

    monkeypatch.setattr(long_net, "SPARSE_MIN_SIZE", 0)


def test_a_step_touches_only_the_tasks_of_its_batch(sparse_tables):
    # More tasks (6) than rows in a batch (4): sparse gradients, lazily updated deviations.
    X, y, task = linear_tasks()
    est = MultiTaskEstimator(
        task_column=0, hidden_units=(4,), batch_size=4, max_epochs=2, random_state=0
    )
    est.fit(X, y)
    assert est.module_.deviation.sparse
    before = est.module_.deviation.weight.detach().clone()
    est.partial_fit(X[task == 2], y[task == 2])  # rows of task 2 only
    after = est.module_.deviation.weight.detach()
    changed = (after != before).any(dim=1).numpy()
    np.testing.assert_array_equal(changed, np.arange(6) == 2)


def test_history_records_every_task_and_n_iter():
    X, y, _ = linear_tasks(n_tasks=3)
    est = MultiTaskEstimator(task_column=0, max_epochs=3, train_split=0.3, random_state=0)
    est.fit(X, y)
    row = est.history_[-1]
    assert {f"valid_loss_{float(t)}" for t in range(3)} <= set(row)  # labels from a float X
    assert est.n_iter_ == 3 and est.best_epoch_ == 3


def test_pickle_and_warm_start_keep_the_long_layout():
    X, y, _ = linear_tasks(n_tasks=4)
    est = MultiTaskEstimator(task_column=0, max_epochs=3, random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(loaded.predict(X), est.predict(X))
    loaded.set_params(warm_start=True).fit(X, y)
    assert loaded.n_iter_ == 6


def test_y_with_several_columns_and_unsupported_options_raise():
    X, y, _ = linear_tasks(n_tasks=3)
    with pytest.raises(ValueError, match="one target column"):
        MultiTaskEstimator(task_column=0).fit(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="weighting='fixed'"):
        MultiTaskEstimator(task_column=0, weighting="pcgrad").fit(X, y)
    with pytest.raises(ValueError, match="head_units"):
        MultiTaskEstimator(task_column=0, head_units=(4,)).fit(X, y)
    with pytest.raises(ValueError, match="long layout"):
        MultiTaskEstimator(task_weights="n_samples").fit(X, np.column_stack([y, y]))
    est = MultiTaskEstimator(task_column=0, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="must contain it|out of range|features"):
        est.predict(X[:, 1:])


def test_missing_labels_are_rows_left_out():
    X, y, _ = linear_tasks(n_tasks=4)
    y_missing = y.copy()
    y_missing[::5] = np.nan
    keep = ~np.isnan(y_missing)
    params = dict(task_column=0, hidden_units=(4,), batch_size=-1, max_epochs=10, random_state=0)
    with_nan = MultiTaskEstimator(**params).fit(X, y_missing)
    dropped = MultiTaskEstimator(**params).fit(X[keep], y[keep])
    np.testing.assert_allclose(with_nan.predict(X), dropped.predict(X), rtol=1e-4, atol=1e-6)
    assert np.isfinite(with_nan.history_[:, "train_loss"]).all()


@pytest.mark.parametrize("batch_size, max_epochs", [(2, 30), (64, 300)])
def test_sparse_and_dense_tables_learn_the_same_model(batch_size, max_epochs, sparse_tables):
    # Fewer tasks than rows in a batch: a dense table and the estimator's optimiser; more: the
    # sparse table and SparseAdam. Both minimise the same objective (a reference fit).
    X, y, task = linear_tasks(n_tasks=4, noise=0.05)
    est = MultiTaskEstimator(
        task_column=0,
        hidden_units=(),
        coupling=0.0,
        lr=0.05,
        max_epochs=max_epochs,
        batch_size=batch_size,
        random_state=0,
    ).fit(X, y)
    assert est.module_.deviation.sparse == (batch_size == 2)
    W, _ = task_coefs(est)
    for t in range(4):
        ref = LinearRegression().fit(X[task == t, 1:], y[task == t])
        np.testing.assert_allclose(W[t], ref.coef_, atol=0.1)


def test_small_tables_are_dense_large_ones_sparse():
    from skmtl.neural._long_net import use_sparse_heads

    assert not use_sparse_heads(1000, 33, 256)  # 33,000 floats: dense Adam is cheaper
    assert use_sparse_heads(3000, 33, 256)
    assert not use_sparse_heads(3000, 33, -1)  # the full batch holds every task
