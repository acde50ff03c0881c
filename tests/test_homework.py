"""Homework notebooks: the build script, the committed student versions, and the stubs.

The solved instructor notebooks run under nbval (``make test``); the student notebooks do not
(their functions raise NotImplementedError; ``lectures/homework/student/conftest.py`` keeps nbval
away). Here each student notebook is executed up to its experiment section: every cell must run,
except the check cells, which must fail with the checkers' "not implemented yet" message.
"""

from __future__ import annotations

import copy
import hashlib
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


def test_checksum_is_nbgraders_algorithm():
    # nbgrader.utils.compute_checksum: md5 of source, cell type, grade, solution, locked, grade_id
    # and, for a grade cell, float(points); tests/test_nbgrader.py compares with nbgrader itself
    check = nbformat.v4.new_code_cell("checks.check_x(f)")
    check.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "q1", "points": 2}
    want = hashlib.md5(b"checks.check_x(f)codeTrueFalseTrueq12.0").hexdigest()
    assert homework.checksum(check) == want
    answer = nbformat.v4.new_markdown_cell("Réponse ✓")  # UTF-8; a solution is never locked
    answer.metadata["nbgrader"] = {"grade": True, "solution": True, "grade_id": "a", "points": 1}
    assert (
        homework.checksum(answer)
        == hashlib.md5("Réponse ✓markdownTrueTrueFalsea1.0".encode()).hexdigest()
    )


@pytest.mark.parametrize("path", INSTRUCTOR, ids=_ids(INSTRUCTOR))
def test_student_cells_are_locked_and_signed_as_nbgrader_does(path):
    """generate_assignment's LockCells and ComputeChecksums: a check cell can be neither edited
    nor deleted, a solution cell not deleted, every nbgrader cell carries its checksum."""
    student = nbformat.read(STUDENT_DIR / path.name, as_version=4)
    n_checks = 0
    for cell in student.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            assert "deletable" not in cell.metadata and "editable" not in cell.metadata
            assert "checks.check_" not in cell.source, "a check cell without nbgrader metadata"
            continue
        assert cell.metadata["deletable"] is False, cell.id
        if meta["solution"]:
            assert "editable" not in cell.metadata, cell.id
        else:
            assert cell.metadata["editable"] is False and meta["grade"] and meta["points"] > 0
            n_checks += 1
        assert meta["cell_type"] == cell.cell_type
        assert meta["checksum"] == homework.checksum(cell), cell.id
    assert n_checks >= 3


def test_build_rejects_a_graded_cell_without_points_or_a_duplicate_id():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("checks.check_x(f)")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "q1"}
    nb.cells.append(cell)
    with pytest.raises(ValueError, match="needs points"):
        homework.student_version(nb)
    cell.metadata.nbgrader.points = 1
    nb.cells.append(copy.deepcopy(cell))
    with pytest.raises(ValueError, match="also used by"):
        homework.student_version(nb)


def test_cli_course_lays_out_an_nbgrader_course(tmp_path, capsys):
    assert homework.main(["course", str(tmp_path)]) == 0
    config = (tmp_path / "nbgrader_config.py").read_text()
    assert config == homework.CONFIG.read_text() and "c.Execute.timeout" in config
    for path in INSTRUCTOR:  # one assignment per notebook, the solved source
        assert (tmp_path / "source" / path.stem / path.name).read_bytes() == path.read_bytes()
    with pytest.raises(SystemExit):
        homework.main(["course"])  # DIR is required
    assert "DIR is required" in capsys.readouterr().err


def test_a_passing_check_cell_prints_one_line_on_stdout_only():
    """nbgrader reads a graded cell's Out[] as partial credit and scores any stderr output 0: a
    check cell shows its ✓ line and nothing else, even when the student's function warns."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import sys, warnings\nimport numpy as np\nfrom course_lib import checks\n"
            "def laplacian(W):\n"
            "    warnings.warn('float64 everywhere')\n"
            "    print('debug', file=sys.stderr)\n"
            "    return np.diag(W.sum(axis=1)) - W"
        ),
        nbformat.v4.new_code_cell("checks.check_laplacian(laplacian)"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute(cwd=str(STUDENT_DIR))
    outputs = nb.cells[1].outputs
    assert {(o.output_type, o.get("name")) for o in outputs} == {("stream", "stdout")}, outputs
    text = "".join(o.text for o in outputs)
    assert text.rstrip("\n").split("\n")[-1].startswith("✓ check_laplacian")
    assert "float64 everywhere" in text and "debug" in text  # still shown, on stdout


def test_commands_outside_a_checkout_say_what_to_do(tmp_path, capsys):
    from course_lib.homework import main

    with pytest.raises(SystemExit) as err:
        main(["check", "--src", str(tmp_path / "nowhere")])
    assert err.value.code == 2
    assert "no instructor notebooks" in capsys.readouterr().err
