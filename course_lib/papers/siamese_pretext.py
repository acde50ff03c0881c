"""Self-supervised Siamese pretext task: predict the distance between two patches.

H. Spitzer, K. Kiwitz, K. Amunts, S. Harmeling, T. Dickscheid, "Improving cytoarchitectonic
segmentation of human brain areas with self-supervised Siamese networks", MICCAI 2018. Labels
of brain areas are scarce, but every unlabeled section gives, for free, the distance between any
two of its patches. A Siamese network (two copies of one encoder) is pre-trained to regress that
distance from the two patches, which forces the encoder to read *where* a patch lies from *what*
it looks like; the encoder is then fine-tuned on the few labeled patches.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from course_lib._validation import MAX_SEED, check_positive_int, check_seed
from course_lib.train import History, minimize, predict, prepare


def sample_patches(images, n: int, patch: int = 12, seed: int = 0, img_idx=None):
    """Cut ``n`` random ``patch x patch`` patches from ``images`` (N, C, H, W).

    Returns ``(patches (n, C, patch, patch), img_idx (n,), centres (n, 2) as (row, col))``.
    With ``img_idx`` given, patch i comes from image ``img_idx[i]`` (how a pair is drawn from
    the same section).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W); got shape {images.shape}.")
    n = check_positive_int(n, "n")
    size = images.shape[-1]
    patch = check_positive_int(patch, "patch", minimum=2)
    seed = check_seed(seed)
    if patch > min(images.shape[-2:]):
        raise ValueError(f"patch={patch} is larger than the images ({images.shape[-2:]}).")
    rng = np.random.default_rng(seed)
    if img_idx is None:
        img_idx = rng.integers(0, images.shape[0], n)
    img_idx = np.asarray(img_idx)
    top = rng.integers(0, images.shape[-2] - patch + 1, n)
    left = rng.integers(0, size - patch + 1, n)
    windows = np.lib.stride_tricks.sliding_window_view(images, (patch, patch), axis=(2, 3))
    patches = windows[img_idx, :, top, left]  # (n, C, patch, patch)
    centres = np.stack([top, left], 1) + (patch - 1) / 2
    return np.ascontiguousarray(patches), img_idx, centres


class PatchEncoder(nn.Module):
    """Conv-ReLU-pool x 2, then a linear embedding of size ``dim``: one branch of the Siamese
    network. ``siamese`` is the pretext head on the absolute difference of the two embeddings."""

    def __init__(self, in_channels: int = 1, patch: int = 12, width: int = 16, dim: int = 32):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.embed = nn.Linear(width * (patch // 4) ** 2, dim)
        self.siamese = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.embed(self.conv(x)))

    def distance(self, x_a: Tensor, x_b: Tensor) -> Tensor:
        """Predicted distance of two patches: both go through the *same* encoder (shared weights),
        and the head reads the absolute difference of the embeddings, |e(x_a) - e(x_b)|."""
        return self.siamese((self(x_a) - self(x_b)).abs()).squeeze(1)


def distance_pretext_loss(d_pred: Tensor, d_true: Tensor) -> Tensor:
    """L = mean_i (d_hat_i - d_i)^2: regression of the (normalised) distance of patch pairs."""
    if d_pred.shape != d_true.shape:
        raise ValueError(f"d_pred {tuple(d_pred.shape)} and d_true {tuple(d_true.shape)} differ.")
    return ((d_pred - d_true) ** 2).mean()


def pretrain_distance(
    encoder: PatchEncoder,
    images,
    *,
    steps: int = 300,
    batch_size: int = 64,
    patch: int = 12,
    lr: float = 3e-3,
    seed: int = 0,
    device=None,
) -> History:
    """Pre-train ``encoder`` in place on the pretext task, fresh random pairs at every step.

    The distance is that of the two patch centres, divided by the image size. A front of
    :func:`course_lib.train.minimize`; returns its :class:`~course_lib.train.History`, recorded at
    every step: ``h["loss"][1:]`` is the loss of each step (index 0, before training, is NaN).
    """
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    images = np.asarray(images, dtype=np.float32)
    dev = prepare(encoder, seed=seed, device=device)
    rng = np.random.default_rng(seed)

    def step_loss(step: int) -> tuple[Tensor, dict[str, float]]:
        idx = rng.integers(0, images.shape[0], batch_size)  # both patches from the same section
        s = seed * 100003 + 2 * step  # wrapped into the seed range (unchanged for seeds < 42,000)
        p_a, _, c_a = sample_patches(
            images, batch_size, patch, seed=s % (MAX_SEED + 1), img_idx=idx
        )
        p_b, _, c_b = sample_patches(
            images, batch_size, patch, seed=(s + 1) % (MAX_SEED + 1), img_idx=idx
        )
        d = np.linalg.norm(c_a - c_b, axis=1) / images.shape[-1]
        d_hat = encoder.distance(torch.as_tensor(p_a, device=dev), torch.as_tensor(p_b, device=dev))
        return distance_pretext_loss(d_hat, torch.as_tensor(d, dtype=torch.float32, device=dev)), {}

    return minimize(encoder, step_loss, steps, lr=lr, record_every=1, name="pretext")


class PatchClassifier(nn.Module):
    """An encoder (pre-trained or not) followed by a linear classifier: the fine-tuned model."""

    def __init__(self, encoder: PatchEncoder, n_classes: int):
        super().__init__()
        self.encoder = encoder
        self.classifier = nn.Linear(encoder.embed.out_features, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.encoder(x))


def embed(encoder: PatchEncoder, X, batch_size: int | None = None) -> np.ndarray:
    """Embeddings (n, dim) of patches ``X`` (n, C, p, p): the features a linear probe reads.
    Computed in evaluation mode; the encoder's mode is restored afterwards."""
    return predict(encoder, X, batch_size=batch_size)
