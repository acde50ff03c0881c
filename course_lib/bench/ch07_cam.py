"""Chapter 07: classification for localization - CAM on SmallCNN vs patch-level MIL (Li et al.).

The experiment is ``course_lib.experiments.ch07_cam`` (the notebook runs it with ``NOTEBOOK``);
here it runs with ``BENCH`` over three training seeds.
"""

from __future__ import annotations

import dataclasses

import torch

from course_lib.experiments import ch07_cam as ch07
from course_lib.report import Table


def run(quick: bool, device: str | None) -> list[Table]:
    s = dataclasses.replace(ch07.BENCH, cam_steps=100, mil_steps=100) if quick else ch07.BENCH
    seeds = range(1 if quick else 3)
    records = [r for seed in seeds for r in ch07.run(s, seed, device=device)]
    _, _, test = ch07.data(s)
    table = ch07.table(
        records,
        s,
        title=f"Ch07 - localization from image labels, synthetic lesions {s.size}x{s.size} "
        f"({s.n_train} train, {s.n_test} test, {s.cam_steps} steps, mean ± std over "
        f"{len(seeds)} training seeds)",
        random_box=ch07.random_box_accuracy(ch07.positive_boxes(test), s.size),
    )
    P = s.size // s.mil_cell
    table.note = (
        f"torch threads {torch.get_num_threads()}; map->box fraction chosen on {s.n_val} "
        f"validation images per run; MIL: {P} x {P} patches, low {s.mil_low}. "
        "Targets: AUC >= 0.98, pointing >= 90 % (Zhang et al.'s game has a tolerance), "
        "IoU loc. >= 70 %, MIL 20 % > CAM."
    )
    return [table]
