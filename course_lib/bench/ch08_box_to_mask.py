"""Chapter 08: segmentation of synthetic nuclei learned from boxes (Simple Does It), recursively,
and with a few masks (mixed supervision). Test Dice against the full-mask upper bound."""

from __future__ import annotations

import numpy as np

from course_lib import metrics, seed_everything
from course_lib.bench import Table, Timer, mean_std
from course_lib.data import cells
from course_lib.models import TinyUNet
from course_lib.weak.box2mask import (
    MixedSupervisionLoss,
    box_i_labels,
    box_labels,
    mixed_labels,
    predict_masks,
    prior_labels,
    recursive_training,
    train_segmentation,
)

FULL = {"n_train": 300, "n_test": 200, "steps": 250, "widths": (16, 32, 64), "rounds": 3}
QUICK = {"n_train": 200, "n_test": 100, "steps": 100, "widths": (8, 16, 32), "rounds": 2}


def _one_seed(seed: int, cfg: dict, device) -> dict[str, tuple[float, float]]:
    """Every supervision of the chapter on one seed: name -> (test Dice, seconds per training)."""
    tr, te = cells(cfg["n_train"], seed=seed), cells(cfg["n_test"], seed=10_000 + seed)
    shape = tr.masks.shape[1:]
    kw = dict(steps=cfg["steps"], batch_size=16, lr=1e-2, crop=32, device=device, progress=False)

    def make():
        return TinyUNet(widths=cfg["widths"])

    def train(labels, strong=None, loss=None):
        seed_everything(seed)
        model = make()
        with Timer() as t:
            train_segmentation(model, tr.images, labels, strong=strong, loss=loss, seed=seed, **kw)
        pred = predict_masks(model, te.images) > 0.5
        return float(metrics.dice(te.masks, pred, per_image=True).mean()), t.seconds

    out = {"full masks (upper bound)": train(tr.masks)}
    inits = {
        "Box": box_labels(tr.boxes, shape),
        "Box_i": box_i_labels(tr.boxes, shape),
        "prior (Otsu in box)": prior_labels(tr.images, tr.boxes),
    }
    for name, init in inits.items():
        with Timer() as t:
            r = recursive_training(
                make, tr.images, tr.boxes, init, rounds=cfg["rounds"], X_eval=te.images,
                masks_eval=te.masks, seed=seed, **kw,
            )  # fmt: skip
        per = t.seconds / cfg["rounds"]
        out[name] = (r.eval_dice[0], per)
        out[f"{name} + recursion ({cfg['rounds']} rounds)"] = (r.eval_dice[-1], per)
    weak = inits["Box_i"]
    labels, strong = mixed_labels(weak, tr.masks, 0.1, seed=seed)
    out["Box_i + 10 % masks"] = train(labels, strong)
    out["Box_i + 10 % masks, bootstrapped Dice"] = train(
        labels, strong, MixedSupervisionLoss(dice=1.0, bootstrap=0.2)
    )
    out["10 % masks only"] = train(np.where(strong[:, None, None], tr.masks, -1))
    return out


def run(quick: bool, device: str | None) -> list[Table]:
    cfg = QUICK if quick else FULL
    seeds = range(1 if quick else 3)
    per_seed = [_one_seed(s, cfg, device) for s in seeds]
    names = list(per_seed[0])
    full = np.array([r["full masks (upper bound)"][0] for r in per_seed])
    table = Table(
        f"Ch08 - box-to-mask on synthetic nuclei ({cfg['n_train']} train / {cfg['n_test']} test "
        f"images 64x64, TinyUNet{cfg['widths']}, {cfg['steps']} steps)",
        ["training labels", "test Dice % (mean ± std)", "% of full-mask Dice", "s / training"],
    )
    for name in names:
        d = np.array([r[name][0] for r in per_seed])
        secs = float(np.mean([r[name][1] for r in per_seed]))
        table.add(name, mean_std(d), f"{100 * np.mean(d / full):.1f}", secs)

    def ratio(name):
        return float(np.mean([r[name][0] for r in per_seed]) / full.mean())

    rec = f"Box_i + recursion ({cfg['rounds']} rounds)"
    worst_s = max(v[1] for r in per_seed for v in r.values())
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
    tables = [table, targets]
    return tables
