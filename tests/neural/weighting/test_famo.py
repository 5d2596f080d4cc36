"""FAMO: the hand computation of its update, its properties, and the trainer's post-step hook."""

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _properties import (
    assert_loss_interface,
    assert_loss_permutation_equivariant,
    loss_weights,
)

from skmtl.neural import MultiTaskEstimator
from skmtl.neural.weighting import FAMO

ACTIVE2 = torch.ones(2, dtype=torch.bool)


def test_hand_computed_first_update():
    """L = (1, 3) -> (0.5, 2.9). Equal logits: w = (1/1, 1/3) / (4/3) = (0.75, 0.25). The
    softmax-Jacobian product is z * (D - z.D) with D = (log 2, log(3/2.9)); Adam's first step
    moves every logit by w_lr against the sign of its gradient: xi = (-w_lr, +w_lr)."""
    famo = FAMO(w_lr=0.1, gamma=0.0)
    famo.setup(["a", "b"], {})
    np.testing.assert_allclose(
        famo.weights(torch.tensor([1.0, 3.0]), epoch=0, step=0), [0.75, 0.25]
    )
    famo.after_step(
        torch.tensor([1.0, 3.0]), torch.tensor([0.5, 2.9]), active=ACTIVE2, epoch=0, step=0
    )
    np.testing.assert_allclose(famo.logits.numpy(), [-0.1, 0.1], atol=1e-9)
    z = np.exp([-0.1, 0.1]) / np.exp([-0.1, 0.1]).sum()
    r = z / np.array([1.0, 3.0])
    np.testing.assert_allclose(
        famo.weights(torch.tensor([1.0, 3.0], dtype=torch.float64), epoch=0, step=1), r / r.sum()
    )


def official(losses_seq, w_lr, gamma, eps, T):
    """The authors' formulation (autograd through softmax, torch's Adam) as the reference."""
    w = torch.zeros(T, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=w_lr, weight_decay=gamma)
    weights = []
    for before, after in losses_seq:
        before = torch.tensor(before, dtype=torch.float64, requires_grad=True)
        z = F.softmax(w, -1).detach()
        D = before + eps
        c = (z / D).sum().detach()
        obj = (D.log() * z / c).sum()
        (g,) = torch.autograd.grad(obj, before)  # the weight of each task's gradient
        weights.append(g.numpy())
        delta = (before.detach() + eps).log() - (torch.tensor(after) + eps).log()
        (d,) = torch.autograd.grad(F.softmax(w, -1), w, grad_outputs=delta)
        opt.zero_grad()
        w.grad = d
        opt.step()
    return w.detach().numpy(), weights


def test_matches_the_authors_formulation_over_many_steps():
    rng = np.random.default_rng(0)
    T, steps = 4, 30
    seq = []
    for _ in range(steps):
        before = rng.uniform(0.2, 3.0, size=T)
        seq.append((before, before * rng.uniform(0.5, 1.1, size=T)))
    ref_logits, ref_weights = official(seq, w_lr=0.05, gamma=0.01, eps=1e-8, T=T)
    famo = FAMO(w_lr=0.05, gamma=0.01)
    famo.setup(list("abcd"), {})
    for (before, after), ref_w in zip(seq, ref_weights, strict=True):
        b, a = torch.tensor(before), torch.tensor(after)
        np.testing.assert_allclose(famo.weights(b, epoch=0, step=0), ref_w, rtol=1e-10)
        famo.after_step(b, a, active=torch.ones(T, dtype=torch.bool), epoch=0, step=0)
    np.testing.assert_allclose(famo.logits.numpy(), ref_logits, rtol=1e-10, atol=1e-13)


def test_properties_of_the_weights():
    L = [0.3, 1.0, 2.5, 0.7]
    w = loss_weights(FAMO, L)
    assert np.all(w > 0) and np.isclose(w.sum(), 1.0)
    np.testing.assert_allclose(w * np.asarray(L), (w * np.asarray(L))[0])  # equal logits
    assert_loss_permutation_equivariant(FAMO, L)
    for a in (10.0, 1e6):  # a common scale of the losses leaves the weights alone
        np.testing.assert_allclose(loss_weights(FAMO, a * np.asarray(L)), w, rtol=1e-6)
    exact = lambda: FAMO(eps=1e-300)  # noqa: E731 - down to losses near eps, without eps
    for a in (1e-9, 1e-3, 1e9):
        np.testing.assert_allclose(loss_weights(exact, a * np.asarray(L)), w, rtol=1e-6)
    # a task without labels gets weight 0, the others share 1
    w_inactive = loss_weights(FAMO, L, active=[True, False, True, True])
    assert w_inactive[1] == 0 and np.isclose(w_inactive.sum(), 1.0)


def test_logit_update_is_invariant_to_a_task_loss_scale():
    """log(a L_before) - log(a L_after) does not depend on a: neither does the update."""

    def logits(scale):
        f = FAMO(eps=1e-300)
        f.setup(["a", "b", "c"], {})
        s = torch.tensor(scale, dtype=torch.float64)
        before, after = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.8, 1.9, 0.2])
        for _ in range(3):
            f.after_step(
                s * before, s * after, active=torch.ones(3, dtype=torch.bool), epoch=0, step=0
            )
        return f.logits.numpy()

    np.testing.assert_allclose(logits([1.0, 1.0, 1.0]), logits([1e3, 0.1, 7.0]), atol=1e-12)


def test_zero_loss_gets_weight_zero_and_stays_finite():
    w = loss_weights(FAMO, [0.0, 1.0, 3.0])
    np.testing.assert_allclose(w, [0.0, 0.75, 0.25])
    assert np.all(loss_weights(FAMO, [0.0, 0.0]) == 0.0)  # everything solved: nothing to weigh
    f = FAMO()
    f.setup(["a", "b"], {})
    f.after_step(
        torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.5]), active=ACTIVE2, epoch=0, step=0
    )
    f.after_step(
        torch.tensor([0.0, 1.0]), torch.tensor([1e-3, 0.0]), active=ACTIVE2, epoch=0, step=0
    )
    assert torch.isfinite(f.logits).all()
    # below a given lower bound counts as solved too
    g = FAMO(min_losses=[0.5, 0.0])
    np.testing.assert_allclose(loss_weights(lambda: g, [0.4, 2.0]), [0.0, 1.0])


def test_interface_and_bad_parameters():
    assert_loss_interface(
        FAMO, "famo", {"w_lr": 0.025, "gamma": 0.01, "eps": 1e-8, "min_losses": None}
    )
    for bad, match in [
        ({"w_lr": -1.0}, "w_lr"),
        ({"eps": 0.0}, "eps"),
        ({"gamma": float("nan")}, "gamma"),
        ({"min_losses": [0.0]}, "min_losses"),
    ]:
        with pytest.raises(ValueError, match=match):
            FAMO(**bad).setup(["a", "b"], {})


class Spy(FAMO):
    """FAMO that records what the post-step hook received."""

    calls: list = []

    def after_step(self, before, after, *, active, epoch, step):
        Spy.calls.append((before.clone(), after.clone(), active.clone(), step))
        super().after_step(before, after, active=active, epoch=epoch, step=step)


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = {"r": X[:, 0] + 0.1 * rng.normal(size=n), "c": (X[:, 1] > 0).astype(int)}
    return X, y


def test_trainer_hands_the_hook_the_same_batch_after_the_step_in_eval_mode():
    X, y = _data()
    Spy.calls = []
    kw = dict(
        hidden_units=(8,),
        batch_norm=True,
        dropout=0.3,
        batch_size=len(X),
        max_epochs=2,
        lr=0.05,
        random_state=0,
        train_split=None,
    )
    est = MultiTaskEstimator(weighting=Spy(), **kw).fit(X, y)
    assert [c[3] for c in Spy.calls] == [0, 1]  # one call per step, in order
    before, after, active, _ = Spy.calls[-1]
    assert active.all()
    # "after" is the final network evaluated (eval mode) on the one batch of the last epoch
    module = est.net_.module_
    module.eval()
    with torch.no_grad():
        Yt = torch.from_numpy(np.column_stack([y["r"], y["c"]]).astype(np.float64))
        losses, _ = est.net_.get_task_losses(module(torch.from_numpy(X)), Yt)
    np.testing.assert_allclose(after.numpy(), [float(v) for v in losses.values()], rtol=1e-5)
    # the epoch's recorded losses are the training-mode losses "before", not the second pass
    rec = [est.history_[-1, f"train_loss_{t}"] for t in ("r", "c")]
    np.testing.assert_allclose(rec, before.numpy(), rtol=1e-5)
    # batch-norm running statistics moved once per step: as with fixed weights (same seed)
    ref = MultiTaskEstimator(weighting="fixed", **{**kw, "max_epochs": 1}).fit(X, y)
    one = MultiTaskEstimator(weighting="famo", **{**kw, "max_epochs": 1}).fit(X, y)
    bn = [k for k in ref.module_.state_dict() if "running_mean" in k or "num_batches" in k]
    for k in bn:
        torch.testing.assert_close(one.module_.state_dict()[k], ref.module_.state_dict()[k])


def test_famo_trains_warm_starts_and_pickles():
    X, y = _data(200)
    est = MultiTaskEstimator(
        weighting="famo",
        weighting__w_lr=0.1,
        hidden_units=(8,),
        max_epochs=3,
        random_state=0,
        warm_start=True,
    ).fit(X, y)
    f = est.net_.weighting_.strategy
    assert f.n_updates.item() == 3 * est.history_[-1, "train_batch_count"]
    logits = f.logits.clone()
    assert not torch.equal(logits, torch.zeros(2))
    w = [est.history_[-1, f"weight_{t}"] for t in ("r", "c")]
    assert np.isclose(sum(w), 1.0)
    loaded = pickle.loads(pickle.dumps(est))
    torch.testing.assert_close(loaded.net_.weighting_.strategy.logits, logits)
    np.testing.assert_allclose(loaded.predict(X)["r"], est.predict(X)["r"], rtol=1e-6)
    est.fit(X, y)  # warm start continues from the learned logits and Adam moments
    assert (
        est.net_.weighting_.strategy.n_updates.item() == 6 * est.history_[-1, "train_batch_count"]
    )


def test_zero_task_weight_does_not_stall_the_others():
    X, y = _data(200)
    kw = dict(task_weights={"c": 0.0}, hidden_units=(8,), max_epochs=5, random_state=0)
    est = MultiTaskEstimator(weighting="famo", **kw).fit(X, y)
    assert est.history_[-1, "weight_c"] == 0.0 and np.isclose(est.history_[-1, "weight_r"], 1.0)
    # w = (1, 0) at every step: the same training as the fixed weighted sum L_r + 0 L_c
    ref = MultiTaskEstimator(weighting="fixed", **kw).fit(X, y)
    np.testing.assert_allclose(
        est.history_[:, "train_loss_r"], ref.history_[:, "train_loss_r"], rtol=1e-5
    )
