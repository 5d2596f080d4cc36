"""GridSearchCV on a dask.distributed LocalCluster (127.0.0.1) gives the sequential results.

Skipped where dask.distributed is not installed (``pip install skmtl[distributed]``; the ``dev``
extra includes it, so CI runs these tests).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")
pd = pytest.importorskip("pandas")

from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402

from skmtl.linear import MeanRegularizedRegressor  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dask_client():
    """Two worker processes with one thread each, loopback only, no dashboard."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        # Processes, not threads: skmtl seeds torch's global generator during a fit, so two
        # fits in threads of one process would draw from one generator and not reproduce.
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
        # dask's nanny also sets OMP_NUM_THREADS=1 for its workers; torch reads it at import.
        env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    )
    client = distributed.Client(cluster, timeout="60s")
    try:
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)


def _search_both_ways(client, estimator, grid, X, y):
    cv = KFold(3, shuffle=True, random_state=0)
    sequential = GridSearchCV(estimator, grid, cv=cv, n_jobs=1).fit(X, y)
    with (
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_backend("dask", wait_for_workers_timeout=60),
    ):
        on_cluster = GridSearchCV(estimator, grid, cv=cv, n_jobs=2).fit(X, y)
    # The cross-validation fits ran as tasks on the cluster's workers (joblib batches them).
    workers = set(client.scheduler_info()["workers"])
    assert tasks.data and {t["worker"] for t in tasks.data} <= workers
    assert on_cluster.best_params_ == sequential.best_params_
    np.testing.assert_array_equal(
        on_cluster.cv_results_["rank_test_score"], sequential.cv_results_["rank_test_score"]
    )
    for key in ["mean_test_score", *(f"split{i}_test_score" for i in range(3))]:
        np.testing.assert_allclose(
            on_cluster.cv_results_[key], sequential.cv_results_[key], rtol=1e-6, atol=1e-9
        )
    return on_cluster


def test_multitask_estimator_task_weights_search_on_dask(dask_client):
    torch = pytest.importorskip("torch")
    from skmtl.neural import MultiTaskEstimator

    torch.set_num_threads(1)  # as the workers: the same arithmetic, the same results
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 4)).astype(np.float32)
    y = pd.DataFrame(
        {
            "label": np.where(X[:, 0] + 0.3 * rng.normal(size=90) > 0, "a", "b"),
            "value": X[:, 1] - X[:, 2] + 0.1 * rng.normal(size=90),
        }
    )
    est = MultiTaskEstimator(
        hidden_units=(8,), max_epochs=8, batch_size=32, lr=0.01, random_state=0
    )
    grid = {"task_weights": [{"label": 1.0, "value": w} for w in (0.0, 0.3, 3.0)]}
    search = _search_both_ways(dask_client, est, grid, X, y)
    assert set(search.best_estimator_.predict(X).columns) == {"label", "value"}


def test_linear_search_on_dask(dask_client):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5))
    Y = X @ rng.normal(size=(5, 3)) + 0.1 * rng.normal(size=(60, 3))
    grid = {"alpha": [0.01, 0.1, 1.0], "coupling": [0.1, 10.0]}
    _search_both_ways(dask_client, MeanRegularizedRegressor(), grid, X, Y)
