"""Chapter 02's checked exercises (the graph penalty, the deformed kernel), with solutions.

- Exercise 02.1: the **smoothness** ``f^T L f`` of values ``f`` on a graph with dense symmetric
  weights ``W``, ``L = D - W``: ``1/2 sum_ij W_ij (f_i - f_j)^2``.
- Exercise 02.2: the **deformed kernel** of Sindhwani, Niyogi & Belkin (2005) on the training
  points: ``K~ = K (I + M K)^-1`` with ``M = (gamma_I / gamma_A) L``, the Gram matrix with which
  an ordinary SVM solves LapSVM.

Each ``check_ex02_k(answer)`` runs :func:`course_lib.checks.core.exercise`: ``None`` or a stub
that raises ``NotImplementedError`` prints the hint; a wrong answer fails with the hint.
"""

from __future__ import annotations

import numpy as np

from course_lib import classic
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

# --- Exercise 02.1: smoothness along the graph ---------------------------------------------------


def solution_ex02_1(f: np.ndarray, W: np.ndarray) -> float:
    """Solution sketch: degrees ``D = diag(W.sum(1))``, ``L = D - W``, then ``f @ L @ f``
    (equal to ``0.5 * sum_ij W_ij (f_i - f_j)^2``: every edge counted once)."""
    L = np.diag(W.sum(axis=1)) - W
    return float(f @ L @ f)


def _graph(seed: int, n: int = 9):
    rng = np.random.default_rng(seed)
    W = rng.random((n, n)) * (rng.random((n, n)) < 0.4)
    W = np.triu(W, 1)
    return rng.normal(size=n), W + W.T


def _scalar(fn, *args, on):
    got = call(fn, *args, on=on)
    try:
        return float(np.asarray(as_array(got)).reshape(()))
    except (Fail, ValueError, TypeError):
        raise Fail(f"return one number; got {type(got).__name__} ({on}).") from None


def check_ex02_1(answer) -> CheckReport | None:
    """``answer(f, W) -> float``: f (n,), W (n, n) symmetric, non-negative, zero diagonal."""

    def value(fn):
        f, W = _graph(21)
        on = "a random graph of 9 nodes"
        sq = (f[:, None] - f[None, :]) ** 2
        close(
            _scalar(fn, f, W, on=on),
            solution_ex02_1(f, W),
            f"on {on}",
            mistakes={
                "every edge appears twice in sum_ij: take half of it (or use L = D - W).": (
                    float(np.sum(W * sq))
                ),
                "L = D - W, not D + W.": float(f @ (np.diag(W.sum(1)) + W) @ f),
                "f^T W f is not the penalty: subtract it from f^T D f.": float(f @ W @ f),
            },
        )

    def constant(fn):
        _, W = _graph(22)
        got = _scalar(fn, np.full(9, 3.0), W, on="a constant f")
        if abs(got) > 1e-9:
            raise Fail(f"a constant f does not change along any edge: expected 0, got {got:.3g}.")

    def nonnegative(fn):
        for seed in range(23, 28):
            f, W = _graph(seed)
            got = _scalar(fn, f, W, on=f"random graph (seed {seed})")
            if got < -1e-9:
                raise Fail(f"a sum of W_ij (f_i - f_j)^2 cannot be negative; got {got:.3g}.")

    return exercise(
        "Exercise 02.1 (f^T L f)",
        answer,
        [
            ("value on a random graph", value),
            ("0 for a constant f", constant),
            ("never negative", nonnegative),
            ("inputs left unchanged", untouched(lambda: _graph(29), ["f", "W"], "a random graph")),
        ],
        hint="L = np.diag(W.sum(axis=1)) - W; return f @ L @ f "
        "(= 0.5 * sum of W_ij * (f_i - f_j)**2).",
    )


# --- Exercise 02.2: the deformed kernel ---------------------------------------------------------


def solution_ex02_2(K: np.ndarray, L: np.ndarray, gamma_A: float, gamma_I: float) -> np.ndarray:
    """Solution sketch: ``M = (gamma_I / gamma_A) L`` and ``K~ = K (I + M K)^-1``, computed with a
    linear solve rather than an inverse: ``K~^T = solve((I + M K)^T, K^T)``. It equals
    ``K - K (I + MK)^-1 M K`` (Sindhwani et al.'s form), and ``K`` itself when ``gamma_I = 0``."""
    M = (gamma_I / gamma_A) * L
    A = np.eye(len(K)) + M @ K
    return np.linalg.solve(A.T, K.T).T


def _problem(seed: int, n: int = 12):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    K = classic.rbf(X, sigma=1.0)
    L = classic.graph_laplacian(classic.knn_graph(X, 3)).toarray()
    return K, L


def check_ex02_2(answer) -> CheckReport | None:
    """``answer(K, L, gamma_A, gamma_I) -> K_tilde``: K, L (n, n); K~ (n, n)."""

    def value(fn):
        K, L = _problem(31)
        on = "12 points, gamma_A = 0.03125, gamma_I = 1"
        M = (1.0 / 0.03125) * L
        close(
            call(fn, K, L, 0.03125, 1.0, on=on),
            classic.deformed_kernel(K, L, 1.0 / 0.03125)[0],
            f"on {on}",
            rtol=1e-6,
            atol=1e-8,
            mistakes={
                "M is (gamma_I / gamma_A) L: you used gamma_I alone.": (
                    solution_ex02_2(K, L, 1.0, 1.0)
                ),
                "M is (gamma_I / gamma_A) L, not (gamma_A / gamma_I) L.": (
                    solution_ex02_2(K, L, 1.0, 0.03125)
                ),
                "K - K M K is only the first term of the series: invert (I + M K).": K - K @ M @ K,
            },
        )

    def svm_limit(fn):
        K, L = _problem(32)
        close(call(fn, K, L, 0.5, 0.0, on="gamma_I = 0"), K, "with gamma_I = 0 (the SVM): K~ = K")

    def symmetric(fn):
        K, L = _problem(33)
        got = as_array(call(fn, K, L, 0.1, 0.3, on="gamma_A = 0.1, gamma_I = 0.3"))
        if not np.allclose(got, got.T, atol=1e-8):
            raise Fail("K~ must be symmetric (a kernel's Gram matrix).")

    return exercise(
        "Exercise 02.2 (deformed kernel)",
        answer,
        [
            ("value at the Figure 2 setting", value),
            ("gamma_I = 0 gives K", svm_limit),
            ("symmetric", symmetric),
            (
                "inputs left unchanged",
                untouched(lambda: (*_problem(34), 0.1, 1.0), ["K", "L", None, None], "12 points"),
            ),
        ],
        hint="M = (gamma_I / gamma_A) * L; K_tilde = K @ np.linalg.inv(np.eye(n) + M @ K) "
        "(or a linear solve).",
        returns=array(lambda K, L, a, i: np.shape(K), "an (n, n) Gram matrix"),
    )
