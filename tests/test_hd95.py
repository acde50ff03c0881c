"""HD95 (metrics.hd95) by hand and against MONAI's HausdorffDistanceMetric(percentile=95)."""

import numpy as np
import pytest

from course_lib.metrics import dice, hd95


def _disk(n, cy, cx, r):
    yy, xx = np.mgrid[:n, :n]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2


def test_hd95_by_hand():
    a = np.zeros((20, 20), bool)
    a[5:10, 5:10] = True
    assert hd95(a, a) == 0.0
    b = np.roll(a, 3, axis=1)  # the same square moved 3 pixels right
    assert hd95(a, b) == pytest.approx(3.0)
    assert hd95(np.zeros_like(a), np.zeros_like(a)) == 0.0
    assert hd95(a, np.zeros_like(a)) == float("inf")
    # a false blob far away: Dice stays high, HD95 jumps; a single stray pixel is ignored
    c = a.copy()
    c[15:19, 15:19] = True
    assert dice(a, c) > 0.75 and hd95(a, c) > 8.0
    d = a.copy()
    d[19, 19] = True
    assert hd95(a, d) < 3.0
    np.testing.assert_allclose(hd95(np.stack([a, a]), np.stack([a, b]), per_image=True), [0, 3])
    with pytest.raises(ValueError, match="shape"):
        hd95(a, a[:5])


def test_hd95_agrees_with_monai():
    torch = pytest.importorskip("torch")
    metrics = pytest.importorskip("monai.metrics")
    rng = np.random.default_rng(0)
    preds, gts = [], []
    for _ in range(6):
        gt = _disk(48, *rng.integers(12, 36, 2), rng.integers(4, 10))
        pred = _disk(48, *rng.integers(12, 36, 2), rng.integers(4, 10)) | (
            rng.random((48, 48)) > 0.995
        )
        preds.append(pred)
        gts.append(gt)
    # an object touching the image border
    gts.append(_disk(48, 2, 24, 8))
    preds.append(_disk(48, 4, 26, 7))
    ours = hd95(np.stack(gts), np.stack(preds), per_image=True)
    monai = metrics.HausdorffDistanceMetric(percentile=95)(
        torch.as_tensor(np.stack(preds))[:, None].float(),
        torch.as_tensor(np.stack(gts))[:, None].float(),
    )
    np.testing.assert_allclose(ours, monai.numpy().ravel(), rtol=1e-6, atol=1e-6)
