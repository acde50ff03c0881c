"""Chapter 08: segmentation of synthetic nuclei learned from boxes (Simple Does It), recursively,
and with a few masks (mixed supervision). Test Dice against the full-mask upper bound.

The experiment is ``course_lib.experiments.ch08_box_to_mask`` (the notebook runs it with
``NOTEBOOK``); here it runs with ``BENCH`` over three seeds (``--quick``: the notebook's network
and steps, two rounds, one seed)."""

from __future__ import annotations

import dataclasses

import numpy as np

from course_lib.experiments import ch08_box_to_mask as ch08
from course_lib.report import Table, mean_std

QUICK = dataclasses.replace(
    ch08.BENCH, n_train=200, n_test=100, steps=100, widths=(8, 16, 32), rounds=2
)


def run(quick: bool, device: str | None) -> list[Table]:
    s = QUICK if quick else ch08.BENCH
    seeds = range(1 if quick else 3)
    per_seed = [{r["method"]: r for r in ch08.run(s, seed, device=device)} for seed in seeds]
    names = list(per_seed[0])
    full = np.array([r["full masks (upper bound)"]["dice"] for r in per_seed])
    table = Table(
        f"Ch08 - box-to-mask on synthetic nuclei ({s.n_train} train / {s.n_test} test "
        f"images 64x64, TinyUNet{s.widths}, {s.steps} steps)",
        [
            "training labels",
            "test Dice % (mean ± std)",
            "% of full-mask Dice",
            "test HD95 px (mean ± std)",
            "s / training",
        ],
    )
    for name in names:
        d = np.array([r[name]["dice"] for r in per_seed])
        secs = float(np.mean([r[name]["seconds"] for r in per_seed]))
        hd = [r[name]["hd95"] for r in per_seed]
        hd95 = mean_std(hd, pct=False) if np.all(np.isfinite(hd)) else "–"
        table.add(name, mean_std(d), f"{100 * np.mean(d / full):.1f}", hd95, secs)

    def ratio(name):
        return float(np.mean([r[name]["dice"] for r in per_seed]) / full.mean())

    rec = f"Box_i + recursion ({s.rounds} rounds)"
    worst_s = max(v["seconds"] for r in per_seed for v in r.values())
    targets = Table(
        "Ch08 - targets", ["target", "measured", "met"],
        note="Seconds are wall-clock per training on this machine (inflated when it is busy).",
    )  # fmt: skip
    targets.add("Box_i + recursion >= 90 % of full", f"{100 * ratio(rec):.1f} %", ratio(rec) >= 0.9)
    targets.add(
        "Box_i + 10 % masks >= 95 % of full",
        f"{100 * ratio('Box_i + 10 % masks'):.1f} %",
        ratio("Box_i + 10 % masks") >= 0.95,
    )
    below = ratio("Box") < min(ratio(rec), ratio("Box_i + 10 % masks"))
    targets.add("filled boxes below both", f"{100 * ratio('Box'):.1f} %", below)
    targets.add("each training <= 60 s", f"{worst_s:.1f} s (slowest)", worst_s <= 60)
    return [table, targets, _zhao(s, seeds, per_seed, device)]


def _zhao(s, seeds, per_seed, device) -> Table:
    """Zhao et al.'s two stages (``ch08.zhao``) beside the semantic networks of the same runs, per
    instance (the semantic records are reused: no extra training but the mask head)."""
    z = dataclasses.replace(ch08.BENCH_ZHAO, base=s)
    recs = [ch08.zhao(z, seed, semantic=list(per_seed[i].values()), device=device)
            for i, seed in enumerate(seeds)]  # fmt: skip
    table = Table(
        f"Ch08 - instance segmentation per nucleus (Zhao et al.'s two stages: given boxes, a mask "
        f"head on {z.size}x{z.size} crops, {z.steps} steps, masks for {100 * z.fraction:g} % of "
        "the nuclei)",
        ["method", "instance Dice % (mean ± std)", "matched IoU % (mean ± std)", "hours"],
    )
    for name in [r["method"] for r in recs[0]]:
        rows = [next(r for r in rs if r["method"] == name) for rs in recs]
        dice, iou = ([r[k] for r in rows] for k in ("instance_dice", "matched_iou"))
        table.add(name, mean_std(dice), mean_std(iou), f"{rows[0]['hours']:.1f}")
    return table
