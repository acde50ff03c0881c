"""Real chest X-rays: PneumoniaMNIST (MedMNIST v2), shipped in ``assets/data/``.

``chest_xrays()`` reads ``assets/data/pneumoniamnist.npz`` with ``load_medmnist``, after checking
its SHA-256 checksum, and returns the official train / validation / test splits: 28x28 grey
images, label 0 = normal, 1 = pneumonia (74 % of the training set). Provenance, licence
(CC BY 4.0) and the two papers to cite are in ``assets/README.md``. Nothing is downloaded.

The assets folder is found next to the package (an editable install, ``pip install -e .``,
from the repository) or wherever the environment variable ``COURSE_ASSETS`` points.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from course_lib.data.medmnist import load_medmnist

ASSETS_ENV = "COURSE_ASSETS"
FILENAME = "data/pneumoniamnist.npz"
SHA256 = "8821e51f95ef260032fbdc2a85ab2d41017ef1ea16ebdaa2f75c06f55635766b"
CLASSES = ("normal", "pneumonia")


class ChestXrays(NamedTuple):
    """The three splits; images float32 (N, 1, 28, 28) in [0, 1], labels int64 (N,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def assets_dir() -> Path:
    """``$COURSE_ASSETS`` if set, else the repository's ``assets/`` folder."""
    env = os.environ.get(ASSETS_ENV, "").strip()
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[2] / "assets"


def sha256(path) -> str:
    """Hex SHA-256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def chest_xrays(path=None, *, verify: bool = True) -> ChestXrays:
    """PneumoniaMNIST chest X-rays: train 4,707, validation 524, test 624 images.

    Parameters
    ----------
    path : str or Path, optional
        The ``.npz`` file; default ``assets_dir() / "data/pneumoniamnist.npz"``.
    verify : bool
        Check the file's SHA-256 against the shipped one before reading it.

    Returns
    -------
    ChestXrays
        ``(X_train, y_train, X_val, y_val, X_test, y_test)``, a named tuple; images float32
        (N, 1, 28, 28) in [0, 1], labels int64 with 0 = normal, 1 = pneumonia.

    Raises
    ------
    FileNotFoundError
        The file is missing (with where it was looked for and how to point elsewhere).
    ValueError
        The file differs from the shipped one (checksum) or cannot be read.
    """
    path = Path(path) if path is not None else assets_dir() / FILENAME
    if not path.exists():
        raise FileNotFoundError(
            f"The chest X-ray file {path} is missing. It ships with the repository as "
            f"assets/{FILENAME}: restore it (e.g. `git checkout -- assets/{FILENAME}`), or set "
            f"the environment variable {ASSETS_ENV} to a folder holding {FILENAME}."
        )
    if verify and path.is_file():
        found = sha256(path)
        if found != SHA256:
            raise ValueError(
                f"The chest X-ray file {path} has been altered or damaged: its SHA-256 is "
                f"{found[:16]}..., expected {SHA256[:16]}.... Restore the shipped copy (e.g. "
                f"`git checkout -- assets/{FILENAME}`); see assets/README.md for its source."
            )
    data = load_medmnist(path)
    return ChestXrays(*data["train"], *data["val"], *data["test"])
