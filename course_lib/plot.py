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


def runs_vs(
    ax: Axes, records, *, x: str = "per_class", value: str = "accuracy", log_x: bool = False
) -> Axes:
    """Chapter 09: ``value`` against ``x``, one colour per method: every run (label draw) as a
    small dot and the mean over runs as a line. Shows how many runs there are and how far they
    spread, where an error bar over a handful of seeds would hide both."""
    methods = list(dict.fromkeys(r["method"] for r in records))
    xs = sorted({r[x] for r in records})
    span = (max(xs) - min(xs)) or 1.0
    for j, name in enumerate(methods):
        mine = [r for r in records if r["method"] == name]
        offset = 0.04 * (j - (len(methods) - 1) / 2)  # methods side by side, not on top

        def at(v, offset=offset):
            return v * (1 + offset) if log_x else v + offset * span / 2

        color = CLASS_COLORS[j % len(CLASS_COLORS)]
        ax.scatter([at(r[x]) for r in mine], [r[value] for r in mine], s=10, alpha=0.45,
                   color=color, linewidths=0)  # fmt: skip
        means = [np.mean([r[value] for r in mine if r[x] == v]) for v in xs]
        ax.plot([at(v) for v in xs], means, "o-", color=color, ms=4, label=name)
    if log_x:
        ax.set_xscale("log")
        ax.set_xticks(xs, [str(v) for v in xs])
    ax.set_xlabel(x)
    ax.set_ylabel(value)
    ax.legend(loc="best")
    return ax


def validation_noise(fig, true_acc, draws, n_val: int, n_vals, p_best, *, top: int = 3):
    """Chapter 09: model selection on a validation set of ``n_val`` examples.

    Left: histograms of the validation accuracies ``draws`` (M models, n_draws, from
    ``evaluation.validation_draws``) of the ``top`` models with the best true accuracy
    ``true_acc``; right: P(pick the best model) against the validation size, ``n_val`` marked.
    """
    ax1, ax2 = fig.subplots(1, 2)
    true_acc = np.asarray(true_acc)
    for j, m in enumerate(np.argsort(true_acc)[::-1][:top]):
        ax1.hist(draws[m], bins=np.linspace(0.4, 1.0, 31), alpha=0.5, color=CLASS_COLORS[j],
                 label=f"true acc {true_acc[m]:.3f}")  # fmt: skip
    ax1.set_xlabel(f"validation accuracy (n = {n_val})")
    ax1.legend(fontsize=8)
    ax1.set_title(f"the {top} best candidates")
    ax2.plot(n_vals, p_best, "o-", c="k")
    ax2.axvline(n_val, c="k", ls=":", lw=1)
    ax2.set_xscale("log")
    ax2.set_ylim(0, 1.05)
    ax2.set_xlabel("validation size")
    ax2.set_title("P(pick the best model)")
    return fig


def forbidden_border(pred, allowed) -> np.ndarray:
    """Chapter 10: boolean (H, W) map of the pixels of label map ``pred`` that touch a
    4-neighbour whose label ``allowed[k, l]`` forbids next to theirs."""
    pred = np.asarray(pred)
    forbid = ~np.asarray(allowed, dtype=bool)
    bad = np.zeros(pred.shape, bool)
    h = forbid[pred[:, :-1], pred[:, 1:]]
    v = forbid[pred[:-1], pred[1:]]
    bad[:, :-1] |= h
    bad[:, 1:] |= h
    bad[:-1] |= v
    bad[1:] |= v
    return bad


def segmentation_row(axes, image, mask, preds: dict, allowed, *, n_forbidden=None, n_labels=5):
    """Chapter 10: image, true label map, then each prediction of ``preds`` (name -> (H, W)
    labels) with its pixels on a forbidden border (:func:`forbidden_border`) in red;
    ``n_forbidden`` (name -> count, e.g. from ``papers.forbidden_adjacencies``) goes in the
    titles."""
    axes[0].imshow(image, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("image")
    axes[1].imshow(mask, cmap="viridis", vmin=0, vmax=n_labels - 1)
    axes[1].set_title("truth")
    for ax, (name, pred) in zip(axes[2:], preds.items(), strict=True):
        ax.imshow(pred, cmap="viridis", vmin=0, vmax=n_labels - 1)
        yy, xx = np.nonzero(forbidden_border(pred, allowed))
        ax.scatter(xx, yy, s=6, c="red", marker="s")
        count = "" if n_forbidden is None else f"\n{n_forbidden[name]} forbidden pairs"
        ax.set_title(name.split(" (")[0] + count, fontsize=9)
    for ax in axes:
        ax.axis("off")
    return axes


def segmentation_strip(images, masks, segs: dict, allowed, cases, *, n_forbidden=None, size=2.0):
    """Chapter 10: :func:`segmentation_row` for each test image of ``cases``, one row each
    (``segs``: name -> (N, H, W) predictions; ``n_forbidden``: name -> (N,) counts)."""
    cases = list(cases)
    fig, axes = figure(2 + len(segs), len(cases), size=size)
    for row, i in zip(axes.reshape(len(cases), -1), cases, strict=True):
        counts = None if n_forbidden is None else {k: int(v[i]) for k, v in n_forbidden.items()}
        preds = {k: v[i] for k, v in segs.items()}
        segmentation_row(row, images[i, 0], masks[i], preds, allowed, n_forbidden=counts)
    return fig
