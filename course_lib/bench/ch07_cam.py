"""Chapter 07: classification for localization - CAM on SmallCNN vs patch-level MIL (Li et al.)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from course_lib import metrics, seed_everything
from course_lib.bench import Table, Timer, time_notebook
from course_lib.data import lesions
from course_lib.methods import Supervised
from course_lib.models import SmallCNN
from course_lib.train import fit, predict_proba
from course_lib.weak.cam import cam, maps_to_boxes
from course_lib.weak.mil import MILNet, PatchMIL, boxes_to_grid, choose_boxed, patch_maps

FRACTIONS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def _localize(maps_val, boxes_val, maps_test, boxes_test, masks_test):
    """Score the CAM paper's fraction 0.2 and the fraction picked on validation images."""
    best = max(
        FRACTIONS,
        key=lambda f: metrics.localization_accuracy(maps_to_boxes(maps_val, f), boxes_val),
    )
    boxes = maps_to_boxes(maps_test, best)
    return (
        metrics.pointing_game(maps_test, masks_test),
        metrics.localization_accuracy(maps_to_boxes(maps_test, 0.2), boxes_test),
        metrics.localization_accuracy(boxes, boxes_test),
        float(np.nanmean(metrics.best_box_iou(boxes, boxes_test))),
        best,
    )


def random_box_accuracy(boxes_test, size: int, seed: int = 0) -> float:
    """IoU >= 0.5 accuracy of a box of the mean true size at a uniformly random position."""
    rng = np.random.default_rng(seed)
    allb = np.concatenate(boxes_test)
    h, w = np.round((allb[:, 2:] - allb[:, :2]).mean(0)).astype(int)
    r, c = (
        rng.integers(0, size - h + 1, len(boxes_test)),
        rng.integers(0, size - w + 1, len(boxes_test)),
    )
    pred = np.stack([r, c, r + h, c + w], 1)
    return metrics.localization_accuracy(pred, boxes_test)


def run(quick: bool, device: str | None, notebooks: bool = True) -> list[Table]:
    size, steps = 64, (100 if quick else 300)
    train = lesions(2000, size=size, seed=0)
    val, test = lesions(300, size=size, seed=1), lesions(500, size=size, seed=2)
    pv, pt = val.labels > 0, test.labels > 0
    bv = [b for b, k in zip(val.boxes, pv, strict=True) if k]
    bt = [b for b, k in zip(test.boxes, pt, strict=True) if k]
    table = Table(
        f"Ch07 - localization from image labels, synthetic lesions {size}x{size} "
        f"(2000 train, 500 test, {steps} steps)",
        [
            "method",
            "ROC-AUC",
            "pointing game %",
            "IoU>=0.5 loc. % (0.2)",
            "IoU>=0.5 loc. % (val)",
            "mean IoU (val)",
            "fraction",
            "fit s",
        ],
    )
    table.add(
        "random box (mean true size)",
        "-",
        "-",
        "-",
        100 * random_box_accuracy(bt, size),
        "-",
        "-",
        0.0,
    )

    seed_everything(0)
    net = SmallCNN(1, 2, (16, 32))
    with Timer() as t:
        fit(
            net,
            Supervised(),
            train.images,
            train.labels,
            steps=steps,
            device=device,
            progress=False,
        )
    auc = roc_auc_score(test.labels, predict_proba(net, test.images)[:, 1])
    mv, _ = cam(net, val.images[pv], target=1)
    mt, _ = cam(net, test.images[pt], target=1)
    pg, acc20, acc, miou, frac = _localize(mv, bv, mt, bt, test.masks[pt])
    table.add(
        "CAM (SmallCNN, image labels)", auc, 100 * pg, 100 * acc20, 100 * acc, miou, frac, t.seconds
    )

    # 2x2-pixel patches and factors mapped into [0.5, 1] (the paper: 16 x 16 patches of 512-pixel
    # X-rays, [0.98, 1]): picked by validation localization among P in {8, 16, 32} x low in
    # {0.2, 0.5, 0.8, 0.98}; with P = 16, low = 0.98 MIL with 20 % boxes localized 32 % only.
    P, low = size // 2, 0.5
    grids = boxes_to_grid(train.boxes, size, P)
    for share in (0.0, 0.05, 0.2):
        seed_everything(0)
        mil = MILNet(1, (16, 32), P=P, low=low)
        method = PatchMIL(grids, choose_boxed(train.labels, share, seed=0), low=low)
        with Timer() as t:
            fit(mil, method, train.images, train.labels, steps=steps, device=device, progress=False)
        auc = roc_auc_score(test.labels, predict_proba(mil, test.images)[:, 1])
        mv, mt = patch_maps(mil, val.images[pv]), patch_maps(mil, test.images[pt])
        pg, acc20, acc, miou, frac = _localize(mv, bv, mt, bt, test.masks[pt])
        table.add(
            f"MIL, {share:.0%} boxes", auc, 100 * pg, 100 * acc20, 100 * acc, miou, frac, t.seconds
        )
    table.note = (
        f"torch threads {torch.get_num_threads()}; map->box fraction chosen on 300 validation "
        f"images; MIL: {P} x {P} patches, low {low}. "
        "Targets: AUC >= 0.98, pointing >= 90 %, IoU loc. >= 70 %, MIL 20 % > CAM."
    )
    tables = [table]
    if notebooks:
        from pathlib import Path

        from course_lib.bench import LECTURES

        if Path(LECTURES / "07_cam.ipynb").exists():
            nb = Table("Ch07 - notebook execution", ["notebook", "seconds"])
            nb.add("07_cam.ipynb", time_notebook("07_cam.ipynb"))
            tables.append(nb)
    return tables
