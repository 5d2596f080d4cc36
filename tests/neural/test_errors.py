"""Bad input: clear errors naming the task or parameter, never a torch stack trace."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skmtl.neural import MultiTaskEstimator, TrainingDivergedError, TrainingDivergedWarning


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    return X, {"c": np.where(X[:, 0] > 0, "p", "n"), "r": X[:, 1] + 0.1 * rng.normal(size=40)}


def est(**kwargs):
    params = dict(hidden_units=(4,), max_epochs=2, random_state=0)
    return MultiTaskEstimator(**{**params, **kwargs})


def test_tasks_of_different_lengths(data):
    X, y = data
    with pytest.raises(ValueError, match=r"different numbers of samples \('c': 40, 'r': 39\)"):
        est().fit(X, {"c": y["c"], "r": y["r"][:-1]})
    with pytest.raises(ValueError, match="X has 39 samples but the tasks in y have 40"):
        est().fit(X[:-1], y)


def test_task_without_labels(data):
    X, y = data
    with pytest.raises(ValueError, match="Task 'r' has no labels"):
        est().fit(X, {**y, "r": np.full(40, np.nan)})


def test_classification_task_with_one_class(data):
    X, y = data
    with pytest.raises(ValueError, match="task 'c' has only one class \\('p'\\)"):
        est().fit(X, {**y, "c": np.array(["p"] * 40, dtype=object)})


@pytest.mark.parametrize("param", ["task_weights", "task_types", "task_losses"])
def test_unknown_task_in_per_task_parameter(data, param):
    X, y = data
    value = {"task_weights": 1.0, "task_types": "regression", "task_losses": "mse"}[param]
    with pytest.raises(ValueError, match=f"{param} names unknown task 'x'; the tasks of y"):
        est(**{param: {"x": value}}).fit(X, y)


@pytest.mark.parametrize("weight", [-1.0, np.nan, np.inf])
def test_negative_or_non_finite_weight(data, weight):
    X, y = data
    with pytest.raises(ValueError, match=r"task_weights\['r'\] = .*finite and >= 0"):
        est(task_weights={"r": weight}).fit(X, y)
    with pytest.raises(TypeError, match=r"task_weights\['r'\] must be a number"):
        est(task_weights={"r": "heavy"}).fit(X, y)


def test_task_loss_unsuited_to_the_task(data):
    X, y = data
    with pytest.raises(ValueError, match="does not suit a classification task"):
        est(task_losses={"c": "mse"}).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_X(data, bad):
    X, y = data
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        est().fit(X, y)
    fitted = est().fit(data[0], y)
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        fitted.predict(X)


def test_wrong_number_of_features_at_predict(data):
    X, y = data
    fitted = est().fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but MultiTaskEstimator is expecting 3"):
        fitted.predict(X[:, :2])


def test_y_none_and_unexpected_parameter(data):
    X, y = data
    with pytest.raises(ValueError, match="requires y to be passed"):
        est().fit(X, None)
    with pytest.raises(TypeError, match="unexpected parameter 'hiden_units'"):
        MultiTaskEstimator(hiden_units=(3,)).fit(X, y)
    with pytest.raises(TypeError, match="invalid keyword argument 'fit'"):
        MultiTaskEstimator(fit=3)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lr": -1.0}, "'lr' parameter"),
        ({"max_epochs": 0}, "'max_epochs' parameter"),
        ({"dropout": 1.0}, "'dropout' parameter"),
        ({"train_split": 1.5}, "'train_split' parameter"),
        ({"hidden_units": (4, 0)}, "hidden_units must hold positive integers"),
        ({"activation": "swish"}, "activation='swish' is not one of"),
    ],
)
def test_invalid_constructor_parameters_fail_at_fit(data, params, match):
    X, y = data
    model = MultiTaskEstimator(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)


def test_divergence_in_first_epoch_raises_naming_task_and_lr_and_leaves_no_model(data):
    X, y = data
    y = {**y, "r": 1e20 * y["r"]}  # squared errors overflow float32 in the first batch
    bad = dict(optimizer=torch.optim.SGD, lr=10.0, max_epochs=20)
    with pytest.raises(TrainingDivergedError, match=r"task 'r'.*lr=10\.0"):
        est(**bad).fit(X, y)
    model = est(**bad)
    with pytest.raises(FloatingPointError, match="Training diverged in epoch 1"):
        model.fit(X, y)
    with pytest.raises(NotFittedError):
        model.predict(X)  # never NaN predictions


def test_divergence_later_keeps_last_finite_epoch_with_a_warning(data):
    # Issue 6: a divergence after finite epochs stops training and restores the last finite
    # parameters (it used to raise and drop the model); never NaN predictions.
    X, y = data
    y = {**y, "r": 1e4 * y["r"]}
    bad = dict(optimizer=torch.optim.SGD, lr=10.0, max_epochs=20)
    with pytest.warns(TrainingDivergedWarning, match=r"task 'r'.*lr=10\.0.*keeps the param"):
        model = est(**bad).fit(X, y)
    assert 0 < len(model.history_) < 20
    assert np.isfinite(model.predict(X)["r"]).all()
    model = est().fit(X, y)  # a good fit, then a warm start that diverges: back to the good fit
    model.set_params(warm_start=True, **bad)
    with pytest.warns(TrainingDivergedWarning, match="Training diverged"):
        model.fit(X, y)
    assert np.isfinite(model.predict(X)["r"]).all()
    assert len(model.history_) >= 2


def test_cuda_device_without_cuda_is_a_clear_error(data):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")  # pragma: no cover
    X, y = data
    with pytest.raises(ValueError, match="device='cuda' was requested but CUDA is not available"):
        est(device="cuda").fit(X, y)


def test_module_that_omits_a_task(data):
    X, y = data

    class OneHead(torch.nn.Module):
        def __init__(self, n_features_in, task_outputs):
            super().__init__()
            self.lin = torch.nn.Linear(n_features_in, 1)

        def forward(self, X):
            return {"r": self.lin(X)}

    with pytest.raises(ValueError, match="no entry for task 'c'"):
        est(module=OneHead).fit(X, y)


def test_score_with_unknown_task_or_wrong_length(data):
    X, y = data
    fitted = est().fit(X, y)
    with pytest.raises(ValueError, match=r"tasks \['z'\] that the estimator was not fitted on"):
        fitted.score(X, {"z": y["r"]})
    with pytest.raises(ValueError, match="X has 40 samples but y has 39"):
        fitted.score(X, {"r": y["r"][:-1]})
    with pytest.raises(ValueError, match="no labels for any task"):
        fitted.score(X, {"r": np.full(40, np.nan)})
