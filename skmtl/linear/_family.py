"""One definition per model family, from which its regressor and its classifier are made.

A family is a penalty (with its parameters) composed with the two data fits of :mod:`._base`
(least squares, logistic/softmax). :func:`make_family` takes the family's parameters (defaults,
constraints, docs), a penalty builder and the docstring pieces, and returns the two
scikit-learn estimator classes: each with a real ``__init__`` (so that ``get_params``,
``clone`` and ``check_estimator`` see its signature), ``_parameter_constraints``, the
``_penalty`` hook and a numpydoc docstring assembled from the pieces.

Adding a model
--------------
One module ``skmtl/linear/_<family>.py`` holds everything:

1. The penalty class (subclass :class:`._penalties.Penalty`): ``value(W)``, ``prox(V, step)``,
   ``capabilities`` (what solvers may do with it: ``"working_set"``, ``"bcd_l21"``,
   ``"duality_gap"``, ``"smooth"``; see :mod:`._penalties`) and the methods those promise,
   and ``with_alpha(alpha)`` when the default copy is not enough.
2. The family::

       from ._family import Param, make_family

       class Dirty(Penalty):
           ...

       DirtyRegressor, DirtyClassifier = make_family(
           "Dirty",
           penalty=Dirty,                          # the class: its capabilities pick the docs
           build=lambda p, n_tasks, widths: Dirty(p.alpha, p.beta),
           params=[Param("beta", 1.0, [Interval(Real, 0, None, closed="left")],
                         "Strength of the task-specific part.", positional=True)],
           summary={"regressor": "Multi-task least squares with ...",
                    "classifier": "Multi-task logistic regression with ..."},
           objective=r"f(W, b) + \\alpha \\|P\\|_{2,1} + \\beta \\|Q\\|_1",
           description="...",                     # a str, or {"regressor": ..., "classifier": ...}
           references="...",
           examples={"regressor": ">>> ...", "classifier": ">>> ..."},
       )

   ``build(p, n_tasks, widths)`` gets ``p``, the estimator's parameters as attributes (with
   ``p.alpha`` a number: for ``alpha=None`` the penalty is built at 1 and moved to the
   default ``alpha_`` with ``with_alpha`` in fit), the number of tasks and each task's output
   width (1 for regression and binary tasks, ``K`` for ``K`` classes). Without ``build`` the
   penalty is ``penalty(p.alpha)``. ``mixin=`` adds methods (a class, or one per kind in a
   dict), e.g. a ``_set_fitted`` that also stores an auxiliary variable as a fitted
   attribute, or a ``_default_alpha(datafit, penalty, design)`` for a family whose
   ``alpha=None`` needs another rule than the capability-based one of
   :class:`._base._MultiTaskLinear` (document it with ``alpha_default_doc=``).
3. Export the two names in ``skmtl/linear/__init__.py`` (and ``skmtl/__init__.py``), add one
   line per class to ``tests/linear/_registry.py`` (the contract tests fail until you do), a
   test file and a docs entry.

The shared parameters (``alpha`` first, then ``fit_intercept``, ``task_column``, ``tol``,
``max_iter``, ``warm_start``, ``task_weights``, ``unknown_task`` keyword-only) and their
constraints come from :data:`COMMON_PARAMS` and :class:`._base._MultiTaskLinear`; a family's
``positional=True`` parameters follow ``alpha`` before the ``*``, the others come after the
shared ones.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from ._base import DEFAULT_ALPHA_RATIO, _ClassifierBase, _RegressorBase
from ._penalties import DUALITY_GAP

KINDS = ("regressor", "classifier")


@dataclass(frozen=True)
class Param:
    """One constructor parameter: name, default, constraints (``None``: the base class's) and
    its numpydoc description (a str, or a dict ``{"regressor": ..., "classifier": ...}``)."""

    name: str
    default: Any
    constraints: list | None = None
    doc: Any = ""
    positional: bool = False
    type_doc: str | None = None
    default_doc: str | None = None

    def docstring(self, kind):
        text = _pick(self.doc, kind)
        kind_doc = self.type_doc or _type_name(self.default)
        default = self.default_doc or repr(self.default)
        body = "\n".join("    " + line if line else "" for line in text.strip().splitlines())
        return f"{self.name} : {kind_doc}, default={default}\n{body}"


def _type_name(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, float):
        return "float"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    return "object"


def _pick(value, kind):
    """A docstring piece shared by both kinds (a str) or given per kind (a dict)."""
    if isinstance(value, dict):
        return value.get(kind, "")
    return value or ""


_ALPHA_NORM = f"""``None`` (default): ``alpha_ = {DEFAULT_ALPHA_RATIO:g} * alpha_max``, with
``alpha_max`` the smallest ``alpha`` giving ``W = 0`` on the training data (as glmnet's
path is relative to ``lambda_max``)."""

_ALPHA_SMOOTH = """``None`` (default): ``alpha_ = 1 / n``, with ``n`` the mean number of labelled
samples per task: on the per-task mean loss, each task alone is then penalised as
scikit-learn's ``Ridge(alpha=1)`` and ``LogisticRegression(C=1)`` (on standardised features)."""

_ALPHA_ATTR = """alpha_ : float
    The ``alpha`` used: ``alpha`` itself, or the value of its default rule on the training
    data."""


def _alpha_doc(kind, alpha, default_doc, penalty):
    rule = _pick(default_doc, kind) if default_doc is not None else (
        _ALPHA_NORM if DUALITY_GAP in getattr(penalty, "capabilities", ()) else _ALPHA_SMOOTH
    )
    return _pick(alpha, kind).strip() + "\n" + rule.strip()

COMMON_PARAMS = (
    Param(
        "fit_intercept",
        True,
        doc="Fit one unpenalised intercept per task (per class for a multiclass task).",
    ),
    Param(
        "task_column",
        None,
        type_doc="int, str or None",
        doc="""Long layout: the column of ``X`` (position, or name for a DataFrame) that holds each
row's task label; ``y`` is then 1-D. ``None``: wide layout (``y`` has one column per
task) or, for a 1-D ``y``, a single task.""",
    ),
    Param(
        "tol",
        1e-4,
        default_doc="1e-4",
        doc="Stopping tolerance, relative to the scale of the problem: see the Notes.",
    ),
    Param("max_iter", 5000, doc="Maximum number of solver iterations (gradient evaluations)."),
    Param("warm_start", False, doc="Start from the previous solution when the shapes match."),
    Param(
        "task_weights",
        None,
        type_doc='dict, array-like, "n_samples" or None',
        doc="""Weight of each task's data fit (its weighted mean loss is multiplied by it). A dict
task label -> weight (tasks not named weigh 1, an unknown name is an error), an array
with one weight per task (in the order of ``tasks_``), or ``"n_samples"``: weights
proportional to each task's labelled rows (summed sample weights), scaled to mean 1
(``T n_t / sum_s n_s``: MALSAR's summed data fit, times ``T / N``). None: every task's mean
loss counts once. Weights constant within a task cancel in its mean, so ``sample_weight``
cannot do this.""",
    ),
    Param(
        "unknown_task",
        "error",
        type_doc='{"error", "mean"}',
        default_doc='"error"',
        doc="""Long layout: what ``predict`` does with a task not seen in fit. ``"error"`` raises
(naming the task); ``"mean"`` predicts it with the population model: the average task
model (mean coefficients and intercepts over tasks); for the mean-regularised family the
shared vector of its hierarchical form, ``coupling / (alpha + coupling)`` times the mean
coefficients. A classifier whose tasks have different label sets cannot.""",
    ),
)

_COMMON_ATTRS = """n_iter_ : int
    Number of solver iterations run.
task_weights_ : dict
    Task label -> the weight of its data fit used in fit.
criterion_ : float
    Final value of the stopping criterion (duality gap or proximal-gradient norm).
tasks_ : ndarray
    Task labels: the column names (or positions) of ``y`` in the wide layout, the sorted
    distinct values of the task column in the long layout.
n_tasks_ : int
    Number of tasks.
n_features_in_ : int
    Number of features seen in fit (the task column excluded).
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of the features seen in fit, when ``X`` has string column names."""

_COEF_ATTRS = {
    "regressor": """coef_ : ndarray of shape (n_tasks, n_features) or (n_features,)
    Coefficients, one row per task (a vector for a 1-D ``y``).
intercept_ : ndarray of shape (n_tasks,) or float
    Intercepts.""",
    "classifier": """coef_ : ndarray of shape (n_outputs, n_features)
    Coefficients: one row per binary task, ``K_t`` consecutive rows for a task with
    ``K_t > 2`` classes (for one binary task: shape (1, n_features), as
    :class:`~sklearn.linear_model.LogisticRegression`).
intercept_ : ndarray of shape (n_outputs,)
    Intercepts.
classes_ : ndarray or list of ndarray
    Class labels: one array for one task or the long layout (the union over tasks; see
    ``task_classes_``), a list with one array per task in the wide layout.
task_classes_ : list of ndarray
    Long layout only: the classes each task saw in fit.""",
}

_GAP_ATTR = """dual_gap_ : float
    Duality gap at the solution."""

_DATAFIT = {
    "regressor": r"""with the data-fit term, summed over tasks, of each task's mean squared error
over its labelled samples (``n_t`` of them):

.. math:: f(W, b) = \sum_{t=1}^{T} \frac{1}{2 n_t} \sum_{i \,\text{labelled for}\, t}
          (y_{it} - x_i^\top w_t - b_t)^2 .""",
    "classifier": r"""with the data-fit term, summed over tasks, of each task's mean cross-entropy
over its labelled samples: logistic loss for a binary task (one coefficient vector), softmax
cross-entropy for a task with :math:`K_t > 2` classes (one vector per class):

.. math:: f(W, b) = \sum_{t=1}^{T} \frac{1}{n_t} \sum_{i \,\text{labelled for}\, t}
          -\log p_{t}(y_{it} \mid x_i; W, b) .""",
}

_NOTES_GAP = """The solver stops when the duality gap falls below
``tol * sum_t ||y_t - mean(y_t)||^2 / n_t`` (for one design and no missing label, exactly
scikit-learn's ``MultiTaskLasso`` rule). Hitting ``max_iter`` first raises a
:class:`~sklearn.exceptions.ConvergenceWarning`."""

_NOTES_PROX = """The solver (accelerated proximal gradient with backtracking and adaptive restart)
stops when the norm of the proximal-gradient mapping falls below ``tol`` times the norm of
the data-fit gradient at ``W = 0, b = 0`` (which scales with the targets); the mapping is
zero exactly at the minimiser. Hitting ``max_iter`` first raises a
:class:`~sklearn.exceptions.ConvergenceWarning`."""


def _section(title, body):
    body = body.strip("\n")
    if not body.strip():
        return ""
    return f"{title}\n{'-' * len(title)}\n{body}\n"


def uses_duality_gap(penalty, kind):
    """The regressor of a penalty declaring ``"duality_gap"`` stops on the gap; every other
    estimator on the proximal-gradient norm (see :meth:`._base._MultiTaskLinear._rule`)."""
    return kind == "regressor" and DUALITY_GAP in getattr(penalty, "capabilities", ())


def _docstring(kind, *, summary, objective, description, params, attributes, see_also,
               notes, references, examples, gap):
    head = _pick(summary, kind).strip()
    parts = [
        head + "\n",
        f"Minimises\n\n.. math:: {_pick(objective, kind).strip()}\n",
        _DATAFIT[kind] + "\n",
    ]
    desc = _pick(description, kind).strip()
    if desc:
        parts.append(desc + "\n")
    parts.append(_section("Parameters", "\n".join(p.docstring(kind) for p in params)))
    attrs = [_COEF_ATTRS[kind], _ALPHA_ATTR]
    if gap:
        attrs.append(_GAP_ATTR)
    extra_attrs = _pick(attributes, kind).strip()
    if extra_attrs:
        attrs.append(extra_attrs)
    attrs.append(_COMMON_ATTRS)
    parts.append(_section("Attributes", "\n".join(attrs)))
    parts.append(_section("See Also", _pick(see_also, kind)))
    note = (_NOTES_GAP if gap else _NOTES_PROX) + "\n"
    extra_notes = _pick(notes, kind).strip()
    if extra_notes:
        note += "\n" + extra_notes + "\n"
    parts.append(_section("Notes", note))
    parts.append(_section("References", _pick(references, kind)))
    parts.append(_section("Examples", _pick(examples, kind)))
    return "\n".join(p for p in parts if p)


def _make_init(name, module, params):
    """A real ``__init__`` (as dataclasses write one), so that ``inspect.signature`` sees every
    parameter; it only stores them."""
    positional = [p for p in params if p.positional]
    keyword = [p for p in params if not p.positional]
    args = ["self"] + [f"{p.name}=_d_{p.name}" for p in positional]
    if keyword:
        args += ["*"] + [f"{p.name}=_d_{p.name}" for p in keyword]
    body = [f"    self.{p.name} = {p.name}" for p in positional + keyword] or ["    pass"]
    src = f"def __init__({', '.join(args)}):\n" + "\n".join(body) + "\n"
    namespace = {f"_d_{p.name}": p.default for p in params}
    exec(src, namespace)  # noqa: S102 - source built from parameter names checked below
    init = namespace["__init__"]
    init.__qualname__ = f"{name}.__init__"
    init.__module__ = module
    return init


def make_family(
    name: str,
    *,
    penalty: type,
    summary,
    objective,
    build: Callable | None = None,
    params=(),
    alpha="Strength of the penalty.",
    alpha_default_doc=None,
    description="",
    attributes="",
    see_also="",
    notes="",
    references="",
    examples="",
    mixin=None,
    module: str | None = None,
):
    """Make ``<name>Regressor`` and ``<name>Classifier`` from one family definition.

    Parameters
    ----------
    name : str
        Family name; the classes are ``name + "Regressor"`` and ``name + "Classifier"``.
    penalty : type
        The penalty class; its ``capabilities`` decide the stopping rule the docs describe.
    summary, objective : str or dict
        The docstring's first line and the math of the objective (``f(W, b) + ...``).
    build : callable, optional
        ``build(p, n_tasks, widths) -> penalty``; ``p`` holds the estimator's parameters as
        attributes, ``p.alpha`` a number (1 for ``alpha=None``, moved to ``alpha_`` by
        ``with_alpha`` in fit). Default: ``penalty(p.alpha)``.
    params : sequence of Param
        The family's own parameters.
    alpha : str or dict
        What ``alpha`` weighs (the shared parameter's description); the rule of its default
        ``None`` is appended (see ``alpha_default_doc``).
    alpha_default_doc : str or dict, optional
        The rule of ``alpha=None``; default: the rule of
        :meth:`._base._MultiTaskLinear._default_alpha` for the penalty's capabilities (write
        your own when the family overrides ``_default_alpha``).
    description, attributes, see_also, notes, references, examples : str or dict
        Docstring pieces, shared or per kind (``{"regressor": ..., "classifier": ...}``).
    mixin : type or dict, optional
        Extra base class (or one per kind) placed before the shared base in the MRO.
    module : str, optional
        ``__module__`` of the classes (default: the caller's module, so that pickling finds
        them).

    Returns
    -------
    regressor, classifier : type
    """
    if module is None:
        module = sys._getframe(1).f_globals["__name__"]
    alpha = Param(
        "alpha",
        None,
        None,
        {kind: _alpha_doc(kind, alpha, alpha_default_doc, penalty) for kind in KINDS},
        positional=True,
        type_doc="float or None",
    )
    params = [alpha, *params]
    all_params = [alpha] + [p for p in params[1:] if p.positional] + list(COMMON_PARAMS)
    all_params += [p for p in params[1:] if not p.positional]
    names = [p.name for p in all_params]
    if len(set(names)) != len(names) or not all(n.isidentifier() for n in names):
        raise ValueError(f"family {name}: parameter names must be distinct identifiers: {names}")
    own_constraints = {p.name: p.constraints for p in params if p.constraints is not None}
    builder = build if build is not None else (lambda p, n_tasks, widths: penalty(p.alpha))

    def _penalty(self, n_tasks, widths):
        p = SimpleNamespace(**{n: getattr(self, n) for n in names})
        if p.alpha is None:
            # alpha=None: built at 1, then moved to the default alpha_ by ``with_alpha`` in fit
            # (:meth:`._base._MultiTaskLinear._default_alpha`)
            p.alpha = 1.0
        return builder(p, n_tasks, widths)

    classes = []
    for kind, base in zip(KINDS, (_RegressorBase, _ClassifierBase)):
        cls_name = name + kind.capitalize()
        extra = _pick(mixin, kind) if isinstance(mixin, dict) else mixin
        bases = (extra, base) if extra else (base,)
        doc = _docstring(
            kind,
            summary=summary,
            objective=objective,
            description=description,
            params=all_params,
            attributes=attributes,
            see_also=see_also,
            notes=notes,
            references=references,
            examples=examples,
            gap=uses_duality_gap(penalty, kind),
        )
        namespace = {
            "__module__": module,
            "__qualname__": cls_name,
            "__doc__": doc,
            "__init__": _make_init(cls_name, module, all_params),
            "_parameter_constraints": {**base._parameter_constraints, **own_constraints},
            "_penalty": _penalty,
            "_family": SimpleNamespace(name=name, penalty=penalty, params=tuple(params)),
        }
        classes.append(type(cls_name, bases, namespace))
    return tuple(classes)
