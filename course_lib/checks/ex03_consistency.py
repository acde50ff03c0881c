"""Chapter 03's checked exercises: Temporal Ensembling's target and Mean Teacher's EMA.

``check_ex03_1(answer)`` and ``check_ex03_2(answer)`` take the student's function; unsolved (a
stub raising ``NotImplementedError``, or ``None``) they print the hint. ``solution_ex03_k`` are
the instructors' solution sketches.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import Fail, array, call, close, exercise

# --- Exercise 03.1: Temporal Ensembling's bias-corrected target ----------------------------------


def solution_ex03_1(predictions, alpha):
    """Temporal Ensembling's target after t epochs (Laine & Aila 2017, Algorithm 2).

    Idea: accumulate Z <- alpha Z + (1 - alpha) z_e over the epochs e = 1..t from Z = 0, then
    divide by 1 - alpha^t: the start-up bias correction, since Z's weights sum to 1 - alpha^t.
    """
    Z = np.zeros_like(predictions[0])
    for z in predictions:
        Z = alpha * Z + (1 - alpha) * z
    return Z / (1 - alpha ** len(predictions))


def _predictions(seed: int, t: int = 5, n: int = 4, c: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.random((t, n, c))
    return z / z.sum(-1, keepdims=True)


def check_ex03_1(answer):
    """``answer(predictions, alpha)``: ``predictions`` of shape (t, n, C), one softmax output
    per epoch, oldest first; returns the (n, C) bias-corrected ensemble target."""

    def value(fn):
        z = _predictions(30)
        Z = np.zeros_like(z[0])
        for zi in z:
            Z = 0.6 * Z + 0.4 * zi
        close(
            call(fn, z, 0.6, on="5 epochs, alpha = 0.6"),
            solution_ex03_1(z, 0.6),
            "for 5 epochs, alpha = 0.6",
            mistakes={
                "divide by 1 - alpha^t (the start-up bias correction).": Z,
                "alpha weighs the old ensemble Z, 1 - alpha the new prediction.": (
                    _swapped(z, 0.6)
                ),
                "the newest prediction is the last one, predictions[-1].": (
                    solution_ex03_1(z[::-1], 0.6)
                ),
            },
        )

    def constant(fn):
        z = np.repeat(_predictions(31, t=1), 3, axis=0)  # the same prediction, three epochs
        on = "the same prediction in every epoch, alpha = 0.9"
        close(call(fn, z, 0.9, on=on), z[0], f"for {on} (the target must equal it)")

    def alpha_zero(fn):
        z = _predictions(32)
        close(call(fn, z, 0.0, on="alpha = 0"), z[-1], "at alpha = 0 (the newest prediction)")

    def a_distribution(fn):
        got = np.asarray(call(fn, _predictions(33), 0.6, on="5 epochs"), dtype=float)
        if not np.allclose(got.sum(-1), 1.0):
            raise Fail("each target row must sum to 1: it is an average of distributions.")

    return exercise(
        "Exercise 03.1",
        answer,
        [
            ("value", value),
            ("constant predictions", constant),
            ("alpha = 0", alpha_zero),
            ("rows sum to 1", a_distribution),
        ],
        hint="loop over the epochs: Z = alpha * Z + (1 - alpha) * z, from Z = 0; then divide "
        "by 1 - alpha**t, with t the number of epochs.",
        returns=array(lambda z, a: z.shape[1:], "an array (n, C), the targets"),
    )


def _swapped(z, alpha):
    Z = np.zeros_like(z[0])
    for zi in z:
        Z = (1 - alpha) * Z + alpha * zi
    return Z / (1 - alpha ** len(z))


# --- Exercise 03.2: Mean Teacher's EMA with its warm-up ------------------------------------------


def solution_ex03_2(theta_teacher, theta_student, alpha, step):
    """One EMA step of the teacher's weights (Mean Teacher, Sect. 2, with the warm-up of its
    reference code as the course counts it, :func:`course_lib.methods.parts.ema_decay`).

    Idea: a = min(1 - 1/(t + 1), alpha) makes the early teacher the plain mean of the students
    seen so far (a = 0 after the first step); then theta' <- a theta' + (1 - a) theta.
    """
    a = min(1 - 1 / (step + 1), alpha)
    return a * theta_teacher + (1 - a) * theta_student


def check_ex03_2(answer):
    """``answer(theta_teacher, theta_student, alpha, step)`` -> the teacher's new weights
    (arrays of the same shape; ``step`` = t = 0, 1, ... the optimiser step just taken)."""
    rng = np.random.default_rng(34)
    old, new = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))

    def value(fn):
        on = "alpha = 0.99, step 1000"
        close(
            call(fn, old, new, 0.99, 1000, on=on),
            solution_ex03_2(old, new, 0.99, 1000),
            f"at {on}",
            mistakes={
                "alpha weighs the teacher's old weights, 1 - alpha the student's.": (
                    0.01 * old + 0.99 * new
                ),
            },
        )

    def warm_up(fn):
        on = "step 0 (the first step), alpha = 0.99"
        close(
            call(fn, old, new, 0.99, 0, on=on),
            new,
            f"at {on}: a = min(1 - 1/(t + 1), alpha) = 0, the teacher becomes the student",
            mistakes={"use the warm-up a = min(1 - 1/(t + 1), alpha).": 0.99 * old + 0.01 * new},
        )
        on = "step 3, alpha = 0.99"
        close(
            call(fn, old, new, 0.99, 3, on=on),
            solution_ex03_2(old, new, 0.99, 3),
            f"at {on}: a = 1 - 1/4",
            mistakes={
                "t is the step just taken, counted from 0: a = 1 - 1/(t + 1) (the reference "
                "code's global_step is one ahead).": 0.8 * old + 0.2 * new
            },
        )

    def alpha_zero(fn):
        close(call(fn, old, new, 0.0, 50, on="alpha = 0"), new, "at alpha = 0 (no averaging)")

    return exercise(
        "Exercise 03.2",
        answer,
        [("value", value), ("warm-up", warm_up), ("alpha = 0", alpha_zero)],
        hint="a = min(1 - 1 / (step + 1), alpha), then a * theta_teacher + (1 - a) * "
        "theta_student.",
        returns=array(lambda t, s, a, k: t.shape, "an array shaped like theta_teacher"),
    )
