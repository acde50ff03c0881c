"""Chapter 05's checked exercises (self-training's two ways of choosing pseudo-labels), with
solutions.

One round of scikit-learn's ``SelfTrainingClassifier``: the base classifier's probabilities
``probs`` (n, C) on every training point, the current labels ``y`` (-1 = unlabeled), and the new
labels after the round. Labeled points keep their labels; only unlabeled ones can gain one, the
class of their highest probability.

- Exercise 05.1: the **threshold** criterion: every unlabeled point whose highest probability
  reaches ``tau`` (``>=``) gets its arg-max class.
- Exercise 05.2: the **k_best** criterion: the ``k`` unlabeled points with the highest
  probabilities get their arg-max class, whatever those probabilities are.

Each ``check_ex05_k(answer)`` runs :func:`course_lib.checks.core.exercise`: ``None`` or a stub
that raises ``NotImplementedError`` prints the hint; a wrong answer fails with the hint.
"""

from __future__ import annotations

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


def _round(seed: int, n: int = 40, c: int = 3):
    """Probabilities (from a softmax of random logits) and labels with 8 labeled points."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=(n, c))
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.full(n, -1)
    labeled = rng.choice(n, 8, replace=False)
    y[labeled] = rng.integers(0, c, 8)
    return probs, y


def _returns():
    return array(lambda probs, y, _: np.shape(y), "the new labels, an array like y")


# --- Exercise 05.1: the threshold criterion -----------------------------------------------------


def solution_ex05_1(probs: np.ndarray, y: np.ndarray, tau: float) -> np.ndarray:
    """Solution sketch: ``new = y.copy()``; the unlabeled points (``y == -1``) whose highest
    probability is ``>= tau`` take ``probs.argmax(1)``; labeled points are never overwritten."""
    new = y.copy()
    pick = (y == -1) & (probs.max(axis=1) >= tau)
    new[pick] = probs.argmax(axis=1)[pick]
    return new


def check_ex05_1(answer) -> CheckReport | None:
    """``answer(probs, y, tau) -> y_new``: probs (n, C), y (n,) with -1 for unlabeled."""

    def value(fn):
        probs, y = _round(51)
        on = "40 points, 3 classes, 8 labeled, tau = 0.8"
        everyone = np.where(probs.max(1) >= 0.8, probs.argmax(1), y)
        close(
            call(fn, probs, y, 0.8, on=on),
            solution_ex05_1(probs, y, 0.8),
            f"on {on}",
            atol=0,
            rtol=0,
            mistakes={
                "a labeled point keeps its label: pseudo-label only where y == -1.": everyone,
                "keep the class (argmax), not the probability.": np.where(
                    (y == -1) & (probs.max(1) >= 0.8), probs.max(1), y
                ),
            },
        )

    def at_threshold(fn):
        probs = np.array([[0.75, 0.25], [0.5, 0.5], [0.2, 0.8]])
        got = as_array(call(fn, probs, np.array([-1, -1, -1]), 0.75, on="a probability of tau"))
        if not np.array_equal(got, [0, -1, 1]):
            raise Fail(
                f"with tau = 0.75 and highest probabilities 0.75, 0.5, 0.8 the labels are "
                f"[0, -1, 1]; got {got.tolist()}. A probability equal to tau is kept: use >= tau."
            )

    def none_reach(fn):
        probs, y = _round(52)
        got = as_array(call(fn, probs, y, 1.01, on="tau above every probability"))
        if not np.array_equal(got, y):
            raise Fail("with no probability reaching tau, nothing changes (SelfTraining stops).")

    return exercise(
        "Exercise 05.1 (threshold criterion)",
        answer,
        [
            ("value on one round", value),
            ("a probability equal to tau is kept", at_threshold),
            ("nothing reaches tau: nothing changes", none_reach),
            (
                "inputs left unchanged",
                untouched(lambda: (*_round(53), 0.8), ["probs", "y", None], "one round"),
            ),
        ],
        hint="new = y.copy(); pick = (y == -1) & (probs.max(axis=1) >= tau); "
        "new[pick] = probs.argmax(axis=1)[pick].",
        returns=_returns(),
    )


# --- Exercise 05.2: the k_best criterion --------------------------------------------------------


def solution_ex05_2(probs: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Solution sketch: among the unlabeled points only, sort by the highest probability
    (descending) and give the first ``k`` (or all, if fewer remain) their arg-max class."""
    new = y.copy()
    unlabeled = np.flatnonzero(y == -1)
    order = np.argsort(-probs[unlabeled].max(axis=1), kind="stable")
    pick = unlabeled[order[:k]]
    new[pick] = probs[pick].argmax(axis=1)
    return new


def _k_best_wrong(probs, y, k, *, among_all=False, lowest=False):
    new = y.copy()
    pool = np.arange(len(y)) if among_all else np.flatnonzero(y == -1)
    conf = probs[pool].max(axis=1)
    order = np.argsort(conf if lowest else -conf, kind="stable")
    pick = pool[order[:k]]
    new[pick] = probs[pick].argmax(axis=1)
    return new


def check_ex05_2(answer) -> CheckReport | None:
    """``answer(probs, y, k) -> y_new``: probs (n, C), y (n,) with -1 for unlabeled, k >= 1."""

    def value(fn):
        probs, y = _round(55)
        top = 0.99 - 0.001 * np.arange(8)  # the labeled points are the most confident ones
        probs[y != -1] = np.stack([top, (1 - top) / 2, (1 - top) / 2], axis=1)
        on = "40 points, 3 classes, 8 labeled (and confidently predicted), k = 5"
        close(
            call(fn, probs, y, 5, on=on),
            solution_ex05_2(probs, y, 5),
            f"on {on}",
            atol=0,
            rtol=0,
            mistakes={
                "rank the UNLABELED points only: labeled points are not candidates.": (
                    _k_best_wrong(probs, y, 5, among_all=True)
                ),
                "the k MOST confident points (highest probability first), not the least.": (
                    _k_best_wrong(probs, y, 5, lowest=True)
                ),
            },
        )

    def exactly_k(fn):
        probs, y = _round(56)
        got = as_array(call(fn, probs, y, 7, on="k = 7"))
        added = int(np.sum((y == -1) & (got != -1)))
        if added != 7:
            raise Fail(f"k = 7 must label exactly 7 unlabeled points; yours labeled {added}.")
        if not np.array_equal(got[y != -1], y[y != -1]):
            raise Fail("a labeled point changed its label: only unlabeled points gain one.")

    def fewer_left(fn):
        probs, y = _round(57)
        got = as_array(call(fn, probs, y, 100, on="k = 100, only 32 unlabeled left"))
        if np.any(got == -1):
            raise Fail("with k larger than the unlabeled points left, label all of them.")

    return exercise(
        "Exercise 05.2 (k_best criterion)",
        answer,
        [
            ("value on one round", value),
            ("exactly k new labels, old ones kept", exactly_k),
            ("k larger than what is left", fewer_left),
            (
                "inputs left unchanged",
                untouched(lambda: (*_round(58), 5), ["probs", "y", None], "one round"),
            ),
        ],
        hint="unl = np.flatnonzero(y == -1); order = np.argsort(-probs[unl].max(axis=1)); "
        "pick = unl[order[:k]]; new = y.copy(); new[pick] = probs[pick].argmax(axis=1).",
        returns=_returns(),
    )
