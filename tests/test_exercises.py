"""The runner of the chapters' checked exercises (`checks.core.exercise`).

A chapter ships with its exercises unsolved and nbval runs it as shipped: an exercise not attempted
yet must print its hint and raise nothing; an attempted wrong answer must fail with the hint.
"""

import importlib
import json
from pathlib import Path

import pytest

from course_lib.checks import core
from course_lib.checks.core import CheckFailed, Fail

CHECKS_DIR = Path(core.__file__).parent


def _chapter_checks() -> list[tuple]:
    """``(check_exNN_k, solution_exNN_k)`` of every chapter exercise, from ``checks/exNN_*.py``."""
    pairs = []
    for path in sorted(CHECKS_DIR.glob("ex[0-9][0-9]_*.py")):
        mod = importlib.import_module(f"course_lib.checks.{path.stem}")
        for name in sorted(n for n in dir(mod) if n.startswith("check_ex")):
            pairs.append((getattr(mod, name), getattr(mod, name.replace("check_", "solution_"))))
    return pairs


def _stub(*args):
    raise NotImplementedError()


def _half(value):
    if abs(value - 0.5) > 0.01:
        raise Fail(f"{value} is not one half")


def _calls(student):
    core.call(student, 1.0, on="one")


def test_not_attempted_prints_the_hint_and_raises_nothing(capsys):
    def stub(x):
        raise NotImplementedError()

    assert core.exercise("Exercise 0.1", None, [("half", _half)], hint="count them") is None
    assert core.exercise("Exercise 0.2", stub, [("calls", _calls)], hint="write it") is None
    out = capsys.readouterr().out
    assert "Exercise 0.1: not attempted yet. Hint: count them" in out
    assert "Exercise 0.2: not attempted yet. Hint: write it" in out


def test_right_answer_passes_and_wrong_answer_fails_with_the_hint(capsys):
    assert core.exercise("Exercise 0.1", 0.5, [("half", _half)], hint="count them")
    assert "✓ Exercise 0.1" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"(?s)0.7 is not one half.*Hint: count them"):
        core.exercise("Exercise 0.1", 0.7, [("half", _half)], hint="count them")


def test_a_function_that_raises_is_a_failure_not_a_skip():
    def broken(x):
        raise ValueError("oops")

    with pytest.raises(CheckFailed, match=r"(?s)raised ValueError: oops.*Hint: write it"):
        core.exercise("Exercise 0.2", broken, [("calls", _calls)], hint="write it")


@pytest.mark.parametrize("check, solution", _chapter_checks(), ids=lambda f: f.__name__)
def test_the_solution_sketch_passes_its_check(check, solution, capsys):
    assert check(solution)
    chapter = check.__name__.removeprefix("check_ex")[:2]  # check_ex09_1 -> "09"
    assert f"✓ Exercise {chapter}" in capsys.readouterr().out


@pytest.mark.parametrize("check, solution", _chapter_checks(), ids=lambda f: f.__name__)
@pytest.mark.parametrize("unsolved", [None, _stub], ids=["None", "stub"])
def test_the_unsolved_exercise_prints_the_hint_and_raises_nothing(
    check, solution, unsolved, capsys
):
    assert check(unsolved) is None
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "Hint:" in out


def test_every_chapter_has_two_checked_exercises_with_solution_sketches():
    """Issue 17: >= 2 checked exercises per chapter, each with the instructors' solution beside its
    check, and the chapter calls each check."""
    lectures = Path(__file__).resolve().parents[1] / "lectures"
    chapters = sorted(lectures.glob("[0-9][0-9]_*.ipynb"))
    assert len(chapters) == 10
    for nb in chapters:
        nn = nb.name[:2]
        (module,) = CHECKS_DIR.glob(f"ex{nn}_*.py")
        mod = importlib.import_module(f"course_lib.checks.{module.stem}")
        checks = sorted(n for n in dir(mod) if n.startswith(f"check_ex{nn}_"))
        assert len(checks) >= 2, f"{nb.name}: {checks}"
        for name in checks:
            assert hasattr(mod, name.replace("check_", "solution_")), f"{module.name}: {name}"
        code = "".join(
            "".join(c["source"]) for c in json.loads(nb.read_text())["cells"]
            if c["cell_type"] == "code"
        )  # fmt: skip
        called = [name for name in checks if f"{name}(" in code]
        assert called == checks, f"{nb.name} does not call {set(checks) - set(called)}"
