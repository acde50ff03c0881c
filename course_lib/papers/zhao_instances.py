"""Instance segmentation from boxes for all instances and masks for a few: two stages.

Zhao, Yang, Zheng, Guldner, Zhang, Chen, *Deep Learning Based Instance Segmentation in 3D
Biomedical Images Using Weak Annotation*, MICCAI 2018 (LNCS 11073), arXiv:1806.11137,
doi:10.1007/978-3-030-00937-3_41.

The paper's annotation: a 3-D bounding box for **every** instance, a full voxel mask for a small
fraction of them. Its model has two stages (the paper's Fig. 3, "the flow of our method"):

1. an **object detector**, trained on all boxes, finds every instance;
2. a **voxel segmentation model** segments each detected instance inside its box crop (resized to a
   fixed size), trained only on the instances that carry a mask: a *mask-weight layer* sets the
   weight of every instance without a mask to zero, so nothing is back-propagated from it.

This file is the 2-D teaching version of chapter 08 (synthetic nuclei, ``data.cells``):

- **stage 1 is not learned here**: :func:`segment_instances` takes the given (true) boxes, as if
  the detector were perfect. The comparison with chapter 08's semantic network uses the same boxes,
  so it measures stage 2 and the mask-weighted training only;
- **stage 2**: :func:`crop_instances` cuts each box (plus a margin) out of its image and resizes it
  to ``size x size``; a small U-Net (:func:`mask_head`) predicts the instance's mask in the crop;
  :func:`mask_weighted_loss` is the mask-weight layer; :func:`train_mask_head` is a front of the
  course's one training engine (``train.prepare`` + ``train.minimize``); :func:`paste_instances`
  resizes each predicted crop back into its box;
- evaluation per instance (:func:`instance_scores`): each true instance is matched one-to-one to a
  predicted instance (Hungarian matching on IoU), its IoU and Dice with it are averaged over all
  true instances (0 for an unmatched one). :func:`semantic_to_instances` turns a *semantic*
  foreground map into one instance per box, so that chapter 08's networks are scored the same way.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib._validation import check_number, check_positive_int, check_X
from course_lib.models import TinyUNet
from course_lib.train import History, IndexStream, minimize, predict, prepare
from course_lib.weak.box2mask import check_boxes


def _check_instances(instances, n: int | None = None, name: str = "instances") -> np.ndarray:
    arr = np.asarray(instances)
    if arr.ndim != 3 or not np.issubdtype(arr.dtype, np.integer) or (arr < 0).any():
        raise ValueError(
            f"{name} must be instance maps (n, H, W) of integers (0 background, k = instance k); "
            f"got shape {arr.shape}, dtype {arr.dtype}."
        )
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} maps but there are {n} images.")
    return arr.astype(np.int64)


def padded_box(box, shape, pad: int) -> tuple[int, int, int, int]:
    """``box`` (r0, c0, r1, c1) grown by ``pad`` pixels on each side, clipped to the image."""
    r0, c0, r1, c1 = (int(v) for v in box)
    H, W = shape
    return max(0, r0 - pad), max(0, c0 - pad), min(H, r1 + pad), min(W, c1 + pad)


def crop_instances(images, boxes, instances=None, *, size: int = 24, pad: int = 2):
    """Stage 2's input: every box of every image, cut out with a margin and resized.

    Parameters
    ----------
    images : array (n, 1, H, W)
    boxes : list of (K_i, 4) int arrays
        Row k of ``boxes[i]`` is instance k + 1 of image i (``data.cells``' convention).
    instances : int array (n, H, W), optional
        Instance maps; when given, the target of each crop is *its own* instance (a touching
        neighbour inside the crop is background).
    size : int
        Side of the resized crop (the paper's fixed input size of the segmentation model).
    pad : int
        Margin in pixels around each box (context for the boundary).

    Returns
    -------
    crops : float32 array (N, 1, size, size)
        Bilinear resize of each padded box.
    targets : int64 array (N, size, size) or None
        Nearest-neighbour resize of the instance's mask.
    index : int array (N, 6)
        ``(image, instance k, r0, c0, r1, c1)`` of each crop (the padded box), for pasting back.
    """
    X = check_X(images, name="images", ndim=(4,))
    n, _, H, W = X.shape
    boxes = check_boxes(boxes, n, (H, W))
    size = check_positive_int(size, "size", minimum=4)
    pad = check_positive_int(pad, "pad", minimum=0)
    inst = None if instances is None else _check_instances(instances, n)
    crops, targets, index = [], [], []
    for i, bx in enumerate(boxes):
        for k, box in enumerate(bx):
            r0, c0, r1, c1 = padded_box(box, (H, W), pad)
            patch = torch.as_tensor(X[i : i + 1, :, r0:r1, c0:c1])
            crops.append(F.interpolate(patch, (size, size), mode="bilinear", align_corners=False))
            if inst is not None:
                own = torch.as_tensor(inst[i, r0:r1, c0:c1] == k + 1, dtype=torch.float32)
                targets.append(F.interpolate(own[None, None], (size, size), mode="nearest")[0, 0])
            index.append((i, k, r0, c0, r1, c1))
    crops_np = torch.cat(crops).numpy() if crops else np.zeros((0, 1, size, size), np.float32)
    targets_np = None if inst is None else np.stack([t.numpy() for t in targets]).astype(np.int64)
    return crops_np, targets_np, np.asarray(index, dtype=np.int64).reshape(-1, 6)


def mask_head(widths=(8, 16)) -> nn.Module:
    """Stage 2's segmentation model: a small U-Net on the resized crop (2 logits per pixel)."""
    return TinyUNet(widths=widths)


def mask_weighted_loss(logits: Tensor, targets: Tensor, weights: Tensor) -> Tensor:
    """The mask-weight layer (Fig. 3): per-instance cross-entropy, weighted by w_k in {0, 1},

        L = sum_k w_k * CE_k / max(1, sum_k w_k),   CE_k = mean over the crop's pixels,

    with w_k = 1 where instance k has a mask. An instance without one (w_k = 0) adds nothing to
    the value or the gradient, whatever its (unknown) target holds.
    """
    per_pixel = F.cross_entropy(logits, targets.clamp_min(0), reduction="none")  # (B, S, S)
    per_instance = per_pixel.flatten(1).mean(1)  # CE_k
    w = weights.to(per_instance.dtype)
    return (w * per_instance).sum() / w.sum().clamp_min(1.0)


def train_mask_head(
    model: nn.Module,
    crops,
    targets,
    weights,
    *,
    steps: int = 150,
    batch_size: int = 32,
    lr: float = 1e-2,
    seed: int = 0,
    device=None,
    **options,
) -> History:
    """Train stage 2 in place on the crops, with the mask-weighted loss.

    A front of the course's training engine: :func:`course_lib.train.prepare` seeds and moves the
    model, :func:`course_lib.train.minimize` runs AdamW (cosine decay by default) and returns the
    :class:`~course_lib.train.History`. Each step draws ``batch_size`` crops *among those with
    w_k = 1* (a batch of w = 0 crops would give a zero loss and waste the step: the weighted loss
    of the drawn batch is the paper's, without the empty steps) and applies the same random
    90-degree rotation and flip to the crops and their targets.

    Parameters
    ----------
    crops : array (N, 1, S, S); targets : int array (N, S, S); weights : array (N,) of {0, 1}
        From :func:`crop_instances`; ``weights`` marks the instances with a mask.
    steps, batch_size, lr, seed, device, **options
        As in ``box2mask.train_segmentation`` (``options`` go to ``train.minimize``).
    """
    from course_lib.weak.box2mask import _augment

    X = check_X(crops, name="crops", ndim=(4,))
    y = np.asarray(targets)
    if y.shape != (X.shape[0], *X.shape[2:]):
        raise ValueError(f"targets must have shape {(X.shape[0], *X.shape[2:])}; got {y.shape}.")
    w = np.asarray(weights)
    if w.shape != (X.shape[0],) or not np.isin(w, (0, 1)).all():
        raise ValueError(f"weights must be ({X.shape[0]},) zeros and ones (1 = has a mask).")
    if not w.any():
        raise ValueError("weights are all 0: stage 2 needs at least one instance with a mask.")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_number(lr, "lr", low=0.0, low_inclusive=False)
    options.setdefault("cosine", True)
    dev = prepare(model, seed=seed, device=device)
    Xt = torch.as_tensor(X, device=dev)
    yt = torch.as_tensor(y.astype(np.int64), device=dev)
    wt = torch.as_tensor(w.astype(np.float32), device=dev)
    gen = torch.Generator().manual_seed(seed)
    stream = IndexStream(torch.as_tensor(np.flatnonzero(w)), batch_size, gen)

    def step_loss(step: int) -> tuple[Tensor, dict[str, float]]:
        idx = stream.next().to(dev)
        x, t = _augment(Xt[idx], yt[idx], gen)
        return mask_weighted_loss(model(x), t, wt[idx]), {}

    return minimize(model, step_loss, steps, lr=lr, name="mask head", **options)


def paste_instances(probs, index, shape, n: int, threshold: float = 0.5) -> np.ndarray:
    """Stage 2's output back in the images: each crop's foreground probability is resized to its
    padded box and pasted; a pixel goes to the instance with the highest probability there, if
    that is above ``threshold``. Returns instance maps (n, H, W) (instance k + 1 = box k)."""
    H, W = shape
    best = np.zeros((n, H, W), np.float32)
    out = np.zeros((n, H, W), np.int64)
    for p, (i, k, r0, c0, r1, c1) in zip(probs, index, strict=True):
        up = F.interpolate(torch.as_tensor(p)[None, None], (r1 - r0, c1 - c0), mode="bilinear",
                           align_corners=False)[0, 0].numpy()  # fmt: skip
        win, cur = best[i, r0:r1, c0:c1], out[i, r0:r1, c0:c1]
        take = (up > threshold) & (up > win)
        win[take], cur[take] = up[take], k + 1
    return out


def segment_instances(model: nn.Module, images, boxes, *, size: int = 24, pad: int = 2):
    """Both stages at test time, with the given boxes as stage 1 (a perfect detector):
    crop every box, predict its mask with ``model``, paste the masks back (instance maps)."""
    crops, _, index = crop_instances(images, boxes, size=size, pad=pad)
    probs = predict(model, crops, forward=lambda x: torch.softmax(model(x), 1)[:, 1])
    X = np.asarray(images)
    return paste_instances(probs, index, X.shape[2:], X.shape[0])


def semantic_to_instances(foreground, boxes) -> np.ndarray:
    """A semantic network's foreground (n, H, W) as one instance per box, for a fair per-instance
    comparison: instance k + 1 is the foreground inside box k; a pixel inside several boxes goes to
    the box whose centre is nearest (in units of the box's half-sides)."""
    fg = np.asarray(foreground) > 0
    if fg.ndim != 3:
        raise ValueError(f"foreground must be (n, H, W); got shape {fg.shape}.")
    n, H, W = fg.shape
    boxes = check_boxes(boxes, n, (H, W))
    rr, cc = np.mgrid[0:H, 0:W]
    out = np.zeros((n, H, W), np.int64)
    for i, bx in enumerate(boxes):
        nearest = np.full((H, W), np.inf)
        for k, (r0, c0, r1, c1) in enumerate(bx):
            d = np.maximum(np.abs(rr - (r0 + r1 - 1) / 2) / max(1, r1 - r0),
                           np.abs(cc - (c0 + c1 - 1) / 2) / max(1, c1 - c0))  # fmt: skip
            inside = np.zeros((H, W), bool)
            inside[r0:r1, c0:c1] = True
            take = inside & fg[i] & (d < nearest)
            out[i][take], nearest[take] = k + 1, d[take]
    return out


def instance_scores(true_instances, pred_instances) -> dict[str, np.ndarray]:
    """Per true instance: IoU and Dice with the predicted instance matched to it.

    In each image the true and predicted instances are matched one-to-one by the Hungarian
    algorithm on their IoU (``scipy.optimize.linear_sum_assignment``); an unmatched true instance
    (or one matched with IoU 0) scores 0. Returns ``{"iou": (N,), "dice": (N,)}`` over all true
    instances of all images: the means are the *matched IoU* and the *instance Dice*.
    """
    from scipy.optimize import linear_sum_assignment

    t = _check_instances(true_instances, name="true_instances")
    p = _check_instances(pred_instances, t.shape[0], name="pred_instances")
    if p.shape != t.shape:
        raise ValueError(f"pred_instances has shape {p.shape} but true_instances {t.shape}.")
    ious, dices = [], []
    for ti, pi in zip(t, p, strict=True):
        kt, kp = np.unique(ti[ti > 0]), np.unique(pi[pi > 0])
        if kt.size == 0:
            continue
        iou = np.zeros((kt.size, max(1, kp.size)))
        area_t = np.array([(ti == a).sum() for a in kt])
        area_p = np.array([(pi == b).sum() for b in kp])
        for a_i, a in enumerate(kt):
            for b_i, b in enumerate(kp):
                inter = np.logical_and(ti == a, pi == b).sum()
                iou[a_i, b_i] = inter / (area_t[a_i] + area_p[b_i] - inter)
        rows, cols = linear_sum_assignment(-iou)
        best = np.zeros(kt.size)
        best[rows] = iou[rows, cols]
        ious.append(best)
        dices.append(2 * best / (1 + best))  # Dice = 2 IoU / (1 + IoU) for the same pair
    return {"iou": np.concatenate(ious), "dice": np.concatenate(dices)}
