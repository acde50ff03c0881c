"""Synergic deep learning (Zhang, Xia, Wu, Xie, Zhang; MICCAI 2018 / IEEE TMI 2019).

J. Zhang, Y. Xie, Q. Wu, Y. Xia, "Skin lesion classification in dermoscopy images using
synergic deep learning", MICCAI 2018 (and "Medical image classification using synergic deep
learning", Medical Image Analysis 2019). Two CNNs each classify one image of a pair; a small
*synergic network* reads both CNNs' deep features and predicts whether the two images belong to
the same class. Its error flows back into both CNNs, so each learns from the other's mistakes
("synergic signal"), which helps when classes look alike (high inter-class similarity).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from course_lib._validation import check_number
from course_lib.methods.base import Batch, Method, cross_entropy
from course_lib.models import SmallCNN


def _embed(net: SmallCNN, x: Tensor) -> tuple[Tensor, Tensor]:
    """Deep feature (after global average pooling) and logits of one SmallCNN."""
    f = net.gap(net.features(x)).flatten(1)
    return f, net.classifier(net.dropout(f))


class SynergicPair(nn.Module):
    """Two SmallCNNs (``net_a``, ``net_b``) and a synergic head on their concatenated features.

    ``forward(x)`` returns the mean of both CNNs' logits (the prediction used at test time);
    ``pair(x_a, x_b)`` returns ``(logits_a, logits_b, synergic_logit)`` for training.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 3, widths=(16, 32), hidden=32):
        super().__init__()
        self.net_a = SmallCNN(in_channels, n_classes, widths)
        self.net_b = SmallCNN(in_channels, n_classes, widths)
        k = widths[-1]
        self.synergic = nn.Sequential(nn.Linear(2 * k, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def pair(self, x_a: Tensor, x_b: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        f_a, logits_a = _embed(self.net_a, x_a)
        f_b, logits_b = _embed(self.net_b, x_b)
        syn = self.synergic(torch.cat([f_a, f_b], dim=1)).squeeze(1)
        return logits_a, logits_b, syn

    def forward(self, x: Tensor) -> Tensor:
        return 0.5 * (self.net_a(x) + self.net_b(x))


def synergic_pair(input_shape, n_classes: int, **kwargs) -> SynergicPair:
    """Model factory for ``SSLClassifier(model=synergic_pair, method=Synergic())``."""
    return SynergicPair(int(input_shape[0]), n_classes, **kwargs)


def synergic_loss(
    logits_a: Tensor,
    logits_b: Tensor,
    syn_logit: Tensor,
    y_a: Tensor,
    y_b: Tensor,
    lambda_syn: float = 1.0,
) -> tuple[Tensor, dict[str, float]]:
    """L = CE(logits_a, y_a) + CE(logits_b, y_b) + lambda_syn * BCE(syn_logit, [y_a == y_b]).

    The synergic label is 1 when the pair shares its class, 0 otherwise; BCE is the binary
    cross-entropy of the synergic network's logit (the paper's synergic error). With C balanced
    classes only about 1/C of random pairs share a class, so the positive pairs are weighted by
    n_different / n_same in the batch (BCE's ``pos_weight``): both kinds of pair count equally,
    and the head cannot win by always answering "different". (Our choice, not the paper's.)
    """
    l_a = cross_entropy(logits_a, y_a)
    l_b = cross_entropy(logits_b, y_b)
    same = (y_a == y_b).float()
    n_same = same.sum()
    pos_weight = (same.numel() - n_same) / n_same if n_same > 0 else torch.ones(())
    l_s = nn.functional.binary_cross_entropy_with_logits(syn_logit, same, pos_weight=pos_weight)
    loss = l_a + l_b + lambda_syn * l_s
    syn_acc = ((syn_logit > 0).float() == same).float().mean().item()
    return loss, {"loss_a": l_a.item(), "loss_b": l_b.item(), "loss_syn": l_s.item(),
                  "syn_acc": syn_acc}  # fmt: skip


@dataclass
class Synergic(Method):
    """Train a :class:`SynergicPair`: the labeled batch is split into pairs (x_a[i], x_b[i]).

    Parameters
    ----------
    lambda_syn : float
        Weight of the synergic error (0 = two independent CNNs, an ensemble).
    """

    lambda_syn: float = 1.0
    uses_unlabeled = False

    def validate(self) -> None:
        check_number(self.lambda_syn, "lambda_syn", low=0.0)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        if not isinstance(model, SynergicPair):
            raise ValueError("Synergic needs a SynergicPair model (model=synergic_pair).")
        half = batch.x_l.shape[0] // 2
        if half == 0:
            raise ValueError("Synergic needs a labeled batch of at least 2 examples (pairs).")
        x_a, x_b = batch.x_l[:half], batch.x_l[half : 2 * half]
        y_a, y_b = batch.y_l[:half], batch.y_l[half : 2 * half]
        logits_a, logits_b, syn = model.pair(x_a, x_b)
        return synergic_loss(logits_a, logits_b, syn, y_a, y_b, self.lambda_syn)
