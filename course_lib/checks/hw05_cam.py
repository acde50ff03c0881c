"""Homework 5 (CAM): class activation maps and map -> box."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from course_lib.checks.core import (
    CheckReport,
    Fail,
    as_array,
    call,
    close,
    gen,
    numbers,
    randn,
    run_checks,
    same_shape,
    tensor,
    untouched,
)


class _FeatureNet(nn.Module):
    """features = identity, GAP, linear classifier: ``cam(net, F)`` is the CAM of features F."""

    def __init__(self, weight: Tensor):
        super().__init__()
        self.features = nn.Identity()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.classifier.weight.copy_(weight.float())
            self.classifier.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.gap(self.features(x)).flatten(1))


def _ref_cam(features: Tensor, weight: Tensor, target: Tensor) -> np.ndarray:
    from course_lib.weak.cam import cam

    maps, _ = cam(_FeatureNet(weight), features.float(), target.numpy(), size=None)
    return maps


def check_cam(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(features, weight, target) -> maps``: the class activation map
    M_c(x, y) = sum_k w_k^c f_k(x, y) (Zhou et al. 2016, Eq. 2) of each image's target class.

    ``features`` (N, K, h, w), ``weight`` (C, K) (the linear layer after GAP), ``target`` (N,)
    class indices; returns (N, h, w) at the feature resolution.
    Reference: :func:`course_lib.weak.cam.cam` (``size=None``).
    """

    def case(seed, n=3, k=5, h=4, w=6, c=3):
        feats = torch.relu(randn(n, k, h, w, seed=seed)).float()
        weight = randn(c, k, seed=seed + 1).float()
        target = torch.randint(0, c, (n,), generator=gen(seed + 2))
        return feats, weight, target

    def run(fn, feats, weight, target, on):
        return call(fn, feats, weight, target, on=on)

    def shape(fn):
        feats, weight, target = case(80)
        same_shape(run(fn, feats, weight, target, "3 images"), (3, 4, 6), "features (3, 5, 4, 6)")

    def value(fn):
        feats, weight, target = case(81)
        on = "random features and weights"
        got = run(fn, feats, weight, target, on)
        close(
            got,
            _ref_cam(feats, weight, target),
            f"on {on}",
            rtol=1e-4,
            atol=1e-5,
            mistakes={
                "CAM weighs each feature map by the class weight w_k^c; a plain average of the "
                "maps ignores the class.": feats.mean(1),
                "use the weights of each image's own target class, weight[target], not of one "
                "class for all.": torch.einsum("k,nkhw->nhw", weight[0], feats),
                "do not apply ReLU here: CAM is the plain weighted sum.": torch.relu(
                    torch.einsum("nk,nkhw->nhw", weight[target], feats)
                ),
            },
        )

    def per_image_target(fn):
        feats, weight, _ = case(82, n=4, c=4)
        target = torch.tensor([0, 1, 2, 3])
        on = "four images, each with a different target class"
        close(run(fn, feats, weight, target, on), _ref_cam(feats, weight, target), f"for {on}")

    def linear_in_weights(fn):
        feats, weight, target = case(83)
        on = "weights multiplied by 2"
        m1 = as_array(run(fn, feats, weight, target, "random weights"))
        m2 = as_array(run(fn, feats, 2 * weight, target, on))
        if not np.allclose(m2, 2 * m1, rtol=1e-4, atol=1e-5):
            raise Fail("doubling the class weights must double the map (CAM is linear in w^c).")

    def gap_gives_logit(fn):
        # the mean of the CAM over the positions is the class score (minus the bias)
        feats, weight, target = case(84)
        maps = as_array(run(fn, feats, weight, target, "random features"))
        score = (weight[target] * feats.mean((2, 3))).sum(1).double().numpy()
        if not np.allclose(maps.mean((1, 2)), score, rtol=1e-4, atol=1e-5):
            raise Fail(
                "averaging your map over all positions must give the class score w^c . GAP(f)."
            )

    return run_checks(
        "check_cam",
        fn,
        [
            ("shape", shape),
            ("value on random features", value),
            ("each image its own class", per_image_target),
            ("linear in the class weights", linear_in_weights),
            ("mean of the map = class score", gap_gives_logit),
            (
                "inputs left unchanged",
                untouched(lambda: case(85), ["features", "weight", "target"], "random features"),
            ),
        ],
        returns=tensor(
            lambda f, *_: (len(f), *f.shape[2:]), "a torch tensor (N, h, w), one map per image"
        ),
        quiet=quiet,
    )


def _blob(shape, center, radius, height=1.0) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    d2 = (yy - center[0]) ** 2 + (xx - center[1]) ** 2
    return height * np.exp(-d2 / (2.0 * radius**2))


def check_map_to_box(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(cam_map, fraction) -> (row0, col0, row1, col1)``: the bounding box (half-open)
    of the largest connected region where the map is >= fraction x its maximum; the whole image
    when the maximum is not positive.

    Reference: :func:`course_lib.weak.cam.map_to_box`.
    """
    from scipy import ndimage

    from course_lib.weak.cam import map_to_box

    def box(fn, m, fraction, on):
        return as_array(call(fn, m, fraction, on=on), "your box")

    def one_blob(fn):
        m = _blob((20, 24), (8, 14), 2.5)
        on = "one blob"
        want = map_to_box(m, 0.2)
        got = box(fn, m, 0.2, on)
        inclusive = want - np.array([0, 0, 1, 1])
        close(
            got,
            want,
            f"for {on}",
            atol=0,
            mistakes={
                "the box is half-open: row1 and col1 are one past the last pixel (as in Python "
                "slicing m[row0:row1, col0:col1]).": inclusive
            },
        )

    def largest_region(fn):
        m = _blob((24, 30), (6, 6), 3.0) + _blob((24, 30), (16, 22), 1.5, height=0.9)
        on = "two separate blobs"
        labels, _ = ndimage.label(m >= 0.2 * m.max())
        rows, cols = np.nonzero(labels > 0)
        both = np.array([rows.min(), cols.min(), rows.max() + 1, cols.max() + 1])
        close(
            box(fn, m, 0.2, on),
            map_to_box(m, 0.2),
            f"for {on}",
            atol=0,
            mistakes={
                "keep only the largest connected region (scipy.ndimage.label), not every pixel "
                "above the threshold.": both
            },
        )

    def relative_threshold(fn):
        m = 10.0 * _blob((20, 20), (10, 9), 3.0)
        on = "a map with maximum 10"
        absolute = map_to_box(m / 10.0, 0.02)  # what m >= fraction (absolute) would select
        close(
            box(fn, m, 0.2, on),
            map_to_box(m, 0.2),
            f"for {on}",
            atol=0,
            mistakes={"the threshold is fraction x max(map), not fraction itself.": absolute},
        )

    def single_pixel(fn):
        m = np.zeros((10, 12))
        m[3, 5] = 1.0
        close(box(fn, m, 0.2, "a single bright pixel"), map_to_box(m, 0.2), "for one pixel")

    def fraction_matters(fn):
        m = _blob((30, 30), (15, 15), 4.0)
        small = box(fn, m, 0.8, "fraction = 0.8")
        large = box(fn, m, 0.1, "fraction = 0.1")
        if (small[2] - small[0]) >= (large[2] - large[0]):
            raise Fail("a higher fraction must give a smaller box; yours did not shrink.")
        close(small, map_to_box(m, 0.8), "at fraction = 0.8", atol=0)

    def non_positive(fn):
        m = -np.abs(_blob((8, 9), (4, 4), 2.0))
        close(
            box(fn, m, 0.2, "a map with no positive value"),
            np.array([0, 0, 8, 9]),
            "for a map with no positive value (expected: the whole image)",
            atol=0,
        )

    return run_checks(
        "check_map_to_box",
        fn,
        [
            ("one blob", one_blob),
            ("largest region only", largest_region),
            ("threshold relative to the maximum", relative_threshold),
            ("a single pixel", single_pixel),
            ("fraction changes the box", fraction_matters),
            ("no positive value: whole image", non_positive),
            (
                "map left unchanged",
                untouched(lambda: (_blob((9, 9), (4, 4), 2.0), 0.2), ["cam_map", None], "one blob"),
            ),
        ],
        returns=numbers(4, "4 numbers (row0, col0, row1, col1)"),
        quiet=quiet,
    )
