"""The homework through the real nbgrader: generate_assignment, then autograde of three students.

``python -m course_lib.homework course DIR`` lays out the course (our nbgrader_config.py
and source/<hw>/<hw>.ipynb from the instructor notebooks); ``nbgrader generate_assignment`` must
release our committed student notebooks byte for byte. Three submissions of every homework are
then autograded in one ``nbgrader autograde`` run:

- ``solved``: the released notebook with the instructor's solutions typed in: every
  auto-graded cell scores full marks, every check cell prints its one ✓ line (no ``Out[]`` for
  nbgrader to read as partial credit, nothing on stderr, which nbgrader scores 0), and the slowest
  cell leaves the configured cell timeout a margin of two;
- ``blank``: the released notebook untouched: autograde completes and scores 0 everywhere, each
  check cell failing with the checker's "not implemented yet";
- ``deleted`` (homework 1 and 6: the mechanism is nbgrader's, one classic and one deep notebook
  show it): the functions solved (not the experiment), the first check cell deleted. nbgrader
  puts the cell back (``OverwriteCells.add_missing_cells`` of our config), runs it and scores it.
  ``deleted_default`` is the same homework 1 graded with nbgrader's default instead: the point is
  lost (the cell is left for "manual grading" and scores nothing), which is what our config fixes.

nbgrader is a test dependency, never imported by ``course_lib``. Without it the test is skipped,
except under CI (``CI`` set), where it fails. Two to three minutes on 2 CPU cores: fifteen
notebooks are executed, each starting a kernel that imports torch, and the solved ones train.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from course_lib import homework

ROOT = Path(__file__).resolve().parents[1]
INSTRUCTOR = sorted((ROOT / "lectures" / "homework" / "instructor").glob("*.ipynb"))
STUDENT_DIR = ROOT / "lectures" / "homework" / "student"
NAMES = [p.stem for p in INSTRUCTOR]
DELETED = ("hw01_lapsvm", "hw06_box2mask")


def _missing(what: str) -> None:
    """Fail under CI, skip elsewhere: a missing nbgrader must never pass silently in CI."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set and {what}; `pip install -e .[test]` installs it", pytrace=False)
    pytest.skip(what)


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    # nbgrader runs `alembic` from PATH for its gradebook: this interpreter's scripts come first
    env = dict(
        os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    )
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stderr[-4000:]}"
    return proc


def _grade_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _is_check(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


def _experiment_start(nb) -> int:
    return next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown" and c.source.lstrip().startswith("## Experiment")
    )


def _submission(name: str, student: str):
    """The notebook ``student`` hands in for homework ``name``."""
    released = nbformat.read(STUDENT_DIR / f"{name}.ipynb", as_version=4)
    solved = {
        c.id: c.source
        for c in nbformat.read(
            ROOT / "lectures/homework/instructor" / f"{name}.ipynb", as_version=4
        ).cells
    }
    if student == "blank":
        return released
    end = len(released.cells) if student == "solved" else _experiment_start(released)
    for cell in released.cells[:end]:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = solved[cell.id]
    if student.startswith("deleted"):
        first_check = next(i for i, c in enumerate(released.cells) if _is_check(c))
        del released.cells[first_check]
    return released


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        _missing("nbgrader is not installed")
    course = tmp_path_factory.mktemp("nbgrader_course")
    homework.nbgrader_course(course)
    _nbgrader(course, "generate_assignment", "*")

    def submit(student, name):
        folder = course / "submitted" / student / name
        folder.mkdir(parents=True)
        nbformat.write(_submission(name, student), folder / f"{name}.ipynb")

    for name in NAMES:
        for student in ("solved", "blank", "deleted") if name in DELETED else ("solved", "blank"):
            submit(student, name)
    log = _nbgrader(course, "autograde", "*").stderr
    submit("deleted_default", DELETED[0])  # graded with nbgrader's default only
    _nbgrader(
        course,
        *("autograde", DELETED[0], "--student", "deleted_default"),
        "--OverwriteCells.add_missing_cells=False",
    )
    return course, log


def _grades(course: Path, name: str, student: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(name, name, student)
        return {g.name: (g.auto_score, g.max_score, g.needs_manual_grade) for g in sub.grades}


def _autograded(course: Path, name: str, student: str):
    return nbformat.read(course / "autograded" / student / name / f"{name}.ipynb", as_version=4)


def test_generate_assignment_releases_the_committed_student_notebooks(course):
    course, _ = course
    for name in NAMES:
        released = (course / "release" / name / f"{name}.ipynb").read_bytes()
        assert released == (STUDENT_DIR / f"{name}.ipynb").read_bytes(), (
            f"{name}: `nbgrader generate_assignment` releases another notebook than "
            "`python -m course_lib.homework build` writes"
        )


def test_our_checksum_is_nbgraders():
    try:
        from nbgrader.utils import compute_checksum
    except ImportError:
        _missing("nbgrader is not installed")
    n = 0
    for name in NAMES:
        for cell in nbformat.read(STUDENT_DIR / f"{name}.ipynb", as_version=4).cells:
            if "nbgrader" in cell.metadata:
                assert homework.checksum(cell) == compute_checksum(cell)
                cell.source += "\n# edited"  # a different source gives another checksum
                assert (
                    homework.checksum(cell)
                    == compute_checksum(cell)
                    != cell.metadata.nbgrader.checksum
                )
                n += 1
    assert n >= 30


@pytest.mark.parametrize("name", NAMES)
def test_solved_homework_scores_full_marks(course, name):
    course, log = course
    grades = _grades(course, name, "solved")
    nb = _autograded(course, name, "solved")
    assert len(grades) == len(_grade_cells(nb)) >= 3
    for cell in _grade_cells(nb):
        auto, max_score, manual = grades[cell.metadata.nbgrader.grade_id]
        if cell.cell_type == "markdown":  # a written answer: changed, so it waits for a grader
            assert auto is None and manual, cell.id
            continue
        assert auto == max_score > 0 and not manual, f"{name} {cell.id}: {auto}/{max_score}"
        # one line on stdout: no Out[] (nbgrader reads it as partial credit), nothing on stderr
        kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
        assert kinds == [("stream", "stdout")], f"{name} {cell.id}: {kinds}"
        text = cell.outputs[0].text
        assert text.startswith("✓") and text.count("\n") == 1, text
    assert "cannot be converted" not in log


def _seconds(cell) -> float:
    times = cell.metadata["execution"]
    start, end = (
        datetime.fromisoformat(times[k].replace("Z", "+00:00"))
        for k in ("iopub.execute_input", "shell.execute_reply")
    )
    return (end - start).total_seconds()


def test_cell_timeout_leaves_a_margin_of_two(course):
    from traitlets.config import PyFileConfigLoader

    course, _ = course
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    timeout = config.Execute.timeout
    slowest = max(
        (_seconds(c), f"{name} {c.id}")
        for name in NAMES
        for c in _autograded(course, name, "solved").cells
        if c.cell_type == "code"
    )
    print(f"slowest cell: {slowest[1]}, {slowest[0]:.1f} s; cell timeout {timeout} s")
    assert timeout >= 2 * slowest[0], (
        f"{slowest[1]} ran {slowest[0]:.0f} s of a {timeout} s timeout"
    )


@pytest.mark.parametrize("name", NAMES)
def test_untouched_homework_scores_zero(course, name):
    course, _ = course
    grades = _grades(course, name, "blank")
    assert grades and all(auto == 0 and not manual for auto, _, manual in grades.values()), grades
    checks_ = [c for c in _autograded(course, name, "blank").cells if _is_check(c)]
    first = [o for o in checks_[0].outputs if o.output_type == "error"]
    assert first and first[0].ename == "CheckFailed" and "not implemented yet" in first[0].evalue


@pytest.mark.parametrize("name", DELETED)
def test_a_deleted_check_cell_is_put_back_and_graded(course, name):
    course, log = course
    released = nbformat.read(STUDENT_DIR / f"{name}.ipynb", as_version=4)
    tasks = [
        c.metadata.nbgrader.grade_id
        for c in released.cells[: _experiment_start(released)]
        if _is_check(c)
    ]
    deleted = tasks[0]
    assert f"Missing grade cell {deleted} encountered" in log
    grades = _grades(course, name, "deleted")
    # the deleted check scores like the others: every task's check passes, the experiment's fail
    for cell in _grade_cells(released):
        grade_id = cell.metadata.nbgrader.grade_id
        auto, max_score, manual = grades[grade_id]
        want = max_score if grade_id in tasks else 0
        assert auto == want and not manual, f"{name} {cell.id}: {auto}, expected {want}"
    back = [
        c
        for c in _autograded(course, name, "deleted").cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == deleted
    ]
    assert len(back) == 1 and re.search(r"was missing from the submission", back[0].source)
    assert back[0].outputs[0].text.startswith("✓")


def test_with_nbgraders_default_a_deleted_check_cell_loses_its_point(course):
    """The mutant of our config: what `add_missing_cells = True` prevents."""
    course, _ = course
    name = DELETED[0]
    solved, default = _grades(course, name, "deleted"), _grades(course, name, "deleted_default")
    released = nbformat.read(STUDENT_DIR / f"{name}.ipynb", as_version=4)
    deleted = next(c for c in released.cells if _is_check(c)).metadata.nbgrader.grade_id
    assert solved[deleted][0] == solved[deleted][1] > 0
    assert default[deleted][0] is None  # no auto score: only a manual grader would notice
    assert sum(g[0] or 0 for g in default.values()) < sum(g[0] or 0 for g in solved.values())
