"""Chapter 10: the medical papers' demos over more seeds than the notebook.

Each table loops one experiment of ``course_lib.experiments.ch10_medical_papers`` over seeds
with its ``BENCH_*`` settings (5 seeds, 2 with ``--quick``).
"""

from __future__ import annotations

from course_lib.experiments import ch10_medical_papers as ch10
from course_lib.report import Table, mean_std, pivot


def _nonadj_table(records: list[dict]) -> Table:
    t = Table(
        f"Ch10 - NonAdjLoss, brain phantom, {ch10.BENCH_NONADJ.n_labeled} labeled images",
        ["stage", "pixel acc %", "forbidden pairs / image", "images with one %"],
    )
    for name in dict.fromkeys(r["method"] for r in records):
        mine = [r for r in records if r["method"] == name]
        t.add(
            name,
            mean_std([r["accuracy"] for r in mine]),
            mean_std([r["forbidden"] for r in mine], pct=False),
            mean_std([r["abnormal"] for r in mine]),
        )
    return t


def run(quick: bool, device: str | None) -> list[Table]:
    seeds = range(2 if quick else 5)
    syn = [r for s in seeds for r in ch10.synergic(ch10.BENCH_SYNERGIC, s, device=device)]
    adj = [r for s in seeds for r in ch10.nonadj(ch10.BENCH_NONADJ, s, device=device)]
    sia = [r for s in seeds for r in ch10.siamese(ch10.BENCH_SIAMESE, s, device=device)]
    grp = [r for s in seeds for r in ch10.grouped(ch10.BENCH_GROUPED, s, device=device)]
    head = Table("Ch10 - synergic head on test pairs (balanced accuracy)", ["model", "acc %"])
    for name in dict.fromkeys(r["method"] for r in syn if "head_balanced" in r):
        head.add(name, mean_std([r["head_balanced"] for r in syn if r["method"] == name]))
    per = ch10.BENCH_SYNERGIC.per_class
    return [
        pivot(syn, f"Ch10 - synergic learning, lesions 3 classes, {per} labels/class"),
        head,
        _nonadj_table(adj),
        pivot(
            sia,
            "Ch10 - Siamese distance pretext, linear probe test accuracy %, 4 areas "
            f"({ch10.BENCH_SIAMESE.probe_draws} label draws per encoder seed)",
            cols="per_class",
            seconds=False,
        ),
        pivot(grp, "Ch10 - grouped vs ordinary first conv, 4-phase lesions, test accuracy %"),
    ]
