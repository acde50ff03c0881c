"""Chapter 02: the Laplacian SVM (manifold regularization) beside graph label propagation.

Formats the chapter's two experiments (``course_lib.experiments.ch02_laplacian_svm``) over
seeds -- Figure 2 over 10 seeds (the target) and the side-by-side comparison -- and LapSVM's
fit time on 200 and 2,000 moons (``fit_seconds``).
"""

from __future__ import annotations

import numpy as np

from course_lib.experiments.ch02_laplacian_svm import BENCH, FIGURE2, figure2, fit_seconds
from course_lib.experiments.ch02_laplacian_svm import run as side_by_side
from course_lib.report import Table, mean_std, pivot


def run(quick: bool, device: str | None) -> list[Table]:
    del device  # scikit-learn / NumPy only: CPU
    records = [r for seed in range(3 if quick else 10) for r in figure2(FIGURE2, seed)]
    target = Table(
        "Ch02 - LapSVM on 200 moons (noise 0.05, 1 label/class, γ_A=0.03125, defaults)",
        ["method", "transductive accuracy % (mean ± std)", "min %", "seeds"],
    )
    for name in dict.fromkeys(r["method"] for r in records):
        accs = [r["accuracy"] for r in records if r["method"] == name]
        target.add(name, mean_std(accs), f"{100 * np.min(accs):.1f}", len(accs))
    target.note = "target: LapSVM γ_I = 1 >= 99 % mean over 10 seeds."

    speed = Table(
        "Ch02 - LapSVM fit time (moons, 1 label/class)", ["points", "fit s (median)", "repeats"]
    )
    for n, reps in ((200, 20), (2000, 3 if quick else 5)):
        speed.add(n, float(np.median(fit_seconds(n, reps))), reps)
    speed.note = "targets: <= 0.05 s for 200 points, <= 2 s for 2000 points (2 CPU cores)."

    compared = [r for seed in range(2 if quick else 5) for r in side_by_side(BENCH, seed)]
    table = pivot(
        compared,
        "Ch02 - side by side: moons 1 label/class, digits 5, breast cancer 10",
        cols="data",
    )
    table.note += "; transductive accuracy (on the points whose labels were hidden)."
    return [target, speed, table]
