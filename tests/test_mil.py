import math

import numpy as np
import pytest
import torch

from course_lib.methods.base import Batch, TrainData
from course_lib.train import fit
from course_lib.weak.mil import (
    MILNet,
    PatchMIL,
    box_log_prob,
    boxes_to_grid,
    choose_boxed,
    image_log_probs,
    patch_maps,
)


def test_image_probability_by_hand():
    p = torch.tensor([[[0.2, 0.5], [0.0, 0.9]]])
    # without rescaling (low=0): P(y=1) = 1 - (0.8 * 0.5 * 1.0 * 0.1)
    log_p1, log_p0 = image_log_probs(p, low=0.0)
    assert math.exp(log_p0.item()) == pytest.approx(0.8 * 0.5 * 1.0 * 0.1)
    assert math.exp(log_p1.item()) == pytest.approx(1 - 0.04)
    # with the paper's rescaling every factor q becomes 0.98 + 0.02 q
    log_p1, log_p0 = image_log_probs(p, low=0.98)
    prod = (0.98 + 0.02 * 0.8) * (0.98 + 0.02 * 0.5) * 1.0 * (0.98 + 0.02 * 0.1)
    assert math.exp(log_p0.item()) == pytest.approx(prod, rel=1e-5)
    assert math.exp(log_p1.item()) == pytest.approx(1 - prod, rel=1e-4)


def test_box_probability_by_hand():
    p = torch.tensor([[[0.2, 0.5], [0.6, 0.9]]])
    inside = torch.tensor([[[False, False], [True, True]]])
    expected = (1 - 0.2) * (1 - 0.5) * 0.6 * 0.9
    assert math.exp(box_log_prob(p, inside, low=0.0).item()) == pytest.approx(expected)
    r = [0.98 + 0.02 * q for q in (0.8, 0.5, 0.6, 0.9)]
    assert math.exp(box_log_prob(p, inside).item()) == pytest.approx(np.prod(r), rel=1e-5)


def test_stable_for_large_grids():
    # 64 x 64 = 4096 patches: the plain products underflow in float32, the log-sums do not
    p = torch.full((2, 64, 64), 0.3)
    assert torch.prod(p.flatten(1), 1).eq(0).all()  # what the naive product gives
    for low in (0.0, 0.98):
        log_p1, log_p0 = image_log_probs(p, low)
        log_box = box_log_prob(p, p > 0.5, low)
        for v in (log_p1, log_p0, log_box):
            assert torch.isfinite(v).all()
    assert log_p0[0].item() == pytest.approx(4096 * math.log(0.98 + 0.02 * 0.7), rel=1e-4)
    # almost-empty bags: P(y=1) tiny but its log finite and accurate
    log_p1, _ = image_log_probs(torch.full((1, 64, 64), 1e-6), low=0.0)
    assert log_p1.item() == pytest.approx(math.log(4096 * 1e-6), rel=1e-3)


def test_boxes_to_grid_and_choose_boxed():
    g = boxes_to_grid([np.array([[4, 0, 9, 3]]), np.zeros((0, 4))], image_size=16, P=4)
    expected = np.zeros((4, 4), bool)
    expected[1:3, 0] = True  # rows 4..8 -> cells 1, 2; cols 0..2 -> cell 0
    np.testing.assert_array_equal(g[0], expected)
    assert not g[1].any()
    y = np.array([0, 1, 1, 1, 0, 1])
    b = choose_boxed(y, 0.5, seed=0)
    assert b.sum() == 2 and np.all(y[b] == 1)
    with pytest.raises(ValueError, match="multiple"):
        boxes_to_grid([], image_size=10, P=4)


def test_loss_weights_box_term_with_lambda_bbox():
    torch.manual_seed(0)
    net = MILNet(1, (4, 8), P=4)
    X = torch.rand(4, 1, 16, 16)
    y = torch.tensor([1, 1, 0, 1])
    grids = np.zeros((4, 4, 4), bool)
    grids[0, :2, :2] = True
    boxed = np.array([True, False, False, False])
    method = PatchMIL(grids, boxed, lambda_bbox=5.0)
    method.setup(net, TrainData(X, y, 2, 1, 1))
    idx = torch.arange(4)
    batch = Batch(X, y, idx, X[:0], idx[:0], 0, 1)
    net.eval()
    loss, logs = method.loss(net, batch)
    p = net.patch_probs(X)
    log_p1, log_p0 = image_log_probs(p)
    expected = (
        -5.0 * box_log_prob(p[:1], torch.as_tensor(grids[:1]))[0]
        - log_p1[1]
        - log_p0[2]
        - log_p1[3]
    ) / 4
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert np.isfinite(logs["loss_box"]) and np.isfinite(logs["loss_image"])


def test_forward_matches_eq1_and_patch_maps():
    torch.manual_seed(0)
    net = MILNet(1, (4, 8), P=4).eval()
    x = torch.rand(3, 1, 16, 16)
    probs = torch.softmax(net(x), 1)
    log_p1, _ = image_log_probs(net.patch_probs(x))
    np.testing.assert_allclose(probs[:, 1].detach(), log_p1.exp().detach(), rtol=1e-5)
    assert patch_maps(net, x).shape == (3, 16, 16)


def test_trains_with_fit_and_validates():
    rng = np.random.default_rng(0)
    X = rng.random((16, 1, 16, 16)).astype(np.float32)
    y = np.array([0, 1] * 8)
    X[y == 1, :, 4:8, 4:8] += 2.0
    grids = boxes_to_grid([np.array([[4, 4, 8, 8]])] * 16, 16, 4)
    method = PatchMIL(grids, choose_boxed(y, 0.5, seed=0))
    torch.manual_seed(0)
    h = fit(MILNet(1, (4, 8), P=4), method, X, y, steps=5, batch_size=8, progress=False)
    assert np.isfinite(h["loss"][1:]).all()  # record 0 is before training
    with pytest.raises(ValueError, match="lambda_bbox"):
        PatchMIL(lambda_bbox=-1.0)
    with pytest.raises(ValueError, match="both"):
        PatchMIL(grids=grids)
    with pytest.raises(ValueError, match="boxed"):
        PatchMIL(grids, np.zeros(3, bool))
