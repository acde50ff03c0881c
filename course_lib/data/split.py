"""Hide labels: the scikit-learn convention ``y == -1`` marks an unlabeled example."""

from __future__ import annotations

import numpy as np

from course_lib._validation import check_positive_int, check_seed, check_y

UNLABELED = -1


def split_labeled(y, per_class: int, seed: int = 0) -> np.ndarray:
    """Return a copy of ``y`` in which all but ``per_class`` examples of each class are ``-1``.

    The labeled examples are drawn uniformly without replacement inside each class
    (stratified, exact counts); the same ``seed`` always keeps the same examples.

    Parameters
    ----------
    y : array of shape (n,)
        Fully labeled targets (integers >= 0).
    per_class : int
        Number of labels to keep per class, 1 <= per_class <= size of the smallest class.
    seed : int
        Seed of the draw.
    """
    y = check_y(y, allow_unlabeled=False)
    per_class = check_positive_int(per_class, "per_class")
    classes, counts = np.unique(y, return_counts=True)
    if classes.size < 2:
        raise ValueError("y holds a single class; semi-supervised learning needs at least two.")
    if per_class > counts.min():
        small = classes[np.argmin(counts)]
        raise ValueError(
            f"per_class={per_class} is larger than class {small}, which has only "
            f"{counts.min()} examples; choose per_class <= {counts.min()}."
        )
    rng = np.random.default_rng(check_seed(seed, "seed"))
    out = np.full_like(y, UNLABELED)
    for c in classes:
        idx = np.flatnonzero(y == c)
        keep = rng.choice(idx, size=per_class, replace=False)
        out[keep] = c
    return out
