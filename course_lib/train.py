"""The one training loop of the course: ``fit(model, method, X, y, steps)`` -> ``History``.

Every deep method of every chapter trains through this function, so seeding, devices, the
progress bar and the recordings that the widgets scrub through are written once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
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
    check_X,
    check_y,
)
from course_lib.methods.base import Batch, Method, TrainData


@dataclass
class History:
    """What a training run logged.

    Attributes
    ----------
    steps : list of int
        The optimiser step of each record (0 = before training).
    logs : dict of str -> list of float
        Logged numbers aligned with ``steps`` (losses averaged since the previous record,
        ``eval_acc`` when evaluation data were given, and whatever the method logs).
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


@torch.no_grad()
def predict_proba(model: nn.Module, X, *, batch_size: int = 4096, device=None) -> np.ndarray:
    """Softmax probabilities of ``model`` on ``X`` (evaluation mode), as a NumPy array."""
    dev = next(model.parameters()).device if device is None else torch.device(device)
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    was_training = model.training
    model.eval()
    try:
        out = [
            torch.softmax(model(X[i : i + batch_size].to(dev)), dim=1).cpu()
            for i in range(0, X.shape[0], batch_size)
        ]
    finally:
        model.train(was_training)
    return torch.cat(out).numpy()


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
    progress: bool = True,
) -> History:
    """Train ``model`` in place with ``method`` for ``steps`` optimiser steps (Adam).

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
        Number of classes; default ``max(y) + 1``.
    seed : int
        Seeds sampling and every random operation of the method (augmentation, dropout).
    device : str or torch.device, optional
        Default ``course_lib.device()``: cuda > mps > cpu.
    record_every : int, optional
        Log (and snapshot the grid) every that many steps; default ``steps // 20``.
    grid : array (G, d), optional
        Points on which to record predicted probabilities at each record (for the widgets).
    X_eval, y_eval : arrays, optional
        Held-out data; its accuracy is logged as ``eval_acc``.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    History
    """
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    check_number(lr, "lr", low=0.0, low_inclusive=False)
    check_number(weight_decay, "weight_decay", low=0.0)
    if not isinstance(method, Method):
        raise ValueError(f"method must be a course_lib Method; got {type(method).__name__}.")
    method.validate()
    X_np = check_X(X)
    y_np = check_y(y, X_np.shape[0])
    check_labeled_classes(y_np)
    if n_classes is None:
        n_classes = int(y_np.max()) + 1
    elif y_np.max() >= n_classes:
        raise ValueError(f"y has label {y_np.max()} but n_classes={n_classes}.")
    mu = check_positive_int(getattr(method, "mu", 1), "mu")
    b_u = unlabeled_batch_size if unlabeled_batch_size is not None else mu * batch_size
    b_u = check_positive_int(b_u, "unlabeled_batch_size")
    record_every = (
        max(1, steps // 20)
        if record_every is None
        else check_positive_int(record_every, "record_every")
    )
    if X_eval is not None:
        X_eval = check_X(X_eval, name="X_eval")
        y_eval = check_y(y_eval, X_eval.shape[0], name="y_eval", allow_unlabeled=False)
    if grid is not None:
        grid = check_X(grid, name="grid")

    seed_everything(seed)
    dev = pick_device(device) if not isinstance(device, torch.device) else device
    model.to(dev)
    Xt = torch.as_tensor(X_np, device=dev)
    yt = torch.as_tensor(y_np, device=dev)
    labeled = torch.nonzero(torch.as_tensor(y_np) != -1).flatten()
    gen = torch.Generator().manual_seed(seed)
    stream_l = IndexStream(labeled, batch_size, gen)
    stream_u = IndexStream(torch.arange(X_np.shape[0]), b_u, gen) if method.uses_unlabeled else None
    steps_per_epoch = max(1, math.ceil(X_np.shape[0] / b_u))
    method.setup(model, TrainData(Xt, yt, n_classes, steps, steps_per_epoch))
    params = list(model.parameters()) + list(method.extra_parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)

    history = History(grid=grid)
    empty = Xt[:0]

    def record(step: int, sums: dict[str, float], count: int) -> None:
        numbers = {k: v / max(count, 1) for k, v in sums.items()}
        net = method.eval_model(model)
        if X_eval is not None:
            pred = predict_proba(net, X_eval, device=dev).argmax(1)
            numbers["eval_acc"] = float((pred == y_eval).mean())
        history._append(step, numbers)
        if grid is not None:
            history.snapshots.append(predict_proba(net, grid, device=dev))

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

    history.seconds = optimize(
        model,
        opt,
        step_loss,
        steps,
        record=record,
        record_every=record_every,
        name=method.name,
        progress=progress,
        after_step=lambda step: method.after_step(model, step),
    )
    return history


def optimize(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    step_loss: Callable[[int], tuple[torch.Tensor, dict[str, float]]],
    steps: int,
    *,
    record: Callable[[int, dict[str, float], int], None],
    record_every: int,
    name: str = "training",
    progress: bool = True,
    after_step: Callable[[int], None] | None = None,
    schedule: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> float:
    """The optimisation loop every trainer of the course shares; returns the seconds it took.

    Each step: ``loss, logs = step_loss(step)`` (the caller draws its batch there), a check that
    the loss is finite, one ``opt`` step, ``after_step(step)`` (e.g. Mean Teacher's EMA), then the
    learning-rate ``schedule``. The loss and the logs are summed over ``record_every`` steps and
    handed to ``record(step, sums, count)`` (sums / count is the mean; also called once before the
    first step, with nothing). The model is in training mode during the loop and in evaluation
    mode after it.
    """
    steps = check_positive_int(steps, "steps")
    record_every = check_positive_int(record_every, "record_every")
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=name, leave=False)
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
    finally:
        if bar is not None:
            bar.close()
    model.eval()
    return time.perf_counter() - start
