"""The results table of the course: every method on two moons and on the digits.

Methods x {two moons, 3 labels/class; digits, 5 labels/class} x seeds -> mean ± std test
accuracy and seconds per fit, then a table of the issue's targets. Every method goes through the
same ``fit(X, y)`` with ``y == -1`` for unlabeled points; sklearn's estimators and ours share the
loop. ``--quick`` only lowers the number of seeds (2 instead of 5); the settings are the same.
Notebook timings of chapters 05 and 06 live in ``ch05_pseudo_labeling`` and
``ch06_mixmatch_fixmatch``, so ``--only ch06b`` runs the table alone.

On two moons the supervised baseline and the chapter 03 methods use chapter 03's benchmark
settings (``ch03_consistency.MOONS``: lr 1e-2, batches of 64, 600-2000 steps). Other settings for
two moons that differ from a method's defaults: FixMatch tau 0.8, no EMA, lr 1e-2, 1,000 steps;
Pseudo-Label noise 0.2, tau 0.9, lambda_u 3, t2 0.5, lr 1e-2, batches of 64, 1,000 steps;
MixMatch alpha 0.1, 1,000 steps. The learning rates, Pseudo-Label's noise and tau and VAT's
2,000 steps were chosen on chapter 03's validation draws (label seeds 10-19 scored on
two_moons(seed=2), not on the test set): FixMatch 88.0 -> 93.5 %, Pseudo-Label 77.3 -> 82.3 %.
On the digits VAT uses eps 0.3, chosen on the unlabeled training images of label draws 10-14
(eps 1.0: 95.0 %, 0.5: 96.0 %, 0.3: 96.4 %, 0.2: 95.6 %; LabelSpreading 93.4 % there).
On the digits FixMatch uses the network of the chapter 06 notebook (widths (16, 32), batch 16,
mu 7) trained 3,000 steps instead of the notebook's 1,000: FixMatch keeps improving with training
(5 seeds: 1,000 steps 96.5 %, 2,000 97.0 %, 3,000 97.3 %, 26 s per fit), while the other methods
here get 600 steps. For one budget for every method see chapter 09's benchmark.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.neighbors import kneighbors_graph
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from sklearn.svm import SVC

from course_lib import augment
from course_lib.bench import Table, Timer, mean_std
from course_lib.bench.ch03_consistency import MOONS as CH03_MOONS
from course_lib.classic import LaplacianSVM
from course_lib.data import digits, split_labeled, two_moons
from course_lib.estimator import SSLClassifier
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

# the augmentations: Gaussian noise for 2-D points, the image pipeline for digits
POINT_WEAK = augment.GaussianNoise(0.05)
POINT_STRONG = augment.GaussianNoise(0.2)


def datasets() -> dict:
    """``name -> (X_train, y_true_train, X_test, y_test, labels per class, model name)``."""
    X_m, y_m = two_moons(1000, 0.1, seed=0)
    X_mt, y_mt = two_moons(1000, 0.1, seed=1)
    X_d, y_d, X_dt, y_dt = digits()
    return {
        "two moons (3/class)": (X_m, y_m, X_mt, y_mt, 3, "mlp"),
        "digits (5/class)": (X_d, y_d, X_dt, y_dt, 5, "cnn"),
    }


def _deep(method, model, steps, **kw):
    def make(seed, device):
        return SSLClassifier(
            method=method, model=model, steps=steps, random_state=seed, device=device, **kw
        )

    return make


CH03_METHODS = ("Π-model", "Temporal Ensembling", "Mean Teacher", "VAT")


def _ch03(name: str):
    """Two moons: chapter 03's benchmark settings (steps, lr 1e-2, batches of 64, dropout)."""
    make, params, steps = CH03_MOONS["supervised" if name == "Supervised" else name]
    return _deep(make(), "mlp", steps, lr=1e-2, batch_size=64, model_params=params)


CLASSIC = ("LabelSpreading (knn)", "SelfTraining (SVC)", "LapSVM")


def _classic(X) -> dict:
    """sklearn baselines and LapSVM, with widths from the data (as in chapter 02)."""
    Xf = X.reshape(len(X), -1)
    s = float(kneighbors_graph(Xf, 8, mode="distance").data.mean())
    sigma = 2 * s
    gamma_k = 1 / (2 * sigma**2)
    return {
        "LabelSpreading (knn)": lambda seed, device: LabelSpreading(kernel="knn", n_neighbors=8),
        "SelfTraining (SVC)": lambda seed, device: SelfTrainingClassifier(
            SVC(gamma=gamma_k, C=16.0, probability=True, random_state=seed)
        ),
        "LapSVM": lambda seed, device: LaplacianSVM(sigma=sigma),
    }


def methods(dataset: str, X) -> dict:
    """``name -> factory(seed, device)`` of every method, with its settings for ``dataset``."""
    out = _classic(X)
    if dataset.startswith("two moons"):
        m, s = "mlp", 500
        out |= {name: _ch03(name) for name in ("Supervised", *CH03_METHODS)}
        out |= {
            "EntMin": _deep(EntropyMinimization(), m, s),
            "Pseudo-Label": _deep(
                PseudoLabel(weak=POINT_STRONG, tau=0.9, lambda_u=3.0, t2=0.5),
                m,
                1000,
                lr=1e-2,
                batch_size=64,
            ),
            "MixMatch": _deep(MixMatch(augment=POINT_WEAK, alpha=0.1), m, 1000),
            "FixMatch": _deep(
                FixMatch(weak=POINT_WEAK, strong=POINT_STRONG, tau=0.8, ema_decay=0.0),
                m,
                1000,
                lr=1e-2,
            ),
        }
    else:
        m, s = "cnn", 600
        weak = augment.weak
        out |= {
            "Supervised": _deep(Supervised(), m, 300),
            "Π-model": _deep(PiModel(augment=weak), m, s),
            "Temporal Ensembling": _deep(TemporalEnsembling(augment=weak), m, s),
            "Mean Teacher": _deep(MeanTeacher(augment=weak), m, s),
            "VAT": _deep(VAT(eps=0.3), m, s),
            "EntMin": _deep(EntropyMinimization(), m, s),
            "Pseudo-Label": _deep(PseudoLabel(weak=weak), m, s),
            "MixMatch": _deep(MixMatch(augment=weak), m, s),
            "FixMatch": _deep(
                FixMatch(), m, 3000, batch_size=16, model_params={"widths": (16, 32)}
            ),
        }
    return out


def results(seeds, device: str | None, only: tuple[str, ...] | None = None) -> list[dict]:
    """One record per (data set, method): accuracies and seconds over ``seeds``."""
    records = []
    for dname, (X, y_true, X_test, y_test, k, _) in datasets().items():
        for mname, make in methods(dname, X).items():
            if only is not None and mname not in only:
                continue
            accs, secs = [], []
            for seed in seeds:
                y = split_labeled(y_true, k, seed=seed)
                est = make(seed, device)
                flat = mname in CLASSIC  # kernel and graph methods see flat vectors
                Xf = X.reshape(len(X), -1) if flat else X
                Xt = X_test.reshape(len(X_test), -1) if flat else X_test
                with warnings.catch_warnings():
                    # sklearn's convergence warnings, and LabelSpreading's 0/0 for points its
                    # labels never reached (predicted as the first class)
                    warnings.simplefilter("ignore")
                    with Timer() as t:
                        est.fit(Xf, y)
                    accs.append(float(np.mean(est.predict(Xt) == y_test)))
                secs.append(t.seconds)
            records.append({"data": dname, "method": mname, "acc": accs, "seconds": secs})
    return records


def table(records) -> Table:
    t = Table(
        "Ch06 - results table: every method, two moons 3 labels/class and digits 5 labels/class",
        ["method", "data", "test accuracy % (mean ± std)", "seconds per fit", "seeds"],
        note="Deep methods: MLP (64, 64) on two moons, SmallCNN on digits; FixMatch on digits "
        "with widths (16, 32), batch 16, mu 7, 3000 steps; see course_lib/bench/ch06b_results.py "
        "for all settings. LabelSpreading runs with sklearn's defaults (alpha 0.2): on two moons "
        "it stops after 5 iterations, its labels reach about 5 graph hops, and the points they "
        "never reach (53 % of the test points) fall to the first class; alpha 0.99: 95.2 %.",
    )
    for r in records:
        t.add(
            r["method"], r["data"], mean_std(r["acc"]), float(np.mean(r["seconds"])), len(r["acc"])
        )
    return t


# the targets: (data set, method) -> minimum mean accuracy
TARGETS = {
    ("digits (5/class)", "FixMatch"): 0.97,
    ("digits (5/class)", "MixMatch"): 0.95,
    ("digits (5/class)", "Π-model"): 0.93,
    ("digits (5/class)", "Mean Teacher"): 0.93,
    ("digits (5/class)", "VAT"): 0.93,
}
DEEP = (
    "Supervised",
    "Π-model",
    "Temporal Ensembling",
    "Mean Teacher",
    "VAT",
    "EntMin",
    "Pseudo-Label",
    "MixMatch",
    "FixMatch",
)


def targets(records) -> Table:
    """Each target of the issue, the measured mean and whether it is met."""
    t = Table(
        "Ch06 - targets of the results table",
        ["data", "method", "target", "measured % (mean)", "met"],
        note="Digits targets also require beating LabelSpreading measured in the same run; "
        "FixMatch must fit in <= 60 s per seed on 2 cores.",
    )
    acc = {(r["data"], r["method"]): float(np.mean(r["acc"])) for r in records}
    sec = {(r["data"], r["method"]): float(np.mean(r["seconds"])) for r in records}
    for (data, method), low in TARGETS.items():
        if (data, method) not in acc:
            continue
        ls = acc.get((data, "LabelSpreading (knn)"), 0.0)
        ok = acc[data, method] >= low and acc[data, method] > ls
        if method == "FixMatch":
            ok = ok and sec[data, method] <= 60
        t.add(
            data,
            method,
            f">= {100 * low:.0f} % and > LabelSpreading",
            100 * acc[data, method],
            "yes" if ok else "no",
        )
    for method in DEEP[1:]:  # every semi-supervised deep method; the baseline has no target
        key = ("two moons (3/class)", method)
        if key in acc:
            t.add(key[0], method, ">= 99 %", 100 * acc[key], "yes" if acc[key] >= 0.99 else "no")
    return t


def run(quick: bool, device: str | None) -> list[Table]:
    seeds = range(2 if quick else 5)
    records = results(seeds, device)
    return [table(records), targets(records)]
