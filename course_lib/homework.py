"""Build the student homework notebooks from the solved instructor notebooks.

Usage::

    python -m course_lib.homework build   # lectures/homework/instructor/*.ipynb -> student/
    python -m course_lib.homework check   # exit 1 if a committed student notebook is stale
    python -m course_lib.homework course DIR  # an nbgrader course directory (see below)

The instructor notebooks hold the solutions between nbgrader's markers::

    def sharpen(p, T):
        ### BEGIN SOLUTION
        pt = p ** (1 / T)
        return pt / pt.sum(-1, keepdim=True)
        ### END SOLUTION

``build`` replaces every such region, markers included, by nbgrader's stub at the indentation of
the ``### BEGIN SOLUTION`` line::

    def sharpen(p, T):
        # YOUR CODE HERE
        raise NotImplementedError()

In a markdown cell the region becomes ``YOUR ANSWER HERE``. Outputs and execution counts are
cleared; cell ids and nbgrader metadata are kept, and ``build`` adds what nbgrader's
``generate_assignment`` adds (its ``LockCells`` and ``ComputeChecksums`` steps): graded check
cells cannot be edited or deleted, solution cells cannot be deleted, and every nbgrader cell
carries its ``cell_type`` and nbgrader's checksum. So the student notebook is, byte for byte,
what ``nbgrader generate_assignment`` releases from the same source (tests/test_nbgrader.py runs
the real nbgrader to hold us to it). Nothing beyond our dependencies (``nbformat``, which ships
with JupyterLab) is needed: nbgrader is never imported here.

For nbgrader, ``python -m course_lib.homework course DIR`` lays out a course directory::

    DIR/nbgrader_config.py                        (a copy of lectures/homework/nbgrader_config.py)
    DIR/source/hw01_lapsvm/hw01_lapsvm.ipynb      (one assignment per instructor notebook)
    ...
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import shutil
import sys
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = "YOUR ANSWER HERE"

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "lectures" / "homework" / "instructor"
TARGET = ROOT / "lectures" / "homework" / "student"
CONFIG = ROOT / "lectures" / "homework" / "nbgrader_config.py"


def strip_solutions(source: str, *, code: bool = True, where: str = "cell") -> str:
    """Replace each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region of ``source``.

    Raises ValueError (naming ``where``) for a nested, unclosed or unopened region.
    """
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{where}, line {number}: nested {BEGIN!r}; close the first one.")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + s for s in CODE_STUB] if code else [indent + TEXT_STUB]
        elif stripped == END:
            if not inside:
                raise ValueError(f"{where}, line {number}: {END!r} without a {BEGIN!r}.")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN!r} is never closed by {END!r}.")
    return "\n".join(out)


# --- nbgrader's cell metadata (nbgrader.utils, nbgrader.preprocessors.LockCells) ------------------


def _flags(cell) -> tuple[bool, bool, bool]:
    """``(grade, solution, locked)`` as nbgrader reads them (``nbgrader.utils.is_grade``,
    ``is_solution``, ``is_locked``): a solution cell is never locked, a grade cell always is."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    grade, solution = bool(meta.get("grade", False)), bool(meta.get("solution", False))
    locked = False if solution else True if grade else bool(meta.get("locked", False))
    return grade, solution, locked


def checksum(cell) -> str:
    """nbgrader's checksum of a cell (``nbgrader.utils.compute_checksum``, nbgrader 0.6-0.9).

    The MD5 of the source, the cell type, ``str()`` of the grade, solution and locked flags, the
    ``grade_id`` and, for a grade cell, ``str(float(points))``, each UTF-8 encoded, in this order.
    nbgrader's ``autograde`` and ``validate`` compare it to notice a changed locked cell, and a
    solution cell still equal to its stub (an unanswered question scores 0 without grading).
    """
    grade, solution, locked = _flags(cell)
    meta = cell.metadata.nbgrader
    parts = [cell.source, cell.cell_type, str(grade), str(solution), str(locked), meta.grade_id]
    if grade:
        parts.append(str(float(meta.points)))
    md5 = hashlib.md5()
    for part in parts:
        md5.update(part.encode("utf-8"))
    return md5.hexdigest()


def lock_and_sign(cell, where: str = "cell") -> None:
    """Add to ``cell`` (in place) what ``generate_assignment`` adds with its default settings.

    ``LockCells``: a graded check cell (grade, not solution) and a read-only cell get
    ``editable: false`` and ``deletable: false``; a solution cell (graded answer or not) gets
    ``deletable: false``. ``ComputeChecksums``: every nbgrader cell gets ``cell_type`` and
    :func:`checksum` (computed on the student's version of the source).
    """
    if "nbgrader" not in cell.get("metadata", {}):
        return
    grade, solution, locked = _flags(cell)
    if not (grade or solution or locked):
        return
    meta = cell.metadata.nbgrader
    if not meta.get("grade_id"):
        raise ValueError(f"{where}: an nbgrader cell needs a grade_id.")
    if grade and meta.get("points") is None:
        raise ValueError(f"{where}: the graded cell {meta.grade_id!r} needs points.")
    cell.metadata["deletable"] = False
    if not solution:
        cell.metadata["editable"] = False
    meta["cell_type"] = cell.cell_type
    meta["checksum"] = checksum(cell)


def student_version(nb):
    """Return a copy of the notebook node ``nb`` with solutions stripped, outputs cleared and the
    cells locked and signed as nbgrader's ``generate_assignment`` does (:func:`lock_and_sign`)."""
    nb = copy.deepcopy(nb)
    seen: dict[str, str] = {}
    for i, cell in enumerate(nb.cells):
        where = f"cell {i} ({cell.get('id', '?')})"
        if cell.cell_type in ("code", "markdown"):
            cell.source = strip_solutions(cell.source, code=cell.cell_type == "code", where=where)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        lock_and_sign(cell, where)
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in seen:
            raise ValueError(f"{where}: grade_id {grade_id!r} is also used by {seen[grade_id]}.")
        if grade_id:
            seen[grade_id] = where
    return nb


def _render(nb) -> str:
    import nbformat

    return nbformat.writes(nb) + "\n"


def build_one(path: Path) -> str:
    """The text of the student notebook built from the instructor notebook at ``path``."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    try:
        return _render(student_version(nb))
    except ValueError as err:
        raise ValueError(f"{path.name}: {err}") from None


def _sources(src: Path) -> list[Path]:
    paths = sorted(p for p in Path(src).glob("*.ipynb") if not p.name.startswith("."))
    if not paths:
        raise FileNotFoundError(f"no instructor notebooks (*.ipynb) in {src}.")
    return paths


def build(src: Path = SOURCE, dst: Path = TARGET) -> list[Path]:
    """Write the student version of every instructor notebook of ``src`` into ``dst``."""
    dst = Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for path in _sources(src):
        out = dst / path.name
        out.write_text(build_one(path), encoding="utf-8")
        written.append(out)
    return written


def check(src: Path = SOURCE, dst: Path = TARGET) -> list[str]:
    """Compare the committed student notebooks with what ``build`` would write.

    Returns a list of problems (empty when everything is up to date).
    """
    problems = []
    sources = _sources(src)
    names = {p.name for p in sources}
    for path in sources:
        out = Path(dst) / path.name
        if not out.exists():
            problems.append(f"{out} is missing")
        elif out.read_text(encoding="utf-8") != build_one(path):
            problems.append(f"{out} differs from the build of {path}")
    for extra in sorted(Path(dst).glob("*.ipynb")):
        if extra.name not in names:
            problems.append(f"{extra} has no instructor source")
    return problems


def nbgrader_course(course: Path, src: Path = SOURCE, config: Path = CONFIG) -> list[Path]:
    """Lay out an nbgrader course directory in ``course``: each instructor notebook of ``src``
    becomes the assignment of its name (``source/<name>/<name>.ipynb``), and ``config`` is copied
    to ``course/nbgrader_config.py``. Existing files of the same names are replaced; the rest of
    ``course`` (release/, submitted/, the gradebook) is left alone. Returns the files written."""
    course = Path(course)
    written = [course / "nbgrader_config.py"]
    course.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(config, written[0])
    for path in _sources(src):
        folder = course / "source" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / path.name)
        written.append(folder / path.name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.homework",
        description="Build student homework notebooks from the solved instructor notebooks.",
    )
    parser.add_argument(
        "command",
        choices=["build", "check", "course"],
        help="build: write the student notebooks; check: exit 1 if they are stale; course: "
        "lay out an nbgrader course directory in DIR",
    )
    parser.add_argument("dir", nargs="?", type=Path, help="course: the course directory")
    parser.add_argument("--src", type=Path, default=SOURCE, help="instructor notebooks")
    parser.add_argument("--dst", type=Path, default=TARGET, help="student notebooks")
    args = parser.parse_args(argv)
    if not args.src.is_dir() or not any(args.src.glob("hw*.ipynb")):
        parser.error(
            f"no instructor notebooks (hw*.ipynb) in {args.src}: this command works on a checkout "
            "of the course repository (pip install -e . from it), or pass --src FOLDER."
        )
    if (args.command == "course") != (args.dir is not None):
        parser.error("DIR is required by `course` and taken by no other command.")
    if args.command == "course":
        for path in nbgrader_course(args.dir, args.src):
            print(f"wrote {path}")
        print(f"next: cd {args.dir} && nbgrader generate_assignment hw01_lapsvm")
        return 0
    if args.command == "build":
        for path in build(args.src, args.dst):
            print(f"wrote {path}")
        return 0
    problems = check(args.src, args.dst)
    for p in problems:
        print(p)
    if problems:
        print("run `python -m course_lib.homework build` and commit the student notebooks.")
        return 1
    print("student notebooks are up to date.")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
