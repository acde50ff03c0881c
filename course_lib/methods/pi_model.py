"""Π-model (Laine & Aila, "Temporal Ensembling for Semi-Supervised Learning", ICLR 2017,
arXiv:1610.02242), Algorithm 1.

Two stochastic evaluations of the same mini-batch must agree: the squared difference of the two
softmax outputs is penalised on every example, labeled or not. The noise comes from stochastic
input augmentation and from dropout inside the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from course_lib import augment as augmentations
from course_lib._validation import check_number
from course_lib.methods.base import Batch, Method, cross_entropy
from course_lib.methods.parts import rampup_weight


def perturb(x: Tensor, augment: Callable[[Tensor], Tensor] | None, noise_std: float) -> Tensor:
    """The stochastic augmentation g(x) of the consistency methods.

    ``augment(x)`` when given (images: e.g. ``course_lib.augment.weak``); otherwise
    ``x + N(0, noise_std^2 I)`` (:func:`course_lib.augment.gaussian_noise`), which suits 2-D
    points and, as a weak perturbation, images too. ``noise_std = 0`` returns ``x`` itself.
    """
    if augment is not None:
        return augment(x)
    return x if noise_std == 0 else augmentations.gaussian_noise(x, noise_std)


def check_consistency(
    w_max: float, rampup: float, noise_std: float, augment: Callable | None
) -> None:
    """Validate the hyper-parameters shared by Π-model, Temporal Ensembling and Mean Teacher:
    the consistency weight ``w_max``, the ramp-up fraction ``rampup``, and the perturbation
    (``noise_std``, or ``augment``: None or a callable Tensor -> Tensor)."""
    check_number(w_max, "w_max", low=0.0)
    check_number(rampup, "rampup", low=0.0, high=1.0)
    check_number(noise_std, "noise_std", low=0.0)
    if augment is not None and not callable(augment):
        raise ValueError(
            f"augment must be a callable Tensor -> Tensor (e.g. course_lib.augment.weak) or None "
            f"for Gaussian noise of std noise_std; got {type(augment).__name__}."
        )


@dataclass
class PiModel(Method):
    """Π-model: consistency between two stochastic passes (Laine & Aila 2017, Algorithm 1).

    For a mini-batch B (labeled part L, all of B used for consistency) and two stochastic
    evaluations z_i = f(g(x_i)), z~_i = f(g(x_i)) with independent augmentation g and dropout:

        loss = -(1/|L|) sum_{i in L} log z_i[y_i] + w(t) (1/(C|B|)) sum_{i in B} ||z_i - z~_i||^2

    with z the softmax outputs, C the number of classes and w(t) = w_max exp(-5 (1 - t)^2)
    ramped up over the first ``rampup`` fraction of training. Both branches carry gradient.

    Departure from the paper: Algorithm 1 divides the supervised sum by |B|, the whole
    mini-batch; here it is averaged over the labeled examples, which ``fit`` draws as their own
    stream (``batch_size`` labeled, ``batch_size`` unlabeled), so the supervised term weighs
    |B| / |L| times more than in the paper's formula. Ramp-up and weight are fractions of
    training, not the paper's 80 epochs.

    Parameters
    ----------
    w_max : float
        Maximum consistency weight w_max (the paper uses 100 on CIFAR; a few to tens here).
    rampup : float
        Fraction of training over which w(t) ramps up (0 = no ramp-up).
    noise_std : float
        Standard deviation of the additive Gaussian input noise used when ``augment`` is None.
    augment : callable, optional
        Stochastic augmentation Tensor -> Tensor applied to the whole batch (images: e.g.
        ``course_lib.augment.weak``). None: Gaussian noise of std ``noise_std``.
    """

    w_max: float = 30.0
    rampup: float = 0.3
    noise_std: float = 0.1
    augment: Callable[[Tensor], Tensor] | None = None

    def validate(self) -> None:
        check_consistency(self.w_max, self.rampup, self.noise_std, self.augment)

    def g(self, x: Tensor) -> Tensor:
        """The stochastic augmentation g(x)."""
        return perturb(x, self.augment, self.noise_std)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        n_l = batch.x_l.shape[0]
        x = torch.cat([batch.x_l, batch.x_u])  # B: the labeled and the unlabeled examples
        logits = model(self.g(x))  # z_i    (first stochastic pass)
        logits_tilde = model(self.g(x))  # z~_i (second pass: new noise, new dropout mask)
        z, z_tilde = logits.softmax(1), logits_tilde.softmax(1)
        loss_x = cross_entropy(logits[:n_l], batch.y_l)  # supervised part, labeled only
        loss_u = ((z - z_tilde) ** 2).mean()  # (1/(C|B|)) sum ||z - z~||^2, both with grad
        w = rampup_weight(self.w_max, self.rampup, batch.progress)  # w(t)
        return loss_x + w * loss_u, {"loss_x": loss_x.item(), "loss_u": loss_u.item(), "w": w}
