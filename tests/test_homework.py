"""Homework notebooks: the build script, the committed student versions, and the stubs.

The solved instructor notebooks run under nbval (``make test``); the student notebooks do not
(their functions raise NotImplementedError; ``lectures/homework/student/conftest.py`` keeps nbval
away). Here each student notebook is executed up to its experiment section: every cell must run,
except the check cells, which must fail with the checkers' "not implemented yet" message.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from course_lib import homework

ROOT = Path(__file__).resolve().parents[1]
INSTRUCTOR = sorted((ROOT / "lectures" / "homework" / "instructor").glob("*.ipynb"))
STUDENT_DIR = ROOT / "lectures" / "homework" / "student"
BLOCKS = ("lapsvm", "consistency", "vat", "fixmatch", "cam", "box2mask")


def _ids(paths):
    return [p.stem for p in paths]


def test_one_notebook_per_block():
    names = " ".join(p.stem for p in INSTRUCTOR)
    for block in BLOCKS:
        assert block in names, f"no homework notebook for {block}"


def test_committed_student_notebooks_equal_the_build():
    problems = homework.check()
    assert problems == [], "\n".join(problems) + "\nrun `python -m course_lib.homework build`"


def test_cli_check_and_build(tmp_path, capsys):
    assert homework.main(["check"]) == 0
    assert homework.main(["check", "--dst", str(tmp_path)]) == 1  # nothing built there yet
    assert "is missing" in capsys.readouterr().out
    assert homework.main(["build", "--dst", str(tmp_path)]) == 0
    assert homework.main(["check", "--dst", str(tmp_path)]) == 0
    stale = tmp_path / INSTRUCTOR[0].name
    stale.write_text(stale.read_text().replace("YOUR CODE HERE", "my answer"))
    assert homework.main(["check", "--dst", str(tmp_path)]) == 1
    assert "differs" in capsys.readouterr().out


def test_strip_solutions_code_keeps_indentation():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    out = homework.strip_solutions(src)
    assert out == "def f(x):\n    y = 1\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"


def test_strip_solutions_markdown_and_several_regions():
    src = "Q1\n### BEGIN SOLUTION\nsecret 1\n### END SOLUTION\nQ2\n### BEGIN SOLUTION\nsecret 2\n"
    src += "### END SOLUTION"
    out = homework.strip_solutions(src, code=False)
    assert out == "Q1\nYOUR ANSWER HERE\nQ2\nYOUR ANSWER HERE"


@pytest.mark.parametrize(
    "src, message",
    [
        ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("x = 1\n### END SOLUTION\n", "without a"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "nested"),
    ],
)
def test_strip_solutions_rejects_broken_markers(src, message):
    with pytest.raises(ValueError, match=message):
        homework.strip_solutions(src, where="cell 3")


def test_student_version_clears_outputs():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")
    cell.outputs = [nbformat.v4.new_output("stream", text="1")]
    cell.execution_count = 3
    nb.cells.append(cell)
    out = homework.student_version(nb)
    assert out.cells[0].outputs == [] and out.cells[0].execution_count is None
    assert nb.cells[0].execution_count == 3  # the source notebook is not modified


@pytest.mark.parametrize("path", INSTRUCTOR, ids=_ids(INSTRUCTOR))
def test_no_solution_leaks_into_the_student_notebook(path):
    student = json.loads((STUDENT_DIR / path.name).read_text())
    text = json.dumps(student)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    nb = json.loads(path.read_text())
    regions = sum("### BEGIN SOLUTION" in "".join(c["source"]) for c in nb["cells"])
    stubs = sum("YOUR CODE HERE" in "".join(c["source"]) for c in student["cells"])
    assert regions >= 3 and stubs >= 2
    # nbgrader metadata: every solution cell is marked, every check cell is a graded test
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader")
        if "### BEGIN SOLUTION" in "".join(cell["source"]):
            assert meta and meta["solution"], "a solution cell lacks nbgrader metadata"
        if "checks.check_" in "".join(cell["source"]):
            assert meta and meta["grade"] and not meta["solution"]


def _cells_before_experiment(nb):
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("## Experiment"):
            return i
    raise AssertionError("the notebook has no '## Experiment' section")


@pytest.mark.parametrize("path", INSTRUCTOR, ids=_ids(INSTRUCTOR))
def test_student_notebook_runs_up_to_the_stubs(path):
    from nbclient import NotebookClient

    nb = nbformat.read(STUDENT_DIR / path.name, as_version=4)
    nb.cells = nb.cells[: _cells_before_experiment(nb)]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute(
        cwd=str(STUDENT_DIR)
    )
    n_checks = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "checks.check_" in cell.source:
            n_checks += 1
            assert errors, f"cell {i}: the check passed on the stub"
            assert errors[0].ename == "CheckFailed", errors[0].ename
            assert "not implemented yet" in errors[0].evalue, errors[0].evalue
            # the cell shows the message, not a traceback through the checker (issue 17)
            shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors[0].traceback))
            assert shown == f"CheckFailed: {errors[0].evalue}", shown
        else:
            assert not errors, f"cell {i} failed before the stubs: {errors[0].evalue}"
    assert n_checks >= 2
