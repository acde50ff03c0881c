"""Run every chapter's benchmark: ``python -m course_lib.bench [--quick] [--device cuda]``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

import course_lib.bench as bench_pkg


def chapter_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(bench_pkg.__path__) if m.name.startswith("ch")]
    return sorted(names)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer seeds/steps: a smoke test")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the fastest)")
    parser.add_argument(
        "--only", nargs="*", default=None, help=f"chapters to run, from {chapter_modules()}"
    )
    parser.add_argument("--no-notebooks", action="store_true", help="skip notebook timings")
    parser.add_argument("--out", default="bench_results", help="folder for .md and .csv files")
    args = parser.parse_args(argv)

    from course_lib import device

    dev = str(device(args.device))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = chapter_modules()
    if args.only:
        unknown = [n for n in args.only if not any(m.startswith(n) for m in names)]
        if unknown:
            parser.error(f"unknown chapter(s) {unknown}; choose from {names}")
        names = [m for m in names if any(m.startswith(n) for n in args.only)]
    print(f"# course_lib benchmark (device: {dev}, quick: {args.quick})\n", flush=True)
    report = []
    for name in names:
        module = importlib.import_module(f"course_lib.bench.{name}")
        tables = module.run(quick=args.quick, device=dev, notebooks=not args.no_notebooks)
        for i, table in enumerate(tables):
            text = table.markdown()
            print(text + "\n", flush=True)
            report.append(text)
            table.write_csv(out / f"{name}_{i}.csv")
    (out / "results.md").write_text("\n\n".join(report) + "\n")
    print(f"written to {out}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
