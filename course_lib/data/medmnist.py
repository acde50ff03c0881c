"""Read a MedMNIST ``.npz`` file that you already have (e.g. ``pneumoniamnist.npz``).

MedMNIST (Yang et al. 2023, arXiv:2110.14795) ships each data set as one NumPy archive with the
arrays ``train_images, train_labels, val_images, val_labels, test_images, test_labels``; images
are uint8 (N, H, W) for grey-scale or (N, H, W, 3) for colour, labels (N, 1) or (N, L) for the
multi-label sets. This loader never downloads anything: fetch the file yourself (see the MedMNIST
website) and pass its path. The course ships one such file, read by
``course_lib.data.chest_xrays``.

Every problem with the file (a folder, an empty, truncated or foreign file, a ``.npy`` array, a
missing array, NaN or negative labels) raises a ``FileNotFoundError`` or ``ValueError`` that names
the file and says what is wrong; pickled objects are never loaded.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")

# what np.load and reading one member of a damaged archive raise
_READ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, KeyError)


def _not_readable(path: Path, what: str) -> ValueError:
    return ValueError(
        f"{path} is not a readable MedMNIST .npz archive ({what}). The file is probably "
        "truncated or corrupted, or it is another kind of file: replace it with a fresh copy."
    )


def _images(arr: np.ndarray, key: str, name: str) -> np.ndarray:
    if arr.dtype.kind not in "uif":
        raise ValueError(f"{key} in {name} holds {arr.dtype} values; expected uint8 pixels.")
    if arr.ndim == 3:
        arr = arr[:, None]  # (N, H, W) -> (N, 1, H, W)
    elif arr.ndim == 4 and arr.shape[-1] in (1, 3):
        arr = np.moveaxis(arr, -1, 1)  # channels last -> channels first
    else:
        raise ValueError(
            f"{key} in {name} has shape {arr.shape}; expected (N, H, W) or (N, H, W, 1 or 3)."
        )
    out = arr.astype(np.float32)
    if not np.isfinite(out).all():
        raise ValueError(f"{key} in {name} holds NaN or infinite pixels.")
    # uint8 pixels are 0..255; float pixels are taken as [0, 1] unless they exceed 1
    if arr.dtype.kind in "ui" or out.max(initial=0.0) > 1.0:
        out /= 255.0
    return out


def _labels(arr: np.ndarray, key: str, name: str) -> np.ndarray:
    if arr.dtype.kind not in "uifb":
        raise ValueError(f"{key} in {name} holds {arr.dtype} values; expected integer labels.")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{key} in {name} holds NaN or infinite labels.")
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError(f"{key} in {name} holds non-integer labels.")
    y = arr.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"{key} in {name} holds negative labels ({y.min()}).")
    return y


def load_medmnist(path, *, flat_labels: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Load a MedMNIST-format ``.npz`` file into ``{"train": (X, y), "val": ..., "test": ...}``.

    Parameters
    ----------
    path : str or Path
        A local ``.npz`` file with ``{split}_images`` and ``{split}_labels`` for the three
        splits. Nothing is downloaded: a missing file raises ``FileNotFoundError``.
    flat_labels : bool
        Labels of shape (N, 1) become (N,) int64 (single-label sets); multi-label (N, L) stay 2-D.

    Returns
    -------
    dict
        ``X`` float32 (N, C, H, W) in [0, 1]; ``y`` int64.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    ValueError
        The path is a folder, the file is not a readable ``.npz`` archive (empty, truncated,
        random bytes, a ``.npy`` array), an array is missing, or images/labels are malformed.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; pass the path of the .npz file inside it.")
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist. load_medmnist never downloads: get the .npz file from "
            "https://medmnist.com yourself and pass its local path."
        )
    if path.stat().st_size == 0:
        raise _not_readable(path, "the file is empty")
    try:
        npz = np.load(path, allow_pickle=False)
    except _READ_ERRORS as err:
        raise _not_readable(path, type(err).__name__) from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{path} holds a single NumPy array (.npy format), not a MedMNIST .npz archive with "
            "train/val/test images and labels."
        )
    with npz:
        missing = [
            f"{s}_{kind}"
            for s in SPLITS
            for kind in ("images", "labels")
            if f"{s}_{kind}" not in npz.files
        ]
        if missing:
            raise ValueError(f"{path.name} is not a MedMNIST file: it lacks {missing}.")
        out = {}
        for s in SPLITS:
            try:
                images, labels = npz[f"{s}_images"], npz[f"{s}_labels"]
            except _READ_ERRORS as err:
                raise _not_readable(path, f"{s} arrays: {type(err).__name__}") from None
            X = _images(images, f"{s}_images", path.name)
            y = _labels(np.asarray(labels), f"{s}_labels", path.name)
            if y.shape[0] != X.shape[0]:
                raise ValueError(f"{s}_images and {s}_labels differ in length in {path.name}.")
            if flat_labels and y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            out[s] = (X, y)
    return out
