"""Build the student homework notebooks from the solved instructor notebooks.

Usage::

    python -m course_lib.homework build   # lectures/homework/instructor/*.ipynb -> student/
    python -m course_lib.homework check   # exit 1 if a committed student notebook is stale

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
cleared; everything else (cell ids, nbgrader metadata) is kept, so the student notebook is what
``nbgrader generate_assignment`` would produce from the same source, and an instructor who uses
nbgrader can feed it the instructor notebooks directly. Nothing beyond our dependencies
(``nbformat``, which ships with JupyterLab) is needed.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = "YOUR ANSWER HERE"

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "lectures" / "homework" / "instructor"
TARGET = ROOT / "lectures" / "homework" / "student"


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


def student_version(nb):
    """Return a copy of the notebook node ``nb`` with solutions stripped and outputs cleared."""
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb.cells):
        where = f"cell {i} ({cell.get('id', '?')})"
        if cell.cell_type in ("code", "markdown"):
            cell.source = strip_solutions(cell.source, code=cell.cell_type == "code", where=where)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.homework",
        description="Build student homework notebooks from the solved instructor notebooks.",
    )
    parser.add_argument("command", choices=["build", "check"])
    parser.add_argument("--src", type=Path, default=SOURCE, help="instructor notebooks")
    parser.add_argument("--dst", type=Path, default=TARGET, help="student notebooks")
    args = parser.parse_args(argv)
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
