"""Chapter 02: the Laplacian SVM (manifold regularization) beside graph label propagation."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.neighbors import kneighbors_graph
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelPropagation, LabelSpreading, SelfTrainingClassifier
from sklearn.svm import SVC

from course_lib.bench import Table, Timer, mean_std
from course_lib.classic import LabeledOnly, LaplacianSVM, compare, summary_table
from course_lib.data import digits, split_labeled, two_moons


def datasets() -> dict:
    """The chapter's three data sets: ``name -> (X, y_true, labels per class)``."""
    X_m, y_m = two_moons(200, 0.05, seed=0)
    X_d, y_d, _, _ = digits(flat=True)
    bc = load_breast_cancer()
    X_b = StandardScaler().fit_transform(bc.data).astype(np.float32)  # unsupervised scaling
    return {"moons": (X_m, y_m, 1), "digits": (X_d, y_d, 5), "cancer": (X_b, bc.target, 10)}


def estimators(X) -> dict:
    """The compared methods, with widths set from the data the same way for every method.

    ``s`` = mean distance to the 8th nearest neighbour; kernel machines use the RBF width
    ``sigma = 2 s`` (0.21 on the moons, close to LapSVM's default 0.2), graph methods on a dense
    RBF graph the width ``s`` of LapSVM's heat weights.
    """
    s = float(kneighbors_graph(X, 8, mode="distance").data.mean())
    sigma = 2 * s
    gamma_k, gamma_g = 1 / (2 * sigma**2), 1 / (2 * s**2)
    return {
        "SVC, labeled only": lambda seed: LabeledOnly(SVC(gamma=gamma_k, C=16.0)),
        "LapSVM (γ_A=0.03125, γ_I=1)": lambda seed: LaplacianSVM(sigma=sigma),
        "LabelPropagation knn": lambda seed: LabelPropagation(kernel="knn", n_neighbors=8),
        "LabelSpreading knn": lambda seed: LabelSpreading(kernel="knn", n_neighbors=8),
        "LabelSpreading rbf": lambda seed: LabelSpreading(kernel="rbf", gamma=gamma_g),
        "SelfTraining (SVC)": lambda seed: SelfTrainingClassifier(
            SVC(gamma=gamma_k, C=16.0, probability=True, random_state=seed)
        ),
    }


def side_by_side(seeds) -> Table:
    records = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's convergence / few-samples warnings
        for name, (X, y, k) in datasets().items():
            records += compare(estimators(X), {name: (X, y, k)}, seeds)
    return summary_table(
        records, "Ch02 - side by side: moons 1 label/class, digits 5, breast cancer 10"
    )


def run(quick: bool, device: str | None) -> list[Table]:
    del device  # scikit-learn / NumPy only: CPU
    seeds = range(3 if quick else 10)
    target = Table(
        "Ch02 - LapSVM on 200 moons (noise 0.05, 1 label/class, γ_A=0.03125, defaults)",
        ["method", "transductive accuracy % (mean ± std)", "min %", "seeds"],
    )
    for name, gamma_I in (
        ("SVM (γ_I = 0)", 0.0),
        ("LapSVM γ_I = 0.01", 0.01),
        ("LapSVM γ_I = 1", 1.0),
    ):
        accs = []
        for seed in seeds:
            X, y_true = two_moons(200, 0.05, seed=seed)
            y = split_labeled(y_true, 1, seed=seed)
            clf = LaplacianSVM(gamma_A=0.03125, gamma_I=gamma_I).fit(X, y)
            accs.append(np.mean(clf.transduction_[y == -1] == y_true[y == -1]))
        target.add(name, mean_std(accs), f"{100 * np.min(accs):.1f}", len(accs))
    target.note = "target: LapSVM γ_I = 1 >= 99 % mean over 10 seeds."

    speed = Table(
        "Ch02 - LapSVM fit time (moons, 1 label/class)", ["points", "fit s (median)", "repeats"]
    )
    for n, reps in ((200, 20), (2000, 3 if quick else 5)):
        X, y_true = two_moons(n, 0.05, seed=0)
        y = split_labeled(y_true, 1, seed=0)
        LaplacianSVM().fit(X, y)  # warm-up
        secs = []
        for _ in range(reps):
            with Timer() as t:
                LaplacianSVM().fit(X, y)
            secs.append(t.seconds)
        speed.add(n, float(np.median(secs)), reps)
    speed.note = "targets: <= 0.05 s for 200 points, <= 2 s for 2000 points (2 CPU cores)."

    tables = [target, speed, side_by_side(range(2 if quick else 5))]
    return tables
