"""Synthetic grey-scale "lesion" images with exact masks: every localization claim is measurable.

Each image looks like a crop of a radiograph: a smooth anatomical background with texture and
noise, a brighter organ-like ellipse, and 0..k lesions of varying size and contrast with an
irregular outline, placed inside the organ. A lesion is a soft dome, brightest at its centre and
fading towards its outline (as the projection of a nodule is), not a flat plateau: with sharp-edged
plateaus the most discriminative features are edge detectors and a class activation map peaks on a
ring around the lesion instead of on it. Everything is generated in a few vectorised NumPy /
``scipy.ndimage`` passes, so thousands of images take about a second.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage

from course_lib._validation import check_number, check_positive_int, check_seed


class LesionSet(NamedTuple):
    """What :func:`lesions` returns; unpack it as ``X, y, boxes, masks = lesions(...)``.

    Attributes
    ----------
    images : float32 array (N, 1, H, W) in [0, 1]
    labels : int64 array (N,)
        0 = normal, t = lesions of type t (1..n_types) present.
    boxes : list of N int arrays (k_i, 4)
        One row ``(row0, col0, row1, col1)`` per lesion, half-open (``row1`` and ``col1`` are
        one past the last lesion pixel); shape (0, 4) for a normal image.
    masks : int8 array (N, H, W)
        0 = background, i = pixel of lesion i (matching row i - 1 of ``boxes``).
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: list
    masks: np.ndarray


def _smooth_noise(rng: np.random.Generator, n: int, size: int, sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise of unit standard deviation, independent per image."""
    field = ndimage.gaussian_filter(
        rng.standard_normal((n, size, size)).astype(np.float32), (0, sigma, sigma), mode="wrap"
    )
    return field / (field.std(axis=(1, 2), keepdims=True) + 1e-6)


def lesions(
    n: int = 1000,
    size: int = 64,
    seed: int = 0,
    *,
    p_lesion: float = 0.5,
    max_lesions: int = 2,
    radius: tuple[float, float] = (4.0, 8.0),
    contrast: tuple[float, float] = (0.3, 0.55),
    irregularity: float = 0.25,
    noise: float = 0.06,
    n_types: int = 1,
    dome: float = 3.0,
) -> LesionSet:
    """Generate ``n`` synthetic lesion images of ``size x size`` pixels.

    Parameters
    ----------
    n : int
        Number of images.
    size : int
        Height and width in pixels (>= 16).
    seed : int
        Seeds everything: the same seed gives the same images, labels, boxes and masks.
    p_lesion : float
        Probability that an image is abnormal (carries 1..``max_lesions`` lesions).
    max_lesions : int
        Largest number of lesions in one abnormal image (drawn uniformly from 1..max_lesions).
    radius : (float, float)
        Range of the mean lesion radius, in pixels at ``size=64`` (scaled with ``size``).
    contrast : (float, float)
        Range of the lesion's peak intensity (at its centre) against the organ. Lower = harder.
    irregularity : float
        Amplitude of the outline's harmonics: r(theta) = r0 (1 + sum_m a_m cos(m theta + phi_m)),
        m = 2..4 with |a_m| <= irregularity / 2. 0 gives ellipse-free round blobs.
    noise : float
        Standard deviation of the pixel noise. Higher = harder.
    n_types : {1, 2}
        1: label 1 = "lesion present". 2: two lesion types, 1 = bright and round-ish, 2 = darker
        and more irregular; an abnormal image carries lesions of one type.
    dome : float
        Intensity profile inside the outline: contrast x (1 - (d / r(theta))^2)^dome, d the
        distance to the lesion's centre, with a soft edge. 3 (default) gives a blob brightest at
        the centre; 0 a flat plateau with a sharp edge (CAM then lights up the edge, a ring).

    Returns
    -------
    LesionSet
        ``(images, labels, boxes, masks)``, see :class:`LesionSet`.
    """
    n = check_positive_int(n, "n")
    size = check_positive_int(size, "size", minimum=16)
    check_number(p_lesion, "p_lesion", low=0.0, high=1.0)
    max_lesions = check_positive_int(max_lesions, "max_lesions")
    if len(radius) != 2 or not 1.0 <= radius[0] <= radius[1] <= 16.0:
        raise ValueError(f"radius must be (low, high) with 1 <= low <= high <= 16; got {radius}.")
    if len(contrast) != 2 or not 0.0 < contrast[0] <= contrast[1] <= 1.0:
        raise ValueError(f"contrast must be (low, high) with 0 < low <= high <= 1; got {contrast}.")
    check_number(irregularity, "irregularity", low=0.0, high=1.0)
    check_number(noise, "noise", low=0.0, high=0.5)
    check_number(dome, "dome", low=0.0, high=10.0)
    if n_types not in (1, 2):
        raise ValueError(f"n_types must be 1 or 2; got {n_types!r}.")
    rng = np.random.default_rng(check_seed(seed, "seed"))
    scale = size / 64.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)

    # 1. anatomy: smooth low-frequency shading + medium-frequency texture
    img = 0.30 + 0.08 * _smooth_noise(rng, n, size, 10 * scale)
    img += 0.035 * _smooth_noise(rng, n, size, 1.5 * scale)

    # 2. an organ-like ellipse with a soft edge, brighter than its surroundings
    cy = size * rng.uniform(0.42, 0.58, n)
    cx = size * rng.uniform(0.42, 0.58, n)
    ay = size * rng.uniform(0.30, 0.40, n)  # semi-axes
    ax = size * rng.uniform(0.30, 0.40, n)
    rot = rng.uniform(0, np.pi, n)

    def per_image(a):  # (n,) -> (n, 1, 1) float32, to broadcast against the pixel grid
        return a.astype(np.float32)[:, None, None]

    c, s = per_image(np.cos(rot)), per_image(np.sin(rot))
    dy, dx = yy - per_image(cy), xx - per_image(cx)
    u = (c * dx + s * dy) / per_image(ax)
    v = (-s * dx + c * dy) / per_image(ay)
    organ = 1.0 / (1.0 + np.exp((np.sqrt(u * u + v * v) - 1.0) * 12.0))
    img += per_image(rng.uniform(0.12, 0.20, n)) * organ

    # 3. lesions: number per image, then all lesions of all images at once
    abnormal = rng.random(n) < p_lesion
    k = np.where(abnormal, rng.integers(1, max_lesions + 1, n), 0)
    types = np.where(abnormal, rng.integers(1, n_types + 1, n), 0)
    owner = np.repeat(np.arange(n), k)  # image of each lesion
    n_les = owner.size
    ltype = types[owner]
    # centres inside the inner 65 % of the organ ellipse
    rad = 0.65 * np.sqrt(rng.random(n_les))
    ang = rng.uniform(0, 2 * np.pi, n_les)
    uu, vv = rad * np.cos(ang) * ax[owner], rad * np.sin(ang) * ay[owner]
    co, so = np.cos(rot[owner]), np.sin(rot[owner])
    ly = cy[owner] + so * uu + co * vv
    lx = cx[owner] + co * uu - so * vv
    r0 = scale * rng.uniform(radius[0], radius[1], n_les)
    irr = np.where(ltype == 2, 1.6, 1.0) * irregularity
    amp = rng.uniform(-0.5, 0.5, (n_les, 3)) * irr[:, None]
    phase = rng.uniform(0, 2 * np.pi, (n_les, 3))
    # each lesion is drawn in a local window of w x w pixels around its centre (4x fewer pixels)
    reach = radius[1] * scale * (1.0 + 1.5 * 1.6 * irregularity) + 4.0
    w = int(min(size, 2 * np.ceil(reach) + 1))
    top = np.clip(np.round(ly).astype(int) - w // 2, 0, size - w)
    left = np.clip(np.round(lx).astype(int) - w // 2, 0, size - w)
    wy, wx = np.mgrid[0:w, 0:w].astype(np.float32)
    ldy = wy + (top - ly)[:, None, None].astype(np.float32)
    ldx = wx + (left - lx)[:, None, None].astype(np.float32)
    theta = np.arctan2(ldy, ldx)
    outline = np.ones_like(theta)
    for j, m in enumerate((2, 3, 4)):  # r(theta) = r0 (1 + sum_m a_m cos(m theta + phi_m))
        outline += amp[:, j, None, None] * np.cos(m * theta + phase[:, j, None, None])
    r_theta = (r0[:, None, None] * np.clip(outline, 0.4, None)).astype(np.float32)
    dist = np.sqrt(ldy**2 + ldx**2)
    les_mask = dist <= r_theta  # (L, w, w)
    ci = np.clip(np.round(ly).astype(int) - top, 0, w - 1)
    cj = np.clip(np.round(lx).astype(int) - left, 0, w - 1)
    les_mask[np.arange(n_les), ci, cj] = True  # at least the centre pixel
    # a dome, brightest at the centre, with a soft edge and inner texture
    profile = 1.0 / (1.0 + np.exp((dist - r_theta) * 2.0))
    if dome > 0:
        profile *= np.clip(1.0 - (dist / r_theta) ** 2, 0.0, 1.0) ** dome
    sign = np.where(ltype == 2, -0.8, 1.0)
    amp_l = (sign * rng.uniform(contrast[0], contrast[1], n_les))[:, None, None]
    bump = (amp_l * profile).astype(np.float32)
    rows = (top[:, None] + np.arange(w))[:, :, None]
    cols = (left[:, None] + np.arange(w))[:, None, :]
    if n_les:
        bump *= 1.0 + 0.25 * _smooth_noise(rng, n_les, w, 1.0 * scale)
        np.add.at(img, (owner[:, None, None], rows, cols), bump)

    # 4. per-lesion masks and boxes
    masks = np.zeros((n, size, size), dtype=np.int8)
    boxes = [np.zeros((0, 4), dtype=np.int64) for _ in range(n)]
    if n_les:
        index = np.arange(n_les) - np.repeat(np.cumsum(k) - k, k)  # lesion index in its image
        rmask, cmask = les_mask.any(2), les_mask.any(1)
        r_first, r_last = rmask.argmax(1), w - rmask[:, ::-1].argmax(1)
        c_first, c_last = cmask.argmax(1), w - cmask[:, ::-1].argmax(1)
        all_boxes = np.stack([r_first + top, c_first + left, r_last + top, c_last + left], 1)
        for i in range(n_les - 1, -1, -1):  # first lesion on top where two overlap
            sub = masks[owner[i], top[i] : top[i] + w, left[i] : left[i] + w]
            sub[les_mask[i]] = index[i] + 1
        starts = np.cumsum(k) - k
        for img_i in np.flatnonzero(k):
            boxes[img_i] = all_boxes[starts[img_i] : starts[img_i] + k[img_i]].astype(np.int64)

    # 5. pixel noise, then clip to [0, 1]
    img += noise * rng.standard_normal(img.shape).astype(np.float32)
    images = np.clip(img, 0.0, 1.0).astype(np.float32)[:, None]
    return LesionSet(images, types.astype(np.int64), boxes, masks)
