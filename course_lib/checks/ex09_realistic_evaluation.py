"""Chapter 09's checked exercises (realistic evaluation), with the instructors' solution sketches.

- Exercise 09.1: how many validation examples a given precision needs -- the smallest n with
  sqrt(a (1 - a) / n) <= sd (the binomial standard deviation of section 5).
- Exercise 09.2: the paired gain of a method over the baseline -- per label draw, the accuracy
  difference on *the same* draw (what ``evaluation.compare``'s shared draws make possible).

Each ``check_ex09_k(answer)`` runs :func:`course_lib.checks.core.exercise`: ``None`` or a stub
that raises ``NotImplementedError`` prints the hint; a wrong answer fails with the hint.
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from course_lib.checks.core import CheckReport, Fail, array, as_array, call, close, exercise

# --- Exercise 09.1: the validation set a precision needs ----------------------------------------


def solution_ex09_1(acc: float, sd: float) -> int:
    """Solution sketch: sqrt(a (1 - a) / n) <= sd  <=>  n >= a (1 - a) / sd**2, so n is that
    bound rounded up -- and at least 1 (a perfect model still needs one example to be measured).
    At a = 0.85 and sd = 1 point that is 1,275 images: more labels than the whole labeled set of a
    "5 labels per class" experiment."""
    return max(1, math.ceil(acc * (1 - acc) / sd**2))


def _sd(acc: float, n: int) -> float:
    return math.sqrt(acc * (1 - acc) / n)


def _whole(got, on: str) -> int:
    """The answer as an int, or a failure saying it must be a whole number of examples."""
    if isinstance(got, bool) or not isinstance(got, (numbers.Integral, float, np.floating)):
        raise Fail(f"return a whole number of examples (an int); got {type(got).__name__} ({on}).")
    if not float(got).is_integer():
        raise Fail(
            f"you returned {got} ({on}): a validation set holds a whole number of examples; "
            "round up with math.ceil."
        )
    return int(got)


def check_ex09_1(answer) -> CheckReport | None:
    """``answer(acc, sd) -> n``: the smallest number of validation examples n for which a model
    of accuracy ``acc`` has a validation accuracy with standard deviation sqrt(acc (1 - acc) / n)
    of at most ``sd`` (both as fractions, e.g. 0.85 and 0.01)."""

    def value(fn):
        for acc, sd in ((0.83, 0.013), (0.62, 0.04), (0.95, 0.007)):
            on = f"acc = {acc}, sd = {sd}"
            n = _whole(call(fn, acc, sd, on=on), on)
            bound = acc * (1 - acc) / sd**2
            if n == math.floor(bound) and n < bound:
                raise Fail(f"{n} is too small for {on}: round the bound up (math.ceil), not down.")
            close(
                n,
                solution_ex09_1(acc, sd),
                f"for {on}",
                atol=0.5,
                mistakes={
                    "the standard deviation is squared: n >= a (1 - a) / sd**2.": math.ceil(
                        acc * (1 - acc) / sd
                    ),
                    "the variance of one example is a (1 - a), not a.": math.ceil(acc / sd**2),
                    "the standard deviation is a square root: sd**2 = a (1 - a) / n, so n is "
                    "a (1 - a) / sd**2, not its square root.": math.ceil(math.sqrt(bound)),
                },
            )

    def smallest(fn):
        acc, sd = 0.74, 0.021
        on = f"acc = {acc}, sd = {sd}"
        n = _whole(call(fn, acc, sd, on=on), on)
        if n < 1 or _sd(acc, n) > sd + 1e-12:
            raise Fail(f"with n = {n} the standard deviation exceeds sd ({on}).")
        if n > 1 and _sd(acc, n - 1) <= sd:
            raise Fail(f"n - 1 = {n - 1} examples already reach sd ({on}): return the smallest n.")

    def perfect(fn):
        on = "acc = 1.0 (a model that is always right), sd = 0.01"
        n = _whole(call(fn, 1.0, 0.01, on=on), on)
        if n != 1:
            raise Fail(
                f"you returned {n} ({on}): its accuracy has no spread, but measuring it still "
                "takes one example -- return at least 1."
            )

    def tighter(fn):
        on = "acc = 0.8, sd = 0.02 and then 0.01"
        loose, tight = (_whole(call(fn, 0.8, sd, on=on), on) for sd in (0.02, 0.01))
        if not tight > loose:
            raise Fail(f"halving sd must need more examples ({on}); got {loose} then {tight}.")

    return exercise(
        "Exercise 09.1 (validation set size)",
        answer,
        [
            ("value for three accuracies", value),
            ("the smallest such n", smallest),
            ("a perfect model needs 1 example", perfect),
            ("a smaller sd needs more examples", tighter),
        ],
        hint="solve sqrt(a (1 - a) / n) <= sd for n: n >= a (1 - a) / sd**2; round up with "
        "math.ceil, and return at least 1.",
    )


# --- Exercise 09.2: the paired gain over the baseline --------------------------------------------


def solution_ex09_2(records, method: str, baseline: str, per_class) -> np.ndarray:
    """Solution sketch: index the accuracies by (method, seed) at the given label count, then
    subtract the baseline's accuracy *of the same seed* (the same labeled images) -- never pair
    the records by their position in the list. Seeds ascending.

    On section 3's records (``NOTEBOOK``, seeds 0-4) at 1 label per class the Π-model gains 4.4,
    3.9, 13.1, 2.2 and 4.3 points: it wins on every draw although the table's ranges (59.6 ± 3.6
    vs 65.2 ± 4.4) overlap; Pseudo-Label loses on four draws of five (+1.9, -3.0, -5.7, -10.2,
    -1.3). Pairing removes the luck of the draw that both methods share."""
    acc = {(r["method"], r["seed"]): r["accuracy"] for r in records if r["per_class"] == per_class}
    seeds = sorted(s for m, s in acc if m == method)
    return np.array([acc[method, s] - acc[baseline, s] for s in seeds])


def _records(seed: int, per_class=(1, 5), methods=("supervised", "Π-model"), n_seeds: int = 5):
    """Records as ``compare`` writes them, in a shuffled order: accuracies that depend mostly on
    the label draw (seed), plus a method effect -- so pairing by seed matters."""
    rng = np.random.default_rng(seed)
    draw = rng.normal(0.75, 0.08, size=(len(per_class), n_seeds))  # the luck of each label draw
    seeds = rng.choice(100, n_seeds, replace=False)
    records = [
        {"data": "digits", "method": m, "per_class": k, "seed": int(s),
         "accuracy": float(draw[i, j] + 0.03 * mi + rng.normal(0, 0.01)), "seconds": 1.0}
        for i, k in enumerate(per_class) for j, s in enumerate(seeds)
        for mi, m in enumerate(methods)
    ]  # fmt: skip
    return [records[i] for i in rng.permutation(len(records))]


def _n_seeds(records, method, baseline, per_class):
    return (len({r["seed"] for r in records if r["method"] == method}),)


def check_ex09_2(answer) -> CheckReport | None:
    """``answer(records, method, baseline, per_class) -> gains``: for every label draw (seed,
    ascending), the accuracy of ``method`` minus the accuracy of ``baseline`` on that same draw,
    among the records with ``per_class`` labels per class (records as ``compare`` returns them)."""

    def in_seed_order(got, want, on):
        got = as_array(got)
        if got.shape == want.shape and np.allclose(np.sort(got), np.sort(want)):
            if not np.allclose(got, want):
                raise Fail(
                    f"the gains are right but not in the order of the seeds, ascending ({on})."
                )

    def value(fn):
        recs = _records(900)
        on = "records in a shuffled order, Π-model vs supervised at 5 labels per class"
        got = call(fn, recs, "Π-model", "supervised", 5, on=on)
        in_seed_order(got, solution_ex09_2(recs, "Π-model", "supervised", 5), on)
        mine = [r for r in recs if r["per_class"] == 5]
        by_order = [r["accuracy"] for r in mine if r["method"] == "Π-model"]
        base_order = [r["accuracy"] for r in mine if r["method"] == "supervised"]
        close(
            got,
            solution_ex09_2(recs, "Π-model", "supervised", 5),
            f"on {on}",
            mistakes={
                "pair the two methods by seed (the same label draw), not by their position in "
                "the list of records.": np.subtract(by_order, base_order),
                "method minus baseline, not baseline minus method.": -solution_ex09_2(
                    recs, "Π-model", "supervised", 5
                ),
            },
        )

    def ordered(fn):
        recs = _records(901)
        on = "records of 5 seeds in a shuffled order"
        got = call(fn, recs, "Π-model", "supervised", 1, on=on)
        want = solution_ex09_2(recs, "Π-model", "supervised", 1)
        in_seed_order(got, want, on)
        close(got, want, f"at 1 label per class ({on})")

    def itself(fn):
        recs = _records(902)
        on = "a method against itself"
        got = as_array(call(fn, recs, "supervised", "supervised", 5, on=on))
        if np.abs(got).max() > 1e-12:
            raise Fail(f"{on} must gain exactly 0 on every draw.")

    def untouched_records(fn):
        recs = _records(903)
        before = copy.deepcopy(recs)
        call(fn, recs, "Π-model", "supervised", 5, on="records", copy=False)
        if recs != before:
            raise Fail("your function changed the records (their order or values); work on a copy.")

    return exercise(
        "Exercise 09.2 (paired gain over the baseline)",
        answer,
        [
            ("value on shuffled records", value),
            ("one gain per seed, seeds ascending", ordered),
            ("a method against itself gains 0", itself),
            ("records left unchanged", untouched_records),
        ],
        hint="build a dict {(r['method'], r['seed']): r['accuracy']} of the records with "
        "r['per_class'] == per_class, then for each seed in sorted order subtract "
        "acc[baseline, seed] from acc[method, seed]; return a NumPy array.",
        returns=array(_n_seeds, "a NumPy array with one gain per label draw"),
    )
