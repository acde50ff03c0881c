"""Chapter 10: the losses of the medical papers against hand computations, and their properties."""

import numpy as np
import pytest
import torch

from course_lib import seed_everything
from course_lib.data import (
    BRAIN_ADJACENCY,
    adjacency_counts,
    brain_phantom,
    multiphase_lesions,
    texture_sections,
)
from course_lib.methods.base import Batch
from course_lib.papers import (
    PatchEncoder,
    PhaseCNN,
    SegNet,
    Synergic,
    SynergicPair,
    distance_pretext_loss,
    embed,
    forbidden_adjacencies,
    nonadj_loss,
    pretrain_distance,
    sample_patches,
    segment,
    soft_adjacency,
    synergic_loss,
    train_segmenter,
)


def one_hot(mask, k):
    m = torch.as_tensor(np.asarray(mask))[None]
    return torch.nn.functional.one_hot(m, k).permute(0, 3, 1, 2).float()


# --- NonAdjLoss ---------------------------------------------------------------------------------


def test_adjacency_counts_by_hand():
    mask = np.array([[0, 0, 1], [2, 1, 1]])
    # horizontal pairs (0,0) (0,1) (2,1) (1,1); vertical (0,2) (0,1) (1,1)
    c = adjacency_counts(mask, 3)
    expected = np.array([[2, 2, 1], [2, 4, 1], [1, 1, 0]])
    np.testing.assert_array_equal(c, expected)
    assert c.sum() == 2 * 7  # 7 neighbour pairs, each counted in both orders


def test_soft_adjacency_of_one_hot_is_normalised_counts():
    mask = np.array([[0, 0, 1], [2, 1, 1]])
    a = soft_adjacency(one_hot(mask, 3))
    np.testing.assert_allclose(a.numpy(), adjacency_counts(mask, 3) / 14, atol=1e-7)
    torch.testing.assert_close(a, a.T)
    assert a.sum().item() == pytest.approx(1.0)


def test_soft_adjacency_soft_probabilities_by_hand():
    # a 1x2 image: p = (0.75, 0.25), q = (0.5, 0.5); one pair
    probs = torch.tensor([[[[0.75, 0.5]], [[0.25, 0.5]]]])
    a = soft_adjacency(probs)
    # A = (p q^T + q p^T) / 2
    p, q = torch.tensor([0.75, 0.25]), torch.tensor([0.5, 0.5])
    torch.testing.assert_close(a, (torch.outer(p, q) + torch.outer(q, p)) / 2)


def test_nonadj_loss_by_hand():
    allowed = np.eye(3, dtype=bool) | np.eye(3, k=1, dtype=bool) | np.eye(3, k=-1, dtype=bool)
    # regions 0 and 2 may not touch; [[0, 2]] is one forbidden pair -> A[0,2] = A[2,0] = 1/2
    assert nonadj_loss(one_hot([[0, 2]], 3), allowed).item() == pytest.approx(1.0)
    assert nonadj_loss(one_hot([[0, 1, 2]], 3), allowed).item() == pytest.approx(0.0)
    # [[0, 1, 2], [2, 1, 0]]: 2 vertical forbidden pairs out of 7 pairs
    assert nonadj_loss(one_hot([[0, 1, 2], [2, 1, 0]], 3), allowed).item() == pytest.approx(2 / 7)
    np.testing.assert_array_equal(
        forbidden_adjacencies(np.array([[[0, 1, 2], [2, 1, 0]]]), allowed), [2]
    )


def test_nonadj_loss_zero_on_true_anatomy_and_gradient():
    ph = brain_phantom(5, 32, seed=0)
    assert forbidden_adjacencies(ph.masks, BRAIN_ADJACENCY).sum() == 0
    assert np.all((adjacency_counts(ph.masks, 5) > 0) <= BRAIN_ADJACENCY)
    assert nonadj_loss(one_hot(ph.masks[0], 5), BRAIN_ADJACENCY).item() == pytest.approx(0.0)
    logits = torch.randn(2, 5, 8, 8, requires_grad=True)
    loss = nonadj_loss(torch.softmax(logits, 1), BRAIN_ADJACENCY)
    loss.backward()
    assert loss.item() > 0 and logits.grad.abs().sum() > 0


def test_nonadj_errors():
    with pytest.raises(ValueError, match="allowed"):
        nonadj_loss(torch.rand(1, 3, 4, 4), np.ones((4, 4), dtype=bool))
    with pytest.raises(ValueError, match="probs"):
        soft_adjacency(torch.rand(3, 4, 4))
    with pytest.raises(ValueError, match="allowed"):
        train_segmenter(SegNet(), np.zeros((1, 1, 8, 8)), np.zeros((1, 8, 8)), lambda_adj=1.0)
    with pytest.raises(ValueError, match="lambda_adj"):
        train_segmenter(SegNet(), np.zeros((1, 1, 8, 8)), np.zeros((1, 8, 8)), lambda_adj=-1.0)


def test_train_segmenter_deterministic():
    ph = brain_phantom(4, 24, seed=0)
    outs = []
    for _ in range(2):
        seed_everything(0)
        net = SegNet()
        log = train_segmenter(
            net, ph.images[:2], ph.masks[:2], ph.images[2:], allowed=BRAIN_ADJACENCY,
            lambda_adj=1.0, steps=5, batch_size=2, device="cpu",
        )  # fmt: skip
        outs.append((log["ce"], log["nonadj"]))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    assert log.steps == list(range(6)) and np.isfinite(outs[0][1][1:]).all()


def test_segment_and_embed_restore_the_training_mode():
    ph = brain_phantom(2, 24, seed=0)
    net = SegNet().train()
    assert segment(net, ph.images).shape == ph.masks.shape and net.training
    enc = PatchEncoder(patch=12).train()
    assert embed(enc, np.zeros((3, 1, 12, 12), np.float32)).shape == (3, 32) and enc.training


def test_train_segmenter_draws_labeled_images_without_replacement():
    ph = brain_phantom(4, 24, seed=0)
    seen = []

    class Spy(SegNet):
        def forward(self, x):
            if self.training:
                seen.append(x.sum((1, 2, 3)))
            return super().forward(x)

    train_segmenter(Spy(), ph.images, ph.masks, steps=2, batch_size=4, device="cpu")
    sums = ph.images.sum((1, 2, 3))
    for batch in seen:  # one pass per step: every labeled image exactly once
        np.testing.assert_allclose(np.sort(batch.detach().numpy()), np.sort(sums), rtol=1e-5)


# --- synergic deep learning ---------------------------------------------------------------------


def test_synergic_loss_by_hand():
    la = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    lb = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    syn = torch.tensor([1.0, -2.0])
    ya, yb = torch.tensor([0, 1]), torch.tensor([0, 0])
    loss, logs = synergic_loss(la, lb, syn, ya, yb, lambda_syn=0.5)
    ce_a = (np.log(1 + np.exp(-2.0)) + np.log(1 + np.exp(-1.0))) / 2
    ce_b = (np.log(2.0) + np.log(1 + np.exp(-1.0))) / 2
    # same class: pair 0 yes (target 1, logit 1), pair 1 no (target 0, logit -2)
    bce = (np.log(1 + np.exp(-1.0)) + np.log(1 + np.exp(-2.0))) / 2
    assert loss.item() == pytest.approx(ce_a + ce_b + 0.5 * bce, rel=1e-6)
    assert logs["syn_acc"] == 1.0
    # three different pairs and one same pair: the same pair's BCE is weighted by 3
    syn4, y4a, y4b = (
        torch.tensor([0.5, 0.0, 0.0, 0.0]),
        torch.tensor([0, 0, 0, 0]),
        torch.tensor([0, 1, 1, 1]),
    )
    z = torch.zeros(4, 2)
    loss4, _ = synergic_loss(z, z, syn4, y4a, y4b, lambda_syn=1.0)
    bce4 = (3 * np.log(1 + np.exp(-0.5)) + 3 * np.log(2.0)) / 4
    assert loss4.item() == pytest.approx(2 * np.log(2.0) + bce4, rel=1e-6)


def test_synergic_error_reaches_both_cnns():
    seed_everything(0)
    model = SynergicPair(1, 3, widths=(4, 8), hidden=8)
    x = torch.rand(8, 1, 16, 16)
    y = torch.tensor([0, 1, 2, 0, 0, 2, 1, 1])
    batch = Batch(x, y, torch.arange(8), x[:0], torch.arange(0), step=0, steps=1)
    la, lb, syn = model.pair(x[:4], x[4:])
    same = (y[:4] == y[4:]).float()
    torch.nn.functional.binary_cross_entropy_with_logits(syn, same).backward()
    for net in (model.net_a, model.net_b):
        assert net.features[0].weight.grad.abs().sum() > 0
    loss, logs = Synergic(lambda_syn=1.0).loss(model, batch)
    assert torch.isfinite(loss) and set(logs) >= {"loss_a", "loss_b", "loss_syn"}
    assert model(x).shape == (8, 3)


def test_synergic_validation():
    with pytest.raises(ValueError, match="lambda_syn"):
        Synergic(lambda_syn=-1.0)


# --- Siamese distance pretext -------------------------------------------------------------------


def test_distance_pretext_loss_by_hand_and_patches():
    d_hat, d = torch.tensor([0.5, 0.0]), torch.tensor([0.25, 0.5])
    assert distance_pretext_loss(d_hat, d).item() == pytest.approx((0.0625 + 0.25) / 2)
    with pytest.raises(ValueError, match="d_pred"):
        distance_pretext_loss(d_hat, d[:1])
    img = np.arange(2 * 10 * 10, dtype=np.float32).reshape(2, 1, 10, 10)
    p, idx, c = sample_patches(img, 5, 4, seed=0)
    for k in range(5):
        r, col = int(c[k, 0] - 1.5), int(c[k, 1] - 1.5)
        np.testing.assert_array_equal(p[k], img[idx[k], :, r : r + 4, col : col + 4])
    with pytest.raises(ValueError, match="patch"):
        sample_patches(img, 5, 20)


def test_siamese_is_symmetric_and_pretext_learns():
    seed_everything(0)
    enc = PatchEncoder(patch=12)
    a, b = torch.rand(4, 1, 12, 12), torch.rand(4, 1, 12, 12)
    torch.testing.assert_close(enc.distance(a, b), enc.distance(b, a))
    sec = texture_sections(6, 48, seed=0)
    h = pretrain_distance(enc, sec.images, steps=80, batch_size=32, device="cpu")
    losses = h["loss"][1:]  # one record per step after the one before training
    assert len(losses) == 80 and np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])


# --- grouped convolution ------------------------------------------------------------------------


def test_grouped_first_conv_keeps_phases_apart():
    g, o = PhaseCNN(4, grouped=True), PhaseCNN(4, grouped=False)
    assert o.first.weight.numel() == 4 * g.first.weight.numel()
    x = torch.rand(2, 4, 16, 16)
    x2 = x.clone()
    x2[:, 3] += 1.0  # change phase 3 only
    with torch.no_grad():
        d = (g.first(x2) - g.first(x)).abs().sum((0, 2, 3))
    per = g.first.out_channels // 4
    assert torch.all(d[: 3 * per] == 0) and torch.all(d[3 * per :] > 0)
    assert g(x).shape == (2, 2)


def test_multiphase_lesions_visible_only_in_some_phases():
    mp = multiphase_lesions(50, 16, seed=0)
    assert mp.images.shape == (50, 4, 16, 16)
    assert np.all(mp.visible.sum(1)[mp.labels == 1] >= 1)
    assert np.all(mp.visible.sum(1) <= 2) and not mp.visible[mp.labels == 0].any()
    with pytest.raises(ValueError, match="phases"):
        multiphase_lesions(5, 16, phases=1)
