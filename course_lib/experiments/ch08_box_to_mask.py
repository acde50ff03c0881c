"""Chapter 08: segmenting synthetic nuclei from boxes, recursively, and with a few masks.

One experiment, used by ``lectures/08_box_to_mask.ipynb`` (``NOTEBOOK``) and by
``course_lib/bench/ch08_box_to_mask.py`` (``BENCH``). For one seed (training images
``cells(n_train, seed)``, test images ``cells(n_test, 10_000 + seed)``) every training starts from
the same seeded ``TinyUNet`` and differs only in its labels:

- :func:`run_boxes`: full masks (the upper bound), then each box label builder of *Simple Does
  It* — filled boxes (Box), the inner box with an ignore ring (Box_i), Otsu's threshold inside the
  box (prior) — trained once, and, for the builders in ``settings.recursion``, recursively;
- :func:`run_mixed`: Box_i labels with full masks for a fraction of the images (Zhao et al.;
  MS-Net), the masked images alone, and, at one fraction, the bootstrapped Dice term of MS-Net.

Records (one per training): ``method``, ``seed``, ``dice`` (mean test Dice), ``hd95`` (mean test
HD95 in pixels, :func:`mean_hd95`; NaN for a round-0 network that recursion replaced), ``seconds``
(per training; for a recursion, per round), ``fraction`` (of images with masks, 1.0 for full masks,
0.0 for boxes only), ``hours`` (annotation time: 79 s per mask, 7 s per box); ``pred`` (test
predictions > 0.5, when the network is kept) and ``rounds`` (the ``box2mask.Rounds`` of a
recursion) feed the notebook's figures and widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from course_lib import metrics, seed_everything
from course_lib._validation import check_number, check_positive_int
from course_lib.data import cells
from course_lib.models import TinyUNet
from course_lib.report import Timer
from course_lib.weak.box2mask import (
    IGNORE,
    MixedSupervisionLoss,
    box_i_labels,
    box_labels,
    mixed_labels,
    predict_masks,
    prior_labels,
    recursive_training,
    train_segmentation,
)

BUILDERS = ("Box", "Box_i", "prior (Otsu in box)")
MASK_S, BOX_S = 79.0, 7.0  # annotation seconds per object: COCO polygon mask, extreme clicking


@dataclass(frozen=True)
class Settings:
    """``n_train``/``n_test`` images (64 x 64); every training: ``steps`` steps of 16 random
    32 x 32 crops, lr 1e-2, a ``TinyUNet(widths)``. ``recursion``: the builders trained for
    ``rounds`` rounds (the others once); ``fractions``: shares of images with full masks in the
    mixed runs; ``bootstrap``: the fraction at which the bootstrapped-Dice run is made (or None)."""

    n_train: int = 200
    n_test: int = 100
    steps: int = 100
    widths: tuple[int, ...] = (8, 16, 32)
    rounds: int = 3
    recursion: tuple[str, ...] = ("Box_i",)
    fractions: tuple[float, ...] = (0.02, 0.05, 0.1, 0.25)
    bootstrap: float | None = 0.1

    def __post_init__(self):
        for name in ("n_train", "n_test", "steps", "rounds"):
            check_positive_int(getattr(self, name), name)
        if not self.widths:
            raise ValueError("widths is empty; give the TinyUNet's widths, e.g. (8, 16, 32).")
        unknown = set(self.recursion) - set(BUILDERS)
        if unknown:
            raise ValueError(f"recursion has unknown builder(s) {sorted(unknown)}; use {BUILDERS}.")
        for f in self.fractions:
            check_number(f, "fractions", low=0.0, high=1.0, low_inclusive=False)
        if self.bootstrap is not None and self.bootstrap not in self.fractions:
            raise ValueError(
                f"bootstrap={self.bootstrap} must be one of fractions {self.fractions}."
            )


# Classroom-fast: thirteen small trainings of 100 steps (three mask fractions), the chapter in
# about a minute with the two-stage run of ``NOTEBOOK_ZHAO``.
NOTEBOOK = Settings(fractions=(0.02, 0.1, 0.25))
# The benchmark: more images, steps and a wider U-Net; recursion from every builder; 10 % masks.
BENCH = Settings(
    n_train=300,
    n_test=200,
    steps=250,
    widths=(16, 32, 64),
    recursion=BUILDERS,
    fractions=(0.1,),
)


@lru_cache(maxsize=2)
def data(settings: Settings = NOTEBOOK, seed: int = 0):
    """``(train, test)`` nuclei of one seed (cached): ``cells(n_train, seed)``,
    ``cells(n_test, 10_000 + seed)``."""
    return cells(settings.n_train, seed=seed), cells(settings.n_test, seed=10_000 + seed)


def initial_labels(train) -> dict[str, np.ndarray]:
    """The round-0 labels of each builder (Box, Box_i with inner 20 %, the Otsu prior)."""
    shape = train.masks.shape[1:]
    return dict(zip(BUILDERS, (box_labels(train.boxes, shape), box_i_labels(train.boxes, shape),
                               prior_labels(train.images, train.boxes)), strict=True))  # fmt: skip


def annotation_hours(boxes, strong=None) -> float:
    """Hours to annotate: a mask (79 s) per object of the ``strong`` images, a box (7 s) per object
    of the others (an image with a mask needs no box); ``strong=None``: boxes only."""
    per_image = np.array([len(b) for b in boxes])
    strong = np.zeros(len(per_image), bool) if strong is None else np.asarray(strong)
    return float(MASK_S * per_image[strong].sum() + BOX_S * per_image[~strong].sum()) / 3600


def _kw(settings: Settings, device) -> dict:
    return dict(steps=settings.steps, batch_size=16, lr=1e-2, crop=32, device=device)


def _train(settings, seed, labels, *, strong=None, loss=None, device=None):
    """One seeded training on ``labels``; returns (test Dice, test predictions, seconds)."""
    train, test = data(settings, seed)
    seed_everything(seed)
    model = TinyUNet(widths=settings.widths)
    with Timer() as t:
        train_segmentation(model, train.images, labels, strong=strong, loss=loss, seed=seed,
                           **_kw(settings, device))  # fmt: skip
    pred = predict_masks(model, test.images) > 0.5
    return float(metrics.dice(test.masks, pred, per_image=True).mean()), pred, t.seconds


def mean_hd95(masks, pred) -> float:
    """Mean HD95 (pixels) over the test images; an image whose prediction is empty (HD95
    infinite) is left out of the mean -- the Dice already counts it as a total miss."""
    d = metrics.hd95(masks, pred, per_image=True)
    return float(d[np.isfinite(d)].mean()) if np.isfinite(d).any() else float("inf")


def run_boxes(settings: Settings = NOTEBOOK, seed: int = 0, *, device=None) -> list[dict]:
    """Full masks, then every box builder once and (in ``settings.recursion``) recursively."""
    train, test = data(settings, seed)
    dice, pred, sec = _train(settings, seed, train.masks, device=device)
    n_all = len(train.boxes)
    records = [{"method": "full masks (upper bound)", "seed": seed, "dice": dice, "seconds": sec,
                "hd95": mean_hd95(test.masks, pred),
                "fraction": 1.0, "hours": annotation_hours(train.boxes, np.ones(n_all, bool)),
                "pred": pred}]  # fmt: skip
    hours = annotation_hours(train.boxes)
    for name, init in initial_labels(train).items():
        rounds = settings.rounds if name in settings.recursion else 1
        with Timer() as t:
            r = recursive_training(
                lambda: TinyUNet(widths=settings.widths), train.images, train.boxes, init,
                rounds=rounds, masks=train.masks, X_eval=test.images, masks_eval=test.masks,
                seed=seed, **_kw(settings, device),
            )  # fmt: skip
        base = {"seed": seed, "seconds": t.seconds / rounds, "fraction": 0.0, "hours": hours}
        final = predict_masks(r.model, test.images) > 0.5
        first = {"method": name, "dice": r.eval_dice[0], "pred": final if rounds == 1 else None}
        first["hd95"] = mean_hd95(test.masks, final) if rounds == 1 else float("nan")
        records.append(base | first)
        if rounds > 1:
            rec = {"method": f"{name} + recursion ({rounds} rounds)", "dice": r.eval_dice[-1],
                   "hd95": mean_hd95(test.masks, final)}  # fmt: skip
            records.append(base | rec | {"pred": final, "rounds": r})
    return records


def run_mixed(settings: Settings = NOTEBOOK, seed: int = 0, *, device=None) -> list[dict]:
    """For each fraction f: Box_i labels + full masks for f of the images, the masked images only,
    and at ``settings.bootstrap`` the same mix with MS-Net's bootstrapped Dice term."""
    train, test = data(settings, seed)
    weak = initial_labels(train)["Box_i"]
    records = []
    for f in settings.fractions:
        labels, strong = mixed_labels(weak, train.masks, f, seed=seed)
        share = f"{100 * f:g} %"
        runs = [
            (f"Box_i + {share} masks", labels, strong, None, annotation_hours(train.boxes, strong))
        ]
        if f == settings.bootstrap:
            boot = MixedSupervisionLoss(dice=1.0, bootstrap=0.2)
            runs.append(
                (f"Box_i + {share} masks, bootstrapped Dice", labels, strong, boot, runs[0][4])
            )
        only = np.where(strong[:, None, None], train.masks, IGNORE)  # the masked images only
        masks_hours = annotation_hours([b for b, s in zip(train.boxes, strong, strict=True) if s],
                                       np.ones(int(strong.sum()), bool))  # fmt: skip
        runs.append((f"{share} masks only", only, None, None, masks_hours))
        for name, lab, st, loss, hours in runs:
            dice, pred, sec = _train(settings, seed, lab, strong=st, loss=loss, device=device)
            records.append({"method": name, "seed": seed, "dice": dice, "seconds": sec,
                            "hd95": mean_hd95(test.masks, pred), "fraction": f, "hours": hours,
                            "pred": pred})  # fmt: skip
    return records


def run(settings: Settings = NOTEBOOK, seed: int = 0, *, device=None) -> list[dict]:
    """Every supervision of the chapter on one seed (:func:`run_boxes` + :func:`run_mixed`)."""
    return run_boxes(settings, seed, device=device) + run_mixed(settings, seed, device=device)


def mixed_results(records) -> dict:
    """``{fraction: {"mixed": (dice, pred), "masks only": (dice, pred), "cost": (hours, hours)}}``
    for ``widgets.mixed_explorer``, with the full-mask run at fraction 1.0 (one seed's records)."""
    out = {}
    for r in records:
        if r["method"] == "full masks (upper bound)":
            out[1.0] = {k: (r["dice"], r["pred"]) for k in ("mixed", "masks only")}
            out[1.0]["cost"] = (r["hours"], r["hours"])
    for f in sorted({r["fraction"] for r in records} - {0.0, 1.0}):
        mine = {r["method"]: r for r in records if r["fraction"] == f}
        mix, only = mine[f"Box_i + {100 * f:g} % masks"], mine[f"{100 * f:g} % masks only"]
        out[f] = {"mixed": (mix["dice"], mix["pred"]), "masks only": (only["dice"], only["pred"]),
                  "cost": (mix["hours"], only["hours"])}  # fmt: skip
    return dict(sorted(out.items()))


# --- Zhao et al. (MICCAI 2018): two stages, instance by instance --------------------------------

SEMANTIC = ("full masks (upper bound)", "Box_i + 10 % masks", "Box_i + recursion (3 rounds)")


@dataclass(frozen=True)
class ZhaoSettings:
    """The two-stage instance segmentation of ``papers.zhao_instances`` on the nuclei of ``base``
    (``ch08.data(base, seed)``): masks for ``fraction`` of the training *instances* (a random
    draw), boxes for all; stage 2 is a ``TinyUNet(widths)`` on ``size x size`` crops (box +
    ``pad`` pixels), trained ``steps`` steps of ``batch_size`` crops, lr 1e-2."""

    base: Settings = NOTEBOOK
    fraction: float = 0.1
    size: int = 16
    pad: int = 2
    steps: int = 60
    batch_size: int = 16
    widths: tuple[int, ...] = (8, 16)

    def __post_init__(self):
        check_number(self.fraction, "fraction", low=0.0, high=1.0, low_inclusive=False)
        for name in ("size", "steps", "batch_size"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.pad, "pad", minimum=0)
        if self.size % 2 ** (len(self.widths) - 1):
            raise ValueError(f"size={self.size} must be divisible by 2 ** (len(widths) - 1).")


# Classroom-fast: 60 steps of 16 crops of 16 x 16 pixels (a sixth of one chapter-08 training's
# pixels per step); the benchmark: the benchmark's nuclei and 150 steps.
NOTEBOOK_ZHAO = ZhaoSettings()
BENCH_ZHAO = ZhaoSettings(base=BENCH, steps=150)


def instance_hours(n_instances: int, n_masks: int) -> float:
    """Hours to annotate ``n_masks`` instances with a mask (79 s), the others with a box (7 s)."""
    return float(MASK_S * n_masks + BOX_S * (n_instances - n_masks)) / 3600


def zhao(settings: ZhaoSettings = NOTEBOOK_ZHAO, seed: int = 0, *, semantic=None, device=None):
    """Zhao et al.'s two stages (given boxes as stage 1) beside chapter 08's semantic networks,
    all scored per instance on the test nuclei (``zhao_instances.instance_scores``).

    ``semantic``: records of :func:`run_boxes` / :func:`run_mixed` on ``settings.base`` and the same
    seed (the notebook passes those it has); their test predictions, cut into one instance per box
    (``semantic_to_instances``), are scored for the methods of ``SEMANTIC`` that are present.
    Default ``None``: the full-mask and the Box_i + 10 % masks networks are trained here.

    Records ``{"method", "seed", "instance_dice", "matched_iou", "hours", "seconds"}`` plus
    ``"instances"`` (predicted test instance maps) and, for the two stages, ``"n_masks"``.
    """
    from course_lib.papers import zhao_instances as zi

    s = settings
    train, test = data(s.base, seed)
    crops, targets, _ = zi.crop_instances(train.images, train.boxes, train.instances,
                                          size=s.size, pad=s.pad)  # fmt: skip
    n_inst = len(crops)
    k = max(1, round(s.fraction * n_inst))
    weights = np.zeros(n_inst, np.int64)
    weights[np.random.default_rng(seed).permutation(n_inst)[:k]] = 1  # w_k = 1: has a mask
    seed_everything(seed)
    head = zi.mask_head(s.widths)
    with Timer() as t:
        zi.train_mask_head(head, crops, targets, weights, steps=s.steps,
                           batch_size=s.batch_size, seed=seed, device=device)  # fmt: skip
    pred = zi.segment_instances(head, test.images, test.boxes, size=s.size, pad=s.pad)
    share = f"{100 * s.fraction:g} %"
    runs = [(f"two stages (Zhao): boxes + {share} instance masks", pred, instance_hours(n_inst, k),
             t.seconds, {"n_masks": k})]  # fmt: skip
    if semantic is None:
        weak = initial_labels(train)["Box_i"]
        labels, strong = mixed_labels(weak, train.masks, 0.1, seed=seed)
        semantic = []
        for name, lab, st in ((SEMANTIC[0], train.masks, None), (SEMANTIC[1], labels, strong)):
            _, p, sec = _train(s.base, seed, lab, strong=st, device=device)
            hours = annotation_hours(train.boxes, np.ones(len(train.boxes), bool) if st is None
                                     else st)  # fmt: skip
            semantic.append({"method": name, "seed": seed, "pred": p, "hours": hours,
                             "seconds": sec})  # fmt: skip
    by = {r["method"]: r for r in semantic if r.get("seed", seed) == seed}
    for name in SEMANTIC:
        if name in by and by[name].get("pred") is not None:
            r = by[name]
            inst = zi.semantic_to_instances(r["pred"], test.boxes)
            runs.append((f"semantic → instances: {name}", inst, r["hours"], r["seconds"], {}))
    records = []
    for name, inst, hours, seconds, extra in runs:
        sc = zi.instance_scores(test.instances, inst)
        records.append({"method": name, "seed": seed, "instance_dice": float(sc["dice"].mean()),
                        "matched_iou": float(sc["iou"].mean()), "hours": hours,
                        "seconds": seconds, "instances": inst} | extra)  # fmt: skip
    return records
