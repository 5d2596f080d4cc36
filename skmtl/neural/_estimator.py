"""MultiTaskEstimator: a shared-parameter network over a dict of targets, trained by skorch.

This module holds the parameters and the fit; prediction and scoring are
:mod:`skmtl.neural._predict`, the input checks :mod:`skmtl.neural._inputs`, the long layout
:mod:`skmtl.neural._long` (with its network and net), early stopping
:mod:`skmtl.neural._early_stopping`, building the skorch net :mod:`skmtl.neural._build`.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from .. import _targets
from ._build import build_net, make_train_split, net_architecture, update_training_params
from ._config import KWARG_PREFIXES, check_units, task_seed
from ._early_stopping import stopping_attributes
from ._errors import TrainingDivergedError
from ._inputs import check_features, check_sample_weight, check_task_weights, target_scale
from ._long import check_long_params, encode_tasks, split_task_column
from ._long_net import row_weights
from ._out_of_core import as_features, is_out_of_core
from ._predict import PredictMixin
from ._snapshot import recover_from_divergence, training_rng
from ._state import get_state, rebuild_net, set_state
from .architectures import ARCHITECTURES, check_architecture_params
from .weighting import WEIGHTINGS, Weighting

__all__ = ["MultiTaskEstimator"]


class MultiTaskEstimator(PredictMixin, BaseEstimator):
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
    task with no label in a batch (:math:`B_t = \emptyset`) contributes 0. With
    ``sample_weight`` :math:`s_i`, each task's mean is the weighted mean
    :math:`\sum_{i \in B_t} s_i \ell_{it} / \sum_{i \in B_t} s_i`.

    **Long layout** (``task_column``, many tasks, one target column): row :math:`i` belongs to
    task :math:`t_i` and is predicted by :math:`f_{t_i}(x) = (v + U_{t_i})^\top h(x) + c +
    b_{t_i}`, a head :math:`(v, c)` shared by all tasks plus the task's deviation
    :math:`(U_t, b_t)`, gathered by the row's task (an epoch costs about one single-head
    network). The objective is each task's mean loss over its :math:`n_t` rows, as the linear
    estimators' data fit, plus a penalty that ties the tasks to the shared head (the network
    analogue of mean-regularised multi-task learning, :math:`\lambda` = ``coupling``):

    .. math::

        L(\theta) = \frac{1}{T} \sum_{t=1}^{T} \Big( w_t \frac{1}{n_t}
                    \sum_{i : t_i = t} \ell\big(f_t(x_i), y_i\big)
                    + \lambda \, \|(U_t, b_t)\|^2 \Big),

    minimised by mini-batch steps whose expectation it is (each row's loss weighted by
    :math:`N w_{t_i} / (T n_{t_i})`; the penalty applied to the tasks of the batch only; the
    deviations of a large table updated lazily; see the user guide).
    ``task_weights="n_samples"`` sets :math:`w_t = T n_t / N`: the plain mean over rows, which
    weighs tasks by their size.

    Parameters
    ----------
    task_column : int, str or None, default=None
        The long layout: the column of ``X`` (a position, or a DataFrame column name) holding
        each row's task label; ``y`` is then one target column (regression or
        classification). After a ``ColumnTransformer`` the column has a new name and position
        (``remainder__school``, or a position with ``verbose_feature_names_out=False`` and
        ``set_output(transform="pandas")``): give that new name here and to the splitter (see the
        user guide). Only the default network (``module=None``, ``"shared_bottom"``, no
        ``head_units``) and ``weighting="fixed"`` take it.
    coupling : float, default=1.0
        Long layout: the penalty :math:`\lambda` on the per-task deviations from the shared
        head. 0 leaves the tasks independent beyond the shared trunk; a large value fits one
        head for all tasks. A searchable parameter (``GridSearchCV``). The default was the best
        of 0.1, 1, 3 and 10 on the school data (139 tasks, standardised targets) on two splits.
    unknown_task : {"error", "mean"}, default="error"
        Long layout, prediction for a task label not seen in fit: raise a ``ValueError`` naming
        it, or predict with the shared head (the population model, the mean of the task models
        that the penalty pulls towards).
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
    task_weights : dict or "n_samples", default=None
        Task name -> non-negative weight :math:`w_t`; tasks not named weigh 1. With another
        ``weighting`` strategy, the strategy balances the scaled losses :math:`w_t L_t`. In the
        long layout the keys are task labels, and ``"n_samples"`` weighs each task by its
        share of the rows (the row mean).
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
        validation losses; with ``early_stopping``, the split of ``validation_fraction``); a
        float is the validation fraction (a shuffled split seeded by ``random_state``); an int k
        holds out one of k folds; a callable such as :class:`skorch.dataset.ValidSplit` or
        ``skorch.helper.predefined_split`` is used as is. Given with ``early_stopping=True``, it
        is the validation part that early stopping monitors (``validation_fraction`` unused).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (every task with 2 labelled rows or more
        represented in both parts, in either layout; seeded by ``random_state``) and stop when
        the validation loss :math:`\sum_t w_t L_t`, with the fixed ``task_weights`` whatever
        the ``weighting`` strategy, has not improved by more than ``tol`` for
        ``n_iter_no_change`` epochs; the network then goes back to the parameters of its best
        epoch (skorch's ``EarlyStopping(load_best=True)``, kept in memory: no checkpoint file).
        An ``EarlyStopping`` in ``callbacks`` as well raises a ``ValueError``; with
        ``early_stopping=False`` a callback of your own works as usual. As in
        :class:`~sklearn.neural_network.MLPRegressor`.
    validation_fraction : float, default=0.1
        The fraction of the training rows held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without an improvement of more than ``tol`` before stopping.
    tol : float, default=1e-4
        The improvement of the validation loss (absolute) that counts.
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
        Per-epoch ``train_loss`` / ``valid_loss`` (the weighted objective; the long layout's
        ``train_loss`` includes the coupling penalty) and, for every task ``t``,
        ``train_loss_<t>`` / ``valid_loss_<t>`` (mean loss over its labelled samples).
    n_iter_ : int
        The number of epochs trained (all calls of a warm start or ``partial_fit`` together).
    best_epoch_ : int
        The epoch whose parameters the network keeps: the best one when early stopping (or an
        ``EarlyStopping(load_best=True)`` callback) restored it, else the last.
    tasks_ : list
        Task names, in the order of ``y`` (long layout: the sorted task labels).
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

    The long layout: 30 tasks whose slopes scatter around a common one, task labels in column 0.

    >>> task = np.repeat(np.arange(30), 20)
    >>> X = np.column_stack([task, rng.normal(size=600)])
    >>> y = (1 + rng.normal(scale=0.2, size=30))[task] * X[:, 1]
    >>> est = MultiTaskEstimator(task_column=0, hidden_units=(), lr=0.05, max_epochs=30,
    ...                          coupling=0.01, unknown_task="mean", random_state=0).fit(X, y)
    >>> bool(est.score(X, y) > 0.9), len(est.tasks_)
    (True, 30)
    >>> est.predict(np.array([[99, 1.0]])).round(1)  # an unseen task: the shared head
    array([1.]...)
    """

    _parameter_constraints: dict = {
        "task_column": [None, Integral, str],
        "coupling": [Interval(Real, 0, None, closed="left")],
        "unknown_task": [StrOptions({"error", "mean"})],
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
        "task_weights": [Mapping, StrOptions({"n_samples"}), None],
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
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "callbacks": [list, StrOptions({"disable"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        task_column=None,
        coupling=1.0,
        unknown_task="error",
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
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        warm_start=False,
        verbose=0,
        device="cpu",
        random_state=None,
        **kwargs,
    ):
        self.task_column = task_column
        self.coupling = coupling
        self.unknown_task = unknown_task
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
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
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
    def fit(
        self, X: ArrayLike, y: Any, sample_weight: ArrayLike | None = None
    ) -> MultiTaskEstimator:
        """Fit the network on ``X`` and the multi-task target ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features (no NaN or infinity); with ``task_column``, the task column too.
        y : dict, DataFrame, SliceDict, or array-like of shape (n_samples, n_tasks)
            One target per task; missing labels are ``None``, NaN or ``pd.NA``. With
            ``task_column``, one target column of shape (n_samples,).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in each task's mean loss (and in the mean and
            scale of ``scale_targets``). A zero weight leaves the row out of every batch loss,
            so that training equals training without the row in expectation (exactly with
            ``batch_size=-1``); an integer weight counts the row that many times in the loss
            (mini-batch SGD is not exactly the same as repeated rows: a repeated row can fall in
            two batches). Batch normalisation and dropout do not see the weights. Routed by
            scikit-learn's metadata routing: ``est.set_fit_request(sample_weight=True)``.

        Returns
        -------
        self : MultiTaskEstimator
        """
        return self._fit(X, y, partial=False, classes=None, sample_weight=sample_weight)

    def partial_fit(
        self,
        X: ArrayLike,
        y: Any,
        classes: Mapping | None = None,
        sample_weight: ArrayLike | None = None,
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
        sample_weight : array-like of shape (n_samples,), default=None
            As in :meth:`fit`.

        Returns
        -------
        self : MultiTaskEstimator
        """
        return self._fit(X, y, partial=True, classes=classes, sample_weight=sample_weight)

    def _check_params(self) -> None:
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
        if self.task_column is not None:
            check_long_params(self.get_params(deep=False))
        elif isinstance(self.task_weights, str):
            raise ValueError(
                "task_weights='n_samples' is for the long layout (task_column); in the wide "
                "layout give a dict of task weights."
            )
        if str(self.device).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device={self.device!r} was requested but CUDA is not available.")

    def _fit(self, X, y, *, partial: bool, classes, sample_weight=None):
        self._check_params()
        long = self.task_column is not None
        continuing = hasattr(self, "net_") and (partial or self.warm_start)
        reset = not (partial and continuing)
        if long:
            if is_out_of_core(X):
                raise ValueError("task_column needs X in memory (an array or a DataFrame).")
            X, labels = split_task_column(self, X, reset=reset)
        X, _ = self._check_X(X, reset=reset)
        if y is None:
            raise ValueError(
                "MultiTaskEstimator requires y to be passed, but the target y is None."
            )
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        targets = _targets.split_targets(y, n_samples=X.shape[0])
        if long and len(targets.names) != 1:
            raise ValueError(
                f"With task_column, y must be one target column (each row's label for its "
                f"task); got {len(targets.names)} columns."
            )
        if partial and continuing:
            # A later partial_fit batch keeps the fitted tasks, types and classes (it may hold
            # one class only, or no label for some task); unknown labels fail in encoding.
            spec = self._spec_
            _targets.check_same_tasks(spec, targets)
        else:
            spec = _targets.fit_task_spec(targets, task_types=self.task_types, classes=classes)
        losses = _targets.check_task_mapping("task_losses", self.task_losses, spec.names)
        params = self.get_params(deep=False)
        if long:
            known = np.asarray(self.tasks_, dtype=object) if partial and continuing else None
            tasks, codes = encode_tasks(labels, known=known, column=self.task_column)
            tasks = list(tasks.tolist())
            weights = self._long_task_weights(tasks, codes)
            net_weights = {spec.names[0]: 1.0}
        else:
            tasks, codes = list(spec.names), None
            weights = net_weights = self._check_task_weights(spec.names)
        architecture = net_architecture(params, spec, self.n_features_in_)
        architecture["long_tasks"] = tasks if long else None
        if continuing and not partial:
            continuing = architecture == self._architecture_
        Y = _targets.encode_targets(spec, targets)
        if continuing and hasattr(self, "target_scale_"):
            scale = self.target_scale_
        else:
            scale = target_scale(spec, Y, sample_weight) if self.scale_targets else {}
        for j, task in enumerate(spec.names):
            if task in scale:
                mean, std = scale[task]
                Y[:, j] = (Y[:, j] - mean) / std
        if long:  # input: features, task code; target: label, code, row weights (_long_net)
            w = [weights[t] for t in tasks]
            labelled = ~np.isnan(Y[:, 0])
            s = labelled.astype(np.float64) if sample_weight is None else sample_weight * labelled
            Xt = torch.from_numpy(np.column_stack([X, codes.astype(np.float32)]))
            extra = np.column_stack([codes, row_weights(codes, len(tasks), w, s)])
            Yt = torch.from_numpy(np.column_stack([np.nan_to_num(Y), extra]).astype(np.float32))
        else:
            Xt = as_features(X)
            if sample_weight is not None:  # the last target column (MultiTaskNet)
                Y = np.column_stack([Y, sample_weight.astype(Y.dtype)])
            Yt = torch.from_numpy(Y)
        if continuing:
            net = self.net_
            update_training_params(net, params, net_weights)
            offset = len(net.history)
        else:
            names = tasks if long else None
            net = build_net(params, spec, X.shape[1], net_weights, losses, task_names=names)
            offset = 0
        seed = task_seed(self.random_state, offset)
        try:
            with training_rng(self, seed, continuing):
                if not continuing:
                    split = make_train_split(self.train_split, seed, params, len(tasks))
                    net.set_params(train_split=split)
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
        self._layout_ = "long" if long else "wide"
        self._architecture_ = architecture
        self._container_ = _targets.Targets(
            targets.kind, {}, {}, None, targets.dtypes, targets.array_dtype
        )
        self.tasks_ = tasks
        if long:
            (key,) = spec.names
            self.task_types_ = dict.fromkeys(tasks, spec.types[key])
            self.classes_ = dict.fromkeys(tasks, spec.classes[key]) if key in spec.classes else {}
        else:
            self.task_types_ = dict(spec.types)
            self.classes_ = dict(spec.classes)
        self.task_weights_ = weights
        self.target_scale_ = scale
        self.n_iter_, self.best_epoch_ = stopping_attributes(net)
        return self

    def _long_task_weights(self, tasks: list, codes: np.ndarray) -> dict:
        """Task label -> w_t in the long layout (``"n_samples"``: T n_t / N)."""
        if isinstance(self.task_weights, str):  # "n_samples"
            counts = np.bincount(codes, minlength=len(tasks))
            return {t: float(len(tasks) * c / len(codes)) for t, c in zip(tasks, counts)}
        return self._check_task_weights(tasks)

    def _check_X(self, X, *, reset: bool):
        return check_features(self, X, reset=reset)

    def _check_task_weights(self, tasks: list) -> dict:
        return check_task_weights(self.task_weights, tasks)
