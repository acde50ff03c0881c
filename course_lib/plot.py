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


def pseudo_label_thresholds(
    histories: dict, tau, X, y, *, curves=None, fig: Figure | None = None
) -> Figure:
    """Chapter 05's confirmation-bias figure for the run at threshold ``tau``.

    ``histories``: ``{tau: History}`` recorded with a grid (``None``: the supervised run). Left:
    the final boundary; middle: the mask rate and the accuracy of the kept pseudo-labels during
    training; right: the test accuracy of every threshold (``tau`` in bold, supervised dashed).
    Draws on ``fig`` (a new one if ``None``) and returns it.
    """
    with plt.rc_context(STYLE):
        fig = fig if fig is not None else Figure(figsize=(10, 3.3), layout="constrained")
        h = histories[tau]
        ax1, ax2, ax3 = fig.subplots(1, 3)
        decision_boundary(X, y, probs=h.snapshots[-1], grid=h.grid, ax=ax1, curves=curves)
        ax1.set_title(f"tau = {tau}: test {h.last('eval_acc'):.1%}")
        step = h["step"][1:]
        ax2.plot(step, h["mask_rate"][1:], label="mask rate")
        kept_acc = h["mask_correct"][1:] / np.maximum(h["mask_rate"][1:], 1e-9)
        ax2.plot(step, kept_acc, label="accuracy of kept")
        ax2.set_ylim(0, 1.05)
        ax2.set_xlabel("step")
        ax2.legend(loc="lower right")
        ax2.set_title("pseudo-labels during training")
        for t, run in histories.items():
            if t is not None:
                ax3.plot(run["step"], run["eval_acc"], lw=2.5 if t == tau else 1, label=f"tau {t}")
        if None in histories:
            sup = histories[None]
            ax3.plot(sup["step"], sup["eval_acc"], "k--", label="supervised")
        ax3.set_xlabel("step")
        ax3.set_title("test accuracy")
        ax3.legend(fontsize=7)
    return fig


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


def sharpen_bars(ax, p, q, T: float) -> None:
    """Chapter 06: a guess ``p`` beside ``q = Sharpen(p, T)``, with both entropies."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    k = np.arange(len(p))

    def entropy(v):
        return float(-(v * np.log(np.clip(v, 1e-12, None))).sum())

    ax.bar(k - 0.2, p, 0.4, label="guess p", color=UNLABELED_COLOR)
    ax.bar(k + 0.2, q, 0.4, label=f"Sharpen(p, T={T:g})", color=CLASS_COLORS[1])
    ax.set_title(f"entropy {entropy(p):.2f} -> {entropy(q):.2f} nats")
    ax.set_xlabel("class")
    ax.legend()


def mixup_panel(fig: Figure, x1, x2, x_mixed, p_mixed, lam: float, names=("x1", "x2")) -> None:
    """Chapter 06: two images, their MixUp (``lam' = max(lam, 1 - lam)``), the mixed target."""
    axes = fig.subplots(1, 4, width_ratios=[1, 1, 1, 1.6])
    lam_p = max(lam, 1 - lam)
    for ax, img, title in zip(
        axes[:3], (x1, x2, x_mixed), (*names, f"mixed, λ'={lam_p:.2f}"), strict=True
    ):
        ax.imshow(np.asarray(img).reshape(np.shape(img)[-2:]), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(title)
        ax.axis("off")
    p_mixed = np.asarray(p_mixed, dtype=float).ravel()
    axes[3].bar(range(len(p_mixed)), p_mixed)
    axes[3].set_title("mixed target p'")
    axes[3].set_xticks(range(len(p_mixed)))


def fixmatch_threshold(fig: Figure, steps, snapshots, truth, tau: float) -> None:
    """Chapter 06: what threshold ``tau`` would keep of a recorded FixMatch run.

    ``snapshots`` are the predicted probabilities (n_unlabeled, classes) on the unlabeled images
    at ``steps``; ``truth`` their true labels (used only to score). Left: mask rate, accuracy of
    the kept pseudo-labels and of all guesses over training; right: histogram of the final
    confidences, correct and wrong, with ``tau`` marked.
    """
    probs = np.stack([np.asarray(s) for s in snapshots])  # (records, n, classes)
    conf = probs.max(2)
    correct = probs.argmax(2) == np.asarray(truth)[None]
    mask = conf >= tau
    kept = mask.sum(1)
    kept_acc = np.where(kept > 0, (mask & correct).sum(1) / np.maximum(kept, 1), np.nan)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(steps, mask.mean(1), label="mask rate")
    ax1.plot(steps, kept_acc, label="accuracy of kept pseudo-labels")
    ax1.plot(steps, correct.mean(1), ":", c="k", label="accuracy of all guesses")
    ax1.set_ylim(0, 1.02)
    ax1.set_xlabel("step")
    ax1.legend(loc="lower right", fontsize=8)
    ax1.set_title(f"tau = {tau:.2f}")
    colors = [CLASS_COLORS[2], CLASS_COLORS[0]]
    ax2.hist([conf[-1][correct[-1]], conf[-1][~correct[-1]]], bins=20, range=(0, 1),
             stacked=True, label=["correct", "wrong"], color=colors)  # fmt: skip
    ax2.axvline(tau, c="k", ls="--")
    ax2.set_yscale("log")
    ax2.set_xlabel("confidence max q at the end")
    ax2.legend(loc="upper left")


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


def cam_box(ax, image, mask, box, *, cam_map=None, threshold=None, title=None) -> None:
    """Chapter 07: a grey image with the lesion outline (cyan) and a box ``(r0, c0, r1, c1)``
    (red); with ``cam_map``, the map on top and its ``threshold`` x max contour (white) — the
    panels of ``widgets.cam_explorer`` and of the static strip under it."""
    from matplotlib.patches import Rectangle

    ax.imshow(image, cmap="gray")
    if cam_map is not None:
        ax.imshow(cam_map, cmap="jet", alpha=0.5)
        if threshold is not None:
            ax.contour(cam_map, levels=[threshold * cam_map.max()], colors="w", linewidths=0.7)
    if np.asarray(mask).any():
        ax.contour(np.asarray(mask) > 0, levels=[0.5], colors="c", linewidths=0.8)
    r0, c0, r1, c1 = box
    ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, ec="r", lw=1.2))
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9)


def rounds_frame(fig: Figure, rounds, images, masks, boxes, stage: int, *, show=(0, 1, 2)):
    """Chapter 08: one stage of recursive training (``box2mask.Rounds``) — the frame of
    ``widgets.rounds_player``.

    The x-axis and the stages count the rounds *done*: stage 0 shows the box labels of the images
    ``show`` (no round done), stage r the denoised predictions of the r-th round (``pseudo[r - 1]``,
    the labels of the next round). Right, both against the same x = r: the Dice of the labels
    after r rounds and the test Dice of the network of the r-th round (``eval_dice[r - 1]``, the
    network whose predictions those labels are; no network at x = 0). Returns the labels' Dice per
    stage.
    """
    from course_lib import metrics

    stages = [rounds.labels[0], *rounds.pseudo]
    axes = fig.subplots(1, len(show) + 1, width_ratios=[1] * len(show) + [1.4])
    lab = stages[stage]
    for ax, i in zip(axes[:-1], show, strict=True):
        d = metrics.dice(masks[i], lab[i] == 1)
        label_overlay(ax, images[i, 0], lab[i], masks[i], boxes[i], f"image {i}: Dice {d:.2f}")
    ax = axes[-1]
    dice_lab = [float(metrics.dice(masks, s == 1, per_image=True).mean()) for s in stages]
    ax.plot(range(len(stages)), dice_lab, "o-", label="training labels vs truth")
    if rounds.eval_dice:  # the network of the r-th round at x = r, beside the labels it made
        done = range(1, len(rounds.eval_dice) + 1)
        ax.plot(done, rounds.eval_dice, "s-", label="network of the r-th round, test images")
    ax.axvline(stage, c="k", lw=1, ls=":")
    ax.set_xlabel("rounds done, r (0: the box labels)")
    ax.set_ylabel("Dice")
    ax.set_xticks(range(len(stages)))
    ax.legend(loc="lower right")
    return dice_lab


def rounds_strip(rounds, images, masks, boxes, *, show=(3, 5), size: float = 1.9) -> Figure:
    """Chapter 08: the static twin of ``widgets.rounds_player`` — every stage of recursive
    training (columns: the box labels, then the denoised predictions after 1, 2, ... rounds) for
    the images ``show`` (rows), each titled with its Dice against the true mask."""
    from course_lib import metrics

    stages = [rounds.labels[0], *rounds.pseudo]
    fig, axes = figure(len(stages), len(show), size=size)
    for row, i in enumerate(show):
        for col, lab in enumerate(stages):
            d = metrics.dice(masks[i], lab[i] == 1)
            what = "round-0 labels" if col == 0 else f"after round {col}"
            title = f"{what}: {d:.2f}" if row == 0 else f"{d:.2f}"
            label_overlay(axes[row * len(stages) + col], images[i, 0], lab[i], masks[i],
                          boxes[i], title)  # fmt: skip
    return fig


def xray_grid(images, labels, *, marked=None, probs=None, ncols: int = 8, size: float = 1.3):
    """Chest X-rays (n, 28, 28) in a grid, titled by class; ``marked`` (bool per image) frames
    the labelled ones in their class colour, ``probs`` adds P(pneumonia) under each image."""
    images, labels = np.asarray(images), np.asarray(labels)
    n = len(images)
    nrows = -(-n // ncols)
    fig, axes = figure(ncols, nrows, size=size)
    names = ("normal", "pneumonia")
    for i, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        ax.imshow(images[i], cmap="gray", vmin=0, vmax=1)
        ax.set_title(names[int(labels[i])], fontsize=8, color=CLASS_COLORS[int(labels[i])])
        is_marked = marked is not None and bool(marked[i])
        for spine in ax.spines.values():
            spine.set_visible(is_marked)
            spine.set_color(CLASS_COLORS[int(labels[i])])
            spine.set_linewidth(3)
        if probs is not None:
            ax.set_xlabel(f"p = {probs[i]:.2f}", fontsize=8)
    return fig


def cam_grid(images, maps, labels, probs, *, titles=("CAM", "Grad-CAM"), size: float = 1.5):
    """One column per X-ray: the image, then each map of ``maps`` (a sequence of (n, 28, 28)
    arrays) over it in ``jet`` at half opacity, each map scaled to its own maximum."""
    images = np.asarray(images)
    n = len(images)
    fig, axes = figure(n, 1 + len(maps), size=size)
    axes = axes.reshape(1 + len(maps), n)
    names = ("normal", "pneumonia")
    for j in range(n):
        axes[0, j].imshow(images[j], cmap="gray", vmin=0, vmax=1)
        axes[0, j].set_title(f"{names[int(labels[j])]}\np={probs[j]:.2f}", fontsize=8)
        for r, m in enumerate(maps, start=1):
            v = np.asarray(m[j], dtype=float)
            v = (v - v.min()) / (v.max() - v.min() + 1e-8)
            axes[r, j].imshow(images[j], cmap="gray", vmin=0, vmax=1)
            axes[r, j].imshow(v, cmap="jet", alpha=0.5, vmin=0, vmax=1)
    for r, ax_row in enumerate(axes):
        for ax in ax_row:
            ax.set_xticks([])
            ax.set_yticks([])
        ax_row[0].set_ylabel(("image", *titles)[r], fontsize=9)
    return fig


def labels_sweep(records, *, value: str = "auc", reference: str = "full", size: float = 4.2):
    """Chapter 09: ``value`` against labels per class, one line (mean) per method with every
    label draw as a dot; the ``reference`` method (all labels) as a dashed horizontal line."""
    fig, axes = figure(1, 1, size=size)
    ax = axes[0]
    few = [r for r in records if r["method"] != reference]
    ks = sorted({r["per_class"] for r in few})
    for i, m in enumerate(dict.fromkeys(r["method"] for r in few)):
        color = CLASS_COLORS[i % len(CLASS_COLORS)]
        means = []
        for k in ks:
            v = [r[value] for r in few if r["method"] == m and r["per_class"] == k]
            ax.scatter([k] * len(v), v, s=12, color=color, alpha=0.5)
            means.append(np.mean(v) if v else np.nan)
        ax.plot(ks, means, "-o", color=color, label=m, ms=4)
    ref = [r[value] for r in records if r["method"] == reference]
    if ref:
        ax.axhline(np.mean(ref), color="k", ls="--", lw=1, label=f"{reference} (all labels)")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("labelled X-rays per class")
    ax.set_ylabel(f"test {value}" if not value.startswith("val") else value)
    ax.legend(loc="lower right")
    return fig


def val_vs_test(records, *, size: float = 3.6):
    """Validation AUC against test AUC, one dot per fit, with the line val = test: dots above
    the line are fits that look better on validation than they are on test."""
    fig, axes = figure(1, 1, size=size)
    ax = axes[0]
    for i, m in enumerate(dict.fromkeys(r["method"] for r in records)):
        mine = [r for r in records if r["method"] == m]
        ax.scatter(
            [r["auc"] for r in mine],
            [r["val_auc"] for r in mine],
            s=14,
            label=m,
            color=CLASS_COLORS[i % len(CLASS_COLORS)],
        )
    lo = min(min(r["auc"], r["val_auc"]) for r in records) - 0.01
    ax.plot([lo, 1], [lo, 1], "k:", lw=1)
    ax.set_xlabel("test AUC")
    ax.set_ylabel("validation AUC")
    ax.legend(loc="lower right", fontsize=8)
    return fig


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


# --- chapter 03: Mean Teacher's Fig. 1 sketch, VAT's adversarial digits -------------------------


def mean_teacher_sketch(sketch: dict, *, size: float = 2.6) -> Figure:
    """Chapter 03: Mean Teacher's Fig. 1 (a-e), drawn from ``ch03.mean_teacher_sketch``.

    (a)-(d): p(class 1 | x) against x, labeled points large, the unlabeled point a black
    circle; (c)/(d) mark the student's target at the unlabeled point (d: the teacher's noisy
    predictions, small, and their mean, large). (e): the predictions at the unlabeled point
    during a Mean Teacher run, student and EMA teacher.
    """
    fig, axes = figure(5, size=size)
    x, xu = sketch["x"], sketch["unlabeled"]
    iu = int(np.argmin(np.abs(x - xu)))
    for ax in axes[:4]:
        for xl, c in sketch["labeled"]:
            ax.scatter([xl], [c], s=80, color=CLASS_COLORS[int(c)], edgecolor="k", zorder=3)
        ax.set_ylim(-0.08, 1.08)
        ax.set_xlabel("x")
    axes[0].set_ylabel("p(class 1 | x)")
    for curve in sketch["free"]:
        axes[0].plot(x, curve, color="0.45", lw=1.2)
    axes[0].set_title("(a) labels only: the fit\nbetween them is arbitrary", fontsize=9)
    axes[1].plot(x, sketch["teacher"], color="0.3", lw=1.5)
    axes[1].set_title("(b) noise on the labeled\ninputs (the teacher)", fontsize=9)
    for ax, key, title in (
        (axes[2], "student_c", "(c) consistency to a\nfixed teacher at x_u"),
        (axes[3], "student_d", "(d) noise on the teacher:\nthe mean target"),
    ):
        ax.plot(x, sketch["teacher"], color="0.6", lw=1.2, ls="--", label="teacher")
        ax.plot(x, sketch[key], color="k", lw=1.5, label="student")
        ax.set_title(title, fontsize=9)
    axes[2].scatter([xu], [sketch["teacher"][iu]], s=70, facecolor="none", edgecolor="k", zorder=3)
    xs, ps = sketch["noisy_targets"]
    axes[3].scatter(xs, ps, s=12, facecolor="none", edgecolor=CLASS_COLORS[1], zorder=3)
    axes[3].scatter([xu], [ps.mean()], s=90, facecolor="none", edgecolor=CLASS_COLORS[1], lw=2)
    axes[2].legend(loc="upper left", fontsize=8)
    trace = sketch["trace"]
    axes[4].plot(trace[:, 0], color="0.6", lw=1, label="student")
    axes[4].plot(trace[:, 1], color="k", lw=1.5, label="EMA teacher")
    axes[4].set_xlabel("training step")
    axes[4].set_ylabel("p(class 1 | x_u)")
    axes[4].set_title("(e) the EMA teacher:\na smoothed target", fontsize=9)
    axes[4].legend(fontsize=8)
    return fig


def adversarial_digits(images, r_adv, probs_clean, probs_adv, *, size: float = 1.5) -> Figure:
    """Chapter 03: VAT's virtual adversarial examples on 8x8 digits, one column per image:
    x, r_adv (signed, grey = 0) and x + r_adv, each titled with the predicted class and its
    probability."""
    n = len(images)
    fig, axes = figure(n, 3, size=size)
    axes = axes.reshape(3, n)
    lim = float(np.abs(r_adv).max())
    for j in range(n):
        k0, k1 = int(probs_clean[j].argmax()), int(probs_adv[j].argmax())
        axes[0, j].imshow(images[j].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        axes[0, j].set_title(f"x: {k0} ({probs_clean[j, k0]:.2f})", fontsize=8)
        axes[1, j].imshow(r_adv[j].reshape(8, 8), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[1, j].set_title("r_adv", fontsize=8)
        axes[2, j].imshow((images[j] + r_adv[j]).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        axes[2, j].set_title(f"x + r_adv: {k1} ({probs_adv[j, k1]:.2f})", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def settings_grid(runs, X, y, *, curves=None, key: str = "eval_acc", size: float = 2.4) -> Figure:
    """The static twin of ``widgets.method_explorer`` (chapters 03 and 04): one row per method,
    one column per setting of its knob, each panel the last recorded boundary titled with the
    setting and the last ``key`` (``runs``: ``{method: {setting: History}}``, the widget's)."""
    if not runs or not all(runs.values()):
        raise ValueError("runs must map each method name to a non-empty {setting: History} dict.")
    ncols = max(len(by_setting) for by_setting in runs.values())
    fig, axes = figure(ncols, len(runs), size=size)
    axes = axes.reshape(len(runs), ncols)
    for row, (method, by_setting) in zip(axes, runs.items(), strict=True):
        for ax in row[len(by_setting) :]:
            ax.axis("off")
        for ax, (setting, history) in zip(row, by_setting.items(), strict=False):
            decision_boundary(
                X, y, probs=history.snapshots[-1], grid=history.grid, ax=ax, curves=curves
            )
            score = f": {history.last(key):.1%}" if key in history.logs else ""
            ax.set_title(f"{method}\n{setting}{score}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    return fig


# --- chapter 08: Zhao et al.'s two stages, instance by instance ---------------------------------


def instance_overlay(ax, image, instances, boxes=None, title=""):
    """Chapter 08: a grey image with each instance (1..K of an instance map) in its own colour,
    outlined, and the boxes ``(r0, c0, r1, c1)`` in white."""
    from matplotlib.patches import Rectangle

    ax.imshow(image, cmap="gray")
    inst = np.asarray(instances)
    colors = plt.get_cmap("tab10")
    overlay = np.zeros((*inst.shape, 4))
    for k in np.unique(inst[inst > 0]):
        overlay[inst == k] = (*colors((int(k) - 1) % 10)[:3], 0.5)
        ax.contour(inst == k, levels=[0.5], colors=[colors((int(k) - 1) % 10)], linewidths=0.7)
    ax.imshow(overlay)
    for r0, c0, r1, c1 in boxes if boxes is not None else []:
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0, r1 - r0, fill=False, ec="w", lw=0.6))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def instances_strip(images, true_instances, preds: dict, boxes, *, show=(0, 1), size=2.3):
    """Chapter 08: rows = the test images ``show``; columns = the true instances, then each
    prediction of ``preds`` (name -> ((n, H, W) instance maps, title)), one colour per instance."""
    fig, axes = figure(1 + len(preds), len(show), size=size)
    for row, i in enumerate(show):
        cols = [("truth", true_instances)] + [(t, p) for p, t in preds.values()]
        for col, (title, inst) in enumerate(cols):
            instance_overlay(axes[row * len(cols) + col], images[i, 0], inst[i], boxes[i],
                             title if row == 0 else "")  # fmt: skip
    return fig


# --- chapters 01, 02: Belkin et al.'s Fig. 1 and the static twins of the moons widgets ----------


def boundary_strip(panels, *, curves=None, size: float = 3.0) -> Figure:
    """One :func:`decision_boundary` panel per entry of ``panels``, side by side.

    ``panels``: a list of dicts ``{"X", "y", "grid", "probs", "title"}`` (probabilities already
    predicted on the grid, e.g. recorded by a widget or an experiment); ``curves`` are drawn
    dashed on every panel. The static strip of chapter 01's prior-beliefs figure and of the
    explorers of chapters 01 and 02.
    """
    if not panels:
        raise ValueError("panels is empty; give at least one {'X', 'y', 'grid', 'probs', 'title'}.")
    fig, axes = figure(len(panels), size=size)
    for ax, p in zip(axes, panels, strict=True):
        decision_boundary(p["X"], p["y"], probs=p["probs"], grid=p["grid"], ax=ax, curves=curves)
        ax.set_title(p["title"])
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def training_strip(
    history, X, y, *, records=None, curves=None, keys=("eval_acc",), title="", size: float = 2.6
) -> Figure:
    """The static twin of ``widgets.training_player``: the boundary at a few ``records`` (indices
    into ``history.snapshots``; default: first, two in between, last) and the logged curves with
    a dotted line at each of those steps."""
    n = len(history.snapshots)
    if n == 0:
        raise ValueError(
            "history has no snapshots; train with fit(..., grid=plot.make_grid(X)) to record them."
        )
    records = list(records) if records is not None else sorted({0, n // 3, 2 * n // 3, n - 1})
    if any(not 0 <= r < n for r in records):
        raise ValueError(f"records must be indices in [0, {n - 1}]; got {records}.")
    fig, axes = figure(len(records) + 1, size=size)
    for ax, r in zip(axes, records, strict=False):
        decision_boundary(X, y, probs=history.snapshots[r], grid=history.grid, ax=ax, curves=curves)
        ax.set_title(f"{title} step {history.steps[r]}".strip())
        ax.set_xticks([])
        ax.set_yticks([])
    keys = [k for k in keys if k in history.logs] or ["loss"]
    learning_curve(axes[-1], history, keys)
    for r in records:
        axes[-1].axvline(history.steps[r], c="k", lw=0.8, ls=":")
    return fig
