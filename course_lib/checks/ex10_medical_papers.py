"""Chapter 10's checked exercises (NonAdjLoss's soft adjacency, grouped convolutions), with the
instructors' solutions.

- Exercise 10.1: the soft adjacency matrix of Ganaye et al. (MICCAI 2018) for probability maps
  S (N, K, H, W) and the 4-neighbour pairs E of all images:
  A[k, l] = 1 / (2 |E|) sum_{(p, q) in E} (S_k(p) S_l(q) + S_l(p) S_k(q)).
- Exercise 10.2: the number of weights of a first convolution over P phases, grouped (Lee et al.,
  MICCAI 2018) or not: ``filters * (in_channels / groups) * kernel ** 2`` (no bias).

Each ``check_ex10_k(answer)`` runs :func:`course_lib.checks.core.exercise`: ``None`` or a stub
that raises ``NotImplementedError`` prints the hint; a wrong answer fails with the hint.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from course_lib.checks.core import (
    CheckReport,
    Fail,
    as_array,
    call,
    close,
    exercise,
    gen,
    tensor,
    untouched,
)

# --- Exercise 10.1: the soft adjacency of NonAdjLoss --------------------------------------------


def solution_ex10_1(probs: Tensor) -> Tensor:
    """Solution sketch: with s = probs moved to (N, H, W, K), the horizontal pairs are
    s[:, :, :-1] with s[:, :, 1:], the vertical ones s[:, :-1] with s[:, 1:]; sum the outer
    products over all pairs (einsum), add the transpose (both orders of each pair) and divide by
    2 |E|, so that the entries sum to 1."""
    s = probs.movedim(1, -1)
    a = torch.einsum("nhwk,nhwl->kl", s[:, :, :-1], s[:, :, 1:])
    a = a + torch.einsum("nhwk,nhwl->kl", s[:, :-1], s[:, 1:])
    n, h, w = s.shape[:3]
    pairs = n * (h * (w - 1) + (h - 1) * w)
    return (a + a.T) / (2 * pairs)


def _adjacency_wrong(probs: Tensor, *, symmetric: bool = True, vertical: bool = True) -> Tensor:
    """Typical mistakes: one order of each pair only (``symmetric=False``, divided by |E|), or the
    horizontal pairs only (``vertical=False``)."""
    s = probs.movedim(1, -1)
    a = torch.einsum("nhwk,nhwl->kl", s[:, :, :-1], s[:, :, 1:])
    n, h, w = s.shape[:3]
    pairs = n * h * (w - 1)
    if vertical:
        a = a + torch.einsum("nhwk,nhwl->kl", s[:, :-1], s[:, 1:])
        pairs += n * (h - 1) * w
    return (a + a.T) / (2 * pairs) if symmetric else a / pairs


def _probs(seed: int, n: int = 2, k: int = 3, h: int = 5, w: int = 6) -> Tensor:
    return torch.softmax(torch.randn(n, k, h, w, generator=gen(seed), dtype=torch.float64) * 2, 1)


def check_ex10_1(answer) -> CheckReport | None:
    """``answer(probs) -> A``: probs (N, K, H, W) softmax maps; the (K, K) soft adjacency."""

    def value(fn):
        p = _probs(1000)
        on = "2 images, 3 regions, 5 x 6 pixels"
        close(
            call(fn, p, on=on),
            solution_ex10_1(p),
            f"on {on}",
            mistakes={
                "count both orders of each pair, S_k(p) S_l(q) + S_l(p) S_k(q), and divide by "
                "2 |E|: your matrix is not symmetric.": _adjacency_wrong(p, symmetric=False),
                "E holds the vertical neighbour pairs too (s[:, :-1] with s[:, 1:]).": (
                    _adjacency_wrong(p, vertical=False)
                ),
                "divide by 2 |E| (all pairs of all images), so that the entries sum to 1.": (
                    solution_ex10_1(p) * 2 * 2 * (5 * 5 + 4 * 6)
                ),
            },
        )

    def one_hot(fn):
        lab = torch.zeros(1, 4, 4, dtype=torch.long)
        lab[0, :, 2:] = 1  # two regions side by side: 4 horizontal pairs (0, 1) of 24 pairs
        p = torch.nn.functional.one_hot(lab, 2).movedim(-1, 1).double()
        a = as_array(call(fn, p, on="a 4 x 4 image, left half region 0, right half region 1"))
        if a.shape != (2, 2) or not np.isclose(a[0, 1], 4 / 48) or not np.isclose(a.sum(), 1):
            raise Fail(
                "one-hot maps with 4 of 24 neighbour pairs across the border must give "
                f"A[0, 1] = A[1, 0] = 4 / 48 and entries summing to 1; got {np.round(a, 4)}."
            )

    return exercise(
        "Exercise 10.1 (soft adjacency)",
        answer,
        [
            ("value on random maps", value),
            ("one-hot maps count the border pairs", one_hot),
            ("input left unchanged", untouched(lambda: (_probs(1002),), ["probs"], "random maps")),
        ],
        hint="s = probs.movedim(1, -1); a = einsum('nhwk,nhwl->kl', s[:, :, :-1], s[:, :, 1:]) + "
        "the same for s[:, :-1], s[:, 1:]; return (a + a.T) / (2 * number of pairs).",
        returns=tensor(lambda p: (p.shape[1], p.shape[1]), "a (K, K) tensor"),
    )


# --- Exercise 10.2: the weights of a grouped convolution ---------------------------------------


def solution_ex10_2(in_channels: int, filters: int, kernel: int, groups: int) -> int:
    """Solution sketch: each of the ``filters`` output channels sees only the ``in_channels /
    groups`` input channels of its group, through a ``kernel x kernel`` window (no bias)."""
    return filters * (in_channels // groups) * kernel * kernel


def _one_int(out, args, on):
    value = out.item() if isinstance(out, Tensor) else out
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float)):
        raise Fail(f"return one number of weights; got {type(out).__name__} ({on}).")


def check_ex10_2(answer) -> CheckReport | None:
    """``answer(in_channels, filters, kernel, groups) -> int``: the weights of
    ``nn.Conv2d(in_channels, filters, kernel, groups=groups, bias=False)``."""

    def against_torch(fn):
        for c, f, k, g in ((4, 16, 3, 4), (4, 16, 3, 1), (6, 12, 5, 3), (2, 8, 1, 2)):
            on = f"in_channels={c}, filters={f}, kernel={k}, groups={g}"
            want = nn.Conv2d(c, f, k, groups=g, bias=False).weight.numel()
            got = call(fn, c, f, k, g, on=on)
            close(
                float(got),
                float(want),
                on,
                rtol=0,
                atol=0,
                mistakes={
                    "each filter sees only in_channels / groups channels: divide by groups.": (
                        float(c * f * k * k)
                    ),
                    "the filters stay as given; only the inputs per filter shrink.": (
                        float((f // g) * (c // g) * k * k)
                    ),
                },
            )

    def ratio(fn):
        plain, grouped = call(fn, 4, 16, 3, 1, on="4 phases"), call(fn, 4, 16, 3, 4, on="4 phases")
        if plain != 4 * grouped:
            raise Fail("with 4 phases and groups = 4, the grouped layer has 4 times fewer weights.")

    return exercise(
        "Exercise 10.2 (grouped convolution)",
        answer,
        [("against nn.Conv2d", against_torch), ("groups = phases divides by the phases", ratio)],
        hint="each of the filters sees only its group's in_channels / groups input channels, "
        "through a kernel x kernel window; check yourself with "
        "nn.Conv2d(..., groups=groups, bias=False).weight.numel().",
        returns=_one_int,
    )
