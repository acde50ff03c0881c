"""Chapter 03: Π-model, Temporal Ensembling, Mean Teacher and VAT against supervised training.

Table 1 is the issue's target: two moons (1000 points, noise 0.1), 3 labels/class, 5 seeds,
test set two_moons(1000, 0.1, seed=1). Table 2 (full run only): the same methods on the digits
images with SmallCNN and 5 labels/class, one seed, default Gaussian-noise augmentation.
"""

from __future__ import annotations

import numpy as np

from course_lib.bench import Table, Timer, mean_std, notebook_table
from course_lib.data import digits, split_labeled, two_moons
from course_lib.estimator import SSLClassifier
from course_lib.methods import VAT, MeanTeacher, PiModel, Supervised, TemporalEnsembling

# name -> (method factory, model_params, steps); lr 1e-2 and batches of 64 + 64 for all
MOONS = {
    "supervised": (Supervised, {}, 600),
    "Π-model": (PiModel, {"dropout": 0.1}, 2000),
    "Temporal Ensembling": (TemporalEnsembling, {"dropout": 0.1}, 2000),
    "Mean Teacher": (MeanTeacher, {}, 2000),
    "VAT": (VAT, {}, 600),
}


def run(quick: bool, device: str | None, notebooks: bool = True) -> list[Table]:
    seeds = range(2 if quick else 5)
    X, y_true = two_moons(1000, 0.1, seed=0)
    X_test, y_test = two_moons(1000, 0.1, seed=1)
    table = Table(
        "Ch03 - consistency methods, two moons (1000 points, noise 0.1), 3 labels/class",
        [
            "method",
            "steps",
            "test accuracy % (mean ± std)",
            "worst seed %",
            "fit s (mean)",
            "seeds",
        ],
        note="Target: every semi-supervised method >= 99 % mean, each fit <= 3 s on 2 CPU cores.",
    )
    for name, (make, params, steps) in MOONS.items():
        accs, secs = [], []
        for s in seeds:
            y = split_labeled(y_true, 3, seed=s)
            clf = SSLClassifier(
                method=make(),
                model_params=params,
                steps=steps,
                lr=1e-2,
                batch_size=64,
                random_state=s,
                device=device,
            )
            with Timer() as t:
                clf.fit(X, y)
            accs.append(clf.score(X_test, y_test))
            secs.append(t.seconds)
        table.add(name, steps, mean_std(accs), 100 * min(accs), float(np.mean(secs)), len(accs))
    tables = [table]
    if not quick:
        tables.append(_digits(device))
    if notebooks:
        tables.append(notebook_table("Ch03", ["03_consistency.ipynb"]))
    return tables


def _digits(device: str | None) -> Table:
    X, y_true, X_test, y_test = digits()
    table = Table(
        "Ch03 - digits images, SmallCNN, 5 labels/class (seed 0, Gaussian-noise augmentation)",
        ["method", "test accuracy %", "fit s"],
    )
    y = split_labeled(y_true, 5, seed=0)
    for name, method in [
        ("supervised", Supervised()),
        ("Π-model", PiModel(noise_std=0.1)),
        ("Mean Teacher", MeanTeacher(noise_std=0.1)),
        ("VAT", VAT(eps=1.0)),
    ]:
        clf = SSLClassifier(method=method, model="cnn", steps=1000, batch_size=64, device=device)
        with Timer() as t:
            clf.fit(X, y)
        table.add(name, 100 * clf.score(X_test, y_test), t.seconds)
    return table
