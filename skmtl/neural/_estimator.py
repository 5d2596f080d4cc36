"""MultiTaskEstimator: a shared-parameter network over a dict of targets, trained by skorch."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _targets
from ..metrics import task_score
from ._build import build_net, make_train_split, net_architecture, update_training_params
from ._config import KWARG_PREFIXES, check_units, task_seed
from ._errors import TrainingDivergedError
from ._out_of_core import as_features, check_out_of_core, is_out_of_core
from ._snapshot import recover_from_divergence, training_rng
from ._state import get_state, rebuild_net, set_state
from .architectures import ARCHITECTURES, check_architecture_params, module_gate_weights
from .weighting import WEIGHTINGS, Weighting

__all__ = ["MultiTaskEstimator"]


def _target_scale(spec, Y: np.ndarray) -> dict:
    """Mean and standard deviation of each regression target over its labelled samples (a
    constant target keeps the scale 1)."""
    scale = {}
    for j, task in enumerate(spec.names):
        if spec.types[task] != "regression":
            continue
        col = Y[:, j][~np.isnan(Y[:, j])].astype(np.float64)
        std = float(col.std()) if col.size else 1.0
        scale[task] = (float(col.mean()) if col.size else 0.0, std if std > 0 else 1.0)
    return scale


def _has_classification_task(est: MultiTaskEstimator) -> bool:
    # Unfitted: keep the method visible so that calling it raises NotFittedError.
    return not hasattr(est, "task_types_") or "classification" in est.task_types_.values()


class MultiTaskEstimator(BaseEstimator):
    r"""Multi-task network: a shared trunk, one head per task, trained on a weighted sum of losses.

    The default network (:class:`~skmtl.neural.MultiTaskMLP`) computes a shared representation
    :math:`h(x)` and, for every task :math:`t`, an output :math:`f_t(x) = g_t(h(x))` from the task's
    own head: one logit per class for a classification task, one value for a regression task.
    Training minimises, by mini-batch gradient steps (skorch), the weighted sum of the per-task
    losses, each averaged over the samples of the batch :math:`B` that have a label for that task,
    :math:`B_t = \{i \in B : y_{it} \text{ is not missing}\}`:

    .. math::

        L(\theta) = \sum_{t=1}^{T} w_t \, \frac{1}{|B_t|} \sum_{i \in B_t}
                    \ell_t\big(f_t(x_i; \theta), y_{it}\big),

    where :math:`\ell_t` is the cross-entropy for classification and the squared error for
    regression (or ``task_losses[t]``), :math:`w_t` is ``task_weights[t]`` (1 by default), and a
    task with no label in a batch (:math:`B_t = \emptyset`) contributes 0.

    Parameters
    ----------
    module : nn.Module class or instance, default=None
        The network. None builds the network named by ``architecture``, sized by
        ``hidden_units``, ``head_units``, ``activation``, ``dropout``, ``batch_norm`` and the
        architecture's own parameters (``n_experts``, ...). A class is called as
        ``module(n_features_in=..., task_outputs={task: n_outputs}, **module__params)`` and its
        ``forward(X)`` must return a dict ``{task: Tensor}``; an instance is used as it is (a copy
        of it is trained). ``module__*`` keyword arguments are passed to the class.
    architecture : str, default="shared_bottom"
        The built-in network (with ``module=None``), a key of
        :data:`skmtl.neural.architectures.ARCHITECTURES`: ``"shared_bottom"`` (a shared trunk,
        :class:`~skmtl.neural.MultiTaskMLP`), ``"mmoe"`` (multi-gate mixture of experts),
        ``"ple"`` (progressive layered extraction), ``"cross_stitch"`` (one column per task with
        cross-stitch units) or ``"dselect_k"`` (experts with sparse DSelect-k gates). See
        :meth:`gate_weights` and the architectures guide.
    hidden_units : tuple of int, default=(64, 64)
        Widths of the hidden layers of the shared trunk (``"shared_bottom"``; ``()`` for none),
        of each expert (``"mmoe"``, ``"ple"``, ``"dselect_k"``) or of each task's column
        (``"cross_stitch"``).
    head_units : tuple of int, default=()
        Widths of each task's own hidden layers (its tower) before its output layer.
    activation : str or nn.Module class, default="relu"
        Hidden-layer activation of the default module ("relu", "tanh", "gelu", ...).
    dropout : float, default=0.0
        Dropout probability after each hidden layer of the default module.
    batch_norm : bool, default=False
        Batch normalisation after each hidden linear layer of the default module.
    n_experts : int, default=None
        Number of experts shared by the tasks: ``"mmoe"`` (None: 4), ``"dselect_k"`` (a power
        of 2; None: 4), ``"ple"`` (shared experts per level; None: 2). Other architectures
        reject it, as they reject every architecture parameter below that they do not take.
    n_task_experts : int, default=None
        ``"ple"`` only: experts of each task, per level (None: 1).
    n_levels : int, default=None
        ``"ple"`` only: number of stacked extraction levels (None: 2).
    top_k : int, default=None
        ``"dselect_k"`` only: the most experts a task's trained gate selects (None: 2).
    task_types : dict, default=None
        Task name -> ``"classification"`` or ``"regression"``, overriding the type inferred from
        the target's dtype (floating point: regression; anything else: classification).
    task_weights : dict, default=None
        Task name -> non-negative weight :math:`w_t`; tasks not named weigh 1. With another
        ``weighting`` strategy, the strategy balances the scaled losses :math:`w_t L_t`.
    weighting : str or Weighting instance, default="fixed"
        The task-weighting strategy (see :mod:`skmtl.neural.weighting` and the weighting guide):
        ``"fixed"`` (the weighted sum above), loss-level ``"uncertainty"``, ``"dwa"``, ``"rlw"``,
        ``"gradnorm"``, or gradient-level ``"pcgrad"``, ``"mgda"``, ``"cagrad"``, ``"imtl"``,
        ``"aligned_mtl"``, ``"nash_mtl"``, ``"upgrad"``, ``"graddrop"``, ``"gradvac"``; or an
        instance such as ``CAGrad(c=0.4)`` (a copy is used). ``weighting__<param>`` keyword
        arguments set the strategy's parameters (``GridSearchCV`` can search them). The mean
        weight of each task per epoch is recorded in ``history_`` as ``weight_<task>``.
    scale_targets : bool, default=False
        Standardise every regression target (mean 0, variance 1 over its labelled training
        samples) before training, and map predictions back. Recommended whenever regression
        targets have large or different units (grams next to cross-entropies): the weighted sum
        of losses, ``task_weights`` and ``lr`` then mean the same thing for every task. The
        per-task losses in ``history_`` are then in standardised units. The scale is fitted by
        ``fit`` and kept by ``partial_fit`` and warm starts.
    task_losses : dict, default=None
        Task name -> loss: ``"mse"``, ``"l1"``, ``"huber"``, ``"cross_entropy"``, a torch loss
        module (class or instance) or a callable ``loss(input, target)`` returning the mean loss.
    optimizer : torch.optim.Optimizer class, default=torch.optim.Adam
        The optimiser; ``optimizer__*`` keyword arguments (e.g. ``optimizer__weight_decay``) are
        passed to it.
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=100
        Number of epochs per call to ``fit`` (or ``partial_fit``).
    batch_size : int, default=128
        Mini-batch size; -1 for full-batch training.
    train_split : None, float, int or callable, default=None
        Internal validation split, as skorch's ``train_split``. None trains on all the data (no
        validation losses); a float is the validation fraction (a shuffled split seeded by
        ``random_state``); an int k holds out one of k folds; a callable such as
        :class:`skorch.dataset.ValidSplit` or ``skorch.helper.predefined_split`` is used as is.
    callbacks : list of skorch callbacks or "disable", default=None
        Extra skorch callbacks (``EarlyStopping``, ``Checkpoint``, ``LRScheduler``,
        ``ProgressBar``, ...), added to skorch's default ones; copies are used.
        ``callbacks__<name>__<param>`` keyword arguments are passed to them.
    warm_start : bool, default=False
        If True and the estimator was fitted on the same tasks, features and architecture,
        ``fit`` continues training the existing network for ``max_epochs`` more epochs.
    verbose : int, default=0
        0 is silent; 1 prints skorch's per-epoch table (total and per-task losses); 2 also
        shows skorch's progress bar over the batches of each epoch (tqdm).
    device : str or torch.device, default="cpu"
        Torch device for training and prediction, e.g. ``"cuda"``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation split; with an int,
        two fits on CPU give identical predictions. The global torch RNG is left untouched.
    **kwargs
        skorch parameters routed to a component: ``module__*``, ``optimizer__*``,
        ``iterator_train__*``, ``iterator_valid__*``, ``callbacks__*``.

    Attributes
    ----------
    net_ : skmtl.neural.MultiTaskNet
        The fitted skorch net.
    module_ : torch.nn.Module
        The fitted network (``net_.module_``).
    history_ : skorch.history.History
        Per-epoch ``train_loss`` / ``valid_loss`` (the weighted objective) and, for every task
        ``t``, ``train_loss_<t>`` / ``valid_loss_<t>`` (mean loss over its labelled samples).
    tasks_ : list
        Task names, in the order of ``y``.
    task_types_ : dict
        Task name -> ``"classification"`` or ``"regression"``.
    task_weights_ : dict
        Task name -> the weight used, for every task.
    classes_ : dict
        Classification task name -> ndarray of its classes.
    target_scale_ : dict
        Regression task name -> ``(mean, std)`` used to standardise it (``scale_targets=True``);
        empty otherwise.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    skmtl.metrics.make_task_scorers : per-task scorers for ``GridSearchCV(scoring=...)``.

    Notes
    -----
    ``y`` may be a dict of 1-D arrays, a pandas DataFrame (one column per task), a 2-D array
    (tasks named 0..T-1 by column), a :class:`skorch.helper.SliceDict` or a single 1-D target.
    ``predict`` returns the container kind ``fit`` was given. Missing labels (``None``, NaN,
    ``pd.NA``) are left out of their task's loss and score. A dict ``y`` cannot go through
    scikit-learn's cross-validation (its length is its number of keys): use a DataFrame, a 2-D
    array or a SliceDict there. The estimator is not tagged as a classifier or a regressor.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.neural import MultiTaskEstimator
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = {"sign": np.where(X[:, 0] > 0, "pos", "neg"), "sum": X.sum(axis=1)}
    >>> est = MultiTaskEstimator(hidden_units=(16,), lr=0.01, max_epochs=30, random_state=0)
    >>> est.fit(X, y).predict(X[8:12])["sign"]
    array(['pos', 'neg', 'pos', 'neg']...)
    >>> est.task_types_
    {'sign': 'classification', 'sum': 'regression'}
    >>> scores = est.score_tasks(X, y)
    >>> bool(scores["sign"] > 0.9), bool(scores["sum"] > 0.9)
    (True, True)
    >>> est.history_[-1, "train_loss_sum"] < est.history_[0, "train_loss_sum"]
    True
    """

    _parameter_constraints: dict = {
        "module": [None, type, torch.nn.Module],
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "n_experts": [Interval(Integral, 1, None, closed="left"), None],
        "n_task_experts": [Interval(Integral, 1, None, closed="left"), None],
        "n_levels": [Interval(Integral, 1, None, closed="left"), None],
        "top_k": [Interval(Integral, 1, None, closed="left"), None],
        "hidden_units": [tuple, list],
        "head_units": [tuple, list],
        "activation": [str, type],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "task_types": [Mapping, None],
        "task_weights": [Mapping, None],
        "weighting": [StrOptions(set(WEIGHTINGS)), Weighting],
        "task_losses": [Mapping, None],
        "scale_targets": ["boolean"],
        "optimizer": [callable],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        "train_split": [
            None,
            Interval(Real, 0, 1, closed="neither"),
            Interval(Integral, 2, None, closed="left"),
            callable,
        ],
        "callbacks": [list, StrOptions({"disable"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        module=None,
        architecture="shared_bottom",
        hidden_units=(64, 64),
        head_units=(),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        n_experts=None,
        n_task_experts=None,
        n_levels=None,
        top_k=None,
        task_types=None,
        task_weights=None,
        weighting="fixed",
        task_losses=None,
        scale_targets=False,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=100,
        batch_size=128,
        train_split=None,
        callbacks=None,
        warm_start=False,
        verbose=0,
        device="cpu",
        random_state=None,
        **kwargs,
    ):
        self.module = module
        self.architecture = architecture
        self.hidden_units = hidden_units
        self.head_units = head_units
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.n_experts = n_experts
        self.n_task_experts = n_task_experts
        self.n_levels = n_levels
        self.top_k = top_k
        self.task_types = task_types
        self.task_weights = task_weights
        self.weighting = weighting
        self.task_losses = task_losses
        self.scale_targets = scale_targets
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.train_split = train_split
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.verbose = verbose
        self.device = device
        self.random_state = random_state
        for key, value in kwargs.items():
            if hasattr(type(self), key):
                raise TypeError(f"MultiTaskEstimator got an invalid keyword argument {key!r}.")
            # Stored as given; fit checks that each is routed (module__*, optimizer__*, ...).
            setattr(self, key, value)

    # -- scikit-learn plumbing -------------------------------------------------------------
    def _extra_params(self) -> dict:
        """The keyword arguments stored besides the named parameters (e.g. ``module__*``)."""
        named = set(self._get_param_names())
        return {
            k: v
            for k, v in vars(self).items()
            if k not in named and not k.startswith("_") and not k.endswith("_")
        }

    def get_params(self, deep: bool = True) -> dict:
        params = super().get_params(deep=deep)
        params.update(self._extra_params())
        return params

    def set_params(self, **params) -> MultiTaskEstimator:
        routed = {k: v for k, v in params.items() if k.startswith(KWARG_PREFIXES)}
        for key, value in routed.items():
            setattr(self, key, value)
        super().set_params(**{k: v for k, v in params.items() if k not in routed})
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.input_tags.allow_nan = False
        return tags

    def __getstate__(self) -> dict:
        # The fitted network as numpy arrays, rebuilt on load: skops can audit every type and
        # no pickled blob is stored (skmtl.neural._state).
        return get_state(self, super().__getstate__())

    def __setstate__(self, state: dict) -> None:
        state, net_state = set_state(state)
        super().__setstate__(state)
        if net_state is not None:
            rebuild_net(self, net_state)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "net_")

    @property
    def module_(self) -> torch.nn.Module:
        """The fitted torch module."""
        check_is_fitted(self)
        return self.net_.module_

    @property
    def history_(self):
        """The skorch history of the fit (per epoch: total and per-task losses)."""
        check_is_fitted(self)
        return self.net_.history_

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X: ArrayLike, y: Any) -> MultiTaskEstimator:
        """Fit the network on ``X`` and the multi-task target ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features (no NaN or infinity).
        y : dict, DataFrame, SliceDict, or array-like of shape (n_samples, n_tasks)
            One target per task; missing labels are ``None``, NaN or ``pd.NA``.

        Returns
        -------
        self : MultiTaskEstimator
        """
        return self._fit(X, y, partial=False, classes=None)

    def partial_fit(
        self, X: ArrayLike, y: Any, classes: Mapping | None = None
    ) -> MultiTaskEstimator:
        """Train for ``max_epochs`` more epochs without re-initialising the network (as skorch).

        The first call initialises the network from the given data; later calls must have the
        same tasks and number of features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : dict, DataFrame, SliceDict, or array-like of shape (n_samples, n_tasks)
        classes : dict, default=None
            Classification task name -> all its classes, for a first call whose data lacks some.

        Returns
        -------
        self : MultiTaskEstimator
        """
        return self._fit(X, y, partial=True, classes=classes)

    def _fit(self, X, y, *, partial: bool, classes):
        self._validate_params()
        for key in self._extra_params():
            if not key.startswith(KWARG_PREFIXES):
                raise TypeError(
                    f"MultiTaskEstimator got an unexpected parameter {key!r}; routed parameters "
                    f"start with one of {list(KWARG_PREFIXES)}."
                )
        check_units("hidden_units", self.hidden_units)
        check_units("head_units", self.head_units)
        check_architecture_params(self.get_params(deep=False))
        if str(self.device).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device={self.device!r} was requested but CUDA is not available.")
        continuing = hasattr(self, "net_") and (partial or self.warm_start)
        X, index = self._check_X(X, reset=not (partial and continuing))
        if y is None:
            raise ValueError(
                "MultiTaskEstimator requires y to be passed, but the target y is None."
            )
        targets = _targets.split_targets(y, n_samples=X.shape[0])
        if partial and continuing:
            # A later partial_fit batch keeps the fitted tasks, types and classes (it may hold
            # one class only, or no label for some task); unknown labels fail in encoding.
            spec = self._spec_
            _targets.check_same_tasks(spec, targets)
        else:
            spec = _targets.fit_task_spec(targets, task_types=self.task_types, classes=classes)
        weights = self._check_task_weights(spec.names)
        losses = _targets.check_task_mapping("task_losses", self.task_losses, spec.names)
        params = self.get_params(deep=False)
        architecture = net_architecture(params, spec, self.n_features_in_)
        if continuing and not partial:
            continuing = architecture == self._architecture_
        Y = _targets.encode_targets(spec, targets)
        if continuing and hasattr(self, "target_scale_"):
            scale = self.target_scale_
        else:
            scale = _target_scale(spec, Y) if self.scale_targets else {}
        for j, task in enumerate(spec.names):
            if task in scale:
                mean, std = scale[task]
                Y[:, j] = (Y[:, j] - mean) / std
        Xt, Yt = as_features(X), torch.from_numpy(Y)
        if continuing:
            net = self.net_
            update_training_params(net, params, weights)
            offset = len(net.history)
        else:
            net = build_net(params, spec, X.shape[1], weights, losses)
            offset = 0
        seed = task_seed(self.random_state, offset)
        try:
            with training_rng(self, seed, continuing):
                if not continuing:
                    net.set_params(train_split=make_train_split(self.train_split, seed))
                    net.initialize()
                net.partial_fit(Xt, Yt)
        except TrainingDivergedError as exc:
            # Back to the last epoch with finite losses (warned); none: raise, leave unfitted.
            if not recover_from_divergence(net, exc):
                for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
                    delattr(self, attr)
                raise
        except ValueError as exc:  # torch's batch norm on a training set of one sample
            if "more than 1 value per channel" not in str(exc):
                raise
            raise ValueError(
                "batch_norm=True (or an architecture with batch normalisation) needs at least 2 "
                "training samples; the training set has 1 (after train_split)."
            ) from None
        self.net_ = net
        self._spec_ = spec
        self._architecture_ = architecture
        self._container_ = _targets.Targets(
            targets.kind, {}, {}, None, targets.dtypes, targets.array_dtype
        )
        self.tasks_ = list(spec.names)
        self.task_types_ = dict(spec.types)
        self.task_weights_ = weights
        self.classes_ = dict(spec.classes)
        self.target_scale_ = scale
        return self

    def _check_X(self, X, *, reset: bool):
        if is_out_of_core(X):  # a memmap or a Dataset: read batch by batch, never whole
            return check_out_of_core(self, X, reset=reset), None
        index = X.index if _targets._is_frame(X) else None
        try:
            X = validate_data(self, X, reset=reset, dtype=np.float32, order="C")
        except ValueError as exc:  # numpy's and scikit-learn's words, said about X
            if "could not convert" in str(exc):
                raise ValueError(f"X must be numeric; {exc}.") from None
            if "at least one array or dtype" in str(exc):  # a DataFrame without columns
                raise ValueError("X has 0 features; at least 1 is required.") from None
            raise
        if not X.flags.writeable:
            X = X.copy()
        return X, index

    def _check_task_weights(self, tasks: list) -> dict:
        given = _targets.check_task_mapping("task_weights", self.task_weights, tasks)
        weights = {}
        for task in tasks:
            w = given.get(task, 1.0)
            if not isinstance(w, Real) or isinstance(w, bool):
                raise TypeError(f"task_weights[{task!r}] must be a number, got {w!r}.")
            if not np.isfinite(w) or w < 0:
                raise ValueError(
                    f"task_weights[{task!r}] = {w!r}: task weights must be finite and >= 0."
                )
            weights[task] = float(w)
        return weights

    # -- prediction ------------------------------------------------------------------------------
    def _outputs(self, X) -> tuple[dict, Any]:
        """Network outputs per task as float64 arrays: (n, K) logits or (n,) values."""
        check_is_fitted(self)
        X, index = self._check_X(X, reset=False)
        chunks = list(self.net_.forward_iter(as_features(X), training=False))
        out = {}
        for task in self.tasks_:
            values = torch.cat([chunk[task] for chunk in chunks]).detach().double().numpy()
            if self.task_types_[task] == "regression":
                values = values.reshape(len(X))
                if task in getattr(self, "target_scale_", {}):
                    mean, std = self.target_scale_[task]
                    values = values * std + mean
            bad = ~np.isfinite(values)
            if bad.any():
                n_bad = int(bad.reshape(len(X), -1).any(axis=1).sum())
                raise ValueError(
                    f"The network's output for task {task!r} is not finite for {n_bad} of "
                    f"{len(X)} samples; the fit may have diverged (lower lr) or X is far outside "
                    "the training range."
                )
            out[task] = values
        return out, index

    def _predict_tasks(self, X) -> tuple[dict, Any]:
        outputs, index = self._outputs(X)
        preds = {}
        for task, values in outputs.items():
            if self.task_types_[task] == "classification":
                values = self.classes_[task][values.argmax(axis=1)]
            preds[task] = values
        return preds, index

    def predict(self, X: ArrayLike) -> Any:
        """Predict every task: class labels for classification, values for regression.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : same kind as the ``y`` given to ``fit``
            A dict (or SliceDict) of 1-D arrays, a DataFrame with the same columns (and the index
            of ``X`` when ``X`` is a DataFrame), or an array of shape (n_samples, n_tasks).
        """
        preds, index = self._predict_tasks(X)
        return _targets.decode_predictions(self._spec_, self._container_, preds, index=index)

    def gate_weights(self, X: ArrayLike) -> dict:
        """Per-sample gate weights of a network with gates (``"mmoe"``, ``"ple"``, ``"dselect_k"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        gates : dict
            Task name -> ndarray of shape (n_samples, n_experts) (``"mmoe"``, ``"dselect_k"``)
            or (n_samples, n_levels, n_task_experts + n_experts) (``"ple"``: the task's own
            experts first), each row a probability distribution over the experts.
        """
        check_is_fitted(self)
        X, _ = self._check_X(X, reset=False)
        Xt = torch.from_numpy(X).to(self.net_.device)
        return module_gate_weights(self.module_, Xt, self.tasks_)

    @available_if(_has_classification_task)
    def predict_proba(self, X: ArrayLike) -> dict | list | np.ndarray:
        """Class probabilities of the classification tasks.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : dict, list or ndarray
            For a ``y`` with named tasks (dict, SliceDict, DataFrame): a dict mapping every
            classification task to an array of shape (n_samples, n_classes), columns in the order
            of ``classes_[task]``. For a 2-D array ``y``: a list with one entry per column (None
            for regression columns), as scikit-learn's multi-output estimators. For a 1-D ``y``:
            the (n_samples, n_classes) array.
        """
        outputs, _ = self._outputs(X)
        proba = {}
        for task, logits in outputs.items():
            if self.task_types_[task] == "classification":
                z = np.exp(logits - logits.max(axis=1, keepdims=True))
                proba[task] = z / z.sum(axis=1, keepdims=True)
        kind = self._container_.kind
        if kind == "array":
            return [proba.get(task) for task in self.tasks_]
        if kind == "array1d":
            return proba[self.tasks_[0]]
        return proba

    def score_tasks(self, X: ArrayLike, y: Any) -> dict:
        """Per-task scores: accuracy for classification, :math:`R^2` for regression.

        Missing labels in ``y`` are left out. ``y`` may name a subset of the fitted tasks.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : dict, DataFrame, SliceDict, or array-like of shape (n_samples, n_tasks)

        Returns
        -------
        scores : dict
            Task name -> score (NaN for a task without labels in ``y``).
        """
        check_is_fitted(self)
        targets = _targets.split_targets(y)
        unknown = [t for t in targets.names if t not in self.tasks_]
        if unknown:
            raise ValueError(
                f"y has tasks {unknown} that the estimator was not fitted on "
                f"(tasks: {self.tasks_})."
            )
        preds, _ = self._predict_tasks(X)
        if targets.n_samples != len(next(iter(preds.values()))):
            raise ValueError(
                f"X has {len(next(iter(preds.values())))} samples but y has {targets.n_samples}."
            )
        return {
            task: task_score(
                targets.columns[task],
                preds[task],
                self.task_types_[task],
                missing=targets.missing[task],
            )
            for task in targets.names
        }

    def score(self, X: ArrayLike, y: Any) -> float:
        """Mean over tasks of the per-task scores of :meth:`score_tasks`.

        Tasks without any label in ``y`` are left out of the mean.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : dict, DataFrame, SliceDict, or array-like of shape (n_samples, n_tasks)

        Returns
        -------
        score : float
        """
        scores = [s for s in self.score_tasks(X, y).values() if not np.isnan(s)]
        if not scores:
            raise ValueError("y has no labels for any task: there is nothing to score.")
        return float(np.mean(scores))
