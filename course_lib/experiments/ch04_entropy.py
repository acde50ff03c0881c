"""Chapter 04: entropy minimization on two moons, the confidence penalty on the digits.

Two experiments:

* :func:`run` -- two moons (:func:`moons_task`), 3 labels/class: the supervised MLP, entropy
  minimization (Grandvalet & Bengio 2005) at several lambda, VAT with and without its entropy term
  and the confidence penalty, 600 steps, Adam lr 1e-2, batches of 64. Beside the test accuracy
  each record holds the share of training points *near the boundary*, ``|p(1|x) - 0.5| < 0.3``
  (chapter 01's crude low-density criterion).
* :func:`confidence` -- over-confidence on the digits (Pereyra et al. 2017, Fig. 1): an MLP
  (128, 128) trained on all 1,257 training labels with no regulariser, dropout 0.3, label
  smoothing and the confidence penalty; the maximum softmax probability on the test images.

The notebook and the benchmark share the settings; the notebook trains more variants (the lambda
sweep) and records the boundary for its widget, the benchmark runs more seeds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from course_lib import seed_everything
from course_lib._validation import check_number, check_positive_int
from course_lib.data import digits, split_labeled
from course_lib.experiments.ch01_two_moons import fit_mlp, moons_task
from course_lib.methods import (
    VAT,
    ConfidencePenalty,
    EntropyMinimization,
    LabelSmoothing,
    Supervised,
)
from course_lib.models import MLP
from course_lib.train import fit, predict_proba

__all__ = [
    "BENCH",
    "CONFIDENCE",
    "LAMBDAS",
    "METHODS",
    "NOTEBOOK",
    "REGULARISERS",
    "ConfidenceSettings",
    "Settings",
    "confidence",
    "near_boundary",
    "run",
]

LAMBDAS = (0.0, 0.1, 0.3, 1.0, 3.0)
METHODS = {
    "supervised": Supervised,
    **{
        f"entropy minimization λ={lam:g}": (lambda lam=lam: EntropyMinimization(lambda_=lam))
        for lam in LAMBDAS
    },
    "VAT": VAT,
    "VAT + EntMin": lambda: VAT(lambda_ent=0.3),
    "confidence penalty β=1": lambda: ConfidencePenalty(beta=1.0),
}


def near_boundary(model, X) -> float:
    """Share of the points ``X`` with ``|p(1|x) - 0.5| < 0.3``: the boundary runs through them."""
    return float(np.mean(np.abs(predict_proba(model, X)[:, 1] - 0.5) < 0.3))


@dataclass(frozen=True)
class Settings:
    """The two-moons experiment: which ``METHODS``, the training knobs, and ``record_every``
    (with a ``grid`` x ``grid`` plotting grid) to record the boundary for the widget."""

    methods: tuple[str, ...] = tuple(METHODS)
    steps: int = 600
    lr: float = 1e-2
    batch_size: int = 64
    per_class: int = 3
    record_every: int | None = None
    grid: int = 60

    def __post_init__(self):
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ValueError(f"methods {unknown or '()'} unknown; choose from {list(METHODS)}.")
        for name in ("steps", "batch_size", "per_class", "grid"):
            check_positive_int(getattr(self, name), name)
        if self.record_every is not None:
            check_positive_int(self.record_every, "record_every (or None)")
        check_number(self.lr, "lr", low=0.0, low_inclusive=False)


NOTEBOOK = Settings(record_every=60)
BENCH = Settings(
    methods=(
        "supervised",
        "entropy minimization λ=1",
        "VAT + EntMin",
        "confidence penalty β=1",
    )
)


def run(settings: Settings = NOTEBOOK, seed: int = 0, *, device=None) -> list[dict]:
    """One record per method: ``{"method", "seed", "accuracy", "near_boundary", "seconds"}``
    plus ``"history"`` and ``"model"``; accuracy on the test moons."""
    X, y_true, X_test, y_test = moons_task()
    y = split_labeled(y_true, settings.per_class, seed=seed)
    records = []
    for name in settings.methods:
        method = METHODS[name]()
        out = fit_mlp(
            method, X, y, X_test, y_test,
            steps=settings.steps, seed=seed, record_every=settings.record_every,
            grid=settings.grid, device=device, lr=settings.lr, batch_size=settings.batch_size,
        )  # fmt: skip
        net = method.eval_model(out["model"])
        out |= {"model": net, "near_boundary": near_boundary(net, X)}
        records.append({"method": name, "seed": int(seed), **out})
    return records


REGULARISERS = {  # name -> (method, dropout)
    "no regulariser": (Supervised, 0.0),
    "dropout 0.3": (Supervised, 0.3),
    "label smoothing ε=0.1": (lambda: LabelSmoothing(epsilon=0.1), 0.0),
    "confidence penalty β=0.5": (lambda: ConfidencePenalty(beta=0.5), 0.0),
}


@dataclass(frozen=True)
class ConfidenceSettings:
    """The digits experiment: the MLP's hidden widths and the training knobs (all labels)."""

    hidden: tuple[int, ...] = (128, 128)
    steps: int = 800
    lr: float = 1e-2
    batch_size: int = 64
    confident: float = 0.95  # the share of test predictions with p_max >= this is reported

    def __post_init__(self):
        if not self.hidden:
            raise ValueError("hidden is empty; give the MLP's hidden widths, e.g. (128, 128).")
        for width in self.hidden:
            check_positive_int(width, "hidden (each width)")
        check_positive_int(self.steps, "steps")
        check_positive_int(self.batch_size, "batch_size")
        check_number(self.lr, "lr", low=0.0, low_inclusive=False)
        check_number(self.confident, "confident", low=0.0, high=1.0, low_inclusive=False,
                     high_inclusive=False)  # fmt: skip


CONFIDENCE = ConfidenceSettings()  # the notebook's and the benchmark's


def confidence(
    settings: ConfidenceSettings = CONFIDENCE, seed: int = 0, *, device=None
) -> list[dict]:
    """One record per regulariser: ``{"method", "seed", "accuracy", "mean_max_prob",
    "share_confident", "seconds"}`` and ``"max_prob"`` (the test images' maximum softmax
    probabilities, for the histograms)."""
    X, y, X_test, y_test = digits(flat=True)
    records = []
    for name, (make, dropout) in REGULARISERS.items():
        seed_everything(seed)
        model = MLP(X.shape[1], 10, hidden=settings.hidden, dropout=dropout)
        start = time.perf_counter()
        fit(
            model,
            make(),
            X,
            y,
            steps=settings.steps,
            lr=settings.lr,
            batch_size=settings.batch_size,
            seed=seed,
            device=device,
        )
        seconds = time.perf_counter() - start
        proba = predict_proba(model, X_test)
        p_max = proba.max(1)
        records.append(
            {
                "method": name,
                "seed": int(seed),
                "accuracy": float(np.mean(proba.argmax(1) == y_test)),
                "mean_max_prob": float(p_max.mean()),
                "share_confident": float(np.mean(p_max >= settings.confident)),
                "seconds": seconds,
                "max_prob": p_max,
            }
        )
    return records
