"""Chapter 05: notebook execution time (its accuracies are in the ch06b results table)."""

from __future__ import annotations

from course_lib.bench import Table, notebook_table


def run(quick: bool, device: str | None, notebooks: bool = True) -> list[Table]:
    if not notebooks:
        return []
    return [notebook_table("Ch05", ["05_pseudo_labeling.ipynb"])]
