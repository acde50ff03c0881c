import functools

import numpy as np
import pytest
import torch

from course_lib import augment, seed_everything
from course_lib.data import digits, split_labeled
from course_lib.methods import Batch, FixMatch, MixMatch
from course_lib.methods.mixmatch import mixup, sharpen, soft_cross_entropy
from course_lib.models import SmallCNN
from course_lib.train import fit


def test_sharpen_by_hand():
    p = torch.tensor([[0.6, 0.3, 0.1]])
    expected = torch.tensor([[0.36, 0.09, 0.01]]) / 0.46  # T = 0.5: squares, renormalised
    torch.testing.assert_close(sharpen(p, 0.5), expected)
    torch.testing.assert_close(sharpen(p, 1.0), p)
    assert sharpen(p, 0.01).argmax().item() == 0 and sharpen(p, 0.01).max() > 0.999
    with pytest.raises(ValueError, match="T"):
        sharpen(p, 0.0)


def test_mixup_lambda_prime_and_convexity():
    x1, x2 = torch.zeros(5, 1, 2, 2), torch.ones(5, 1, 2, 2)
    p1, p2 = torch.tensor([[1.0, 0.0]]).repeat(5, 1), torch.tensor([[0.0, 1.0]]).repeat(5, 1)
    lam = torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9])
    x, p = mixup(x1, p1, x2, p2, lam)
    lam_p = torch.tensor([0.9, 0.7, 0.5, 0.7, 0.9])  # max(lam, 1 - lam) >= 0.5
    torch.testing.assert_close(x[:, 0, 0, 0], 1 - lam_p)
    torch.testing.assert_close(p[:, 0], lam_p)
    torch.testing.assert_close(p.sum(1), torch.ones(5))  # still a distribution
    assert torch.all(x[:, 0, 0, 0] <= 0.5)  # closer to x1


def test_mixmatch_loss_by_hand_with_identity_augment():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    x_l, y_l, x_u = torch.randn(2, 3), torch.tensor([0, 1]), torch.randn(2, 3)
    m = MixMatch(K=1, T=0.5, alpha=0.75, lambda_u=10.0, rampup=1.0, augment=lambda x: x)
    b = Batch(x_l, y_l, torch.arange(2), x_u, torch.arange(2), step=5, steps=11)  # t = 0.5
    torch.manual_seed(1)
    loss, logs = m.loss(model, b)
    # redo by hand with the same random draws
    torch.manual_seed(1)
    with torch.no_grad():
        q = sharpen(torch.softmax(model(x_u), 1), 0.5)
    all_x = torch.cat([x_l, x_u])
    all_p = torch.cat([torch.eye(2)[y_l], q])
    perm = torch.randperm(4)
    lam = torch.distributions.Beta(0.75, 0.75).sample((4,))
    mx, mp = mixup(all_x, all_p, all_x[perm], all_p[perm], lam)
    out = model(mx)
    lx = -(mp[:2] * torch.log_softmax(out[:2], 1)).sum(1).mean()
    lu = ((torch.softmax(out[2:], 1) - mp[2:]) ** 2).mean()
    assert loss.item() == pytest.approx((lx + 5.0 * lu).item(), rel=1e-5)
    assert logs["lambda_u"] == pytest.approx(5.0)


def test_mixmatch_updates_batchnorm_once_per_step():
    """The label guess normalises with its batch's statistics but leaves the running averages
    alone: they move once per step, with the mixed batch (the reference code's single update).
    Fails on the old loss, where the guess's forward updated them too (twice per step)."""
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm1d(3, momentum=None)  # momentum None: running mean = mean of inputs
    model = torch.nn.Sequential(bn, torch.nn.Linear(3, 2)).train()
    seen = []
    bn.register_forward_hook(lambda mod, inp, out: seen.append((inp[0].detach(), out.detach())))
    x_l, y_l, x_u = torch.randn(4, 3), torch.tensor([0, 1, 0, 1]), 5.0 + torch.randn(4, 3)
    b = Batch(x_l, y_l, torch.arange(4), x_u, torch.arange(4), step=0, steps=10)
    MixMatch(K=2, augment=lambda x: x).loss(model, b)
    assert len(seen) == 2  # the guess, then the mixed batch
    (x_guess, out_guess), (x_mixed, _) = seen
    assert bn.num_batches_tracked.item() == 1
    torch.testing.assert_close(bn.running_mean, x_mixed.mean(0))  # the mixed batch's only
    # the guess used its own batch statistics (training mode), as in the reference code
    torch.testing.assert_close(out_guess.mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    assert bn.track_running_stats  # restored


def test_soft_cross_entropy_equals_hard_for_one_hot():
    logits = torch.randn(4, 3)
    y = torch.tensor([0, 2, 1, 1])
    hard = torch.nn.functional.cross_entropy(logits, y)
    torch.testing.assert_close(soft_cross_entropy(logits, torch.eye(3)[y]), hard)


def test_fixmatch_loss_by_hand_and_mask():
    model = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2) * 4.0)
    x_l, y_l = torch.tensor([[1.0, 0.0]]), torch.tensor([0])
    u = torch.tensor([[1.0, 0.0], [0.1, 0.0]])  # confident (p=0.98) and unsure (p=0.6)
    flip = lambda x: x.flip(1)  # noqa: E731  a "strong" view that swaps the features
    m = FixMatch(tau=0.95, lambda_u=2.0, weak=lambda x: x, strong=flip, ema_decay=0.0)
    b = Batch(x_l, y_l, torch.arange(1), u, torch.arange(2), step=0, steps=1)
    loss, logs = m.loss(model, b)
    ce = torch.nn.functional.cross_entropy
    ls = ce(model(x_l), y_l)
    lu = ce(model(flip(u[:1])), torch.tensor([0])) / 2  # only the first is kept, mean over mu*B
    assert logs["mask_rate"] == 0.5
    assert loss.item() == pytest.approx((ls + 2.0 * lu).item(), rel=1e-5)


@pytest.mark.parametrize(
    "cls, kw, match",
    [
        (FixMatch, {"tau": 0.0}, "tau"),
        (FixMatch, {"tau": 1.01}, "tau"),
        (FixMatch, {"mu": 0}, "mu"),
        (FixMatch, {"strong": None}, "strong"),
        (FixMatch, {"ema_decay": 1.0}, "ema_decay"),
        (MixMatch, {"T": 0.0}, "T"),
        (MixMatch, {"T": -1.0}, "T"),
        (MixMatch, {"K": 0}, "K"),
        (MixMatch, {"alpha": 0.0}, "alpha"),
        (MixMatch, {"lambda_u": -1.0}, "lambda_u"),
    ],
)
def test_bad_hyper_parameters(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(**kw)


def test_tau_one_is_allowed():
    assert FixMatch(tau=1.0).tau == 1.0


@pytest.mark.parametrize(
    "make",
    [
        lambda y: FixMatch(mu=2, y_monitor=y),
        lambda y: MixMatch(augment=functools.partial(augment.weak, sigma=0.05)),
    ],
)
def test_fit_on_images_is_deterministic(make):
    X, y_true, _, _ = digits()
    X, y_true = X[:200], y_true[:200]
    y = split_labeled(y_true, 2, seed=0)

    def run():
        seed_everything(0)
        net = SmallCNN(1, 10, widths=(8, 8))
        h = fit(net, make(y_true), X, y, steps=6, batch_size=8, progress=False, record_every=3)
        return net, h

    (n1, h1), (n2, h2) = run(), run()
    for a, b in zip(n1.parameters(), n2.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    np.testing.assert_array_equal(h1["loss"], h2["loss"])


def test_fixmatch_uses_mu_and_ema_for_eval():
    X, y_true, _, _ = digits()
    X, y_true = X[:200], y_true[:200]
    y = split_labeled(y_true, 2, seed=0)
    seen = []

    class Spy(FixMatch):
        def loss(self, model, batch):
            seen.append(len(batch.x_u))
            return super().loss(model, batch)

    net = SmallCNN(1, 10, widths=(8, 8))
    m = Spy(mu=3, ema_decay=0.9)
    fit(net, m, X, y, steps=3, batch_size=4, progress=False)
    assert seen == [12, 12, 12]
    ema = m.eval_model(net)
    assert ema is not net
    assert not torch.equal(next(ema.parameters()), next(net.parameters()))
