import math

import numpy as np
import pytest
import torch

from course_lib import metrics, seed_everything
from course_lib.models import TinyUNet
from course_lib.weak.box2mask import (
    IGNORE,
    MixedSupervisionLoss,
    box_i_labels,
    box_labels,
    check_boxes,
    denoise,
    inner_box,
    mixed_labels,
    pixel_cross_entropy,
    predict_masks,
    prior_labels,
    recursive_training,
    soft_dice_loss,
    train_segmentation,
)

BOXES = [np.array([[2, 3, 22, 23]]), np.array([[0, 0, 10, 10], [5, 5, 15, 15]])]


# --- label builders ---------------------------------------------------------------------------


def test_box_labels_fill_the_boxes():
    lab = box_labels(BOXES, (32, 32))
    assert lab.shape == (2, 32, 32) and lab.dtype == np.int64
    assert lab[0].sum() == 20 * 20 and lab[0, 2:22, 3:23].all()
    assert lab[1].sum() == 100 + 100 - 25  # union of two overlapping 10x10 boxes


def test_box_i_inner_fifth_ignore_ring_background_outside():
    lab = box_i_labels(BOXES[:1], (32, 32), inner=0.2)[0]
    fg, ign = lab == 1, lab == IGNORE
    assert fg.sum() == 9 * 9  # round(20 * sqrt(0.2)) = 9 per side: 20.25 % of the box
    assert ign.sum() == 400 - 81
    assert (lab == 0).sum() == 32 * 32 - 400
    rows, cols = np.nonzero(fg)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (7, 15, 8, 16)  # centred
    assert inner_box((2, 3, 22, 23), 0.2) == (7, 8, 16, 17)


def test_box_i_overlap_foreground_wins_over_ignore():
    lab = box_i_labels(BOXES[1:], (32, 32), inner=0.2)[0]
    for box in BOXES[1]:
        t, l, b, r = inner_box(box, 0.2)
        assert (lab[t:b, l:r] == 1).all()
    assert set(np.unique(lab)) == {IGNORE, 0, 1}


@pytest.mark.parametrize(
    "boxes, match",
    [
        ([np.array([[0, 0, 40, 10]])], "outside"),
        ([np.array([[-1, 0, 4, 10]])], "outside"),
        ([np.array([[5, 5, 5, 10]])], "empty"),
        ([np.array([[0, 0, 10]])], r"\(K, 4\)"),
        ([np.array([[0, 0, 4, 4]]), np.array([[0, 0, 4, 4]])], "one"),
    ],
)
def test_bad_boxes(boxes, match):
    with pytest.raises(ValueError, match=match):
        check_boxes(boxes, 1, (32, 32))


def test_builders_reject_bad_inputs():
    with pytest.raises(ValueError, match="inner"):
        box_i_labels(BOXES, (32, 32), inner=0.0)
    with pytest.raises(ValueError, match="outside"):
        box_labels([np.array([[0, 0, 33, 5]])], (32, 32))
    with pytest.raises(ValueError, match="shape"):
        box_labels(BOXES, (32,))
    with pytest.raises(ValueError, match="method"):
        prior_labels(np.zeros((1, 1, 32, 32)), BOXES[:1], method="grabcut")


def test_prior_recovers_a_bright_disk_and_stays_in_the_box():
    yy, xx = np.mgrid[0:32, 0:32]
    disk = ((yy - 12) ** 2 + (xx - 13) ** 2 < 49).astype(np.float32)
    img = disk[None, None] * 0.8 + 0.1
    box = [np.array([[5, 6, 20, 21]])]
    for method in ("otsu", "chan_vese"):
        lab = prior_labels(img, box, method)
        assert metrics.dice(disk, lab[0]) > 0.9, method
        assert lab[0, :5].sum() == 0 and lab[0, 20:].sum() == 0


# --- recursive training's denoising rules --------------------------------------------------------


def test_denoise_box_enforcing_and_reset():
    boxes = [np.array([[0, 0, 4, 4], [6, 6, 10, 10]])]
    init = box_i_labels(boxes, (12, 12))
    pred = np.zeros((1, 12, 12), dtype=int)
    pred[0, :, 11] = 1  # outside every box: rule 1 sets it to background
    pred[0, 0:4, 0:3] = 1  # 12 / 16 = 75 % of box 1: kept
    pred[0, 6, 6] = 1  # 1 / 16 of box 2: IoU < 50 %, reset to the round-0 label
    out = denoise(pred, boxes, init, iou_min=0.5)
    assert out[0, :, 11].sum() == 0
    np.testing.assert_array_equal(out[0, 0:4, 0:4], pred[0, 0:4, 0:4])
    np.testing.assert_array_equal(out[0, 6:10, 6:10], init[0, 6:10, 6:10])
    assert (out[0, 6:10, 6:10] == IGNORE).any()
    # exactly at the threshold the segment is kept
    pred2 = np.zeros_like(pred)
    pred2[0, 6:8, 6:10] = 1  # 8 / 16 = 50 %
    np.testing.assert_array_equal(denoise(pred2, boxes, init)[0, 6:10, 6:10], pred2[0, 6:10, 6:10])


def test_denoise_bad_inputs():
    boxes = [np.array([[0, 0, 4, 4]])]
    init = box_labels(boxes, (8, 8))
    with pytest.raises(ValueError, match="init_labels"):
        denoise(np.zeros((1, 8, 9)), boxes, init)
    with pytest.raises(ValueError, match="iou_min"):
        denoise(np.zeros((1, 8, 8)), boxes, init, iou_min=1.5)
    with pytest.raises(ValueError, match="pred"):
        denoise(np.zeros((8, 8)), boxes, init)


# --- losses ---------------------------------------------------------------------------------------


def _tiny():
    logits = torch.tensor(
        [[[[2.0, 0.0], [1.0, -1.0]], [[0.0, 1.0], [1.0, 3.0]]]], requires_grad=True
    )
    labels = torch.tensor([[[0, 1], [IGNORE, 1]]])
    return logits, labels


def test_pixel_cross_entropy_by_hand_and_zero_gradient_on_ignore():
    logits, labels = _tiny()
    loss = pixel_cross_entropy(logits, labels)
    # pixels (0,0): y=0, z=(2,0); (0,1): y=1, z=(0,1); (1,1): y=1, z=(-1,3)
    by_hand = (
        -math.log(math.exp(2) / (math.exp(2) + 1))
        - math.log(math.exp(1) / (1 + math.exp(1)))
        - math.log(math.exp(3) / (math.exp(-1) + math.exp(3)))
    ) / 3
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)
    loss.backward()
    assert torch.all(logits.grad[0, :, 1, 0] == 0), "the ignored pixel must get no gradient"
    assert torch.all(logits.grad[0, :, 0, 0] != 0)
    empty = pixel_cross_entropy(logits, torch.full_like(labels, IGNORE))
    assert empty.item() == 0.0


def test_soft_dice_by_hand_ignore_and_bootstrap():
    logits, labels = _tiny()
    p = torch.softmax(logits.detach(), 1)[0, 1]
    valid = [(0, 0), (0, 1), (1, 1)]
    y = {(0, 0): 0.0, (0, 1): 1.0, (1, 1): 1.0}
    inter = sum(p[i].item() * y[i] for i in valid)
    by_hand = 1 - (2 * inter + 1) / (sum(p[i].item() for i in valid) + 2 + 1)
    loss = soft_dice_loss(logits, labels)
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)
    loss.backward()
    assert torch.all(logits.grad[0, :, 1, 0] == 0)
    # bootstrap = 1/3 keeps only the worst labelled pixel: the largest |p - y|
    errs = {i: abs(p[i].item() - y[i]) for i in valid}
    worst = max(errs, key=errs.get)
    one = 1 - (2 * p[worst].item() * y[worst] + 1) / (p[worst].item() + y[worst] + 1)
    assert soft_dice_loss(logits, labels, bootstrap=1 / 3).item() == pytest.approx(one, rel=1e-6)


def test_mixed_supervision_loss_combines_strong_and_weak():
    torch.manual_seed(0)
    logits = torch.randn(3, 2, 4, 4)
    labels = torch.randint(0, 2, (3, 4, 4))
    labels[2, :2] = IGNORE
    strong = torch.tensor([True, False, False])
    loss, logs = MixedSupervisionLoss(lambda_w=0.5)(logits, labels, strong)
    ce_s = pixel_cross_entropy(logits[:1], labels[:1])
    ce_w = pixel_cross_entropy(logits[1:], labels[1:])
    assert loss.item() == pytest.approx((ce_s + 0.5 * ce_w).item(), rel=1e-6)
    assert logs["ce_strong"] == pytest.approx(ce_s.item())
    with_dice, logs = MixedSupervisionLoss(dice=1.0, bootstrap=0.5)(logits, labels, strong)
    d = soft_dice_loss(logits[:1], labels[:1], bootstrap=0.5)
    assert with_dice.item() == pytest.approx((ce_s + ce_w + d).item(), rel=1e-6)
    for kw, match in [({"lambda_w": -1}, "lambda_w"), ({"bootstrap": 0}, "bootstrap")]:
        with pytest.raises(ValueError, match=match):
            MixedSupervisionLoss(**kw)


def test_mixed_labels_fraction():
    weak = box_i_labels([BOXES[0]] * 10, (32, 32))
    masks = box_labels([BOXES[0]] * 10, (32, 32))
    labels, strong = mixed_labels(weak, masks, 0.3, seed=0)
    assert strong.sum() == 3
    np.testing.assert_array_equal(labels[strong], masks[strong])
    np.testing.assert_array_equal(labels[~strong], weak[~strong])
    assert mixed_labels(weak, masks, 0.01)[1].sum() == 1
    assert mixed_labels(weak, masks, 0.0)[1].sum() == 0
    with pytest.raises(ValueError, match="fraction"):
        mixed_labels(weak, masks, 1.5)


# --- metrics ------------------------------------------------------------------------------------


def test_dice_and_iou_on_known_masks():
    a = np.zeros((2, 4, 4), dtype=int)
    b = np.zeros((2, 4, 4), dtype=int)
    a[0, :2] = 1  # 8 pixels
    b[0, :, :2] = 1  # 8 pixels, 4 shared
    assert metrics.dice(a[0], b[0]) == pytest.approx(2 * 4 / 16)
    assert metrics.iou(a[0], b[0]) == pytest.approx(4 / 12)
    np.testing.assert_allclose(metrics.dice(a, b, per_image=True), [0.5, 1.0])  # both empty: 1
    np.testing.assert_allclose(metrics.iou(a, b, per_image=True), [1 / 3, 1.0])
    d = metrics.dice(a[0], b[0])
    assert metrics.iou(a[0], b[0]) == pytest.approx(d / (2 - d))
    assert metrics.dice(a[0], a[0]) == 1.0
    with pytest.raises(ValueError, match="shape"):
        metrics.dice(a, b[0])


# --- network and training -----------------------------------------------------------------------


def test_tiny_unet_shapes_and_size():
    net = TinyUNet()
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 2, 32, 32)
    n_params = sum(p.numel() for p in net.parameters())
    assert 50_000 < n_params < 500_000
    with pytest.raises(ValueError, match="divisible"):
        net(torch.zeros(1, 1, 30, 30))


def _toy(n=24, size=32):
    from course_lib.data import cells

    return cells(n, size=size, seed=5, radius=(4.0, 8.0), nuclei=(1, 3))


def test_train_segmentation_learns_and_is_deterministic():
    d = _toy()
    runs = []
    for _ in range(2):
        seed_everything(0)
        net = TinyUNet(widths=(8, 16))
        h = train_segmentation(
            net,
            d.images,
            d.masks,
            steps=40,
            batch_size=8,
            lr=1e-2,
            seed=3,
            progress=False,
            X_eval=d.images,
            masks_eval=d.masks,
            record_every=20,
        )
        runs.append(h)
    np.testing.assert_allclose(runs[0]["loss"][1:], runs[1]["loss"][1:])
    assert runs[0]["eval_dice"][-1] > 0.6
    assert runs[0]["loss"][-1] < runs[0]["loss"][1]
    p = predict_masks(net, d.images)
    assert p.shape == d.masks.shape and 0 <= p.min() and p.max() <= 1


def test_train_segmentation_bad_inputs():
    d = _toy(4)
    net = TinyUNet(widths=(8, 16))
    with pytest.raises(ValueError, match="labels"):
        train_segmentation(net, d.images, d.masks[:, :16], steps=1, progress=False)
    with pytest.raises(ValueError, match="labels"):
        train_segmentation(net, d.images, d.masks * 2, steps=1, progress=False)
    with pytest.raises(ValueError, match="crop"):
        train_segmentation(net, d.images, d.masks, steps=1, crop=64, progress=False)
    with pytest.raises(ValueError, match="strong"):
        train_segmentation(net, d.images, d.masks, strong=np.ones(3, bool), progress=False)
    with pytest.raises(ValueError, match="masks_eval"):
        train_segmentation(net, d.images, d.masks, X_eval=d.images, progress=False)


def test_recursive_training_records_rounds_and_obeys_rule_1():
    d = _toy(16)
    init = box_i_labels(d.boxes, (32, 32))
    out = recursive_training(
        lambda: TinyUNet(widths=(8, 16)),
        d.images,
        d.boxes,
        init,
        rounds=2,
        masks=d.masks,
        X_eval=d.images,
        masks_eval=d.masks,
        steps=15,
        batch_size=8,
        progress=False,
    )
    assert len(out.labels) == len(out.pseudo) == len(out.eval_dice) == len(out.label_dice) == 2
    np.testing.assert_array_equal(out.labels[0], init)
    np.testing.assert_array_equal(out.labels[1], out.pseudo[0])
    outside = box_labels(d.boxes, (32, 32)) == 0
    for lab in out.pseudo:
        assert (lab[outside] == 0).all()
    again = recursive_training(
        lambda: TinyUNet(widths=(8, 16)),
        d.images,
        d.boxes,
        init,
        rounds=1,
        steps=15,
        batch_size=8,
        progress=False,
    )
    np.testing.assert_array_equal(again.pseudo[0], out.pseudo[0])


def test_chapter_widgets_redraw_from_precomputed_results():
    from course_lib.widgets import mixed_explorer, rounds_player

    d = _toy(8)
    init = box_i_labels(d.boxes, (32, 32))
    out = recursive_training(
        lambda: TinyUNet(widths=(8, 16)), d.images, d.boxes, init, rounds=2,
        X_eval=d.images, masks_eval=d.masks, steps=2, batch_size=4, progress=False,
    )  # fmt: skip
    player = rounds_player(out, d.images, d.masks, d.boxes, show=(0, 1))
    first = bytes(player.image.value)
    player.slider.value = 2
    assert player.renders == 2 and bytes(player.image.value) != first
    assert "after round 2" in player.label.value
    pred = d.masks.astype(bool)
    results = {
        f: {"mixed": (0.5 + f / 2, pred), "masks only": (0.4 + f / 2, ~pred), "cost": (f + 1, f)}
        for f in (0.1, 0.5, 1.0)
    }
    explorer = mixed_explorer(results, d.images, d.masks, show=(0,))
    first = bytes(explorer.image.value)
    explorer.slider.value = 1.0
    assert bytes(explorer.image.value) != first
