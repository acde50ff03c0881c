"""Mean Teacher (Tarvainen & Valpola, "Mean teachers are better role models: Weight-averaged
consistency targets improve semi-supervised deep learning results", NeurIPS 2017,
arXiv:1703.01780).

The targets come from a *teacher* network whose weights are an exponential moving average of the
student's weights. The student is trained (cross-entropy + consistency to the teacher); the
teacher receives no gradient and is the network used for prediction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from course_lib._validation import check_number
from course_lib.methods.base import Batch, Method, TrainData, cross_entropy
from course_lib.methods.parts import ema_copy, ema_update, rampup_weight
from course_lib.methods.pi_model import check_consistency, perturb


@dataclass
class MeanTeacher(Method):
    """Mean Teacher (Tarvainen & Valpola 2017).

    Student f_theta, teacher f_theta' with theta' the EMA of theta. On a mini-batch B with
    independent augmentations g, g' (the paper's eta, eta'):

        loss = -(1/|L|) sum_{i in L} log f_theta(g(x_i))[y_i]
               + w(t) (1 / (C |B|)) sum_{i in B} ||f_theta(g(x_i)) - f_theta'(g'(x_i))||^2

    (softmax outputs, the teacher's detached), then after each optimiser step (the paper's EMA
    equation in Sect. 2, which it does not number, with a warm-up of the decay as in the
    reference code, one step behind it -- see below; :func:`~course_lib.methods.parts.ema_update`):

        theta'_t = a_t theta'_{t-1} + (1 - a_t) theta_t,   a_t = min(1 - 1 / (t + 1), alpha).

    The student gets the whole gradient, consistency term included; the teacher gets none.
    BatchNorm running statistics of the teacher are copied from the student.

    Departures from the paper and its reference code: the supervised term is averaged over the
    labeled examples of the batch (the reference code sums it over the labeled examples and
    divides by the whole batch size), the consistency term over the whole batch and the classes
    (as there); the EMA warm-up counts optimiser steps
    from t = 0, one step behind the reference code's ``global_step`` (see
    :func:`~course_lib.methods.parts.ema_decay`); the teacher runs in the student's mode
    (dropout on) for its targets, as in the reference code.

    Parameters
    ----------
    alpha : float
        EMA decay in [0, 1) (paper: 0.99 during ramp-up, 0.999 after; a short run needs less).
    w_max, rampup, noise_std, augment :
        As in :class:`~course_lib.methods.PiModel`.
    """

    alpha: float = 0.9
    w_max: float = 100.0
    rampup: float = 0.3
    noise_std: float = 0.1
    augment: Callable[[Tensor], Tensor] | None = None
    teacher: nn.Module | None = field(default=None, init=False, repr=False, compare=False)

    def validate(self) -> None:
        check_number(self.alpha, "alpha", low=0.0, high=1.0, high_inclusive=False)
        check_consistency(self.w_max, self.rampup, self.noise_std, self.augment)

    def setup(self, model: nn.Module, data: TrainData) -> None:
        self.teacher = ema_copy(model)  # theta'_0 = theta_0, never trained by gradient

    def g(self, x: Tensor) -> Tensor:
        """The stochastic augmentation (eta for the student, eta' for the teacher)."""
        return perturb(x, self.augment, self.noise_std)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        if self.teacher is None:
            raise RuntimeError("MeanTeacher needs setup(); train it with fit().")
        n_l = batch.x_l.shape[0]
        x = torch.cat([batch.x_l, batch.x_u])
        logits = model(self.g(x))  # student, noise eta
        self.teacher.train(model.training)  # same dropout/BatchNorm mode as the student
        with torch.no_grad():
            target = self.teacher(self.g(x)).softmax(1)  # teacher, noise eta': no gradient
        loss_x = cross_entropy(logits[:n_l], batch.y_l)
        loss_u = ((logits.softmax(1) - target) ** 2).mean()  # gradient flows to the STUDENT
        w = rampup_weight(self.w_max, self.rampup, batch.progress)
        return loss_x + w * loss_u, {"loss_x": loss_x.item(), "loss_u": loss_u.item(), "w": w}

    def after_step(self, model: nn.Module, step: int) -> None:
        ema_update(self.teacher, model, self.alpha, step)  # theta' <- a_t theta' + (1 - a_t) theta

    def eval_model(self, model: nn.Module) -> nn.Module:
        return self.teacher if self.teacher is not None else model
