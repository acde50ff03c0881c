"""Box-to-mask: segmentation learned from bounding boxes, recursively, and with a few masks.

* Khoreva, Benenson, Hosang, Hein, Schiele, *Simple Does It: Weakly Supervised Instance and
  Semantic Segmentation*, CVPR 2017 (arXiv:1603.07485): training labels built from boxes
  (**Box**, **Box_i**, a GrabCut-like image prior) and **recursive training** in which each
  round's predictions, denoised by two rules, are the next round's labels.
* Zhao, Yang, Zheng, Guldner, Zhang, Chen, *Deep Learning Based Instance Segmentation in 3D
  Biomedical Images Using Weak Annotation*, MICCAI 2018 (arXiv:1806.11137): boxes for every
  instance plus full masks for a few.
* Shah, Merchant, Awate, *MS-Net: Mixed-Supervision Fully-Convolutional Networks for
  Full-Resolution Segmentation*, MICCAI 2018 (LNCS 11073): a loss mixing strong (mask) and
  weak labels and a **bootstrapped Dice** computed over the hardest pixels only.

Label maps are int64 arrays (n, H, W) with 1 = foreground, 0 = background and ``IGNORE = -1``
for pixels that carry no label (the course's ``-1 = unlabeled`` convention, pixel by pixel).
Boxes are, per image, int arrays (K, 4) of ``(r0, c0, r1, c1)`` (end exclusive), as made by
``course_lib.data.cells``.

Why not ``course_lib.train.fit``: ``fit`` checks that ``y`` holds one class label per example
and samples labeled examples by class; a segmentation label is an (H, W) map with ignored
pixels. :func:`train_segmentation` is another front of the same engine
(:func:`course_lib.train.prepare` and :func:`course_lib.train.minimize`): it only draws the batch of
label maps, augments it and computes the loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib import seed_everything
from course_lib._validation import check_number, check_positive_int, check_seed, check_X
from course_lib.train import History, IndexStream, minimize, predict, prepare

IGNORE = -1


# --- input checks -----------------------------------------------------------------------------


def check_boxes(boxes, n: int, shape: tuple[int, int], *, name: str = "boxes") -> list[np.ndarray]:
    """Return ``boxes`` as a list of ``n`` int64 arrays (K_i, 4); raise a clear ValueError for a
    wrong count or shape, an empty box (r1 <= r0 or c1 <= c0) or a box outside the image."""
    H, W = shape
    if not isinstance(boxes, (list, tuple)) or len(boxes) != n:
        got = len(boxes) if isinstance(boxes, (list, tuple)) else type(boxes).__name__
        raise ValueError(f"{name} must be a list with one (K, 4) array per image ({n}); got {got}.")
    out = []
    for i, b in enumerate(boxes):
        b = np.asarray(b)
        if b.size == 0:
            out.append(np.zeros((0, 4), dtype=np.int64))
            continue
        if b.ndim != 2 or b.shape[1] != 4:
            raise ValueError(
                f"{name}[{i}] must have shape (K, 4) as (r0, c0, r1, c1); got {b.shape}."
            )
        if not np.all(b == np.round(b)):
            raise ValueError(f"{name}[{i}] must hold integer pixel coordinates.")
        b = b.astype(np.int64)
        if np.any((b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1])):
            raise ValueError(f"{name}[{i}] has an empty box (r1 <= r0 or c1 <= c0): {b.tolist()}.")
        if np.any(b[:, :2] < 0) or np.any(b[:, 2] > H) or np.any(b[:, 3] > W):
            raise ValueError(
                f"{name}[{i}] has a box outside the {H}x{W} image; need 0 <= r0 < r1 <= {H} "
                f"and 0 <= c0 < c1 <= {W}: {b.tolist()}."
            )
        out.append(b)
    return out


def _check_shape(shape) -> tuple[int, int]:
    if len(shape) != 2 or any(isinstance(s, bool) or int(s) != s or s < 1 for s in shape):
        raise ValueError(f"shape must be (H, W) with positive integers; got {shape!r}.")
    return int(shape[0]), int(shape[1])


def _check_labels(labels, name: str = "labels") -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 3:
        raise ValueError(f"{name} must be label maps of shape (n, H, W); got shape {arr.shape}.")
    if not np.isin(arr, (IGNORE, 0, 1)).all():
        raise ValueError(f"{name} may only hold 0 (background), 1 (foreground), {IGNORE} (ignore).")
    return arr.astype(np.int64)


# --- label builders (Simple Does It, section 3) -------------------------------------------------


def box_labels(boxes, shape) -> np.ndarray:
    """**Box**: every pixel inside a box is foreground, every other pixel background.

    Returns int64 label maps (n, H, W) in {0, 1}.
    """
    H, W = _check_shape(shape)
    boxes = check_boxes(boxes, len(boxes) if isinstance(boxes, (list, tuple)) else -1, (H, W))
    labels = np.zeros((len(boxes), H, W), dtype=np.int64)
    for i, bx in enumerate(boxes):
        for r0, c0, r1, c1 in bx:
            labels[i, r0:r1, c0:c1] = 1
    return labels


def inner_box(box, inner: float = 0.2) -> tuple[int, int, int, int]:
    """The centred box with ``inner`` of the area of ``box``: each side scaled by sqrt(inner),
    rounded to whole pixels and at least one pixel."""
    r0, c0, r1, c1 = (int(v) for v in box)
    s = math.sqrt(inner)
    h, w = max(1, round((r1 - r0) * s)), max(1, round((c1 - c0) * s))
    top, left = r0 + ((r1 - r0) - h) // 2, c0 + ((c1 - c0) - w) // 2
    return top, left, top + h, left + w


def box_i_labels(boxes, shape, inner: float = 0.2) -> np.ndarray:
    """**Box_i**: the inner ``inner`` fraction of each box's area (centred) is foreground, the
    rest of the box ``IGNORE``, every pixel outside all boxes background.

    The ignore ring is where a box is unsure: near its border, the object may or may not be.
    Where boxes overlap, foreground wins over ignore. Returns int64 maps (n, H, W).
    """
    H, W = _check_shape(shape)
    check_number(inner, "inner", low=0.0, high=1.0, low_inclusive=False)
    boxes = check_boxes(boxes, len(boxes) if isinstance(boxes, (list, tuple)) else -1, (H, W))
    labels = np.zeros((len(boxes), H, W), dtype=np.int64)
    for i, bx in enumerate(boxes):
        for r0, c0, r1, c1 in bx:
            labels[i, r0:r1, c0:c1] = IGNORE
        for box in bx:
            t, l, b, r = inner_box(box, inner)
            labels[i, t:b, l:r] = 1
    return labels


def prior_labels(images, boxes, method: str = "otsu", *, smooth: float = 1.0) -> np.ndarray:
    """A classical image prior inside each box: the GrabCut-like variant of Simple Does It.

    Inside box k, the image (lightly smoothed) is split into object and background with no
    learning at all, and only the connected component that contains the box centre region is
    kept, holes filled. Outside every box: background.

    ``method="otsu"``: Otsu's threshold on the box's pixels (bright nuclei on a dark background);
    ``method="chan_vese"``: a morphological Chan-Vese active contour started from an ellipse in
    the box, the brighter phase is the object.

    Returns int64 maps (n, H, W) in {0, 1}.
    """
    from scipy.ndimage import binary_fill_holes, gaussian_filter
    from scipy.ndimage import label as cc_label
    from skimage.filters import threshold_otsu
    from skimage.segmentation import morphological_chan_vese

    if method not in ("otsu", "chan_vese"):
        raise ValueError(f"method must be 'otsu' or 'chan_vese'; got {method!r}.")
    X = check_X(images, name="images", ndim=(3, 4))
    X = X[:, 0] if X.ndim == 4 else X
    n, H, W = X.shape
    boxes = check_boxes(boxes, n, (H, W))
    check_number(smooth, "smooth", low=0.0)
    labels = np.zeros((n, H, W), dtype=np.int64)
    for i, bx in enumerate(boxes):
        img = gaussian_filter(X[i], smooth) if smooth > 0 else X[i]
        for r0, c0, r1, c1 in bx:
            crop = img[r0:r1, c0:c1]
            if crop.size < 4 or np.ptp(crop) == 0:
                continue
            if method == "otsu":
                obj = crop > threshold_otsu(crop)
            else:
                h, w = crop.shape
                yy, xx = np.mgrid[0:h, 0:w]
                init = ((yy - (h - 1) / 2) / (h / 2)) ** 2 + ((xx - (w - 1) / 2) / (w / 2)) ** 2
                phase = morphological_chan_vese(crop, num_iter=30, init_level_set=init < 0.6)
                phase = phase.astype(bool)
                if phase.all() or not phase.any():
                    continue
                obj = phase if crop[phase].mean() >= crop[~phase].mean() else ~phase
            comp, k = cc_label(obj)
            if k > 1:  # keep the component covering most of the centre (the boxed object)
                t, l, b, r = np.subtract(inner_box((r0, c0, r1, c1)), (r0, c0, r0, c0))
                counts = np.bincount(comp[t:b, l:r].ravel(), minlength=k + 1)[1:]
                obj = comp == (counts.argmax() + 1 if counts.any() else 1)
            labels[i, r0:r1, c0:c1] |= binary_fill_holes(obj).astype(np.int64)
    return labels


# --- recursive training: the denoising rules (Simple Does It, section 3.1) -----------------------


def denoise(
    pred, boxes, init_labels, iou_min: float = 0.5, *, box_enforcing: bool = True
) -> np.ndarray:
    """Turn a round's predicted masks into the next round's labels.

    Rule 1 (box enforcing): every pixel outside all boxes is background (``box_enforcing=False``
    switches it off: predictions outside the boxes are kept as labels -- chapter 08, exercise 2).
    Rule 2 (recall): for each box B, the predicted segment S = pred ∩ B; if
    IoU(S, B) = |S| / |B| < ``iou_min``, the box region is reset to its round-0 label
    ``init_labels`` (the network lost the object, so fall back to what the box says).

    Parameters
    ----------
    pred : array (n, H, W) of {0, 1} (or bool)
        Hard predictions of the previous round.
    boxes : list of (K_i, 4) arrays
    init_labels : array (n, H, W)
        Round-0 labels (Box, Box_i or the prior), may contain ``IGNORE``.
    iou_min : float
        The threshold of rule 2 (0.5 in the paper).
    """
    pred = np.asarray(pred)
    if pred.ndim != 3:
        raise ValueError(f"pred must be masks of shape (n, H, W); got shape {pred.shape}.")
    init = _check_labels(init_labels, "init_labels")
    if init.shape != pred.shape:
        raise ValueError(f"init_labels has shape {init.shape} but pred has {pred.shape}.")
    check_number(iou_min, "iou_min", low=0.0, high=1.0)
    n, H, W = pred.shape
    boxes = check_boxes(boxes, n, (H, W))
    pred = (pred > 0).astype(np.int64)
    in_box = box_labels(boxes, (H, W)).astype(bool)
    labels = np.where(in_box, pred, 0) if box_enforcing else pred.copy()  # rule 1
    for i, bx in enumerate(boxes):
        for r0, c0, r1, c1 in bx:
            seg = pred[i, r0:r1, c0:c1]
            if seg.mean() < iou_min:  # rule 2: |S ∩ B| / |S ∪ B| = |S| / |B| as S ⊂ B
                labels[i, r0:r1, c0:c1] = init[i, r0:r1, c0:c1]
    return labels


# --- losses with an ignore label ----------------------------------------------------------------


def pixel_cross_entropy(logits: Tensor, labels: Tensor, ignore: int = IGNORE) -> Tensor:
    """Pixel-wise cross-entropy averaged over the labelled pixels only.

        L = -(1 / |V|) sum_{p in V} log softmax(z_p)[y_p],   V = {p : y_p != ignore}

    PyTorch's ``cross_entropy(..., ignore_index=ignore)``: ignored pixels contribute nothing,
    not even to the gradient. No labelled pixel gives 0 (not 0 / 0).
    """
    if not bool((labels != ignore).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits, labels, ignore_index=ignore)


def soft_dice_loss(
    logits: Tensor,
    labels: Tensor,
    *,
    ignore: int = IGNORE,
    bootstrap: float | None = None,
    eps: float = 1.0,
) -> Tensor:
    """Soft Dice loss of the foreground over the labelled pixels (Milletari et al., 2016):

        L = 1 - (2 sum_p p_p y_p + eps) / (sum_p p_p + sum_p y_p + eps),   p = softmax(z)[1]

    With ``bootstrap = k`` in (0, 1] only the k-fraction of labelled pixels with the largest
    error |p_p - y_p| enters the sums: MS-Net's bootstrapped Dice, which keeps pushing on the
    hard pixels (boundaries, faint nuclei) once the easy ones are right.
    """
    p = torch.softmax(logits, dim=1)[:, 1]
    valid = labels != ignore
    y = labels.clamp_min(0).to(p.dtype)
    if bootstrap is not None:
        err = torch.where(valid, (p - y).abs(), torch.full_like(p, -1.0)).detach().flatten()
        k = max(1, int(math.ceil(bootstrap * int(valid.sum()))))
        hard = torch.zeros_like(err, dtype=torch.bool)
        hard[torch.topk(err, k).indices] = True
        valid = valid & hard.view_as(valid)
    w = valid.to(p.dtype)
    inter = (p * y * w).sum()
    return 1.0 - (2.0 * inter + eps) / ((p * w).sum() + (y * w).sum() + eps)


@dataclass
class MixedSupervisionLoss:
    """The training loss of the chapter, from pure boxes to pure masks.

    Each image is *strong* (a full mask) or *weak* (labels built from its boxes, with IGNORE)::

        L = CE_strong + lambda_w * CE_weak + dice * Dice_strong

    where each CE is :func:`pixel_cross_entropy` over that group's labelled pixels and
    Dice_strong is :func:`soft_dice_loss` on the strong images, bootstrapped over the hardest
    ``bootstrap`` fraction of pixels when that is set. With every image weak it is the plain
    box-supervised loss of Simple Does It; with every image strong, full supervision; with
    ``lambda_w = 0`` only the masked images count (Zhao et al.'s mask-weighted loss). The
    weighting of the two terms follows the idea of MS-Net, not its exact multi-branch network.

    Parameters
    ----------
    lambda_w : float
        Weight of the weak (box) term.
    dice : float
        Weight of the Dice term (0 = cross-entropy only).
    bootstrap : float or None
        Fraction of hardest pixels in the Dice term (None = all pixels).
    """

    lambda_w: float = 1.0
    dice: float = 0.0
    bootstrap: float | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        check_number(self.lambda_w, "lambda_w", low=0.0)
        check_number(self.dice, "dice", low=0.0)
        if self.bootstrap is not None:
            check_number(self.bootstrap, "bootstrap", low=0.0, high=1.0, low_inclusive=False)

    def __call__(self, logits: Tensor, labels: Tensor, strong: Tensor) -> tuple[Tensor, dict]:
        s, w = strong, ~strong
        ce_s = pixel_cross_entropy(logits[s], labels[s])
        ce_w = pixel_cross_entropy(logits[w], labels[w])
        loss = ce_s + self.lambda_w * ce_w
        logs = {"ce_strong": ce_s.item(), "ce_weak": ce_w.item()}
        if self.dice > 0 and bool(s.any()):
            d = soft_dice_loss(logits[s], labels[s], bootstrap=self.bootstrap)
            loss = loss + self.dice * d
            logs["dice_loss"] = d.item()
        return loss, logs


def mixed_labels(weak_labels, masks, fraction: float, seed: int = 0):
    """Give a random ``fraction`` of the images their full mask, keep box labels for the rest.

    Returns ``labels`` (n, H, W) and ``strong`` (n,) bool. ``round(fraction * n)`` images are
    strong, at least one when ``fraction > 0``.
    """
    weak = _check_labels(weak_labels, "weak_labels")
    masks = _check_labels(masks, "masks")
    if masks.shape != weak.shape:
        raise ValueError(f"masks has shape {masks.shape} but weak_labels has {weak.shape}.")
    check_number(fraction, "fraction", low=0.0, high=1.0)
    n = weak.shape[0]
    k = max(1, round(fraction * n)) if fraction > 0 else 0
    strong = np.zeros(n, dtype=bool)
    strong[np.random.default_rng(check_seed(seed, "seed")).permutation(n)[:k]] = True
    return np.where(strong[:, None, None], masks, weak), strong


# --- training and prediction --------------------------------------------------------------------


def predict_masks(model: nn.Module, X, *, batch_size: int | None = None, device=None) -> np.ndarray:
    """Foreground probabilities (n, H, W) of a segmentation network, in evaluation mode."""
    return predict(
        model,
        check_X(X, ndim=(4,)),
        forward=lambda x: torch.softmax(model(x), dim=1)[:, 1],  # p(foreground) per pixel
        batch_size=batch_size,
        device=device,
    )


def _random_crop(x: Tensor, y: Tensor, size: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """A random ``size x size`` window of each image (and the same window of its labels)."""
    B, _, H, W = x.shape
    r0 = torch.randint(H - size + 1, (B,), generator=gen).to(x.device)
    c0 = torch.randint(W - size + 1, (B,), generator=gen).to(x.device)
    span = torch.arange(size, device=x.device)
    rows, cols = (r0[:, None] + span)[:, :, None], (c0[:, None] + span)[:, None, :]
    b = torch.arange(B, device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[b, rows, cols].permute(0, 3, 1, 2), y[b, rows, cols]


def _augment(x: Tensor, y: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """The same random rotation by k * 90 degrees and flip for a batch's images and labels."""
    k = int(torch.randint(4, (1,), generator=gen))
    flip = bool(torch.randint(2, (1,), generator=gen))
    x, y = torch.rot90(x, k, (-2, -1)), torch.rot90(y, k, (-2, -1))
    if flip:
        x, y = x.flip(-1), y.flip(-1)
    return x, y


def train_segmentation(
    model: nn.Module,
    X,
    labels,
    *,
    strong=None,
    loss: MixedSupervisionLoss | None = None,
    augment: bool = True,
    crop: int | None = None,
    X_eval=None,
    masks_eval=None,
    steps: int = 300,
    batch_size: int = 16,
    lr: float = 1e-2,
    seed: int = 0,
    device=None,
    **options,
) -> History:
    """Train a segmentation network in place on label maps with ignored pixels.

    A front of the course's training engine (:func:`course_lib.train.minimize`) for per-pixel
    labels: each step draws images without replacement within a pass, applies the same random
    crop and 90-degree rotation/flip to images and labels, and returns
    ``loss(model(x), y, strong)``.
    The :class:`~course_lib.train.History` holds ``loss``, the loss's own numbers and, when
    ``X_eval, masks_eval`` are given, ``eval_dice`` (mean Dice per image at threshold 0.5).

    Parameters
    ----------
    model : nn.Module
        Maps (B, C, H, W) images to (B, 2, H, W) logits (e.g. ``models.TinyUNet``).
    X : array (n, C, H, W)
    labels : int array (n, H, W)
        1 foreground, 0 background, ``IGNORE`` (-1) no label.
    strong : bool array (n,), optional
        Which images carry full masks (mixed supervision); default all ``True``.
    loss : MixedSupervisionLoss, optional
        Default ``MixedSupervisionLoss()``: cross-entropy over labelled pixels.
    augment : bool
        Random 90-degree rotations and flips (the same for images and labels).
    crop : int, optional
        Train on random ``crop x crop`` windows (a fully convolutional network does not care;
        4x fewer pixels per step at half the side). Prediction always uses whole images.
    X_eval, masks_eval : arrays, optional
        Held-out images and masks: ``eval_dice`` at each record.
    steps, batch_size, lr, seed, device
        As in ``course_lib.train.fit`` (the default ``lr`` is higher than ``fit``'s: with the
        cosine decay, 1e-2 trains a TinyUNet in 100 steps more stably than 3e-3).
    **options
        Passed to :func:`course_lib.train.minimize`: ``weight_decay`` (0), ``cosine`` (True
        here: the learning rate decays to 0 along a half cosine, so the last steps settle
        instead of jumping between label noise and signal), ``record_every`` (``steps // 10``
        here), ``progress`` (True).
    """
    from course_lib import metrics

    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    X_np = check_X(X, ndim=(4,))
    y_np = _check_labels(labels)
    if y_np.shape != (X_np.shape[0], *X_np.shape[2:]):
        raise ValueError(
            f"labels must have shape (n, H, W) = {(X_np.shape[0], *X_np.shape[2:])} to match "
            f"X {X_np.shape}; got {y_np.shape}."
        )
    strong = np.ones(X_np.shape[0], dtype=bool) if strong is None else np.asarray(strong)
    if strong.shape != (X_np.shape[0],) or strong.dtype != bool:
        raise ValueError(f"strong must be a bool array of shape ({X_np.shape[0]},).")
    loss = MixedSupervisionLoss() if loss is None else loss
    if not isinstance(loss, MixedSupervisionLoss):
        raise ValueError(f"loss must be a MixedSupervisionLoss; got {type(loss).__name__}.")
    loss.validate()
    if (X_eval is None) != (masks_eval is None):
        raise ValueError("give both X_eval and masks_eval (or neither).")
    if X_eval is not None:
        X_eval = check_X(X_eval, name="X_eval", ndim=(4,))
        masks_eval = _check_labels(masks_eval, "masks_eval")
    if crop is not None:
        crop = check_positive_int(crop, "crop")
        if crop > min(X_np.shape[2:]):
            raise ValueError(f"crop={crop} is larger than the images {X_np.shape[2:]}.")
    options.setdefault("cosine", True)
    if options.get("record_every") is None:
        options["record_every"] = max(1, steps // 10)

    dev = prepare(model, seed=seed, device=device)
    Xt, yt, st = (torch.as_tensor(a, device=dev) for a in (X_np, y_np, strong))
    gen = torch.Generator().manual_seed(seed)
    stream = IndexStream(torch.arange(X_np.shape[0]), batch_size, gen)

    def step_loss(step: int) -> tuple[Tensor, dict[str, float]]:
        idx = stream.next().to(dev)
        x, y = Xt[idx], yt[idx]
        if crop is not None:
            x, y = _random_crop(x, y, crop, gen)
        if augment:
            x, y = _augment(x, y, gen)
        return loss(model(x), y, st[idx])

    def evaluate() -> dict[str, float]:
        if X_eval is None:
            return {}
        pred = predict_masks(model, X_eval, device=dev) > 0.5
        return {"eval_dice": float(metrics.dice(masks_eval, pred, per_image=True).mean())}

    return minimize(
        model, step_loss, steps, lr=lr, evaluate=evaluate, name="segmentation", **options
    )


# --- recursive training (Simple Does It, section 3.1) ------------------------------------------


@dataclass
class Rounds:
    """What :func:`recursive_training` recorded, one entry per round r = 0..R-1.

    ``labels[r]`` are the labels round r trained on (round 0: the box labels); ``pseudo[r]`` the
    denoised predictions of round r on the training images (the labels of round r + 1);
    ``label_dice[r]`` the Dice of ``labels[r]``'s foreground against the true masks (when given,
    ignored pixels counted as background); ``eval_dice[r]`` the test Dice of round r's network;
    ``histories[r]`` its training run; ``model`` the last round's network.
    """

    labels: list[np.ndarray] = field(default_factory=list)
    pseudo: list[np.ndarray] = field(default_factory=list)
    label_dice: list[float] = field(default_factory=list)
    eval_dice: list[float] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)
    model: nn.Module | None = None


def recursive_training(
    make_model: Callable[[], nn.Module],
    X,
    boxes,
    init_labels,
    *,
    rounds: int = 3,
    iou_min: float = 0.5,
    masks=None,
    X_eval=None,
    masks_eval=None,
    seed: int = 0,
    box_enforcing: bool = True,
    **train_kwargs,
) -> Rounds:
    """Simple Does It's recursive training: round r trains a fresh network on the labels of
    round r-1's predictions, denoised by :func:`denoise` (round 0 trains on ``init_labels``).

    Parameters
    ----------
    make_model : callable
        Returns a new network (e.g. ``lambda: TinyUNet()``); every round starts from scratch.
    X, boxes, init_labels
        Training images, their boxes and the round-0 labels (Box, Box_i or the prior).
    rounds : int
        Number of training rounds (1 = no recursion).
    iou_min : float
        Threshold of the denoising rule 2.
    masks : array (n, H, W), optional
        True training masks, only to *measure* the labels' quality (``label_dice``).
    X_eval, masks_eval : arrays, optional
        Test images and masks: ``eval_dice`` per round.
    seed : int
        Round r uses seed ``seed + r``.
    box_enforcing : bool
        Apply rule 1 of :func:`denoise` (default); ``False`` keeps predictions outside the boxes.
    **train_kwargs
        Passed to :func:`train_segmentation` (steps, batch_size, lr, loss, progress, ...).
    """
    from course_lib import metrics

    rounds = check_positive_int(rounds, "rounds")
    X_np = check_X(X, ndim=(4,))
    if (X_eval is None) != (masks_eval is None):
        raise ValueError("give both X_eval and masks_eval (or neither).")
    labels = _check_labels(init_labels, "init_labels")
    init = labels
    boxes = check_boxes(boxes, X_np.shape[0], X_np.shape[2:])
    out = Rounds()
    for r in range(rounds):
        seed_everything(seed + r)  # the network's initial weights too
        model = make_model()
        h = train_segmentation(model, X_np, labels, seed=seed + r, **train_kwargs)
        pred = predict_masks(model, X_np) > 0.5
        out.labels.append(labels)
        out.histories.append(h)
        if masks is not None:
            out.label_dice.append(float(metrics.dice(masks, labels == 1, per_image=True).mean()))
        if X_eval is not None:
            test_pred = predict_masks(model, X_eval) > 0.5
            out.eval_dice.append(float(metrics.dice(masks_eval, test_pred, per_image=True).mean()))
        labels = denoise(pred, boxes, init, iou_min, box_enforcing=box_enforcing)
        out.pseudo.append(labels)
        out.model = model
    return out
