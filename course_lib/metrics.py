"""Evaluation metrics of the course, each a small NumPy function with its formula in the docstring.

Sections: classification, localization (chapter 07), segmentation (chapter 08). Add new metrics
to the section they belong to.
"""

from __future__ import annotations

import numpy as np

# --- classification ---------------------------------------------------------------------------


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions; unlabeled entries (-1) in ``y_true`` are ignored."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}.")
    keep = y_true != -1
    if not keep.any():
        raise ValueError("y_true has no labeled entries to score.")
    return float(np.mean(y_true[keep] == y_pred[keep]))


# --- localization (chapter 07) ----------------------------------------------------------------


# --- segmentation (chapter 08) ----------------------------------------------------------------
