"""Chapter 04: entropy minimization (two moons) and the confidence penalty (digits)."""

from __future__ import annotations

import numpy as np

from course_lib.bench import Table, Timer, mean_std
from course_lib.data import digits, split_labeled, two_moons
from course_lib.estimator import SSLClassifier
from course_lib.methods import (
    VAT,
    ConfidencePenalty,
    EntropyMinimization,
    LabelSmoothing,
    Supervised,
)


def run(quick: bool, device: str | None) -> list[Table]:
    seeds = range(2 if quick else 5)
    X, y_true = two_moons(1000, 0.1, seed=0)
    X_test, y_test = two_moons(1000, 0.1, seed=1)
    moons = Table(
        "Ch04 - entropy methods, two moons (1000 points, noise 0.1), 3 labels/class",
        ["method", "test accuracy % (mean ± std)", "points near boundary %", "fit s", "seeds"],
        note="'near boundary': training points with |p(1|x) - 0.5| < 0.3 (low: boundary in a gap).",
    )
    for name, make in [
        ("supervised", Supervised),
        ("entropy minimization λ=1", lambda: EntropyMinimization(lambda_=1.0)),
        ("VAT + EntMin", lambda: VAT(lambda_ent=0.3)),
        ("confidence penalty β=1", lambda: ConfidencePenalty(beta=1.0)),
    ]:
        accs, near, secs = [], [], []
        for s in seeds:
            y = split_labeled(y_true, 3, seed=s)
            clf = SSLClassifier(
                method=make(), steps=600, lr=1e-2, batch_size=64, random_state=s, device=device
            )
            with Timer() as t:
                clf.fit(X, y)
            accs.append(clf.score(X_test, y_test))
            near.append(np.mean(np.abs(clf.predict_proba(X)[:, 1] - 0.5) < 0.3))
            secs.append(t.seconds)
        moons.add(name, mean_std(accs), mean_std(near), float(np.mean(secs)), len(accs))

    Xd, yd, Xd_test, yd_test = digits(flat=True)
    conf = Table(
        "Ch04 - over-confidence on digits (flat, MLP 128-128, all labels, seed 0)",
        ["regulariser", "test accuracy %", "mean max probability", "share p_max >= 0.95 %"],
    )
    for name, method, dropout in [
        ("none", Supervised(), 0.0),
        ("dropout 0.3", Supervised(), 0.3),
        ("label smoothing ε=0.1", LabelSmoothing(epsilon=0.1), 0.0),
        ("confidence penalty β=0.5", ConfidencePenalty(beta=0.5), 0.0),
    ]:
        clf = SSLClassifier(
            method=method,
            model_params={"hidden": (128, 128), "dropout": dropout},
            steps=800,
            lr=1e-2,
            batch_size=64,
            device=device,
        ).fit(Xd, yd)
        p_max = clf.predict_proba(Xd_test).max(1)
        conf.add(
            name,
            100 * clf.score(Xd_test, yd_test),
            float(p_max.mean()),
            100 * (p_max >= 0.95).mean(),
        )
    tables = [moons, conf]
    return tables
