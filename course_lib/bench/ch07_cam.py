"""Chapter 07: classification for localization - CAM on SmallCNN vs patch-level MIL (Li et al.)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from course_lib import metrics, seed_everything
from course_lib.bench import Table, Timer, mean_std
from course_lib.data import lesions
from course_lib.methods import Supervised
from course_lib.models import SmallCNN
from course_lib.train import fit, predict_proba
from course_lib.weak.cam import cam, maps_to_boxes
from course_lib.weak.mil import MILNet, PatchMIL, boxes_to_grid, choose_boxed, patch_maps

FRACTIONS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
# Zhang et al.'s pointing game counts a hit within 15 pixels of the object at 224 x 224; scaled to
# 64 x 64 that is 4 pixels. The strict game (tolerance 0) is reported beside it: CAM's misses lie
# 1-2 pixels outside the lesion mask (the peak on the lesion's soft edge), so the two differ.
POINTING_TOLERANCE = 4
# The CAM classifier's batch, chosen on the validation images (3 seeds): 64 gives ROC-AUC 0.995 vs
# 0.964 with fit's default 32, tolerant pointing 100 vs 99.6 %, localization 75 vs 74 %; only the
# strict pointing game drops (70 vs 85 %): a better classifier puts its peak on the lesion's edge.
CAM_BATCH = 64


def _localize(maps_val, boxes_val, maps_test, boxes_test, masks_test):
    """Score the CAM paper's fraction 0.2 and the fraction picked on validation images."""
    best = max(
        FRACTIONS,
        key=lambda f: metrics.localization_accuracy(maps_to_boxes(maps_val, f), boxes_val),
    )
    boxes = maps_to_boxes(maps_test, best)
    return (
        metrics.pointing_game(maps_test, masks_test),
        metrics.pointing_game(maps_test, masks_test, tolerance=POINTING_TOLERANCE),
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


# MIL: 2x2-pixel patches and factors mapped into [0.5, 1] (the paper: 16 x 16 patches of
# 512-pixel X-rays, [0.98, 1]); picked by validation localization among P in {8, 16, 32} x low in
# {0.2, 0.5, 0.8, 0.98} at 64 px; with P = 16, low = 0.98, MIL with 20 % boxes localized 32 %.
MIL_CELL, MIL_LOW = 2, 0.5  # patch side in pixels; factors mapped into [MIL_LOW, 1]


def _one_seed(seed, steps, size, device, train, val, test) -> dict[str, tuple]:
    """CAM and MIL (0 / 5 / 20 % boxes) trained with ``seed``: name -> (AUC, pointing, pointing
    with tolerance, loc@0.2, loc@val fraction, mean IoU, fraction, seconds)."""
    pv, pt = val.labels > 0, test.labels > 0
    bv = [b for b, k in zip(val.boxes, pv, strict=True) if k]
    bt = [b for b, k in zip(test.boxes, pt, strict=True) if k]
    out = {}
    seed_everything(seed)
    net = SmallCNN(1, 2, (16, 32))
    with Timer() as t:
        fit(net, Supervised(), train.images, train.labels, steps=steps, seed=seed,
            batch_size=CAM_BATCH, device=device, progress=False)  # fmt: skip
    auc = roc_auc_score(test.labels, predict_proba(net, test.images)[:, 1])
    mv, _ = cam(net, val.images[pv], target=1)
    mt, _ = cam(net, test.images[pt], target=1)
    loc = _localize(mv, bv, mt, bt, test.masks[pt])
    out["CAM (SmallCNN, image labels)"] = (auc, *loc, t.seconds)

    grids = boxes_to_grid(train.boxes, size, size // MIL_CELL)
    for share in (0.0, 0.05, 0.2):
        seed_everything(seed)
        mil = MILNet(1, (16, 32), P=size // MIL_CELL, low=MIL_LOW)
        method = PatchMIL(grids, choose_boxed(train.labels, share, seed=seed), low=MIL_LOW)
        with Timer() as t:
            fit(mil, method, train.images, train.labels, steps=steps, seed=seed, device=device,
                progress=False)  # fmt: skip
        auc = roc_auc_score(test.labels, predict_proba(mil, test.images)[:, 1])
        mv, mt = patch_maps(mil, val.images[pv]), patch_maps(mil, test.images[pt])
        loc = _localize(mv, bv, mt, bt, test.masks[pt])
        out[f"MIL, {share:.0%} boxes"] = (auc, *loc, t.seconds)
    return out


def run(quick: bool, device: str | None) -> list[Table]:
    size, steps = 64, (100 if quick else 300)
    seeds = range(1 if quick else 3)
    train = lesions(2000, size=size, seed=0)
    val, test = lesions(300, size=size, seed=1), lesions(500, size=size, seed=2)
    bt = [b for b, k in zip(test.boxes, test.labels > 0, strict=True) if k]
    table = Table(
        f"Ch07 - localization from image labels, synthetic lesions {size}x{size} "
        f"(2000 train, 500 test, {steps} steps, mean ± std over {len(seeds)} training seeds)",
        [
            "method",
            "ROC-AUC",
            "pointing game %",
            f"pointing ±{POINTING_TOLERANCE} px %",
            "IoU>=0.5 loc. % (0.2)",
            "IoU>=0.5 loc. % (val)",
            "mean IoU (val)",
            "fractions",
            "fit s",
        ],
    )
    table.add(
        "random box (mean true size)",
        "-",
        "-",
        "-",
        "-",
        f"{100 * random_box_accuracy(bt, size):.1f}",
        "-",
        "-",
        0.0,
    )
    runs = [_one_seed(s, steps, size, device, train, val, test) for s in seeds]
    for name in runs[0]:
        per_seed = np.array([r[name] for r in runs])  # (seeds, 8)
        auc, pg, pg_tol, acc20, acc, miou, frac, sec = per_seed.T
        table.add(
            name,
            mean_std(auc, pct=False),
            mean_std(pg),
            mean_std(pg_tol),
            mean_std(acc20),
            mean_std(acc),
            mean_std(miou, pct=False),
            " ".join(f"{f:.1f}" for f in frac),
            float(sec.mean()),
        )
    P = size // MIL_CELL
    table.note = (
        f"torch threads {torch.get_num_threads()}; map->box fraction chosen on 300 validation "
        f"images per run; MIL: {P} x {P} patches, low {MIL_LOW}. "
        "Targets: AUC >= 0.98, pointing >= 90 % (Zhang et al.'s game has a tolerance), "
        "IoU loc. >= 70 %, MIL 20 % > CAM."
    )
    tables = [table]
    return tables
