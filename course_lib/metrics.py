"""Evaluation metrics of the course, each a small NumPy function with its formula in the docstring.

Sections: classification, localization (chapter 07), segmentation (chapter 08). Add new metrics
to the section they belong to.
"""

from __future__ import annotations

import numpy as np

# --- classification ---------------------------------------------------------------------------


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions; unlabeled entries (-1) in ``y_true`` are ignored."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}.")
    keep = y_true != -1
    if not keep.any():
        raise ValueError("y_true has no labeled entries to score.")
    return float(np.mean(y_true[keep] == y_pred[keep]))


# --- localization (chapter 07) ----------------------------------------------------------------
# Boxes are (row0, col0, row1, col1) with half-open ends, as course_lib.data.lesions returns them.


def box_iou(a, b) -> np.ndarray:
    """Intersection over union of boxes ``a`` (..., 4) and ``b`` (..., 4), broadcast.

    IoU = |A n B| / |A u B| with |box| = (row1 - row0) (col1 - col0); 0 when both are empty.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape[-1:] != (4,) or b.shape[-1:] != (4,):
        raise ValueError(f"boxes must have a last axis of 4; got {a.shape} and {b.shape}.")
    h = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    w = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = h * w

    def area(x):
        return np.clip(x[..., 2] - x[..., 0], 0, None) * np.clip(x[..., 3] - x[..., 1], 0, None)

    union = area(a) + area(b) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def best_box_iou(pred_boxes, gt_boxes) -> np.ndarray:
    """For each image, the IoU of its predicted box (N, 4) with the best-matching true box.

    ``gt_boxes`` is a list of N arrays (k_i, 4); an image without true boxes gives NaN.
    """
    pred = np.asarray(pred_boxes, dtype=float).reshape(-1, 4)
    if len(gt_boxes) != pred.shape[0]:
        raise ValueError(f"{pred.shape[0]} predicted boxes but {len(gt_boxes)} images of boxes.")
    out = np.full(pred.shape[0], np.nan)
    for i, gt in enumerate(gt_boxes):
        gt = np.asarray(gt, dtype=float).reshape(-1, 4)
        if gt.shape[0]:
            out[i] = box_iou(pred[i], gt).max()
    return out


def localization_accuracy(pred_boxes, gt_boxes, threshold: float = 0.5) -> float:
    """Fraction of images (with at least one true box) whose predicted box has IoU >= threshold
    with one of the true boxes (the "IoU >= 0.5" localization accuracy of CAM and Li et al.)."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1]; got {threshold!r}.")
    ious = best_box_iou(pred_boxes, gt_boxes)
    ious = ious[~np.isnan(ious)]
    if ious.size == 0:
        raise ValueError("gt_boxes holds no box; score only images with a lesion.")
    return float(np.mean(ious >= threshold))


def pointing_game(maps, masks, tolerance: int = 0) -> float:
    """Fraction of maps whose maximum lies on the object (Zhang et al. 2016, "pointing game").

    ``maps`` (N, H, W); ``masks`` (N, H, W), nonzero = object. ``tolerance`` (pixels) dilates
    each mask first (the original game allows 15 pixels at 224 x 224). Images whose mask is
    empty are skipped.
    """
    maps, masks = np.asarray(maps), np.asarray(masks) > 0
    if maps.ndim != 3 or maps.shape != masks.shape:
        raise ValueError(f"maps and masks must both be (N, H, W); got {maps.shape}, {masks.shape}.")
    if tolerance:
        from scipy import ndimage

        masks = ndimage.binary_dilation(masks, np.ones((1, 3, 3), bool), iterations=tolerance)
    keep = masks.any(axis=(1, 2))
    if not keep.any():
        raise ValueError("every mask is empty; score only images with a lesion.")
    flat = maps[keep].reshape(int(keep.sum()), -1).argmax(1)
    return float(masks[keep].reshape(int(keep.sum()), -1)[np.arange(flat.size), flat].mean())


def deletion_curve(predict, images, maps, *, steps: int = 20, fill=None):
    """Confidence as the most relevant pixels (by ``maps``) are deleted: a faithfulness curve.

    At fraction f = 0, 1/steps, ..., 1, the f x H x W pixels with the highest map values of each
    image are replaced by ``fill`` (default: each image's mean) and ``predict`` is evaluated.
    A faithful map makes the confidence drop fast (small area under the curve); compare with
    random maps (Petsiuk et al. 2018, "RISE", arXiv:1806.07421, deletion metric).

    Parameters
    ----------
    predict : callable
        ``predict(images) -> (N,)`` confidence of the class the maps explain.
    images : array (N, C, H, W)
    maps : array (N, H, W)
    steps : int
        Number of deletion steps.
    fill : float or None
        Value written into deleted pixels; None = the image's mean intensity.

    Returns
    -------
    fractions : array (steps + 1,); confidence : array (steps + 1,) mean over images;
    auc : float, the trapezoidal area under the mean curve.
    """
    images, maps = np.asarray(images, dtype=np.float32), np.asarray(maps)
    if images.ndim != 4 or maps.shape != (images.shape[0], *images.shape[2:]):
        raise ValueError(
            f"images must be (N, C, H, W) and maps (N, H, W); got {images.shape}, {maps.shape}."
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1; got {steps!r}.")
    n, n_pix = maps.shape[0], maps[0].size
    order = np.argsort(-maps.reshape(n, -1), axis=1, kind="stable")  # most relevant first
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n_pix)[None].repeat(n, 0), axis=1)
    rank = rank.reshape(n, 1, *maps.shape[1:])
    value = images.mean(axis=(1, 2, 3), keepdims=True) if fill is None else np.float32(fill)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    conf = []
    for f in fractions:
        deleted = rank < int(round(f * n_pix))
        conf.append(float(np.mean(predict(np.where(deleted, value, images).astype(np.float32)))))
    conf = np.asarray(conf)
    auc = float(np.sum((conf[1:] + conf[:-1]) / 2 * np.diff(fractions)))
    return fractions, conf, auc


# --- segmentation (chapter 08) ----------------------------------------------------------------


def _binary_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(y_true), np.asarray(y_pred)
    if a.shape != b.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {a.shape} vs {b.shape}.")
    if a.size == 0:
        raise ValueError("y_true is empty; pass at least one pixel.")
    return a > 0, b > 0


def dice(y_true, y_pred, *, per_image: bool = False):
    """Dice coefficient of two binary masks (non-zero = foreground):

        Dice(A, B) = 2 |A ∩ B| / (|A| + |B|),   defined as 1 when both are empty.

    With ``per_image=True`` the first axis indexes images and an array of one Dice per image is
    returned (average it for the usual "mean Dice"); otherwise all pixels are pooled.
    """
    a, b = _binary_pair(y_true, y_pred)
    axes = tuple(range(1, a.ndim)) if per_image else None
    inter = np.sum(a & b, axis=axes)
    total = np.sum(a, axis=axes) + np.sum(b, axis=axes)
    out = np.where(total > 0, 2.0 * inter / np.maximum(total, 1), 1.0)
    return out.astype(float) if per_image else float(out)


def hd95(y_true, y_pred, *, per_image: bool = False):
    """95th-percentile Hausdorff distance (pixels) between the boundaries of two binary masks.

    With ∂A the boundary pixels of A (foreground pixels with a background 4-neighbour, the
    image's outside counting as background) and d(a, ∂B) the Euclidean distance from a to the
    nearest pixel of ∂B,

        HD95(A, B) = max( P95{ d(a, ∂B) : a in ∂A },  P95{ d(b, ∂A) : b in ∂B } ),

    the symmetric 95th percentile that segmentation papers report beside Dice: Dice measures
    overlap and barely moves when a small false blob lies far from the object, HD95 measures how
    far apart the boundaries are; the percentile (instead of the maximum) keeps a single stray
    pixel from dominating it. Same definition as
    MONAI's ``HausdorffDistanceMetric(percentile=95)`` (cross-checked in the tests). Both masks
    empty: 0; one empty: ``inf``. ``per_image`` as in :func:`dice` (one distance per image).
    """
    from scipy import ndimage

    a, b = _binary_pair(y_true, y_pred)
    if per_image:
        return np.array([hd95(ai, bi) for ai, bi in zip(a, b, strict=True)], dtype=float)
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return float("inf")

    def boundary(m):
        padded = np.pad(m, 1)  # the outside of the image is background
        return (padded & ~ndimage.binary_erosion(padded))[(slice(1, -1),) * m.ndim]

    edge_a, edge_b = boundary(a), boundary(b)
    d_to_b = ndimage.distance_transform_edt(~edge_b)[edge_a]
    d_to_a = ndimage.distance_transform_edt(~edge_a)[edge_b]
    return float(max(np.percentile(d_to_b, 95), np.percentile(d_to_a, 95)))


def iou(y_true, y_pred, *, per_image: bool = False):
    """Intersection over union (Jaccard index) of two binary masks:

        IoU(A, B) = |A ∩ B| / |A ∪ B| = Dice / (2 - Dice),   defined as 1 when both are empty.

    ``per_image`` as in :func:`dice`.
    """
    a, b = _binary_pair(y_true, y_pred)
    axes = tuple(range(1, a.ndim)) if per_image else None
    inter = np.sum(a & b, axis=axes)
    union = np.sum(a | b, axis=axes)
    out = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return out.astype(float) if per_image else float(out)
