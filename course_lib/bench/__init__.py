"""``python -m course_lib.bench``: the results table of the course.

Each chapter adds one module ``course_lib/bench/chNN_<topic>.py`` defining
``run(quick: bool, device: str | None) -> list[Table]``; ``__main__`` discovers them, prints
every table as Markdown and writes Markdown and CSV files. Accuracy and speed targets of the
issues are measured here, never in timed unit tests.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
LECTURES = REPO / "lectures"


@dataclass
class Table:
    """A titled table: ``columns`` names, ``rows`` lists of cells (str or numbers)."""

    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    note: str = ""

    def add(self, *cells) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(
                f"row has {len(cells)} cells, table {self.title!r} has {len(self.columns)}"
            )
        self.rows.append(list(cells))

    def markdown(self) -> str:
        def fmt(c):
            return f"{c:.3f}" if isinstance(c, float) else str(c)

        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)

    def write_csv(self, path: Path) -> None:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(self.columns)
            w.writerows(self.rows)


def mean_std(values, pct: bool = True) -> str:
    """'97.3 ± 0.4' (percent) or '0.973 ± 0.004'."""
    v = np.asarray(values, dtype=float) * (100.0 if pct else 1.0)
    return f"{v.mean():.1f} ± {v.std():.1f}" if pct else f"{v.mean():.3f} ± {v.std():.3f}"


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def time_notebook(name: str, timeout: int = 600) -> float:
    """Execute ``lectures/<name>`` top to bottom in a fresh kernel; return the seconds it took."""
    import nbformat
    from nbclient import NotebookClient

    path = LECTURES / name
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    with Timer() as t:
        client.execute()
    return t.seconds


def notebook_table(title: str, names) -> Table:
    """A table "<title> - notebook execution" with the seconds of each ``lectures/<name>``."""
    table = Table(f"{title} - notebook execution", ["notebook", "seconds"])
    for name in names:
        table.add(name, time_notebook(name))
    return table
