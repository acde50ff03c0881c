"""``python -m course_lib.bench``: the results tables of the course.

The run contract, written once: each module ``course_lib/bench/<key>_<topic>.py`` (``<key>`` is
``ch01`` ... ``ch10``, ``ch06b``, ``xrays`` ...) defines ::

    def run(quick: bool, device: str | None) -> list[Table]

It loops the chapter's experiment (``course_lib.experiments``) over seeds with the experiment's
``BENCH`` settings and formats the records into tables; it trains nothing of its own.
``__main__`` discovers the modules, runs the ones chosen with ``--only`` (whole keys), times the
chapter notebook ``lectures/NN_*.ipynb`` of each ``chNN`` key itself, prints every table as
Markdown and writes Markdown and CSV files. Accuracy and speed targets of the issues are measured
here, never in timed unit tests.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from course_lib.report import Table, Timer, mean_std

__all__ = [
    "LECTURES",
    "Table",
    "Timer",
    "check_module",
    "mean_std",
    "notebooks_for",
    "profile_notebook",
    "time_notebook",
]

REPO = Path(__file__).resolve().parents[2]
LECTURES = REPO / "lectures"


def check_module(module) -> None:
    """Raise ``TypeError`` unless ``module.run`` follows the contract ``run(quick, device)``."""
    run = getattr(module, "run", None)
    if run is None or not callable(run):
        raise TypeError(f"{module.__name__} has no run(quick, device) function.")
    params = list(inspect.signature(run).parameters)
    if params != ["quick", "device"]:
        raise TypeError(f"{module.__name__}.run takes {params}; the contract is (quick, device).")


def notebooks_for(key: str) -> list[Path]:
    """The notebooks a bench key times: ``ch03`` -> ``[lectures/03_*.ipynb]``; ``ch90`` -> the
    solved homework notebooks; other keys (``ch06b``, ``xrays``) -> none."""
    if key == "ch90":
        return sorted((LECTURES / "homework" / "instructor").glob("*.ipynb"))
    if not (key.startswith("ch") and key[2:].isdigit()):
        return []
    return sorted(LECTURES.glob(f"{key[2:]}_*.ipynb"))


def pair_timings(paths: list[Path], env: dict | None = None) -> list[tuple[str, float, float]]:
    """Each notebook alone, then all of them at once: ``[(name, solo s, together s), ...]``.

    Every run is a separate ``python`` process executing one notebook (its own kernel), the
    way two students' kernels share a machine. ``env`` adds environment variables to every run
    (e.g. ``{"COURSE_THREADS": "torch"}`` for torch's own thread count).
    """
    import os
    import subprocess
    import sys

    code = "import sys; from pathlib import Path; from course_lib.bench import time_notebook; "
    code += "print(time_notebook(Path(sys.argv[1])))"
    full_env = {**os.environ, **(env or {})}

    def start(path):
        return subprocess.Popen(
            [sys.executable, "-c", code, str(path)], env=full_env, stdout=subprocess.PIPE, text=True
        )

    def seconds(proc):
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(
                f"a notebook failed (exit {proc.returncode}); run it alone to see why."
            )
        return float(out.strip().splitlines()[-1])

    solo = [seconds(start(p)) for p in paths]
    together = [seconds(proc) for proc in [start(p) for p in paths]]
    return [(p.name, s, t) for p, s, t in zip(paths, solo, together, strict=True)]


def time_notebook(path: Path, timeout: int = 600) -> float:
    """Execute a notebook top to bottom in a fresh kernel; return the seconds it took."""
    return profile_notebook(path, timeout)[0]


def profile_notebook(path: Path, timeout: int = 600) -> tuple[float, float]:
    """Execute a notebook in a fresh kernel: ``(seconds, peak kernel memory in MB)``.

    The memory is the largest resident set size of the kernel process (with any process it
    starts), sampled every 0.1 s: what a JupyterHub or Binder memory limit counts.
    """
    import threading

    import nbformat
    import psutil
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    me, peak, done = psutil.Process(), [0], threading.Event()

    def sample():
        while not done.wait(0.1):
            rss = 0
            for child in me.children(recursive=True):
                try:
                    rss += child.memory_info().rss
                except psutil.Error:  # exited between listing and reading
                    pass
            peak[0] = max(peak[0], rss)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        with Timer() as t:
            client.execute()
    finally:
        done.set()
        watcher.join()
    return t.seconds, peak[0] / 2**20
