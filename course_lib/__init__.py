"""course_lib: the companion library of the semi- and weakly-supervised learning notebooks.

The public API is deliberately short::

    from course_lib import device, seed_everything, show_source
    from course_lib.data import two_moons, split_labeled
    from course_lib.estimator import SSLClassifier
    from course_lib.methods import Supervised
"""

from __future__ import annotations

import os
import random
import warnings

import numpy as np
import torch

from course_lib import threads as _threads

__version__ = "0.1.0"

# One torch thread per process, so that kernels sharing a machine do not fight over its cores
# and the same seed gives the same numbers everywhere; why, and how to override it
# (COURSE_THREADS), is in course_lib/threads.py.
_threads.configure()

__all__ = ["__version__", "device", "seed_everything", "show_source"]

DEVICE_ENV = "COURSE_DEVICE"
_VALID_DEVICES = ("cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def device(prefer: str | torch.device | None = None) -> torch.device:
    """Return the torch device to compute on: cuda > mps > cpu.

    Parameters
    ----------
    prefer : {"cpu", "cuda", "mps"}, a ``torch.device`` or None
        Force a device (``"cuda:1"`` and ``torch.device("cuda", 1)`` pick one GPU). When None,
        the environment variable ``COURSE_DEVICE`` is read, and when that is unset the fastest
        available device is chosen. A requested accelerator that is not available falls back to
        the CPU with a warning, so a notebook written on a GPU machine still runs on a laptop.
        Every trainer of the course passes its ``device`` argument through this function.
    """
    if isinstance(prefer, torch.device):
        prefer = str(prefer)
    elif prefer is not None and not isinstance(prefer, str):
        raise ValueError(f"prefer must be a device name or a torch.device; got {prefer!r}.")
    choice = prefer if prefer is not None else os.environ.get(DEVICE_ENV, "").strip().lower()
    if choice:
        kind = choice.split(":")[0]
        if kind not in _VALID_DEVICES:
            source = "prefer" if prefer is not None else f"${DEVICE_ENV}"
            raise ValueError(
                f"{source}={choice!r} is not a device; use one of {_VALID_DEVICES} "
                "(or leave it empty to pick the fastest available)."
            )
        available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": _mps_available()}
        if available[kind]:
            return torch.device(choice)
        warnings.warn(f"device {choice!r} is not available here; using the CPU.", stacklevel=2)
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> int:
    """Seed Python's, NumPy's and torch's random generators (CPU and CUDA); return the seed."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}.")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return seed


def show_source(obj, *, start: str | None = None):
    """Display the source code of a function, class or method in a notebook.

    ``start`` keeps only the lines from the first one containing that text (e.g. ``"def loss"``),
    so a chapter can show just the few lines that implement an equation.
    """
    import inspect

    from IPython.display import Code

    src = inspect.getsource(obj)
    if start is not None:
        lines = src.splitlines()
        hits = [i for i, line in enumerate(lines) if start in line]
        if not hits:
            raise ValueError(f"start={start!r} does not occur in the source of {obj!r}.")
        first = hits[0]
        indent = len(lines[first]) - len(lines[first].lstrip())
        body = [lines[first]]
        for line in lines[first + 1 :]:
            if line.strip() and (len(line) - len(line.lstrip())) <= indent:
                break
            body.append(line)
        src = "\n".join(body)
    return Code(inspect.cleandoc("\n" + src) if start else src, language="python")
