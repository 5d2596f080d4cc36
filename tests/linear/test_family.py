"""The family machinery (``make_family``) and the penalty protocol (``capabilities``,
``with_alpha``) that solvers and the path dispatch on."""

import inspect
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge

from skmtl.linear import MeanRegularizedRegressor, SparseRegressor
from skmtl.linear._datafits import Quadratic
from skmtl.linear._family import Param, make_family
from skmtl.linear._path import least_squares_path
from skmtl.linear._penalties import CAPABILITIES, L21, MeanRegularized, Penalty, TraceNorm
from skmtl.linear._solvers._bcd import supports_bcd
from skmtl.linear._validation import wide_design

rng = np.random.default_rng(0)
PENALTIES = [L21(0.3), TraceNorm(0.3), MeanRegularized(0.3, 2.0, n_tasks=4), MeanRegularized(
    0.3, 2.0, n_tasks=2, width=2
)]


class RidgePenalty(Penalty):
    """``alpha/2 ||W||^2``: a smooth penalty written as a user would, for the recipe test."""

    capabilities = frozenset({"smooth"})

    def __init__(self, alpha):
        self.alpha = float(alpha)

    @property
    def strong_convexity(self):
        return self.alpha

    def value(self, W):
        return 0.5 * self.alpha * float(np.sum(W * W))

    def value_grad(self, W):
        return self.value(W), self.alpha * W

    def prox(self, V, step):
        return V / (1.0 + step * self.alpha)


ToyRegressor, ToyClassifier = make_family(
    "Toy",
    penalty=RidgePenalty,
    params=[Param("unused", 3, None, "A parameter after the shared ones.")],
    summary="Independent ridge per task.",
    objective=r"f(W, b) + \frac{\alpha}{2} \|W\|_F^2",
    references="None.",
    examples=">>> 1 + 1\n2",
)


@pytest.mark.parametrize("pen", PENALTIES, ids=lambda p: type(p).__name__)
def test_declared_capabilities_have_their_methods(pen):
    caps = pen.capabilities
    assert caps <= CAPABILITIES
    W = rng.normal(size=(4, 4))
    if "duality_gap" in caps:
        assert pen.dual_norm(pen.alpha * W) == pytest.approx(pen.dual_norm(W) * pen.alpha)
        # alpha_max is the dual norm of the gradient times alpha: dual_norm(G) = alpha_max / alpha
        assert pen.alpha_max(W) == pytest.approx(pen.alpha * pen.dual_norm(W))
    if "working_set" in caps:
        assert pen.subdiff_distance(W, -W).shape == (4,)
        assert pen.separable
    else:
        assert not pen.separable
    if "smooth" in caps:
        value, grad = pen.value_grad(W)
        assert value == pytest.approx(pen.value(W))
        eps = 1e-6
        E = rng.normal(size=W.shape)
        fd = (pen.value(W + eps * E) - pen.value(W - eps * E)) / (2 * eps)
        assert fd == pytest.approx(float(np.sum(grad * E)), rel=1e-6)
        # strong convexity: <g(W1) - g(W2), W1 - W2> >= mu ||W1 - W2||^2
        W2 = rng.normal(size=W.shape)
        _, grad2 = pen.value_grad(W2)
        lhs = float(np.sum((grad - grad2) * (W - W2)))
        assert lhs >= pen.strong_convexity * float(np.sum((W - W2) ** 2)) * (1 - 1e-12)


@pytest.mark.parametrize("pen", PENALTIES, ids=lambda p: type(p).__name__)
def test_with_alpha_keeps_every_other_parameter(pen):
    new = pen.with_alpha(0.9)
    assert type(new) is type(pen) and new.alpha == 0.9 and pen.alpha == 0.3
    assert {k: v for k, v in vars(new).items() if k != "alpha"} == {
        k: v for k, v in vars(pen).items() if k != "alpha"
    }
    W = rng.normal(size=(3, 4))
    if isinstance(pen, MeanRegularized):
        # alpha/2 ||W||^2 changes, coupling/2 sum ||w_t - mean||^2 does not
        delta = new.value(W) - pen.value(W)
        assert delta == pytest.approx(0.5 * (0.9 - 0.3) * np.sum(W * W))
    else:
        assert new.value(W) == pytest.approx(pen.value(W) * 3)


def test_infinite_coupling_is_not_smooth():
    assert "smooth" not in MeanRegularized(1.0, np.inf, 3).capabilities
    assert "smooth" not in MeanRegularized(1.0, np.inf, 3).with_alpha(2.0).capabilities
    assert "smooth" in MeanRegularized(1.0, 5.0, 3).with_alpha(2.0).capabilities


def test_dispatch_reads_declarations_not_class_names():
    X = rng.normal(size=(30, 5))
    Y = rng.normal(size=(30, 3))
    quad = Quadratic(wide_design(X, [1, 1, 1], np.ones((30, 3), bool)), Y)

    class Renamed(L21):
        pass

    class NoBCD(L21):
        capabilities = frozenset({"working_set", "duality_gap"})

    assert supports_bcd(quad, L21(0.1))
    assert supports_bcd(quad, Renamed(0.1))
    assert not supports_bcd(quad, NoBCD(0.1))
    assert not supports_bcd(quad, TraceNorm(0.1))


def test_path_keeps_the_template_penalty_parameters():
    """The path changes alpha only: each solution equals a fresh fit at that alpha."""
    X = rng.normal(size=(40, 6))
    Y = X @ rng.normal(size=(6, 3)) + rng.normal(size=(40, 3))
    template = SparseRegressor(tol=1e-10)
    alphas, coefs, *_ = least_squares_path(template, X, Y, [0.5, 0.1, 0.02])
    for alpha, W in zip(alphas, coefs):
        ref = clone(template).set_params(alpha=alpha).fit(X, Y)
        assert_allclose(W.T, ref.coef_, atol=1e-6)


def test_generated_init_has_a_real_signature():
    sig = inspect.signature(MeanRegularizedRegressor.__init__)
    kinds = {n: p.kind for n, p in sig.parameters.items()}
    assert list(kinds)[:3] == ["self", "alpha", "coupling"]
    assert kinds["coupling"] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert kinds["fit_intercept"] is inspect.Parameter.KEYWORD_ONLY
    assert list(inspect.signature(SparseRegressor).parameters)[-1] == "solver"
    assert list(inspect.signature(ToyRegressor).parameters)[-1] == "unused"
    est = MeanRegularizedRegressor(0.5, 2.0, tol=1e-3)
    assert est.get_params()["coupling"] == 2.0 and est.tol == 1e-3
    with pytest.raises(TypeError):
        MeanRegularizedRegressor(0.5, 2.0, True)  # fit_intercept is keyword-only
    assert ToyRegressor.__module__ == __name__
    assert ToyRegressor.__init__.__qualname__ == "ToyRegressor.__init__"


def test_generated_classes_pickle_and_document():
    est = pickle.loads(pickle.dumps(MeanRegularizedRegressor(coupling=3.0)))
    assert est.coupling == 3.0
    doc = ToyClassifier.__doc__
    for piece in ("Independent ridge per task.", "unused : int, default=3", "classes_",
                  "proximal-gradient mapping", "Examples"):
        assert piece in doc
    assert "dual_gap_" not in doc and "dual_gap_" in SparseRegressor.__doc__


def test_a_family_written_by_the_recipe_fits():
    """A smooth penalty in a family of its own: the regressor is ridge per task
    (``Ridge(alpha * n)``), the classifier L2 logistic regression (``C = 1 / (alpha n)``)."""
    X = rng.normal(size=(50, 3))
    Y = X @ rng.normal(size=(3, 2)) + rng.normal(size=(50, 2))
    reg = ToyRegressor(alpha=0.1, tol=1e-10, max_iter=20000).fit(X, Y)
    for t in range(2):
        assert_allclose(reg.coef_[t], Ridge(alpha=0.1 * 50).fit(X, Y[:, t]).coef_, atol=1e-6)
    y = (Y[:, 0] > 0).astype(int)
    clf = ToyClassifier(alpha=0.1, tol=1e-10, max_iter=20000).fit(X, y)
    ref = LogisticRegression(C=1 / (0.1 * 50), tol=1e-12).fit(X, y)
    assert_allclose(clf.coef_, ref.coef_, atol=1e-5)


def test_family_parameter_names_are_checked():
    with pytest.raises(ValueError, match="distinct identifiers"):
        make_family("Bad", penalty=RidgePenalty, params=[Param("tol", 1.0)], summary="",
                    objective="")
