"""Homework set: execution time of each solved instructor notebook (target: <= 30 s each)."""

from __future__ import annotations

from course_lib import checks
from course_lib.bench import LECTURES, Table, time_notebook


def run(quick: bool, device: str | None, notebooks: bool = True) -> list[Table]:
    stubs = Table(
        "Homework - checkers on the unfilled stub", ["checker", "fails with 'not implemented'"]
    )
    for name in sorted(n for n in checks.__all__ if n.startswith("check_")):

        def stub(*args, **kwargs):
            raise NotImplementedError()

        try:
            getattr(checks, name)(stub, quiet=True)
            message = "passed (wrong!)"
        except checks.CheckFailed as err:
            message = "yes" if "not implemented yet" in str(err) else "other failure"
        stubs.add(name, message)
    tables = [stubs]
    if notebooks:
        nb = Table("Homework - instructor notebook execution", ["notebook", "seconds"])
        for path in sorted((LECTURES / "homework" / "instructor").glob("*.ipynb")):
            nb.add(path.name, time_notebook(f"homework/instructor/{path.name}"))
        tables.append(nb)
    return tables
