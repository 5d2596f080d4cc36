"""The shared machinery of the linear multi-task estimators: input -> (datafit, penalty) -> solver
-> fitted attributes, and prediction in both layouts. The named estimators only choose a penalty.
"""

from __future__ import annotations

import numbers
import warnings
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:  # annotations only; typing_extensions' Self also covers Python 3.10
    from numpy.typing import ArrayLike, NDArray
    from typing_extensions import Self

from . import _validation as V
from ._datafits import _GRAM_MAX_ENTRIES, Logistic, Quadratic
from ._design import set_task_weight
from ._penalties import DUALITY_GAP, WORKING_SET, has_capability
from ._solvers import DualityGap, ProxGradNorm, fista, working_set


def _use_gram(datafit):
    """Gram form when it is cheaper per iteration than two passes over the data."""
    d = datafit.design
    p, T = d.n_features, d.n_tasks
    if datafit.gram_size() > _GRAM_MAX_ENTRIES:
        return False
    data_cost = d.n_samples * p * (T if d.layout == "wide" else 1)
    gram_cost = p * p * T
    return gram_cost < data_cost


DEFAULT_ALPHA_RATIO = 0.01
"""``alpha=None`` means ``alpha_ = DEFAULT_ALPHA_RATIO * alpha_max`` for the norm penalties."""


def _gradient_at_zero(datafit):
    """Gradient of the data fit in ``W`` at ``W = 0`` (intercepts at zero: with centred
    designs the gradient in ``W`` does not depend on them)."""
    if hasattr(datafit, "grad_at_zero"):
        return datafit.grad_at_zero()
    p, M = datafit.design.n_features, datafit.design.n_outputs
    W, b = np.zeros((p, M)), np.zeros(M)
    return datafit.gradient(W, b, datafit.linear(W, b))[1]


class _MultiTaskLinear(BaseEstimator):
    """Base class; subclasses set ``_penalty`` and the ``__init__`` parameters."""

    _parameter_constraints: dict = {
        "alpha": [Interval(numbers.Real, 0, None, closed="left"), None],
        "fit_intercept": ["boolean"],
        "task_column": [None, numbers.Integral, str],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "task_weights": [None, StrOptions({"n_samples"}), dict, "array-like"],
        "unknown_task": [StrOptions({"error", "mean"})],
    }
    _is_classifier = False
    _allows_working_set = False

    # -- hooks --------------------------------------------------------------------------------
    def _penalty(self, n_tasks, width):  # pragma: no cover - abstract
        raise NotImplementedError

    def _solver_name(self, penalty):
        solver = getattr(self, "solver", "fista")
        if solver == "auto":
            return "working_set" if has_capability(penalty, WORKING_SET) else "fista"
        return solver

    # -- input ----------------------------------------------------------------------------------
    def _prepare(self, X, y, sample_weight=None):
        """Validate everything and build (design, targets, metadata). Sets no attribute except
        those of ``validate_data`` (``n_features_in_``, ``feature_names_in_``).

        Rows of zero ``sample_weight`` are dropped before anything else, so that a zero weight
        is exactly a removed row."""
        Xf, task_labels = V.split_task_column(self, X, reset=True)
        Xf = V.check_X(self, Xf, reset=True)
        n = Xf.shape[0]
        sw = V.check_sample_weight(sample_weight, n)
        meta = {"dtype": Xf.dtype}
        if sw is not None and not np.all(sw > 0):
            keep_rows = np.flatnonzero(sw > 0)
            V.as_target_array(y, n)  # the length check first, on the full y
            Xf = Xf[keep_rows]
            y = _safe_indexing(y if hasattr(y, "iloc") else np.asarray(y), keep_rows)
            if task_labels is not None:
                task_labels = np.asarray(task_labels)[keep_rows]
            sw = sw[keep_rows]
            n = Xf.shape[0]
        if task_labels is not None:
            arr, single = V.as_target_array(y, n)
            if not single and arr.shape[1] != 1:
                raise ValueError(
                    f"With task_column, y must be 1-D (one label per row); got shape {arr.shape}."
                )
            arr = arr[:, 0]
            tasks, index = V.encode_tasks(task_labels, column=self.task_column)
            names = tasks
            meta.update(layout="long", tasks=tasks)
            if self._is_classifier:
                V.check_classification_targets_type(arr)
                per_task = [arr[index == t] for t in range(len(tasks))]
                classes, codes_t, obs_t = V.classification_targets(per_task, names)
                keep = ~V.is_missing(arr)
                codes = np.full(n, -1, dtype=np.intp)
                for t in range(len(tasks)):
                    codes[index == t] = codes_t[t]
                widths = [1 if c.size == 2 else c.size for c in classes]
                Xk, idx, targets = Xf[keep], index[keep], codes[keep].astype(float)
                meta.update(classes=classes, global_classes=np.unique(np.concatenate(classes)))
            else:
                Y, obs = V.regression_targets(arr[:, None], None)
                keep = obs[:, 0]
                empty = np.setdiff1d(np.arange(len(tasks)), np.unique(index[keep]))
                if empty.size:
                    raise ValueError(
                        f"{V.task_label(names, int(empty[0])).capitalize()} has no labelled sample "
                        "(all its targets are NaN or missing)."
                    )
                widths = [1] * len(tasks)
                Xk, idx, targets = Xf[keep], index[keep], Y[keep, 0]
            design, order = V.long_design(
                Xk, idx, len(tasks), widths, sample_weight=None if sw is None else sw[keep]
            )
            target_arr = targets[order][:, None]
        else:
            arr, single = V.as_target_array(y, n)
            names = V.task_names_of(y)
            tasks = names if names is not None else np.arange(arr.shape[1])
            meta.update(layout="single" if single else "wide", tasks=tasks)
            if self._is_classifier:
                V.check_classification_targets_type(arr)
                cols = [arr[:, t] for t in range(arr.shape[1])]
                classes, codes, obs = V.classification_targets(cols, None if single else names)
                widths = [1 if c.size == 2 else c.size for c in classes]
                observed = np.column_stack(obs)
                design = V.wide_design(Xf, widths, observed, sample_weight=sw)
                target_arr = np.zeros(design.output_shape)
                for t, s in enumerate(design.out_slices):
                    target_arr[:, s.start] = np.maximum(codes[t], 0)
                meta.update(classes=classes)
            else:
                Y, observed = V.regression_targets(arr, None if single else names)
                widths = [1] * Y.shape[1]
                design = V.wide_design(Xf, widths, observed, sample_weight=sw)
                target_arr = np.where(observed, Y, 0.0)
        task_weight = V.resolve_task_weights(
            getattr(self, "task_weights", None), meta["tasks"], design.task_totals,
            layout=meta["layout"],
        )
        set_task_weight(design, task_weight)
        meta.update(widths=widths, n_tasks=len(widths), task_weights=task_weight)
        return design, target_arr, meta

    # -- fit -------------------------------------------------------------------------------------
    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data. With ``task_column``, one column holds each row's task label.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Targets: 1-D for one task (or the long layout), 2-D for one column per task (wide
            layout). Missing labels (NaN, None) are left out of that task's loss.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row. Each task's mean loss becomes a weighted mean
            (``sum_i s_i loss_i / sum_i s_i`` over its labelled rows, intercepts centred with
            weighted means): an integer weight equals repeating the row, a zero weight equals
            removing it. Weights constant within a task cancel; use ``task_weights`` to make
            tasks count differently.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._validate_params()
        design, targets, meta = self._prepare(X, y, sample_weight)
        widths = meta["widths"]
        penalty = self._penalty(meta["n_tasks"], widths)
        datafit, to_intercept = self._build_datafit(design, targets)
        alpha, penalty = self._resolve_alpha(datafit, penalty, design)
        W0, b0 = self._initial(design, meta)
        if self._is_classifier:
            b0 = datafit.to_centered(W0, b0)
        W, b, n_iter, crit, converged, rule_name = self._solve(datafit, penalty, W0, b0)
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} iterations: "
                f"{rule_name} {crit:.3g} > tolerance {self._threshold_:.3g}. Increase max_iter, "
                "loosen tol, or scale the features.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set_fitted(W, to_intercept(W, b), meta, n_iter, crit, rule_name)
        self._fit_penalty_ = penalty  # for the population model of new tasks
        self.alpha_ = alpha
        return self

    def _build_datafit(self, design, targets):
        """The datafit the solvers use and ``to_intercept(W, b)``, the model's intercepts from a
        solution (least squares eliminates the intercept; logistic solves it, centred)."""
        if self._is_classifier:
            datafit = Logistic(design, targets, fit_intercept=self.fit_intercept)
            return datafit, datafit.intercept
        quad = Quadratic(design, targets, fit_intercept=self.fit_intercept)
        datafit = quad.to_gram() if _use_gram(quad) else quad.unweighted_equivalent()
        return datafit, lambda W, b=None: quad.intercept(W)

    def _resolve_alpha(self, datafit, penalty, design):
        """``(alpha_, penalty at alpha_)``: ``alpha`` itself when given, else the default rule
        (:meth:`_default_alpha`); the constructor parameter is left as it is."""
        if getattr(self, "alpha", None) is not None:
            return float(penalty.alpha), penalty
        alpha = float(self._default_alpha(datafit, penalty, design))
        return alpha, penalty.with_alpha(alpha)

    def _default_alpha(self, datafit, penalty, design):
        """The rule for ``alpha=None``. A norm penalty (``"duality_gap"``: it has ``alpha_max``,
        the smallest ``alpha`` giving ``W = 0``) gets ``DEFAULT_ALPHA_RATIO * alpha_max``, as
        glmnet's path is relative to ``lambda_max``; any other penalty ``1 / n``, with ``n`` the
        mean number of labelled samples per task: on the per-task mean loss that is
        scikit-learn's ``Ridge(alpha=1)`` and ``LogisticRegression(C=1)`` for each task. A
        family with another scale overrides this method."""
        if has_capability(penalty, DUALITY_GAP):
            alpha_max = penalty.alpha_max(_gradient_at_zero(datafit))
            # alpha_max = 0 (e.g. constant targets): W = 0 for every alpha; as the path does
            return DEFAULT_ALPHA_RATIO * alpha_max if alpha_max > 0 else np.finfo(float).resolution
        # weighted counts (the counts when unweighted): integer weights act as repeated rows
        counts = np.asarray(design.task_totals, dtype=float)
        return 1.0 / max(float(counts.mean()), 1.0)

    def _initial(self, design, meta):
        p, M = design.n_features, design.n_outputs
        W0, b0 = np.zeros((p, M)), np.zeros(M)
        if self.warm_start and hasattr(self, "coef_"):
            coef = np.atleast_2d(np.asarray(self.coef_, dtype=float))
            if coef.shape == (M, p):
                W0 = coef.T.copy()
                b0 = np.atleast_1d(np.asarray(self.intercept_, dtype=float)).copy()
        return W0, b0

    def _rule(self, datafit, penalty, threshold):
        if not self._is_classifier and has_capability(penalty, DUALITY_GAP):
            return DualityGap(datafit, penalty, threshold)
        return ProxGradNorm(datafit, penalty, threshold)

    def _threshold(self, datafit, penalty):
        """``tol`` made absolute: relative to ``sum_t ||y_t - mean||^2 / n_t`` for a duality gap
        (scikit-learn's convention for MultiTaskLasso), relative to the norm of the gradient at
        zero for the proximal-gradient criterion."""
        if not self._is_classifier and has_capability(penalty, DUALITY_GAP):
            scale = float(np.sum(datafit.a))
        else:
            M = datafit.design.n_outputs if hasattr(datafit, "design") else datafit.q.shape[1]
            p = datafit.design.n_features if hasattr(datafit, "design") else datafit.q.shape[0]
            W, b = np.zeros((p, M)), np.zeros(M)
            _, gW, gb = datafit.gradient(W, b, datafit.linear(W, b))
            scale = float(np.sqrt(np.sum(gW * gW) + (np.sum(gb * gb) if gb is not None else 0.0)))
        return self.tol * scale

    def _solve(self, datafit, penalty, W0, b0):
        threshold = self._threshold(datafit, penalty)
        self._threshold_ = threshold
        rule = self._rule(datafit, penalty, threshold)
        rule_name = "duality gap" if isinstance(rule, DualityGap) else "prox-gradient norm"
        if self._solver_name(penalty) == "working_set":
            W, b, n_iter, crit, ok = working_set(
                datafit,
                penalty,
                W0,
                b0,
                rule=rule,
                make_rule=lambda sub, thr: self._rule(sub, penalty, thr),
                max_iter=self.max_iter,
            )
        else:
            W, b, n_iter, crit, ok = fista(
                datafit, penalty, W0, b0, rule=rule, max_iter=self.max_iter
            )
        if n_iter == 0:
            # the starting point was certified before any step (e.g. W = 0 above alpha_max, or a
            # warm start): take one proximal-gradient step, so that n_iter_ counts a real
            # iteration as scikit-learn's solvers do; keep whichever point is better certified
            W1, b1, n_iter, crit1, ok1 = fista(datafit, penalty, W, b, rule=rule, max_iter=1)
            if ok1 and crit1 < crit:
                W, b, crit, ok = W1, b1, crit1, ok1
        return W, b, n_iter, crit, ok, rule_name

    def _set_fitted(self, W, b, meta, n_iter, crit, rule_name):
        dtype = meta["dtype"]
        layout = meta["layout"]
        coef = W.T.astype(dtype)
        intercept = np.asarray(b if b is not None else np.zeros(W.shape[1]), dtype=dtype)
        if layout == "single" and not self._is_classifier:
            coef, intercept = coef[0], intercept[0]
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = int(n_iter)
        self.tasks_ = meta["tasks"]
        self.n_tasks_ = meta["n_tasks"]
        if "task_weights" in self.get_params(deep=False) and "task_weights" in meta:
            self.task_weights_ = dict(
                zip(V.plain_list(meta["tasks"]), meta["task_weights"].tolist())
            )
        self._layout_ = layout
        self._widths_ = list(meta["widths"])
        self._fit_penalty_ = None  # set by fit (and set_solution) after this
        if rule_name == "duality gap":
            self.dual_gap_ = float(crit)
        elif hasattr(self, "dual_gap_"):
            del self.dual_gap_
        self.criterion_ = float(crit)
        if self._is_classifier:
            classes = meta["classes"]
            if layout == "single":
                self.classes_ = classes[0]
            elif layout == "long":
                self.classes_ = meta["global_classes"]
                self.task_classes_ = classes
            else:
                self.classes_ = classes

    # -- prediction ------------------------------------------------------------------------------
    def _outputs(self, X):
        """Raw outputs: (n_samples, n_outputs) in the wide layout; in the long layout
        (n_samples, max_width) with each row's task outputs in its first columns, plus the task
        index per row."""
        check_is_fitted(self)
        Xf, task_labels = V.split_task_column(self, X, reset=False)
        if self._layout_ == "long" and task_labels is None:
            raise ValueError("This model was fitted with task_column; X must contain it.")
        Xf = V.check_X(self, Xf, reset=False)
        coef = np.atleast_2d(self.coef_).astype(float)
        intercept = np.atleast_1d(self.intercept_).astype(float)
        W = coef.T
        if self._layout_ != "long":
            return np.asarray(Xf @ W) + intercept[None, :], None
        unknown_task = getattr(self, "unknown_task", "error")
        _, index = V.encode_tasks(
            task_labels, known=np.asarray(self.tasks_), column=self.task_column,
            allow_unknown=unknown_task == "mean",
        )
        new = index < 0
        if not new.any():
            design, order = V.long_design(Xf, index, len(self.tasks_), self._widths_)
            Z = design.add_intercept(design.forward(W), intercept)
            out = np.empty_like(Z)
            out[order] = Z
            return out, index
        Wp, bp = self._population_model()
        out = np.zeros((Xf.shape[0], max(max(self._widths_), Wp.shape[1])))
        out[new, : Wp.shape[1]] = np.asarray(Xf[new] @ Wp) + bp[None, :]
        seen = np.flatnonzero(~new)
        if seen.size:
            design, order = V.long_design(Xf[seen], index[seen], len(self.tasks_), self._widths_)
            Z = design.add_intercept(design.forward(W), intercept)
            out[seen[order], : Z.shape[1]] = Z
        return out, index

    # -- new tasks -------------------------------------------------------------------------------
    def _population_model(self):
        """Coefficients ``(n_features, k)`` and intercepts ``(k,)`` of the model used for a task
        not seen in fit (``unknown_task="mean"``).

        The default is the average task model: the mean over tasks of the coefficient blocks and
        of the intercepts. A penalty with a ``population_coef(W, n_tasks, width)`` method (the
        mean-regularised one: the shared vector of its hierarchical form) replaces the mean of
        the coefficients; a family can also override this method."""
        widths = list(self._widths_)
        names = np.asarray(self.tasks_)
        if len(set(widths)) > 1:
            raise ValueError(
                "unknown_task='mean' averages the task models, which needs every task to have "
                f"the same number of outputs; got widths {widths} (a task with K > 2 classes has "
                "K, a binary task 1)."
            )
        if self._is_classifier:
            ref = self.task_classes_[0]
            for t, cls in enumerate(self.task_classes_[1:], start=1):
                if cls.shape != ref.shape or not np.array_equal(cls, ref):
                    raise ValueError(
                        "unknown_task='mean' needs every task to have the same classes, but "
                        f"{V.task_label(names, 0)} has {V.plain_list(ref)} and "
                        f"{V.task_label(names, t)} has {V.plain_list(cls)}; a new task's labels "
                        "would be undefined."
                    )
        k, T = widths[0], len(widths)
        coef = np.atleast_2d(np.asarray(self.coef_, dtype=float)).T  # (p, T * k)
        intercept = np.atleast_1d(np.asarray(self.intercept_, dtype=float))
        penalty = getattr(self, "_fit_penalty_", None)
        if penalty is not None and hasattr(penalty, "population_coef"):
            Wp = penalty.population_coef(coef, T, k)
        else:
            Wp = coef.reshape(coef.shape[0], T, k).mean(axis=1)
        return Wp, intercept.reshape(T, k).mean(axis=0)

    def _more_tags(self):  # pragma: no cover - old scikit-learn
        return {"multioutput": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class _RegressorBase(RegressorMixin, _MultiTaskLinear):
    def predict(self, X: ArrayLike) -> NDArray:
        """Predict with the fitted model.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Samples (with the task column in the long layout).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            One value per row in the long layout and for a single task; one column per task in
            the wide layout.
        """
        Z, index = self._outputs(X)
        if self._layout_ in ("single", "long"):
            return Z[:, 0].astype(np.result_type(self.coef_.dtype), copy=False)
        return Z.astype(self.coef_.dtype, copy=False)

    def score(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        """Mean over tasks of the coefficient of determination R^2 on the labelled samples.

        For one task, or the long layout, this is :func:`sklearn.metrics.r2_score` of
        ``predict(X)``; missing labels (NaN, None, pandas' NA) are left out of their task's
        score.
        """
        from sklearn.metrics import r2_score

        y_pred = self.predict(X)
        y_true = np.asarray(y.to_numpy(dtype=object) if hasattr(y, "to_numpy") else y)
        if y_true.dtype.kind not in "fiub":  # pandas' NA, None: missing labels, as in fit
            y_true = np.where(V.is_missing(y_true), np.nan, y_true)
        y_true = y_true.astype(float)
        if not np.isnan(y_true).any():
            return float(r2_score(y_true, y_pred, sample_weight=sample_weight))
        if y_true.ndim == 1:
            obs = ~np.isnan(y_true)
            sw = None if sample_weight is None else np.asarray(sample_weight)[obs]
            return float(r2_score(y_true[obs], y_pred[obs], sample_weight=sw))
        scores = []
        for t in range(y_true.shape[1]):
            obs = ~np.isnan(y_true[:, t])
            sw = None if sample_weight is None else np.asarray(sample_weight)[obs]
            scores.append(r2_score(y_true[obs, t], y_pred[obs, t], sample_weight=sw))
        return float(np.mean(scores))


class _ClassifierBase(ClassifierMixin, _MultiTaskLinear):
    _is_classifier = True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _task_probas(self, X):
        """Per task (n_samples, n_classes_t) probabilities (wide and single layouts)."""
        Z, _ = self._outputs(X)
        probas = []
        for s in self._out_slices():
            z = Z[:, s]
            if z.shape[1] == 1:
                p1 = expit(z[:, 0])
                probas.append(np.column_stack([1.0 - p1, p1]))
            else:
                probas.append(softmax(z, axis=1))
        return probas

    def _out_slices(self):
        return V._slices(self._widths_)

    def decision_function(self, X: ArrayLike) -> NDArray:
        """Raw scores: for one binary task (n_samples,), for one multiclass task
        (n_samples, n_classes); with several tasks one column per output, (n_samples, n_outputs);
        in the long layout the scores of each row's own task, padded with NaN."""
        check_is_fitted(self)
        Z, index = self._outputs(X)
        if self._layout_ == "single":
            return Z[:, 0] if Z.shape[1] == 1 else Z
        if self._layout_ == "long":
            widths = np.append(self._widths_, self._widths_[0])[index]  # -1: a new task
            Z = np.where(np.arange(Z.shape[1])[None, :] < widths[:, None], Z, np.nan)
            return Z[:, 0] if Z.shape[1] == 1 else Z
        return Z

    def predict_proba(self, X: ArrayLike) -> NDArray | list[NDArray]:
        """Class probabilities.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), or list of such arrays
            One task (or the long layout): one array, columns in the order of ``classes_`` (in the
            long layout a class the row's task never saw has probability 0). Several tasks (wide
            layout): a list with one array per task, columns ordered as ``classes_[t]``.
        """
        check_is_fitted(self)
        if self._layout_ == "long":
            return self._long_proba(X)
        probas = self._task_probas(X)
        return probas[0] if self._layout_ == "single" else probas

    def _long_proba(self, X):
        Z, index = self._outputs(X)
        out = np.zeros((Z.shape[0], len(self.classes_)))
        # index -1: a task not seen in fit (unknown_task="mean"), with the classes of task 0
        for t, cls in enumerate(list(self.task_classes_) + [self.task_classes_[0]]):
            rows = index == (t if t < len(self.task_classes_) else -1)
            if not rows.any():
                continue
            z = Z[rows, : self._widths_[t if t < len(self._widths_) else 0]]
            if z.shape[1] == 1:
                p1 = expit(z[:, 0])
                p = np.column_stack([1.0 - p1, p1])
            else:
                p = softmax(z, axis=1)
            cols = np.searchsorted(self.classes_, cls)
            out[np.ix_(np.flatnonzero(rows), cols)] = p
        return out

    def predict_log_proba(self, X: ArrayLike) -> NDArray | list[NDArray]:
        """Logarithm of :meth:`predict_proba` (same shapes)."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            if isinstance(proba, list):
                return [np.log(p) for p in proba]
            return np.log(proba)

    def predict(self, X: ArrayLike) -> NDArray:
        """Predict class labels.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            Labels in their original type (strings stay strings).
        """
        check_is_fitted(self)
        if self._layout_ == "long":
            return self.classes_[np.argmax(self._long_proba(X), axis=1)]
        probas = self._task_probas(X)
        classes = [self.classes_] if self._layout_ == "single" else self.classes_
        preds = [c[np.argmax(p, axis=1)] for c, p in zip(classes, probas)]
        if self._layout_ == "single":
            return preds[0]
        dtype = (
            np.result_type(*[c.dtype for c in classes])
            if all(c.dtype.kind != "O" for c in classes)
            else object
        )
        return np.column_stack([p.astype(dtype) for p in preds])

    def score(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> float:
        """Mean over tasks of the accuracy on the labelled samples (the accuracy itself for one
        task or the long layout)."""
        from sklearn.metrics import accuracy_score

        check_is_fitted(self)
        y_pred = self.predict(X)
        if self._layout_ in ("single", "long"):
            y_true = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
            obs = ~V.is_missing(y_true)  # the labelled samples, as fit
            if not obs.all():
                y_true, y_pred = y_true[obs], y_pred[obs]
                if sample_weight is not None:
                    sample_weight = np.asarray(sample_weight)[obs]
            if y_true.dtype == object or y_pred.dtype == object:
                # object labels (e.g. integers stored as objects) -> their natural dtype
                y_true, y_pred = np.asarray(y_true.tolist()), np.asarray(y_pred.tolist())
            return float(accuracy_score(y_true, y_pred, sample_weight=sample_weight))
        y_true = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        scores = []
        for t in range(y_true.shape[1]):
            obs = ~V.is_missing(y_true[:, t])
            sw = None if sample_weight is None else np.asarray(sample_weight)[obs]
            # object columns (mixed per-task label types) -> each column's natural dtype
            yt, yp = np.asarray(y_true[obs, t].tolist()), np.asarray(y_pred[obs, t].tolist())
            scores.append(accuracy_score(yt, yp, sample_weight=sw))
        return float(np.mean(scores))


_SOLVER_CONSTRAINT = [StrOptions({"auto", "fista", "working_set"})]
