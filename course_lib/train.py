"""The one training engine of the course.

Every trainer -- ``fit`` for the classification methods, the segmentation trainer of chapter 08,
the two papers' trainers of chapter 10 -- is a thin front that checks its data, builds the loss
of one step and hands it to the same three pieces:

- :func:`prepare`: seed every generator, choose the device (``course_lib.device``), move the model;
- :func:`minimize`: AdamW, optional cosine schedule, the loop (:func:`optimize`: progress bar,
  finite-loss check, recording) -> :class:`History`;
- :func:`predict` / :func:`predict_proba` inside :func:`evaluating`: outputs in evaluation mode,
  the previous mode always restored.

So seeding, devices, the progress bar and the recordings that the widgets scrub through are
written once.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import math
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from course_lib import device as pick_device
from course_lib import seed_everything
from course_lib._validation import (
    check_labeled_classes,
    check_number,
    check_positive_int,
    check_seed,
    check_X,
    check_y,
)
from course_lib.methods.base import Batch, Method, TrainData


@dataclass
class History:
    """What a training run logged: every trainer of the course returns one.

    ``h["loss"]`` is a column as an array (``h["step"]`` the steps), ``h.last("loss")`` its last
    logged value. The record of step 0 is taken before training and holds no loss (NaN), so the
    loss of each step of a run recorded every step is ``h["loss"][1:]``.

    Attributes
    ----------
    steps : list of int
        The optimiser step of each record (0 = before training).
    logs : dict of str -> list of float
        Logged numbers aligned with ``steps`` (losses averaged since the previous record,
        ``eval_acc`` / ``eval_dice`` when evaluation data were given, and whatever the loss
        logs).
    grid : array (G, d) or None
        The points on which predictions were recorded.
    snapshots : list of arrays (G, n_classes)
        Predicted probabilities on ``grid`` at each record, when a grid was given.
    seconds : float
        Wall-clock training time.
    """

    steps: list[int] = field(default_factory=list)
    logs: dict[str, list[float]] = field(default_factory=dict)
    grid: np.ndarray | None = None
    snapshots: list[np.ndarray] = field(default_factory=list)
    seconds: float = 0.0

    def __getitem__(self, key: str) -> np.ndarray:
        if key == "step":
            return np.asarray(self.steps)
        if key not in self.logs:
            raise KeyError(f"{key!r} was not logged; available: {sorted(self.logs)}")
        return np.asarray(self.logs[key], dtype=float)

    def __len__(self) -> int:
        return len(self.steps)

    def keys(self) -> list[str]:
        return sorted(self.logs)

    def last(self, key: str) -> float:
        values = [v for v in self.logs.get(key, []) if not math.isnan(v)]
        if not values:
            raise KeyError(f"{key!r} has no logged value.")
        return values[-1]

    def _append(self, step: int, numbers: dict[str, float]) -> None:
        n_before = len(self.steps)
        self.steps.append(step)
        for key in set(self.logs) | set(numbers):
            column = self.logs.setdefault(key, [math.nan] * n_before)
            column.append(float(numbers.get(key, math.nan)))


class IndexStream:
    """Endless mini-batches of indices: successive chunks of fresh random permutations.

    Every index appears once per pass (sampling without replacement within a pass); ``passes``
    counts the permutations drawn. Used by ``fit`` and by the other training loops of the course.
    """

    def __init__(self, indices: torch.Tensor, batch_size: int, generator: torch.Generator):
        self.indices, self.batch_size, self.gen = indices, batch_size, generator
        self.buffer = indices[:0]
        self.passes = 0

    def next(self) -> torch.Tensor:
        while self.buffer.numel() < self.batch_size:
            perm = self.indices[torch.randperm(self.indices.numel(), generator=self.gen)]
            self.buffer = torch.cat([self.buffer, perm])
            self.passes += 1
        out, self.buffer = self.buffer[: self.batch_size], self.buffer[self.batch_size :]
        return out


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block ``model`` is in evaluation mode (no dropout, BatchNorm's running
    statistics); on leaving it, also after an exception, every submodule is back in the mode
    it had before (a frozen BatchNorm inside a training model stays frozen)."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


@contextmanager
def training(model: nn.Module) -> Iterator[nn.Module]:
    """The twin of :func:`evaluating`: within the block ``model`` is in training mode (dropout
    on, BatchNorm on batch statistics: e.g. to draw stochastic predictions); on leaving it, also
    after an exception, every submodule is back in the mode it had before."""
    modes = [(m, m.training) for m in model.modules()]
    model.train()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


PREDICT_VALUES = 2**18
"""Input values per forward pass of :func:`predict` by default (1 MB of float32)."""


@torch.no_grad()
def predict(
    model: nn.Module,
    X,
    *,
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
    batch_size: int | None = None,
    device=None,
) -> np.ndarray:
    """Outputs of ``model`` on ``X``, batch by batch, in evaluation mode, as a NumPy array.

    Parameters
    ----------
    model : nn.Module
        Put in evaluation mode for the call (:func:`evaluating`), its mode restored after.
    X : array (n, ...)
        Inputs, converted to float32.
    forward : callable, optional
        Tensor batch -> Tensor of outputs; default ``model`` itself (logits, embeddings).
        E.g. ``lambda x: model(x).argmax(1)`` for label maps.
    batch_size : int, optional
        Examples per forward pass (memory only: the outputs do not depend on it). Default: as
        many as hold :data:`PREDICT_VALUES` input values (64 images of 64 x 64, 334 of 28 x 28,
        all of a 2-D point cloud up to 131,072 points). A network's activations are its input
        times its channels: 256 images of 64 x 64 through chapter 08's U-Net took 240 MB more
        kernel memory than 32 (issue 19's 700-MB limit per chapter).
    device : str or torch.device, optional
        Where to compute; default the device of the model's parameters.
    """
    forward = model if forward is None else forward
    dev = next(model.parameters()).device if device is None else pick_device(device)
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    if batch_size is None:
        batch_size = max(1, PREDICT_VALUES // max(1, math.prod(X.shape[1:])))
    batch_size = check_positive_int(batch_size, "batch_size")
    with evaluating(model):
        out = [
            forward(X[i : i + batch_size].to(dev)).cpu() for i in range(0, X.shape[0], batch_size)
        ]
    return torch.cat(out).numpy()


def predict_proba(model: nn.Module, X, *, batch_size: int | None = None, device=None) -> np.ndarray:
    """Softmax probabilities (n, C) of ``model`` on ``X`` in evaluation mode (:func:`predict`)."""
    return predict(
        model,
        X,
        forward=lambda x: torch.softmax(model(x), dim=1),
        batch_size=batch_size,
        device=device,
    )


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None off glibc (macOS, Windows, musl)."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_memory() -> None:
    """Hand the memory Python and NumPy have freed back to the operating system (glibc only).

    glibc keeps freed blocks below 32 MB for reuse, so a kernel's resident memory only grows:
    the temporary arrays of a data generator or of the previous training stay counted against a
    JupyterHub/Binder memory limit. Called before every training (:func:`prepare`); in chapter
    08's kernel it returned 70-95 MB each time (issue 19: <= 700 MB per chapter).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def prepare(model: nn.Module, *, seed: int, device=None) -> torch.device:
    """The first lines of every trainer: seed Python, NumPy and torch with ``seed``, choose the
    device (``course_lib.device(device)``: cuda > mps > cpu by default) and move ``model`` there.
    Returns the device, on which the trainer then puts its data. Freed memory goes back to the
    operating system first (:func:`release_memory`)."""
    release_memory()
    seed_everything(check_seed(seed, "seed"))
    dev = pick_device(device)
    model.to(dev)
    return dev


def minimize(
    model: nn.Module,
    step_loss: Callable[[int], tuple[torch.Tensor, dict[str, float]]],
    steps: int,
    *,
    lr: float,
    weight_decay: float = 0.0,
    params: Iterable[nn.Parameter] | None = None,
    cosine: bool = False,
    record_every: int | None = None,
    evaluate: Callable[[], dict[str, float]] | None = None,
    after_step: Callable[[int], None] | None = None,
    history: History | None = None,
    name: str = "training",
    progress: bool | None = None,
) -> History:
    """Minimise ``step_loss`` for ``steps`` AdamW steps and return the :class:`History`.

    Parameters
    ----------
    model : nn.Module
        The network, already on its device (:func:`prepare`).
    step_loss : callable
        ``step -> (loss, logs)``: draws the batch of that step and returns the scalar loss and a
        few numbers to log.
    steps : int
        Number of optimiser steps.
    lr, weight_decay : float
        AdamW's learning rate and decoupled weight decay (0: the update is Adam's).
    params : iterable of parameters, optional
        What to optimise; default ``model.parameters()``.
    cosine : bool
        Decay the learning rate from ``lr`` to 0 along a half cosine (Loshchilov & Hutter, 2017).
    record_every : int, optional
        Record every that many steps (and once before the first); default ``steps // 20``.
    evaluate : callable, optional
        ``() -> dict`` of numbers measured at each record (e.g. held-out accuracy).
    after_step : callable, optional
        ``step -> None`` after each optimiser step (e.g. an EMA update).
    history : History, optional
        Append to this record (e.g. one made with a ``grid``); default a new one.
    name, progress :
        The progress bar's label, and whether to show it (default: :func:`show_progress`).

    Returns
    -------
    History
        ``loss`` and the logged numbers averaged since the previous record, the numbers of
        ``evaluate``, and the training time. The record of step 0 holds no loss (NaN).
    """
    steps = check_positive_int(steps, "steps")
    check_number(lr, "lr", low=0.0, low_inclusive=False)
    check_number(weight_decay, "weight_decay", low=0.0)
    record_every = (
        max(1, steps // 20)
        if record_every is None
        else check_positive_int(record_every, "record_every")
    )
    params = list(model.parameters()) if params is None else list(params)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if cosine else None
    history = History() if history is None else history

    def record(step: int, sums: dict[str, float], count: int) -> None:
        numbers = {k: v / max(count, 1) for k, v in sums.items()}  # means since the last record
        if evaluate is not None:
            numbers.update(evaluate())
        history._append(step, numbers)

    history.seconds = optimize(
        model,
        opt,
        step_loss,
        steps,
        record=record,
        record_every=record_every,
        name=name,
        progress=progress,
        after_step=after_step,
        schedule=schedule,
    )
    return history


def fit(
    model: nn.Module,
    method: Method,
    X,
    y,
    *,
    steps: int = 500,
    batch_size: int = 32,
    unlabeled_batch_size: int | None = None,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    n_classes: int | None = None,
    seed: int = 0,
    device=None,
    record_every: int | None = None,
    grid=None,
    X_eval=None,
    y_eval=None,
    progress: bool | None = None,
) -> History:
    """Train ``model`` in place with ``method`` for ``steps`` optimiser steps (AdamW).

    The front of the engine for classification: it draws the labeled and unlabeled mini-batches
    (:class:`IndexStream`), wraps them in a :class:`~course_lib.methods.Batch` for
    ``method.loss`` and records held-out accuracy; :func:`prepare` and :func:`minimize` do the rest.
    After training, the model and ``method.eval_model(model)`` are in evaluation mode.

    Parameters
    ----------
    model : nn.Module
        Maps a batch of inputs to logits. Moved to the chosen device.
    method : Method
        Supplies the loss of each mini-batch (see ``course_lib.methods``).
    X : array (n, ...)
        All training inputs, labeled and unlabeled.
    y : array (n,)
        Labels in 0..C-1, and -1 for unlabeled examples.
    steps : int
        Number of optimiser steps.
    batch_size : int
        Labeled examples per step (drawn without replacement within a pass).
    unlabeled_batch_size : int, optional
        Examples per step in the unlabeled stream; default ``method.mu * batch_size``.
    lr, weight_decay : float
        Adam's learning rate and (decoupled, AdamW) weight decay.
    n_classes : int, optional
        Number of classes; default ``max(y) + 1``. Must equal the number of logits the model
        outputs (checked on two examples before training).
    seed : int in [0, 2**32 - 1]
        Seeds sampling and every random operation of the method (augmentation, dropout).
    device : str or torch.device, optional
        Default ``course_lib.device()``: cuda > mps > cpu.
    record_every : int, optional
        Log (and snapshot the grid) every that many steps; default ``steps // 20``.
    grid : array (G, d), optional
        Points on which to record predicted probabilities at each record (for the widgets).
    X_eval, y_eval : arrays, optional
        Held-out data; its accuracy is logged as ``eval_acc``.
    progress : bool, optional
        Show a tqdm progress bar; default :func:`show_progress` (on, except where
        ``COURSE_PROGRESS=0``, as in the test suite). It appears only for runs longer than
        ``PROGRESS_DELAY`` seconds, so quick fits inside a loop leave no trace.

    Returns
    -------
    History
    """
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed, "seed")
    if not isinstance(method, Method):
        raise ValueError(f"method must be a course_lib Method; got {type(method).__name__}.")
    method.validate()
    X_np = check_X(X)
    y_np = check_y(y, X_np.shape[0])
    check_labeled_classes(y_np)
    n_classes_given = n_classes is not None
    if n_classes is None:
        n_classes = int(y_np.max()) + 1
    else:
        n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
        if y_np.max() >= n_classes:
            raise ValueError(
                f"y has label {y_np.max()} but n_classes={n_classes}: labels must lie in "
                f"0..{n_classes - 1} (-1 = unlabeled); map them to 0..C-1 or raise n_classes."
            )
    mu = check_positive_int(getattr(method, "mu", 1), "mu")
    b_u = unlabeled_batch_size if unlabeled_batch_size is not None else mu * batch_size
    b_u = check_positive_int(b_u, "unlabeled_batch_size")
    if X_eval is not None:
        X_eval = check_X(X_eval, name="X_eval")
        y_eval = check_y(y_eval, X_eval.shape[0], name="y_eval", allow_unlabeled=False)
    if grid is not None:
        grid = check_X(grid, name="grid")

    dev = prepare(model, seed=seed, device=device)
    _check_outputs(model, X_np[:2], n_classes, dev, given=n_classes_given)
    _check_augmentations(method, X_np[:2])
    Xt = torch.as_tensor(X_np, device=dev)
    yt = torch.as_tensor(y_np, device=dev)
    labeled = torch.nonzero(torch.as_tensor(y_np) != -1).flatten()
    gen = torch.Generator().manual_seed(seed)
    stream_l = IndexStream(labeled, batch_size, gen)
    stream_u = IndexStream(torch.arange(X_np.shape[0]), b_u, gen) if method.uses_unlabeled else None
    steps_per_epoch = max(1, math.ceil(X_np.shape[0] / b_u))
    method.setup(model, TrainData(Xt, yt, n_classes, steps, steps_per_epoch))
    history = History(grid=grid)
    empty = Xt[:0]

    def step_loss(step: int) -> tuple[torch.Tensor, dict[str, float]]:
        idx_l = stream_l.next().to(dev)
        if stream_u is not None:
            idx_u = stream_u.next().to(dev)
            epoch = stream_u.passes - 1
        else:
            idx_u, epoch = labeled[:0].to(dev), stream_l.passes - 1
        batch = Batch(
            x_l=Xt[idx_l],
            y_l=yt[idx_l],
            idx_l=idx_l,
            x_u=Xt[idx_u] if stream_u is not None else empty,
            idx_u=idx_u,
            step=step,
            steps=steps,
            epoch=epoch,
        )
        return method.loss(model, batch)

    def evaluate() -> dict[str, float]:
        net = method.eval_model(model)
        if grid is not None:
            history.snapshots.append(predict_proba(net, grid, device=dev))
        if X_eval is None:
            return {}
        pred = predict_proba(net, X_eval, device=dev).argmax(1)
        return {"eval_acc": float((pred == y_eval).mean())}

    minimize(
        model,
        step_loss,
        steps,
        lr=lr,
        weight_decay=weight_decay,
        params=list(model.parameters()) + list(method.extra_parameters()),
        record_every=record_every,
        evaluate=evaluate,
        after_step=lambda step: method.after_step(model, step),
        history=history,
        name=method.name,
        progress=progress,
    )
    method.eval_model(model).eval()  # Mean Teacher's teacher ran in training mode for its targets
    return history


def _check_outputs(model: nn.Module, x: np.ndarray, n_classes: int, dev, *, given: bool) -> None:
    """One forward pass on two examples, in evaluation mode and without gradient (so no
    BatchNorm statistic, dropout mask or random number is touched): the network must give
    ``n_classes`` logits per example."""
    with torch.no_grad(), evaluating(model):
        out = model(torch.as_tensor(x, device=dev))
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"model must map a batch (N, ...) to logits (N, n_classes); it returned {shape}."
        )
    if out.shape[1] != n_classes:
        where = f"n_classes={n_classes}" if given else f"y has labels up to {n_classes - 1}"
        raise ValueError(
            f"model outputs {out.shape[1]} logits per example but {where}: build the network "
            f"with {n_classes} outputs, or keep the labels in 0..{out.shape[1] - 1}."
        )


def _check_augmentations(method: Method, x: np.ndarray) -> None:
    """Call each augmentation the method holds (its callable fields: ``augment``, ``weak``,
    ``strong``) on two training examples and check that it returns a tensor of their shape.

    Every random generator (Python, NumPy, torch's CPU generator) is restored afterwards, so the
    probe changes no number of the run."""
    batch = torch.as_tensor(x)
    for f in dataclasses.fields(method) if dataclasses.is_dataclass(method) else ():
        aug = getattr(method, f.name)
        if not f.init or not callable(aug) or isinstance(aug, (type, nn.Module, Method)):
            continue
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                out = aug(batch.clone())
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
        label = f"{method.name}.{f.name}"
        if not isinstance(out, torch.Tensor):
            raise ValueError(
                f"the augmentation {label} returned a {type(out).__name__}; it must return a "
                "torch Tensor (wrap NumPy code as torch.as_tensor(result, dtype=x.dtype, "
                "device=x.device))."
            )
        if out.shape != batch.shape:
            raise ValueError(
                f"the augmentation {label} turned a batch of shape {tuple(batch.shape)} into "
                f"{tuple(out.shape)}; it must keep the shape of its input (for points use "
                "augment.GaussianNoise, for images (N, C, H, W) augment.weak or augment.strong)."
            )


PROGRESS_ENV = "COURSE_PROGRESS"
PROGRESS_DELAY = 2.0  # seconds before a bar appears: a cell that trains for a while shows one


def show_progress() -> bool:
    """The course's default for progress bars: on, unless ``COURSE_PROGRESS=0`` (the test suite
    and nbval set it, so that no bar lands in a test's output or on stderr)."""
    return os.environ.get(PROGRESS_ENV, "1").strip() not in ("0", "false", "no", "off")


def optimize(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    step_loss: Callable[[int], tuple[torch.Tensor, dict[str, float]]],
    steps: int,
    *,
    record: Callable[[int, dict[str, float], int], None],
    record_every: int,
    name: str = "training",
    progress: bool | None = None,
    after_step: Callable[[int], None] | None = None,
    schedule: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> float:
    """The optimisation loop every trainer of the course shares; returns the seconds it took.

    Each step: ``loss, logs = step_loss(step)`` (the caller draws its batch there), a check that
    the loss is finite, one ``opt`` step, ``after_step(step)`` (e.g. Mean Teacher's EMA), then the
    learning-rate ``schedule``. The loss and the logs are summed over ``record_every`` steps and
    handed to ``record(step, sums, count)`` (sums / count is the mean; also called once before the
    first step, with nothing). The model is in training mode during the loop and in evaluation
    mode after it. Inside an experiment's bar (:func:`progress_bar`, :func:`track`) a loop with
    ``progress=None`` draws no bar of its own: it shows its step in that bar's postfix.
    """
    steps = check_positive_int(steps, "steps")
    record_every = check_positive_int(record_every, "record_every")
    bar = None
    # inside an experiment's bar (progress_bar, track) a fit shows its steps as that bar's postfix
    outer = _current_runs() if progress is None else None
    if outer is None and (show_progress() if progress is None else progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=name, leave=False, delay=PROGRESS_DELAY)
    start = time.perf_counter()
    record(0, {}, 0)
    sums: dict[str, float] = {}
    count = 0
    model.train()
    try:
        for step in range(steps):
            loss, logs = step_loss(step)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the {name} loss became {loss.item()} at step {step}; "
                    "lower lr or check the method's hyper-parameters."
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if after_step is not None:
                after_step(step)
            if schedule is not None:
                schedule.step()
            sums["loss"] = sums.get("loss", 0.0) + loss.item()
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            count += 1
            if (step + 1) % record_every == 0 or step + 1 == steps:
                record(step + 1, sums, count)
                sums, count = {}, 0
            if bar is not None:
                bar.update(1)
            elif outer is not None:
                outer.note(f"{name} {step + 1}/{steps}")
    finally:
        if bar is not None:
            bar.close()
    model.eval()
    return time.perf_counter() - start


# --- progress over the runs of an experiment (issue 19: cells made of many short fits) ----------

_OPEN_RUNS: list[Runs] = []  # the experiments running now, outermost first


class Runs:
    """The progress of one experiment: a tqdm bar with one tick per run (a fit of a sweep, a
    label draw of a notebook cell), made by :func:`progress_bar` or :func:`track`.

    A sweep of many short fits shows no per-fit bar (each fit ends before ``PROGRESS_DELAY``);
    this bar counts the fits instead, with the same rules: on unless ``COURSE_PROGRESS=0``,
    drawn only once the experiment has run ``PROGRESS_DELAY`` seconds. Bars never nest: only
    the outermost experiment draws one; an experiment started inside it and every fit of the
    engine (:func:`optimize`) show where they are as its postfix instead, e.g.
    ``label draws: 40%|████      | 2/5 [..., compare 7/12 · VAT 120/200]``.
    """

    def __init__(self, total: int | None, desc: str, *, show: bool, parent: Runs | None = None):
        self.total, self.desc, self.parent, self.n = total, desc, parent, 0
        self.bar = None
        if show and parent is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, leave=False, delay=PROGRESS_DELAY)
        self._start = self._shown = time.perf_counter()

    def __str__(self) -> str:
        return f"{self.desc} {self.n}/{self.total}" if self.total else f"{self.desc} {self.n}"

    def advance(self, n: int = 1) -> None:
        """``n`` more runs are done."""
        self.n += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.parent is not None:
            self.parent.note(str(self))

    def note(self, text: str) -> None:
        """Show ``text`` (what runs inside the current run) as the bar's postfix; at most five
        redraws a second, and none before the bar's delay."""
        if self.parent is not None:
            self.parent.note(f"{self} · {text}")
            return
        now = time.perf_counter()
        if self.bar is None or now - self._start < PROGRESS_DELAY or now - self._shown < 0.2:
            return
        self._shown = now
        self.bar.set_postfix_str(text, refresh=False)
        self.bar.refresh()


def _current_runs() -> Runs | None:
    """The innermost experiment running now (:func:`optimize` reports to it), or None."""
    return _OPEN_RUNS[-1] if _OPEN_RUNS else None


@contextmanager
def progress_bar(total: int | None, desc: str, *, progress: bool | None = None) -> Iterator[Runs]:
    """``with progress_bar(n_fits, "compare") as runs:`` ... ``runs.advance()`` after each fit.

    The bar of an experiment made of several runs (see :class:`Runs`). ``progress``: show it;
    default :func:`show_progress`. ``progress=False`` silences the experiment and the fits in
    it; inside another experiment the bar is that one's postfix.
    """
    parent = _current_runs() if progress is not False else None
    show = show_progress() if progress is None else progress
    runs = Runs(total, desc, show=show, parent=parent)
    _OPEN_RUNS.append(runs)
    try:
        yield runs
    finally:
        _OPEN_RUNS.remove(runs)
        if runs.bar is not None:
            runs.bar.close()


def track(iterable, desc: str, *, total: int | None = None, progress: bool | None = None):
    """``iterable``, item by item, under a :func:`progress_bar` that ticks once per item: one
    bar for a notebook cell that loops over label draws, e.g.
    ``[r for seed in track(range(5), "label draws") for r in sweep(NOTEBOOK, seed)]``."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    with progress_bar(total, desc, progress=progress) as runs:
        for item in iterable:
            yield item
            runs.advance()
