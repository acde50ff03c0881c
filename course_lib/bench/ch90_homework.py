"""Homework set: every checker fails on the unfilled stub; ``__main__`` times the solved
instructor notebooks (target: <= 30 s each)."""

from __future__ import annotations

from course_lib import checks
from course_lib.bench import Table


def run(quick: bool, device: str | None) -> list[Table]:
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
    return [stubs]
