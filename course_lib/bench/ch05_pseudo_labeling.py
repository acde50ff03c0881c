"""Chapter 05: notebook execution time (its accuracies are in the ch06b results table)."""

from __future__ import annotations

from course_lib.bench import Table, time_notebook


def run(quick: bool, device: str | None, notebooks: bool = True) -> list[Table]:
    if not notebooks:
        return []
    nb = Table("Ch05 - notebook execution", ["notebook", "seconds"])
    nb.add("05_pseudo_labeling.ipynb", time_notebook("05_pseudo_labeling.ipynb"))
    return [nb]
