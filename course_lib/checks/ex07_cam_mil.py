"""Chapter 07's checked exercises (CAM scores, patch-level MIL), with the instructors' solutions.

- Exercise 07.1: the pointing game (Zhang et al. 2016) without tolerance: the fraction of maps
  whose maximum lies on the object; images with an empty mask are not scored.
- Exercise 07.2: the bag probability of Li et al.'s patch-level MIL (Eq. 1) with the paper's
  rescaling of every factor into [low, 1]: P(y = 1 | x) = 1 - prod_j (low + (1 - low)(1 - p_j)).

Each ``check_ex07_k(answer)`` runs :func:`course_lib.checks.core.exercise`: ``None`` or a stub
that raises ``NotImplementedError`` prints the hint; a wrong answer fails with the hint.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from course_lib.checks.core import (
    CheckReport,
    Fail,
    as_array,
    call,
    close,
    exercise,
    gen,
    grads_reach,
    tensor,
    untouched,
)

# --- Exercise 07.1: the pointing game ------------------------------------------------------------


def solution_ex07_1(maps: np.ndarray, masks: np.ndarray) -> float:
    """Solution sketch: flatten each map, take the position of its maximum, read the mask there;
    average the hits over the images whose mask is not empty (an image without an object cannot
    be pointed at)."""
    keep = masks.reshape(len(masks), -1).any(1)
    flat_maps = maps[keep].reshape(int(keep.sum()), -1)
    flat_masks = masks[keep].reshape(int(keep.sum()), -1) > 0
    hits = flat_masks[np.arange(len(flat_maps)), flat_maps.argmax(1)]
    return float(hits.mean())


def _maps_and_masks(n: int, size: int, seed: int, empty: int = 0):
    """Random maps (n, size, size) and square masks; the first ``empty`` masks are empty."""
    rng = np.random.default_rng(seed)
    maps = rng.random((n, size, size))
    masks = np.zeros((n, size, size), bool)
    for i in range(empty, n):
        r, c = rng.integers(0, size - 3, 2)
        masks[i, r : r + 3, c : c + 4] = True  # 3 x 4: a row/column swap of the peak misses
        if i % 2:  # every other map peaks inside its mask
            maps[i, r + 1, c + 3] = 2.0
    return maps, masks


def _one_number(out, args, on):
    """Return contract: one real number (a Python or NumPy float, or a 0-d array/tensor)."""
    value = out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else out
    if isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0:
        raise Fail(f"return one number, the fraction of hits; got {type(out).__name__} ({on}).")
    try:
        float(value)
    except (TypeError, ValueError):
        raise Fail(
            f"return one number, the fraction of hits; got {type(out).__name__} ({on})."
        ) from None


def check_ex07_1(answer) -> CheckReport | None:
    """``answer(maps, masks) -> float``: maps (N, H, W), masks (N, H, W) booleans; the fraction of
    images (with a non-empty mask) whose map maximum lies on the mask."""

    def value(fn):
        maps, masks = _maps_and_masks(12, 10, seed=700)
        on = "12 random maps, half of them peaking on their mask"
        got = call(fn, maps, masks, on=on)
        flat = maps.reshape(12, -1).argmax(1)
        rows, cols = np.unravel_index(flat, (10, 10))
        close(
            float(as_array(got)),
            solution_ex07_1(maps, masks),
            f"on {on}",
            mistakes={
                "the game looks at the maximum of the map, not the minimum.": float(
                    masks.reshape(12, -1)[np.arange(12), maps.reshape(12, -1).argmin(1)].mean()
                ),
                "rows and columns are swapped: np.unravel_index gives (row, column).": float(
                    masks[np.arange(12), cols, rows].mean()
                ),
                "return the fraction of hits, not their number.": float(
                    masks.reshape(12, -1)[np.arange(12), flat].sum()
                ),
            },
        )

    def skips_empty(fn):
        maps, masks = _maps_and_masks(10, 10, seed=702, empty=4)
        on = "10 maps, the first 4 masks empty"
        close(
            float(as_array(call(fn, maps, masks, on=on))),
            solution_ex07_1(maps, masks),
            f"for {on}: images with an empty mask are not scored (not counted as misses)",
        )

    def perfect(fn):
        maps, masks = _maps_and_masks(6, 8, seed=704)
        maps = masks + 0.01 * maps  # every map is its mask plus a little noise
        got = float(as_array(call(fn, maps, masks, on="maps = masks + noise")))
        if abs(got - 1.0) > 1e-9:
            raise Fail(
                f"maps equal to their masks (plus a little noise) must score 1.0, got {got:.3g}."
            )

    return exercise(
        "Exercise 07.1 (pointing game)",
        answer,
        [
            ("value on random maps", value),
            ("images with an empty mask are skipped", skips_empty),
            ("maps equal to the masks score 1", perfect),
            (
                "inputs left unchanged",
                untouched(
                    lambda: _maps_and_masks(4, 6, seed=706), ["maps", "masks"], "random maps"
                ),
            ),
        ],
        hint="keep = masks.any(axis=(1, 2)); for each kept image, flat = map.reshape(-1).argmax(); "
        "a hit is mask.reshape(-1)[flat]; return the mean of the hits.",
        returns=_one_number,
    )


# --- Exercise 07.2: the MIL bag probability ------------------------------------------------------


def solution_ex07_2(p: Tensor, low: float) -> Tensor:
    """Solution sketch: each patch says "not diseased" with probability 1 - p_j, rescaled into
    [low, 1]; the image is negative only if every patch is, so P(y = 0) is the product over the
    patches (a sum of logs: no underflow) and P(y = 1) = 1 - P(y = 0) (Eq. 1)."""
    log_p0 = torch.log(low + (1.0 - low) * (1.0 - p)).flatten(1).sum(1)
    return 1.0 - torch.exp(log_p0)


def _patches(n: int, P: int, seed: int) -> Tensor:
    return torch.rand(n, P, P, generator=gen(seed), dtype=torch.float64) ** 4  # mostly small


def check_ex07_2(answer) -> CheckReport | None:
    """``answer(p, low) -> P(y = 1 | x)``: p (N, P, P) patch probabilities, one image
    probability per image: 1 - prod_j (low + (1 - low)(1 - p_j)) (Li et al., Eq. 1)."""

    def value(fn):
        p, low = _patches(5, 6, seed=710), 0.9
        on = "5 images of 6 x 6 patches, low = 0.9"
        got = call(fn, p, low, on=on)
        flat = p.flatten(1)
        close(
            got,
            solution_ex07_2(p, low),
            f"on {on}",
            mistakes={
                "rescale every factor into [low, 1] before the product (the paper's 0.98).": (
                    1 - (1 - flat).prod(1)
                ),
                "the bag is positive if at least one patch is: 1 - prod(1 - p_j), not the "
                "largest patch probability.": flat.max(1).values,
                "rescale the factors (1 - p_j), then take 1 minus their product; you rescaled "
                "p_j into [low, 1].": 1 - (1 - (low + (1 - low) * flat)).prod(1),
                "P(y = 1) is 1 minus the product; you returned P(y = 0).": (
                    (low + (1 - low) * (1 - flat)).prod(1)
                ),
            },
        )

    def many_patches(fn):
        p = torch.full((2, 40, 40), 0.5, dtype=torch.float64)  # 1,600 factors of 0.99
        on = "40 x 40 patches of 0.5, low = 0.98"
        close(call(fn, p, 0.98, on=on), solution_ex07_2(p, 0.98), f"for {on}")

    def empty_image(fn):
        p = torch.zeros(3, 4, 4, dtype=torch.float64)
        got = as_array(call(fn, p, 0.98, on="every patch probability 0"))
        if np.abs(got).max() > 1e-9:
            raise Fail("an image whose patches all have p_j = 0 must have P(y = 1) = 0.")

    def gradients(fn):
        (gp,) = grads_reach(fn, (_patches(2, 4, seed=712), 0.9), [0], "patch probabilities")
        if not gp:
            raise Fail("no gradient reaches the patch probabilities: the loss must train them.")

    return exercise(
        "Exercise 07.2 (MIL bag probability)",
        answer,
        [
            ("value on random patches", value),
            ("a 40 x 40 grid of patches", many_patches),
            ("no lesion anywhere gives 0", empty_image),
            ("gradient reaches the patches", gradients),
            (
                "input left unchanged",
                untouched(lambda: (_patches(2, 3, seed=714), 0.9), ["p", None], "low = 0.9"),
            ),
        ],
        hint="factor_j = low + (1 - low) * (1 - p_j); P(y = 0) = product over the patches "
        "(p.flatten(1)); P(y = 1) = 1 - P(y = 0). Keep it a tensor.",
        returns=tensor(lambda p, low: (p.shape[0],), "a tensor with one probability per image"),
    )
