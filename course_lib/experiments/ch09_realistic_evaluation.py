"""Chapter 09's experiments: Oliver et al.'s protocol on the digits (arXiv:1804.09170).

Three experiments share one :class:`Settings` (one network, one budget for every method):

- :func:`tune`: the supervised baseline's learning rate and weight decay, picked on a held-out
  validation set (never on the test set);
- :func:`sweep`: test accuracy vs labels per class, every method through
  :func:`course_lib.evaluation.compare` (the same label draw for every method);
- :func:`mismatch`: test accuracy on digits 0-5 when a share of the unlabeled pool comes from
  digits 6-9 (:func:`course_lib.evaluation.mismatch_split`).

Each returns records, one per fit (``"method"``, ``"seed"``, ``"accuracy"``, ``"seconds"``, ...);
the notebook calls them with :data:`NOTEBOOK`, ``python -m course_lib.bench --only ch09`` with
:data:`BENCH`, over several seeds (label draws).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import numpy as np

from course_lib import augment
from course_lib._validation import check_number, check_positive_int
from course_lib.data import digits, split_labeled
from course_lib.estimator import SSLClassifier
from course_lib.evaluation import compare, mismatch_split, tune_supervised
from course_lib.methods import VAT, FixMatch, PiModel, PseudoLabel, Supervised
from course_lib.train import progress_bar

#: the methods a chapter-09 experiment can compare, by the name its records carry (each a
#: factory of the method with its defaults; FixMatch's augmentations are for flat 64-pixel vectors,
#: as the MLP sees the digits: its image augmentations need (N, C, H, W))
METHODS = {
    "supervised": Supervised,
    "Pseudo-Label": PseudoLabel,
    "Π-model": PiModel,
    "VAT": VAT,
    "FixMatch": partial(
        FixMatch, weak=augment.GaussianNoise(0.05), strong=augment.GaussianNoise(0.2)
    ),
}


@dataclass(frozen=True)
class Settings:
    """One protocol for every method of chapter 09 (Oliver et al.'s first recommendation).

    steps, batch_size : the training budget of every ``SSLClassifier`` (the same MLP).
    n_val : training images held out as the validation set of :func:`tune`; the sweep trains
        on the rest.
    grid_lr, grid_weight_decay : the supervised baseline's candidates in :func:`tune`.
    tune_per_class : labels per class the baseline is tuned with.
    per_class, methods : the sweep's label counts and methods (names of :data:`METHODS`).
    levels, mismatch_methods, mismatch_per_class, n_unlabeled : the mismatch experiment: shares
        of the unlabeled pool from digits 6-9, its methods, labels per class of digits 0-5, pool
        size.
    """

    steps: int = 400
    batch_size: int = 32
    n_val: int = 300
    grid_lr: tuple[float, ...] = (1e-3, 3e-3, 1e-2)
    grid_weight_decay: tuple[float, ...] = (0.0, 0.05)
    tune_per_class: int = 5
    per_class: tuple[int, ...] = (1, 2, 5, 10, 20)
    methods: tuple[str, ...] = ("supervised", "Pseudo-Label", "Π-model", "VAT")
    levels: tuple[float, ...] = (0.0, 0.5, 1.0)
    mismatch_methods: tuple[str, ...] = ("supervised", "Pseudo-Label", "Π-model")
    mismatch_per_class: int = 5
    n_unlabeled: int = 500

    def __post_init__(self):
        for name in ("steps", "batch_size", "n_val", "tune_per_class", "mismatch_per_class"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.n_unlabeled, "n_unlabeled")
        for name in ("grid_lr", "grid_weight_decay", "per_class", "levels"):
            if len(getattr(self, name)) == 0:
                raise ValueError(f"{name} is empty; give at least one value.")
        for k in self.per_class:
            check_positive_int(k, "per_class")
        for lv in self.levels:
            check_number(lv, "levels", low=0.0, high=1.0)
        for name in ("methods", "mismatch_methods"):
            unknown = [m for m in getattr(self, name) if m not in METHODS]
            if unknown or not getattr(self, name):
                raise ValueError(
                    f"{name}={getattr(self, name)!r}: choose one or more of {list(METHODS)}."
                )


# classroom-fast (the chapter runs 5 label draws of everything in under a minute): 200 steps,
# 3 label counts, 3 methods in the sweep (VAT, the costliest step, in the benchmark only)
NOTEBOOK = Settings(
    steps=200, per_class=(1, 5, 20), methods=("supervised", "Pseudo-Label", "Π-model")
)
# the benchmark: 800 steps, 5 label counts, FixMatch in the sweep, VAT and 5 levels in mismatch
BENCH = Settings(
    steps=800,
    methods=("supervised", "Pseudo-Label", "Π-model", "VAT", "FixMatch"),
    levels=(0.0, 0.25, 0.5, 0.75, 1.0),
    mismatch_methods=("supervised", "Pseudo-Label", "Π-model", "VAT"),
)


def holdout(n_val: int = 300):
    """The digits with ``n_val`` training images held out for validation (a fixed draw).

    Returns ``X_tr, y_tr, X_val, y_val, X_test, y_test`` (flat 64-pixel images).
    """
    X, y, X_test, y_test = digits(flat=True)  # 1,257 training and 540 test images
    n_val = check_positive_int(n_val, "n_val")
    if n_val >= len(y):
        raise ValueError(f"n_val={n_val} must be below the {len(y)} training images.")
    perm = np.random.default_rng(0).permutation(len(y))
    val, tr = perm[:n_val], perm[n_val:]
    return X[tr], y[tr], X[val], y[val], X_test, y_test


def _factory(settings: Settings, name: str, device, supervised: dict | None):
    """``seed -> SSLClassifier`` for method ``name`` under the settings' protocol."""
    params = dict(steps=settings.steps, batch_size=settings.batch_size, device=device)
    if name == "supervised":
        params |= supervised or {}
    return lambda seed: SSLClassifier(method=METHODS[name](), random_state=seed, **params)


def tune(settings: Settings = NOTEBOOK, seed: int = 0, *, device=None) -> tuple[dict, list[dict]]:
    """Tune the supervised baseline on the validation set (``tune_per_class`` labels per class).

    Returns the best parameters (``{"lr", "weight_decay"}``) and one record per candidate:
    ``{"method": "supervised", "seed", "lr", "weight_decay", "accuracy"}`` (validation accuracy).
    """
    X_tr, y_tr, X_val, y_val, _, _ = holdout(settings.n_val)
    y_l = split_labeled(y_tr, settings.tune_per_class, seed=seed)
    grid = {"lr": list(settings.grid_lr), "weight_decay": list(settings.grid_weight_decay)}
    best, scores = tune_supervised(
        X_tr, y_l, X_val, y_val, grid, steps=settings.steps, batch_size=settings.batch_size,
        random_state=seed, device=device,
    )  # fmt: skip
    records = [
        {"method": "supervised", "seed": int(seed), **params, "accuracy": acc}
        for params, acc in scores
    ]
    return best, records


def sweep(
    settings: Settings = NOTEBOOK, seed: int = 0, *, device=None, supervised: dict | None = None
) -> list[dict]:
    """Test accuracy of every method of ``settings.methods`` for every count of
    ``settings.per_class`` on one label draw (``seed``), via :func:`evaluation.compare`.

    ``supervised`` holds the tuned baseline's parameters (from :func:`tune`); the other methods
    keep the library defaults. The unlabeled pool is the rest of the training images.
    """
    X_tr, y_tr, _, _, X_test, y_test = holdout(settings.n_val)
    estimators = {name: _factory(settings, name, device, supervised) for name in settings.methods}
    return compare(
        estimators, X_tr, y_tr, per_class=settings.per_class, seeds=(seed,),
        X_test=X_test, y_test=y_test, data="digits",
    )  # fmt: skip


def mismatch(
    settings: Settings = NOTEBOOK, seed: int = 0, *, device=None, supervised: dict | None = None
) -> list[dict]:
    """Test accuracy on digits 0-5 when ``level`` of the unlabeled pool comes from digits 6-9.

    For every level of ``settings.levels``: ``mismatch_split`` draws ``mismatch_per_class``
    labels of each digit 0-5 and a pool of ``n_unlabeled`` images (the draw depends on ``seed``
    only, so every method sees the same labels and pool), and every method of
    ``settings.mismatch_methods`` is fitted on it. The supervised baseline ignores the pool.
    Records: ``{"data", "method", "mismatch", "per_class", "seed", "accuracy", "seconds"}``.
    """
    X, y, X_test, y_test = digits(flat=True)
    in6 = y_test < 6
    records = []
    n_fits = len(settings.levels) * len(settings.mismatch_methods)
    with progress_bar(n_fits, "mismatch") as runs:  # one bar over the fits
        for level in settings.levels:
            X_mm, y_mm = mismatch_split(
                X, y, per_class=settings.mismatch_per_class, n_unlabeled=settings.n_unlabeled,
                mismatch=level, seed=seed,
            )  # fmt: skip
            for name in settings.mismatch_methods:
                clf = _factory(settings, name, device, supervised)(seed)
                start = time.perf_counter()
                clf.fit(X_mm, y_mm)
                seconds = time.perf_counter() - start
                records.append(
                    {
                        "data": "digits 0-5",
                        "method": name,
                        "mismatch": float(level),
                        "per_class": settings.mismatch_per_class,
                        "seed": int(seed),
                        "accuracy": float(clf.score(X_test[in6], y_test[in6])),
                        "seconds": seconds,
                    }
                )
                runs.advance()
    return records


def candidates(settings: Settings = NOTEBOOK, seed: int = 0, *, device=None) -> list[dict]:
    """The tuning grid's models as candidates of a model selection (chapter 09, section 5).

    Every (lr, weight_decay) of the grid trained as in :func:`tune` (same labels, same seed);
    one record per candidate with its test accuracy and, under ``"correct"``, whether it gets
    each test image right -- the "truth" that ``evaluation.selection_noise`` draws
    validation sets from.
    """
    X_tr, y_tr, _, _, X_test, y_test = holdout(settings.n_val)
    y_l = split_labeled(y_tr, settings.tune_per_class, seed=seed)
    records = []
    grid = [(lr, wd) for lr in settings.grid_lr for wd in settings.grid_weight_decay]
    with progress_bar(len(grid), "candidates") as runs:  # one bar over the fits
        for lr, wd in grid:
            clf = SSLClassifier(
                steps=settings.steps, batch_size=settings.batch_size, lr=lr, weight_decay=wd,
                random_state=seed, device=device,
            )  # fmt: skip
            start = time.perf_counter()
            clf.fit(X_tr, y_l)
            seconds = time.perf_counter() - start
            correct = clf.predict(X_test) == y_test
            records.append(
                {"method": "supervised", "seed": int(seed), "lr": lr, "weight_decay": wd,
                 "accuracy": float(correct.mean()), "seconds": seconds, "correct": correct}
            )  # fmt: skip
            runs.advance()
    return records
