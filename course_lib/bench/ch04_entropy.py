"""Chapter 04: entropy minimization (two moons) and the confidence penalty (digits).

Formats ``course_lib.experiments.ch04_entropy``: :func:`run` over seeds with ``BENCH``, and
:func:`confidence` (seed 0).
"""

from __future__ import annotations

import numpy as np

from course_lib.experiments.ch04_entropy import BENCH, CONFIDENCE, confidence
from course_lib.experiments.ch04_entropy import run as entropy
from course_lib.report import Table, mean_std


def run(quick: bool, device: str | None) -> list[Table]:
    records = [r for s in range(2 if quick else 5) for r in entropy(BENCH, s, device=device)]
    moons = Table(
        "Ch04 - entropy methods, two moons (1000 points, noise 0.1), 3 labels/class",
        ["method", "test accuracy % (mean ± std)", "points near boundary %", "fit s", "seeds"],
        note="'near boundary': training points with |p(1|x) - 0.5| < 0.3 (low: boundary in a gap).",
    )
    for name in BENCH.methods:
        mine = [r for r in records if r["method"] == name]
        moons.add(
            name,
            mean_std([r["accuracy"] for r in mine]),
            mean_std([r["near_boundary"] for r in mine]),
            float(np.mean([r["seconds"] for r in mine])),
            len(mine),
        )

    conf = Table(
        "Ch04 - over-confidence on digits (flat, MLP 128-128, all labels, seed 0)",
        ["regulariser", "test accuracy %", "mean max probability", "share p_max >= 0.95 %"],
    )
    for r in confidence(CONFIDENCE, 0, device=device):
        conf.add(r["method"], 100 * r["accuracy"], r["mean_max_prob"], 100 * r["share_confident"])
    return [moons, conf]
