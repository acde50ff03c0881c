"""Virtual Adversarial Training (Miyato, Maeda, Koyama & Ishii, "Virtual Adversarial Training:
A Regularization Method for Supervised and Semi-Supervised Learning", TPAMI 2018,
arXiv:1704.03976).

The perturbation is not random but *adversarial*: the direction r_adv, of norm eps, in which the
prediction changes most, found with one step of power iteration. The model is then made smooth
in that direction. No labels are needed, so every example contributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib._validation import check_number, check_positive_int
from course_lib.methods.base import Batch, Method, cross_entropy, entropy
from course_lib.methods.parts import frozen_batchnorm_stats


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def kl_divergence(p: Tensor, logits_q: Tensor) -> Tensor:
    """KL(p || q) = sum_k p_k (log p_k - log q_k) per example, q = softmax(logits_q)."""
    return (p * (torch.log(p.clamp_min(1e-12)) - F.log_softmax(logits_q, dim=1))).sum(1)


def unit_per_example(g: Tensor) -> Tensor:
    """g / ||g||_2, the norm taken over every axis but the first (one direction per example)."""
    norm = g.flatten(1).norm(dim=1).clamp_min(1e-12)
    return g / norm.view(-1, *([1] * (g.ndim - 1)))


def adversarial_direction(
    model: nn.Module, x: Tensor, p: Tensor, eps: float, xi: float, n_power: int = 1
) -> Tensor:
    """r_adv = eps g / ||g|| with g = grad_r KL(p || f(x + r)) at a random r of norm ~xi.

    Chapter 03's eqs. (1)-(3). The TPAMI paper (arXiv:1704.03976) defines r_vadv in Sect. 3.2
    and approximates it by power iteration in Sect. 3.3, under other equation numbers than its
    ICLR 2016 version (arXiv:1507.00677): the chapter numbers them itself.

    ``p`` is the (detached) prediction on the clean ``x``. BatchNorm statistics are frozen.
    """
    r = torch.randn_like(x) * (xi / math.sqrt(x[0].numel()))  # r ~ N(0, (xi^2/dim) I), ||r|| ~ xi
    with frozen_batchnorm_stats(model):
        for _ in range(n_power):  # power iteration: g approximates the top eigenvector of H
            r = r.detach().requires_grad_(True)
            divergence = kl_divergence(p, model(x + r)).sum()
            (g,) = torch.autograd.grad(divergence, r)  # g = grad_r D(f(x), f(x + r))
            r = xi * unit_per_example(g)
    return eps * unit_per_example(g)  # r_adv = eps g / ||g||   (per example)


@dataclass
class VAT(Method):
    """Virtual adversarial training (Miyato et al. 2018), with optional entropy minimization.

    With p = f(x) the detached prediction on a clean example (eq. 1 uses the current estimate
    p(y|x, theta^) in place of the unknown label):

        r ~ N(0, (xi^2 / dim(x)) I),   g = grad_r KL(p || f(x + r))            (power iteration)
        r_adv = eps g / ||g||_2                                                (per example)
        LDS(x) = KL(p || f(x + r_adv))                                         (virtual adv. loss)
        loss = CE(labeled) + alpha mean_x LDS(x) + lambda_ent mean_x H(f(x))   (VAT [+ EntMin])

    Parameters
    ----------
    eps : float
        Norm of the adversarial perturbation (the key hyper-parameter: about the gap between
        the classes; 0.2 for two moons at noise 0.1).
    xi : float
        Norm of the initial random perturbation of the finite-difference power iteration. The
        paper's 1e-6 is too small for float32 here (the difference f(x + r) - f(x) rounds to 0
        and r_adv loses its direction); 1e-2 is still far below eps.
    alpha : float
        Weight of the virtual adversarial loss (paper: 1).
    n_power : int
        Power-iteration steps (paper: 1 is enough).
    lambda_ent : float
        Weight of the entropy-minimization term on unlabeled predictions (VAT + EntMin, paper
        section on conditional entropy); 0 = plain VAT.
    """

    eps: float = 0.2
    xi: float = 1e-2
    alpha: float = 1.0
    n_power: int = 1
    lambda_ent: float = 0.0

    def validate(self) -> None:
        check_number(self.eps, "eps", low=0.0, low_inclusive=False)
        check_number(self.xi, "xi", low=0.0, low_inclusive=False)
        check_number(self.alpha, "alpha", low=0.0)
        check_positive_int(self.n_power, "n_power")
        check_number(self.lambda_ent, "lambda_ent", low=0.0)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        n_l = batch.x_l.shape[0]
        logits = model(torch.cat([batch.x_l, batch.x_u]))  # clean pass (updates BN stats)
        if has_batchnorm(model):
            # With BatchNorm the output depends on the whole batch: the clean target p and the
            # perturbed passes must see the same batch (x_u alone), else KL(p || f(x_u + r)) is
            # not 0 at r = 0 and r_adv follows the batch difference, not the adversarial one.
            with frozen_batchnorm_stats(model):
                logits_u = model(batch.x_u)
        else:
            logits_u = logits[n_l:]
        p = logits_u.softmax(1).detach()  # p(y|x, theta^): a constant target
        r_adv = adversarial_direction(model, batch.x_u, p, self.eps, self.xi, self.n_power)
        with frozen_batchnorm_stats(model):
            lds = kl_divergence(p, model(batch.x_u + r_adv)).mean()  # R_vadv
        loss_x = cross_entropy(logits[:n_l], batch.y_l)
        loss = loss_x + self.alpha * lds
        logs = {"loss_x": loss_x.item(), "lds": lds.item()}
        if self.lambda_ent > 0:  # VAT + EntMin
            ent = entropy(logits_u.softmax(1)).mean()
            loss = loss + self.lambda_ent * ent
            logs["entropy"] = ent.item()
        return loss, logs
