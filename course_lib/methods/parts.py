"""The paper-independent parts that several methods share, written once.

- **ramp-ups** (chapter 03): :func:`sigmoid_rampup`, :func:`linear_rampup` and
  :func:`rampup_weight`, the weight w(t) of an unlabeled term over training (Π-model, Temporal
  Ensembling, Mean Teacher, entropy minimisation, MixMatch);
- **the exponential moving average of weights** (chapter 03, reused in chapter 06):
  :func:`ema_copy`, :func:`ema_decay` (its warm-up) and :func:`ema_update` -- Mean Teacher's
  teacher, FixMatch's evaluation model, the homework checker's reference;
- **the pseudo-label monitor** (chapter 05, reused in chapter 06): :class:`LabelMonitor`, which
  logs how accurate the pseudo-labels are against true labels the loss never sees;
- **BatchNorm statistics left alone** (chapter 03, reused in chapter 06):
  :func:`frozen_batchnorm_stats` -- VAT's adversarial passes, MixMatch's label guess.

A method imports them; it keeps what they build per run in fields declared
``field(default=None, init=False, repr=False, compare=False)``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor, nn

# --- ramp-ups ------------------------------------------------------------------------------------


def sigmoid_rampup(t: float) -> float:
    """exp(-5 (1 - t)^2) for t in [0, 1]: the ramp-up of Laine & Aila (2017), used by many papers.

    Equals exp(-5) ~ 0.0067 at t = 0 and 1 at t >= 1.
    """
    t = min(max(float(t), 0.0), 1.0)
    return math.exp(-5.0 * (1.0 - t) ** 2)


def linear_rampup(t: float) -> float:
    """min(t, 1) clipped to [0, 1] (MixMatch's lambda_u schedule)."""
    return min(max(float(t), 0.0), 1.0)


RAMPUPS = {"sigmoid": sigmoid_rampup, "linear": linear_rampup}


def rampup_weight(w_max: float, rampup: float, progress: float, shape: str = "sigmoid") -> float:
    """w(t) = w_max * r(t / rampup), constant w_max after the ramp-up.

    ``progress`` is the fraction t of training done; ``rampup`` the fraction spent ramping up
    (Laine & Aila ramp up over the first 80 of 300 epochs, rampup ~ 0.27); ``rampup = 0`` means
    no ramp-up. ``shape`` picks r: ``"sigmoid"`` exp(-5 (1 - x)^2) (:func:`sigmoid_rampup`) or
    ``"linear"`` min(x, 1) (:func:`linear_rampup`, MixMatch).
    """
    if shape not in RAMPUPS:
        raise ValueError(f"shape must be one of {sorted(RAMPUPS)}; got {shape!r}.")
    if rampup == 0:
        return float(w_max)
    return float(w_max) * RAMPUPS[shape](progress / rampup)


# --- exponential moving average of the weights ------------------------------------------------


def ema_copy(model: nn.Module) -> nn.Module:
    """theta'_0 = theta_0: a copy of ``model`` that receives no gradient, in evaluation mode."""
    averaged = copy.deepcopy(model).eval()
    averaged.requires_grad_(False)
    return averaged


def ema_decay(decay: float, step: int) -> float:
    """The warmed-up decay a_t = min(decay, 1 - 1 / (t + 1)) after optimiser step t = 0, 1, ...

    Early on the average is the plain mean of the weights seen so far (a_0 = 0: after the first
    step the average *is* the network), so a short run is not dominated by its random start.
    Counting: ``t`` is the index of the optimiser step just taken, from 0. The reference code of
    Mean Teacher counts ``global_step`` from 1 at that point, so its a_t is ours at t + 1: our
    warm-up is one step behind (a_0 = 0 here, 1/2 there). Past the warm-up both give ``decay``.
    """
    return min(decay, 1.0 - 1.0 / (step + 1))


@torch.no_grad()
def ema_update(averaged: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    """In place: theta' <- a_t theta' + (1 - a_t) theta with a_t = :func:`ema_decay` (decay, step).

    Mean Teacher's EMA (Tarvainen & Valpola 2017, Sect. 2; the paper does not number it).
    Buffers (BatchNorm running statistics) are copied from ``model``, not averaged, as in the
    reference code of Mean Teacher and FixMatch.
    """
    a = ema_decay(decay, step)
    for p_avg, p in zip(averaged.parameters(), model.parameters(), strict=True):
        p_avg.mul_(a).add_(p.detach(), alpha=1.0 - a)  # theta' <- a theta' + (1 - a) theta
    for b_avg, b in zip(averaged.buffers(), model.buffers(), strict=True):
        b_avg.copy_(b)


# --- the pseudo-label monitor --------------------------------------------------------------------


def check_monitor_labels(y_monitor, n: int) -> Tensor | None:
    """Turn ``y_monitor`` (true labels of the whole training set) into a tensor, or None."""
    if y_monitor is None:
        return None
    y = np.asarray(y_monitor)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(
            f"y_monitor must hold one true label per training example ({n}); got shape {y.shape}."
        )
    return torch.as_tensor(y.astype(np.int64))


def monitor_numbers(y_hat: Tensor, mask: Tensor, y_true: Tensor | None) -> dict[str, float]:
    """Logged numbers about the pseudo-labels of one batch.

    ``mask_rate``: fraction kept; with the true labels (for monitoring only):
    ``pl_acc``: accuracy of all arg-max guesses, ``mask_correct``: fraction of the batch that
    is kept *and* correct (so ``mask_correct / mask_rate`` is the accuracy of the kept ones).
    """
    numbers = {"mask_rate": mask.mean().item()}
    if y_true is not None:
        correct = (y_hat == y_true).to(mask.dtype)
        numbers["pl_acc"] = correct.mean().item()
        numbers["mask_correct"] = (correct * mask).mean().item()
    return numbers


class LabelMonitor:
    """How good are the pseudo-labels? True labels held apart from the loss, for logging only.

    ``LabelMonitor(y_monitor, n, device)`` checks and keeps one true label per training example
    (``y_monitor=None``: no labels, only the mask rate is logged). ``monitor(y_hat, mask, idx)``
    returns :func:`monitor_numbers` of the batch whose examples are ``idx``.
    """

    def __init__(self, y_monitor=None, n: int = 0, device: torch.device | str = "cpu"):
        y = check_monitor_labels(y_monitor, n)
        self.y_true = None if y is None else y.to(device)

    def __call__(self, y_hat: Tensor, mask: Tensor, idx: Tensor) -> dict[str, float]:
        y_true = None if self.y_true is None else self.y_true[idx]
        return monitor_numbers(y_hat, mask, y_true)


# --- BatchNorm statistics ---------------------------------------------------------------------


@contextmanager
def frozen_batchnorm_stats(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block, BatchNorm layers use batch statistics but do not update their running
    mean/variance (the adversarial passes must not pollute them). Always restored on exit."""
    layers = [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]
    for m in layers:
        m.track_running_stats = False
    try:
        yield model
    finally:
        for m in layers:
            m.track_running_stats = True
