"""Multi-task meta-estimators built from single-task scikit-learn estimators (no torch).

:class:`PerTaskEstimator` fits one independent copy of an estimator per task: the single-task
baseline that every multi-task model should beat. Unlike
:class:`sklearn.multioutput.MultiOutputRegressor` it skips the missing labels of each task
(wide layout) and reads each row's task from a column of ``X`` (long layout).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

from .linear import _validation as V

if TYPE_CHECKING:  # annotations only
    from numpy.typing import ArrayLike

__all__ = ["PerTaskEstimator"]


class PerTaskEstimator(MetaEstimatorMixin, BaseEstimator):
    r"""One independent clone of ``estimator`` per task: the single-task baseline.

    Each task :math:`t` is fitted on its own labelled rows :math:`I_t` only,

    .. math::

        \hat f_t = \arg\min_{f} \sum_{i \in I_t} \ell\big(y_{it}, f(x_i)\big) + R(f),

    with the loss :math:`\ell` and penalty :math:`R` of ``estimator`` (for example
    :class:`~sklearn.linear_model.Ridge`: :math:`\|y_t - X_t w - b\|^2 + \alpha\|w\|^2`); the
    tasks share nothing.

    - *Wide layout* (``task_column=None``): ``y`` has one column per task (2-D array or
      DataFrame); a missing label (NaN, ``None``) leaves the row out of that task's fit.
      ``predict`` returns one column per task.
    - *Long layout* (``task_column`` set): column ``task_column`` of ``X`` names each row's task
      and ``y`` is one column; the task column is removed before the per-task estimator sees
      ``X``. ``predict`` returns one value per row, from the model of the row's task.

    Parameters
    ----------
    estimator : estimator object
        A scikit-learn regressor or classifier, cloned once per task.
    task_column : int, str or None, default=None
        Long layout: the position (negative counts from the end) or DataFrame column name of
        the task labels in ``X``.

    Attributes
    ----------
    estimators_ : list of estimator
        The fitted clones, in the order of ``tasks_``.
    tasks_ : ndarray
        Task names: the columns of ``y`` (wide; positions for an array) or the sorted task
        labels (long).
    n_tasks_ : int
        Number of tasks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skmtl.multitask import PerTaskEstimator
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> Y = np.column_stack([X[:, 0], np.where(np.arange(6) < 2, np.nan, X[:, 1])])
    >>> model = PerTaskEstimator(Ridge(alpha=1e-8)).fit(X, Y)  # task 1 fits on 4 rows
    >>> np.round(model.predict(X[:2]), 6)
    array([[0., 1.],
           [2., 3.]])
    >>> Xl = np.column_stack([X, [0, 0, 0, 1, 1, 1]])  # long layout: the task last
    >>> long = PerTaskEstimator(Ridge(alpha=1e-8), task_column=-1).fit(Xl, X[:, 0])
    >>> long.tasks_.tolist(), np.round(long.predict(Xl[[0, 5]]), 6).tolist()
    ([0.0, 1.0], [0.0, 10.0])
    """

    def __init__(self, estimator=None, *, task_column=None):
        self.estimator = estimator
        self.task_column = task_column

    def _check_params(self):
        if self.estimator is None or not hasattr(self.estimator, "fit"):
            raise TypeError(
                f"estimator must be a scikit-learn estimator; got {self.estimator!r}."
            )
        if self.task_column is not None and not isinstance(
            self.task_column, (numbers.Integral, str)
        ):
            raise TypeError(f"task_column must be an int, a str or None; got {self.task_column!r}.")

    def fit(self, X: ArrayLike, y: ArrayLike) -> PerTaskEstimator:
        """Fit one clone of ``estimator`` per task.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features; in the long layout, column ``task_column`` holds the task labels.
        y : array-like or DataFrame of shape (n_samples, n_tasks) or (n_samples,)
            Wide: one column per task, NaN or ``None`` where missing. Long: one label per row.

        Returns
        -------
        self : PerTaskEstimator
        """
        self._check_params()
        if self.task_column is None:
            arr, _ = V.as_target_array(y, _n_rows(X))
            names = V.task_names_of(y)
            self.tasks_ = names if names is not None else np.arange(arr.shape[1])
            self.estimators_ = []
            for j in range(arr.shape[1]):
                keep = ~V.is_missing(arr[:, j])
                if not keep.any():
                    raise ValueError(f"{V.task_label(names, j)} has no labelled row.")
                self.estimators_.append(
                    clone(self.estimator).fit(_rows(X, keep), _labels(arr[keep, j]))
                )
        else:
            features, labels = V.split_task_column(self, X, reset=True)
            y = np.asarray(y)
            if y.ndim != 1:
                raise ValueError(
                    f"With task_column, y must be 1-D (one label per row); got shape {y.shape}."
                )
            if len(y) != len(labels):
                raise ValueError(
                    f"X and y have inconsistent numbers of samples: {len(labels)} and {len(y)}."
                )
            self.tasks_, index = V.encode_tasks(labels, column=self.task_column)
            self.estimators_ = []
            for t in range(len(self.tasks_)):
                rows = index == t
                keep = rows & ~V.is_missing(y)
                if not keep.any():
                    raise ValueError(f"{V.task_label(self.tasks_, t)} has no labelled row.")
                self.estimators_.append(
                    clone(self.estimator).fit(_rows(features, keep), _labels(y[keep]))
                )
        self.n_tasks_ = len(self.estimators_)
        return self

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predict each task with its own model.

        Parameters
        ----------
        X : array-like or DataFrame
            As in :meth:`fit`. Long layout: a row whose task was not seen in fit raises a
            ``ValueError`` naming the task.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks) or (n_samples,)
            Wide: one column per task (object dtype when the tasks' predictions have different
            dtypes). Long: one prediction per row.
        """
        check_is_fitted(self, "estimators_")
        if self.task_column is None:
            preds = [np.asarray(m.predict(X)) for m in self.estimators_]
            dtype = preds[0].dtype if len({p.dtype for p in preds}) == 1 else object
            out = np.empty((len(preds[0]), len(preds)), dtype=dtype)
            for j, p in enumerate(preds):
                out[:, j] = p
            return out
        features, labels = V.split_task_column(self, X, reset=False)
        _, index = V.encode_tasks(labels, known=np.asarray(self.tasks_), column=self.task_column)
        out = None
        for t in np.unique(index):
            rows = index == t
            pred = np.asarray(self.estimators_[t].predict(_rows(features, rows)))
            if out is None:
                kind = pred.dtype if pred.dtype.kind in "fiub" else object
                out = np.empty(len(index), dtype=kind)
            out[rows] = pred
        return out if out is not None else np.empty(0)


def _n_rows(X) -> int:
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _rows(X, mask):
    if hasattr(X, "iloc"):
        return X.iloc[np.flatnonzero(mask)]
    X = np.asarray(X) if not hasattr(X, "tocsr") else X.tocsr()
    if not hasattr(X, "tocsr") and X.dtype == object:
        X = X.astype(np.float64)
    return X[mask]


def _labels(col):
    """One task's labels as a plain array: floats, or strings when the labels mix types."""
    col = np.asarray(col)
    if col.dtype == object:
        if all(isinstance(v, (bool, np.bool_)) for v in col):
            return col.astype(bool)
        if all(isinstance(v, (int, float, np.number)) for v in col):
            return col.astype(np.float64)
        if len({type(v) for v in col}) > 1:
            return col.astype(str)
    return col
