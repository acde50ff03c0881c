"""Chapter 09: the checked exercises and the label draws of the chapter.

Each exercise check passes on the instructors' solution, fails with a useful message on typical
wrong answers and prints "not attempted yet" (and raises nothing) on the stub the chapter ships.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from course_lib.checks import ex09_realistic_evaluation as ex09
from course_lib.checks.core import CheckFailed

NOTEBOOK = Path(__file__).parents[1] / "lectures" / "09_realistic_evaluation.ipynb"


def test_the_solution_sketch_of_09_1_is_right():
    for acc, sd in ((0.85, 0.01), (0.6, 0.05), (0.99, 0.003)):
        n = ex09.solution_ex09_1(acc, sd)
        assert math.sqrt(acc * (1 - acc) / n) <= sd < math.sqrt(acc * (1 - acc) / (n - 1))
    assert ex09.solution_ex09_1(1.0, 0.01) == 1


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda a, s: math.ceil(a * (1 - a) / s), "the standard deviation is squared"),
        (lambda a, s: math.floor(a * (1 - a) / s**2), "round the bound up"),
        (lambda a, s: a * (1 - a) / s**2, "whole number of examples"),
        (lambda a, s: math.ceil(a / s**2), r"variance of one example is a \(1 - a\)"),
        (lambda a, s: math.ceil(a * (1 - a) / s**2), "at least 1"),  # 0 for a perfect model
    ],
    ids=["sd-not-squared", "floor", "not-whole", "variance-a", "perfect-model-0"],
)
def test_typical_mistakes_of_09_1_fail_with_a_named_hint(wrong, message):
    with pytest.raises(CheckFailed, match=f"(?s){message}.*Hint: solve"):
        ex09.check_ex09_1(wrong)


def _by_position(records, method, baseline, per_class):
    mine = [r for r in records if r["per_class"] == per_class]
    a = [r["accuracy"] for r in mine if r["method"] == method]
    b = [r["accuracy"] for r in mine if r["method"] == baseline]
    return np.subtract(a, b)


def _unsorted(records, method, baseline, per_class):
    acc = {(r["method"], r["seed"]): r["accuracy"] for r in records if r["per_class"] == per_class}
    return np.array([acc[method, s] - acc[baseline, s] for m, s in acc if m == method])


def _sorts_in_place(records, method, baseline, per_class):
    records.sort(key=lambda r: r["seed"])
    return ex09.solution_ex09_2(records, method, baseline, per_class)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (_by_position, "pair the two methods by seed"),
        (lambda *a: -ex09.solution_ex09_2(*a), "method minus baseline"),
        (_unsorted, "not in the order of the seeds"),
        (_sorts_in_place, "changed the records"),
        (lambda *a: float(ex09.solution_ex09_2(*a).mean()), "expected a NumPy array"),
    ],
    ids=["by-position", "sign", "unsorted", "in-place", "mean-only"],
)
def test_typical_mistakes_of_09_2_fail_with_a_named_hint(wrong, message):
    with pytest.raises(CheckFailed, match=f"(?s){message}.*Hint: build a dict"):
        ex09.check_ex09_2(wrong)


def test_the_records_of_09_2_need_pairing_by_seed():
    """The check's records are shuffled and the label draw dominates the accuracy, so pairing by
    position gives clearly different gains (the check can tell the mistake apart)."""
    recs = ex09._records(900)
    right = ex09.solution_ex09_2(recs, "Π-model", "supervised", 5)
    assert np.abs(_by_position(recs, "Π-model", "supervised", 5) - right).max() > 0.02
    np.testing.assert_allclose(right, 0.03, atol=0.05)  # the method effect, plus noise


def _cells():
    nb = json.loads(NOTEBOOK.read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_the_chapter_ships_both_exercises_unsolved():
    code = "\n".join(_cells())
    for k in (1, 2):
        assert f"check_ex09_{k}(" in code
    assert code.count("raise NotImplementedError") >= 2


def test_every_summary_of_runs_has_at_least_five_label_draws():
    """Issue 17: error bars and means over >= 5 label draws, never a standard deviation of two."""
    loops = re.findall(r"track\(range\((\d+)\)", "\n".join(_cells()))
    assert len(loops) == 3  # the digits sweep, the mismatch and the X-ray sweep
    assert all(int(n) >= 5 for n in loops)


def test_every_method_of_the_chapter_trains_on_the_flat_digits():
    """The benchmark's sweep (BENCH) compares every method of ``ch09.METHODS`` on 64-pixel vectors:
    FixMatch's image augmentations used to reject them, so ``--only ch09`` crashed."""
    from dataclasses import replace

    from course_lib.experiments import ch09_realistic_evaluation as ch09

    tiny = replace(ch09.BENCH, steps=2, per_class=(1,))
    records = ch09.sweep(tiny, seed=0, device="cpu")
    assert [r["method"] for r in records] == list(ch09.BENCH.methods) == list(ch09.METHODS)
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in records)
