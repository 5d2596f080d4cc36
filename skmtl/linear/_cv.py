"""Cross-validated estimators for every linear family, built on warm-started regularisation paths.

Each fold validates its training rows once (one design, one datafit: Gram matrix, centring) and
solves the family's problem along a decreasing grid of ``alpha`` (for each ``coupling`` of the
mean-regularised family), each solve starting from the previous solution; each solution is scored
on the held-out rows with the same scorer as :class:`~sklearn.model_selection.GridSearchCV`
(the estimator's own ``score`` by default). The best candidate is refitted on all data.
"""

from __future__ import annotations

import numbers
import warnings
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.special import logit
from sklearn.base import clone
from sklearn.model_selection import KFold, check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Hidden, Interval, StrOptions

from ..model_selection import TaskStratifiedKFold
from . import _validation as V
from ._base import _ClassifierBase, _RegressorBase
from ._estimators import (
    LowRankClassifier,
    LowRankRegressor,
    MeanRegularizedClassifier,
    MeanRegularizedRegressor,
    SparseClassifier,
    SparseRegressor,
)
from ._path import alpha_grid, least_squares_path, set_solution

if TYPE_CHECKING:  # annotations only
    from numpy.typing import ArrayLike
    from typing_extensions import Self


def _index(X, idx):
    return _safe_indexing(X, idx)


# -- the grid --------------------------------------------------------------------------------------


def _null_gradient(datafit):
    """Gradient in ``W`` at ``W = 0`` with the intercepts at their optimum: least squares
    eliminates them; for the logistic datafit they are the (weighted) log-odds of each task."""
    if hasattr(datafit, "grad_at_zero"):
        return datafit.grad_at_zero()
    d = datafit.design
    W = np.zeros((d.n_features, d.n_outputs))
    c = np.zeros(d.n_outputs)
    if datafit.fit_intercept:
        if datafit.all_binary:
            p1 = d.output_sums(datafit.S * datafit.Y) / np.maximum(d.output_sums(datafit.S), 1e-300)
            c = logit(np.clip(p1, 1e-12, 1 - 1e-12))
        else:
            for _t, _rows, _zcols, k, onehot, s in datafit.block_list:
                cols = d.out_slices[_t]
                freq = np.clip((s @ onehot) / s.sum(), 1e-12, None)
                c[cols] = logit(np.clip(freq, 1e-12, 1 - 1e-12)) if k == 1 else np.log(freq)
    _, gW, _ = datafit.gradient(W, c, datafit.linear(W, c))
    return gW


def _alpha_scale(datafit, penalty):
    """``alpha_max`` of a norm penalty (the smallest alpha with ``W = 0``); for a smooth penalty,
    which has none, the largest curvature of the data fit (its Lipschitz constant)."""
    if hasattr(penalty, "alpha_max"):
        return float(penalty.alpha_max(_null_gradient(datafit)))
    return float(datafit.lipschitz())


def _resolve_grid(values, scale, eps, name):
    """An int -> a decreasing geometric grid from ``scale`` to ``eps * scale``; an array ->
    itself, sorted decreasing (for the warm starts), checked."""
    if isinstance(values, numbers.Integral):
        return alpha_grid(scale, eps=eps, n_alphas=int(values))
    arr = np.asarray(values, dtype=float).ravel()
    if arr.size == 0 or np.any(np.isnan(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative numbers; got {values!r}.")
    return np.sort(arr)[::-1]


# -- one fold --------------------------------------------------------------------------------------


def _mse(estimator, X, y, sample_weight=None):
    """Mean squared error over the labelled entries (weighted by the rows' weights)."""
    err = (np.asarray(estimator.predict(X), dtype=float) - np.asarray(y, dtype=float)) ** 2
    err = err.reshape(err.shape[0], -1)
    w = np.ones(err.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    obs = ~np.isnan(err)
    W = np.where(obs, w[:, None], 0.0)
    total = float(np.sum(W))
    return float(np.sum(np.where(obs, err, 0.0) * W)) / total if total > 0 else np.nan


def _passthrough(estimator, X, y, **kwargs):
    return estimator.score(X, y, **kwargs)


def _init_common(self, kw):
    """An estimator's ``__init__``: each parameter stored under its own name, unchanged."""
    for name, value in kw.items():
        if name != "self":
            setattr(self, name, value)


class _OwnScore:
    """The estimator's own ``score`` on one fold's held-out rows, for a sequence of solutions:
    the held-out ``X`` is validated and the targets encoded once, then each solution costs one
    product (wide and single layouts; the long layout goes through ``score``). Exactly the
    numbers of ``score``: the mean over tasks of R^2 (weighted, over the labelled rows; 1 for a
    perfect fit of a constant target, 0 for an imperfect one, as ``r2_score``) or of the
    accuracy."""

    @classmethod
    def build(cls, est, X, y, sample_weight):
        if est._layout_ == "long":
            return False
        try:
            Xf, _ = V.split_task_column(est, X, reset=False)
            Xf = V.check_X(est, Xf, reset=False)
            arr, _ = V.as_target_array(y, Xf.shape[0])
        except (ValueError, TypeError):
            return False
        self = cls()
        self.X = Xf
        self.w = (np.ones(Xf.shape[0]) if sample_weight is None
                  else np.asarray(sample_weight, dtype=float))
        self.clf = est._is_classifier
        self.slices = V._slices(est._widths_)
        if self.clf:
            classes = [est.classes_] if est._layout_ == "single" else est.classes_
            self.codes, self.obs = [], []
            for t, cls_t in enumerate(classes):
                col = arr[:, t]
                obs = ~V.is_missing(col)  # the labelled samples, as score
                values = np.asarray(col[obs].tolist())
                known = np.asarray(cls_t.tolist())
                try:
                    pos = np.searchsorted(known, values)
                except TypeError:
                    return False
                pos = np.minimum(pos, len(known) - 1)
                code = np.where(known[pos] == values, pos, -1)
                self.codes.append(code)
                self.obs.append(obs)
        else:
            try:  # pandas' NA and None are missing labels, as in fit
                Y = np.asarray(np.where(V.is_missing(arr), np.nan, arr), dtype=float)
            except (ValueError, TypeError):
                return False
            self.Y = Y
            self.obs = ~np.isnan(Y)
        return self

    def mse(self, W, b):
        """:func:`_mse` of the solution ``(W, b)`` (regression): one product, no ``predict``."""
        return float(self.path(W[None], np.asarray(b)[None])[1][0])

    def path(self, coefs, intercepts):
        """``(scores, mse)`` of every solution ``coefs[k], intercepts[k]`` of a regression path,
        each an ndarray of shape ``(n_alphas,)``: the held-out outputs of a block of alphas are
        one product of ``X`` with their coefficients side by side."""
        K, p, M = coefs.shape
        n = self.X.shape[0]
        obs, w = self.obs, self.w
        Y0 = np.where(obs, self.Y, 0.0)
        weights = np.where(obs, w[:, None], 0.0)  # (n, M)
        total = float(np.sum(weights))
        labelled = obs.any(axis=0)
        sw_t = weights.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            y_mean = np.sum(weights * Y0, axis=0) / sw_t
        den = np.sum(weights * np.where(obs, Y0 - y_mean, 0.0) ** 2, axis=0)
        scores, mse = np.empty(K), np.empty(K)
        block = max(1, (1 << 22) // max(1, n * M))  # bounds the (n, block, M) outputs
        for k0 in range(0, K, block):
            Wb = coefs[k0 : k0 + block]
            kb = len(Wb)
            Z = np.asarray(self.X @ Wb.transpose(1, 0, 2).reshape(p, kb * M)).reshape(n, kb, M)
            Z += intercepts[None, k0 : k0 + kb]
            err = np.where(obs[:, None], Z - Y0[:, None], 0.0) ** 2
            num = np.einsum("ikm,im->km", err, weights)  # (kb, M)
            mse[k0 : k0 + kb] = num.sum(axis=1) / total if total > 0 else np.nan
            with np.errstate(invalid="ignore", divide="ignore"):
                r2 = np.where(den == 0.0, np.where(num == 0.0, 1.0, 0.0), 1.0 - num / den)
            # a task without held-out labels: this fold cannot score it
            scores[k0 : k0 + kb] = r2.mean(axis=1) if labelled.all() else np.nan
        return scores, mse

    def __call__(self, W, b):
        Z = np.asarray(self.X @ W) + np.asarray(b)[None, :]
        scores = []
        if self.clf:
            for s, code, obs in zip(self.slices, self.codes, self.obs):
                z = Z[obs, s]
                pred = (z[:, 0] > 0).astype(int) if z.shape[1] == 1 else np.argmax(z, axis=1)
                w = self.w[obs]
                if not obs.any():
                    return np.nan
                scores.append(float(np.sum(w * (pred == code)) / np.sum(w)))
            return float(np.mean(scores))
        for t in range(self.Y.shape[1]):
            obs = self.obs[:, t]
            y, z, w = self.Y[obs, t], Z[obs, t], self.w[obs]
            if not obs.any():  # no held-out label of this task: this fold cannot score it
                return np.nan
            num = float(np.sum(w * (y - z) ** 2))
            den = float(np.sum(w * (y - np.average(y, weights=w)) ** 2))
            if den == 0.0:
                scores.append(1.0 if num == 0.0 else 0.0)
            else:
                scores.append(1.0 - num / den)
        return float(np.mean(scores))


class _MeanRidgeClosedForm:
    """Exact mean-regularised least squares on one shared Gram matrix, for every (alpha,
    coupling) from one eigendecomposition ``Q = U diag(s) U'``: with ``W = wbar 1' + V`` the
    problem splits into ``(Q + alpha) wbar = mean_t q_t`` and
    ``(Q + alpha + coupling) v_t = q_t - mean_t q_t`` (coupling = inf: ``V = 0``)."""

    @classmethod
    def build(cls, datafit, penalty):
        if type(penalty).__name__ != "MeanRegularized" or getattr(penalty, "width", 1) != 1:
            return None
        if not (hasattr(datafit, "Q") and getattr(datafit, "shared", False)):
            return None
        self = cls()
        self.s, self.U = np.linalg.eigh(datafit.Q[0])
        qbar = datafit.q.mean(axis=1)
        self.m = self.U.T @ qbar
        self.D = self.U.T @ (datafit.q - qbar[:, None])
        return self

    def __call__(self, alpha, coupling):
        if alpha <= 0 or np.any(self.s + alpha <= 0):
            return None
        wbar = self.U @ (self.m / (self.s + alpha))
        if np.isinf(coupling):
            return np.repeat(wbar[:, None], self.D.shape[1], axis=1)
        V = self.U @ (self.D / (self.s + alpha + coupling)[:, None])
        return wbar[:, None] + V


def _fold_scores_ls_path(template, X, y, sw, sw_train, train, test, alphas, scorer, record_mse):
    """:func:`._path.least_squares_path` on the training rows, then every solution scored."""
    _, coefs, intercepts, gaps, n_iters, meta = least_squares_path(
        template, _index(X, train), _index(y, train), alphas, sample_weight=sw_train
    )
    X_test, y_test = _index(X, test), _index(y, test)
    kwargs = {} if sw is None else {"sample_weight": sw[test]}
    scoring_est = clone(template)
    scores = np.full((1, len(alphas)), np.nan)
    mse = np.full_like(scores, np.nan)
    errors, held_out = [], None

    def solution(k):
        scoring_est.set_params(alpha=alphas[k])
        penalty = scoring_est._penalty(meta["n_tasks"], meta["widths"])
        return set_solution(scoring_est, coefs[k], intercepts[k], meta, int(n_iters[k]),
                            float(gaps[k]), penalty=penalty)

    held_out = _OwnScore.build(solution(0), X_test, y_test, kwargs.get("sample_weight"))
    if held_out and (scorer is None or record_mse):
        # the held-out rows validated once: every alpha's score and MSE from one product
        fast_scores, fast_mse = held_out.path(coefs, intercepts)
        if scorer is None:
            scores[0] = fast_scores
        if record_mse:
            mse[0] = fast_mse
        if scorer is None:
            return scores, mse, errors
    for k in range(len(alphas)):
        try:
            est = solution(k)
            scores[0, k] = (scorer or _passthrough)(est, X_test, y_test, **kwargs)
            if record_mse and not held_out:
                mse[0, k] = _mse(est, X_test, y_test, **kwargs)
        except ValueError as exc:
            errors.append(str(exc))
    return scores, mse, errors[:1]


def _fold_scores(template, X, y, sw, train, test, grid_rows, alphas, scorer, record_mse,
                 to_params=None):
    """Scores ``(n_rows, n_alphas)`` on the test rows (and their MSE when ``record_mse``); row
    ``i`` of the grid is a dict of the other hyper-parameters (``coupling``), each row a path
    warm-started along ``alphas``. ``to_params(alpha, row)``: the base estimator's parameters
    of a candidate (default ``{"alpha": alpha, **row}``)."""
    sw_train = None if sw is None else sw[train]
    if to_params is None:
        def to_params(alpha, row):
            return {"alpha": alpha, **row}
    if not template._is_classifier and grid_rows == [{}] and to_params(1.0, {}) == {"alpha": 1.0}:
        # a norm-penalised least-squares regressor: the shared path of _path.py
        return _fold_scores_ls_path(
            template, X, y, sw, sw_train, train, test, alphas, scorer, record_mse
        )
    est = clone(template)
    if "warm_start" in est.get_params(deep=False):
        # read by the split models only (dirty, robust): warm-start both parts along the path
        est.set_params(warm_start=True)
    design, targets, meta = est._prepare(_index(X, train), _index(y, train), sw_train)
    datafit, to_intercept = est._build_datafit(design, targets)
    meta = {
        **meta,
        "n_features_in_": est.n_features_in_,
        "feature_names_in_": getattr(est, "feature_names_in_", None),
    }
    X_test, y_test = _index(X, test), _index(y, test)
    kwargs = {} if sw is None else {"sample_weight": sw[test]}
    # the solving estimator scores its own solutions: a family's _set_fitted may read what its
    # _solve kept (the task graph, the two parts of a split model, the solved penalty)
    scoring_est = est
    fast = closed = None
    p, M = design.n_features, design.n_outputs
    scores = np.full((len(grid_rows), len(alphas)), np.nan)
    mse = np.full_like(scores, np.nan)
    errors = []
    for i, row in enumerate(grid_rows):
        W, b = np.zeros((p, M)), np.zeros(M)
        for k, alpha in enumerate(alphas):
            est.set_params(**to_params(alpha, row))
            penalty = est._penalty(meta["n_tasks"], meta["widths"])
            if closed is None:
                closed = _MeanRidgeClosedForm.build(datafit, penalty) or False
            exact = closed(alpha, row["coupling"]) if closed else None
            if exact is not None:
                W, n_iter, crit, rule_name = exact, 1, 0.0, "prox-gradient norm"
            else:
                W, b, n_iter, crit, _, rule_name = est._solve(datafit, penalty, W, b)
            set_solution(
                scoring_est, W, to_intercept(W, b), meta, n_iter, crit, rule_name, penalty=penalty
            )
            if fast is None and scorer is None:
                fast = _OwnScore.build(scoring_est, X_test, y_test, kwargs.get("sample_weight"))
            try:
                if fast:
                    scores[i, k] = fast(W, to_intercept(W, b))
                else:
                    scores[i, k] = (scorer or _passthrough)(scoring_est, X_test, y_test, **kwargs)
                if record_mse:
                    mse[i, k] = _mse(scoring_est, X_test, y_test, **kwargs)
            except ValueError as exc:  # e.g. a task absent from the training rows
                errors.append(str(exc))
    return scores, mse, errors[:1]


# -- the shared fit ---------------------------------------------------------------------------


_CV_CONSTRAINTS = {
    "alphas": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
    "n_alphas": [
        Interval(numbers.Integral, 1, None, closed="left"),
        Hidden(StrOptions({"deprecated"})),
    ],
    "eps": [Interval(numbers.Real, 0, 1, closed="neither")],
    "cv": ["cv_object"],
    "scoring": [None, str, callable],
    "n_jobs": [numbers.Integral, None],
    "refit": ["boolean"],
    "task_weights": [None, StrOptions({"n_samples"}), dict, "array-like"],
    "unknown_task": [StrOptions({"error", "mean"})],
}


class _CVMixin:
    """fit for the CV estimators: grid, folds, warm-started paths, choice, refit."""

    _base_class: type
    _grid_params: tuple = ()  # hyper-parameters besides alpha, each with a "<name>s" grid

    def _base_estimator(self, **params):
        shared = self._base_class().get_params(deep=False)
        own = {k: v for k, v in self.get_params(deep=False).items() if k in shared}
        own.pop("alpha", None)
        return self._base_class(**{**own, **params})

    def _penalty(self, n_tasks, widths):
        return self._base_estimator(**self.best_params_)._penalty(n_tasks, widths)

    def _candidate(self, alpha, row):
        """The base estimator's parameters of the candidate ``(alpha, row)`` of the grid."""
        return {"alpha": alpha, **row}

    def _splits(self, X, y):
        if self.task_column is not None and (
            self.cv is None or isinstance(self.cv, numbers.Integral)
        ):
            # long layout: every training fold must hold every task
            n_splits = 5 if self.cv is None else self.cv
            return list(TaskStratifiedKFold(n_splits, task_column=self.task_column).split(X))
        try:
            with np.errstate(invalid="ignore"):  # type_of_target casts NaN labels
                cv = check_cv(self.cv, y, classifier=self._is_classifier)
        except (ValueError, TypeError):  # targets check_cv cannot type (missing, mixed)
            cv = check_cv(self.cv)
        if isinstance(cv, KFold) or not self._is_classifier:
            return list(cv.split(X, y))
        return list(cv.split(X, np.asarray(y)))

    def _grids(self, X, y, sample_weight):
        est = self._base_estimator()
        design, targets, meta = est._prepare(X, y, sample_weight)
        datafit, _ = est._build_datafit(design, targets)
        alphas_param = self.alphas
        if getattr(self, "n_alphas", "deprecated") != "deprecated":
            warnings.warn(
                "'n_alphas' is deprecated and will be removed in a future release; pass the "
                "number of alphas as 'alphas' (an int), as in scikit-learn 1.9.",
                FutureWarning,
                stacklevel=3,
            )
            if isinstance(alphas_param, numbers.Integral):
                alphas_param = self.n_alphas
        penalty = est._penalty(meta["n_tasks"], meta["widths"])
        scale = _alpha_scale(datafit, penalty)
        alphas = _resolve_grid(alphas_param, scale, self.eps, "alphas")
        rows = [{}]
        for name in self._grid_params:
            values = self._resolve_param_grid(name, scale)
            rows = [{**r, name: v} for r in rows for v in values]
        return alphas, rows

    def _resolve_param_grid(self, name, scale):  # pragma: no cover - overridden
        raise NotImplementedError

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Score every candidate on every fold along warm-started paths, choose, refit.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data (with the task column in the long layout).
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets; NaN (or None) marks a missing label.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, used by every fold's fit (its training rows), by the scores (its
            held-out rows) and by the refit.

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
        n = X.shape[0]
        sw = V.check_sample_weight(sample_weight, n) if sample_weight is not None else None
        alphas, rows = self._grids(X, y, sw)
        folds = self._splits(X, y)
        from sklearn.metrics import check_scoring

        template = self._base_estimator()
        # None: the estimator's own score, computed by _OwnScore (the same numbers, faster)
        scorer = None if self.scoring is None else check_scoring(template, scoring=self.scoring)
        # imported here: folds in parallel only when fitting; importing skmtl.linear stays light
        from sklearn.utils.parallel import Parallel, delayed

        if self.n_jobs not in (None, 1) and self._base_class is SparseRegressor:
            # workers load the compiled solvers from the on-disk cache instead of compiling them
            from ._path import warm_compiled_cache

            warm_compiled_cache()

        record_mse = not self._is_classifier and not self._grid_params
        out = Parallel(n_jobs=self.n_jobs)(
            delayed(_fold_scores)(template, X, y, sw, train, test, rows, alphas, scorer, record_mse,
                                  None if type(self)._candidate is _CVMixin._candidate
                                  else self._candidate)
            for train, test in folds
        )
        scores = np.stack([s for s, _, _ in out])  # (n_folds, n_rows, n_alphas)
        errors = [e[0] for _, _, e in out if e]
        if record_mse:
            self.mse_path_ = np.stack([m[0] for _, m, _ in out], axis=1)  # (n_alphas, n_folds)
        best_row, best_k, best_score = self._choose(scores, errors)
        self.alphas_ = alphas
        self.alpha_ = float(alphas[best_k])
        self.best_params_ = self._candidate(self.alpha_, rows[best_row])
        self.best_score_ = float(best_score)
        for name in self._grid_params:
            setattr(self, name + "s_", np.array([r[name] for r in rows], dtype=float))
            setattr(self, name + "_", float(rows[best_row][name]))
        # (n_folds, n_couplings, n_alphas) for the mean-regularised grid, else (n_folds, n_alphas)
        self.scores_ = scores if self._grid_params else scores[:, 0, :]
        if self.refit:
            final = self._base_estimator(**self.best_params_).fit(X, y, sample_weight=sw)
            for name, value in vars(final).items():
                if name.endswith("_") and not name.startswith("__"):
                    setattr(self, name, value)
        else:
            self.n_features_in_ = X.shape[1] - (self.task_column is not None)
        return self

    @staticmethod
    def _choose(scores, errors):
        """Best mean score over folds; a candidate with a NaN score on any fold is left out of
        the choice, with a warning (all NaN raises)."""
        bad = np.isnan(scores).any(axis=0)
        if bad.all():
            raise ValueError(
                "No candidate could be scored on every fold"
                + (f"; the first error: {errors[0]}" if errors else ".")
                + " In the long layout, split with skmtl.model_selection.TaskStratifiedKFold."
            )
        if bad.any():
            n_bad_folds = int(np.isnan(scores).any(axis=(1, 2)).sum())
            warnings.warn(
                f"{int(bad.sum())} of {bad.size} candidates could not be scored on "
                f"{n_bad_folds} of {scores.shape[0]} folds (NaN) and are left out of the choice"
                + (f"; the first error: {errors[0]}" if errors else "")
                + " In the long layout, split with skmtl.model_selection.TaskStratifiedKFold.",
                UserWarning,
                stacklevel=3,
            )
        mean = np.where(bad, -np.inf, scores.mean(axis=0) if not bad.all() else 0.0)
        flat = int(np.argmax(mean))  # the first best, in grid order (as GridSearchCV)
        row, k = np.unravel_index(flat, mean.shape)
        return int(row), int(k), mean[row, k]


def _cv_constraints(base):
    out = {**base._parameter_constraints, **_CV_CONSTRAINTS}
    out.pop("alpha", None)
    out.pop("warm_start", None)
    return out


def _coupling_grid(scale, eps, n):
    """``n`` couplings from ``eps * scale`` up to ``scale`` on a log scale; a scale of zero (no
    curvature in the data: one sample, constant features) gives copies of a tiny value."""
    if not scale > 0 or not np.isfinite(scale):
        return np.full(n, np.finfo(float).resolution)
    return np.geomspace(eps * scale, scale, n)


class _MeanCV(_CVMixin):
    _grid_params = ("coupling",)

    def _resolve_param_grid(self, name, scale):
        values = self.couplings
        if isinstance(values, numbers.Integral):
            if values < 2:
                raise ValueError(f"couplings={values}: an int grid needs at least 2 values.")
            inner = _coupling_grid(scale, self.eps, values - 2) if values > 2 else []
            return np.r_[0.0, inner, np.inf]
        arr = np.asarray(values, dtype=float).ravel()
        if arr.size == 0 or np.any(np.isnan(arr)) or np.any(arr < 0):
            raise ValueError(f"couplings must be non-negative numbers; got {values!r}.")
        return arr


# -- documentation pieces ------------------------------------------------------------------------

_CV_PARAMS = """alphas : int or array-like, default={n_default}
        An int: that many values on a log scale from {scale} down to ``eps`` times it; an
        array: those values (sorted decreasing, for the warm starts).
    eps : float, default={eps}
        Length of a generated grid: ``alpha_min / alpha_max = eps``.
    n_alphas : int
        Deprecated: pass the number of alphas as ``alphas``.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn; None is 5 folds. In the long layout an integer or None uses
        :class:`skmtl.model_selection.TaskStratifiedKFold`, so that every training fold holds
        every task (a task needs at least 2 rows); any other splitter must do the same, or set
        ``unknown_task="mean"``.
    scoring : str, callable or None, default=None
        Scorer of the held-out rows, as in :class:`~sklearn.model_selection.GridSearchCV`;
        None is the estimator's own ``score`` ({score}), so the choice is the one GridSearchCV
        makes by default.
    n_jobs : int, default=None
        Folds run in parallel with joblib.
    refit : bool, default=True
        Refit the best candidate on all data. False: only choose (``alpha_``, ``scores_``);
        the estimator then has no ``coef_`` and cannot predict (as ``GridSearchCV``)."""

_CV_COMMON = """fit_intercept : bool, default=True
        Fit one unpenalised intercept per task (per class for a multiclass task).
    task_column : int, str or None, default=None
        Long layout: the column of ``X`` that holds the task label.
    tol : float, default=1e-4
        Solver tolerance of each solve (see the base estimator).
    max_iter : int, default=5000
        Maximum number of solver iterations per solve."""

_CV_NOTES = """A candidate with a score of NaN on any fold (a fold that could not be scored,
    e.g. one whose training rows lack a task of its test rows) is left out of the choice with a
    :class:`UserWarning`; when no candidate is scored on every fold, ``fit`` raises. Scores of
    tied candidates are broken in favour of the first in the grid (the largest ``alpha``), as
    GridSearchCV breaks ties."""

_CV_ATTRS = """alpha_ : float
        The chosen alpha.
    alphas_ : ndarray of shape (n_alphas,)
        The alphas tried, decreasing.
    best_params_ : dict
        The chosen hyper-parameters (the parameters of the base estimator).
    best_score_ : float
        Mean held-out score of the chosen candidate.
    coef_, intercept_, n_iter_, tasks_, n_tasks_, n_features_in_
        Those of the refit (the base estimator at the chosen hyper-parameters)."""


def _cv_doc(text, **pieces):
    for key, value in pieces.items():
        text = text.replace("{" + key + "}", value)
    return text


# -- the estimators ------------------------------------------------------------------------------



_REG_SCORE = "the mean over tasks of R^2"
_CLF_SCORE = "the mean over tasks of the accuracy"
_NORM_SCALE = "``alpha_max`` (the smallest alpha giving ``W = 0``)"
_SMOOTH_SCALE = (
    "the largest curvature of the data fit (the largest eigenvalue over tasks of the centred "
    "``X_t' X_t / n_t``, a quarter of it for the logistic loss)"
)

_TAIL = """{solver}task_weights : dict, array-like, "n_samples" or None, default=None
        As for :class:`{base}`.
    unknown_task : {"error", "mean"}, default="error"
        As for :class:`{base}`.

    Attributes
    ----------
    """ + _CV_ATTRS


def _doc(summary, base, *, score, scale, n_default, eps, extra_params="", attrs="",
         example="", solver=False):
    solver_doc = (
        'solver : {"auto", "working_set", "fista"}, default="auto"\n'
        f"        As for :class:`{base}`.\n    "
        if solver else ""
    )
    tail = _TAIL.replace("{solver}", solver_doc).replace("{base}", base)
    return f"""{summary}

    Parameters
    ----------
    {_CV_PARAMS.format(n_default=n_default, scale=scale, eps=eps, score=score)}{extra_params}
    {_CV_COMMON}
    {tail}
{attrs}
    Notes
    -----
    {_CV_NOTES}

    Examples
    --------
{example}
    """


_NORM_SUMMARY = """{what} with ``alpha`` chosen by cross-validation.

    Each fold solves :class:`{base}` along a path of ``alpha`` from {scale} down, each solve
    warm-started at the previous solution, and scores each solution on its held-out rows; the
    ``alpha`` of best mean score is refitted on all data (as {ref})."""

_NORM_ATTRS = """    scores_ : ndarray of shape (n_folds, n_alphas)
        Held-out score of each alpha on each fold (higher is better).
"""
_MSE_ATTR = """    mse_path_ : ndarray of shape (n_alphas, n_folds)
        Held-out mean squared error of each alpha on each fold, over the labelled entries
        (recorded whatever the scoring; ``MultiTaskLassoCV`` chooses by it).
"""


class SparseRegressorCV(_CVMixin, _RegressorBase):
    __doc__ = _doc(
        _NORM_SUMMARY.format(
            what="L2,1 multi-task regression", base="SparseRegressor", scale=_NORM_SCALE,
            ref=":class:`sklearn.linear_model.MultiTaskLassoCV`, which chooses by mean squared "
            'error: ``scoring="neg_mean_squared_error"``',
        ),
        "SparseRegressor", score=_REG_SCORE, scale=_NORM_SCALE, n_default="100", eps="1e-3",
        attrs=_NORM_ATTRS + _MSE_ATTR, solver=True,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import SparseRegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 15))
    >>> W = np.zeros((15, 3)); W[:3] = 1.0
    >>> Y = X @ W + 0.5 * rng.normal(size=(120, 3))
    >>> model = SparseRegressorCV(alphas=20).fit(X, Y)
    >>> model.scores_.shape, model.mse_path_.shape
    ((5, 20), (20, 5))
    >>> bool(model.alpha_ < model.alphas_[0])
    True""",
    )
    _base_class = SparseRegressor
    _parameter_constraints = _cv_constraints(SparseRegressor)

    def __init__(self, *, alphas=100, eps=1e-3, n_alphas="deprecated", cv=None, scoring=None,
                 n_jobs=None, refit=True, fit_intercept=True, task_column=None, tol=1e-4,
                 max_iter=5000, solver="auto", task_weights=None, unknown_task="error"):
        _init_common(self, locals())


class LowRankRegressorCV(_CVMixin, _RegressorBase):
    __doc__ = _doc(
        _NORM_SUMMARY.format(
            what="Trace-norm multi-task regression", base="LowRankRegressor",
            scale="``alpha_max`` (the spectral norm of the gradient at zero)",
            ref=":class:`sklearn.linear_model.MultiTaskLassoCV` for the L2,1 penalty",
        ),
        "LowRankRegressor", score=_REG_SCORE, scale=_NORM_SCALE, n_default="100", eps="1e-3",
        attrs=_NORM_ATTRS + _MSE_ATTR,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import LowRankRegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 10))
    >>> W = rng.normal(size=(10, 1)) @ rng.normal(size=(1, 6))
    >>> Y = X @ W + 0.5 * rng.normal(size=(120, 6))
    >>> model = LowRankRegressorCV(alphas=15).fit(X, Y)
    >>> model.alphas_.shape, model.scores_.shape
    ((15,), (5, 15))""",
    )
    _base_class = LowRankRegressor
    _parameter_constraints = _cv_constraints(LowRankRegressor)

    def __init__(self, *, alphas=100, eps=1e-3, n_alphas="deprecated", cv=None, scoring=None,
                 n_jobs=None, refit=True, fit_intercept=True, task_column=None, tol=1e-4,
                 max_iter=5000, task_weights=None, unknown_task="error"):
        _init_common(self, locals())


class SparseClassifierCV(_CVMixin, _ClassifierBase):
    __doc__ = _doc(
        _NORM_SUMMARY.format(
            what="L2,1 multi-task logistic regression", base="SparseClassifier",
            scale=_NORM_SCALE + " at the intercepts' optimum",
            ref=":class:`sklearn.linear_model.LogisticRegressionCV`",
        ),
        "SparseClassifier", score=_CLF_SCORE, scale=_NORM_SCALE, n_default="20", eps="1e-2",
        attrs=_NORM_ATTRS, solver=True,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import SparseClassifierCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 10))
    >>> Y = np.column_stack([X[:, 0] + 0.5 * k * X[:, 1] > 0 for k in range(3)]).astype(int)
    >>> clf = SparseClassifierCV(alphas=8, cv=3).fit(X, Y)
    >>> clf.scores_.shape
    (3, 8)
    >>> bool(clf.score(X, Y) > 0.9)
    True""",
    )
    _base_class = SparseClassifier
    _parameter_constraints = _cv_constraints(SparseClassifier)

    def __init__(self, *, alphas=20, eps=1e-2, n_alphas="deprecated", cv=None, scoring=None,
                 n_jobs=None, refit=True, fit_intercept=True, task_column=None, tol=1e-4,
                 max_iter=5000, solver="auto", task_weights=None, unknown_task="error"):
        _init_common(self, locals())


class LowRankClassifierCV(_CVMixin, _ClassifierBase):
    __doc__ = _doc(
        _NORM_SUMMARY.format(
            what="Trace-norm multi-task logistic regression", base="LowRankClassifier",
            scale=_NORM_SCALE + " at the intercepts' optimum",
            ref=":class:`sklearn.linear_model.LogisticRegressionCV`",
        ),
        "LowRankClassifier", score=_CLF_SCORE, scale=_NORM_SCALE, n_default="20", eps="1e-2",
        attrs=_NORM_ATTRS,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import LowRankClassifierCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 6))
    >>> Y = np.column_stack([(X[:, 0] - X[:, 1] + 0.1 * k > 0) for k in range(4)]).astype(int)
    >>> clf = LowRankClassifierCV(alphas=8, cv=3).fit(X, Y)
    >>> clf.coef_.shape
    (4, 6)""",
    )
    _base_class = LowRankClassifier
    _parameter_constraints = _cv_constraints(LowRankClassifier)

    def __init__(self, *, alphas=20, eps=1e-2, n_alphas="deprecated", cv=None, scoring=None,
                 n_jobs=None, refit=True, fit_intercept=True, task_column=None, tol=1e-4,
                 max_iter=5000, task_weights=None, unknown_task="error"):
        _init_common(self, locals())


_MEAN_SUMMARY = """{what} with ``alpha`` and ``coupling`` chosen by cross-validation.

    Each fold solves :class:`{base}` on the grid ``couplings x alphas``: for each coupling, a
    path of decreasing ``alpha``, each solve warm-started at the previous solution. Every
    solution is scored on the held-out rows and the pair of best mean score is refitted on all
    data. ``alpha`` has no ``alpha_max`` here (the penalty is smooth): a generated grid starts at
    {scale}."""

_MEAN_PARAMS = """
    couplings : int or array-like, default=5
        The couplings tried. An int ``k >= 2``: ``0`` (independent tasks), ``k - 2`` values on a
        log scale from ``eps`` times the scale above up to it, and ``inf`` (one shared vector);
        an array: those values."""

_MEAN_ATTRS = """    coupling_ : float
        The chosen coupling.
    couplings_ : ndarray of shape (n_couplings,)
        The couplings tried.
    scores_ : ndarray of shape (n_folds, n_couplings, n_alphas)
        Held-out score of each (coupling, alpha) on each fold (higher is better).
"""


_MEAN_CONSTRAINTS = {
    "couplings": [Interval(numbers.Integral, 2, None, closed="left"), "array-like"]
}


class MeanRegularizedRegressorCV(_MeanCV, _RegressorBase):
    __doc__ = _doc(
        _MEAN_SUMMARY.format(
            what="Mean-regularised multi-task ridge regression", base="MeanRegularizedRegressor",
            scale=_SMOOTH_SCALE,
        ),
        "MeanRegularizedRegressor", score=_REG_SCORE, scale=_SMOOTH_SCALE, n_default="10",
        eps="1e-4", extra_params=_MEAN_PARAMS, attrs=_MEAN_ATTRS,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import MeanRegularizedRegressorCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 4))
    >>> Y = np.column_stack([X @ (np.ones(4) + 0.1 * k) for k in range(3)])
    >>> Y += 0.5 * rng.normal(size=Y.shape)
    >>> model = MeanRegularizedRegressorCV(alphas=6, couplings=[0.0, 1.0, np.inf]).fit(X, Y)
    >>> model.scores_.shape
    (5, 3, 6)
    >>> sorted(model.best_params_)
    ['alpha', 'coupling']""",
    )
    _base_class = MeanRegularizedRegressor
    _parameter_constraints = {
        **_cv_constraints(MeanRegularizedRegressor), **_MEAN_CONSTRAINTS
    }
    _parameter_constraints.pop("coupling", None)

    def __init__(self, *, alphas=10, couplings=5, eps=1e-4, n_alphas="deprecated", cv=None,
                 scoring=None, n_jobs=None, refit=True, fit_intercept=True, task_column=None,
                 tol=1e-4, max_iter=5000, task_weights=None, unknown_task="error"):
        _init_common(self, locals())


class MeanRegularizedClassifierCV(_MeanCV, _ClassifierBase):
    __doc__ = _doc(
        _MEAN_SUMMARY.format(
            what="Mean-regularised multi-task logistic regression",
            base="MeanRegularizedClassifier", scale=_SMOOTH_SCALE,
        ),
        "MeanRegularizedClassifier", score=_CLF_SCORE, scale=_SMOOTH_SCALE, n_default="10",
        eps="1e-4", extra_params=_MEAN_PARAMS, attrs=_MEAN_ATTRS,
        example="""    >>> import numpy as np
    >>> from skmtl.linear import MeanRegularizedClassifierCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> Y = np.column_stack([(X[:, 0] + 0.2 * k * X[:, 1] > 0).astype(int) for k in range(3)])
    >>> clf = MeanRegularizedClassifierCV(alphas=5, couplings=3, cv=3).fit(X, Y)
    >>> clf.scores_.shape
    (3, 3, 5)
    >>> bool(clf.score(X, Y) > 0.9)
    True""",
    )
    _base_class = MeanRegularizedClassifier
    _parameter_constraints = {
        **_cv_constraints(MeanRegularizedClassifier), **_MEAN_CONSTRAINTS
    }
    _parameter_constraints.pop("coupling", None)

    def __init__(self, *, alphas=10, couplings=5, eps=1e-4, n_alphas="deprecated", cv=None,
                 scoring=None, n_jobs=None, refit=True, fit_intercept=True, task_column=None,
                 tol=1e-4, max_iter=5000, task_weights=None, unknown_task="error"):
        _init_common(self, locals())


__all__ = [
    "LowRankClassifierCV",
    "LowRankRegressorCV",
    "MeanRegularizedClassifierCV",
    "MeanRegularizedRegressorCV",
    "SparseClassifierCV",
    "SparseRegressorCV",
]
