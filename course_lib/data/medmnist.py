"""Read a MedMNIST ``.npz`` file that you already have (e.g. ``pneumoniamnist.npz``).

MedMNIST (Yang et al. 2023, arXiv:2110.14795) ships each data set as one NumPy archive with the
arrays ``train_images, train_labels, val_images, val_labels, test_images, test_labels``; images
are uint8 (N, H, W) for grey-scale or (N, H, W, 3) for colour, labels (N, 1) or (N, L) for the
multi-label sets. This loader never downloads anything: fetch the file yourself (see the MedMNIST
website) and pass its path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")


def _images(arr: np.ndarray, key: str) -> np.ndarray:
    if arr.ndim == 3:
        arr = arr[:, None]  # (N, H, W) -> (N, 1, H, W)
    elif arr.ndim == 4 and arr.shape[-1] in (1, 3):
        arr = np.moveaxis(arr, -1, 1)  # channels last -> channels first
    else:
        raise ValueError(f"{key} has shape {arr.shape}; expected (N, H, W) or (N, H, W, 1 or 3).")
    arr = arr.astype(np.float32)
    return arr / 255.0 if arr.max(initial=0.0) > 1.0 else arr


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
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist. load_medmnist never downloads: get the .npz file from "
            "https://medmnist.com yourself and pass its local path."
        )
    with np.load(path, allow_pickle=False) as npz:
        missing = [
            f"{s}_{kind}"
            for s in SPLITS
            for kind in ("images", "labels")
            if f"{s}_{kind}" not in npz
        ]
        if missing:
            raise ValueError(f"{path.name} is not a MedMNIST file: it lacks {missing}.")
        out = {}
        for s in SPLITS:
            X = _images(npz[f"{s}_images"], f"{s}_images")
            y = np.asarray(npz[f"{s}_labels"]).astype(np.int64)
            if y.shape[0] != X.shape[0]:
                raise ValueError(f"{s}_images and {s}_labels differ in length in {path.name}.")
            if flat_labels and y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            out[s] = (X, y)
    return out
