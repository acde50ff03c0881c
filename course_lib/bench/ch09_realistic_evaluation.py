"""Chapter 09: label-count sweep and class-distribution mismatch on digits (Oliver et al. 2018).

The experiments are ``course_lib.experiments.ch09_realistic_evaluation`` with its ``BENCH``
settings: the supervised baseline tuned on the validation set (label draw 0), then every method
over 5 label draws (2 with ``--quick``, which also trains 200 steps and drops FixMatch).
"""

from __future__ import annotations

from dataclasses import replace

from course_lib.experiments import ch09_realistic_evaluation as ch09
from course_lib.report import Table, pivot


def run(quick: bool, device: str | None) -> list[Table]:
    settings = ch09.BENCH
    if quick:
        settings = replace(
            settings, steps=200, per_class=(1, 5, 20), methods=settings.methods[:-1],
            levels=(0.0, 1.0),
        )  # fmt: skip
    seeds = range(2 if quick else 5)
    best, _ = ch09.tune(settings, seed=0, device=device)
    sweep = [r for s in seeds for r in ch09.sweep(settings, s, device=device, supervised=best)]
    mm = [r for s in seeds for r in ch09.mismatch(settings, s, device=device, supervised=best)]
    tables = [
        pivot(
            sweep,
            f"Ch09 - digits test accuracy % vs labels/class (MLP, {settings.steps} steps, "
            f"supervised tuned on validation: {best})",
            cols="per_class",
        ),
        pivot(
            mm,
            f"Ch09 - class mismatch: test accuracy % on digits 0-5, "
            f"{settings.mismatch_per_class} labels/class, {settings.n_unlabeled} unlabeled with "
            "a share from 6-9",
            cols="mismatch",
        ),
    ]
    return tables
