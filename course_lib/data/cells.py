"""Synthetic fluorescence-microscopy nuclei with exact instance masks and bounding boxes.

Chapter 08 learns segmentation from boxes. To *measure* how close a box-trained network gets to
a mask-trained one, we need images whose true masks are known exactly: this generator draws
nuclei as textured, irregular, rotated ellipses of varying size and brightness on an uneven
background, lets some of them touch, then blurs the image (the optics) and adds noise (the
camera). Every pixel's instance is known, so Dice and IoU are exact.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.ndimage import gaussian_filter

from course_lib._validation import check_number, check_positive_int, check_seed


class Cells(NamedTuple):
    """What :func:`cells` returns (a named tuple: unpack it or use the attributes).

    Attributes
    ----------
    images : float32 array (n, 1, size, size)
        Grey-scale images, roughly in [0, 1].
    masks : int64 array (n, size, size)
        Semantic masks: 1 on nuclei, 0 on background.
    instances : int64 array (n, size, size)
        Instance masks: 0 background, k = 1..K_i for the k-th nucleus of image i.
    boxes : list of int64 arrays (K_i, 4)
        Per image, one tight box per nucleus as ``(r0, c0, r1, c1)``: rows ``r0:r1`` and
        columns ``c0:c1`` (end exclusive, NumPy slicing), row k belongs to instance k + 1.
    """

    images: np.ndarray
    masks: np.ndarray
    instances: np.ndarray
    boxes: list


def _place_centres(rng, k, radii, size, touch, margin):
    """Rejection-sample up to ``k`` centres; two nuclei may come as close as ``touch`` times the
    sum of their radii (``touch < 1`` lets them touch or press into each other)."""
    centres, kept = [], []
    for j in range(k):
        for _ in range(30):
            c = rng.uniform(margin[j], size - margin[j], size=2)
            if all(
                np.hypot(*(c - centres[i])) >= touch * (radii[j] + radii[kept[i]])
                for i in range(len(centres))
            ):
                centres.append(c)
                kept.append(j)
                break
    return np.asarray(centres).reshape(-1, 2), np.asarray(kept, dtype=int)


_CHUNK = 25  # images rasterised at once


def cells(
    n: int = 200,
    size: int = 64,
    seed: int = 0,
    *,
    nuclei: tuple[int, int] = (3, 7),
    radius: tuple[float, float] = (5.0, 10.0),
    aspect: tuple[float, float] = (1.0, 1.8),
    irregularity: float = 0.08,
    touch: float = 0.85,
    blur: float = 1.0,
    noise: float = 0.05,
) -> Cells:
    """Generate ``n`` microscopy-like images of nuclei with exact instance masks and boxes.

    Nucleus k is the set of pixels whose normalised radius is below an irregular boundary,

        rho_k(x) = || R(-phi_k) (x - c_k) / (a_k, b_k) ||,
        r_k(theta) = 1 + sum_{m=2}^{4} e_{km} cos(m theta + psi_{km}),   inside: rho_k < r_k(theta),

    with semi-axes ``a_k >= b_k`` (``a_k`` in ``radius``, ``a_k / b_k`` in ``aspect``), angle
    ``phi_k`` and harmonic amplitudes ``e_km ~ U(-irregularity, irregularity)``. Where two
    nuclei overlap, a pixel belongs to the one with the smaller ``rho_k / r_k``, so touching
    nuclei share a clean border. Intensity: a per-nucleus brightness in [0.35, 1] times a smooth
    random texture with a few dark spots (chromatin), on a background with a linear illumination
    gradient; then a Gaussian blur of width ``blur`` (pixels) and Gaussian noise of standard
    deviation ``noise``.

    Parameters
    ----------
    n : int
        Number of images.
    size : int
        Image side in pixels (>= 24).
    seed : int
        Seed of the generator: same seed, same images.
    nuclei : (int, int)
        Inclusive range of the number of nuclei per image (fewer when they do not fit).
    radius : (float, float)
        Range of the major semi-axis in pixels.
    aspect : (float, float)
        Range of the major/minor axis ratio (>= 1).
    irregularity : float
        Amplitude of the boundary harmonics (0 = perfect ellipses).
    touch : float
        Minimum centre distance as a fraction of the sum of the two major semi-axes; below 1,
        neighbouring nuclei can touch.
    blur, noise : float
        Optical blur (Gaussian sigma, pixels) and camera noise (standard deviation).

    Returns
    -------
    Cells
        ``images (n, 1, size, size)``, ``masks``, ``instances (n, size, size)`` and ``boxes``.
    """
    n = check_positive_int(n, "n")
    size = check_positive_int(size, "size", minimum=24)
    seed = check_seed(seed, "seed")
    if len(nuclei) != 2 or not 1 <= nuclei[0] <= nuclei[1]:
        raise ValueError(f"nuclei must be (min, max) with 1 <= min <= max; got {nuclei!r}.")
    k_min = check_positive_int(nuclei[0], "nuclei[0]")
    k_max = check_positive_int(nuclei[1], "nuclei[1]")
    if len(radius) != 2 or not 1.0 <= radius[0] <= radius[1] <= size / 3:
        raise ValueError(
            f"radius must be (min, max) with 1 <= min <= max <= size / 3 = {size / 3:.1f}; "
            f"got {radius!r}."
        )
    if len(aspect) != 2 or not 1.0 <= aspect[0] <= aspect[1]:
        raise ValueError(f"aspect must be (min, max) with 1 <= min <= max; got {aspect!r}.")
    irregularity = check_number(irregularity, "irregularity", low=0.0, high=0.3)
    touch = check_number(touch, "touch", low=0.5, high=2.0)
    blur = check_number(blur, "blur", low=0.0)
    noise = check_number(noise, "noise", low=0.0)

    rng = np.random.default_rng(int(seed))
    K = k_max
    # --- per-nucleus parameters, padded to K nuclei per image (valid marks the real ones) ----
    a = rng.uniform(radius[0], radius[1], size=(n, K))
    b = a / rng.uniform(aspect[0], aspect[1], size=(n, K))
    phi = rng.uniform(0.0, np.pi, size=(n, K))
    harm = rng.uniform(-irregularity, irregularity, size=(n, K, 3))
    psi = rng.uniform(0.0, 2 * np.pi, size=(n, K, 3))
    bright = rng.uniform(0.35, 1.0, size=(n, K))
    count = rng.integers(k_min, k_max + 1, size=n)
    centres = np.zeros((n, K, 2))
    valid = np.zeros((n, K), dtype=bool)
    for i in range(n):  # placement is a tiny rejection loop; the rasterisation is vectorised
        c, kept = _place_centres(rng, count[i], a[i], size, touch, margin=0.6 * a[i] + 1)
        order = np.concatenate([kept, np.setdiff1d(np.arange(K), kept)])
        for arr in (a, b, phi, bright, harm, psi):  # kept nuclei first, then the unused slots
            arr[i] = arr[i][order]
        centres[i, : len(kept)] = c
        valid[i, : len(kept)] = True

    # --- rasterise the nuclei, a chunk of images at a time: (chunk, K, size, size) normalised
    # radii (the whole set at once peaked at ~350 MB for 200 images; the values are the same) ----
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    nearest = np.empty((n, size, size), dtype=np.int64)
    rim = np.empty((n, size, size), dtype=np.float32)  # rho / r of the nucleus a pixel belongs to
    for start in range(0, n, _CHUNK):
        c = slice(start, start + _CHUNK)
        dy = yy[None, None] - centres[c, :, 0, None, None].astype(np.float32)
        dx = xx[None, None] - centres[c, :, 1, None, None].astype(np.float32)
        cos, sin = np.cos(phi[c])[..., None, None], np.sin(phi[c])[..., None, None]
        u = (dx * cos + dy * sin) / a[c, :, None, None]
        v = (-dx * sin + dy * cos) / b[c, :, None, None]
        rho = np.sqrt(u**2 + v**2)
        theta = np.arctan2(v, u)
        r = 1.0 + sum(
            harm[c, :, m, None, None] * np.cos((m + 2) * theta + psi[c, :, m, None, None])
            for m in range(3)
        )
        d = np.where(valid[c, :, None, None], rho / r, np.inf).astype(np.float32)
        nearest[c] = d.argmin(axis=1)  # the closest nucleus wins shared pixels
        rim[c] = np.take_along_axis(d, nearest[c][:, None], axis=1)[:, 0]
    inside = rim < 1.0
    instances = np.where(inside, nearest + 1, 0).astype(np.int64)
    masks = inside.astype(np.int64)

    # --- intensities: textured nuclei on an uneven background, blur, noise ------------------
    texture = gaussian_filter(rng.normal(size=(n, size, size)), sigma=(0, 1.5, 1.5))
    texture /= texture.std() + 1e-8
    spots = gaussian_filter((rng.random((n, size, size)) < 0.02).astype(float), (0, 1.0, 1.0))
    spots /= spots.max() + 1e-8
    level = np.take_along_axis(bright, nearest.reshape(n, -1), axis=1).reshape(n, size, size)
    nucleus = level * (1.0 + 0.15 * texture - 0.45 * spots) * (1.0 - 0.25 * rim**2)
    gx, gy = rng.uniform(-0.08, 0.08, size=(2, n, 1, 1))
    background = 0.12 + gx * (xx / size - 0.5) + gy * (yy / size - 0.5)
    img = np.where(inside, nucleus, background)
    if blur > 0:
        img = gaussian_filter(img, sigma=(0, blur, blur))
    img = img + noise * rng.normal(size=img.shape)
    images = img.astype(np.float32)[:, None]

    boxes = []
    for i in range(n):  # one tight box per nucleus; instance ids renumbered 1..K_i
        ids = [j + 1 for j in range(K) if valid[i, j] and (instances[i] == j + 1).any()]
        relabel = np.zeros(K + 1, dtype=np.int64)
        relabel[ids] = np.arange(1, len(ids) + 1)
        instances[i] = relabel[instances[i]]
        bx = np.zeros((len(ids), 4), dtype=np.int64)
        for k in range(len(ids)):
            rows = np.flatnonzero((instances[i] == k + 1).any(axis=1))
            cols = np.flatnonzero((instances[i] == k + 1).any(axis=0))
            bx[k] = rows[0], cols[0], rows[-1] + 1, cols[-1] + 1
        boxes.append(bx)
    return Cells(images, masks, instances, boxes)
