"""Multi-transform pseudo-labels: "omni-supervised" learning by data distillation.

I. Radosavovic, P. Dollar, R. Girshick, G. Gkioxari, K. He, "Data Distillation: Towards
Omni-Supervised Learning", CVPR 2018, arXiv:1712.04440. In medical imaging the same recipe
(ensemble over transforms, keep the confident, retrain) appears e.g. in Huang et al.,
MICCAI 2018. Not a per-step loss but a three-stage recipe:

1. train a teacher on the labeled data;
2. **distil**: average the teacher's predictions over several transforms of each unlabeled
   input and keep the confident ones as hard labels (:func:`multi_transform_labels`);
3. train a student on the labeled plus the pseudo-labeled data (any method, e.g. Supervised).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from course_lib._validation import check_number, check_positive_int, check_seed, check_X, check_y
from course_lib.train import predict


@torch.no_grad()
def multi_transform_predict(
    model: nn.Module,
    X,
    transforms: Sequence[Callable],
    *,
    n_draws: int = 1,
    seed: int = 0,
    batch_size: int = 1024,
) -> np.ndarray:
    r"""Average of the softmax over transforms: p(y | x) = (1/|T|) sum_{t in T} f(t(x)).

    ``transforms`` are callables x -> x' on a batch (deterministic or random); each random one
    is drawn ``n_draws`` times. The identity can be included as ``lambda x: x``.
    Returns an array (n, C).
    """
    if not transforms or not all(callable(t) for t in transforms):
        raise ValueError("transforms must be a non-empty list of callables x -> x'.")
    n_draws = check_positive_int(n_draws, "n_draws")
    seed = check_seed(seed)
    X = check_X(X)
    gen_state = torch.get_rng_state()
    torch.manual_seed(seed)
    try:
        total, count = None, 0
        for t in transforms:
            for _ in range(n_draws):
                p = predict(
                    model,
                    X,
                    forward=lambda x, t=t: torch.softmax(model(t(x)), dim=1),  # f(t(x))
                    batch_size=batch_size,
                )
                total = p if total is None else total + p
                count += 1
    finally:
        torch.set_rng_state(gen_state)  # the caller's random stream is left as it was
    return total / count


def multi_transform_labels(probs, y, threshold: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """Distilled labels: the given labels, plus arg-max p for unlabeled points with
    max p >= threshold; the rest stays -1.

    Parameters
    ----------
    probs : array (n, C)
        Ensembled predictions (:func:`multi_transform_predict`).
    y : array (n,)
        Labels, -1 = unlabeled. Given labels are never overwritten.
    threshold : float in (0, 1]
        Confidence needed to keep a pseudo-label.

    Returns
    -------
    y_new : array (n,)
        Labels for the student.
    kept : bool array (n,)
        Which unlabeled points received a pseudo-label.
    """
    probs = np.asarray(probs, dtype=float)
    y = check_y(y, probs.shape[0])
    check_number(threshold, "threshold", low=0.0, high=1.0, low_inclusive=False)
    if probs.ndim != 2:
        raise ValueError(f"probs must have shape (n, n_classes); got {probs.shape}.")
    kept = (y == -1) & (probs.max(1) >= threshold)
    y_new = y.copy()
    y_new[kept] = probs.argmax(1)[kept]
    return y_new, kept
