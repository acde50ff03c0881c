"""Chapter 04's checked exercises: the entropy of a prediction and its gradient at the boundary.

``check_ex04_1(answer)`` and ``check_ex04_2(answer)`` take the student's function; unsolved (a
stub raising ``NotImplementedError``, or ``None``) they print the hint. ``solution_ex04_k`` are
the instructors' solution sketches.
"""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import Fail, array, call, close, exercise

# --- Exercise 04.1: the entropy of each prediction -----------------------------------------------


def solution_ex04_1(p):
    """H(p) = -sum_k p_k log p_k per row, in nats (the entropy term of chapter 04, eq. (4)).

    Idea: 0 log 0 = 0 (its limit), so leave the zero entries out of the sum (``np.where``)
    instead of letting log 0 = -inf turn the row into NaN.
    """
    p = np.asarray(p, dtype=float)
    return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(1)


def _probs(seed: int, n: int = 6, c: int = 4) -> np.ndarray:
    z = np.random.default_rng(seed).normal(scale=2.0, size=(n, c))
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def check_ex04_1(answer):
    """``answer(p)``: ``p`` of shape (n, C), rows summing to 1 -> the (n,) entropies in nats."""

    def value(fn):
        p = _probs(40)
        want = solution_ex04_1(p)
        close(
            call(fn, p, on="random predictions, 4 classes"),
            want,
            "on random predictions (4 classes)",
            mistakes={
                "entropy in nats: use the natural log, np.log, not log2.": want / np.log(2),
                "H(p) = -sum p log p: mind the minus sign.": -want,
                "sum over the classes of each row (axis 1), do not average.": want / 4,
            },
        )

    def uniform_and_one_hot(fn):
        c = 5
        u = np.full((1, c), 1 / c)
        close(call(fn, u, on="the uniform distribution"), [np.log(c)], "for uniform p (log C)")
        one_hot = np.eye(3)
        got = np.asarray(call(fn, one_hot, on="one-hot rows"), dtype=float)
        if not np.all(np.isfinite(got)):
            raise Fail(
                "one-hot rows give NaN: 0 * log 0 must count as 0 (its limit); skip the zero "
                "entries or clip p before the log."
            )
        close(got, np.zeros(3), "for one-hot rows (a certain prediction has entropy 0)")

    def binary_maximum(fn):
        q = np.linspace(0.01, 0.99, 99)
        got = np.asarray(call(fn, np.stack([q, 1 - q], 1), on="two classes"), dtype=float)
        if abs(q[int(np.argmax(got))] - 0.5) > 1e-9:
            raise Fail("for two classes the entropy must peak at p = 0.5, on the boundary.")

    return exercise(
        "Exercise 04.1",
        answer,
        [
            ("value", value),
            ("uniform and one-hot rows", uniform_and_one_hot),
            ("two classes: maximal at p = 0.5", binary_maximum),
        ],
        hint="-(p * np.log(p)).sum(axis=1), with the zero entries of p kept out of the log "
        "(np.where or np.clip).",
        returns=array(lambda p: p.shape[:1], "an array (n,), one entropy per row"),
    )


# --- Exercise 04.2: the gradient of the entropy at the boundary ----------------------------------


def solution_ex04_2(z):
    """dH/dz for two classes, with z the logit difference and p = sigmoid(z).

    Idea: the chain rule. dH/dp = log((1 - p) / p) = -z and dp/dz = p (1 - p), so
    dH/dz = -z p (1 - p): 0 at z = 0, i.e. on the boundary itself entropy minimization gives
    no push to either side; it acts on the points near it.
    """
    z = np.asarray(z, dtype=float)
    p = 1 / (1 + np.exp(-z))
    return -z * p * (1 - p)


def check_ex04_2(answer):
    """``answer(z)``: an array of logit differences -> dH/dz at each, H the binary entropy of
    p = sigmoid(z) (in nats)."""
    z = np.linspace(-6, 6, 25)

    def value(fn):
        want = solution_ex04_2(z)
        p = 1 / (1 + np.exp(-z))
        close(
            call(fn, z, on="z from -6 to 6"),
            want,
            "for z from -6 to 6",
            mistakes={
                "that is dH/dp; multiply by dp/dz = p (1 - p) (the chain rule).": -z,
                "mind the sign: dH/dp = log((1 - p) / p) = -z, the entropy falls as |z| grows.": (
                    -want
                ),
                "dp/dz = p (1 - p) for p = sigmoid(z).": -z * p,
            },
        )

    def numerical(fn):
        zs = np.array([-2.0, -0.3, 0.7, 3.0])
        h = 1e-5

        def H(v):
            p = 1 / (1 + np.exp(-v))
            return -(p * np.log(p) + (1 - p) * np.log(1 - p))

        close(
            call(fn, zs, on="four logits"),
            (H(zs + h) - H(zs - h)) / (2 * h),
            "against a finite difference of H",
            rtol=1e-4,
            atol=1e-7,
        )

    def zero_on_boundary(fn):
        got = np.asarray(call(fn, np.array([0.0]), on="z = 0"), dtype=float)
        if abs(float(got[0])) > 1e-12:
            raise Fail(f"at z = 0 (p = 0.5, the boundary) dH/dz must be 0; yours is {got[0]:.3g}.")

    return exercise(
        "Exercise 04.2",
        answer,
        [
            ("value", value),
            ("finite difference", numerical),
            ("0 on the boundary", zero_on_boundary),
        ],
        hint="p = 1 / (1 + exp(-z)); dH/dp = log((1 - p) / p) = -z; multiply by dp/dz.",
        returns=array(lambda z: np.shape(z), "an array shaped like z"),
    )
