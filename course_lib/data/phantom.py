"""Synthetic phantoms for chapter 10 (the medical papers): every property a demo claims is known.

- :func:`brain_phantom`: a multi-region "brain" slice (background, skull, grey matter, white
  matter, ventricles) whose label map obeys a known adjacency graph, :data:`BRAIN_ADJACENCY`
  (the NonAdjLoss demo, Ganaye et al. 2018).
- :func:`texture_sections`: "tissue sections" whose texture changes with the position, divided
  into areas (the Siamese distance pretext demo, Spitzer et al. 2018).
- :func:`multiphase_lesions`: multi-phase images (channels = contrast phases, slightly
  misregistered) in which a lesion shows only in some phases (the grouped convolution demo,
  Lee et al. 2018).

All are generated with NumPy in well under a second and are fixed by ``seed``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage

from course_lib._validation import check_number, check_positive_int, check_seed

BRAIN_REGIONS = ("background", "skull", "grey matter", "white matter", "ventricle")

# allowed[k, l] is True when region k may touch region l: the regions are nested rings
# background | skull | grey matter | white matter | ventricles, so only neighbours in the list
# touch (and every region touches itself).
BRAIN_ADJACENCY = np.eye(5, dtype=bool) | np.eye(5, k=1, dtype=bool) | np.eye(5, k=-1, dtype=bool)

# mean intensity of each region: the ventricles are as dark as the background outside the head,
# so a network with a small field of view can confuse them (the errors NonAdjLoss targets)
_BRAIN_INTENSITY = np.array([0.05, 0.85, 0.45, 0.68, 0.08], dtype=np.float32)


class Phantom(NamedTuple):
    """``images`` float32 (N, 1, H, W) in [0, 1]; ``masks`` int64 (N, H, W) region labels."""

    images: np.ndarray
    masks: np.ndarray


def _wobble(rng: np.random.Generator, n: int, theta: np.ndarray, amount: float) -> np.ndarray:
    """1 + sum_{m=2..4} a_m cos(m theta + phi_m): a smooth random outline factor per image."""
    amp = rng.uniform(-amount, amount, (n, 3, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 3, 1, 1))
    m = np.arange(2, 5)[None, :, None, None]
    return 1.0 + (amp * np.cos(m * theta[:, None] + phase)).sum(1)


def brain_phantom(
    n: int = 100, size: int = 32, seed: int = 0, *, noise: float = 0.08, sulci: int = 3
) -> Phantom:
    """Generate ``n`` brain-like slices with labels 0..4 (see :data:`BRAIN_REGIONS`).

    The head is a wobbly ellipse; with rho = r / R(theta) the normalised radius,
    skull = 0.80 < rho <= 1, grey matter = 0.55 < rho <= 0.80, white matter = rho <= 0.55, and
    two ventricles are small ellipses inside the white matter. The true label maps therefore
    only contain the adjacencies of :data:`BRAIN_ADJACENCY`. Intensities per region plus a smooth
    bias field and Gaussian pixel noise of standard deviation ``noise``. ``sulci`` dark spots per
    image sit in the grey matter: they look like ventricles but are labeled grey matter.
    """
    n = check_positive_int(n, "n")
    size = check_positive_int(size, "size", minimum=24)
    check_number(noise, "noise", low=0.0, high=0.5)
    sulci = check_positive_int(sulci, "sulci", minimum=0)
    rng = np.random.default_rng(check_seed(seed, "seed"))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cy = size * (0.5 + rng.uniform(-0.04, 0.04, (n, 1, 1)))
    cx = size * (0.5 + rng.uniform(-0.04, 0.04, (n, 1, 1)))
    ry = size * rng.uniform(0.40, 0.46, (n, 1, 1))
    rx = size * rng.uniform(0.34, 0.42, (n, 1, 1))
    dy, dx = (yy - cy) / ry, (xx - cx) / rx
    theta = np.arctan2(dy, dx)
    rho = np.sqrt(dy**2 + dx**2) / _wobble(rng, n, theta, 0.04)
    masks = np.zeros((n, size, size), dtype=np.int64)
    masks[rho <= 1.0] = 1
    masks[rho <= 0.80] = 2
    masks[rho <= 0.55] = 3
    # two ventricles, left and right of the midline, well inside the white matter
    for side in (-1.0, 1.0):
        vy = cy + size * rng.uniform(-0.03, 0.03, (n, 1, 1))
        vx = cx + side * rx * rng.uniform(0.14, 0.20, (n, 1, 1))
        ay = size * rng.uniform(0.07, 0.10, (n, 1, 1))
        ax = size * rng.uniform(0.035, 0.05, (n, 1, 1))
        inside = ((yy - vy) / ay) ** 2 + ((xx - vx) / ax) ** 2 <= 1.0
        masks[inside & (rho <= 0.42)] = 4
    img = _BRAIN_INTENSITY[masks]
    # sulci: dark CSF spots inside the grey matter, as dark as the ventricles but labeled grey
    # matter -- a local look cannot tell them from a ventricle, the anatomy can
    for _ in range(sulci):
        ang = rng.uniform(0, 2 * np.pi, (n, 1, 1))
        rs = rng.uniform(0.62, 0.72, (n, 1, 1))
        sy = cy + rs * ry * np.sin(ang)
        sx = cx + rs * rx * np.cos(ang)
        rad = size * rng.uniform(0.035, 0.05, (n, 1, 1))
        spot = ((yy - sy) ** 2 + (xx - sx) ** 2 <= rad**2) & (masks == 2)
        img = np.where(spot, _BRAIN_INTENSITY[4], img)
    img = ndimage.gaussian_filter(img, (0, 0.6, 0.6))
    bias = ndimage.gaussian_filter(rng.standard_normal((n, size, size)), (0, 8, 8))
    img = img * (1.0 + 0.1 * bias / (bias.std() + 1e-6))
    img = img + noise * rng.standard_normal(img.shape)
    return Phantom(np.clip(img, 0, 1).astype(np.float32)[:, None], masks)


def adjacency_counts(masks, n_regions: int | None = None) -> np.ndarray:
    """Count ordered 4-neighbour pixel pairs: C[k, l] = #{(p, q) neighbours : L(p)=k, L(q)=l}.

    ``masks`` is (H, W) or (N, H, W) of integer labels; the result is a symmetric (K, K) int
    array summed over images. Every unordered neighbour pair {p, q} is counted in both orders,
    so the entries sum to 2 x (number of neighbour pairs). ``C > 0`` is the adjacency graph of
    the label maps.
    """
    m = np.asarray(masks)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3:
        raise ValueError(f"masks must be (H, W) or (N, H, W); got shape {m.shape}.")
    k = int(m.max()) + 1 if n_regions is None else check_positive_int(n_regions, "n_regions")
    counts = np.zeros((k, k), dtype=np.int64)
    for a, b in ((m[:, :, :-1], m[:, :, 1:]), (m[:, :-1, :], m[:, 1:, :])):
        np.add.at(counts, (a.ravel(), b.ravel()), 1)
    return counts + counts.T


class Sections(NamedTuple):
    """``images`` float32 (N, 1, H, W); ``areas`` int64 (N, H, W): the area of each pixel."""

    images: np.ndarray
    areas: np.ndarray


def texture_sections(
    n: int = 20, size: int = 64, seed: int = 0, *, n_areas: int = 4, noise: float = 0.15
) -> Sections:
    """Tissue-like sections whose texture depends on where you are, split into ``n_areas`` areas.

    The texture carries a (noisy) code of its position: the mean brightness grows from left to
    right, the amplitude of a grating from top to bottom, the grating's direction follows the
    polar angle around the section's centre and its frequency rises with the radius. The areas
    are ``n_areas`` angular sectors (rotated a little at random per section), as
    cortical areas are contiguous pieces of the cortex. A patch's area is therefore decided by
    where the patch lies -- exactly what predicting the distance between two patches teaches.
    """
    n = check_positive_int(n, "n")
    size = check_positive_int(size, "size", minimum=16)
    n_areas = check_positive_int(n_areas, "n_areas", minimum=2)
    check_number(noise, "noise", low=0.0, high=1.0)
    rng = np.random.default_rng(check_seed(seed, "seed"))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    cy = rng.uniform(-0.05, 0.05, (n, 1, 1))
    cx = rng.uniform(-0.05, 0.05, (n, 1, 1))
    dy, dx = yy - cy, xx - cx
    r = np.sqrt(dy**2 + dx**2)
    angle = np.arctan2(dy, dx)  # in (-pi, pi]
    turn = rng.uniform(-0.2, 0.2, (n, 1, 1))  # small random rotation of the layout
    a = np.mod(angle + np.pi + turn, 2 * np.pi)
    areas = np.minimum((a / (2 * np.pi) * n_areas).astype(np.int64), n_areas - 1)
    # position code, as cell density and layering change across the cortex: the mean brightness
    # grows from left to right, the grating's amplitude from top to bottom, its direction turns
    # with the polar angle and its frequency grows with the radius
    freq = 2 * np.pi * (6.0 + 20.0 * r) * size / 64
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    proj = dx * np.cos(a / 2) + dy * np.sin(a / 2)
    mean = 0.3 + 0.4 * (xx + 0.5)
    amp = 0.05 + 0.25 * (yy + 0.5)
    img = mean + amp * np.sin(freq * proj + phase)
    img = img + noise * rng.standard_normal(img.shape)
    return Sections(np.clip(img, 0, 1).astype(np.float32)[:, None], areas)


class MultiPhase(NamedTuple):
    """``images`` float32 (N, P, H, W); ``labels`` int64 (N,) 1 = lesion; ``visible`` bool (N, P):
    the phases in which the lesion shows."""

    images: np.ndarray
    labels: np.ndarray
    visible: np.ndarray


def multiphase_lesions(
    n: int = 400,
    size: int = 24,
    seed: int = 0,
    *,
    phases: int = 4,
    noise: float = 0.12,
    contrast: float = 0.35,
    shift: int = 2,
) -> MultiPhase:
    """Multi-phase contrast images (one channel per phase) where a lesion shows in 1-2 phases only.

    Each phase shows the same organ (a bright ellipse) with its own brightness -- contrast agent
    arrives at different times -- and its own misregistration of up to ``shift`` pixels. A lesion
    (label 1, in half of the images) is a small blob of intensity step ``contrast`` that is
    visible in one or two random phases and absent from the others, as a hypervascular lesion is
    seen in the arterial phase only. Background texture is independent per phase.
    """
    n = check_positive_int(n, "n")
    size = check_positive_int(size, "size", minimum=12)
    phases = check_positive_int(phases, "phases", minimum=2)
    check_number(noise, "noise", low=0.0, high=1.0)
    check_number(contrast, "contrast", low=0.0, high=1.0)
    shift = check_positive_int(shift, "shift", minimum=0)
    rng = np.random.default_rng(check_seed(seed, "seed"))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = size / 2
    organ = (((yy - c) / (0.38 * size)) ** 2 + ((xx - c) / (0.30 * size)) ** 2 <= 1.0).astype(
        np.float32
    )
    labels = (rng.random(n) < 0.5).astype(np.int64)
    n_vis = rng.integers(1, 3, n)
    visible = np.zeros((n, phases), dtype=bool)
    for i in range(n):
        if labels[i]:
            visible[i, rng.choice(phases, n_vis[i], replace=False)] = True
    ly = c + rng.uniform(-0.2, 0.2, n) * size
    lx = c + rng.uniform(-0.15, 0.15, n) * size
    lr = size * rng.uniform(0.06, 0.09, n)
    blob = (
        (yy - ly[:, None, None]) ** 2 + (xx - lx[:, None, None]) ** 2 <= lr[:, None, None] ** 2
    ).astype(np.float32)
    images = np.empty((n, phases, size, size), dtype=np.float32)
    level = rng.uniform(0.25, 0.6, (n, phases))  # organ brightness of each phase
    texture = ndimage.gaussian_filter(rng.standard_normal((n, phases, size, size)), (0, 0, 1, 1))
    for p in range(phases):
        img = 0.15 + level[:, p, None, None] * organ + contrast * visible[:, p, None, None] * blob
        img = img + 0.15 * texture[:, p]
        dyx = rng.integers(-shift, shift + 1, (n, 2))
        for i in range(n):  # misregistration: each phase is shifted a little
            img[i] = np.roll(img[i], tuple(dyx[i]), axis=(0, 1))
        images[:, p] = img
    images += noise * rng.standard_normal(images.shape).astype(np.float32)
    return MultiPhase(np.clip(images, 0, 1), labels, visible)
