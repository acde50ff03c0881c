"""Chapter 01: supervised MLP on two moons with few labels.

Formats ``course_lib.experiments.ch01_two_moons.run(BENCH, seed)`` over seeds (the notebook
runs the same experiment with ``NOTEBOOK``: 400 steps instead of SSLClassifier's 500).
"""

from __future__ import annotations

import numpy as np

from course_lib.experiments.ch01_two_moons import BENCH
from course_lib.experiments.ch01_two_moons import run as supervised
from course_lib.report import Table, mean_std


def run(quick: bool, device: str | None) -> list[Table]:
    records = [r for s in range(2 if quick else 5) for r in supervised(BENCH, s, device=device)]
    table = Table(
        "Ch01 - supervised MLP, two moons (1000 points, noise 0.1)",
        ["labels/class", "test accuracy % (mean ± std)", "fit s (mean)", "seeds"],
    )
    for k in dict.fromkeys(r["per_class"] for r in records):
        mine = [r for r in records if r["per_class"] == k]
        accs = [r["accuracy"] for r in mine]
        table.add(str(k), mean_std(accs), float(np.mean([r["seconds"] for r in mine])), len(accs))
    return [table]
