"""Confidence penalty (Pereyra, Tucker, Chorowski, Kaiser & Hinton, "Regularizing Neural Networks
by Penalizing Confident Output Distributions", ICLR 2017 workshop, arXiv:1701.06548).

The opposite sign of entropy minimization: a *supervised* regulariser that rewards high
entropy of the predictions on the labeled training data, against over-confidence. Label
smoothing (Szegedy et al. 2016, arXiv:1512.00567), the paper's point of comparison, is here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from course_lib._validation import check_number
from course_lib.methods.base import Batch, Method, cross_entropy, entropy


@dataclass
class ConfidencePenalty(Method):
    """Cross-entropy minus beta times the entropy of the predictions on labeled data.

        loss = -(1/|L|) sum_{i in L} [ log p(y_i | x_i) + beta H(p(. | x_i)) ]     (Pereyra eq. 2)

    Up to a constant, -H(p) = KL(p || u) - log C with u uniform: the penalty pulls p towards the
    uniform distribution. Entropy minimization adds +lambda H on *unlabeled* data; the confidence
    penalty adds -beta H on *labeled* data: one sign spreads the probability mass, the other
    sharpens it.

    Parameters
    ----------
    beta : float
        Strength beta >= 0 of the penalty (the paper uses 0.1 to 2.5 depending on the task).
    """

    beta: float = 0.5
    uses_unlabeled = False

    def validate(self) -> None:
        check_number(self.beta, "beta", low=0.0)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        logits = model(batch.x_l)
        loss_x = cross_entropy(logits, batch.y_l)
        ent = entropy(logits.softmax(1)).mean()  # H(p(.|x)) on the labeled batch
        return loss_x - self.beta * ent, {"loss_x": loss_x.item(), "entropy": ent.item()}


@dataclass
class LabelSmoothing(Method):
    """Cross-entropy against smoothed targets (1 - epsilon) one_hot(y) + epsilon / C.

        loss = (1 - epsilon) CE(p, y) + epsilon (1/C) sum_k -log p_k
             = (1 - epsilon) CE(p, y) + epsilon [KL(u || p) + log C]

    Pereyra et al. compare it with the confidence penalty: label smoothing penalises KL(u || p),
    the confidence penalty KL(p || u).

    Parameters
    ----------
    epsilon : float
        Smoothing in [0, 1).
    """

    epsilon: float = 0.1
    uses_unlabeled = False

    def validate(self) -> None:
        check_number(self.epsilon, "epsilon", low=0.0, high=1.0, high_inclusive=False)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        logits = model(batch.x_l)
        loss_x = cross_entropy(logits, batch.y_l)
        uniform = -logits.log_softmax(1).mean(1).mean()  # (1/C) sum_k -log p_k
        loss = (1 - self.epsilon) * loss_x + self.epsilon * uniform
        return loss, {"loss_x": loss_x.item()}
