"""Prediction and scoring of MultiTaskEstimator (both layouts), as a mixin of the estimator."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .. import _targets
from ..metrics import task_score
from ._long import encode_tasks, split_task_column
from ._out_of_core import as_features
from .architectures import module_gate_weights

__all__ = ["PredictMixin"]


def _score(truth, pred, kind: str, missing, sample_weight) -> float:
    """:func:`~skmtl.metrics.task_score`, weighted by ``sample_weight`` when given."""
    if sample_weight is None:
        return task_score(truth, pred, kind, missing=missing)
    keep = ~np.asarray(missing) & (sample_weight > 0)
    if not keep.any():
        return float("nan")
    truth, pred, w = np.asarray(truth)[keep], np.asarray(pred)[keep], sample_weight[keep]
    if kind == "classification":
        return float(np.average(truth.astype(object) == pred.astype(object), weights=w))
    truth = truth.astype(np.float64)
    mean = np.average(truth, weights=w)
    total = np.sum(w * (truth - mean) ** 2)
    residual = np.sum(w * (truth - pred.astype(np.float64)) ** 2)
    return float(1.0 - residual / total) if total > 0 else float("nan")


def _has_classification_task(est) -> bool:
    # Unfitted: keep the method visible so that calling it raises NotFittedError.
    return not hasattr(est, "task_types_") or "classification" in est.task_types_.values()


class PredictMixin:
    """``predict``, ``predict_proba``, ``score_tasks``, ``score`` and ``gate_weights``."""

    def _network_input(self, X):
        """``(input tensor or out-of-core source, DataFrame index, task codes or None)``."""
        check_is_fitted(self)
        if getattr(self, "_layout_", "wide") != "long":
            X, index = self._check_X(X, reset=False)
            return as_features(X), index, None
        Xf, labels = split_task_column(self, X, reset=False)
        if labels is None:
            raise ValueError("This model was fitted with task_column; X must contain it.")
        Xf, index = self._check_X(Xf, reset=False)
        _, codes = encode_tasks(
            labels,
            known=np.asarray(self.tasks_, dtype=object),
            column=self.task_column,
            unknown=self.unknown_task,
        )
        Xt = torch.from_numpy(np.column_stack([Xf, codes.astype(np.float32)]))
        return Xt, index, codes

    def _outputs(self, X) -> tuple[dict, Any, Any]:
        """Network outputs per target as float64 arrays: (n, K) logits or (n,) values."""
        Xt, index, codes = self._network_input(X)
        n = len(Xt)
        chunks = list(self.net_.forward_iter(Xt, training=False))
        out = {}
        for task in self._spec_.names:
            values = torch.cat([chunk[task] for chunk in chunks]).detach().double().numpy()
            if self._spec_.types[task] == "regression":
                values = values.reshape(n)
                if task in getattr(self, "target_scale_", {}):
                    mean, std = self.target_scale_[task]
                    values = values * std + mean
            bad = ~np.isfinite(values)
            if bad.any():
                n_bad = int(bad.reshape(n, -1).any(axis=1).sum())
                raise ValueError(
                    f"The network's output for task {task!r} is not finite for {n_bad} of "
                    f"{n} samples; the fit may have diverged (lower lr) or X is far outside "
                    "the training range."
                )
            out[task] = values
        return out, index, codes

    def _predict_targets(self, X) -> tuple[dict, Any, Any]:
        outputs, index, codes = self._outputs(X)
        preds = {}
        for task, values in outputs.items():
            if self._spec_.types[task] == "classification":
                values = self._spec_.classes[task][values.argmax(axis=1)]
            preds[task] = values
        return preds, index, codes

    def predict(self, X: ArrayLike) -> Any:
        """Predict every task: class labels for classification, values for regression.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            With ``task_column``, the task column included.

        Returns
        -------
        y_pred : same kind as the ``y`` given to ``fit``
            A dict (or SliceDict) of 1-D arrays, a DataFrame with the same columns (and the index
            of ``X`` when ``X`` is a DataFrame), or an array of shape (n_samples, n_tasks). In
            the long layout, the one target column (each row predicted by its task's head).
        """
        preds, index, _ = self._predict_targets(X)
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
            for regression columns), as scikit-learn's multi-output estimators. For a 1-D ``y``
            (and the long layout): the (n_samples, n_classes) array.
        """
        outputs, _, _ = self._outputs(X)
        proba = {}
        for task, logits in outputs.items():
            if self._spec_.types[task] == "classification":
                z = np.exp(logits - logits.max(axis=1, keepdims=True))
                proba[task] = z / z.sum(axis=1, keepdims=True)
        kind = self._container_.kind
        if kind == "array":
            return [proba.get(task) for task in self._spec_.names]
        if kind == "array1d":
            return proba[self._spec_.names[0]]
        return proba

    def _long(self) -> bool:
        return getattr(self, "_layout_", "wide") == "long"

    def score_tasks(self, X: ArrayLike, y: Any, sample_weight: ArrayLike | None = None) -> dict:
        """Per-task scores: accuracy for classification, :math:`R^2` for regression.

        Missing labels in ``y`` are left out. ``y`` may name a subset of the fitted tasks. In the
        long layout, one score per task label present in ``X``'s task column (a task with one
        row has an undefined :math:`R^2`: NaN).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : dict, DataFrame, SliceDict, or array-like of shape (n_samples, n_tasks)
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in each task's (weighted) accuracy or :math:`R^2`.

        Returns
        -------
        scores : dict
            Task name -> score (NaN for a task without labels in ``y``).
        """
        check_is_fitted(self)
        sample_weight = _weights(sample_weight)
        if self._long():
            return self._score_long(X, y, per_task=True, sample_weight=sample_weight)
        targets = _targets.split_targets(y)
        unknown = [t for t in targets.names if t not in self.tasks_]
        if unknown:
            raise ValueError(
                f"y has tasks {unknown} that the estimator was not fitted on "
                f"(tasks: {self.tasks_})."
            )
        preds, _, _ = self._predict_targets(X)
        if targets.n_samples != len(next(iter(preds.values()))):
            raise ValueError(
                f"X has {len(next(iter(preds.values())))} samples but y has {targets.n_samples}."
            )
        return {
            task: _score(
                targets.columns[task],
                preds[task],
                self.task_types_[task],
                targets.missing[task],
                sample_weight,
            )
            for task in targets.names
        }

    def _score_long(self, X, y, *, per_task: bool, sample_weight=None):
        preds, _, codes = self._predict_targets(X)
        (key,) = self._spec_.names
        targets = _targets.split_targets(y, n_samples=len(codes))
        if len(targets.names) != 1:
            raise ValueError(
                f"With task_column, y must be one target column; got {len(targets.names)}."
            )
        (name,) = targets.names
        truth, missing, pred = targets.columns[name], targets.missing[name], preds[key]
        kind = self._spec_.types[key]
        if not per_task:
            return _score(truth, pred, kind, missing, sample_weight)
        scores = {}
        for code in np.unique(codes):
            rows = codes == code
            label = self.tasks_[code] if code >= 0 else None
            if label is None:
                continue  # unseen tasks (unknown_task="mean") have no fitted name
            with warnings.catch_warnings():  # R^2 of a one-row task: NaN, said in the docstring
                warnings.simplefilter("ignore")
                w = None if sample_weight is None else sample_weight[rows]
                scores[label] = _score(truth[rows], pred[rows], kind, missing[rows], w)
        return scores

    def score(self, X: ArrayLike, y: Any, sample_weight: ArrayLike | None = None) -> float:
        """Mean over tasks of the per-task scores of :meth:`score_tasks`.

        Tasks without any label in ``y`` are left out of the mean. In the long layout, the
        score of all rows together (:math:`R^2` or accuracy), as the linear estimators: a task
        has too few test rows for a score of its own.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : dict, DataFrame, SliceDict, or array-like of shape (n_samples, n_tasks)
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the scores (``set_score_request`` routes them).

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        if self._long():
            w = _weights(sample_weight)
            return float(self._score_long(X, y, per_task=False, sample_weight=w))
        scores = [s for s in self.score_tasks(X, y, sample_weight).values() if not np.isnan(s)]
        if not scores:
            raise ValueError("y has no labels for any task: there is nothing to score.")
        return float(np.mean(scores))


def _weights(sample_weight):
    return None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
