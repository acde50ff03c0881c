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


def method_explorer(runs, X, y, *, curves=None, keys=("eval_acc",)):
    """Choose a method, one setting of its key hyper-parameter, and scrub its recorded training.

    ``runs`` maps a method name to ``{setting label: History}`` (each History recorded with
    ``fit(..., grid=...)``); nothing is trained here. Changing the method switches the setting
    slider to that method's labels (the middle one selected).
    """
    if not runs or not all(runs.values()):
        raise ValueError("runs must map each method name to a non-empty {setting: History} dict.")
    for name, by_setting in runs.items():
        if any(not h.snapshots for h in by_setting.values()):
            raise ValueError(f"a run of {name!r} has no snapshots; record it with fit(grid=...).")
    names = list(runs)

    def middle(name):
        labels = list(runs[name])
        return labels[len(labels) // 2]

    method = W.Dropdown(options=names, value=names[0], description="method")
    # The readout shows labels like "w_max = 1000". In ipywidgets' default 300 px a slider's
    # description (80 px) and track leave the readout ~74 px, so "w_max = 300" read "w_max = 3";
    # 380 px fit the longest label, and flex "0 0 auto" keeps the row from squeezing it back.
    setting = W.SelectionSlider(
        options=list(runs[names[0]]),
        value=middle(names[0]),
        description="setting",
        layout=W.Layout(width="380px", flex="0 0 auto"),
    )
    n = max(len(h.snapshots) for by in runs.values() for h in by.values())
    record = W.IntSlider(value=n - 1, min=0, max=n - 1, description="record", readout=False)

    def on_method(change):  # registered before the redraw observer, so it runs first
        setting.options = list(runs[change["new"]])
        setting.value = middle(change["new"])

    method.observe(on_method, names="value")

    def draw(fig, method, setting, record):
        by_setting = runs[method]
        history = by_setting.get(setting, by_setting[middle(method)])
        record = min(record, len(history.snapshots) - 1)
        step = history.steps[record]
        ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.2, 1])
        plot.decision_boundary(
            X, y, probs=history.snapshots[record], grid=history.grid, ax=ax1, curves=curves
        )
        ax1.set_title(f"{method}, {setting}, step {step}")
        present = [k for k in keys if k in history.logs] or ["loss"]
        plot.learning_curve(ax2, history, present, marker_step=step)

    widget = InteractiveFigure(
        draw, {"method": method, "setting": setting, "record": record}, figsize=(8.0, 3.4)
    )
    widget.runs = runs
    return widget


def sharpen_explorer(p, *, T: float = 0.5):
    """Chapter 06: a temperature slider over MixMatch's ``Sharpen(p, T)`` of one guess ``p``
    (drawn by :func:`course_lib.plot.sharpen_bars`)."""
    import torch

    from course_lib.methods.mixmatch import sharpen

    p = torch.as_tensor(p, dtype=torch.float32)
    slider = W.FloatSlider(value=T, min=0.05, max=2.0, step=0.05, description="T")

    def draw(fig, T):
        plot.sharpen_bars(fig.subplots(), p, sharpen(p, T), T)

    widget = InteractiveFigure(draw, {"T": slider}, figsize=(5.5, 3.0))
    widget.slider = slider
    return widget


def mixup_explorer(x1, c1: int, x2, c2: int, *, n_classes: int = 10, lam: float = 0.3):
    """Chapter 06: a slider over MixUp's ``lam`` mixing image ``x1`` (class ``c1``) with ``x2``
    (class ``c2``), as MixMatch does (drawn by :func:`course_lib.plot.mixup_panel`)."""
    import torch

    from course_lib.methods.mixmatch import mixup

    x1, x2 = (
        torch.as_tensor(x, dtype=torch.float32).reshape(1, 1, *x.shape[-2:]) for x in (x1, x2)
    )
    e1, e2 = torch.eye(n_classes)[[c1]], torch.eye(n_classes)[[c2]]
    slider = W.FloatSlider(value=lam, min=0.0, max=1.0, step=0.05, description="λ")

    def draw(fig, lam):
        xm, pm = mixup(x1, e1, x2, e2, torch.tensor([lam]))
        plot.mixup_panel(fig, x1, x2, xm, pm, lam, names=(f"x1 (a {c1})", f"x2 (a {c2})"))

    widget = InteractiveFigure(draw, {"lam": slider}, figsize=(8.0, 2.4))
    widget.slider = slider
    return widget


def tau_explorer(history, truth, *, tau: float = 0.95):
    """Chapter 06: replay a recorded FixMatch run for any threshold ``tau`` (the first and only
    slider): mask rate and accuracy of the kept pseudo-labels over training, and the final
    confidences (drawn by :func:`course_lib.plot.fixmatch_threshold`). ``history`` must come from
    ``fit(..., grid=X_unlabeled)``; ``truth`` are the true labels of those images."""
    if not history.snapshots:
        raise ValueError("history has no snapshots; train with fit(..., grid=X_unlabeled).")
    if len(truth) != len(history.snapshots[0]):
        raise ValueError(
            f"truth has {len(truth)} labels, the snapshots {len(history.snapshots[0])} images."
        )
    slider = W.FloatSlider(value=tau, min=0.5, max=0.99, step=0.01, description="τ")

    def draw(fig, tau):
        plot.fixmatch_threshold(fig, history.steps, history.snapshots, truth, tau)

    widget = InteractiveFigure(draw, {"tau": slider}, figsize=(9.0, 3.2))
    widget.slider = slider
    return widget


def threshold_explorer(histories, X, y, *, curves=None, value=None):
    """Chapter 05: a slider over Pseudo-Label's confidence threshold tau.

    ``histories``: ``{tau: History}`` recorded with a grid (``None``: the supervised run, drawn
    as the dashed reference), e.g. ``experiments.ch05_pseudo_labeling.histories(records)``.
    Each move redraws :func:`course_lib.plot.pseudo_label_thresholds`; nothing is trained.
    """
    taus = [t for t in histories if t is not None]
    if not taus:
        raise ValueError("histories holds no Pseudo-Label run (only tau None).")
    if value is not None and value not in taus:
        raise ValueError(f"value={value} is not one of the recorded thresholds {taus}.")
    slider = W.SelectionSlider(options=taus, value=taus[len(taus) // 2] if value is None else value)
    slider.description = "tau"

    def draw(fig, tau):
        plot.pseudo_label_thresholds(histories, tau, X, y, curves=curves, fig=fig)

    widget = InteractiveFigure(draw, {"tau": slider}, figsize=(10, 3.3))
    widget.slider = slider
    return widget


def rounds_player(rounds, images, masks, boxes, *, show=(0, 1, 2)):
    """Chapter 08: scrub the rounds of recursive training (``box2mask.recursive_training``).

    Stage r counts the rounds done: stage 0 shows the box labels (e.g. Box_i: red foreground,
    yellow ignore), stage r the denoised predictions of the r-th round, i.e. the labels of the next
    round; the true outline is cyan. Right: Dice of those labels and the test Dice of the r-th
    round's network, both at x = r (``plot.rounds_frame``). Nothing is retrained.
    """
    from course_lib._validation import check_not_empty

    check_not_empty(
        getattr(rounds, "labels", None),
        "rounds.labels",
        "pass the Rounds that box2mask.recursive_training returns (it records round 0 at least).",
    )
    check_not_empty(images, "images", "pass the training images the rounds were recorded on.")
    stages = [rounds.labels[0], *rounds.pseudo]
    slider = W.IntSlider(value=0, min=0, max=len(stages) - 1, description="round")
    label = W.Label()

    def draw(fig, stage):
        dice_lab = plot.rounds_frame(fig, rounds, images, masks, boxes, stage, show=show)
        what = "round-0 labels" if stage == 0 else f"labels after round {stage}"
        label.value = f"{what}: mean Dice of the training labels {dice_lab[stage]:.3f}"

    widget = InteractiveFigure(draw, {"stage": slider}, figsize=(9.5, 2.9))
    widget.ui.children = (*widget.ui.children, label)
    widget.slider, widget.label = slider, label
    return widget


def mixed_explorer(results, images, masks, *, show=(0, 1)):
    """Chapter 08: a slider over the fraction of images with full masks.

    ``results[f]`` holds ``"mixed"`` and ``"masks only"`` entries, each a pair (test Dice,
    predicted test masks), plus ``"cost"`` pairs (hours of annotation) for both; drawn from
    these precomputed runs: left, predictions of both trainings; right, Dice vs annotation cost.
    """
    from course_lib._validation import check_not_empty

    check_not_empty(
        results,
        "results",
        "pass one entry per fraction of masks (experiments.ch08_box_to_mask.mixed_results).",
    )
    check_not_empty(images, "images", "pass the test images the predictions were made on.")
    fractions = sorted(results)
    slider = W.SelectionSlider(options=fractions, value=fractions[len(fractions) // 2],
                               description="masks")  # fmt: skip

    def draw(fig, fraction):
        axes = fig.subplots(1, 2 * len(show) + 1, width_ratios=[1] * 2 * len(show) + [2.0])
        res = results[fraction]
        k = 0
        for name in ("mixed", "masks only"):
            dice, pred = res[name]
            for i in show:
                title = f"{name}: Dice {dice:.3f}" if i == show[0] else ""
                plot.label_overlay(
                    axes[k], images[i, 0], pred[i].astype(int), masks[i], None, title
                )
                k += 1
        ax = axes[-1]
        for j, name in enumerate(("mixed", "masks only")):
            cost = [results[f]["cost"][j] for f in fractions]
            dice = [results[f][name][0] for f in fractions]
            ax.plot(cost, dice, "o-", c=plot.CLASS_COLORS[j], label=name)
            ax.plot(res["cost"][j], res[name][0], "o", ms=11, mfc="none", c="k")
        ax.set_xlabel("annotation time (hours)")
        ax.set_ylabel("test Dice")
        ax.set_title(f"{fraction:.0%} of images with masks")
        ax.legend(loc="lower right")

    widget = InteractiveFigure(draw, {"fraction": slider}, figsize=(11.0, 2.9))
    widget.slider = slider
    return widget


def cam_explorer(maps, images, masks, boxes, *, class_names=None):
    """Chapter 07: image index, class and threshold -> class activation map, its box and IoU.

    ``maps`` is a dict class -> precomputed maps (N, H, W) of the same N images; ``boxes`` the
    true boxes (list of (k_i, 4) arrays). The box is :func:`course_lib.weak.cam.map_to_box` of
    the map at ``threshold`` x its maximum; nothing is recomputed by the network.
    """
    import numpy as np

    from course_lib import metrics
    from course_lib._validation import check_not_empty
    from course_lib.weak.cam import map_to_box

    check_not_empty(maps, "maps", "pass a dict class -> maps (N, H, W) of the same N images.")
    for c, class_maps in maps.items():
        check_not_empty(class_maps, f"maps[{c!r}]", "give every class one map per image.")
    check_not_empty(images, "images", "pass the images the maps were computed on.")
    classes = list(maps)
    names = class_names or {c: f"class {c}" for c in classes}
    n = len(next(iter(maps.values())))
    index = W.IntSlider(value=0, min=0, max=n - 1, description="image")
    cls = W.Dropdown(
        options=[(names[c], c) for c in classes], value=classes[-1], description="class"
    )
    threshold = W.FloatSlider(value=0.2, min=0.05, max=0.95, step=0.05, description="threshold")
    label = W.Label()

    def draw(fig, index, cls, threshold):
        axes = fig.subplots(1, 2)
        m = maps[cls][index]
        box = map_to_box(m, threshold)
        iou = float(metrics.best_box_iou(box[None], [boxes[index]])[0])
        plot.cam_box(axes[0], images[index, 0], masks[index], box)
        plot.cam_box(axes[1], images[index, 0], masks[index], box, cam_map=m, threshold=threshold)
        axes[0].set_title("image, lesion outline (cyan), box (red)", fontsize=9)
        axes[1].set_title(f"map of {names[cls]}, threshold {threshold:.0%}", fontsize=9)
        label.value = (
            f"IoU of the red box with the best true box: {iou:.2f}"
            if not np.isnan(iou)
            else "no lesion in this image"
        )

    widget = InteractiveFigure(
        draw, {"index": index, "cls": cls, "threshold": threshold}, figsize=(6.4, 3.4)
    )
    widget.ui.children = (*widget.ui.children, label)
    widget.label = label
    return widget


def selection_explorer(correct, n_vals=(10, 20, 50, 100, 200, 400), *, value=20, n_draws=2000,
                       seed=0):  # fmt: skip
    """Chapter 09: a slider over the validation size n_val -> ``plot.validation_noise``.

    ``correct`` (M candidate models, n held-out examples) says which example each model gets
    right. The validation accuracies are :func:`course_lib.evaluation.validation_draws` and
    P(pick the best) is :func:`course_lib.evaluation.selection_noise`, both with ``seed``:
    the numbers the chapter prints. Nothing is trained; draws are cached per ``n_val``.
    """
    import numpy as np

    from course_lib.evaluation import selection_noise, validation_draws

    n_vals = list(n_vals)
    true_acc = np.asarray(correct, dtype=bool).mean(1)
    p_best = [selection_noise(correct, n, n_draws, seed)["p_best"] for n in n_vals]
    slider = W.SelectionSlider(options=n_vals, value=value, description="n_val")

    @lru_cache(maxsize=32)
    def draws(n_val):
        return validation_draws(correct, n_val, n_draws, seed)

    def draw(fig, n_val):
        plot.validation_noise(fig, true_acc, draws(n_val), n_val, n_vals, p_best)

    widget = InteractiveFigure(draw, {"n_val": slider}, figsize=(8.0, 3.2))
    widget.slider = slider
    return widget


def nonadj_explorer(images, masks, segs: dict, allowed, *, n_forbidden=None):
    """Chapter 10: a slider over the test images -> ``plot.segmentation_row``.

    ``segs`` maps a training variant to its predicted test label maps (N, H, W), as recorded by
    ``experiments.ch10_medical_papers.nonadj`` (``"segmentation"``); ``n_forbidden`` maps it to
    the forbidden pairs per image. Nothing is recomputed by a network.
    """
    slider = W.IntSlider(value=0, min=0, max=len(masks) - 1, description="test image")

    def draw(fig, case):
        axes = fig.subplots(1, 2 + len(segs))
        counts = None if n_forbidden is None else {k: int(v[case]) for k, v in n_forbidden.items()}
        preds = {k: v[case] for k, v in segs.items()}
        plot.segmentation_row(axes, images[case, 0], masks[case], preds, allowed,
                              n_forbidden=counts)  # fmt: skip

    widget = InteractiveFigure(draw, {"case": slider}, figsize=(2.1 * (2 + len(segs)), 2.6))
    widget.slider = slider
    return widget
