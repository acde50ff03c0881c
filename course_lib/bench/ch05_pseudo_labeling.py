"""Chapter 05: confirmation bias on two moons and data distillation on the digits.

Formats ``course_lib.experiments.ch05_pseudo_labeling`` over seeds: :func:`thresholds` with
``BENCH`` (the chapter's settings, one label per class drawn with each seed) and
:func:`distillation` (5 labels/class drawn with each seed). Pseudo-Label's row of the results
table (tuned settings, 3 labels/class) is in ``ch06b_results``.
"""

from __future__ import annotations

import numpy as np

from course_lib.experiments.ch05_pseudo_labeling import (
    BENCH,
    DISTILLATION,
    distillation,
    thresholds,
)
from course_lib.report import Table, mean_std


def run(quick: bool, device: str | None) -> list[Table]:
    seeds = range(2 if quick else 5)
    records = [r for s in seeds for r in thresholds(BENCH, s, device=device)]
    bias = Table(
        "Ch05 - confirmation bias: Pseudo-Label, two moons (600 points), 1 label/class, 300 steps",
        ["method", "test accuracy % (mean ± std)", "mask rate at the end %",
         "confidence on its test mistakes", "fit s", "seeds"],
        note="Confidence on mistakes: mean max probability on the misclassified test points.",
    )  # fmt: skip
    for name in dict.fromkeys(r["method"] for r in records):
        mine = [r for r in records if r["method"] == name]
        mask = [r["mask_rate"] for r in mine]
        bias.add(
            name,
            mean_std([r["accuracy"] for r in mine]),
            "–" if np.isnan(mask).all() else mean_std(mask),
            mean_std([r["confidence_wrong"] for r in mine], pct=False),
            float(np.mean([r["seconds"] for r in mine])),
            len(mine),
        )
    distilled = [r for s in seeds for r in distillation(DISTILLATION, s, device=device)]
    distill = Table(
        "Ch05 - data distillation on the digits, 5 labels/class, CNN (16, 32), 300 steps",
        ["method", "test accuracy % (mean ± std)", "multi-transform pseudo-labels (wrong)",
         "single-view pseudo-labels (wrong)", "fit s", "seeds"],
    )  # fmt: skip
    for name in dict.fromkeys(r["method"] for r in distilled):
        mine = [r for r in distilled if r["method"] == name]

        def counts(view, mine=mine):
            if "pseudo_labels" not in mine[0]:
                return "–"
            c = [r["pseudo_labels"][view] for r in mine]
            return f"{np.mean([x['kept'] for x in c]):.0f} ({np.mean([x['wrong'] for x in c]):.1f})"

        distill.add(
            name,
            mean_std([r["accuracy"] for r in mine]),
            counts("multi-transform"),
            counts("single view"),
            float(np.mean([r["seconds"] for r in mine])),
            len(mine),
        )
    return [bias, distill]
