"""Chapter 01: the two-moons task of chapters 01-06, and the supervised MLP on a few labels.

:func:`moons_task` is the one place that says which moons the course trains and tests on
(1,000 points, noise 0.1: training set seed 0, test set seed 1, validation set seed 2); the
chapters 01, 03, 04 and the results table all call it.

:func:`run` is chapter 01's experiment: a supervised MLP trained on 1, 3, 10 labels per class
or on all labels, scored on the test moons, through :func:`course_lib.evaluation.compare` (the
same label draw per seed as every other chapter).

:func:`prior_beliefs` is the live counterpart of Belkin, Niyogi & Sindhwani's Fig. 1 ("unlabeled
data and prior beliefs"): the same two labeled points, different clouds of unlabeled points,
and the Laplacian SVM's boundary for each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from course_lib import plot, seed_everything
from course_lib._validation import check_number, check_positive_int
from course_lib.classic import LaplacianSVM
from course_lib.data import two_moons
from course_lib.estimator import SSLClassifier
from course_lib.evaluation import compare
from course_lib.models import MLP
from course_lib.train import fit

__all__ = [
    "BENCH",
    "LABELED",
    "NOTEBOOK",
    "PRIOR",
    "PriorSettings",
    "Settings",
    "clouds",
    "fit_mlp",
    "moons_task",
    "prior_beliefs",
    "run",
]

TRAIN_SEED, TEST_SEED, VALIDATION_SEED = 0, 1, 2


def moons_task(
    n: int = 1000, noise: float = 0.1, *, validation: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X, y_true, X_eval, y_eval``: the training moons and the moons a method is scored on.

    ``X_eval`` is the test set ``two_moons(n, noise, seed=1)``, or with ``validation=True`` the
    validation set ``two_moons(n, noise, seed=2)`` on which settings are chosen (never the test).
    """
    X, y_true = two_moons(n, noise, seed=TRAIN_SEED)
    X_eval, y_eval = two_moons(n, noise, seed=VALIDATION_SEED if validation else TEST_SEED)
    return X, y_true, X_eval, y_eval


def fit_mlp(
    method,
    X,
    y,
    X_eval,
    y_eval,
    *,
    steps: int,
    seed: int = 0,
    dropout: float = 0.0,
    record_every: int | None = None,
    grid: int = 60,
    device=None,
    **fit_kw,
) -> dict:
    """One fit of ``method`` on a fresh ``MLP(2, 2)`` (seeded with ``seed``), scored on
    ``X_eval``: the training run of the two-moons chapters 03-05.

    ``record_every`` records the boundary on a ``grid`` x ``grid`` grid that often (for the
    figures and widgets); ``None`` records only the end. ``fit_kw`` go to ``train.fit``
    (``lr``, ``batch_size``). Returns ``{"accuracy", "seconds", "history", "model"}``, where
    ``model`` is the network the method evaluates (Mean Teacher: its teacher is
    ``method.teacher``; ``model`` is the student).
    """
    record = record_every is not None
    seed_everything(seed)
    model = MLP(2, 2, dropout=dropout)
    start = time.perf_counter()
    history = fit(
        model,
        method,
        X,
        y,
        steps=steps,
        seed=seed,
        device=device,
        record_every=record_every if record else steps,
        grid=plot.make_grid(X, grid) if record else None,
        X_eval=X_eval,
        y_eval=y_eval,
        **fit_kw,
    )
    return {
        "accuracy": history.last("eval_acc"),
        "seconds": time.perf_counter() - start,
        "history": history,
        "model": model,
    }


@dataclass(frozen=True)
class Settings:
    """The supervised MLP of chapter 01: labels per class (``None`` = all), SSLClassifier knobs."""

    per_class: tuple[int | None, ...] = (1, 3, 10, None)
    steps: int = 500
    lr: float = 3e-3
    batch_size: int = 32

    def __post_init__(self):
        if not self.per_class:
            raise ValueError("per_class is empty; give e.g. (3, None).")
        for k in self.per_class:
            if k is not None:  # None: all labels
                check_positive_int(k, "per_class")
        for name in ("steps", "batch_size"):
            check_positive_int(getattr(self, name), name)


NOTEBOOK = Settings(per_class=(3, None), steps=400)  # the chapter's lesson check (and figures)
BENCH = Settings()  # 1, 3, 10 and all labels, SSLClassifier's defaults (500 steps)


def run(settings: Settings = NOTEBOOK, seed: int = 0, *, device=None) -> list[dict]:
    """One record per labels-per-class count: ``{"method", "per_class", "seed", "accuracy", ...}``
    (``per_class`` is ``"all"`` for all labels); accuracy on the test moons."""
    X, y_true, X_test, y_test = moons_task()

    def mlp(s: int) -> SSLClassifier:
        return SSLClassifier(
            steps=settings.steps,
            lr=settings.lr,
            batch_size=settings.batch_size,
            random_state=s,
            device=device,
        )

    return compare(
        {"supervised MLP": mlp},
        X,
        y_true,
        per_class=settings.per_class,
        seeds=(seed,),
        X_test=X_test,
        y_test=y_test,
        data="two moons",
    )


# --- Belkin et al.'s Fig. 1: unlabeled data and prior beliefs -------------------------------------

LABELED = np.array([[0.0, 1.0], [1.0, -0.5]])  # the top of the upper moon, the bottom of the lower
"""The two labeled points of :func:`prior_beliefs` (class 0, class 1), the same in every panel."""


@dataclass(frozen=True)
class PriorSettings:
    """``n`` unlabeled points per cloud, their ``noise``, LapSVM's RBF width ``sigma`` (wider
    than the moons' 0.2, so that with no unlabeled point the SVM's boundary is the straight
    bisector of the two labels) and the plotting grid's ``resolution``."""

    n: int = 200
    noise: float = 0.05
    sigma: float = 0.5
    resolution: int = 70

    def __post_init__(self):
        check_positive_int(self.n, "n", minimum=4)
        check_positive_int(self.resolution, "resolution", minimum=2)
        check_number(self.noise, "noise", low=0.0)
        check_number(self.sigma, "sigma", low=0.0, low_inclusive=False)


PRIOR = PriorSettings()


def clouds(settings: PriorSettings = PRIOR, seed: int = 0) -> dict:
    """``name -> (X_u, side)``: three unlabeled clouds through :data:`LABELED`, each in two parts,
    ``side`` saying which part (0: the one through the class-0 point) a point lies in.

    ``"two moons"``: ``two_moons(n, noise, seed)``; ``"two horizontal bands"`` and ``"two
    vertical bands"``: ``n / 2`` points spread uniformly along a line through each labeled point,
    with Gaussian ``noise`` across it.
    """
    rng = np.random.default_rng(seed)
    half = settings.n // 2

    def bands(direction, length):
        t = rng.uniform(-length / 2, length / 2, (2, half, 1))
        X_u = LABELED[:, None, :] + t * np.asarray(direction, float)
        X_u = X_u + rng.normal(0.0, settings.noise, X_u.shape)
        return X_u.reshape(-1, 2), np.repeat([0, 1], half)

    X_m, side_m = two_moons(settings.n, settings.noise, seed=seed)
    return {
        "two moons": (X_m, side_m),
        "two horizontal bands": bands((1.0, 0.0), 3.0),
        "two vertical bands": bands((0.0, 1.0), 2.0),
    }


def prior_beliefs(settings: PriorSettings = PRIOR, seed: int = 0) -> list[dict]:
    """One panel per cloud of :func:`clouds`, after the labels alone: the same two labeled points
    (:data:`LABELED`), ``LaplacianSVM(sigma=settings.sigma)`` fitted on them and the cloud.

    Records ``{"name", "X", "y", "grid", "probs", "title", "side", "accuracy",
    "svm_accuracy"}`` (what :func:`course_lib.plot.boundary_strip` draws), ``probs`` on one grid
    shared by all panels. The first record is the SVM on the two labels alone (``gamma_I = 0``,
    no unlabeled point; ``side`` empty, accuracies NaN); for a cloud, ``accuracy`` is the share
    of its points that LapSVM gives the class of the labeled point in their part, and
    ``svm_accuracy`` the same for the labels-only SVM.
    """
    y_l = np.array([0, 1])
    parts = clouds(settings, seed)
    grid = plot.make_grid(np.concatenate([LABELED, *(X_u for X_u, _ in parts.values())]),
                          settings.resolution)  # fmt: skip
    svm = LaplacianSVM(sigma=settings.sigma, gamma_I=0.0).fit(LABELED, y_l)
    nan = float("nan")
    panels = [
        {"name": "labels only", "X": LABELED, "y": y_l, "grid": grid,
         "probs": svm.predict_proba(grid), "title": "2 labels, no unlabeled point",
         "side": np.array([], int), "accuracy": nan, "svm_accuracy": nan}
    ]  # fmt: skip
    for name, (X_u, side) in parts.items():
        X = np.concatenate([LABELED, X_u])
        y = np.concatenate([y_l, np.full(len(X_u), -1)])
        clf = LaplacianSVM(sigma=settings.sigma).fit(X, y)
        panels.append(
            {
                "name": name,
                "X": X,
                "y": y,
                "grid": grid,
                "probs": clf.predict_proba(grid),
                "title": f"+ {name}",
                "side": side,
                "accuracy": float(np.mean(clf.predict(X_u) == side)),
                "svm_accuracy": float(np.mean(svm.predict(X_u) == side)),
            }
        )
    return panels
