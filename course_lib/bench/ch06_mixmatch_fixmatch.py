"""Chapter 06: the notebook's lesson (FixMatch vs the supervised CNN, digits 5 labels/class) over
more seeds. The experiment is ``course_lib.experiments.ch06_mixmatch_fixmatch``; ``BENCH`` is the
notebook's training, recorded only at the end."""

from __future__ import annotations

import numpy as np

from course_lib.experiments import ch06_mixmatch_fixmatch as ch06
from course_lib.report import Table, mean_std


def run(quick: bool, device: str | None) -> list[Table]:
    s = ch06.BENCH
    seeds = range(2 if quick else 5)
    records = [r for seed in seeds for r in ch06.run(s, seed, device=device)]
    t = Table(
        f"Ch06 - FixMatch vs supervised CNN, digits {s.per_class} labels/class (notebook settings)",
        ["method", "test accuracy % (mean ± std)", "fit s (mean)", "seeds"],
        note=f"SmallCNN widths {s.widths}, {s.steps} steps, batch {s.batch_size}; "
        f"FixMatch tau {s.tau}, mu {s.mu}.",
    )
    for name in ("supervised", "FixMatch"):
        mine = [r for r in records if r["method"] == name]
        t.add(name, mean_std([r["accuracy"] for r in mine]),
              float(np.mean([r["seconds"] for r in mine])), len(mine))  # fmt: skip
    return [t]
