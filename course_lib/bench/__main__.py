"""The benchmark: ``python -m course_lib.bench [--quick] [--device cuda] [--only ch03 xrays]``."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from pathlib import Path

import course_lib.bench as bench_pkg
from course_lib.bench import Table, check_module, notebooks_for, pair_timings, profile_notebook


def chapter_modules() -> dict[str, str]:
    """``{key: module name}``, e.g. ``{"ch03": "ch03_consistency", "xrays": "xrays"}``."""
    names = [m.name for m in pkgutil.iter_modules(bench_pkg.__path__) if not m.name.startswith("_")]
    return {name.split("_")[0]: name for name in sorted(names)}


def main(argv=None) -> int:
    modules = chapter_modules()
    parser = argparse.ArgumentParser(prog="python -m course_lib.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer seeds/steps: a smoke test")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the fastest)")
    parser.add_argument(
        "--only", nargs="*", default=None, help=f"whole keys to run, from {list(modules)}"
    )
    parser.add_argument("--no-notebooks", action="store_true", help="skip notebook timings")
    parser.add_argument("--out", default="bench_results", help="folder for .md and .csv files")
    parser.add_argument(
        "--together",
        nargs="*",
        metavar="KEY",
        default=None,
        help="time these chapters' notebooks alone and all at once (e.g. ch03 ch04), "
        "with the course's thread policy and with torch's own thread count; nothing else runs",
    )
    args = parser.parse_args(argv)
    # tables, not progress bars: the training runs (and the notebooks it times) show none
    os.environ.setdefault("COURSE_PROGRESS", "0")
    if args.together is not None:
        return _together(parser, args, modules)

    from course_lib import device

    dev = str(device(args.device))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keys = list(modules)
    if args.only:
        unknown = [k for k in args.only if k not in modules]
        if unknown:
            parser.error(f"unknown key(s) {unknown}; choose from {keys}")
        keys = [k for k in keys if k in args.only]
    print(f"# course_lib benchmark (device: {dev}, quick: {args.quick})\n", flush=True)
    report = []
    for key in keys:
        module = importlib.import_module(f"course_lib.bench.{modules[key]}")
        check_module(module)
        tables = list(module.run(quick=args.quick, device=dev))
        notebooks = [] if args.no_notebooks else notebooks_for(key)
        if notebooks:
            timing = Table(
                f"{key} - notebook execution", ["notebook", "seconds", "peak kernel memory MB"]
            )
            for path in notebooks:
                seconds, mb = profile_notebook(path)
                timing.add(str(path.relative_to(bench_pkg.LECTURES)), seconds, f"{mb:.0f}")
            tables.append(timing)
        for i, table in enumerate(tables):
            text = table.markdown()
            print(text + "\n", flush=True)
            report.append(text)
            table.write_csv(out / f"{modules[key]}_{i}.csv")
    (out / "results.md").write_text("\n\n".join(report) + "\n")
    print(f"written to {out}/", file=sys.stderr)
    return 0


def _together(parser, args, modules) -> int:
    """``--together``: solo and concurrent notebook times, under both thread policies."""
    keys = args.together or ["ch03", "ch04"]
    paths = [p for k in keys for p in notebooks_for(k)]
    if len(paths) < 2 or any(k not in modules for k in keys):
        parser.error(f"--together needs two or more chapter keys with notebooks; got {keys}")
    table = Table(
        "Notebooks alone and at the same time (seconds)",
        ["threads", "notebook", "alone s", "together s", "together / alone"],
    )
    for label, env in (
        ("course (1 per process)", {}),
        ("torch default", {"COURSE_THREADS": "torch"}),
    ):
        for name, solo, both in pair_timings(paths, env):
            table.add(label, name, solo, both, f"{both / solo:.2f}x")
    table.note = "Fair share on a machine with fewer cores than busy threads: 2x for two notebooks."
    text = table.markdown()
    print(text, flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "together.md").write_text(text + "\n")
    table.write_csv(out / "together.csv")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
