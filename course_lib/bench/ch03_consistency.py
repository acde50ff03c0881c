"""Chapter 03: Π-model, Temporal Ensembling, Mean Teacher and VAT against supervised training.

Table 1 is the issue's target: ``experiments.ch03_consistency.run(BENCH, seed)`` for seeds 0-4
(two moons, 1000 points, noise 0.1, 3 labels/class, scored on the test set two_moons(seed=1)).
Table 2 (full run only): the same settings on the validation draws (label seeds 10-19, scored on
two_moons(seed=2)), the draws the settings were chosen on; the experiment's docstring says what
they taught. Table 3 (full run only): the experiment's ``digits_run`` (the digits images with
SmallCNN and 5 labels/class, seed 0; VAT eps 0.3 chosen on validation draws).
"""

from __future__ import annotations

import numpy as np

from course_lib.experiments.ch03_consistency import (
    BENCH,
    DIGITS,
    VALIDATION,
    VALIDATION_SEEDS,
    digits_run,
)
from course_lib.experiments.ch03_consistency import run as consistency
from course_lib.report import Table, mean_std


def run(quick: bool, device: str | None) -> list[Table]:
    tables = [_moons(range(2 if quick else 5), device)]
    if not quick:
        tables += [_moons(VALIDATION_SEEDS, device, validation=True), _digits(device)]
    return tables


def _moons(seeds, device: str | None, validation: bool = False) -> Table:
    """One row per method: the experiment's records over ``seeds``."""
    settings = VALIDATION if validation else BENCH
    records = [r for s in seeds for r in consistency(settings, s, device=device)]
    if validation:
        title = (
            "Ch03 - validation: two moons, 3 labels/class, label draws "
            f"{seeds[0]}-{seeds[-1]}, scored on two_moons(seed=2)"
        )
        note = "The draws the settings were chosen on, scored on a validation set, not the test."
        acc_col = "validation accuracy % (mean ± std)"
    else:
        title = "Ch03 - consistency methods, two moons (1000 points, noise 0.1), 3 labels/class"
        note = "Target: every semi-supervised method >= 99 % mean, each fit <= 3 s on 2 CPU cores."
        acc_col = "test accuracy % (mean ± std)"
    table = Table(
        title,
        ["method", "steps", acc_col, "worst seed %", "draws < 99 %", "fit s (mean)", "seeds"],
        note=note,
    )
    for name in settings.methods:
        mine = [r for r in records if r["method"] == name]
        accs = [r["accuracy"] for r in mine]
        table.add(
            name,
            mine[0]["steps"],
            mean_std(accs),
            100 * min(accs),
            sum(a < 0.99 for a in accs),
            float(np.mean([r["seconds"] for r in mine])),
            len(accs),
        )
    return table


def _digits(device: str | None) -> Table:
    table = Table(
        "Ch03 - digits images, SmallCNN, 5 labels/class (seed 0, Gaussian-noise augmentation)",
        ["method", "test accuracy %", "fit s"],
    )
    for r in digits_run(DIGITS, 0, device=device):
        table.add(r["method"], 100 * r["accuracy"], r["seconds"])
    return table
