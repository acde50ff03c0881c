"""Chapter 03: Π-model, Temporal Ensembling, Mean Teacher and VAT against supervised training.

Table 1 is the issue's target: two moons (1000 points, noise 0.1), 3 labels/class, seeds 0-4,
test set two_moons(1000, 0.1, seed=1). Table 2 (full run only): the same settings on ten other
label draws (seeds 10-19) scored on a validation set two_moons(seed=2): the draws the settings
were chosen on. Table 3 (full run only): the digits images with SmallCNN and 5 labels/class, one
seed, default Gaussian-noise augmentation (VAT: eps 0.3, chosen on the unlabeled training images
of label draws 10-14, never on the test images).

What the validation draws taught: on two of the ten draws (14 and 19) the labeled points sit near
the moons' tips and the supervised boundary cuts across a moon. VAT, whose perturbation points
across the boundary, walks the boundary into the gap given 1,400+ steps (600 steps: 96.8 % mean,
2,000: 99.7 %, worst draw 99.4 %). With random perturbations the Π-model stays at 64-86 % on those
two draws with every setting tried (noise std 0.1-0.2, w_max 30-100, dropout 0 or 0.1, 4-16x
larger unlabeled batches, lr 3e-3, weight decay, a 3-layer net, no ramp-up, 8,000 steps); Mean
Teacher likewise (weight decay, 8,000 steps, a KL instead of a squared-error consistency cost);
Temporal Ensembling was only run with the settings below.
"""

from __future__ import annotations

import numpy as np

from course_lib.bench import Table, Timer, mean_std
from course_lib.data import digits, split_labeled, two_moons
from course_lib.estimator import SSLClassifier
from course_lib.methods import VAT, MeanTeacher, PiModel, Supervised, TemporalEnsembling

# name -> (method factory, model_params, steps); lr 1e-2 and batches of 64 + 64 for all.
# Chosen on the validation draws (``_moons(..., validation=True)``), never on the test set:
# VAT 600 -> 2000 steps raised the validation mean from 96.8 % to 99.7 %; the other methods did
# not escape their two bad draws with any setting tried (see the module docstring).
MOONS = {
    "supervised": (Supervised, {}, 600),
    "Π-model": (PiModel, {"dropout": 0.1}, 2000),
    "Temporal Ensembling": (TemporalEnsembling, {"dropout": 0.1}, 2000),
    "Mean Teacher": (MeanTeacher, {}, 2000),
    "VAT": (VAT, {}, 2000),
}

# the label draws and the held-out set used to choose settings (disjoint from the benchmark's
# seeds 0-4 and from the test set two_moons(1000, 0.1, seed=1))
VALIDATION_SEEDS = range(10, 20)
VALIDATION_DATA_SEED = 2


def run(quick: bool, device: str | None) -> list[Table]:
    tables = [_moons(range(2 if quick else 5), device)]
    if not quick:
        tables += [_moons(VALIDATION_SEEDS, device, validation=True), _digits(device)]
    return tables


def _moons(seeds, device: str | None, validation: bool = False) -> Table:
    """Every MOONS method on the training moons with 3 labels/class, one fit per label draw."""
    X, y_true = two_moons(1000, 0.1, seed=0)
    X_eval, y_eval = two_moons(1000, 0.1, seed=VALIDATION_DATA_SEED if validation else 1)
    if validation:
        title = (
            "Ch03 - validation: two moons, 3 labels/class, label draws "
            f"{seeds[0]}-{seeds[-1]}, scored on two_moons(seed={VALIDATION_DATA_SEED})"
        )
        note = "The draws the settings were chosen on, scored on a validation set, not the test."
        acc_col = "validation accuracy % (mean ± std)"
    else:
        title = "Ch03 - consistency methods, two moons (1000 points, noise 0.1), 3 labels/class"
        note = "Target: every semi-supervised method >= 99 % mean, each fit <= 3 s on 2 CPU cores."
        acc_col = "test accuracy % (mean ± std)"
    table = Table(
        title,
        ["method", "steps", acc_col, "worst seed %", "draws < 99 %", "fit s (mean)", "seeds"],
        note=note,
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
            accs.append(clf.score(X_eval, y_eval))
            secs.append(t.seconds)
        low = sum(a < 0.99 for a in accs)
        table.add(
            name, steps, mean_std(accs), 100 * min(accs), low, float(np.mean(secs)), len(accs)
        )
    return table


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
        ("VAT", VAT(eps=0.3)),
    ]:
        clf = SSLClassifier(method=method, model="cnn", steps=1000, batch_size=64, device=device)
        with Timer() as t:
            clf.fit(X, y)
        table.add(name, 100 * clf.score(X_test, y_test), t.seconds)
    return table
