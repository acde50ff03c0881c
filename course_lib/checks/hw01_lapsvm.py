"""Homework 1 (LapSVM): the graph Laplacian and the deformed kernel."""

from __future__ import annotations

import numpy as np

from course_lib.checks.core import (
    CheckReport,
    Fail,
    array,
    as_array,
    call,
    close,
    run_checks,
    same_shape,
    untouched,
)


def _random_graph(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.uniform(0.1, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.4)
    W = np.triu(W, 1)
    return W + W.T


def _random_kernel(n: int, seed: int) -> np.ndarray:
    from course_lib.classic import rbf

    X = np.random.default_rng(seed).normal(size=(n, 2))
    return rbf(X, sigma=1.0)


def check_laplacian(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(W) -> L``, the (unnormalised) graph Laplacian ``L = D - W`` as a dense array.

    Reference: :func:`course_lib.classic.graph_laplacian`.
    """
    from course_lib.classic import graph_laplacian

    def ref(W):
        return graph_laplacian(W).toarray()

    def shape(fn):
        W = _random_graph(6, 0)
        same_shape(call(fn, W, on="a 6-node graph"), (6, 6), "a 6-node graph")

    def value(fn):
        W = _random_graph(7, 1)
        D = np.diag(W.sum(1))
        close(
            call(fn, W, on="a random weighted graph"),
            ref(W),
            "on a random weighted graph",
            mistakes={
                "the sign is flipped: L = D - W, not W - D.": W - D,
                "the diagonal must hold the degrees d_i = sum_j W_ij (D - W).": -W,
                "this is the normalised Laplacian; here use L = D - W.": graph_laplacian(
                    W, normalized=True
                ).toarray(),
            },
        )

    def rows_sum_to_zero(fn):
        W = _random_graph(5, 2)
        L = as_array(call(fn, W, on="a random graph"))
        if not np.allclose(L.sum(1), 0.0, atol=1e-8):
            raise Fail("each row of L must sum to 0 (so constant functions are perfectly smooth).")

    def smoothness_identity(fn):
        W = _random_graph(6, 3)
        f = np.random.default_rng(3).normal(size=6)
        L = as_array(call(fn, W, on="a random graph"))
        want = 0.5 * np.sum(W * (f[:, None] - f[None, :]) ** 2)
        if not np.isclose(f @ L @ f, want, rtol=1e-6):
            raise Fail("f^T L f must equal 1/2 sum_ij W_ij (f_i - f_j)^2 for every f; it does not.")

    def edge_no_edges(fn):
        W = np.zeros((4, 4))
        close(call(fn, W, on="a graph without edges"), ref(W), "on a graph without edges")

    return run_checks(
        "check_laplacian",
        fn,
        [
            ("shape", shape),
            ("value on a random graph", value),
            ("rows sum to 0", rows_sum_to_zero),
            ("f^T L f = 1/2 sum W (f_i - f_j)^2", smoothness_identity),
            ("graph without edges", edge_no_edges),
            (
                "W left unchanged",
                untouched(lambda: (_random_graph(5, 4),), ["W"], "a random graph"),
            ),
        ],
        returns=array(lambda W: W.shape, "a NumPy array (n, n), the Laplacian L = D - W"),
        quiet=quiet,
    )


def check_deformed_kernel(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(K, L, r) -> K_tilde = K (I + r L K)^{-1}`` on the training points.

    Reference: :func:`course_lib.classic.deformed_kernel` (its first output, all columns).
    """
    from course_lib.classic import deformed_kernel, graph_laplacian

    def case(n, seed):
        return _random_kernel(n, seed), graph_laplacian(_random_graph(n, seed + 100)).toarray()

    def ref(K, L, r):
        return deformed_kernel(K, L, r)[0]

    def shape(fn):
        K, L = case(6, 0)
        same_shape(call(fn, K, L, 0.5, on="n = 6, r = 0.5"), (6, 6), "n = 6")

    def value(fn):
        K, L = case(8, 1)
        r = 0.7
        eye = np.eye(8)
        close(
            call(fn, K, L, r, on="a random kernel and graph, r = 0.7"),
            ref(K, L, r),
            "on a random kernel and graph (r = 0.7)",
            rtol=1e-5,
            atol=1e-8,
            mistakes={
                "check the sign: K~ = K (I + r L K)^-1, a plus.": K
                @ np.linalg.inv(eye - r * L @ K),
                "you forgot the leading K: K~ = K (I + r L K)^-1.": np.linalg.inv(eye + r * L @ K),
                "the order inside the inverse matters: (I + r L K), not (I + r K L).": K
                @ np.linalg.inv(eye + r * K @ L),
            },
        )

    def r_zero(fn):
        K, L = case(5, 2)
        close(call(fn, K, L, 0.0, on="r = 0"), K, "at r = 0 (must give K back)")

    def symmetric(fn):
        K, L = case(7, 3)
        Kt = as_array(call(fn, K, L, 2.0, on="r = 2"))
        if not np.allclose(Kt, Kt.T, atol=1e-8):
            raise Fail("K~ must be symmetric (it is a kernel); yours is not at r = 2.")

    def shrinks_rough_directions(fn):
        # the graph term penalises f = K alpha that varies along edges: K~ is "smaller" than K
        K, L = case(7, 4)
        Kt = as_array(call(fn, K, L, 5.0, on="r = 5"))
        if np.trace(Kt) > np.trace(K) + 1e-9:
            raise Fail(
                "the deformed kernel must not be larger than K (trace(K~) <= trace(K)); the graph "
                "penalty can only remove capacity."
            )

    return run_checks(
        "check_deformed_kernel",
        fn,
        [
            ("shape", shape),
            ("value on a random kernel", value),
            ("r = 0 gives K", r_zero),
            ("symmetric", symmetric),
            ("no larger than K", shrinks_rough_directions),
            (
                "K and L left unchanged",
                untouched(lambda: (*case(5, 5), 1.0), ["K", "L", None], "r = 1"),
            ),
        ],
        returns=array(lambda K, L, r: K.shape, "a NumPy array (n, n), the deformed kernel K~"),
        quiet=quiet,
    )
