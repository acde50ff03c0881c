"""Chapter 05: its accuracies are in the ch06b results table; ``__main__`` times the notebook."""

from __future__ import annotations

from course_lib.bench import Table


def run(quick: bool, device: str | None) -> list[Table]:
    del quick, device
    return []
