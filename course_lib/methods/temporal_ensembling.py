"""Temporal Ensembling (Laine & Aila, "Temporal Ensembling for Semi-Supervised Learning",
ICLR 2017, arXiv:1610.02242), Algorithm 2.

Instead of a second stochastic pass (the Π-model), each example's target is an exponential
moving average of the network's *past* predictions on it, one per epoch, with a start-up bias
correction. One forward pass per input per epoch, and less noisy targets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from course_lib._validation import check_number
from course_lib.methods.base import Batch, Method, TrainData, cross_entropy
from course_lib.methods.pi_model import check_consistency, perturb, rampup_weight


def occurrence(idx: Tensor) -> Tensor:
    """How many times each entry of ``idx`` occurred before it: [4, 7, 4, 4] -> [0, 0, 1, 2].

    An indexed in-place update ``Z[idx] = ...`` keeps only one write per repeated index; updating
    by occurrence (all rank-0 entries, then rank 1, ...) keeps every prediction, in order."""
    order = torch.sort(idx, stable=True).indices
    sorted_idx = idx[order]
    pos = torch.arange(idx.numel(), device=idx.device)
    new_group = torch.ones_like(sorted_idx, dtype=torch.bool)
    new_group[1:] = sorted_idx[1:] != sorted_idx[:-1]
    group_start = torch.cummax(torch.where(new_group, pos, torch.zeros_like(pos)), dim=0).values
    rank = torch.empty_like(pos)
    rank[order] = pos - group_start
    return rank


@dataclass
class TemporalEnsembling(Method):
    """Temporal Ensembling (Laine & Aila 2017, Algorithm 2).

    Per example i the method keeps an ensemble Z_i (initially 0) and the number t_i of
    predictions it holds. On a mini-batch, with z_i = f(g(x_i)) the softmax of one stochastic
    pass and z~_i = Z_i / (1 - alpha^t_i) the bias-corrected target:

        loss = -(1/|L|) sum_{i in L} log z_i[y_i] + w(t) (1 / (C |B|)) sum_{i in B} ||z_i - z~_i||^2

    then, once per example and epoch, Z_i <- alpha Z_i + (1 - alpha) z_i and t_i <- t_i + 1.
    The unlabeled stream of ``fit`` visits every example exactly once per pass, so updating Z_i
    right after its use is the paper's end-of-epoch update. A batch that straddles two passes can
    hold an example twice (end of one pass, start of the next): both predictions enter Z_i, in
    that order (t_i grows by 2), and both are compared with the ensemble of before the step.
    Examples without any prediction yet
    (t_i = 0, first epoch) have no target and add nothing to the sum (the paper's z~ = 0 there
    is multiplied by a ramp-up weight of ~0 anyway).

    Departure from the paper: as for the :class:`~course_lib.methods.PiModel`, the supervised
    sum is averaged over the labeled examples, not divided by the whole mini-batch |B|.

    Parameters
    ----------
    alpha : float
        Ensemble momentum alpha in [0, 1) (paper: 0.6).
    w_max, rampup, noise_std, augment :
        As in :class:`~course_lib.methods.PiModel`.
    """

    alpha: float = 0.6
    w_max: float = 30.0
    rampup: float = 0.3
    noise_std: float = 0.1
    augment: Callable[[Tensor], Tensor] | None = None
    # per-example state, made by setup(): Z (n, C) ensemble predictions, t (n,) their count
    Z: Tensor | None = field(default=None, init=False, repr=False, compare=False)
    t: Tensor | None = field(default=None, init=False, repr=False, compare=False)

    def validate(self) -> None:
        check_number(self.alpha, "alpha", low=0.0, high=1.0, high_inclusive=False)
        check_consistency(self.w_max, self.rampup, self.noise_std, self.augment)

    def setup(self, model: nn.Module, data: TrainData) -> None:
        n = data.X.shape[0]
        self.Z = torch.zeros(n, data.n_classes, device=data.X.device)
        self.t = torch.zeros(n, dtype=torch.long, device=data.X.device)

    def g(self, x: Tensor) -> Tensor:
        """The stochastic augmentation g(x)."""
        return perturb(x, self.augment, self.noise_std)

    def targets(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        """z~ = Z / (1 - alpha^t) for examples ``idx``, and the mask of those with t >= 1."""
        t = self.t[idx]
        seen = t > 0
        correction = 1.0 - self.alpha ** t.clamp_min(1).to(self.Z.dtype)  # startup bias
        return self.Z[idx] / correction[:, None], seen

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        if self.Z is None:
            raise RuntimeError("TemporalEnsembling needs setup(); train it with fit().")
        n_l = batch.x_l.shape[0]
        logits = model(self.g(torch.cat([batch.x_l, batch.x_u])))  # ONE stochastic pass
        z = logits[n_l:].softmax(1)  # z_i for the unlabeled stream (every example once/epoch)
        z_tilde, seen = self.targets(batch.idx_u)  # ensemble targets, no gradient
        loss_x = cross_entropy(logits[:n_l], batch.y_l)
        sq = ((z - z_tilde) ** 2).sum(1) * seen  # ||z_i - z~_i||^2, 0 without a target yet
        loss_u = sq.sum() / (z.shape[0] * z.shape[1])  # 1/(C|B|) sum_i
        w = rampup_weight(self.w_max, self.rampup, batch.progress)
        with torch.no_grad():  # accumulate the ensemble: Z <- alpha Z + (1 - alpha) z
            idx, rank = batch.idx_u, occurrence(batch.idx_u)
            for k in range(int(rank.max()) + 1 if rank.numel() else 0):
                once = rank == k  # the k-th prediction of each example: no index twice
                self.Z[idx[once]] = self.alpha * self.Z[idx[once]] + (1 - self.alpha) * z[once]
                self.t[idx[once]] += 1
        logs = {"loss_x": loss_x.item(), "loss_u": loss_u.item(), "w": w}
        return loss_x + w * loss_u, logs
