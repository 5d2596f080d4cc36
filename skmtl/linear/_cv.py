"""Cross-validated estimators built on the warm-started regularisation path."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval

from ..model_selection import TaskStratifiedKFold
from ._base import _RegressorBase
from ._estimators import LowRankRegressor, SparseRegressor
from ._path import alpha_grid, least_squares_path, path_predictions, prepare_least_squares


def _index(X, idx):
    return _safe_indexing(X, idx)


def _fold_mse(template, X, y, train, test, alphas):
    """Path on the training rows, mean squared error on the labelled test entries, per alpha."""
    _, coefs, intercepts, _, _, meta = least_squares_path(
        template, _index(X, train), _index(y, train), alphas
    )
    y_test = np.asarray(_index(y, test), dtype=float)
    preds = path_predictions(template, coefs, intercepts, meta, _index(X, test))
    mse = np.empty(len(alphas))
    for k in range(len(alphas)):
        err = (preds[k] - y_test) ** 2
        mse[k] = float(np.nanmean(err))
    return mse


class _PathCV(_RegressorBase):
    """Shared fit of the CV regressors: alpha grid on all data, a path per fold, refit."""

    _parameter_constraints = {
        **_RegressorBase._parameter_constraints,
        "eps": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_alphas": [Interval(numbers.Integral, 1, None, closed="left")],
        "alphas": ["array-like", None],
        "cv": ["cv_object"],
        "n_jobs": [numbers.Integral, None],
    }
    _parameter_constraints.pop("alpha")
    _parameter_constraints.pop("warm_start")
    _base_class: type

    def _base_estimator(self, alpha=1.0):
        return self._base_class(
            alpha=alpha,
            fit_intercept=self.fit_intercept,
            task_column=self.task_column,
            tol=self.tol,
            max_iter=self.max_iter,
        )

    def _penalty(self, n_tasks, widths):
        return self._base_estimator(self.alpha_)._penalty(n_tasks, widths)

    def _splitter(self, X, y):
        if self.task_column is not None and (
            self.cv is None or isinstance(self.cv, numbers.Integral)
        ):
            # long layout: every fold must hold every task, so stratify on the task label
            n_splits = 5 if self.cv is None else self.cv
            return list(TaskStratifiedKFold(n_splits, task_column=self.task_column).split(X))
        cv = check_cv(self.cv)
        return list(cv.split(X, y))

    def fit(self, X, y):
        """Fit the path on each fold, choose ``alpha_`` by mean squared error, refit on all data.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data (with the task column in the long layout).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets; NaN marks a missing label.

        Returns
        -------
        self : object
        """
        self._validate_params()
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None.")
        if sp.issparse(X):
            X = X.tocsr()
        elif (
            not hasattr(X, "iloc")
            and not hasattr(X, "__array__")
            or type(X).__name__ == "_NotAnArray"
        ):
            X = np.asarray(X)
        if not hasattr(y, "iloc"):
            y = np.asarray(y)
        template = self._base_estimator()
        if self.alphas is None:
            _, datafit, meta = prepare_least_squares(clone(template), X, y)
            penalty = template._penalty(meta["n_tasks"], meta["widths"])
            alphas = alpha_grid(
                penalty.alpha_max(datafit.grad_at_zero()), eps=self.eps, n_alphas=self.n_alphas
            )
        else:
            alphas = np.sort(np.asarray(self.alphas, dtype=float))[::-1]
        folds = self._splitter(X, y)
        # imported here: folds in parallel only when fitting; importing skmtl.linear stays light
        from sklearn.utils.parallel import Parallel, delayed

        if self.n_jobs not in (None, 1) and self._base_class is SparseRegressor:
            # workers load the compiled solvers from the on-disk cache instead of compiling them
            from ._path import warm_compiled_cache

            warm_compiled_cache()

        mse = Parallel(n_jobs=self.n_jobs)(
            delayed(_fold_mse)(template, X, y, train, test, alphas) for train, test in folds
        )
        mse_path = np.column_stack(mse)
        best = int(np.argmin(mse_path.mean(axis=1)))
        final = self._base_estimator(alphas[best]).fit(X, y)
        self.alphas_ = alphas
        self.mse_path_ = mse_path
        self.alpha_ = float(alphas[best])
        for name, value in vars(final).items():
            if name.endswith("_") and not name.startswith("__"):
                setattr(self, name, value)
        return self


_CV_PARAMS = """eps : float, default=1e-3
        Length of the path: ``alpha_min / alpha_max = eps``.
    n_alphas : int, default=100
        Number of alphas along the path.
    alphas : array-like or None, default=None
        Explicit alphas (sorted decreasing); when None, ``n_alphas`` values from ``alpha_max``
        (the smallest alpha giving ``W = 0``) down to ``eps * alpha_max`` on a log scale.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn; None is 5 folds. In the long layout an integer or None stratifies the
        folds on the task label, so that every fold holds every task.
    n_jobs : int, default=None
        Folds run in parallel with joblib."""


_CV_COMMON = """fit_intercept : bool, default=True
        Fit one unpenalised intercept per task.
    task_column : int, str or None, default=None
        Long layout: the column of ``X`` that holds the task label.
    tol : float, default=1e-4
        Duality-gap tolerance relative to ``sum_t ||y_t - mean(y_t)||^2 / n_t``.
    max_iter : int, default=5000
        Maximum number of solver iterations per alpha.

    Attributes
    ----------
    alpha_ : float
        The chosen alpha.
    alphas_ : ndarray of shape (n_alphas,)
        The alphas tried, decreasing.
    mse_path_ : ndarray of shape (n_alphas, n_folds)
        Held-out mean squared error per alpha and fold.
    coef_ : ndarray of shape (n_tasks, n_features)
        Coefficients of the refit at ``alpha_``.
    intercept_ : ndarray of shape (n_tasks,)
        Intercepts of the refit.
    dual_gap_ : float
        Duality gap of the refit.
    n_iter_ : int
        Iterations of the refit.
    tasks_ : ndarray
        Task labels.
    n_features_in_ : int
        Number of features seen in fit."""


class SparseRegressorCV(_PathCV):
    __doc__ = rf"""L2,1 multi-task regression with ``alpha`` chosen by cross-validation.

    Each fold solves :class:`SparseRegressor` along a warm-started path of ``alpha`` from
    ``alpha_max`` down, scores the mean squared error on its held-out labelled entries, and the
    ``alpha`` of lowest mean error is refitted on all data (as
    :class:`sklearn.linear_model.MultiTaskLassoCV`).

    Parameters
    ----------
    {_CV_PARAMS}
    {_CV_COMMON}

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.linear import SparseRegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 15))
    >>> W = np.zeros((15, 3)); W[:3] = 1.0
    >>> Y = X @ W + 0.5 * rng.normal(size=(120, 3))
    >>> model = SparseRegressorCV(n_alphas=20).fit(X, Y)
    >>> model.mse_path_.shape
    (20, 5)
    >>> bool(model.alpha_ < model.alphas_[0])
    True
    """
    _base_class = SparseRegressor

    def __init__(
        self,
        *,
        eps=1e-3,
        n_alphas=100,
        alphas=None,
        cv=None,
        n_jobs=None,
        fit_intercept=True,
        task_column=None,
        tol=1e-4,
        max_iter=5000,
    ):
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.cv = cv
        self.n_jobs = n_jobs
        self.fit_intercept = fit_intercept
        self.task_column = task_column
        self.tol = tol
        self.max_iter = max_iter


class LowRankRegressorCV(_PathCV):
    __doc__ = rf"""Trace-norm multi-task regression with ``alpha`` chosen by cross-validation.

    Each fold solves :class:`LowRankRegressor` along a warm-started path of ``alpha`` from
    ``alpha_max`` (the spectral norm of the gradient at zero) down, scores the held-out mean
    squared error, and the best ``alpha`` is refitted on all data.

    Parameters
    ----------
    {_CV_PARAMS}
    {_CV_COMMON}

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.linear import LowRankRegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 10))
    >>> W = rng.normal(size=(10, 1)) @ rng.normal(size=(1, 6))
    >>> Y = X @ W + 0.5 * rng.normal(size=(120, 6))
    >>> model = LowRankRegressorCV(n_alphas=15).fit(X, Y)
    >>> model.alphas_.shape, model.mse_path_.shape
    ((15,), (15, 5))
    """
    _base_class = LowRankRegressor

    def __init__(
        self,
        *,
        eps=1e-3,
        n_alphas=100,
        alphas=None,
        cv=None,
        n_jobs=None,
        fit_intercept=True,
        task_column=None,
        tol=1e-4,
        max_iter=5000,
    ):
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.cv = cv
        self.n_jobs = n_jobs
        self.fit_intercept = fit_intercept
        self.task_column = task_column
        self.tol = tol
        self.max_iter = max_iter
