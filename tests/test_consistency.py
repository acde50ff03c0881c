"""Chapter 03: Π-model, Temporal Ensembling, Mean Teacher and VAT."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import seed_everything
from course_lib.data import split_labeled, two_moons
from course_lib.estimator import SSLClassifier
from course_lib.methods import VAT, Batch, MeanTeacher, PiModel, TemporalEnsembling, TrainData
from course_lib.methods.pi_model import rampup_weight
from course_lib.methods.vat import adversarial_direction, frozen_batchnorm_stats, kl_divergence
from course_lib.models import MLP, SmallCNN


def _batch(n_l=3, n_u=5, d=2, progress=1.0, seed=0, idx_u=None):
    g = torch.Generator().manual_seed(seed)
    x_l = torch.randn(n_l, d, generator=g)
    x_u = torch.randn(n_u, d, generator=g)
    y_l = torch.arange(n_l) % 2
    idx_u = torch.arange(n_u) if idx_u is None else idx_u
    steps = 101
    return Batch(x_l, y_l, torch.arange(n_l), x_u, idx_u, step=round(progress * 100), steps=steps)


class _Shifts:
    """A deterministic 'augmentation': adds +s on the 1st call, -s on the 2nd, ..."""

    def __init__(self, s=0.3):
        self.s, self.calls = s, 0

    def __call__(self, x):
        self.calls += 1
        return x + (self.s if self.calls % 2 else -self.s)


def _linear(seed=0, d=2, c=2):
    torch.manual_seed(seed)
    return nn.Linear(d, c)


# --- ramp-up ---------------------------------------------------------------------------------
def test_rampup_values_at_start_and_end():
    assert rampup_weight(30.0, 0.3, 0.0) == pytest.approx(30.0 * math.exp(-5.0))
    assert rampup_weight(30.0, 0.3, 0.3) == pytest.approx(30.0)
    assert rampup_weight(30.0, 0.3, 1.0) == pytest.approx(30.0)
    assert rampup_weight(30.0, 0.3, 0.15) == pytest.approx(30.0 * math.exp(-5.0 * 0.25))
    assert rampup_weight(7.0, 0.0, 0.0) == 7.0


def test_one_rampup_module_serves_every_method():
    from course_lib.methods import EntropyMinimization, MixMatch, parts

    assert rampup_weight is parts.rampup_weight  # the old import path is the same function
    assert rampup_weight(75.0, 0.4, 0.1, shape="linear") == pytest.approx(75.0 * 0.25)
    assert rampup_weight(75.0, 0.4, 0.9, shape="linear") == 75.0
    with pytest.raises(ValueError, match="shape"):
        rampup_weight(1.0, 0.3, 0.5, shape="cosine")
    b = _batch(progress=0.1)
    _, logs = EntropyMinimization(lambda_=2.0, rampup=0.4).loss(_linear(), b)
    assert logs["w"] == rampup_weight(1.0, 0.4, b.progress)
    _, logs = MixMatch(lambda_u=10.0, rampup=0.4, augment=lambda x: x).loss(_linear(), b)
    assert logs["lambda_u"] == rampup_weight(10.0, 0.4, b.progress, shape="linear")


# --- the EMA part ------------------------------------------------------------------------------
def test_ema_warm_up_counts_optimiser_steps_from_zero():
    from course_lib.methods.parts import ema_copy, ema_decay, ema_update

    assert [ema_decay(0.9, t) for t in (0, 1, 3, 100)] == [0.0, 0.5, 0.75, 0.9]
    seed_everything(0)
    model = MLP(2, 2)
    averaged = ema_copy(model)
    assert not averaged.training and not any(p.requires_grad for p in averaged.parameters())
    before = [p.clone() for p in averaged.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(-2.0)
    ema_update(averaged, model, 0.9, 3)  # a_3 = min(0.9, 1 - 1/4) = 0.75
    for a, b, m in zip(averaged.parameters(), before, model.parameters(), strict=True):
        torch.testing.assert_close(a, 0.75 * b + 0.25 * m)


def test_ema_warm_up_is_the_reference_one_step_behind_as_documented():
    """Mean Teacher's reference loop (pytorch/main.py) increments ``global_step`` after the
    optimiser step, then averages with min(1 - 1 / (global_step + 1), decay): after our step t
    (from 0) that is global_step = t + 1. Our a_t is the reference's a one step earlier, as the
    docstrings of ema_decay and MeanTeacher say (they once claimed the reference's warm-up)."""
    from course_lib.methods import parts

    def reference(decay, global_step):
        return min(1 - 1 / (global_step + 1), decay)

    ours = [parts.ema_decay(0.99, t) for t in range(200)]
    theirs = [reference(0.99, t + 1) for t in range(200)]  # after the same optimiser steps
    assert ours[1:] == theirs[:-1]  # the same schedule, shifted by one step
    assert ours[0] == 0.0 and theirs[0] == 0.5  # the first step: a copy here, a mean there
    assert ours[-1] == theirs[-1] == 0.99  # no difference past the warm-up
    assert "one step behind" in parts.ema_decay.__doc__
    assert "one step behind the reference code" in " ".join(MeanTeacher.__doc__.split())


def test_mean_teacher_and_fixmatch_average_with_the_same_ema():
    from course_lib.methods import FixMatch

    seed_everything(0)
    student = MLP(2, 2)
    mt, fm = MeanTeacher(alpha=0.95), FixMatch(ema_decay=0.95, weak=lambda x: x)
    mt.setup(student, None)
    fm.setup(student, TrainData(torch.zeros(4, 2), torch.zeros(4), 2, 10, 1))
    for step in range(30):
        with torch.no_grad():
            for p in student.parameters():
                p.add_(torch.randn_like(p))
        mt.after_step(student, step)
        fm.after_step(student, step)
    teacher, averaged = mt.eval_model(student), fm.eval_model(student)
    for a, b in zip(teacher.parameters(), averaged.parameters(), strict=True):
        assert torch.equal(a, b)  # bit for bit: one update, one warm-up


# --- Π-model ---------------------------------------------------------------------------------
def test_pi_model_loss_matches_hand_computation():
    model, b = _linear(), _batch(progress=0.5)
    method = PiModel(w_max=4.0, rampup=1.0, augment=_Shifts(0.3))
    loss, logs = method.loss(model, b)
    x = torch.cat([b.x_l, b.x_u])
    z1, z2 = model(x + 0.3), model(x - 0.3)
    ce = -F.log_softmax(z1[:3], 1)[torch.arange(3), b.y_l].mean()
    cons = ((z1.softmax(1) - z2.softmax(1)) ** 2).sum() / (2 * 8)  # 1/(C|B|) sum ||.||^2
    w = 4.0 * math.exp(-5.0 * 0.5**2)
    torch.testing.assert_close(loss, ce + w * cons)
    assert logs["w"] == pytest.approx(w)


def test_pi_model_both_branches_carry_gradient():
    shifts = [
        torch.tensor([0.3, 0.0], requires_grad=True),
        torch.tensor([-0.3, 0.1], requires_grad=True),
    ]
    calls = iter(shifts)
    method = PiModel(w_max=10.0, rampup=0.0, augment=lambda x: x + next(calls))
    b = _batch(n_l=0)  # consistency only
    b.x_u = b.x_u * 3
    loss, _ = method.loss(_linear(), b)
    loss.backward()
    assert shifts[0].grad.abs().sum() > 0 and shifts[1].grad.abs().sum() > 0


def test_pi_model_default_noise_and_dropout_make_two_different_passes():
    seed_everything(0)
    model = MLP(2, 2, dropout=0.5)
    loss_noise, logs = PiModel(noise_std=0.1).loss(model, _batch())
    assert logs["loss_u"] > 0
    model_det = MLP(2, 2, dropout=0.0)
    _, logs0 = PiModel(noise_std=0.0).loss(model_det, _batch())
    assert logs0["loss_u"] == 0.0


# --- Temporal Ensembling ---------------------------------------------------------------------
def _te(alpha=0.6, n=5, c=2):
    te = TemporalEnsembling(alpha=alpha, w_max=2.0, rampup=0.0, noise_std=0.0)
    te.setup(None, TrainData(torch.zeros(n, 2), torch.full((n,), -1), c, 10, 1))
    return te


def test_temporal_ensembling_bias_correction_gives_unbiased_target():
    te, model, b = _te(), _linear(), _batch(n_l=0)
    z = model(b.x_u).softmax(1).detach()
    loss0, logs0 = te.loss(model, b)
    assert logs0["loss_u"] == 0.0  # no target before the first prediction
    for k in (1, 2, 3):
        torch.testing.assert_close(te.Z, (1 - 0.6**k) * z)  # Z after k identical predictions
        target, seen = te.targets(b.idx_u)
        torch.testing.assert_close(target, z)  # bias-corrected: the prediction itself
        assert seen.all() and torch.equal(te.t, torch.full((5,), k))
        te.loss(model, b)


def test_temporal_ensembling_loss_matches_hand_computation():
    te, model, b = _te(alpha=0.5), _linear(), _batch(n_l=2, n_u=4, idx_u=torch.tensor([0, 2, 3, 4]))
    te.Z[:] = torch.tensor([[0.2, 0.3], [0.0, 0.0], [0.1, 0.4], [0.5, 0.0], [0.25, 0.25]])
    te.t[:] = torch.tensor([1, 0, 2, 0, 1])
    loss, _ = te.loss(model, b)
    logits = model(torch.cat([b.x_l, b.x_u]))
    z = logits[2:].softmax(1)
    target = torch.tensor([[0.4, 0.6], [0.0, 0.0], [0.0, 0.0], [0.5, 0.5]])
    target[1] = torch.tensor([0.1, 0.4]) / (1 - 0.25)
    seen = torch.tensor([1.0, 1.0, 0.0, 1.0])
    cons = (((z - target) ** 2).sum(1) * seen).sum() / (4 * 2)
    torch.testing.assert_close(loss, F.cross_entropy(logits[:2], b.y_l) + 2.0 * cons)
    # the ensemble moved: Z <- 0.5 Z + 0.5 z on the batch's examples only
    torch.testing.assert_close(te.Z[3], 0.5 * torch.tensor([0.5, 0.0]) + 0.5 * z[2].detach())
    torch.testing.assert_close(te.Z[1], torch.zeros(2))


def test_temporal_ensembling_keeps_both_predictions_of_a_straddling_batch():
    """A batch across two passes holds example 0 twice (pass end, next pass start): both
    predictions enter Z_0 in order and t_0 counts 2. Fails on the old update, which kept one."""
    te, model, b = _te(alpha=0.5), _linear(), _batch(n_l=0, n_u=3, idx_u=torch.tensor([0, 1, 0]))
    b.x_u[2] += 1.0  # a different input (augmentation) for the second visit of example 0
    z = model(b.x_u).softmax(1).detach()
    te.loss(model, b)
    assert te.t.tolist() == [2, 1, 0, 0, 0]
    torch.testing.assert_close(te.Z[0], 0.5 * (0.5 * 0.0 + 0.5 * z[0]) + 0.5 * z[2])
    torch.testing.assert_close(te.Z[1], 0.5 * z[1])
    target, seen = te.targets(torch.tensor([0]))
    torch.testing.assert_close(target[0], te.Z[0] / (1 - 0.5**2))  # bias-corrected for t = 2


def test_temporal_ensembling_update_is_unchanged_without_repeats():
    from course_lib.methods.temporal_ensembling import occurrence

    assert occurrence(torch.tensor([4, 7, 4, 4, 1, 7])).tolist() == [0, 0, 1, 2, 0, 1]
    te, model, b = _te(alpha=0.6), _linear(), _batch(n_l=0, n_u=5)
    te.Z[:] = torch.rand(5, 2)
    before = te.Z.clone()
    z = model(b.x_u).softmax(1).detach()
    te.loss(model, b)
    assert torch.equal(te.Z, 0.6 * before + (1 - 0.6) * z)  # bit for bit the one-shot update


# --- Mean Teacher ----------------------------------------------------------------------------
def test_mean_teacher_student_gets_gradient_from_consistency_teacher_none():
    """Regression test for the bug of a widely used library (USB #226): the consistency term
    must train the student."""
    seed_everything(0)
    model = MLP(2, 2)
    mt = MeanTeacher(w_max=10.0, rampup=0.0, noise_std=0.3)
    mt.setup(model, None)
    with torch.no_grad():  # make the teacher differ from the student
        for p in mt.teacher.parameters():
            p.add_(0.5 * torch.randn_like(p))
    loss, logs = mt.loss(model, _batch(n_l=0, n_u=16))  # no labels: consistency only
    assert logs["loss_x"] == 0.0 and logs["loss_u"] > 0
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0
    assert all(p.grad is None and not p.requires_grad for p in mt.teacher.parameters())


def test_mean_teacher_ema_update_and_eval_model():
    seed_everything(0)
    student = MLP(2, 2)
    mt = MeanTeacher(alpha=0.9)
    mt.setup(student, None)
    assert mt.eval_model(student) is mt.teacher
    before = [p.clone() for p in mt.teacher.parameters()]
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
    mt.after_step(student, step=4)  # a = min(1 - 1/5, 0.9) = 0.8
    for t, b, s in zip(mt.teacher.parameters(), before, student.parameters(), strict=True):
        torch.testing.assert_close(t, 0.8 * b + 0.2 * s)
    mt.after_step(student, step=100)  # a = 0.9
    mt.after_step(student, step=0)  # a = 0: the teacher becomes the student
    for t, s in zip(mt.teacher.parameters(), student.parameters(), strict=True):
        torch.testing.assert_close(t, s)


def test_mean_teacher_estimator_predicts_with_teacher():
    X, y_true = two_moons(200, 0.1, seed=0)
    y = split_labeled(y_true, 3, seed=0)
    clf = SSLClassifier(method=MeanTeacher(), steps=30, device="cpu").fit(X, y)
    assert clf.model_ is clf.method_.teacher


# --- VAT -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(16, 2), (6, 1, 8, 8)])
def test_vat_r_adv_has_norm_eps_and_beats_random_direction(shape):
    torch.manual_seed(0)
    x = torch.randn(*shape)
    model = MLP(2, 2, hidden=(32,)) if len(shape) == 2 else SmallCNN(1, 3, widths=(4, 8))
    model.eval()
    with torch.no_grad():
        p = model(x).softmax(1)
    eps = 0.1  # small against the data scale: the quadratic regime of eqs (2)-(3)
    r_adv = adversarial_direction(model, x, p, eps=eps, xi=1e-2)
    torch.testing.assert_close(r_adv.flatten(1).norm(dim=1), torch.full((shape[0],), eps))
    rand = torch.randn_like(x)
    rand = eps * rand / rand.flatten(1).norm(dim=1).view(-1, *[1] * (x.ndim - 1))
    with torch.no_grad():
        d_adv = kl_divergence(p, model(x + r_adv))
        d_rand = kl_divergence(p, model(x + rand))
    assert d_adv.mean() > 1.5 * d_rand.mean()  # in 2-D a random direction is not that bad
    assert (d_adv > d_rand).float().mean() >= 0.8


def test_vat_does_not_update_batchnorm_in_adversarial_passes():
    torch.manual_seed(0)
    model = SmallCNN(1, 3, widths=(4, 8)).train()
    x = torch.randn(6, 1, 8, 8)
    bn = model.features[1]
    mean0, n0 = bn.running_mean.clone(), bn.num_batches_tracked.clone()
    with torch.no_grad():
        p = model(x).softmax(1)
    mean1 = bn.running_mean.clone()
    adversarial_direction(model, x, p, eps=1.0, xi=1e-6)
    torch.testing.assert_close(bn.running_mean, mean1)  # unchanged by the adversarial passes
    assert bn.track_running_stats  # restored
    with frozen_batchnorm_stats(model):
        model(x)
    torch.testing.assert_close(bn.running_mean, mean1)
    assert not torch.equal(mean0, mean1) and bn.num_batches_tracked == n0 + 1
    # the whole VAT loss updates the statistics exactly once (its clean pass)
    b = Batch(x[:2], torch.tensor([0, 1]), torch.arange(2), x, torch.arange(6), 0, 1)
    VAT(eps=1.0).loss(model, b)
    assert bn.num_batches_tracked == n0 + 2


def test_vat_with_batchnorm_compares_passes_over_the_same_batch():
    # BatchNorm in train mode normalises with the batch's statistics: if the clean target came
    # from the labeled+unlabeled pass and the perturbed one from x_u alone, the LDS would be > 0
    # even at r_adv -> 0, and r_adv would chase that batch difference (VAT on digits broke so).
    torch.manual_seed(0)
    model = SmallCNN(1, 3, widths=(4, 8)).train()
    x_l, x_u = torch.randn(4, 1, 8, 8) + 2.0, torch.randn(6, 1, 8, 8)
    b = Batch(x_l, torch.tensor([0, 1, 2, 0]), torch.arange(4), x_u, torch.arange(6), 0, 1)
    _, logs = VAT(eps=1e-6, xi=1e-7).loss(model, b)
    assert logs["lds"] < 1e-6


def test_vat_loss_matches_hand_computation():
    seed_everything(0)
    model, b = MLP(2, 2, hidden=(16,)), _batch()
    method = VAT(eps=0.3, xi=1e-6, alpha=2.0, lambda_ent=0.5)
    torch.manual_seed(1)
    loss, logs = method.loss(model, b)
    logits_u = model(b.x_u)
    p = logits_u.softmax(1)
    torch.manual_seed(1)
    r_adv = adversarial_direction(model, b.x_u, p.detach(), 0.3, 1e-6)
    lds = (p * (p.log() - model(b.x_u + r_adv).log_softmax(1))).sum(1).mean()
    ent = -(p * p.log()).sum(1).mean()
    expected = F.cross_entropy(model(b.x_l), b.y_l) + 2.0 * lds + 0.5 * ent
    torch.testing.assert_close(loss, expected)
    assert logs["lds"] == pytest.approx(lds.item(), rel=1e-5)


# --- all four --------------------------------------------------------------------------------
ALL = [
    lambda aug=None: PiModel(augment=aug),
    lambda aug=None: TemporalEnsembling(augment=aug),
    lambda aug=None: MeanTeacher(augment=aug),
    lambda aug=None: VAT() if aug is None else VAT(eps=1.0),
]


@pytest.mark.parametrize("make", ALL)
def test_methods_are_deterministic(make):
    X, y_true = two_moons(300, 0.1, seed=0)
    y = split_labeled(y_true, 3, seed=0)
    p1 = SSLClassifier(method=make(), steps=40, device="cpu").fit(X, y).predict_proba(X)
    p2 = SSLClassifier(method=make(), steps=40, device="cpu").fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)


@pytest.mark.parametrize("make", ALL)
def test_methods_train_a_cnn_on_images_with_an_augment_callable(make):
    rng = np.random.default_rng(0)
    X = rng.random((40, 1, 8, 8), dtype=np.float32)
    y = np.full(40, -1)
    y[:6] = [0, 1, 2, 0, 1, 2]
    calls = []

    def flip(x):
        calls.append(x.shape)
        return torch.flip(x, dims=[3])

    method = make(flip)
    clf = SSLClassifier(
        method=method, model="cnn", model_params={"widths": (4, 8)}, steps=4, batch_size=8
    )
    clf.fit(X, y)
    assert clf.predict_proba(X).shape == (40, 3)
    assert np.isfinite(clf.history_["loss"][1:]).all()
    if not isinstance(method, VAT):
        assert calls and calls[0][1:] == (1, 8, 8)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: PiModel(w_max=-1.0), "w_max"),
        (lambda: PiModel(rampup=1.5), "rampup"),
        (lambda: PiModel(noise_std=-0.1), "noise_std"),
        (lambda: PiModel(augment="weak"), "augment"),
        (lambda: TemporalEnsembling(alpha=1.0), "alpha"),
        (lambda: TemporalEnsembling(alpha=-0.1), "alpha"),
        (lambda: MeanTeacher(alpha=1.0), "alpha"),
        (lambda: MeanTeacher(w_max=float("nan")), "w_max"),
        (lambda: VAT(eps=0.0), "eps"),
        (lambda: VAT(eps=-1.0), "eps"),
        (lambda: VAT(xi=0.0), "xi"),
        (lambda: VAT(n_power=0), "n_power"),
        (lambda: VAT(lambda_ent=-1.0), "lambda_ent"),
    ],
)
def test_bad_hyperparameters_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_method_explorer_switches_runs_without_training():
    from course_lib import plot
    from course_lib.train import fit
    from course_lib.widgets import method_explorer

    X, y_true = two_moons(200, 0.1, seed=0)
    y = split_labeled(y_true, 3, seed=0)
    grid = plot.make_grid(X, 20)

    def run(method):
        seed_everything(0)
        return fit(MLP(2, 2), method, X, y, steps=20, record_every=10, grid=grid, progress=False)

    runs = {
        "Π-model": {"w_max = 1": run(PiModel(w_max=1.0)), "w_max = 30": run(PiModel())},
        "VAT": {
            "eps = 0.1": run(VAT(eps=0.1)),
            "eps = 0.2": run(VAT()),
            "eps = 0.5": run(VAT(0.5)),
        },
    }
    w = method_explorer(runs, X, y)
    assert w.controls["setting"].value == "w_max = 30"
    png = w.image.value
    w.controls["method"].value = "VAT"
    assert w.controls["setting"].value == "eps = 0.2"
    assert list(w.controls["setting"].options) == list(runs["VAT"])
    assert w.image.value != png
    renders = w.renders
    w.controls["record"].value = 0
    assert w.renders == renders + 1
    with pytest.raises(ValueError, match="snapshots"):
        method_explorer(
            {"x": {"a": fit(MLP(2, 2), PiModel(), X, y, steps=2, progress=False)}}, X, y
        )
