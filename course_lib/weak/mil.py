"""Patch-level multiple-instance learning with a few boxes (Li et al., CVPR 2018, arXiv:1711.06373).

"Thoracic disease identification and localization with limited supervision": a fully
convolutional network cuts the image into a P x P grid of patches and predicts, per patch j, the
probability p_j that the patch shows the disease. Two image probabilities follow:

- an image **without** a box is a bag of patches; it is positive if at least one patch is::

      P(y = 1 | x) = 1 - prod_j (1 - p_j)                                        (Eq. 1)

- an image **with** a box says exactly which patches are positive::

      P(box | x) = prod_{j in box} p_j * prod_{j not in box} (1 - p_j)           (Eq. 2)

The loss is ``-lambda_bbox log P(box | x)`` on box-annotated images (lambda_bbox = 5 in the paper)
plus the image-label cross-entropy on the others. Products of hundreds of numbers below 1
underflow, so, as in the paper, every factor is first mapped into [0.98, 1]
(``q -> 0.98 + 0.02 q``) and the products are computed as sums of logs.

Here there is one disease class (lesion present); the paper has one such head per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from course_lib._validation import check_number, check_positive_int, check_seed
from course_lib.methods.base import Batch, Method, TrainData
from course_lib.models import SmallCNN
from course_lib.train import predict


def rescale(q: Tensor, low: float = 0.98) -> Tensor:
    """Map a factor q in [0, 1] into [low, 1]: low + (1 - low) q (the paper's fix for underflow)."""
    return low + (1.0 - low) * q


def image_log_probs(p: Tensor, low: float = 0.98) -> tuple[Tensor, Tensor]:
    """log P(y = 1 | x) and log P(y = 0 | x) of Eq. 1 from patch probabilities p (N, P, P).

    log P(y = 0) = sum_j log(rescale(1 - p_j)); log P(y = 1) = log(1 - exp(log P(y = 0))),
    computed with expm1 so that it stays accurate for any number of patches.
    """
    log_p0 = torch.log1p(-(1.0 - low) * p).flatten(1).sum(1)  # log rescale(1 - p), accurately
    log_p1 = torch.log(-torch.expm1(log_p0.clamp(max=-1e-7)))
    return log_p1, log_p0


def box_log_prob(p: Tensor, inside: Tensor, low: float = 0.98) -> Tensor:
    """log P(box | x) of Eq. 2: sum over patches in the box of log p_j, outside of log(1 - p_j)
    (both factors rescaled into [low, 1]). ``inside`` is a boolean grid (N, P, P)."""
    q = torch.where(inside, 1.0 - p, p)  # log rescale(p) = log1p(-(1 - low)(1 - p)), and so on
    return torch.log1p(-(1.0 - low) * q).flatten(1).sum(1)


class MILNet(nn.Module):
    """The SmallCNN trunk with a fully convolutional patch head: image -> P x P patch scores.

    Parameters
    ----------
    in_channels : int
        Image channels.
    widths : sequence of int
        Channels of the SmallCNN blocks (same trunk as ``models.SmallCNN``).
    P : int
        The patch grid is P x P; the trunk's feature map is max-pooled to that size.
    low : float
        Rescaling of the factors in ``forward`` (must match the training method's ``low``).

    ``patch_probs(x)`` gives the p_j (N, P, P); ``forward(x)`` gives the two-class logits
    ``[log P(y=0), log P(y=1)]`` of Eq. 1, so ``train.predict_proba`` and ``fit`` work unchanged.
    """

    def __init__(
        self, in_channels: int = 1, widths: Sequence[int] = (16, 32), P: int = 16, low=0.98
    ):
        super().__init__()
        self.P = check_positive_int(P, "P")
        self.low = check_number(low, "low", low=0.0, high=1.0, high_inclusive=False)
        self.features = SmallCNN(in_channels, 2, widths).features
        c = list(widths)[-1]
        self.pool = nn.AdaptiveMaxPool2d(self.P)
        self.head = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.Conv2d(c, 1, 1),  # one patch logit per grid cell
        )

    def patch_logits(self, x: Tensor) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"MILNet expects images (N, C, H, W); got shape {tuple(x.shape)}.")
        return self.head(self.pool(self.features(x)))[:, 0]  # (N, P, P)

    def patch_probs(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.patch_logits(x))

    def forward(self, x: Tensor) -> Tensor:
        log_p1, log_p0 = image_log_probs(self.patch_probs(x), self.low)
        return torch.stack([log_p0, log_p1], 1)


def boxes_to_grid(boxes, image_size: int, P: int) -> np.ndarray:
    """Boolean patch grids (N, P, P): True where a patch overlaps one of the image's boxes.

    ``boxes`` is a list of (k_i, 4) arrays ``(row0, col0, row1, col1)`` (half-open, pixels).
    """
    P = check_positive_int(P, "P")
    if image_size % P:
        raise ValueError(f"image_size ({image_size}) must be a multiple of P ({P}).")
    cell = image_size // P
    grid = np.zeros((len(boxes), P, P), dtype=bool)
    for i, bx in enumerate(boxes):
        for r0, c0, r1, c1 in np.asarray(bx, dtype=np.int64).reshape(-1, 4):
            grid[i, r0 // cell : -(-r1 // cell), c0 // cell : -(-c1 // cell)] = True
    return grid


def choose_boxed(labels, fraction: float, seed: int = 0) -> np.ndarray:
    """A boolean mask marking ``round(fraction x #positives)`` random positive images as boxed."""
    check_number(fraction, "fraction", low=0.0, high=1.0)
    seed = check_seed(seed)
    labels = np.asarray(labels)
    pos = np.flatnonzero(labels > 0)
    chosen = np.random.default_rng(seed).permutation(pos)[: int(round(fraction * pos.size))]
    boxed = np.zeros(labels.shape[0], dtype=bool)
    boxed[chosen] = True
    return boxed


@dataclass
class PatchMIL(Method):
    """Li et al. (2018): image-label MIL loss (Eq. 1) + lambda_bbox x box loss (Eq. 2).

    Train a :class:`MILNet` with ``fit(net, PatchMIL(grids, boxed), X, y)``; ``y`` in {0, 1}.

    Parameters
    ----------
    grids : bool array (N, P, P) or None
        Patch grid of each training image's boxes (:func:`boxes_to_grid`); None = no boxes.
    boxed : bool array (N,) or None
        Which training images carry their box (:func:`choose_boxed`); None = none.
    lambda_bbox : float
        Weight of the box term (5 in the paper).
    low : float
        Every factor of the products is mapped into [low, 1] (0.98 in the paper).
    """

    grids: np.ndarray | None = field(default=None, repr=False)
    boxed: np.ndarray | None = field(default=None, repr=False)
    lambda_bbox: float = 5.0
    low: float = 0.98

    # per-run state, made by setup(): the grids and box flags as tensors on the device
    grids_t: Tensor | None = field(default=None, init=False, repr=False, compare=False)
    boxed_t: Tensor | None = field(default=None, init=False, repr=False, compare=False)

    uses_unlabeled = False

    def validate(self) -> None:
        check_number(self.lambda_bbox, "lambda_bbox", low=0.0)
        check_number(self.low, "low", low=0.0, high=1.0, high_inclusive=False)
        if (self.grids is None) != (self.boxed is None):
            raise ValueError("give both grids and boxed, or neither (no boxes at all).")
        if self.grids is not None:
            g, b = np.asarray(self.grids), np.asarray(self.boxed)
            if g.ndim != 3 or g.shape[1] != g.shape[2]:
                raise ValueError(f"grids must have shape (N, P, P); got {g.shape}.")
            if b.shape != (g.shape[0],):
                raise ValueError(f"boxed must have shape ({g.shape[0]},); got {b.shape}.")

    def setup(self, model: nn.Module, data: TrainData) -> None:
        n, dev = data.X.shape[0], data.X.device
        if self.grids is None:
            P = getattr(model, "P", 1)
            self.grids_t = torch.zeros((n, P, P), dtype=torch.bool, device=dev)
            self.boxed_t = torch.zeros(n, dtype=torch.bool, device=dev)
        else:
            if len(self.grids) != n:
                raise ValueError(f"grids has {len(self.grids)} rows but X has {n} images.")
            self.grids_t = torch.as_tensor(np.asarray(self.grids, dtype=bool), device=dev)
            self.boxed_t = torch.as_tensor(np.asarray(self.boxed, dtype=bool), device=dev)
        if getattr(model, "low", self.low) != self.low:
            raise ValueError(f"model.low ({model.low}) differs from the method's low ({self.low}).")

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        p = model.patch_probs(batch.x_l)  # (B, P, P) patch probabilities p_j
        y = batch.y_l
        boxed = self.boxed_t[batch.idx_l] & (y == 1)
        log_p1, log_p0 = image_log_probs(p, self.low)  # Eq. 1
        log_box = box_log_prob(p, self.grids_t[batch.idx_l], self.low)  # Eq. 2
        image_term = -torch.where(y == 1, log_p1, log_p0)
        per_image = torch.where(boxed, self.lambda_bbox * -log_box, image_term)
        loss = per_image.mean()
        logs = {}  # only what this batch has (a batch may hold no boxed image)
        if boxed.any():
            logs["loss_box"] = float(-log_box[boxed].mean().detach())
        if (~boxed).any():
            logs["loss_image"] = float(image_term[~boxed].mean().detach())
        return loss, logs


def patch_maps(model: MILNet, x, *, size="input", batch_size: int | None = None) -> np.ndarray:
    """Patch probabilities p_j of each image, bilinearly upsampled to the image: (N, H, W)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"x must be images (N, C, H, W); got shape {tuple(x.shape)}.")
    target = x.shape[-2:] if size == "input" else size

    def forward(xb: Tensor) -> Tensor:
        p = model.patch_probs(xb)  # (B, P, P)
        if size is None:
            return p
        return F.interpolate(p[:, None], size=tuple(target), mode="bilinear")[:, 0]

    return predict(model, x, forward=forward, batch_size=batch_size).astype(np.float32)
