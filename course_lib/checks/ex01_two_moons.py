"""Chapter 01's checked exercises (the label convention, clusters against classes), with solutions.

- Exercise 01.1: **hide labels** the course's way (``y == -1`` marks an unlabeled example): keep
  ``per_class`` labels of each class, drawn at random with a seed, and set every other entry to -1.
- Exercise 01.2: **cluster agreement**: how well a clustering matches the classes, when cluster
  ids carry no class names -- the best accuracy over every way of naming the clusters.

Each ``check_ex01_k(answer)`` runs :func:`course_lib.checks.core.exercise`: ``None`` or a stub
that raises ``NotImplementedError`` prints the hint; a wrong answer fails with the hint.
"""

from __future__ import annotations

import itertools

import numpy as np

from course_lib.checks.core import (
    CheckReport,
    Fail,
    array,
    as_array,
    call,
    close,
    exercise,
    untouched,
)

# --- Exercise 01.1: hide labels -----------------------------------------------------------------


def solution_ex01_1(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Solution sketch: a seeded generator; for each class, choose ``per_class`` of its indices
    without replacement; every other entry of a copy of ``y`` becomes -1 (the input stays)."""
    rng = np.random.default_rng(seed)
    out = np.full_like(y, -1)
    for c in np.unique(y):
        keep = rng.choice(np.flatnonzero(y == c), per_class, replace=False)
        out[keep] = c
    return out


_Y = np.repeat([0, 1, 2], [30, 20, 25])[np.random.default_rng(11).permutation(75)]


def check_ex01_1(answer) -> CheckReport | None:
    """``answer(y, per_class, seed) -> y_semi``: y (n,) ints 0..C-1; the same shape, -1 for the
    hidden labels, ``per_class`` labels of each class kept as they were."""

    def counts(fn):
        got = as_array(call(fn, _Y, 3, 0, on="75 labels of 3 classes, per_class = 3"))
        kept = got != -1
        for c in (0, 1, 2):
            n = int(np.sum(got == c))
            if n != 3:
                raise Fail(f"class {c} keeps {n} labels; keep per_class = 3 of EACH class.")
        if not np.array_equal(got[kept], _Y[kept]):
            raise Fail("a kept label differs from y: keep the true label where you keep one.")
        if set(np.unique(got[~kept]).tolist()) - {-1}:
            raise Fail("hidden entries must be -1, the course's (scikit-learn's) mark.")

    def seeded(fn):
        a = as_array(call(fn, _Y, 2, 5, on="seed 5"))
        b = as_array(call(fn, _Y, 2, 5, on="seed 5 again"))
        if not np.array_equal(a, b):
            raise Fail("the same seed gives different draws: draw with a generator made from seed.")
        draws = {tuple(as_array(call(fn, _Y, 2, s, on=f"seed {s}"))) for s in range(6)}
        if len(draws) == 1:
            raise Fail("six seeds give the same labeled points: draw them at random with the seed "
                       "(not the first per_class of each class).")  # fmt: skip

    return exercise(
        "Exercise 01.1 (hide labels)",
        answer,
        [
            ("per_class labels of each class, the rest -1", counts),
            ("the same seed, the same draw; other seeds, other draws", seeded),
            ("inputs left unchanged", untouched(lambda: (_Y.copy(), 3, 0), ["y", None, None], "y")),
        ],
        hint="rng = np.random.default_rng(seed); out = np.full_like(y, -1); for each class c: "
        "keep = rng.choice(np.flatnonzero(y == c), per_class, replace=False); out[keep] = c.",
        returns=array(lambda y, k, s: np.shape(y), "an array of labels like y"),
    )


# --- Exercise 01.2: cluster agreement -----------------------------------------------------------


def solution_ex01_2(clusters: np.ndarray, y_true: np.ndarray) -> float:
    """Solution sketch: cluster ids are arbitrary names, so try every one-to-one naming of the
    clusters by classes (a permutation) and keep the best accuracy. (Many classes: the Hungarian
    algorithm, ``scipy.optimize.linear_sum_assignment`` on the confusion matrix, finds it fast.)"""
    labels = np.unique(np.concatenate([clusters, y_true]))
    best = 0.0
    for perm in itertools.permutations(labels):
        named = np.asarray(perm)[np.searchsorted(labels, clusters)]
        best = max(best, float(np.mean(named == y_true)))
    return best


def _agreement_cases():
    rng = np.random.default_rng(12)
    y3 = rng.integers(0, 3, 60)
    noisy = np.where(rng.random(60) < 0.25, rng.integers(0, 3, 60), y3)
    renamed = np.array([2, 0, 1])[noisy]  # the same clusters under other names
    return y3, renamed


def check_ex01_2(answer) -> CheckReport | None:
    """``answer(clusters, y_true) -> float``: the best accuracy of the clusters over all ways of
    naming them by classes (clusters and classes: ints 0..C-1, the same C)."""

    def number(fn, *args, on):
        got = call(fn, *args, on=on)
        try:
            return float(np.asarray(as_array(got)).reshape(()))
        except (Fail, ValueError, TypeError):
            raise Fail(f"return one number (a float); got {type(got).__name__} ({on}).") from None

    def swapped(fn):
        y = np.array([0, 0, 0, 1, 1, 1, 1])
        got = number(fn, 1 - y, y, on="two clusters, named the other way round")
        if abs(got - 1.0) > 1e-9:
            raise Fail(f"perfect clusters under swapped names must agree 100 %; got {got:.3f}.")

    def three(fn):
        y3, renamed = _agreement_cases()
        on = "60 points, 3 classes, clusters renamed and 25 % reshuffled"
        acc = float(np.mean(renamed == y3))
        close(
            number(fn, renamed, y3, on=on),
            solution_ex01_2(renamed, y3),
            f"on {on}",
            mistakes={
                "cluster ids are not class names: try every naming, not the ids as they are.": acc,
                "max(acc, 1 - acc) only works for two classes: with three, try every "
                "permutation of the names.": max(acc, 1 - acc),
            },
        )

    def bounded(fn):
        y3, renamed = _agreement_cases()
        got = number(fn, renamed, y3, on="60 points, 3 classes")
        if not 0.0 <= got <= 1.0:
            raise Fail(f"an agreement is a share of points, in [0, 1]; got {got}.")

    return exercise(
        "Exercise 01.2 (cluster agreement)",
        answer,
        [
            ("two clusters named the other way round", swapped),
            ("three clusters under other names", three),
            ("a share in [0, 1]", bounded),
        ],
        hint="for perm in itertools.permutations(range(C)): named = np.array(perm)[clusters]; "
        "keep the best np.mean(named == y_true).",
    )
