"""Chapter 10: the medical papers' demos with more seeds than the notebook."""

from __future__ import annotations

import copy

import numpy as np
from sklearn.linear_model import LogisticRegression

from course_lib import seed_everything
from course_lib.bench import Table, mean_std
from course_lib.data import (
    BRAIN_ADJACENCY,
    brain_phantom,
    lesions,
    multiphase_lesions,
    split_labeled,
    texture_sections,
)
from course_lib.estimator import SSLClassifier
from course_lib.papers import (
    PatchEncoder,
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


def _synergic(seeds, device) -> Table:
    train = lesions(600, 32, seed=0, n_types=2, p_lesion=0.67, dome=0.0)
    test = lesions(600, 32, seed=1, n_types=2, p_lesion=0.67, dome=0.0)
    common = dict(model_params={"widths": (8, 16)}, steps=300, lr=1e-3, device=device)
    variants = {
        "single CNN": dict(model="cnn"),
        "pair, lambda_syn=0 (ensemble)": dict(model=synergic_pair, method=Synergic(0.0)),
        "pair, lambda_syn=1 (synergic)": dict(model=synergic_pair, method=Synergic(1.0)),
    }
    acc = {k: [] for k in variants}
    for seed in seeds:
        y = split_labeled(train.labels, 20, seed=seed)
        for name, kw in variants.items():
            clf = SSLClassifier(random_state=seed, **common, **kw).fit(
                train.images[y != -1], y[y != -1]
            )
            acc[name].append(clf.score(test.images, test.labels))
    t = Table(
        "Ch10 - synergic learning, lesions 3 classes, 20 labels/class", ["model", "test acc %"]
    )
    for name, a in acc.items():
        t.add(name, mean_std(a))
    return t


def _nonadj(seeds, device) -> Table:
    ph_l, ph_u, ph_t = brain_phantom(2, 32, 0), brain_phantom(64, 32, 1), brain_phantom(100, 32, 2)
    res = {"cross-entropy only": [], "+ NonAdjLoss on unlabeled": []}
    for seed in seeds:
        seed_everything(seed)
        base = SegNet()
        train_segmenter(base, ph_l.images, ph_l.masks, steps=100, seed=seed, device=device)
        for name, kw in (
            ("cross-entropy only", {}),
            (
                "+ NonAdjLoss on unlabeled",
                dict(X_u=ph_u.images, allowed=BRAIN_ADJACENCY, lambda_adj=10.0),
            ),
        ):
            net = copy.deepcopy(base)
            train_segmenter(
                net, ph_l.images, ph_l.masks, steps=100, seed=seed + 1, device=device, **kw
            )
            pred = segment(net, ph_t.images)
            res[name].append(
                (
                    float((pred == ph_t.masks).mean()),
                    float(forbidden_adjacencies(pred, BRAIN_ADJACENCY).mean()),
                )
            )
    t = Table(
        "Ch10 - NonAdjLoss, brain phantom, 2 labeled images",
        ["second stage", "pixel acc %", "forbidden pairs / image"],
    )
    for name, r in res.items():
        r = np.array(r)
        t.add(name, mean_std(r[:, 0]), mean_std(r[:, 1], pct=False))
    return t


def _siamese(seeds) -> Table:
    P = 12
    sec_u, sec_l, sec_t = (texture_sections(20, 64, seed=s) for s in (0, 1, 2))

    def patches(sec, seed):
        X, idx, c = sample_patches(sec.images, 2000, P, seed=seed)
        return X, sec.areas[idx, c[:, 0].astype(int), c[:, 1].astype(int)]

    X_p, y_p = patches(sec_l, 0)
    X_t, y_t = patches(sec_t, 1)
    counts = (1, 2, 5, 20)
    acc = {("random", k): [] for k in counts} | {("pretext", k): [] for k in counts}
    for seed in seeds:
        seed_everything(seed)
        rnd = PatchEncoder(patch=P)
        seed_everything(seed)
        pre = PatchEncoder(patch=P)
        pretrain_distance(pre, sec_u.images, steps=400, patch=P, seed=seed, device="cpu")
        for name, enc in (("random", rnd), ("pretext", pre)):
            F, F_t = embed(enc, X_p), embed(enc, X_t)
            for k in counts:
                y = split_labeled(y_p, k, seed=seed)
                clf = LogisticRegression(C=10, max_iter=3000).fit(F[y != -1], y[y != -1])
                acc[(name, k)].append(clf.score(F_t, y_t))
    t = Table(
        "Ch10 - Siamese distance pretext, linear probe, 4 areas",
        ["encoder", *[f"{k} labels/area" for k in counts]],
    )
    for name in ("random", "pretext"):
        t.add(name, *[mean_std(acc[(name, k)]) for k in counts])
    return t


def _grouped(seeds, device) -> Table:
    tr = multiphase_lesions(300, 24, seed=0, contrast=0.6)
    te = multiphase_lesions(1000, 24, seed=1, contrast=0.6)
    acc = {"ordinary": [], "grouped": []}
    for seed in seeds:
        for name, g in (("ordinary", False), ("grouped", True)):
            clf = SSLClassifier(
                model=phase_cnn,
                model_params={"grouped": g},
                steps=300,
                random_state=seed,
                device=device,
            ).fit(tr.images, tr.labels)
            acc[name].append(clf.score(te.images, te.labels))
    t = Table(
        "Ch10 - grouped vs ordinary first conv, 4-phase lesions", ["first conv", "test acc %"]
    )
    for name, a in acc.items():
        t.add(name, mean_std(a))
    return t


def run(quick: bool, device: str | None) -> list[Table]:
    seeds = range(2 if quick else 5)
    tables = [
        _synergic(seeds, device),
        _nonadj(seeds, device),
        _siamese(seeds),
        _grouped(seeds, device),
    ]
    return tables
