"""Chapter 01: supervised MLP on two moons with few labels."""

from __future__ import annotations

import numpy as np

from course_lib.bench import Table, Timer, mean_std
from course_lib.data import split_labeled, two_moons
from course_lib.estimator import SSLClassifier


def run(quick: bool, device: str | None) -> list[Table]:
    seeds = range(2 if quick else 5)
    X, y_true = two_moons(1000, 0.1, seed=0)
    X_test, y_test = two_moons(1000, 0.1, seed=1)
    table = Table(
        "Ch01 - supervised MLP, two moons (1000 points, noise 0.1)",
        ["labels/class", "test accuracy % (mean ± std)", "fit s (mean)", "seeds"],
    )
    for k in (1, 3, 10, "all"):
        accs, secs = [], []
        for s in seeds:
            y = y_true if k == "all" else split_labeled(y_true, k, seed=s)
            with Timer() as t:
                clf = SSLClassifier(random_state=s, device=device).fit(X, y)
            accs.append(clf.score(X_test, y_test))
            secs.append(t.seconds)
        table.add(str(k), mean_std(accs), float(np.mean(secs)), len(accs))
    tables = [table]
    return tables
