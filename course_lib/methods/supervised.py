"""The baseline every semi-supervised method must beat: cross-entropy on labeled data only."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from course_lib.methods.base import Batch, Method, cross_entropy


@dataclass
class Supervised(Method):
    """Minimise the cross-entropy of the labeled examples; the unlabeled ones are ignored.

    L = -(1/|B_l|) sum_{(x, y) in B_l} log p_theta(y | x)
    """

    uses_unlabeled = False

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        logits = model(batch.x_l)
        loss = cross_entropy(logits, batch.y_l)
        return loss, {"loss_x": loss.item()}
