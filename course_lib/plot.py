"""Matplotlib helpers with one look, shared by every chapter and every widget.

Conventions: class colours come from ``CLASS_COLORS``; labeled points are large and coloured with
a dark edge, unlabeled points small and grey; binary probability maps use ``PROB_CMAP`` with the
decision boundary (p = 0.5) drawn in black.
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

CLASS_COLORS = [
    "#d62728",
    "#1f77b4",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
UNLABELED_COLOR = "#9a9a9a"
PROB_CMAP = "RdBu"
STYLE = {
    "figure.dpi": 90,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
}


def use_style() -> None:
    """Apply the course's matplotlib style globally (the notebooks call it once).

    In IPython it also registers a PNG display for matplotlib ``Figure`` objects, so a figure
    made by :func:`figure` shows when it is a cell's last expression, whatever the backend.
    """
    plt.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to register
        return
    shell = get_ipython()
    if shell is not None:
        png = shell.display_formatter.formatters["image/png"]
        png.for_type(Figure, lambda fig: to_png(fig, dpi=90))


def figure(
    ncols: int = 1, nrows: int = 1, size: float = 3.6, **kwargs
) -> tuple[Figure, np.ndarray]:
    """A figure of ``nrows x ncols`` square-ish panels in the course style; axes always an array."""
    with plt.rc_context(STYLE):
        fig = Figure(figsize=(size * ncols, size * nrows * 0.9), layout="constrained", **kwargs)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    return fig, axes


def to_png(fig: Figure, dpi: int = 80) -> bytes:
    """Render a figure to PNG bytes (what the widgets display)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def make_grid(X, resolution: int = 100, margin: float = 0.5) -> np.ndarray:
    """Points of a regular ``resolution x resolution`` grid covering 2-D data ``X`` plus a margin.

    Returned as an array (resolution**2, 2) in meshgrid order, as ``History.grid`` stores it.
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"make_grid needs 2-D points of shape (n, 2); got {X.shape}.")
    lo, hi = X.min(0) - margin, X.max(0) + margin
    xs = np.linspace(lo[0], hi[0], resolution, dtype=np.float32)
    ys = np.linspace(lo[1], hi[1], resolution, dtype=np.float32)
    xx, yy = np.meshgrid(xs, ys)
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def _grid_axes(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.unique(grid[:, 0]), np.unique(grid[:, 1])
    if xs.size * ys.size != grid.shape[0]:
        raise ValueError("grid must be a full meshgrid, as made by plot.make_grid.")
    return xs, ys


def scatter_labeled(ax: Axes, X, y, *, labeled_size: float = 70, unlabeled_size: float = 6) -> None:
    """Unlabeled points (y == -1) small and grey; labeled points large, coloured, dark edge."""
    X, y = np.asarray(X), np.asarray(y)
    unl = y == -1
    ax.scatter(X[unl, 0], X[unl, 1], s=unlabeled_size, c=UNLABELED_COLOR, alpha=0.5, lw=0)
    for c in np.unique(y[~unl]):
        m = y == c
        ax.scatter(
            X[m, 0],
            X[m, 1],
            s=labeled_size,
            c=CLASS_COLORS[int(c) % len(CLASS_COLORS)],
            edgecolors="k",
            linewidths=1.0,
            zorder=3,
            label=f"class {c}",
        )


def decision_boundary(
    X,
    y,
    *,
    probs=None,
    grid=None,
    model=None,
    ax: Axes | None = None,
    curves=None,
    title: str | None = None,
    resolution: int = 100,
) -> Axes:
    """Plot a classifier's probability map on 2-D data, with labeled and unlabeled points.

    Give either ``probs`` (G, C) predicted on ``grid`` (G, 2), or a ``model`` (anything with
    ``predict_proba``, or a torch module) and the grid is made here. For two classes the map is
    p(class 1) with the boundary p = 0.5 in black; for more classes, the arg-max regions.
    ``curves`` are extra polylines (e.g. the noise-free moons, ``data.moons_curves()``) drawn
    dashed to show where the boundary *should* go.
    """
    X, y = np.asarray(X), np.asarray(y)
    if ax is None:
        _, axes = figure()
        ax = axes[0]
    if probs is None and model is not None:
        grid = make_grid(X, resolution) if grid is None else np.asarray(grid)
        if hasattr(model, "predict_proba"):
            probs = model.predict_proba(grid)
        else:
            from course_lib.train import predict_proba

            probs = predict_proba(model, grid)
    if probs is not None:
        if grid is None:
            raise ValueError("probs were given without the grid they were predicted on.")
        grid, probs = np.asarray(grid), np.asarray(probs)
        xs, ys = _grid_axes(grid)
        shape = (ys.size, xs.size)
        if probs.shape[1] == 2:
            p1 = probs[:, 1].reshape(shape)
            ax.contourf(xs, ys, p1, levels=np.linspace(0, 1, 11), cmap=PROB_CMAP, alpha=0.45)
            ax.contour(xs, ys, p1, levels=[0.5], colors="k", linewidths=1.5)
        else:
            cls = probs.argmax(1).reshape(shape)
            from matplotlib.colors import ListedColormap

            cmap = ListedColormap(CLASS_COLORS[: probs.shape[1]])
            ax.contourf(
                xs, ys, cls, levels=np.arange(probs.shape[1] + 1) - 0.5, cmap=cmap, alpha=0.3
            )
    for curve in curves or []:
        curve = np.asarray(curve)
        ax.plot(curve[:, 0], curve[:, 1], ls="--", c="k", lw=0.8, alpha=0.6)
    scatter_labeled(ax, X, y)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def learning_curve(
    ax: Axes, history, keys=("eval_acc",), *, marker_step: int | None = None
) -> Axes:
    """Plot logged numbers of a ``History`` against the step, with an optional marker line."""
    for key in keys:
        if key in history.logs:
            ax.plot(history["step"], history[key], label=key)
    if marker_step is not None:
        ax.axvline(marker_step, c="k", lw=1, ls=":")
    ax.set_xlabel("step")
    ax.legend(loc="best")
    return ax


def graph_edges(ax: Axes, X, W, *, color: str = "#555555", max_width: float = 1.5) -> Axes:
    """Draw the edges of a weighted graph ``W`` (dense or scipy sparse, symmetric) on 2-D points.

    Each edge is a segment whose width is proportional to its weight (largest = ``max_width``).
    Draw the points afterwards (``scatter_labeled``) so they sit on top of the edges.
    """
    from matplotlib.collections import LineCollection
    from scipy import sparse

    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"graph_edges needs 2-D points of shape (n, 2); got {X.shape}.")
    coo = sparse.triu(sparse.coo_matrix(W), k=1).tocoo()  # each undirected edge once
    if coo.shape != (len(X), len(X)):
        raise ValueError(f"W has shape {coo.shape}; expected ({len(X)}, {len(X)}).")
    keep = coo.data > 0
    i, j, w = coo.row[keep], coo.col[keep], coo.data[keep]
    if w.size:
        segments = np.stack([X[i], X[j]], axis=1)
        ax.add_collection(
            LineCollection(segments, linewidths=max_width * w / w.max(), colors=color, zorder=1)
        )
    ax.autoscale_view()
    return ax


def label_overlay(ax, image, labels, mask=None, boxes=None, title=""):
    """Chapter 08: a grey image with a label map on top (foreground red, ignore (-1) yellow),
    the true mask's outline in cyan and the boxes ``(r0, c0, r1, c1)`` in white."""
    from matplotlib.patches import Rectangle

    ax.imshow(image, cmap="gray")
    overlay = np.zeros((*labels.shape, 4))
    overlay[labels == 1] = (0.84, 0.15, 0.16, 0.45)
    overlay[labels == -1] = (1.0, 0.85, 0.1, 0.35)
    ax.imshow(overlay)
    if mask is not None and mask.any():
        ax.contour(mask, levels=[0.5], colors="c", linewidths=0.8)
    for r0, c0, r1, c1 in boxes if boxes is not None else []:
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, ec="w", lw=0.6))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
