"""Pseudo-Label (Lee, 2013): train on the network's own confident guesses for unlabeled data.

D.-H. Lee, "Pseudo-Label: The Simple and Efficient Semi-Supervised Learning Method for Deep
Neural Networks", ICML 2013 Workshop on Challenges in Representation Learning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from course_lib._validation import check_number
from course_lib.methods.base import Batch, Method, TrainData, cross_entropy

# the monitor's helpers live in parts.py; these imports keep their old path working
from course_lib.methods.parts import LabelMonitor
from course_lib.methods.parts import check_monitor_labels as check_monitor_labels
from course_lib.methods.parts import monitor_numbers as monitor_numbers


def pseudo_labels(logits: Tensor, tau: float) -> tuple[Tensor, Tensor]:
    """Hard pseudo-labels and their confidence mask.

    y_hat = argmax_k p_k(x) and mask = [max_k p_k(x) >= tau], with p = softmax(logits)
    computed without gradient (Lee's Eq. 1: the label is a target, not a function of theta).
    Returns ``(y_hat, mask)`` with ``mask`` as a float tensor of 0/1.
    """
    probs = torch.softmax(logits.detach(), dim=1)
    confidence, y_hat = probs.max(dim=1)
    return y_hat, (confidence >= tau).to(logits.dtype)


def masked_cross_entropy(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """(1/|B|) sum_b mask_b * CE(logits_b, targets_b): averaged over the *whole* batch, so
    a low mask rate also lowers the weight of the unlabeled term (as in FixMatch's Eq. 4)."""
    if logits.shape[0] == 0:
        return logits.sum() * 0.0
    ce = nn.functional.cross_entropy(logits, targets, reduction="none")
    return (ce * mask).mean()


@dataclass
class PseudoLabel(Method):
    r"""Pseudo-Label (Lee, 2013) with a confidence threshold and a warm-up of its weight.

    For each unlabeled x the current network's guess is used as a hard target when the network
    is confident enough:

    .. math::
        \hat y = \arg\max_k f_k(x), \qquad
        L = \frac{1}{|B_l|}\sum_{B_l} \mathrm{CE}(y, f(x))
            + \alpha(t)\, \frac{1}{|B_u|}\sum_{B_u} [\max_k f_k(x) \ge \tau]\,
              \mathrm{CE}(\hat y, f(x))

    with Lee's Eq. 16 schedule alpha(t) = alpha_f (t - T1)/(T2 - T1) between T1 and T2
    (here fractions of training ``t1``, ``t2``), 0 before and alpha_f after.

    Parameters
    ----------
    lambda_u : float
        alpha_f, the final weight of the pseudo-label term (Lee used 3).
    tau : float in (0, 1]
        Confidence threshold; Lee's original uses every guess (tau -> 0 in effect; tau = 1/C
        keeps all). Higher tau keeps fewer, more accurate pseudo-labels.
    t1, t2 : float in [0, 1]
        Start and end of the linear warm-up, as fractions of training.
    weak : callable or None
        Augmentation applied to labeled and unlabeled inputs (e.g. ``augment.weak`` for images,
        ``augment.GaussianNoise(0.05)`` for points); None = none.
    y_monitor : array or None
        True labels of the *whole* training set, used **only** to log how accurate the
        pseudo-labels are (``pl_acc``, ``mask_correct``); never used in the loss.
    """

    lambda_u: float = 1.0
    tau: float = 0.95
    t1: float = 0.0
    t2: float = 0.4
    weak: Callable | None = None
    y_monitor: object = None
    # per-run state, made by setup(): the true-label monitor
    monitor: LabelMonitor | None = field(default=None, init=False, repr=False, compare=False)

    def validate(self) -> None:
        check_number(self.lambda_u, "lambda_u", low=0.0)
        check_number(self.tau, "tau", low=0.0, high=1.0, low_inclusive=False)
        check_number(self.t1, "t1", low=0.0, high=1.0)
        check_number(self.t2, "t2", low=0.0, high=1.0)
        if self.t2 < self.t1:
            raise ValueError(
                f"t2 must be >= t1 (the warm-up ends after it starts); got t1={self.t1}, "
                f"t2={self.t2}."
            )
        if self.weak is not None and not callable(self.weak):
            raise ValueError("weak must be a callable augmentation (or None).")

    def setup(self, model: nn.Module, data: TrainData) -> None:
        self.monitor = LabelMonitor(self.y_monitor, data.X.shape[0], data.X.device)

    def alpha(self, t: float) -> float:
        """Lee's Eq. 16: the weight of the unlabeled term at training fraction t."""
        if t < self.t1:
            return 0.0
        if t >= self.t2:
            return self.lambda_u
        return self.lambda_u * (t - self.t1) / max(self.t2 - self.t1, 1e-12)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        aug = self.weak if self.weak is not None else (lambda x: x)
        x_l, x_u = aug(batch.x_l), aug(batch.x_u)
        logits = model(torch.cat([x_l, x_u]))  # one forward: one set of BatchNorm statistics
        logits_l, logits_u = logits[: len(x_l)], logits[len(x_l) :]
        loss_x = cross_entropy(logits_l, batch.y_l)
        y_hat, mask = pseudo_labels(logits_u, self.tau)  # target from the same forward, no grad
        loss_u = masked_cross_entropy(logits_u, y_hat, mask)
        alpha = self.alpha(batch.progress)
        logs = {"loss_x": loss_x.item(), "loss_u": loss_u.item(), "alpha": alpha}
        monitor = self.monitor or LabelMonitor()  # without setup(): the mask rate only
        logs.update(monitor(y_hat, mask, batch.idx_u))
        return loss_x + alpha * loss_u, logs
