"""Chapter 08's checked exercises (box labels, Zhao et al.'s mask-weight layer), with solutions.

- Exercise 08.1: the **Box_i** labels of one image (Khoreva et al., *Simple Does It*): the centred
  inner box with ``inner`` of the box's area is foreground (1), the rest of the box ignore (-1),
  every pixel outside all boxes background (0); where boxes overlap, foreground wins.
- Exercise 08.2: the **mask-weight layer** of Zhao et al. (MICCAI 2018, Fig. 3): a per-instance
  cross-entropy (mean over the crop's pixels) weighted by w_k in {0, 1}, divided by sum_k w_k, so
  that an instance without a mask adds nothing, not even a gradient.

Each ``check_ex08_k(answer)`` runs :func:`course_lib.checks.core.exercise`: ``None`` or a stub
that raises ``NotImplementedError`` prints the hint; a wrong answer fails with the hint.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from course_lib.checks.core import (
    CheckReport,
    Fail,
    array,
    as_array,
    call,
    close,
    exercise,
    gen,
    tensor,
    untouched,
)

# --- Exercise 08.1: Box_i labels ---------------------------------------------------------------


def solution_ex08_1(boxes: np.ndarray, shape: tuple[int, int], inner: float = 0.2) -> np.ndarray:
    """Solution sketch: start from zeros; mark every box ignore (-1); then, for each box, the
    centred box whose sides are the box's times sqrt(inner) (area times ``inner``), rounded, at
    least one pixel, is foreground (1) -- written after all the ignore rings, so it wins."""
    labels = np.zeros(shape, dtype=np.int64)
    for r0, c0, r1, c1 in boxes:
        labels[r0:r1, c0:c1] = -1
    s = math.sqrt(inner)
    for r0, c0, r1, c1 in boxes:
        h, w = max(1, round((r1 - r0) * s)), max(1, round((c1 - c0) * s))
        top, left = r0 + ((r1 - r0) - h) // 2, c0 + ((c1 - c0) - w) // 2
        labels[top : top + h, left : left + w] = 1
    return labels


def _box_i_wrong(boxes, shape, inner, *, side=None, ring=-1):
    """A typical mistake: sides scaled by ``side(inner)`` instead of sqrt, or the ring set to
    ``ring`` instead of -1."""
    labels = np.zeros(shape, dtype=np.int64)
    for r0, c0, r1, c1 in boxes:
        labels[r0:r1, c0:c1] = ring
    s = math.sqrt(inner) if side is None else side(inner)
    for r0, c0, r1, c1 in boxes:
        h, w = max(1, round((r1 - r0) * s)), max(1, round((c1 - c0) * s))
        top, left = r0 + ((r1 - r0) - h) // 2, c0 + ((c1 - c0) - w) // 2
        labels[top : top + h, left : left + w] = 1
    return labels


_BOXES = np.array([[2, 3, 14, 13], [18, 20, 30, 30], [5, 22, 11, 31]])


def check_ex08_1(answer) -> CheckReport | None:
    """``answer(boxes, shape, inner) -> labels``: boxes (K, 4) of ``(r0, c0, r1, c1)`` (end
    exclusive), shape (H, W); int labels (H, W) in {-1, 0, 1}."""

    def value(fn):
        on = "three boxes in a 32 x 32 image, inner = 0.2"
        got = call(fn, _BOXES, (32, 32), 0.2, on=on)
        close(
            got,
            solution_ex08_1(_BOXES, (32, 32), 0.2),
            f"on {on}",
            atol=0,
            rtol=0,
            mistakes={
                "inner is a fraction of the box's AREA: scale each side by sqrt(inner).": (
                    _box_i_wrong(_BOXES, (32, 32), 0.2, side=lambda f: f)
                ),
                "the ring between the inner box and the box is IGNORE (-1), not background.": (
                    _box_i_wrong(_BOXES, (32, 32), 0.2, ring=0)
                ),
                "that is Box (the whole box is foreground); Box_i keeps only the inner box.": (
                    _box_i_wrong(_BOXES, (32, 32), 1.0)
                ),
            },
        )

    def overlap(fn):
        boxes = np.array([[4, 4, 20, 20], [8, 8, 12, 12]])  # the second box inside the first
        on = "a small box inside a large one, inner = 0.25"
        got = call(fn, boxes, (24, 24), 0.25, on=on)
        want = solution_ex08_1(boxes, (24, 24), 0.25)
        close(got, want, f"on {on}: foreground wins over a ring", atol=0, rtol=0)

    def whole(fn):
        got = as_array(call(fn, _BOXES[:1], (16, 16), 1.0, on="one box, inner = 1"))
        want = np.zeros((16, 16))
        want[2:14, 3:13] = 1
        if got.shape != want.shape or not np.array_equal(got, want):
            raise Fail("with inner = 1 the inner box is the box itself: every box pixel is 1.")

    return exercise(
        "Exercise 08.1 (Box_i labels)",
        answer,
        [
            ("value on three boxes", value),
            ("overlapping boxes", overlap),
            ("inner = 1 gives the filled box", whole),
            (
                "inputs left unchanged",
                untouched(
                    lambda: (_BOXES.copy(), (32, 32), 0.2), ["boxes", None, None], "three boxes"
                ),
            ),  # fmt: skip
        ],
        hint="labels = zeros(shape); every box -> -1; then each box's centred inner box, sides "
        "round(h * sqrt(inner)) and round(w * sqrt(inner)) (at least 1), "
        "top = r0 + (h - h_i) // 2, -> 1 (after all the rings, so foreground wins).",
        returns=array(lambda boxes, shape, inner: tuple(shape), "an (H, W) label map"),
    )


# --- Exercise 08.2: the mask-weight layer -------------------------------------------------------


def solution_ex08_2(logits: Tensor, targets: Tensor, weights: Tensor) -> Tensor:
    """Solution sketch: cross-entropy per pixel (``reduction="none"``), averaged over each crop's
    pixels (CE_k), weighted by w_k and divided by sum_k w_k (at least 1): an instance with
    w_k = 0 contributes nothing to the value or to the gradient."""
    per_pixel = F.cross_entropy(logits, targets, reduction="none")
    per_instance = per_pixel.flatten(1).mean(1)
    w = weights.to(per_instance.dtype)
    return (w * per_instance).sum() / w.sum().clamp_min(1.0)


def _batch(seed: int, n: int = 6, s: int = 5):
    g = gen(seed)
    logits = torch.randn(n, 2, s, s, generator=g, dtype=torch.float64)
    targets = torch.randint(0, 2, (n, s, s), generator=g)
    weights = torch.tensor([1, 0, 1, 0, 0, 1][:n], dtype=torch.float64)
    return logits, targets, weights


def check_ex08_2(answer) -> CheckReport | None:
    """``answer(logits, targets, weights) -> loss``: logits (N, 2, S, S), targets (N, S, S) in
    {0, 1}, weights (N,) in {0, 1}; one number (a 0-d tensor)."""

    def value(fn):
        logits, targets, weights = _batch(800)
        on = "6 crops of 5 x 5, three with a mask"
        per = F.cross_entropy(logits, targets, reduction="none").flatten(1).mean(1)
        close(
            call(fn, logits, targets, weights, on=on),
            solution_ex08_2(logits, targets, weights),
            f"on {on}",
            mistakes={
                "divide by the number of instances WITH a mask (sum of w), not by all N.": (
                    (weights * per).sum() / len(per)
                ),
                "an instance without a mask must not count: weight each CE_k by w_k.": per.mean(),
                "average each crop's pixels first (CE_k), then weight: you summed the pixels.": (
                    (weights * per * 25).sum() / weights.sum()
                ),
            },
        )

    def no_gradient_without_mask(fn):
        logits, targets, weights = _batch(802)
        logits.requires_grad_(True)
        loss = call(fn, logits, targets, weights, on="6 crops, three with a mask", copy=False)
        if not loss.requires_grad:
            raise Fail("no gradient reaches the logits: keep the loss a tensor of the logits.")
        (grad,) = torch.autograd.grad(loss, logits, allow_unused=True)
        if grad is None:
            raise Fail("no gradient reaches the logits: keep the loss a tensor of the logits.")
        if grad[weights == 0].abs().max() > 0:
            raise Fail("the crops with w_k = 0 receive a gradient: they must add nothing.")
        if grad[weights == 1].abs().max() == 0:
            raise Fail("the crops with a mask receive no gradient.")

    def unknown_targets(fn):
        logits, targets, weights = _batch(804)
        other = targets.clone()
        other[weights == 0] = 1 - other[weights == 0]  # change what the unmasked crops "say"
        a = as_array(call(fn, logits, targets, weights, on="6 crops"))
        b = as_array(call(fn, logits, other, weights, on="the same, unmasked targets flipped"))
        if not np.allclose(a, b):
            raise Fail("the loss changes with the targets of crops without a mask.")

    return exercise(
        "Exercise 08.2 (mask-weight layer)",
        answer,
        [
            ("value on six crops", value),
            ("no gradient into crops without a mask", no_gradient_without_mask),
            ("unmasked targets do not matter", unknown_targets),
            (
                "inputs left unchanged",
                untouched(lambda: _batch(806), ["logits", "targets", "weights"], "6 crops"),
            ),  # fmt: skip
        ],
        hint="per = F.cross_entropy(logits, targets, reduction='none').flatten(1).mean(1) is CE_k; "
        "return (weights * per).sum() / weights.sum().clamp_min(1).",
        returns=tensor(lambda logits, targets, weights: (), "one loss value (a 0-d tensor)"),
    )
