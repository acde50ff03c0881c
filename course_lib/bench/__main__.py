"""The benchmark: ``python -m course_lib.bench [--quick] [--device cuda] [--only ch03 xrays]``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

import course_lib.bench as bench_pkg
from course_lib.bench import Table, check_module, notebooks_for, time_notebook


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
    args = parser.parse_args(argv)

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
            timing = Table(f"{key} - notebook execution", ["notebook", "seconds"])
            for path in notebooks:
                timing.add(str(path.relative_to(bench_pkg.LECTURES)), time_notebook(path))
            tables.append(timing)
        for i, table in enumerate(tables):
            text = table.markdown()
            print(text + "\n", flush=True)
            report.append(text)
            table.write_csv(out / f"{modules[key]}_{i}.csv")
    (out / "results.md").write_text("\n\n".join(report) + "\n")
    print(f"written to {out}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
