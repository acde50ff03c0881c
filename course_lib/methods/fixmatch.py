"""FixMatch (Sohn et al., 2020): pseudo-label the weak view, learn it on the strong view.

K. Sohn, D. Berthelot, C.-L. Li, Z. Zhang, N. Carlini, E. D. Cubuk, A. Kurakin, H. Zhang,
C. Raffel, "FixMatch: Simplifying Semi-Supervised Learning with Consistency and Confidence",
NeurIPS 2020, arXiv:2001.07685. Equation numbers refer to that paper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from course_lib import augment
from course_lib._validation import check_number, check_positive_int
from course_lib.methods.base import Batch, Method, TrainData, cross_entropy
from course_lib.methods.parts import LabelMonitor, ema_copy, ema_update
from course_lib.methods.pseudo_label import masked_cross_entropy, pseudo_labels


@dataclass
class FixMatch(Method):
    r"""FixMatch: consistency between a weak and a strong view, gated by confidence.

    Three ingredients of earlier chapters in one loss: **pseudo-labels** (ch. 05) from the weak
    view alpha(u), a **confidence threshold** tau (ch. 04's low-entropy push, made hard) and
    **consistency** (ch. 03) with a *strongly* augmented view A(u):

    .. math::
        \ell_s &= \frac{1}{B}\sum_{b=1}^{B} H\big(p_b, p_m(y \mid \alpha(x_b))\big)
            && \text{(Eq. 3)} \\
        q_b &= p_m(y \mid \alpha(u_b)),\quad \hat q_b = \arg\max q_b \\
        \ell_u &= \frac{1}{\mu B}\sum_{b=1}^{\mu B}
            \mathbb{1}[\max q_b \ge \tau]\; H\big(\hat q_b, p_m(y \mid \mathcal{A}(u_b))\big)
            && \text{(Eq. 4)} \\
        L &= \ell_s + \lambda_u \ell_u

    The unlabeled batch is ``mu`` times the labeled one (``fit`` reads ``mu``).

    Parameters
    ----------
    tau : float in (0, 1]
        Confidence threshold (paper: 0.95).
    lambda_u : float >= 0
        Weight of the unlabeled loss (paper: 1).
    mu : int >= 1
        Ratio of unlabeled to labeled batch size (paper: 7).
    weak, strong : callable
        The weak augmentation alpha and the strong augmentation A. Defaults are the image
        augmentations of ``course_lib.augment``; for 2-D points use e.g.
        ``weak=augment.GaussianNoise(0.05), strong=augment.GaussianNoise(0.25)``.
    ema_decay : float in [0, 1)
        Predictions use an exponential moving average of the weights, as the paper evaluates
        (paper: 0.999); the decay is warmed up as min(ema_decay, 1 - 1/(step + 1)) so a short
        run is not dominated by its first steps. 0 = evaluate the trained weights themselves.
    y_monitor : array or None
        True labels of the whole training set, **only** for logging the accuracy of the
        pseudo-labels (``pl_acc``, ``mask_correct``); never used in the loss.

    Departures from the paper and its reference code: the unlabeled batch is drawn from the
    whole training set, labeled examples included (as in the reference code); the EMA warm-up
    (:func:`~course_lib.methods.parts.ema_decay`) is not in the paper, which evaluates an EMA of
    decay 0.999 over a million steps; Eq. 4 is averaged over the whole unlabeled batch, masked
    examples included, as the paper writes it.
    """

    tau: float = 0.95
    lambda_u: float = 1.0
    mu: int = 7
    weak: Callable = augment.weak
    strong: Callable = augment.strong
    ema_decay: float = 0.99
    y_monitor: object = None
    # per-run state, made by setup(): the averaged network and the true-label monitor
    ema: nn.Module | None = field(default=None, init=False, repr=False, compare=False)
    monitor: LabelMonitor | None = field(default=None, init=False, repr=False, compare=False)

    def validate(self) -> None:
        check_number(self.tau, "tau", low=0.0, high=1.0, low_inclusive=False)
        check_number(self.lambda_u, "lambda_u", low=0.0)
        check_positive_int(self.mu, "mu")
        check_number(self.ema_decay, "ema_decay", low=0.0, high=1.0, high_inclusive=False)
        for name in ("weak", "strong"):
            if not callable(getattr(self, name)):
                raise ValueError(f"{name} must be a callable augmentation x -> x'.")

    def setup(self, model: nn.Module, data: TrainData) -> None:
        self.monitor = LabelMonitor(self.y_monitor, data.X.shape[0], data.X.device)
        self.ema = ema_copy(model) if self.ema_decay > 0 else None

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        x_l, u = batch.x_l, batch.x_u
        B, uB = len(x_l), len(u)
        # one forward pass over weak(x), weak(u), strong(u): shared BatchNorm statistics
        logits = model(torch.cat([self.weak(x_l), self.weak(u), self.strong(u)]))
        logits_x, logits_uw, logits_us = logits[:B], logits[B : B + uB], logits[B + uB :]
        loss_s = cross_entropy(logits_x, batch.y_l)  # Eq. 3
        q_hat, mask = pseudo_labels(logits_uw, self.tau)  # argmax and 1[max q >= tau], no grad
        loss_u = masked_cross_entropy(logits_us, q_hat, mask)  # Eq. 4
        logs = {"loss_x": loss_s.item(), "loss_u": loss_u.item()}
        monitor = self.monitor or LabelMonitor()  # without setup(): the mask rate only
        logs.update(monitor(q_hat, mask, batch.idx_u))
        return loss_s + self.lambda_u * loss_u, logs

    # evaluation only: the loss above never sees the averaged weights
    def after_step(self, model: nn.Module, step: int) -> None:
        if self.ema is not None:
            ema_update(self.ema, model, self.ema_decay, step)

    def eval_model(self, model: nn.Module) -> nn.Module:
        return model if self.ema is None else self.ema
