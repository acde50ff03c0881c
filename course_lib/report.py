"""The bottom floor: tables, ``mean ± std`` and a timer (anything in the package may import it).

Experiments (``course_lib.experiments``) return *records*: a list of flat dicts, one per fit, with
at least ``"method"`` and ``"seed"`` and the measured numbers (``"accuracy"``, ``"seconds"``, ...).
The notebooks show them with :func:`pivot`, the benchmark formats the same records into a
:class:`Table`; both read the one record format written by :func:`course_lib.evaluation.compare`.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


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

    def _repr_markdown_(self) -> str:  # a Table as the last line of a notebook cell renders
        return self.markdown()

    def write_csv(self, path: Path) -> None:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(self.columns)
            w.writerows(self.rows)


def mean_std(values, pct: bool = True) -> str:
    """'97.3 ± 0.4' (percent) or '0.973 ± 0.004'; a single value is printed without '± 0'."""
    v = np.asarray(values, dtype=float) * (100.0 if pct else 1.0)
    if v.size == 0:
        raise ValueError("mean_std got no values.")
    if v.size == 1:
        return f"{v[0]:.1f}" if pct else f"{v[0]:.3f}"
    return f"{v.mean():.1f} ± {v.std():.1f}" if pct else f"{v.mean():.3f} ± {v.std():.3f}"


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def pivot(
    records: Sequence[dict],
    title: str,
    *,
    rows: str = "method",
    cols: str | None = None,
    value: str = "accuracy",
    pct: bool = True,
    seconds: bool = True,
) -> Table:
    """One row per ``rows`` value, one ``mean ± std`` column of ``value`` per ``cols`` value.

    Records that share a row and a column (different seeds) are averaged; ``seconds`` adds the
    mean ``"seconds"`` of each row. The note says over how many seeds.
    """
    if not records:
        raise ValueError("records is empty: run an experiment first.")
    missing = {rows, value} - set(records[0]) | ({cols} - set(records[0]) if cols else set())
    if missing:
        raise ValueError(f"records have no key(s) {sorted(missing)}; keys: {sorted(records[0])}.")
    row_keys = list(dict.fromkeys(r[rows] for r in records))
    col_keys = list(dict.fromkeys(r[cols] for r in records)) if cols else [None]
    names = [value] if cols is None else [f"{cols}={c}" for c in col_keys]
    table = Table(title, [rows, *names] + (["fit s"] if seconds else []))
    for rk in row_keys:
        mine = [r for r in records if r[rows] == rk]
        cells = []
        for ck in col_keys:
            vals = [r[value] for r in mine if cols is None or r[cols] == ck]
            cells.append(mean_std(vals, pct) if vals else "–")
        if seconds:
            cells.append(float(np.mean([r["seconds"] for r in mine])))
        table.add(rk, *cells)
    n = len({r["seed"] for r in records}) if "seed" in records[0] else 1
    table.note = f"mean ± std over {n} seed(s)" if n > 1 else "one seed"
    return table
