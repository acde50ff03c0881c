import numpy as np
import pytest
import torch

from course_lib import metrics
from course_lib.models import SmallCNN
from course_lib.weak.cam import GradCAM, cam, grad_cam, map_to_box, maps_to_boxes


def _net(seed=0, n_classes=3):
    torch.manual_seed(seed)
    net = SmallCNN(1, n_classes, (4, 8))
    net.eval()
    return net


def test_cam_equals_grad_cam_up_to_positive_scale():
    net = _net()
    x = torch.rand(5, 1, 16, 16)
    for target in (0, 2):
        c, _ = cam(net, x, target, size=None, relu=True)
        g, _ = grad_cam(net, x, target, size=None)
        z = c.shape[1] * c.shape[2]  # dy/dA = w / Z at the last layer of a GAP-linear network
        np.testing.assert_allclose(g * z, c, rtol=1e-4, atol=1e-6)
        # also after upsampling, since ReLU comes before the (linear) upsampling in both
        cu, _ = cam(net, x, target, relu=True)
        gu, _ = grad_cam(net, x, target)
        assert cu.shape == (5, 16, 16)
        np.testing.assert_allclose(gu * z, cu, rtol=1e-4, atol=1e-6)


def test_cam_is_the_weighted_sum_of_feature_maps():
    net = _net()
    x = torch.rand(2, 1, 12, 12)
    c, t = cam(net, x, target=[1, 0], size=None)
    with torch.no_grad():
        f = net.features(x)
    w = net.classifier.weight.detach()
    np.testing.assert_allclose(c[0], (w[1][:, None, None] * f[0]).sum(0).numpy(), rtol=1e-5)
    np.testing.assert_array_equal(t, [1, 0])
    # the mean of the map plus the bias is the logit (GAP is linear)
    logits = net(x).detach().numpy()
    np.testing.assert_allclose(c[0].mean() + net.classifier.bias[1].item(), logits[0, 1], rtol=1e-4)


def test_no_hooks_remain_also_after_an_exception():
    net = _net()
    layer = net.features
    with GradCAM(net, layer) as gc:
        assert len(layer._forward_hooks) == 1
        gc(torch.rand(2, 1, 8, 8))
    assert len(layer._forward_hooks) == 0
    with pytest.raises(RuntimeError, match="boom"):
        with GradCAM(net, layer):
            raise RuntimeError("boom")
    assert len(layer._forward_hooks) == 0
    with pytest.raises(ValueError, match="target"):
        grad_cam(net, torch.rand(1, 1, 8, 8), target=7)
    assert len(layer._forward_hooks) == 0
    assert all(p.grad is None for p in net.parameters())


def test_grad_cam_outside_with_block_and_bad_layer():
    net = _net()
    with pytest.raises(RuntimeError, match="with"):
        GradCAM(net)(torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="sub-module"):
        GradCAM(net, torch.nn.Conv2d(1, 1, 1))


def test_cam_bad_input():
    net = _net()
    with pytest.raises(ValueError, match="N, C, H, W"):
        cam(net, torch.rand(1, 8, 8))
    with pytest.raises(ValueError, match="class index"):
        cam(net, torch.rand(2, 1, 8, 8), target=3)
    with pytest.raises(ValueError, match="one per image"):
        cam(net, torch.rand(2, 1, 8, 8), target=[0, 1, 2])
    with pytest.raises(ValueError, match="classifier"):
        cam(torch.nn.Conv2d(1, 1, 1), torch.rand(1, 1, 8, 8))


def test_map_to_box_keeps_the_largest_component():
    m = np.zeros((20, 20))
    m[2:5, 3:6] = 1.0  # small, highest
    m[10:18, 8:15] = 0.5  # large, above 20 % of the max
    m[0, 19] = 0.05  # below the threshold
    np.testing.assert_array_equal(map_to_box(m, 0.2), [10, 8, 18, 15])
    np.testing.assert_array_equal(map_to_box(m, 0.6), [2, 3, 5, 6])
    np.testing.assert_array_equal(map_to_box(np.zeros((4, 5))), [0, 0, 4, 5])
    assert maps_to_boxes(np.stack([m, m]), 0.6).shape == (2, 4)
    with pytest.raises(ValueError, match="fraction"):
        map_to_box(m, 0.0)
    with pytest.raises(ValueError, match="2-D"):
        map_to_box(np.zeros((2, 3, 3)))


def test_box_iou_and_localization_accuracy_by_hand():
    assert metrics.box_iou([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)
    assert metrics.box_iou([0, 0, 2, 2], [2, 2, 4, 4]) == 0.0
    assert metrics.box_iou([0, 0, 4, 4], [0, 0, 4, 4]) == 1.0
    gt = [np.array([[0, 0, 4, 4], [10, 10, 12, 12]]), np.array([[0, 0, 2, 2]]), np.zeros((0, 4))]
    pred = np.array([[10, 10, 12, 13], [0, 0, 4, 4], [0, 0, 1, 1]])
    ious = metrics.best_box_iou(pred, gt)
    np.testing.assert_allclose(ious[:2], [4 / 6, 4 / 16])
    assert np.isnan(ious[2])
    assert metrics.localization_accuracy(pred, gt) == 0.5  # normal image skipped
    with pytest.raises(ValueError, match="threshold"):
        metrics.localization_accuracy(pred, gt, threshold=0)


def test_pointing_game_by_hand():
    masks = np.zeros((3, 5, 5), int)
    masks[0, 1, 1] = masks[1, 3, 3] = 1
    maps = np.zeros((3, 5, 5))
    maps[0, 1, 1] = 1  # hit
    maps[1, 0, 0] = 1  # miss, but within 3 pixels
    maps[2, 2, 2] = 1  # image 2 has no lesion: skipped
    assert metrics.pointing_game(maps, masks) == 0.5
    assert metrics.pointing_game(maps, masks, tolerance=3) == 1.0
    with pytest.raises(ValueError, match="maps and masks"):
        metrics.pointing_game(maps[:, :4], masks)


def test_deletion_curve_faithful_map_drops_faster():
    rng = np.random.default_rng(0)
    images = rng.random((4, 1, 6, 6)).astype(np.float32) * 0.1
    images[:, :, 2, 3] = 1.0  # the evidence: one bright pixel

    def predict(x):
        return x[:, 0].max(axis=(1, 2))

    good = images[:, 0].copy()
    bad = -good
    f, conf_good, auc_good = metrics.deletion_curve(predict, images, good, steps=6)
    _, conf_bad, auc_bad = metrics.deletion_curve(predict, images, bad, steps=6)
    assert f[0] == 0 and f[-1] == 1 and conf_good.shape == (7,)
    assert conf_good[0] == pytest.approx(1.0) and conf_good[1] < 0.2
    assert auc_good < auc_bad
    with pytest.raises(ValueError, match="maps"):
        metrics.deletion_curve(predict, images, good[:, :3])


def test_cam_explorer_redraws_from_cached_maps():
    from course_lib.widgets import cam_explorer

    rng = np.random.default_rng(0)
    images = rng.random((3, 1, 16, 16)).astype(np.float32)
    masks = np.zeros((3, 16, 16), np.int8)
    masks[:, 4:8, 4:8] = 1
    boxes = [np.array([[4, 4, 8, 8]])] * 3
    blob = np.zeros((3, 16, 16), np.float32)
    blob[:, 4:8, 4:8] = 1.0
    w = cam_explorer({0: -blob, 1: blob}, images, masks, boxes)
    assert "1.00" in w.label.value  # the map's box is exactly the true box
    before = w.renders
    w.controls["threshold"].value = 0.5
    w.controls["cls"].value = 0
    assert w.renders == before + 2 and "0.0" in w.label.value  # class 0's map has no positive part
