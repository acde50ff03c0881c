"""Two interleaving half circles: the standard picture of the cluster and manifold assumptions."""

from __future__ import annotations

import numpy as np

from course_lib._validation import check_number, check_positive_int, check_seed


def two_moons(n: int = 1000, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` points of two moons with Gaussian noise of standard deviation ``noise``.

    Returns ``X`` of shape (n, 2), float32, and ``y`` of shape (n,) with classes 0 and 1
    (balanced: ``n // 2`` and ``n - n // 2`` points).
    """
    n = check_positive_int(n, "n", minimum=2)
    noise = check_number(noise, "noise", low=0.0)
    from sklearn.datasets import make_moons  # when needed: scikit-learn is ~95 MB of memory

    X, y = make_moons(n_samples=n, noise=noise, random_state=check_seed(seed, "seed"))
    return X.astype(np.float32), y.astype(np.int64)


def moons_curves(n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """The two noise-free half circles (the manifolds the data lie on), each of shape (n, 2)."""
    s = np.linspace(0.0, np.pi, n)
    upper = np.stack([np.cos(s), np.sin(s)], axis=1)
    lower = np.stack([1.0 - np.cos(s), 0.5 - np.sin(s)], axis=1)
    return upper.astype(np.float32), lower.astype(np.float32)
