"""Chapter 09: label-count sweep and class-distribution mismatch on digits (Oliver et al. 2018)."""

from __future__ import annotations

import numpy as np

from course_lib.bench import Table, mean_std
from course_lib.data import digits
from course_lib.estimator import SSLClassifier
from course_lib.evaluation import mismatch_split, run_sweep
from course_lib.methods import VAT, FixMatch, PiModel, PseudoLabel, Supervised


def run(quick: bool, device: str | None) -> list[Table]:
    X, y, X_test, y_test = digits()  # images (N, 1, 8, 8); the MLP flattens them
    seeds = range(2 if quick else 5)
    steps = 200 if quick else 800
    protocol = dict(steps=steps, batch_size=32, device=device)
    methods = {
        "supervised": Supervised(),
        "Pseudo-Label": PseudoLabel(),
        "Pi-model": PiModel(),
        "VAT": VAT(),
        "FixMatch": FixMatch(),
    }
    if quick:
        methods.pop("FixMatch")
    per_class = (1, 5, 20) if quick else (1, 2, 5, 10, 20)
    records = run_sweep(methods, X, y, X_test, y_test, per_class=per_class, seeds=seeds, **protocol)
    sweep = Table(
        f"Ch09 - digits test accuracy % vs labels/class (MLP, {steps} steps, "
        f"{len(list(seeds))} seeds, mean ± std)",
        ["method", *[str(k) for k in per_class], "fit s (mean)"],
    )
    for name in methods:
        accs = {
            k: [r["accuracy"] for r in records if r["method"] == name and r["per_class"] == k]
            for k in per_class
        }
        secs = np.mean([r["seconds"] for r in records if r["method"] == name])
        sweep.add(name, *[mean_std(accs[k]) for k in per_class], float(secs))

    in6 = y_test < 6
    levels = (0.0, 0.25, 0.5, 0.75, 1.0) if not quick else (0.0, 1.0)
    mm_methods = {k: v for k, v in methods.items() if k != "FixMatch"}
    mm = Table(
        "Ch09 - class mismatch: test accuracy % on digits 0-5, 5 labels/class, "
        "500 unlabeled with a share from 6-9",
        ["method", *[f"{int(100 * lv)}% outside" for lv in levels]],
    )
    acc = {name: {lv: [] for lv in levels} for name in mm_methods}
    for lv in levels:
        for seed in seeds:
            X_mm, y_mm = mismatch_split(X, y, per_class=5, n_unlabeled=500, mismatch=lv, seed=seed)
            for name, method in mm_methods.items():
                clf = SSLClassifier(method=method, random_state=seed, **protocol).fit(X_mm, y_mm)
                acc[name][lv].append(clf.score(X_test[in6], y_test[in6]))
    for name in mm_methods:
        mm.add(name, *[mean_std(acc[name][lv]) for lv in levels])
    tables = [sweep, mm]
    return tables
