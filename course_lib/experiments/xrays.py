"""Chest X-ray experiments (PneumoniaMNIST, ``data.chest_xrays``): chapters 06, 07 and 09.

One source per experiment (see ``course_lib.experiments``): the notebooks call these functions
with ``NOTEBOOK`` settings, ``python -m course_lib.bench --only xrays`` loops them over label draws
with ``BENCH``.

- :func:`ssl_xrays` (ch. 06, bench): 10 labelled X-rays per class + the unlabelled rest of the
  training split; supervised on the same labels, the deep methods of chapters 03-06, and the fully
  supervised reference (all 4,707 training labels).
- :func:`labels_sweep_xrays` (ch. 09): labels per class 5 / 10 / 25 / 50 / all.
- :func:`xray_cams` (ch. 07): CAM and Grad-CAM of a trained classifier on real X-rays.

Every fit is scored on the test split (ROC-AUC of P(pneumonia), accuracy, balanced accuracy) and
on the validation split (``val_auc``); settings were chosen on ``val_auc`` only (log in
:class:`XraySettings`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from course_lib import augment, seed_everything
from course_lib.data import chest_xrays, split_labeled
from course_lib.methods import (
    VAT,
    EntropyMinimization,
    FixMatch,
    MeanTeacher,
    MixMatch,
    PiModel,
    PseudoLabel,
    Supervised,
    TemporalEnsembling,
)
from course_lib.models import SmallCNN
from course_lib.train import fit, predict_proba
from course_lib.weak.cam import cam, grad_cam

# the weak view of an X-ray: a shift of up to 2 pixels (of 28) and a little pixel noise
xray_weak = partial(augment.weak, max_shift=2 / 28, sigma=0.03)

# name -> (the method with its X-ray hyper-parameters, whether it needs the labels of all images)
METHODS = {
    "supervised": lambda s: Supervised(),
    "pi_model": lambda s: PiModel(w_max=10.0, augment=xray_weak),
    "temporal_ensembling": lambda s: TemporalEnsembling(w_max=10.0, augment=xray_weak),
    "mean_teacher": lambda s: MeanTeacher(w_max=30.0, augment=xray_weak),
    "vat": lambda s: VAT(eps=1.5),
    "entmin": lambda s: EntropyMinimization(lambda_=0.3),
    "pseudo_label": lambda s: PseudoLabel(tau=s.tau, weak=xray_weak),
    "mixmatch": lambda s: MixMatch(lambda_u=s.mixmatch_lambda_u, augment=xray_weak),
    "fixmatch": lambda s: FixMatch(tau=s.tau, mu=s.mu, weak=xray_weak, ema_decay=s.ema_decay),
    "full": lambda s: Supervised(),
}
LABELS = {name: "all" if name == "full" else "few" for name in METHODS}


@dataclass(frozen=True)
class XraySettings:
    """Every knob of the chest X-ray experiments.

    Parameters
    ----------
    labels_per_class : int
        Labelled X-rays per class for every method but ``full`` (the label draw is the seed).
    methods : tuple of str
        Keys of :data:`METHODS` to run, in table order; ``full`` = supervised on all labels.
    widths : tuple of int
        ``SmallCNN`` widths (blocks at 28, 14, 7 pixels; GAP head, so CAM applies).
    steps, full_steps : int
        Optimiser steps of every few-label fit, and of the fully supervised reference.
    batch_size, lr, weight_decay : passed to ``train.fit``.
    mu, tau, ema_decay : FixMatch's unlabelled-batch ratio, threshold (also Pseudo-Label's) and
        the EMA of the evaluated weights.
    mixmatch_lambda_u : MixMatch's weight of the unlabelled loss.

    Tuning log (validation AUC only, label draws 100 and 101, never the bench's draws 0-4)
    ----------------------------------------------------------------------------------------
    Speed first (1 thread, one forward + backward of FixMatch's 224 images of a step, mu = 3):
    widths (32, 64) 470 ms, (16, 32, 64) 190 ms, (8, 16, 32) 84 ms; channels-last weights
    about 1.4x faster again. A FixMatch step of (32, 64) with mu = 7 took 1.37 s, of
    (8, 16, 32) with mu = 3 about 87 ms (65 ms channels-last) on a quiet machine: (8, 16, 32),
    channels-last, mu = 3 were taken for speed; wider nets were not tried for accuracy.
    Then, with widths (8, 16, 32), batch 32, lr 3e-3, tau 0.95, EMA 0.99:

    ============================  ==================  ==================
    fit                           val AUC, draw 100   val AUC, draw 101
    ============================  ==================  ==================
    supervised, 600 steps         0.954               0.955
    supervised, 1000 steps        0.955
    FixMatch mu 3, 400 steps      0.948
    FixMatch mu 3, 600 steps      0.978               0.975
    FixMatch mu 3, 1000 steps     0.976
    full (all labels), 600 steps  0.996
    MixMatch lambda_u 75, 600     0.721               (draw 0: 0.627)
    MixMatch lambda_u 10, 600     0.889               (draw 0: 0.912)
    MixMatch lambda_u 3, 600      0.927               (draw 0: 0.932)
    ============================  ==================  ==================

    MixMatch with the paper's lambda_u = 75 collapsed to one class on some draws (seen in the
    bench's validation AUC, 0.771 +- 0.122 over draws 0-3); lambda_u 3 was then chosen on the
    validation AUC of draws 0 and 100 (a smaller value may be better still: not tried).

    Hence 600 steps (1000 add nothing on validation and cost 1.7x). The other methods' X-ray
    hyper-parameters in :data:`METHODS` (ramp-up weights, VAT's eps 1.5, EntMin's 0.3,
    MixMatch's lambda_u apart) were set once by reasoning, not tuned: a shared 2-core machine left
    no time for it. Caveat: the first tuning script also printed the test AUC of the draw-100
    fits (supervised, full, FixMatch 600 steps); no setting was changed after that.

    Second round (issue 16's targets), validation AUC on label draws 100-104 (the bench's draws
    0-4 and the test split unseen), 600 steps, widths (8, 16, 32), same fit as :func:`train_xray`:

    ===========================================  =====  =====  =====  =====  =====  =====
    fit                                          100    101    102    103    104    mean
    ===========================================  =====  =====  =====  =====  =====  =====
    supervised, no augmentation                  0.954  0.955  0.952  0.969  0.950  0.956
    supervised on ``xray_weak`` views            0.960  0.930  0.902  0.951  0.943  0.937
    same + EMA 0.99 of the weights               0.960  0.931  0.893  (stopped)
    FixMatch mu 3, RandAugment                   0.975  0.975  0.957  0.970  0.978  0.971
    FixMatch mu 3, no posterize/solarize         0.982  0.964  0.953  0.969  0.978  0.969
    FixMatch mu 3, tau 0.8                       0.977  0.967  (stopped)
    FixMatch mu 7, RandAugment (BENCH)           0.984  0.969  0.970  0.985  0.984  0.978
    ===========================================  =====  =====  =====  =====  =====  =====

    So the supervised baseline stays without augmentation (the weak views lower its validation
    AUC on 4 of 5 draws), and FixMatch takes the paper's mu = 7 (better on 4 of 5 draws, worst
    draw 0.969 instead of 0.957) at about twice the cost of a step (``BENCH`` only; the
    notebooks keep mu = 3).
    """

    labels_per_class: int = 10
    methods: tuple[str, ...] = tuple(METHODS)
    widths: tuple[int, ...] = (8, 16, 32)
    steps: int = 600
    full_steps: int = 600
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.0
    mu: int = 3
    tau: float = 0.95
    ema_decay: float = 0.99
    mixmatch_lambda_u: float = 3.0

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f"methods {unknown} are unknown; choose from {list(METHODS)}.")


# the benchmark: every method, 600 steps; FixMatch mu 7 chosen on the validation AUC of label
# draws 100-104 (second round of the log above), never on the bench's draws 0-4 or on test
BENCH = XraySettings(mu=7)
# chapter 06: the same code with fewer steps, so that the chapter stays within a minute: 120
# few-label steps (a FixMatch step is 32 (1 + 2 x 3) = 224 image passes), the fully supervised
# reference 300 (at 200 it scored below the 20-label network on test, AUC 0.859 vs 0.899)
NOTEBOOK = XraySettings(
    methods=("supervised", "mixmatch", "fixmatch", "full"), steps=120, full_steps=300
)


def _scores(model, data, seconds: float) -> dict:
    p_test = predict_proba(model, data.X_test)[:, 1]
    p_val = predict_proba(model, data.X_val)[:, 1]
    pred = (p_test >= 0.5).astype(int)
    return {
        "auc": float(roc_auc_score(data.y_test, p_test)),
        "accuracy": float((pred == data.y_test).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(data.y_test, pred)),
        "val_auc": float(roc_auc_score(data.y_val, p_val)),
        "seconds": seconds,
    }


def train_xray(name: str, settings: XraySettings, y, seed: int, *, data=None, device=None):
    """Train one method on the X-ray training images with labels ``y`` (-1 = unlabelled).

    Returns the network to evaluate (the EMA/teacher where the method has one) and the History.
    """
    data = chest_xrays() if data is None else data
    seed_everything(seed)  # the same initial network for every method of a draw
    # channels-last weights: about 1.4x faster convolutions on a CPU, same maths
    net = SmallCNN(1, 2, widths=settings.widths).to(memory_format=torch.channels_last)
    method = METHODS[name](settings)
    steps = settings.full_steps if name == "full" else settings.steps
    history = fit(
        net,
        method,
        data.X_train,
        y,
        steps=steps,
        batch_size=settings.batch_size,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        n_classes=2,
        seed=seed,
        device=device,
        record_every=steps,
    )
    return method.eval_model(net), history


def ssl_xrays(settings: XraySettings = NOTEBOOK, seed: int = 0, *, device=None) -> list[dict]:
    """Chapter 06's real-data experiment: ``settings.labels_per_class`` labels per class.

    The label draw is ``seed`` and is the same for every method; ``full`` trains on every
    training label. One record per method: ``{"method", "seed", "per_class", "auc", "accuracy",
    "balanced_accuracy", "val_auc", "seconds"}`` (test metrics unless prefixed ``val_``).
    """
    data = chest_xrays()
    y_few = split_labeled(data.y_train, settings.labels_per_class, seed=seed)
    records = []
    for name in settings.methods:
        y = data.y_train if LABELS[name] == "all" else y_few
        start = time.perf_counter()
        model, _ = train_xray(name, settings, y, seed, data=data, device=device)
        seconds = time.perf_counter() - start
        per_class = "all" if LABELS[name] == "all" else settings.labels_per_class
        records.append(
            {"method": name, "seed": seed, "per_class": per_class, **_scores(model, data, seconds)}
        )
    return records


@dataclass(frozen=True)
class SweepSettings:
    """Chapter 09's sweep: every method of ``methods`` at every labels-per-class count, plus
    the fully supervised network (``per_class="all"``) whose validation and test AUC differ."""

    per_class: tuple[int, ...] = (5, 10, 25, 50)
    methods: tuple[str, ...] = ("supervised", "mean_teacher", "vat", "pseudo_label", "fixmatch")
    xray: XraySettings = field(default_factory=XraySettings)


SWEEP_BENCH = SweepSettings()
# chapter 09 (5 label draws in the notebook): the supervised network at 2 label counts and the
# fully supervised one -- the spread between label draws and the validation/test shift (chapter 06
# compares the semi-supervised methods on these X-rays)
SWEEP_NOTEBOOK = SweepSettings(
    per_class=(5, 50),
    methods=("supervised",),
    xray=XraySettings(steps=60, full_steps=100),
)


def labels_sweep_xrays(
    settings: SweepSettings = SWEEP_NOTEBOOK, seed: int = 0, *, device=None
) -> list[dict]:
    """Records ``{"method", "per_class", "seed", "auc", "val_auc", ...}`` for every labels-per-
    class count x method (label draw = ``seed``), then ``method="full", per_class="all"``."""
    records = []
    for k in settings.per_class:
        xs = XraySettings(
            **{**settings.xray.__dict__, "labels_per_class": k, "methods": settings.methods}
        )
        records += ssl_xrays(xs, seed, device=device)
    xs = XraySettings(**{**settings.xray.__dict__, "methods": ("full",)})
    records += ssl_xrays(xs, seed, device=device)
    return records


@dataclass(frozen=True)
class CamSettings:
    """Chapter 07: a classifier trained on every training label, maps on ``n_images`` test
    X-rays (half normal, half pneumonia)."""

    n_images: int = 6
    xray: XraySettings = field(default_factory=lambda: XraySettings(full_steps=300))


CAM_NOTEBOOK = CamSettings()


def xray_cams(settings: CamSettings = CAM_NOTEBOOK, seed: int = 0, *, device=None) -> dict:
    """CAM and Grad-CAM of the pneumonia class on real test X-rays (qualitative: no boxes).

    Returns ``{"images" (n, 28, 28), "labels", "p_pneumonia", "cam", "grad_cam" (n, 28, 28),
    "auc", "seconds"}``; the maps are of class 1 (pneumonia) for every image.
    """
    data = chest_xrays()
    start = time.perf_counter()
    model, _ = train_xray("full", settings.xray, data.y_train, seed, data=data, device=device)
    seconds = time.perf_counter() - start
    rng = np.random.default_rng(seed)
    half = settings.n_images // 2
    idx = np.concatenate(
        [
            rng.choice(np.flatnonzero(data.y_test == c), n, replace=False)
            for c, n in ((0, half), (1, settings.n_images - half))
        ]
    )
    x = data.X_test[idx]
    p = predict_proba(model, data.X_test)[:, 1]
    maps, _ = cam(model, x, target=1)
    gmaps, _ = grad_cam(model, x, target=1)
    return {
        "images": x[:, 0],
        "labels": data.y_test[idx],
        "p_pneumonia": p[idx],
        "cam": maps,
        "grad_cam": gmaps,
        "auc": float(roc_auc_score(data.y_test, p)),
        "seconds": seconds,
    }
