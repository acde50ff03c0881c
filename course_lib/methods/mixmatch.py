"""MixMatch (Berthelot et al., 2019): guess, sharpen, mix.

D. Berthelot, N. Carlini, I. Goodfellow, N. Papernot, A. Oliver, C. Raffel, "MixMatch: A
Holistic Approach to Semi-Supervised Learning", NeurIPS 2019, arXiv:1905.02249. Equation numbers
refer to that paper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from course_lib import augment
from course_lib._validation import check_number, check_positive_int
from course_lib.methods.base import Batch, Method
from course_lib.methods.parts import frozen_batchnorm_stats, rampup_weight


def sharpen(p: Tensor, T: float) -> Tensor:
    """Eq. 7: Sharpen(p, T)_i = p_i^(1/T) / sum_j p_j^(1/T), along the last axis.

    T < 1 lowers the entropy (T -> 0 gives a one-hot arg-max), T = 1 changes nothing.
    """
    check_number(T, "T", low=0.0, low_inclusive=False)
    # in log space: stable for small T
    return torch.softmax(torch.log(p.clamp_min(1e-12)) / T, dim=-1)


def mixup(x1: Tensor, p1: Tensor, x2: Tensor, p2: Tensor, lam: Tensor) -> tuple[Tensor, Tensor]:
    """Eqs. 8-11: lambda' = max(lambda, 1 - lambda); x' = lambda' x1 + (1 - lambda') x2, and
    the same for the targets p. ``lam`` holds one lambda per example (shape (B,)).

    Because lambda' >= 0.5, x' stays closer to x1: a mixed labeled example is still mostly
    labeled, a mixed unlabeled one mostly unlabeled.
    """
    lam = torch.maximum(lam, 1.0 - lam)  # Eq. 9
    lx = lam.view(-1, *([1] * (x1.ndim - 1))).to(x1.dtype)
    lp = lam.view(-1, 1).to(p1.dtype)
    return lx * x1 + (1 - lx) * x2, lp * p1 + (1 - lp) * p2  # Eqs. 10, 11


def soft_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """(1/|X'|) sum H(p, p_model(y | x)) for soft targets p (Eq. 3)."""
    if logits.shape[0] == 0:
        return logits.sum() * 0.0
    return -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


@dataclass
class MixMatch(Method):
    r"""MixMatch: two strategies of earlier chapters -- **consistency** (guess a label by
    averaging K augmentations, ch. 03) and **entropy minimisation** (sharpen the guess, ch. 04)
    -- plus MixUp as regulariser.

    For a labeled batch X and an unlabeled batch U (Algorithm 1):

    .. math::
        \bar q_b &= \frac{1}{K}\sum_{k=1}^{K} p_m(y \mid \hat u_{b,k}),\quad
            q_b = \mathrm{Sharpen}(\bar q_b, T) && \text{(Eqs. 6, 7)} \\
        \mathcal{X}', \mathcal{U}' &= \mathrm{MixUp}(\hat{\mathcal{X}}, \mathcal{W}),\
            \mathrm{MixUp}(\hat{\mathcal{U}}, \mathcal{W}) && \text{(Eqs. 8-11)} \\
        \mathcal{L}_X &= \frac{1}{|\mathcal{X}'|}\sum H(p, p_m(y \mid x)),\quad
        \mathcal{L}_U = \frac{1}{L|\mathcal{U}'|}\sum \lVert q - p_m(y \mid u)\rVert_2^2
            && \text{(Eqs. 3-5)} \\
        L &= \mathcal{L}_X + \lambda_U(t)\, \mathcal{L}_U

    with W a shuffle of all augmented examples, lambda ~ Beta(alpha, alpha), L the number of
    classes and lambda_U ramped up linearly over the first ``rampup`` fraction of training.

    BatchNorm: the label-guessing forward runs in training mode (batch statistics, as in the
    reference code) but leaves the running averages alone, so they move once per step, with the
    forward of the mixed batch -- one update per step, as in the reference code.

    Parameters
    ----------
    K : int >= 1
        Augmentations per unlabeled example (paper: 2).
    T : float > 0
        Sharpening temperature (paper: 0.5).
    alpha : float > 0
        Beta(alpha, alpha) parameter of MixUp (paper: 0.75).
    lambda_u : float >= 0
        Final weight of the L2 unlabeled loss (paper: 75 on CIFAR-10).
    rampup : float in (0, 1]
        Fraction of training over which lambda_u rises linearly from 0.
    augment : callable
        The stochastic augmentation (default ``augment.weak``; for points
        ``augment.GaussianNoise(sigma)``).
    """

    K: int = 2
    T: float = 0.5
    alpha: float = 0.75
    lambda_u: float = 75.0
    rampup: float = 0.4
    augment: Callable = augment.weak

    def validate(self) -> None:
        check_positive_int(self.K, "K")
        check_number(self.T, "T", low=0.0, low_inclusive=False)
        check_number(self.alpha, "alpha", low=0.0, low_inclusive=False)
        check_number(self.lambda_u, "lambda_u", low=0.0)
        check_number(self.rampup, "rampup", low=0.0, high=1.0, low_inclusive=False)
        if not callable(self.augment):
            raise ValueError("augment must be a callable augmentation x -> x'.")

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        B, uB, K = len(batch.x_l), len(batch.x_u), self.K
        n_classes = None
        x_hat = self.augment(batch.x_l)  # one augmentation of each labeled example
        u_hat = self.augment(batch.x_u.repeat(K, *([1] * (batch.x_u.ndim - 1))))  # K views
        # label guessing (Eqs. 6, 7): no gradient through the guess, no BatchNorm update
        with torch.no_grad(), frozen_batchnorm_stats(model):
            probs = torch.softmax(model(u_hat), dim=1)
            n_classes = probs.shape[1]
            q = sharpen(probs.view(K, uB, n_classes).mean(0), self.T).repeat(K, 1)
        p = nn.functional.one_hot(batch.y_l, n_classes).to(q.dtype)
        # MixUp with a shuffle W of all augmented examples (Algorithm 1, lines 10-14)
        all_x, all_p = torch.cat([x_hat, u_hat]), torch.cat([p, q])
        perm = torch.randperm(len(all_x), device=all_x.device)
        lam = torch.distributions.Beta(self.alpha, self.alpha).sample((len(all_x),))
        mixed_x, mixed_p = mixup(all_x, all_p, all_x[perm], all_p[perm], lam.to(all_x.device))
        logits = model(mixed_x)  # one forward of X' and U' together
        loss_x = soft_cross_entropy(logits[:B], mixed_p[:B])  # Eq. 3
        loss_u = ((torch.softmax(logits[B:], dim=1) - mixed_p[B:]) ** 2).mean()  # Eq. 4
        lambda_u = rampup_weight(self.lambda_u, self.rampup, batch.progress, shape="linear")
        logs = {"loss_x": loss_x.item(), "loss_u": loss_u.item(), "lambda_u": lambda_u}
        return loss_x + lambda_u * loss_u, logs
