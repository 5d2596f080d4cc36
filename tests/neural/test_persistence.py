"""Secure persistence of MultiTaskEstimator: skops with skmtl types only, pickle, tampering."""

import copy
import inspect
import io
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator

import skmtl
import skmtl.linear
import skmtl.neural
from skmtl.neural import MultiTaskEstimator
from skmtl.neural.architectures import ARCHITECTURES

sio = pytest.importorskip("skops.io")

from skmtl.io import UntrustedTypesError, load, save, trusted_types  # noqa: E402
from skmtl.neural._state import _resolve  # noqa: E402


def make_data(n=30):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 3))
    sex = np.where(X[:, 1] > 0, "f", "m").astype(object)
    sex[::4] = None
    y = {"species": np.array(["a", "b", "c"])[np.digitize(X[:, 0], [-0.5, 0.5])], "sex": sex}
    y["mass"] = X[:, 2] + 0.1 * rng.normal(size=n)
    return X, y


def est(**kwargs):
    params = dict(hidden_units=(4,), max_epochs=2, batch_size=16, random_state=0)
    return MultiTaskEstimator(**{**params, **kwargs})


def round_trip(model):
    buf = io.BytesIO()
    save(model, buf)
    buf.seek(0)
    return load(buf)


def assert_same_predictions(a, b, X):
    pa, pb = a.predict(X), b.predict(X)
    if isinstance(pa, pd.DataFrame):
        pd.testing.assert_frame_equal(pa, pb)
        return
    if isinstance(pa, dict):
        for task in pa:
            assert_array_equal(pa[task], pb[task])
    else:
        assert_array_equal(pa, pb)
    proba_a, proba_b = a.predict_proba(X), b.predict_proba(X)
    for task in proba_a:
        assert_array_equal(proba_a[task], proba_b[task])


CASES = {f"architecture={name}": dict(architecture=name) for name in ARCHITECTURES}
CASES.update(
    {
        "weighting=uncertainty": dict(weighting="uncertainty"),
        "weighting=dwa": dict(weighting="dwa"),
        "weighting=pcgrad": dict(weighting="pcgrad"),
        "weighting=gradnorm": dict(weighting="gradnorm"),
        "batch_norm+dropout+SGD": dict(
            batch_norm=True, dropout=0.1, optimizer=torch.optim.SGD, activation=torch.nn.Tanh
        ),
        "task_weights+losses": dict(task_weights={"mass": 0.5}, task_losses={"mass": "huber"}),
        "head_units+validation": dict(head_units=(3,), train_split=0.2),
    }
)


@pytest.mark.parametrize("params", list(CASES.values()), ids=list(CASES))
def test_skops_round_trip_with_skmtl_types_only(params):
    X, y = make_data()
    model = est(**params).fit(X, y)
    buf = io.BytesIO()
    save(model, buf)
    untrusted = sio.get_untrusted_types(data=buf.getvalue())
    assert untrusted and all(t.startswith("skmtl.") for t in untrusted), untrusted
    loaded = round_trip(model)
    assert type(loaded) is MultiTaskEstimator
    assert_same_predictions(model, loaded, X)
    assert loaded.get_params() == model.get_params()
    assert len(loaded.history_) == len(model.history_)
    for key, value in model.module_.state_dict().items():
        assert torch.equal(loaded.module_.state_dict()[key], value)


def test_skops_file_holds_no_pickled_blob_or_tensor(tmp_path):
    X, y = make_data()
    path = tmp_path / "model.skops"
    save(est().fit(X, y), path)
    import zipfile

    with zipfile.ZipFile(path) as zf:
        schema = zf.read("schema.json").decode()
    assert "torch.Tensor" not in schema and "pickle" not in schema.lower()
    assert '"__loader__": "ObjectNode"' in schema.replace("'", '"') or "ObjectNode" in schema


def test_pandas_targets_round_trip():
    X, y = make_data()
    frame = pd.DataFrame(
        {
            "species": pd.Categorical(y["species"]),
            "sex": pd.array(y["sex"], dtype="string"),
            "mass": y["mass"],
            "n": pd.array(np.arange(len(X)) % 3, dtype="Int64"),
        }
    )
    Xf = pd.DataFrame(X, columns=["a", "b", "c"], index=np.arange(len(X)) + 100)
    model = est().fit(Xf, frame)
    loaded = round_trip(model)
    assert all(t.startswith("skmtl.") for t in sio.get_untrusted_types(data=sio.dumps(model)))
    pd.testing.assert_frame_equal(model.predict(Xf), loaded.predict(Xf))
    assert isinstance(loaded.predict(Xf)["species"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("kind", ["array", "slicedict"])
def test_other_target_kinds_round_trip(kind):
    X, y = make_data()
    if kind == "array":
        target = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    else:
        from skorch.helper import SliceDict

        target = SliceDict(**{k: v for k, v in y.items() if k != "sex"})
    model = est().fit(X, target)
    loaded = round_trip(model)
    pa, pb = model.predict(X), loaded.predict(X)
    if kind == "array":
        assert_array_equal(pa, pb)
        assert pa.dtype == pb.dtype
    else:
        assert type(pb) is type(pa)
        for task in pa:
            assert_array_equal(pa[task], pb[task])


def test_unfitted_estimator_round_trips():
    loaded = round_trip(est(optimizer=torch.optim.AdamW, optimizer__weight_decay=0.1))
    assert (
        loaded.get_params()
        == est(optimizer=torch.optim.AdamW, optimizer__weight_decay=0.1).get_params()
    )
    assert not hasattr(loaded, "net_")


def test_pickle_and_deepcopy_round_trip_and_continue():
    X, y = make_data()
    model = est(architecture="mmoe").fit(X, y)
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert_same_predictions(model, other, X)
        other.partial_fit(X, y)  # the optimiser state came along: training continues
        assert len(other.history_) == 4
    # the pickled state holds arrays, not torch objects
    state = model.__getstate__()
    assert "net_" not in state
    assert all(isinstance(v, np.ndarray) for v in state["_net_state_"]["module"].values())


def test_file_with_untrusted_type_is_refused(tmp_path):
    X, y = make_data()
    model = est().fit(X, y)
    model.payload_ = Evil()  # a tampered file carrying a foreign object
    path = tmp_path / "evil.skops"
    save(model, path)
    with pytest.raises(UntrustedTypesError, match=r"test_persistence\.Evil"):
        load(path)
    with pytest.raises(Exception, match="Untrusted types"):
        sio.load(path)  # skops alone refuses too


def test_user_module_class_must_be_trusted_explicitly():
    X, y = make_data()
    model = est(module=TinyNet).fit(X, y)
    buf = io.BytesIO()
    save(model, buf)
    buf.seek(0)
    with pytest.raises(UntrustedTypesError, match="TinyNet"):
        load(buf)
    buf.seek(0)
    loaded = load(buf, trusted=[f"{TinyNet.__module__}.TinyNet"])
    assert_same_predictions(model, loaded, X)


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "torch.save", "torch.Tensor"])
def test_class_names_resolve_to_torch_optimisers_and_modules_only(name):
    with pytest.raises(ValueError):
        _resolve(name)
    assert _resolve("torch.optim.adam.Adam") is torch.optim.Adam


def test_every_public_estimator_is_covered():
    # every linear estimator round-trips in tests/linear/test_persistence_linear.py, which
    # discovers them from skmtl.linear.__all__; the neural ones are tested here
    linear_test = (Path(__file__).parents[1] / "linear" / "test_persistence_linear.py").read_text()
    assert 'instances("quick")' in linear_test
    public = {
        name
        for mod in (skmtl, skmtl.neural)
        for name, obj in vars(mod).items()
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator)
        and name not in skmtl.linear.__all__
    }
    # MultiTaskNet, the skorch net, is saved inside the MultiTaskEstimator that holds it
    assert public <= {"MultiTaskEstimator", "MultiTaskNet"}, public
    assert "MultiTaskEstimator" in public


def test_skorch_net_is_not_trusted():
    # skorch's NeuralNet.__setstate__ unpickles a blob of its state, out of skops' sight: a file
    # naming MultiTaskNet could run code, so skmtl.io does not trust it (skmtl's other classes
    # are trusted; a module's tensors are audited types).
    names = trusted_types()
    assert "skmtl.neural._net.MultiTaskNet" not in names
    assert "skmtl.neural._estimator.MultiTaskEstimator" in names


class Evil:
    """A type that is not skmtl's: loading it must be refused."""


class TinyNet(torch.nn.Module):
    """A user architecture: one linear layer per task."""

    def __init__(self, n_features_in, task_outputs):
        super().__init__()
        self.tasks = list(task_outputs)
        self.heads = torch.nn.ModuleList(
            torch.nn.Linear(n_features_in, k) for k in task_outputs.values()
        )

    def forward(self, X):
        return {t: head(X) for t, head in zip(self.tasks, self.heads, strict=True)}
