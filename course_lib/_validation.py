"""Input checks shared by every estimator and loop: clear errors that name the parameter."""

from __future__ import annotations

import numbers

import numpy as np


def check_X(X, *, name: str = "X", ndim: tuple[int, ...] | None = None) -> np.ndarray:
    """Return X as a float32 array; raise ValueError for NaN/inf, empty or wrongly shaped input."""
    try:
        arr = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric array; got {type(X).__name__}.") from err
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; pass at least one example (rows = examples).")
    if ndim is not None and arr.ndim not in ndim:
        raise ValueError(
            f"{name} has {arr.ndim} dimensions (shape {arr.shape}); expected {ndim} "
            "(e.g. (n_samples, n_features) for points, (n, channels, H, W) for images)."
        )
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s); remove or impute them first."
        )
    return arr


def check_y(y, n: int | None = None, *, name: str = "y", allow_unlabeled: bool = True):
    """Return y as an int64 array. ``-1`` marks unlabeled examples (scikit-learn convention)."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per example); got shape {arr.shape}.")
    if arr.size and not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must hold integer class labels (-1 = unlabeled).")
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; use -1 to mark unlabeled examples.")
    if arr.size and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integer class labels; got non-integer values.")
    arr = arr.astype(np.int64)
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"X and {name} have different lengths ({n} vs {arr.shape[0]}); "
            "give one label (or -1) per example."
        )
    if allow_unlabeled:
        if np.any(arr < -1):
            raise ValueError(f"{name} has labels below -1; use -1 for unlabeled, 0..C-1 otherwise.")
    elif np.any(arr < 0):
        raise ValueError(f"{name} must not contain unlabeled (-1) entries here.")
    return arr


def check_labeled_classes(y: np.ndarray, *, name: str = "y") -> np.ndarray:
    """Return the sorted labeled classes; need at least two, each with at least one example."""
    classes = np.unique(y[y != -1])
    if classes.size == 0:
        raise ValueError(f"{name} has no labeled examples (all -1); label at least one per class.")
    if classes.size < 2:
        raise ValueError(
            f"{name} has labeled examples of a single class ({classes[0]}); a classifier needs "
            "at least two classes with at least one label each."
        )
    return classes


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def check_number(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Check that ``value`` is a finite real number inside the given interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}.")
    lo_ok = low is None or (value >= low if low_inclusive else value > low)
    hi_ok = high is None or (value <= high if high_inclusive else value < high)
    if not (lo_ok and hi_ok):
        lb = "-inf" if low is None else f"{low}"
        hb = "inf" if high is None else f"{high}"
        interval = f"{'[' if low_inclusive else '('}{lb}, {hb}{']' if high_inclusive else ')'}"
        raise ValueError(f"{name} must lie in {interval}; got {value!r}.")
    return float(value)
