"""Vectorised data augmentations in pure torch: a whole batch at once, no loop over images.

Two families serve the whole course:

- **images** ``(N, C, H, W)`` with values in [0, 1]: :func:`weak` (small random translation +
  Gaussian noise, FixMatch's "weak" view) and :func:`strong` (RandAugment-style: ``n_ops`` ops
  drawn at random per image among affine rotate/shear/translate, contrast, brightness,
  sharpness, posterize, solarize, equalize and autocontrast, each at a random magnitude, then
  Cutout; FixMatch's "strong" view);
- **points** ``(N, d)`` (two moons): :class:`GaussianNoise`, a callable object, e.g.
  ``FixMatch(weak=GaussianNoise(0.05), strong=GaussianNoise(0.2))``.

Randomness: every function takes an optional ``generator`` (a ``torch.Generator``). Without it,
torch's global RNG is used, which ``course_lib.seed_everything`` (and so ``fit``) seeds; either
way the same seed gives the same augmented batch. Random numbers are drawn on the generator's
device (the CPU for the global RNG of a CPU tensor) and moved to the data's device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from course_lib._validation import check_number, check_positive_int

__all__ = [
    "OPS",
    "GaussianNoise",
    "affine",
    "autocontrast",
    "brightness",
    "contrast",
    "cutout",
    "equalize",
    "gaussian_noise",
    "posterize",
    "sharpness",
    "solarize",
    "strong",
    "translate",
    "weak",
]


# --- random numbers ------------------------------------------------------------------------
def _rand(n: int, x: Tensor, generator: torch.Generator | None) -> Tensor:
    """n uniform numbers in [0, 1) on x's device (drawn on the generator's device)."""
    dev = generator.device if generator is not None else x.device
    return torch.rand(n, generator=generator, device=dev).to(x.device)


def _randn_like(x: Tensor, generator: torch.Generator | None) -> Tensor:
    dev = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=dev, dtype=x.dtype).to(x.device)


def _sign(n: int, x: Tensor, generator: torch.Generator | None) -> Tensor:
    return torch.where(_rand(n, x, generator) < 0.5, -1.0, 1.0).to(x.dtype)


def _check_images(x: Tensor, fn: str) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"{fn} needs a torch Tensor; got {type(x).__name__}.")
    if x.ndim != 4:
        raise ValueError(
            f"{fn} needs images of shape (N, C, H, W); got shape {tuple(x.shape)}. "
            "For points (N, d) use augment.GaussianNoise(sigma)."
        )


def _per_image(v: Tensor) -> Tensor:
    """(N,) -> (N, 1, 1, 1) to broadcast over an image batch."""
    return v.view(-1, 1, 1, 1)


# --- points and pixels: additive noise -----------------------------------------------------
def gaussian_noise(
    x: Tensor, sigma: float = 0.1, *, generator: torch.Generator | None = None
) -> Tensor:
    """x + sigma * eps, eps ~ N(0, I): any shape (points or images; images are not clipped)."""
    check_number(sigma, "sigma", low=0.0)
    return x + sigma * _randn_like(x, generator)


@dataclass
class GaussianNoise:
    """Callable ``x -> x + sigma * N(0, I)``: the augmentation for 2-D points (two moons).

    A small object rather than a lambda, so a method holding it can be copied and printed.
    """

    sigma: float = 0.1

    def __post_init__(self) -> None:
        check_number(self.sigma, "sigma", low=0.0)

    def __call__(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        return gaussian_noise(x, self.sigma, generator=generator)


# --- geometry --------------------------------------------------------------------------------
def affine(x: Tensor, theta: Tensor, *, mode: str = "bilinear", fill: float = 0.0) -> Tensor:
    """Warp each image by its own 2x3 affine matrix ``theta`` (N, 2, 3), in the normalised
    coordinates of ``F.affine_grid`` ([-1, 1] across the image, ``align_corners=False``).

    Pixels that come from outside the image take the value ``fill``.
    """
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    if fill == 0.0:
        return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)
    # sample a constant-1 channel too, to know which pixels fell outside
    ones = torch.ones_like(x[:, :1])
    out = F.grid_sample(torch.cat([x, ones], 1), grid, mode=mode, align_corners=False)
    inside = out[:, -1:]
    return out[:, :-1] + (1.0 - inside) * fill


def _eye(n: int, x: Tensor) -> Tensor:
    return torch.eye(2, 3, dtype=x.dtype, device=x.device).repeat(n, 1, 1)


def translate(
    x: Tensor, max_shift: float = 0.125, *, generator: torch.Generator | None = None
) -> Tensor:
    """Shift each image by a random whole number of pixels, at most ``max_shift`` of its size
    in each direction (zeros come in at the border). ``max_shift = 0.125`` is 1 pixel on 8x8."""
    _check_images(x, "translate")
    check_number(max_shift, "max_shift", low=0.0, high=1.0)
    n, _, h, w = x.shape
    theta = _eye(n, x)
    for axis, size in ((0, w), (1, h)):
        k = round(max_shift * size)
        # integer shifts in {-k..k}; 2/size is one pixel in normalised coordinates
        shift = torch.floor(_rand(n, x, generator) * (2 * k + 1)) - k
        theta[:, axis, 2] = shift.to(x.dtype) * 2.0 / size
    return affine(x, theta, mode="nearest")


# --- photometric ops: v is a per-image strength (N,) -------------------------------------------
def _blend(degenerate: Tensor, x: Tensor, factor: Tensor) -> Tensor:
    """PIL's ImageEnhance: degenerate + factor * (x - degenerate), clipped to [0, 1]."""
    return (degenerate + _per_image(factor) * (x - degenerate)).clamp(0.0, 1.0)


def brightness(x: Tensor, factor: Tensor) -> Tensor:
    """factor * x (factor 0 = black, 1 = unchanged)."""
    return _blend(torch.zeros_like(x), x, factor)


def contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Blend with each image's mean grey (factor 0 = flat grey, 1 = unchanged)."""
    return _blend(x.mean(dim=(1, 2, 3), keepdim=True).expand_as(x), x, factor)


def sharpness(x: Tensor, factor: Tensor) -> Tensor:
    """Blend with a 3x3-smoothed image (factor < 1 blurs, > 1 sharpens).

    The smoothing pads the image by replicating its edge, so border pixels change too (PIL's
    ``ImageEnhance.Sharpness`` keeps them; with 8x8 digits a third of the pixels are border).
    """
    c = x.shape[1]
    k = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], dtype=x.dtype) / 13.0
    k = k.to(x.device).expand(c, 1, 3, 3)
    smooth = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k, groups=c)
    return _blend(smooth, x, factor)


def posterize(x: Tensor, bits: Tensor) -> Tensor:
    """Keep ``bits`` (N,) bits per pixel: round x in [0, 1] to one of 2**bits grey levels
    (0, 1/(2**bits - 1), ..., 1)."""
    levels = _per_image(2.0**bits - 1.0).to(x.dtype)
    return torch.round(x * levels) / levels


def solarize(x: Tensor, threshold: Tensor) -> Tensor:
    """Invert the pixels at or above ``threshold`` (N,): x -> 1 - x where x >= threshold."""
    return torch.where(x >= _per_image(threshold), 1.0 - x, x)


def autocontrast(x: Tensor) -> Tensor:
    """Stretch each image (each channel) to span [0, 1]."""
    lo = x.amin(dim=(2, 3), keepdim=True)
    hi = x.amax(dim=(2, 3), keepdim=True)
    return torch.where(hi > lo, (x - lo) / (hi - lo).clamp_min(1e-8), x)


def equalize(x: Tensor, bins: int = 32) -> Tensor:
    """Histogram equalisation per image and channel, on ``bins`` grey levels.

    Each pixel's level is mapped to the cumulative histogram (the fraction of pixels at or
    below it), rescaled so that the darkest level present maps to 0, as PIL's ``equalize``.
    """
    n, c, h, w = x.shape
    level = (x.clamp(0, 1) * (bins - 1)).round().long().view(n, c, h * w)
    hist = torch.zeros(n, c, bins, dtype=x.dtype, device=x.device)
    hist.scatter_add_(2, level, torch.ones_like(level, dtype=x.dtype))
    cdf = hist.cumsum(2) / (h * w)
    first = torch.gather(cdf, 2, level.amin(2, keepdim=True))  # cdf of the darkest level
    out = (torch.gather(cdf, 2, level) - first) / (1.0 - first).clamp_min(1e-8)
    return out.view(n, c, h, w).clamp(0.0, 1.0)


def cutout(
    x: Tensor,
    max_size: float = 0.5,
    *,
    fill: float = 0.5,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Paint one square per image with ``fill``: side uniform in (0, max_size] of the image
    side, centre uniform over the image (the square may be cut by the border)."""
    _check_images(x, "cutout")
    check_number(max_size, "max_size", low=0.0, high=1.0)
    n, _, h, w = x.shape
    side = _rand(n, x, generator) * max_size * min(h, w)
    cy, cx = _rand(n, x, generator) * h, _rand(n, x, generator) * w
    rows = torch.arange(h, device=x.device, dtype=x.dtype) + 0.5
    cols = torch.arange(w, device=x.device, dtype=x.dtype) + 0.5
    in_y = (rows[None, :] - cy[:, None]).abs() < side[:, None] / 2  # (N, H)
    in_x = (cols[None, :] - cx[:, None]).abs() < side[:, None] / 2  # (N, W)
    mask = (in_y[:, :, None] & in_x[:, None, :])[:, None]  # (N, 1, H, W)
    return torch.where(mask, torch.as_tensor(fill, dtype=x.dtype, device=x.device), x)


# --- RandAugment-style strong augmentation -----------------------------------------------------
def _op_affine(kind: str):
    def op(x: Tensor, m: Tensor, generator) -> Tensor:
        n = x.shape[0]
        s = m * _sign(n, x, generator)  # signed magnitude in [-1, 1]
        theta = _eye(n, x)
        if kind == "rotate":  # up to 30 degrees
            a = s * math.radians(30.0)
            theta[:, 0, 0], theta[:, 0, 1] = torch.cos(a), -torch.sin(a)
            theta[:, 1, 0], theta[:, 1, 1] = torch.sin(a), torch.cos(a)
        elif kind == "shear_x":  # shear factor up to 0.3
            theta[:, 0, 1] = 0.3 * s
        elif kind == "shear_y":
            theta[:, 1, 0] = 0.3 * s
        elif kind == "translate_x":  # up to 30 % of the width (normalised width is 2)
            theta[:, 0, 2] = 0.6 * s
        else:  # translate_y
            theta[:, 1, 2] = 0.6 * s
        return affine(x, theta)

    return op


def _op_factor(fn):
    # ImageEnhance factor in [0.05, 1.95]: magnitude m pushes it away from 1 in a random direction
    def op(x: Tensor, m: Tensor, generator) -> Tensor:
        return fn(x, 1.0 + 0.95 * m * _sign(x.shape[0], x, generator))

    return op


# name -> op(x, magnitude (N,) in [0, 1], generator); ops that ignore the magnitude are fine
OPS = {
    "identity": lambda x, m, g: x,
    "autocontrast": lambda x, m, g: autocontrast(x),
    "equalize": lambda x, m, g: equalize(x),
    "rotate": _op_affine("rotate"),
    "shear_x": _op_affine("shear_x"),
    "shear_y": _op_affine("shear_y"),
    "translate_x": _op_affine("translate_x"),
    "translate_y": _op_affine("translate_y"),
    "brightness": _op_factor(brightness),
    "contrast": _op_factor(contrast),
    "sharpness": _op_factor(sharpness),
    "posterize": lambda x, m, g: posterize(x, torch.round(4.0 - 3.0 * m)),  # 4 .. 1 bits
    "solarize": lambda x, m, g: solarize(x, 1.0 - m),  # threshold 1 (nothing) .. 0 (invert all)
}


def strong(
    x: Tensor,
    n_ops: int = 2,
    *,
    ops: tuple[str, ...] | None = None,
    cutout_size: float = 0.3,
    cutout_fill: float = 0.5,
    generator: torch.Generator | None = None,
) -> Tensor:
    """RandAugment-style strong augmentation of a batch of images in [0, 1].

    For each of ``n_ops`` rounds, every image draws one op from ``ops`` (default: all of
    :data:`OPS`) and a magnitude m ~ U[0, 1] (FixMatch's "RandAugment with random magnitude");
    the ops are applied to the sub-batch that drew them, so the cost is one call per op and
    round, never one per image. Then :func:`cutout` with side up to ``cutout_size`` (0.3 of
    the side by default: FixMatch used 0.5 on 32x32 images, too destructive on 8x8 digits).
    Output stays in [0, 1] and keeps the shape.
    """
    _check_images(x, "strong")
    n_ops = check_positive_int(n_ops, "n_ops", minimum=0)
    names = tuple(OPS) if ops is None else tuple(ops)
    unknown = [o for o in names if o not in OPS]
    if not names or unknown:
        raise ValueError(f"ops must be a non-empty subset of {sorted(OPS)}; got {names}.")
    n = x.shape[0]
    out = x.clamp(0.0, 1.0)
    for _ in range(n_ops):
        choice = torch.floor(_rand(n, x, generator) * len(names)).long().clamp_max(len(names) - 1)
        magnitude = _rand(n, x, generator).to(x.dtype)
        new = out.clone()
        for k, name in enumerate(names):
            idx = torch.nonzero(choice == k).flatten()
            if idx.numel():
                new[idx] = OPS[name](out[idx], magnitude[idx], generator).clamp(0.0, 1.0)
        out = new
    if cutout_size > 0:
        out = cutout(out, cutout_size, fill=cutout_fill, generator=generator)
    return out


def weak(
    x: Tensor,
    max_shift: float = 0.125,
    sigma: float = 0.03,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """FixMatch's weak view of images in [0, 1]: a random translation by at most ``max_shift``
    of the image side (whole pixels) plus Gaussian pixel noise of std ``sigma``, clipped to
    [0, 1]. No flips: digits are not mirror-symmetric."""
    _check_images(x, "weak")
    check_number(sigma, "sigma", low=0.0)
    out = translate(x, max_shift, generator=generator)
    if sigma > 0:
        out = gaussian_noise(out, sigma, generator=generator)
    return out.clamp(0.0, 1.0)
