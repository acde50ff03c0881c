"""scikit-learn's handwritten digits: 1,797 real 8x8 scans shipped with scikit-learn."""

from __future__ import annotations

import numpy as np

from course_lib._validation import check_number, check_seed


def digits(
    test_fraction: float = 0.3, seed: int = 0, flat: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``X_train, y_train, X_test, y_test`` of the digits, pixels scaled to [0, 1].

    Images have shape (N, 1, 8, 8) (or (N, 64) with ``flat=True``), float32; labels 0..9.
    The train/test split is stratified and fixed by ``seed`` (default: 1,257 train, 540 test).
    """
    # scikit-learn is imported when needed: ~95 MB of a kernel that never uses it (issue 19)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    check_number(
        test_fraction, "test_fraction", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)
    X = X.reshape(len(X), 64) if flat else X[:, None]
    y = d.target.astype(np.int64)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=test_fraction, stratify=y, random_state=check_seed(seed, "seed")
    )
    return X_tr, y_tr, X_te, y_te
