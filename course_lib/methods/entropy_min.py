"""Entropy minimization (Grandvalet & Bengio, "Semi-supervised Learning by Entropy
Minimization", NeurIPS 2004 / 2005).

Confident predictions on unlabeled data are rewarded: the entropy of p(y|x) is small only far
from the decision boundary, so minimising it pushes the boundary out of dense regions (the
cluster assumption as a loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from course_lib._validation import check_number
from course_lib.methods.base import Batch, Method, cross_entropy, entropy
from course_lib.methods.parts import rampup_weight


@dataclass
class EntropyMinimization(Method):
    """Cross-entropy on labeled data plus lambda times the mean entropy on unlabeled data.

        loss = -(1/|L|) sum_{i in L} log p(y_i | x_i)
               + lambda w(t) (1/|U|) sum_{x in U} H(p(. | x)),
        H(p) = -sum_k p_k log p_k                                          (eq. 4 of the lecture)

    Minimising H makes every unlabeled prediction confident, so the boundary, where p is
    uncertain, is pushed to where there are no unlabeled points. A ramp-up w(t) (as in the
    consistency methods) keeps the early, still-wrong boundary from being frozen in place.

    Parameters
    ----------
    lambda_ : float
        Weight lambda >= 0 of the entropy term.
    rampup : float
        Fraction of training over which w(t) = exp(-5 (1 - t / rampup)^2) ramps up (0 = none).
    """

    lambda_: float = 1.0
    rampup: float = 0.3

    def validate(self) -> None:
        check_number(self.lambda_, "lambda_", low=0.0)
        check_number(self.rampup, "rampup", low=0.0, high=1.0)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        n_l = batch.x_l.shape[0]
        logits = model(torch.cat([batch.x_l, batch.x_u]))
        loss_x = cross_entropy(logits[:n_l], batch.y_l)
        ent = entropy(logits[n_l:].softmax(1)).mean()  # (1/|U|) sum H(p(.|x))
        w = rampup_weight(1.0, self.rampup, batch.progress)  # w(t), 1 after the ramp-up
        loss = loss_x + self.lambda_ * w * ent
        return loss, {"loss_x": loss_x.item(), "entropy": ent.item(), "w": w}
