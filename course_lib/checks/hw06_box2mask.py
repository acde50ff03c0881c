"""Homework 6 (box to mask): Box_i labels and one round of recursive training."""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import (
    CheckReport,
    Fail,
    array,
    as_array,
    call,
    close,
    run_checks,
    untouched,
)


def _boxes_case():
    boxes = [
        np.array([[2, 3, 12, 13], [14, 20, 22, 30]]),  # two separate boxes
        np.zeros((0, 4), dtype=np.int64),  # an image without any object
        np.array([[5, 5, 21, 17]]),
    ]
    return boxes, (24, 32)


def check_box_i_labels(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(boxes, shape, inner) -> labels (n, H, W)``: Simple Does It's Box_i labels --
    the centred ``inner`` fraction of each box's area foreground (1), the rest of the box IGNORE
    (-1), every pixel outside all boxes background (0).

    Reference: :func:`course_lib.weak.box2mask.box_i_labels` (its ``inner_box`` rounding: each
    side scaled by sqrt(inner), rounded, at least 1 pixel, centred with integer division).
    """
    from course_lib.weak.box2mask import IGNORE, box_i_labels, box_labels

    def run(fn, boxes, shape, inner, on):
        return as_array(call(fn, boxes, shape, inner, on=on))

    def values_allowed(fn):
        boxes, shape = _boxes_case()
        arr = run(fn, boxes, shape, 0.2, "three images")
        bad = set(np.unique(arr).tolist()) - {IGNORE, 0, 1}
        if bad:
            raise Fail(f"labels may only be 1, 0 and {IGNORE} (ignore); found {sorted(bad)}.")

    def outside_background(fn):
        boxes, shape = _boxes_case()
        arr = run(fn, boxes, shape, 0.2, "three images")
        outside = box_labels(boxes, shape) == 0
        if np.any(arr[outside] != 0):
            raise Fail("every pixel outside all boxes must be background (0).")

    def ring_ignored(fn):
        boxes, shape = _boxes_case()
        arr = run(fn, boxes, shape, 0.2, "three images")
        want = box_i_labels(boxes, shape, 0.2)
        ring = want == IGNORE
        if np.any(arr[ring] == 0):
            raise Fail(
                "pixels of the box outside its inner part must be IGNORE (-1), not background: "
                "the object may well be there."
            )

    def area(fn):
        boxes, shape = _boxes_case()
        arr = run(fn, boxes, shape, 0.2, "three images")
        r0, c0, r1, c1 = boxes[2][0]
        frac = float((arr[2, r0:r1, c0:c1] == 1).mean())
        if not 0.15 <= frac <= 0.26:
            size = "too large" if frac > 0.26 else "too small"
            raise Fail(
                f"the foreground covers {frac:.0%} of a 16 x 12 box with inner = 0.2, {size}: "
                "scale each side by sqrt(inner) so the *area* is inner x the box area."
            )

    def exact(fn):
        boxes, shape = _boxes_case()
        for inner in (0.2, 0.5):
            close(
                run(fn, boxes, shape, inner, f"inner = {inner}"),
                box_i_labels(boxes, shape, inner),
                f"at inner = {inner} (pixel by pixel: check the centring and the rounding "
                "convention of the brief)",
                atol=0,
            )

    def whole_box(fn):
        boxes, shape = _boxes_case()
        close(
            run(fn, boxes, shape, 1.0, "inner = 1"),
            box_labels(boxes, shape),
            "at inner = 1 (the whole box must be foreground)",
            atol=0,
        )

    def overlap(fn):
        boxes = [np.array([[2, 2, 14, 14], [6, 6, 20, 20]])]
        shape = (22, 22)
        arr = run(fn, boxes, shape, 0.2, "two overlapping boxes")
        want = box_i_labels(boxes, shape, 0.2)
        if np.any((want == 1) & (arr != 1)):
            raise Fail(
                "where boxes overlap, foreground wins over ignore: write every box's ignore "
                "region first, then every inner foreground region."
            )

    return run_checks(
        "check_box_i_labels",
        fn,
        [
            ("only 1, 0, -1", values_allowed),
            ("outside the boxes: background", outside_background),
            ("box ring: ignore", ring_ignored),
            ("foreground area = inner x box area", area),
            ("pixel-exact at inner = 0.2 and 0.5", exact),
            ("inner = 1 gives the whole box", whole_box),
            ("overlapping boxes", overlap),
            (
                "boxes left unchanged",
                untouched(lambda: (*_boxes_case(), 0.2), ["boxes", None, None], "three images"),
            ),
        ],
        returns=array(
            lambda boxes, shape, _: (len(boxes), *shape),
            "a NumPy array (n, H, W) of labels 1, 0, -1",
        ),
        quiet=quiet,
    )


def _denoise_case():
    """Predictions for 2 images: a good one, one that lost an object, one that leaks outside."""
    from course_lib.weak.box2mask import box_i_labels

    shape = (20, 24)
    boxes = [np.array([[2, 2, 10, 10], [12, 14, 19, 22]]), np.array([[4, 6, 16, 18]])]
    init = box_i_labels(boxes, shape, 0.2)
    pred = np.zeros((2, *shape), dtype=np.int64)
    pred[0, 3:9, 3:9] = 1  # box 1: found (IoU 36/64 >= 0.5)
    pred[0, 13:15, 15:17] = 1  # box 2: lost (IoU 4/56 < 0.5)
    pred[0, 0:2, 20:24] = 1  # a false positive outside every box
    pred[1, 5:15, 7:17] = 1  # found (IoU 100/144)
    pred[1, 17:20, 0:5] = 1  # outside the box
    return pred, boxes, init


def check_denoise(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(pred, boxes, init_labels, iou_min) -> labels``: one round of Simple Does It's
    recursive training. Rule 1: pixels outside every box are background. Rule 2: a box whose
    predicted segment S = pred within the box covers less than ``iou_min`` of it
    (IoU(S, B) = |S| / |B|) is reset to its round-0 labels ``init_labels``.

    Reference: :func:`course_lib.weak.box2mask.denoise`.
    """
    from course_lib.weak.box2mask import box_labels, denoise

    def run(fn, pred, boxes, init, iou_min, on):
        return as_array(call(fn, pred, boxes, init, iou_min, on=on))

    def rule1(fn):
        pred, boxes, init = _denoise_case()
        arr = run(fn, pred, boxes, init, 0.5, "predictions leaking outside the boxes")
        outside = box_labels(boxes, pred.shape[1:]) == 0
        if np.any(arr[outside] != 0):
            raise Fail("rule 1: every pixel outside all boxes must become background (0).")

    def rule2_reset(fn):
        pred, boxes, init = _denoise_case()
        arr = run(fn, pred, boxes, init, 0.5, "a box whose object was lost")
        r0, c0, r1, c1 = boxes[0][1]
        got, want = arr[0, r0:r1, c0:c1], init[0, r0:r1, c0:c1]
        if np.array_equal(got, want):
            return
        if np.all(got == 0):
            raise Fail(
                "rule 2: a box with IoU(S, B) < iou_min goes back to its round-0 labels "
                "(init_labels), not to background."
            )
        raise Fail(
            "rule 2: a box whose predicted segment has IoU(S, B) < iou_min must be reset "
            "to its round-0 labels (init_labels)."
        )

    def rule2_keep(fn):
        pred, boxes, init = _denoise_case()
        arr = run(fn, pred, boxes, init, 0.5, "boxes whose object was found")
        r0, c0, r1, c1 = boxes[1][0]
        if not np.array_equal(arr[1, r0:r1, c0:c1], pred[1, r0:r1, c0:c1]):
            raise Fail(
                "a box whose prediction covers at least iou_min of it keeps the prediction "
                "(only boxes below iou_min are reset)."
            )

    def value(fn):
        pred, boxes, init = _denoise_case()
        close(
            run(fn, pred, boxes, init, 0.5, "two images"),
            denoise(pred, boxes, init, 0.5),
            "on two images with found, lost and leaking objects",
            atol=0,
        )

    def threshold(fn):
        pred, boxes, init = _denoise_case()
        for iou_min in (0.0, 0.6, 1.0):
            close(
                run(fn, pred, boxes, init, iou_min, f"iou_min = {iou_min}"),
                denoise(pred, boxes, init, iou_min),
                f"at iou_min = {iou_min} (compare |S| / |B| with iou_min: reset when it is "
                "strictly below)",
                atol=0,
            )

    def bool_pred(fn):
        pred, boxes, init = _denoise_case()
        close(
            run(fn, pred.astype(bool), boxes, init, 0.5, "a boolean pred"),
            denoise(pred, boxes, init, 0.5),
            "for a boolean pred",
            atol=0,
        )

    return run_checks(
        "check_denoise",
        fn,
        [
            ("rule 1: background outside the boxes", rule1),
            ("rule 2: a lost object is reset", rule2_reset),
            ("rule 2: a found object is kept", rule2_keep),
            ("value on two images", value),
            ("iou_min = 0, 0.6, 1", threshold),
            ("boolean predictions", bool_pred),
            (
                "inputs left unchanged",
                untouched(
                    lambda: (*_denoise_case(), 0.5),
                    ["pred", "boxes", "init_labels", None],
                    "two images",
                ),
            ),
        ],
        returns=array(
            lambda pred, *_: np.shape(pred), "a NumPy array shaped like pred, of labels 1, 0, -1"
        ),
        quiet=quiet,
    )
