"""Chapter 10's experiments: four MICCAI 2018 papers on synthetic data where the answer is known.

One settings class and one function per paper, each returning records (one per fit or probe):

- :func:`synergic` -- synergic deep learning (Zhang et al.): a single CNN vs the synergic pair;
- :func:`nonadj` -- NonAdjLoss (Ganaye et al.): cross-entropy only vs + NonAdjLoss on unlabeled
  brain phantoms, pixel accuracy and forbidden adjacencies;
- :func:`siamese` -- the Siamese distance pretext (Spitzer et al.): linear probes on random vs
  pre-trained patch features;
- :func:`grouped` -- grouped vs ordinary first convolution on multi-phase lesions (Lee et al.).

The notebook calls them with the ``NOTEBOOK_*`` settings, ``python -m course_lib.bench --only
ch10`` with ``BENCH_*`` over more seeds.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from course_lib import seed_everything
from course_lib._validation import check_number, check_positive_int
from course_lib.data import (
    BRAIN_ADJACENCY,
    brain_phantom,
    lesions,
    multiphase_lesions,
    split_labeled,
    texture_sections,
)
from course_lib.estimator import SSLClassifier
from course_lib.evaluation import compare
from course_lib.papers import (
    PatchEncoder,
    PhaseCNN,
    SegNet,
    Synergic,
    embed,
    forbidden_adjacencies,
    phase_cnn,
    pretrain_distance,
    sample_patches,
    segment,
    synergic_pair,
    train_segmenter,
)
from course_lib.train import evaluating


def _check_positive(settings, names):
    for name in names:
        check_positive_int(getattr(settings, name), name)


# -- 1. synergic deep learning ------------------------------------------------------------------

#: the models of :func:`synergic`, by the name their records carry
SYNERGIC_VARIANTS = {
    "single CNN": lambda: dict(model="cnn"),
    "pair, λ=0 (ensemble)": lambda: dict(model=synergic_pair, method=Synergic(lambda_syn=0.0)),
    "synergic pair": lambda: dict(model=synergic_pair, method=Synergic(lambda_syn=1.0)),
}


@dataclass(frozen=True)
class SynergicSettings:
    """Lesion images (3 classes: normal, bright, dark lesion), ``per_class`` labels each."""

    n_images: int = 600
    size: int = 32
    per_class: int = 20
    steps: int = 300
    lr: float = 1e-3
    widths: tuple[int, ...] = (8, 16)
    variants: tuple[str, ...] = ("single CNN", "synergic pair")
    n_pairs: int = 2000  # test pairs on which the synergic head is scored

    def __post_init__(self):
        _check_positive(self, ("n_images", "size", "per_class", "steps", "n_pairs"))
        check_number(self.lr, "lr", low=0.0, low_inclusive=False)
        unknown = [v for v in self.variants if v not in SYNERGIC_VARIANTS]
        if unknown or not self.variants:
            raise ValueError(f"variants={self.variants!r}: choose from {list(SYNERGIC_VARIANTS)}.")


NOTEBOOK_SYNERGIC = SynergicSettings()
BENCH_SYNERGIC = SynergicSettings(variants=tuple(SYNERGIC_VARIANTS))


def synergic_data(settings: SynergicSettings = NOTEBOOK_SYNERGIC):
    """Training and test lesion images of :func:`synergic` (flat lesions, ``dome=0``: the two
    types differ by brightness and outline, as in the paper's look-alike classes)."""
    s = settings
    return (
        lesions(s.n_images, s.size, seed=0, n_types=2, p_lesion=0.67, dome=0.0),
        lesions(s.n_images, s.size, seed=1, n_types=2, p_lesion=0.67, dome=0.0),
    )


def synergic_head_accuracy(model, images, labels, n_pairs: int = 2000, seed: int = 0) -> float:
    """Balanced accuracy of a ``SynergicPair``'s head at telling whether two images share a
    class, on ``n_pairs`` random pairs of ``images`` (chance: 0.5)."""
    rng = np.random.default_rng(seed)
    ia, ib = rng.integers(0, len(labels), (2, n_pairs))
    dev = next(model.parameters()).device
    chunk = 250  # pairs per forward pass: all 2,000 at once raised the kernel peak by 125 MB
    with evaluating(model), torch.no_grad():
        s = torch.cat([
            model.pair(
                torch.as_tensor(images[ia[i : i + chunk]], device=dev),
                torch.as_tensor(images[ib[i : i + chunk]], device=dev),
            )[2].cpu()
            for i in range(0, n_pairs, chunk)
        ])  # fmt: skip
    same = labels[ia] == labels[ib]
    pred_same = s.numpy() > 0
    return float(0.5 * (pred_same[same].mean() + (~pred_same[~same]).mean()))


def synergic(settings: SynergicSettings = NOTEBOOK_SYNERGIC, seed: int = 0, *, device=None):
    """Test accuracy of each variant trained on the same ``per_class`` labels (draw ``seed``).

    Records ``{"method", "seed", "per_class", "accuracy", "seconds"}``; the pairs also carry
    ``"head_balanced"``, :func:`synergic_head_accuracy` on test pairs.
    """
    s = settings
    train, test = synergic_data(s)
    y = split_labeled(train.labels, s.per_class, seed=seed)
    X_l, y_l = train.images[y != -1], y[y != -1]
    common = dict(model_params={"widths": s.widths}, steps=s.steps, lr=s.lr, device=device)
    records = []
    for name in s.variants:
        clf = SSLClassifier(random_state=seed, **common, **SYNERGIC_VARIANTS[name]())
        start = time.perf_counter()
        clf.fit(X_l, y_l)
        record = {"method": name, "seed": int(seed), "per_class": s.per_class,
                  "accuracy": float(clf.score(test.images, test.labels)),
                  "seconds": time.perf_counter() - start}  # fmt: skip
        if name != "single CNN":
            record["head_balanced"] = synergic_head_accuracy(
                clf.model_, test.images, test.labels, s.n_pairs
            )
        records.append(record)
    return records


# -- 2. NonAdjLoss ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NonAdjSettings:
    """Brain phantoms: ``n_labeled`` labeled, ``n_unlabeled`` unlabeled, ``n_test`` test images.

    A SegNet is pre-trained ``pre_steps`` with cross-entropy, then trained ``steps`` more in two
    ways from the same weights: cross-entropy only, or + ``lambda_adj`` NonAdjLoss on the
    unlabeled images.
    """

    n_labeled: int = 2
    n_unlabeled: int = 64
    n_test: int = 100
    size: int = 32
    pre_steps: int = 100
    steps: int = 100
    lambda_adj: float = 10.0

    def __post_init__(self):
        _check_positive(self, ("n_labeled", "n_unlabeled", "n_test", "size", "pre_steps", "steps"))
        check_number(self.lambda_adj, "lambda_adj", low=0.0)


NOTEBOOK_NONADJ = NonAdjSettings()
BENCH_NONADJ = NonAdjSettings()


def phantoms(settings: NonAdjSettings = NOTEBOOK_NONADJ):
    """The labeled, unlabeled and test brain phantoms of :func:`nonadj` (fixed draws)."""
    s = settings
    return (
        brain_phantom(s.n_labeled, s.size, seed=0),
        brain_phantom(s.n_unlabeled, s.size, seed=1),
        brain_phantom(s.n_test, s.size, seed=2),
    )


def nonadj(settings: NonAdjSettings = NOTEBOOK_NONADJ, seed: int = 0, *, device=None):
    """Pixel accuracy and abnormal connections on the test phantoms, after pre-training and
    after each second stage.

    Records ``{"method", "seed", "accuracy" (pixel), "forbidden" (forbidden pairs per image),
    "abnormal" (share of images with one), "seconds"}`` and, riding along, ``"segmentation"``
    (the predicted test label maps, (N, H, W)).
    """
    s = settings
    ph_l, ph_u, ph_t = phantoms(s)
    seed_everything(seed)
    base = SegNet()
    start = time.perf_counter()
    train_segmenter(base, ph_l.images, ph_l.masks, steps=s.pre_steps, seed=seed, device=device)
    stages = [("after pre-training", base, time.perf_counter() - start)]
    for name, kw in (
        ("cross-entropy only", {}),
        ("+ NonAdjLoss (unlabeled)", dict(allowed=BRAIN_ADJACENCY, lambda_adj=s.lambda_adj)),
    ):
        net = copy.deepcopy(base)
        x_u = ph_u.images if kw else None
        start = time.perf_counter()
        train_segmenter(net, ph_l.images, ph_l.masks, x_u, steps=s.steps, seed=seed + 1,
                        device=device, **kw)  # fmt: skip
        stages.append((name, net, time.perf_counter() - start))
    records = []
    for name, net, seconds in stages:
        pred = segment(net, ph_t.images)
        bad = forbidden_adjacencies(pred, BRAIN_ADJACENCY)
        records.append(
            {"method": name, "seed": int(seed), "accuracy": float((pred == ph_t.masks).mean()),
             "forbidden": float(bad.mean()), "abnormal": float((bad > 0).mean()),
             "seconds": seconds, "segmentation": pred}
        )  # fmt: skip
    return records


# -- 3. Siamese distance pretext ----------------------------------------------------------------


@dataclass(frozen=True)
class SiameseSettings:
    """Texture sections (``section`` pixels) split into 4 areas, ``patch``-pixel patches.

    The encoder is pre-trained ``pretext_steps`` on ``n_unlabeled`` sections; linear probes
    (logistic regression, ``C``) are fitted on ``n_patches`` patches of ``n_labeled`` sections
    with each of ``label_counts`` labels per area, ``probe_draws`` label draws each, and scored on
    as many patches of ``n_test`` other sections.
    """

    patch: int = 12
    section: int = 64
    n_unlabeled: int = 20
    n_labeled: int = 10
    n_test: int = 10
    n_patches: int = 2000
    pretext_steps: int = 400
    label_counts: tuple[int, ...] = (1, 2, 5, 20)
    probe_draws: int = 3
    C: float = 10.0

    def __post_init__(self):
        names = ("patch", "section", "n_unlabeled", "n_labeled", "n_test", "n_patches")
        _check_positive(self, (*names, "pretext_steps", "probe_draws"))
        if not self.label_counts:
            raise ValueError("label_counts is empty; give at least one count of labels per area.")
        for k in self.label_counts:
            check_positive_int(k, "label_counts")
        if self.patch >= self.section:
            raise ValueError(f"patch={self.patch} must be smaller than section={self.section}.")


NOTEBOOK_SIAMESE = SiameseSettings()
BENCH_SIAMESE = SiameseSettings()


def sections(settings: SiameseSettings = NOTEBOOK_SIAMESE):
    """Unlabeled, labeled and test texture sections of :func:`siamese` (fixed draws)."""
    s = settings
    return tuple(
        texture_sections(n, s.section, seed=i)
        for i, n in enumerate((s.n_unlabeled, s.n_labeled, s.n_test))
    )


def area_patches(sections, n: int, patch: int, seed: int):
    """``n`` random patches of ``sections`` and the area of each patch centre."""
    X, idx, c = sample_patches(sections.images, n, patch, seed=seed)
    return X, sections.areas[idx, c[:, 0].astype(int), c[:, 1].astype(int)]


def siamese(settings: SiameseSettings = NOTEBOOK_SIAMESE, seed: int = 0, *, device=None):
    """Linear-probe test accuracy on random vs distance-pretext features (encoder seed ``seed``).

    Records ``{"method", "seed", "per_class", "draw", "accuracy", "seconds"}`` per encoder,
    labels per area and label draw (draws ``seed * probe_draws + d``); the pretext records also
    carry ``"pretext_loss"``, the loss of each pre-training step.
    """
    s = settings
    sec_u, sec_l, sec_t = sections(s)
    X_p, y_p = area_patches(sec_l, s.n_patches, s.patch, 0)
    X_t, y_t = area_patches(sec_t, s.n_patches, s.patch, 1)
    seed_everything(seed)
    random_enc = PatchEncoder(patch=s.patch)
    seed_everything(seed)
    pre_enc = PatchEncoder(patch=s.patch)
    h = pretrain_distance(pre_enc, sec_u.images, steps=s.pretext_steps, patch=s.patch,
                          seed=seed, device=device)  # fmt: skip
    # the loss of each step (a History records step 0, before training, with no loss)
    losses = h["loss"][h["step"] > 0]
    records = []
    for name, enc in (("random init", random_enc), ("distance pretext", pre_enc)):
        F, F_t = embed(enc, X_p), embed(enc, X_t)
        for k in s.label_counts:
            for d in range(s.probe_draws):
                draw = seed * s.probe_draws + d
                y = split_labeled(y_p, k, seed=draw)
                start = time.perf_counter()
                clf = LogisticRegression(C=s.C, max_iter=3000).fit(F[y != -1], y[y != -1])
                record = {"method": name, "seed": int(seed), "per_class": k, "draw": draw,
                          "accuracy": float(clf.score(F_t, y_t)),
                          "seconds": time.perf_counter() - start}  # fmt: skip
                if name == "distance pretext":
                    record["pretext_loss"] = losses
                records.append(record)
    return records


# -- 4. grouped convolutions --------------------------------------------------------------------


#: the first layers of :func:`grouped`, by the name their records carry: ``PhaseCNN`` keyword
#: arguments. "ordinary, same weights" mixes the phases like "ordinary" but with one filter per
#: phase, so its first layer has exactly the weights of the grouped one (the measured alternative
#: that separates "fewer weights" from "phases kept apart").
GROUPED_VARIANTS = {
    "ordinary": {"grouped": False},
    "grouped": {"grouped": True},
    "ordinary, same weights": {"grouped": False, "per_phase": 1},
}


@dataclass(frozen=True)
class GroupedSettings:
    """4-phase ``size``-pixel images, lesion visible in 1-2 phases of ``contrast``; one
    ``PhaseCNN`` per entry of ``variants`` (keys of ``GROUPED_VARIANTS``)."""

    n_train: int = 300
    n_test: int = 1000
    size: int = 24
    contrast: float = 0.6
    steps: int = 300
    variants: tuple[str, ...] = tuple(GROUPED_VARIANTS)

    def __post_init__(self):
        _check_positive(self, ("n_train", "n_test", "size", "steps"))
        check_number(self.contrast, "contrast", low=0.0, low_inclusive=False)
        unknown = [v for v in self.variants if v not in GROUPED_VARIANTS]
        if unknown or not self.variants:
            raise ValueError(f"variants={self.variants!r}: choose from {list(GROUPED_VARIANTS)}.")


# 250 steps (not 300) pays for the third network: 3 x 250 x (1 + 1 + 1/2) network-steps per seed,
# about the 3 x 300 x 2 of the two networks before (the one-filter-per-phase net is the cheapest).
NOTEBOOK_GROUPED = GroupedSettings(steps=250)
BENCH_GROUPED = GroupedSettings()


def grouped_data(settings: GroupedSettings = NOTEBOOK_GROUPED):
    """Training and test multi-phase lesion images of :func:`grouped` (fixed draws)."""
    s = settings
    return (
        multiphase_lesions(s.n_train, s.size, seed=0, contrast=s.contrast),
        multiphase_lesions(s.n_test, s.size, seed=1, contrast=s.contrast),
    )


def grouped(settings: GroupedSettings = NOTEBOOK_GROUPED, seed: int = 0, *, device=None):
    """Ordinary vs grouped first convolution (and the ordinary one cut to the grouped one's
    weights), all training labels, through ``compare``.

    Records of :func:`course_lib.evaluation.compare` (``per_class`` ``"all"``) plus
    ``"first_weights"``, the number of weights of the first convolution.
    """
    s = settings
    tr, te = grouped_data(s)

    def factory(params):
        return lambda sd: SSLClassifier(
            model=phase_cnn, model_params=params, steps=s.steps, random_state=sd, device=device,
        )  # fmt: skip

    variants = {name: GROUPED_VARIANTS[name] for name in s.variants}
    records = compare(
        {name: factory(p) for name, p in variants.items()}, tr.images, tr.labels,
        per_class=(None,), seeds=(seed,), X_test=te.images, y_test=te.labels,
        data="multi-phase lesions",
    )  # fmt: skip
    n_phases = tr.images.shape[1]
    for r in records:
        r["first_weights"] = PhaseCNN(n_phases, **variants[r["method"]]).first.weight.numel()
    return records
