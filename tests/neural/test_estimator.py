"""MultiTaskEstimator: containers in and out, predictions, scores, pickling, parameters."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from skorch.helper import SliceDict

from skmtl.neural import MultiTaskEstimator


def small(**kwargs):
    params = dict(hidden_units=(16,), lr=0.01, max_epochs=20, batch_size=64, random_state=0)
    params.update(kwargs)
    return MultiTaskEstimator(**params)


@pytest.fixture(scope="module")
def fitted(request):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    species = np.array(["a", "b", "c"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    sex = np.where(X[:, 1] > 0, "f", "m").astype(object)
    sex[rng.rand(200) < 0.2] = None
    mass = 2.0 * X[:, 2] - X[:, 3] + 0.1 * rng.normal(size=200)
    y = {"species": species, "sex": sex, "mass": mass}
    return X, y, small(max_epochs=40).fit(X, y)


def test_types_classes_and_fitted_attributes(fitted):
    X, y, est = fitted
    assert est.tasks_ == ["species", "sex", "mass"]
    assert est.task_types_ == {
        "species": "classification",
        "sex": "classification",
        "mass": "regression",
    }
    assert est.classes_["species"].tolist() == ["a", "b", "c"]
    assert est.classes_["sex"].tolist() == ["f", "m"]
    assert est.task_weights_ == {"species": 1.0, "sex": 1.0, "mass": 1.0}
    assert est.n_features_in_ == 4
    assert est.module_ is est.net_.module_
    assert isinstance(est.module_, torch.nn.Module)


def test_predict_dict_keeps_label_types_and_learns(fitted):
    X, y, est = fitted
    pred = est.predict(X)
    assert type(pred) is dict and list(pred) == ["species", "sex", "mass"]
    assert set(pred["species"]) <= {"a", "b", "c"} and isinstance(pred["species"][0], str)
    assert pred["mass"].dtype == np.float64 and pred["mass"].shape == (200,)
    assert accuracy_score(y["species"], pred["species"]) > 0.9
    assert r2_score(y["mass"], pred["mass"]) > 0.9


def test_score_tasks_match_independent_metrics_on_labelled_samples(fitted):
    X, y, est = fitted
    pred = est.predict(X)
    lab = np.array([s is not None for s in y["sex"]])
    expected = {
        "species": accuracy_score(y["species"], pred["species"]),
        "sex": accuracy_score(y["sex"][lab].astype(str), pred["sex"][lab].astype(str)),
        "mass": r2_score(y["mass"], pred["mass"]),
    }
    scores = est.score_tasks(X, y)
    assert scores == pytest.approx(expected)
    assert est.score(X, y) == pytest.approx(np.mean(list(expected.values())))
    assert est.score_tasks(X, {"mass": y["mass"]}) == pytest.approx({"mass": expected["mass"]})


def test_predict_proba_dict(fitted):
    X, y, est = fitted
    proba = est.predict_proba(X)
    assert sorted(proba) == ["sex", "species"]
    assert proba["species"].shape == (200, 3) and proba["sex"].shape == (200, 2)
    np.testing.assert_allclose(proba["species"].sum(axis=1), 1.0)
    labels = est.classes_["species"][proba["species"].argmax(axis=1)]
    np.testing.assert_array_equal(labels, est.predict(X)["species"])


def test_predictions_invariant_to_sample_order_and_subsets(fitted):
    X, y, est = fitted
    perm = np.random.RandomState(1).permutation(len(X))
    full, proba = est.predict(X), est.predict_proba(X)
    shuffled, proba_shuffled = est.predict(X[perm]), est.predict_proba(X[perm])
    half = est.predict(X[:50])
    for task in est.tasks_:
        np.testing.assert_array_equal(shuffled[task], full[task][perm])
        if est.task_types_[task] == "classification":
            np.testing.assert_array_equal(half[task], full[task][:50])
        else:  # float32 matrix products of different sizes may round differently
            np.testing.assert_allclose(half[task], full[task][:50], rtol=1e-6)
    for task in proba:
        np.testing.assert_allclose(proba_shuffled[task], proba[task][perm], rtol=0, atol=1e-9)


def test_pickle_round_trip(fitted):
    X, y, est = fitted
    clone_ = pickle.loads(pickle.dumps(est))
    for task, values in est.predict(X).items():
        np.testing.assert_array_equal(clone_.predict(X)[task], values)
    assert clone_.history_[:, "train_loss"] == est.history_[:, "train_loss"]


def test_dataframe_in_dataframe_out_with_index_and_columns(mixed_data):
    X, y = mixed_data
    frame = pd.DataFrame(y, index=np.arange(1000, 1200))
    Xf = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"], index=frame.index)
    est = small(max_epochs=3).fit(Xf, frame)
    pred = est.predict(Xf.iloc[10:20])
    assert isinstance(pred, pd.DataFrame)
    assert list(pred.columns) == ["species", "sex", "mass"]
    assert list(pred.index) == list(range(1010, 1020))
    assert est.feature_names_in_.tolist() == ["f0", "f1", "f2", "f3"]
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        pred = est.predict(X[:5])  # an array X gets a default index
    assert list(pred.index) == [0, 1, 2, 3, 4]


def test_array_targets_in_array_out():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(np.int64)
    est = small(max_epochs=5).fit(X, Y)
    assert est.tasks_ == [0, 1]
    pred = est.predict(X)
    assert pred.shape == (60, 2) and pred.dtype == np.int64
    proba = est.predict_proba(X)
    assert isinstance(proba, list) and [p.shape for p in proba] == [(60, 2), (60, 2)]
    Yf = np.column_stack([X[:, 0], X[:, 1] > 0]).astype(float)
    est = small(max_epochs=3, task_types={1: "classification"}).fit(X, Yf)
    assert est.predict(X).dtype == np.float64
    proba = est.predict_proba(X)
    assert proba[0] is None and proba[1].shape == (60, 2)


def test_one_dimensional_target_is_one_task():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 2))
    est = small(max_epochs=3).fit(X, np.where(X[:, 0] > 0, "u", "v"))
    assert est.tasks_ == [0]
    assert est.predict(X).shape == (40,)
    assert est.predict_proba(X).shape == (40, 2)


def test_slicedict_in_slicedict_out(mixed_data):
    X, y = mixed_data
    est = small(max_epochs=2).fit(X, SliceDict(**y))
    pred = est.predict(X)
    assert isinstance(pred, SliceDict) and len(pred) == len(X)


def test_predict_proba_absent_without_classification_task():
    X = np.random.RandomState(0).normal(size=(30, 2))
    est = small(max_epochs=2).fit(X, {"r": X[:, 0]})
    assert not hasattr(est, "predict_proba")
    assert hasattr(MultiTaskEstimator(), "predict_proba")


def test_unfitted_raises_not_fitted():
    est = MultiTaskEstimator()
    for method in (est.predict, est.predict_proba):
        with pytest.raises(NotFittedError):
            method(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        _ = est.history_


def test_routed_parameters_get_set_clone():
    est = MultiTaskEstimator(optimizer__weight_decay=0.1, module__dropout=0.2)
    params = est.get_params()
    assert params["optimizer__weight_decay"] == 0.1 and params["module__dropout"] == 0.2
    est.set_params(optimizer__momentum=0.5, lr=0.5)
    assert est.get_params()["optimizer__momentum"] == 0.5 and est.lr == 0.5
    cloned = clone(est)
    assert cloned.get_params()["optimizer__momentum"] == 0.5
    assert "optimizer__momentum=0.5" in repr(est)


def test_routed_parameters_reach_the_components(mixed_data):
    X, y = mixed_data
    est = small(
        max_epochs=1,
        optimizer=torch.optim.SGD,
        optimizer__momentum=0.9,
        module__dropout=0.25,
    ).fit(X, y)
    assert est.net_.optimizer_.param_groups[0]["momentum"] == 0.9
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.25 for m in est.module_.modules())


def test_default_module_architecture(mixed_data):
    X, y = mixed_data
    est = small(hidden_units=(8, 6), head_units=(5,), batch_norm=True, dropout=0.1, max_epochs=1)
    module = est.fit(X, y).module_
    linears = [m for m in module.trunk if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 8), (8, 6)]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in module.modules()) == 2 + 3
    outs = [head[-1].out_features for head in module.heads]
    assert outs == [3, 2, 1]


class _TwoTowers(torch.nn.Module):
    """A user architecture: no shared layer, a tower of `width` units per task."""

    def __init__(self, n_features_in, task_outputs, width=4):
        super().__init__()
        self.width = width
        self.tasks = list(task_outputs)
        self.towers = torch.nn.ModuleList(
            torch.nn.Sequential(
                torch.nn.Linear(n_features_in, width), torch.nn.Tanh(), torch.nn.Linear(width, k)
            )
            for k in task_outputs.values()
        )

    def forward(self, X):
        return {t: tower(X) for t, tower in zip(self.tasks, self.towers, strict=True)}


def test_custom_module_class_with_routed_parameters(mixed_data):
    X, y = mixed_data
    est = small(module=_TwoTowers, module__width=7, max_epochs=20).fit(X, y)
    assert isinstance(est.module_, _TwoTowers) and est.module_.width == 7
    assert est.score_tasks(X, y)["species"] > 0.8


def test_custom_module_instance_is_copied(mixed_data):
    X, y = mixed_data
    module = _TwoTowers(4, {"species": 3, "sex": 2, "mass": 1})
    before = [p.detach().clone() for p in module.parameters()]
    est = small(module=module, max_epochs=3).fit(X, y)
    assert est.module_ is not module
    for p, q in zip(before, module.parameters(), strict=True):
        assert torch.equal(p, q)  # the constructor parameter is left untouched
