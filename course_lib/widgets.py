"""Thin ipywidgets UIs: sliders wired to a plot function from ``plot.py``.

Every widget is an :class:`InteractiveFigure`: a draw function, a few controls and an image. The
callback logic lives here, not in the notebook, so tests can set ``control.value`` and check the
figure changed without a browser. Widgets never train on a slider move: they draw recorded
``History`` snapshots or cached results.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import ipywidgets as W

from course_lib import plot


class InteractiveFigure:
    """A figure redrawn by ``draw(fig, **values)`` whenever one of ``controls`` changes.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **{name: control.value})`` draws on an empty figure.
    controls : dict of name -> ipywidgets.ValueWidget
        The sliders/dropdowns; their names are the keyword arguments of ``draw``.
    figsize : (float, float)
        Figure size in inches.
    extra : list of widgets
        Shown beside the controls (e.g. a Play button linked to a slider).

    Attributes
    ----------
    fig : matplotlib Figure; ``image`` : ipywidgets.Image holding the rendered PNG;
    ``ui`` : the widget box that a notebook displays; ``renders`` : number of redraws.
    """

    def __init__(
        self,
        draw: Callable,
        controls: dict[str, W.ValueWidget],
        figsize=(7.0, 3.4),
        extra: list | None = None,
    ):
        self.draw_fn = draw
        self.controls = controls
        self.fig = plot.Figure(figsize=figsize, layout="constrained")
        self.image = W.Image(format="png", layout=W.Layout(width=f"{int(figsize[0] * 90)}px"))
        self.renders = 0
        for control in controls.values():
            control.observe(self._on_change, names="value")
        row = W.HBox([*(extra or []), *controls.values()])
        self.ui = W.VBox([row, self.image])
        self.update()

    @property
    def values(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def update(self) -> None:
        """Redraw the figure from the current control values."""
        import matplotlib.pyplot as plt

        self.fig.clear()
        with plt.rc_context(plot.STYLE):
            self.draw_fn(self.fig, **self.values)
            self.image.value = plot.to_png(self.fig)
        self.renders += 1

    def _on_change(self, change) -> None:
        self.update()

    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)


def training_player(history, X, y, *, title: str = "", curves=None, keys=("eval_acc",)):
    """Scrub a recorded training run: a Play button and a slider over ``history.snapshots``.

    Left: the decision boundary at the selected record; right: the logged curves with a marker.
    Needs a run made with ``fit(..., grid=...)``.
    """
    if not history.snapshots:
        raise ValueError(
            "history has no snapshots; train with fit(..., grid=plot.make_grid(X)) to record them."
        )
    n = len(history.snapshots)
    slider = W.IntSlider(value=n - 1, min=0, max=n - 1, description="record", readout=False)
    play = W.Play(value=n - 1, min=0, max=n - 1, interval=300, description="play")
    W.jslink((play, "value"), (slider, "value"))
    label = W.Label()
    keys = [k for k in keys if k in history.logs] or ["loss"]

    def draw(fig, record):
        step = history.steps[record]
        ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.2, 1])
        plot.decision_boundary(
            X, y, probs=history.snapshots[record], grid=history.grid, ax=ax1, curves=curves
        )
        ax1.set_title(f"{title} step {step}".strip())
        plot.learning_curve(ax2, history, keys, marker_step=step)
        numbers = ", ".join(f"{k} = {history[k][record]:.3f}" for k in keys)
        label.value = f"step {step}: {numbers}"

    widget = InteractiveFigure(draw, {"record": slider}, figsize=(7.5, 3.2), extra=[play])
    widget.ui.children = (*widget.ui.children, label)
    widget.slider, widget.play, widget.label = slider, play, label
    return widget


def data_explorer(
    *, n: int = 400, seed: int = 0, steps: int = 300, per_class=(1, 2, 3, 5, 10, 25), noises=None
):
    """Two moons with sliders for labels per class and noise: the split and the supervised fit.

    Each (labels, noise) setting is trained once (a supervised MLP, under a second) and cached,
    so moving back to a setting redraws instantly.
    """
    from course_lib.data import moons_curves, split_labeled, two_moons
    from course_lib.estimator import SSLClassifier

    noises = noises if noises is not None else (0.05, 0.1, 0.15, 0.2, 0.3)

    @lru_cache(maxsize=64)
    def result(k: int, noise: float):
        X, y_true = two_moons(n, noise, seed)
        y = split_labeled(y_true, k, seed)
        clf = SSLClassifier(steps=steps, random_state=seed).fit(X, y)
        grid = plot.make_grid(X, 80)
        return X, y, y_true, grid, clf.predict_proba(grid), clf.score(X, y_true)

    k_slider = W.SelectionSlider(
        options=list(per_class), value=per_class[0], description="labels/class"
    )
    noise_slider = W.SelectionSlider(options=list(noises), value=noises[1], description="noise")

    def draw(fig, k, noise):
        X, y, _, grid, probs, acc = result(k, noise)
        ax = fig.subplots()
        plot.decision_boundary(X, y, probs=probs, grid=grid, ax=ax, curves=moons_curves())
        ax.set_title(f"supervised MLP, {k} labels/class: accuracy {acc:.1%}")

    widget = InteractiveFigure(draw, {"k": k_slider, "noise": noise_slider}, figsize=(4.6, 3.8))
    widget.result = result
    return widget


def lapsvm_explorer(X, y, *, curves=None, resolution: int = 70, y_true=None, **lapsvm_params):
    """Laplacian SVM on 2-D data with log-scale sliders for ``gamma_I``, ``gamma_A`` and kNN k.

    The RBF Gram matrix, its values on the plotting grid and one graph Laplacian per k are
    computed once and cached; a slider move only re-solves the small SVM on the deformed kernel
    (milliseconds for a few hundred points) and redraws. ``lapsvm_params`` are the other
    ``LaplacianSVM`` settings (sigma, weights, normalized, p, ...).
    """
    import numpy as np

    from course_lib import classic
    from course_lib._validation import check_labeled_classes

    base = classic.LaplacianSVM(**lapsvm_params)
    base.validate()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    classes = check_labeled_classes(y)
    if classes.size != 2:
        raise ValueError("lapsvm_explorer draws binary problems; y must label exactly 2 classes.")
    y_idx = np.where(y == -1, -1, np.searchsorted(classes, y))
    grid = plot.make_grid(X, resolution)
    K = classic.rbf(X, sigma=base.sigma)
    K_grid = classic.rbf(grid, X, sigma=base.sigma)

    @lru_cache(maxsize=32)
    def laplacian(k: int):
        W = classic.knn_graph(X, k, base.weights, base.graph_sigma)
        return classic.graph_laplacian(W, base.normalized, base.p)

    @lru_cache(maxsize=256)
    def result(gamma_I: float, gamma_A: float, k: int):
        with classic._blas_for(len(X)):
            alpha, b, F = classic.lapsvm_solve(K, laplacian(k), y_idx, gamma_A, gamma_I, base.tol)
            f_grid = K_grid @ alpha[:, 0] + b[0]
        p1 = 1.0 / (1.0 + np.exp(-2.0 * f_grid))
        labels = classes[(F[:, 0] > 0).astype(int)]
        return np.stack([1.0 - p1, p1], axis=1), labels

    sliders = {
        "gamma_I": W.FloatLogSlider(
            value=base.gamma_I, base=10, min=-4, max=2, step=0.25, description="γ_I"
        ),
        "gamma_A": W.FloatLogSlider(
            value=base.gamma_A, base=10, min=-4, max=1, step=0.25, description="γ_A"
        ),
        "k": W.IntSlider(value=base.n_neighbors, min=2, max=20, description="kNN k"),
    }

    def draw(fig, gamma_I, gamma_A, k):
        probs, labels = result(float(gamma_I), float(gamma_A), int(k))
        ax = fig.subplots()
        plot.decision_boundary(X, y, probs=probs, grid=grid, ax=ax, curves=curves)
        title = f"LapSVM  γ_I={gamma_I:.3g}, γ_A={gamma_A:.3g}, k={k}"
        if y_true is not None:
            title += f": {np.mean(labels == np.asarray(y_true)):.1%}"
        ax.set_title(title)

    widget = InteractiveFigure(draw, sliders, figsize=(5.0, 4.0))
    widget.result, widget.laplacian, widget.grid = result, laplacian, grid
    return widget
