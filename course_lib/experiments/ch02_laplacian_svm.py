"""Chapter 02: the Laplacian SVM beside graph label propagation and self-training.

Two experiments:

* :func:`figure2` -- Belkin, Niyogi & Sindhwani's Figure 2 over seeds: LapSVM at
  ``gamma_A = 0.03125`` and ``gamma_I`` in {0 (the SVM), 0.01, 1} on 200 new moons per seed
  (noise 0.05, 1 label/class), transductive accuracy on the points whose labels were hidden.
* :func:`run` -- side by side: every method of :func:`estimators` on three data sets (200
  moons with 1 label/class, the digits with 5, breast cancer with 10) through the one
  comparison loop :func:`course_lib.evaluation.compare`, transductive accuracy.

* :func:`self_training` -- what scikit-learn's ``SelfTrainingClassifier`` did on each data set:
  how many pseudo-labels it added, how many of them are wrong, and how often the SVC's Platt
  probabilities agree with its own decision (they choose the pseudo-labels).
* :func:`fit_seconds` -- how long LapSVM's fit takes on ``n`` moons (the benchmark's speed
  target).

The notebook and the benchmark run the same settings; the benchmark runs more seeds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.neighbors import kneighbors_graph
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelPropagation, LabelSpreading, SelfTrainingClassifier
from sklearn.svm import SVC

from course_lib._validation import check_not_empty, check_number, check_positive_int
from course_lib.classic import LabeledOnly, LaplacianSVM
from course_lib.data import digits, split_labeled, two_moons
from course_lib.evaluation import compare

__all__ = [
    "BENCH",
    "FIGURE2",
    "NOTEBOOK",
    "Figure2Settings",
    "Settings",
    "datasets",
    "estimators",
    "figure2",
    "fit_seconds",
    "run",
    "self_training",
]


@dataclass(frozen=True)
class Figure2Settings:
    """The paper's Figure 2 setting: ``n`` moons of ``noise``, ``per_class`` labels, and the
    ``gamma_I`` values compared at one ``gamma_A``."""

    gamma_I: tuple[float, ...] = (0.0, 0.01, 1.0)
    gamma_A: float = 0.03125
    n: int = 200
    noise: float = 0.05
    per_class: int = 1

    def __post_init__(self):
        check_not_empty(self.gamma_I, "gamma_I", "give values >= 0, e.g. (0.0, 0.01, 1.0).")
        for gamma_I in self.gamma_I:
            check_number(gamma_I, "gamma_I", low=0.0)
        check_number(self.gamma_A, "gamma_A", low=0.0, low_inclusive=False)
        check_number(self.noise, "noise", low=0.0)
        check_positive_int(self.per_class, "per_class")
        check_positive_int(self.n, "n", minimum=4 * self.per_class)  # leaves unlabeled points


FIGURE2 = Figure2Settings()


def figure2(settings: Figure2Settings = FIGURE2, seed: int = 0) -> list[dict]:
    """One record per ``gamma_I``: new moons ``two_moons(n, noise, seed)``, labels drawn with
    ``split_labeled(y_true, per_class, seed)``, transductive accuracy of LapSVM.

    Records ``{"method", "gamma_I", "seed", "accuracy", "seconds"}``; ``method`` is
    ``"SVM (γ_I = 0)"`` for ``gamma_I = 0`` and ``"LapSVM γ_I = ..."`` otherwise.
    """
    X, y_true = two_moons(settings.n, settings.noise, seed=seed)
    y = split_labeled(y_true, settings.per_class, seed=seed)
    hidden = y == -1
    records = []
    for gamma_I in settings.gamma_I:
        start = time.perf_counter()
        clf = LaplacianSVM(gamma_A=settings.gamma_A, gamma_I=gamma_I).fit(X, y)
        seconds = time.perf_counter() - start
        records.append(
            {
                "method": "SVM (γ_I = 0)" if gamma_I == 0 else f"LapSVM γ_I = {gamma_I:g}",
                "gamma_I": gamma_I,
                "seed": int(seed),
                "accuracy": float(np.mean(clf.transduction_[hidden] == y_true[hidden])),
                "seconds": seconds,
            }
        )
    return records


@dataclass(frozen=True)
class Settings:
    """The side-by-side comparison: the moons' size and noise, labels per class per data set."""

    moons: int = 200
    moons_noise: float = 0.05
    per_class: tuple[tuple[str, int], ...] = (("moons", 1), ("digits", 5), ("cancer", 10))

    def __post_init__(self):
        unknown = [name for name, _ in self.per_class if name not in ("moons", "digits", "cancer")]
        if unknown or not self.per_class:
            raise ValueError(f"per_class names {unknown}; use 'moons', 'digits' and/or 'cancer'.")
        for name, k in self.per_class:
            check_positive_int(k, f"labels per class of {name!r}")
        check_positive_int(self.moons, "moons", minimum=4)
        check_number(self.moons_noise, "moons_noise", low=0.0)


NOTEBOOK = Settings()
BENCH = NOTEBOOK  # the same experiment; the benchmark runs more seeds


def datasets(settings: Settings = NOTEBOOK) -> dict:
    """``name -> (X, y_true, labels per class)`` for the data sets of ``settings.per_class``."""
    out = {}
    for name, k in settings.per_class:
        if name == "moons":
            X, y = two_moons(settings.moons, settings.moons_noise, seed=0)
        elif name == "digits":
            X, y, _, _ = digits(flat=True)  # the 1,257 training images, flattened
        else:
            bc = load_breast_cancer()
            X = StandardScaler().fit_transform(bc.data).astype(np.float32)  # unsupervised scaling
            y = bc.target
        out[name] = (X, y, k)
    return out


def estimators(X) -> dict:
    """The compared methods, with widths set from the data the same way for every method.

    ``s`` = mean distance to the 8th nearest neighbour; kernel machines use the RBF width
    ``sigma = 2 s`` (0.21 on the moons, close to LapSVM's default 0.2), graph methods on a dense
    RBF graph the width ``s`` of LapSVM's heat weights.

    Self-training adds the ``k_best`` most confident pseudo-labels per round, a tenth of the
    points (``ceil(n / 10)``), so that its 10 rounds (``max_iter``) label every point. Its default
    criterion, a probability threshold (0.75), adds nothing on the moons and the digits: the
    SVC's Platt probabilities fitted on 2 or 50 labels stay below it on the unlabeled training
    points (largest 0.66 and 0.76 with label draw 0), and SelfTraining stops at once.
    """
    s = float(kneighbors_graph(X, 8, mode="distance").data.mean())
    sigma = 2 * s
    gamma_k, gamma_g = 1 / (2 * sigma**2), 1 / (2 * s**2)
    return {
        "SVC, labeled only": lambda seed: LabeledOnly(SVC(gamma=gamma_k, C=16.0)),
        "LapSVM": lambda seed: LaplacianSVM(sigma=sigma),
        "LabelPropagation knn": lambda seed: LabelPropagation(kernel="knn", n_neighbors=8),
        "LabelSpreading knn": lambda seed: LabelSpreading(kernel="knn", n_neighbors=8),
        "LabelSpreading rbf": lambda seed: LabelSpreading(kernel="rbf", gamma=gamma_g),
        "SelfTraining (SVC)": lambda seed: SelfTrainingClassifier(
            SVC(gamma=gamma_k, C=16.0, probability=True, random_state=seed),
            criterion="k_best",
            k_best=math.ceil(len(X) / 10),
            max_iter=10,
        ),
    }


def run(settings: Settings = NOTEBOOK, seed: int = 0, *, device=None) -> list[dict]:
    """Every estimator on every data set with the seed's label draw (``evaluation.compare``):
    records ``{"data", "method", "per_class", "seed", "accuracy", "seconds"}``, accuracy on the
    points whose labels were hidden. ``device`` is unused (scikit-learn / NumPy on the CPU)."""
    del device
    import warnings

    records = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's convergence / few-samples warnings
        for name, (X, y, k) in datasets(settings).items():
            records += compare(estimators(X), X, y, per_class=(k,), seeds=(seed,), data=name)
    return records


def self_training(settings: Settings = NOTEBOOK, seed: int = 0) -> list[dict]:
    """What self-training did, per data set, with the seed's label draw: ``{"data", "seed",
    "added", "wrong", "accuracy", "svc_accuracy", "platt_agrees", "max_p"}``.

    ``added``: the pseudo-labels ``SelfTrainingClassifier`` added (``labeled_iter_ > 0``);
    ``wrong``: how many of them differ from the hidden labels; ``accuracy`` and ``svc_accuracy``:
    transductive accuracy of self-training and of the labeled-only SVC (the same estimators as
    :func:`run`); ``platt_agrees``: on the hidden points, the share where the arg-max of the
    labeled-only SVC's Platt probabilities (which choose the pseudo-labels) equals its own
    ``predict`` (the sign of its decision function); ``max_p``: the largest of those Platt
    probabilities (what the default criterion compares with its threshold, 0.75).
    """
    import warnings

    records = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's few-samples warnings
        for name, (X, y_true, k) in datasets(settings).items():
            y = split_labeled(y_true, k, seed=seed)
            hidden = y == -1
            make = estimators(X)
            st = make["SelfTraining (SVC)"](seed).fit(X, y)
            svc = make["SVC, labeled only"](seed).fit(X, y)
            platt = LabeledOnly(st.estimator).fit(X, y).estimator_  # the SVC of round 0
            proba = platt.predict_proba(X[hidden])
            guess = platt.classes_[proba.argmax(1)]
            added = st.labeled_iter_ > 0
            records.append(
                {
                    "data": name,
                    "seed": int(seed),
                    "added": int(added.sum()),
                    "wrong": int(np.sum(st.transduction_[added] != y_true[added])),
                    "accuracy": float(np.mean(st.predict(X[hidden]) == y_true[hidden])),
                    "svc_accuracy": float(np.mean(svc.predict(X[hidden]) == y_true[hidden])),
                    "platt_agrees": float(np.mean(guess == platt.predict(X[hidden]))),
                    "max_p": float(proba.max()),
                }
            )
    return records


def fit_seconds(n: int, repeats: int, *, noise: float = 0.05) -> list[float]:
    """Seconds of ``repeats`` LapSVM fits (defaults) on ``two_moons(n, noise, seed=0)`` with one
    label per class, after one warm-up fit."""
    repeats = check_positive_int(repeats, "repeats")
    X, y_true = two_moons(n, noise, seed=0)
    y = split_labeled(y_true, 1, seed=0)
    LaplacianSVM().fit(X, y)  # warm-up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        LaplacianSVM().fit(X, y)
        seconds.append(time.perf_counter() - start)
    return seconds
