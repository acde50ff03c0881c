"""Chapter 01: the two-moons task of chapters 01-06, and the supervised MLP on a few labels.

:func:`moons_task` is the one place that says which moons the course trains and tests on
(1,000 points, noise 0.1: training set seed 0, test set seed 1, validation set seed 2); the
chapters 01, 03, 04 and the results table all call it.

:func:`run` is chapter 01's experiment: a supervised MLP trained on 1, 3, 10 labels per class
or on all labels, scored on the test moons, through :func:`course_lib.evaluation.compare` (the
same label draw per seed as every other chapter).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from course_lib import plot, seed_everything
from course_lib.data import two_moons
from course_lib.estimator import SSLClassifier
from course_lib.evaluation import compare
from course_lib.models import MLP
from course_lib.train import fit

__all__ = ["BENCH", "NOTEBOOK", "Settings", "fit_mlp", "moons_task", "run"]

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
        bad = [k for k in self.per_class if k is not None and (not isinstance(k, int) or k < 1)]
        if bad:
            raise ValueError(f"per_class holds {bad}; use positive ints or None (all labels).")
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1; got {self.steps}.")


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
