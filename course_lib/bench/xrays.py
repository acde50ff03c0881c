"""Chest X-rays (PneumoniaMNIST): every deep method of chapters 03-06 with 10 labels per class.

Loops ``experiments.xrays.ssl_xrays`` with its ``BENCH`` settings over label draws 0-4 (settings
chosen on the validation split only: draws 100-101, draws 0 and 100 for MixMatch's lambda_u,
draws 100-104 for FixMatch's mu and the supervised baseline's augmentation; log in
``XraySettings``) and formats the records: mean ± std of test ROC-AUC, accuracy, balanced
accuracy, validation AUC and seconds per fit, the supervised baseline on the same labels and
the fully supervised reference (all 4,707 training labels) in the same run; then the per-draw
AUC gain of the best semi-supervised method over supervised.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from course_lib.experiments.xrays import BENCH, ssl_xrays
from course_lib.report import Table, mean_std

SEEDS = (0, 1, 2, 3, 4)


def tables(records: list[dict]) -> list[Table]:
    """The summary table and the per-draw gain table of ``ssl_xrays`` records."""
    seeds = sorted({r["seed"] for r in records})
    t = Table(
        f"Chest X-rays (PneumoniaMNIST) - {BENCH.labels_per_class} labels/class + unlabelled rest",
        ["method", "test AUC", "accuracy %", "balanced acc. %", "val AUC", "fit s", "draws"],
        note=(
            f"mean ± std over label draws {seeds}; SmallCNN widths {BENCH.widths}, "
            f"{BENCH.steps} steps ({BENCH.full_steps} for `full`, all 4,707 labels), batch "
            f"{BENCH.batch_size}, FixMatch mu {BENCH.mu}, tau {BENCH.tau}; fit seconds on this "
            "machine's CPU threads."
        ),
    )
    methods = list(dict.fromkeys(r["method"] for r in records))
    for m in methods:
        mine = [r for r in records if r["method"] == m]
        t.add(
            m,
            mean_std([r["auc"] for r in mine], pct=False),
            mean_std([r["accuracy"] for r in mine]),
            mean_std([r["balanced_accuracy"] for r in mine]),
            mean_std([r["val_auc"] for r in mine], pct=False),
            f"{np.mean([r['seconds'] for r in mine]):.0f}",
            len(mine),
        )
    out = [t]
    ssl = [m for m in methods if m not in ("supervised", "full")]
    if "supervised" in methods and ssl:
        # the best method by *validation* AUC, never by test
        best = max(ssl, key=lambda m: np.mean([r["val_auc"] for r in records if r["method"] == m]))
        g = Table(
            f"Chest X-rays - {best} (best validation AUC) vs supervised, per label draw",
            ["draw", "supervised AUC", f"{best} AUC", "gain"],
        )
        for s in seeds:
            sup = next(r["auc"] for r in records if r["method"] == "supervised" and r["seed"] == s)
            b = next(r["auc"] for r in records if r["method"] == best and r["seed"] == s)
            g.add(s, sup, b, b - sup)
        out.append(g)
    return out


def run(quick: bool, device: str | None) -> list[Table]:
    settings = replace(BENCH, methods=("supervised", "fixmatch", "full")) if quick else BENCH
    records = []
    for seed in SEEDS[:2] if quick else SEEDS:
        records += ssl_xrays(settings, seed, device=device)
    return tables(records)
