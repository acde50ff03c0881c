"""Homework 3 (VAT): the KL divergence and the adversarial perturbation."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from course_lib.checks.core import (
    CheckReport,
    Fail,
    as_array,
    call,
    close,
    gen,
    grads_reach,
    probs,
    randn,
    run_checks,
    same_shape,
    tensor,
    untouched,
)


def check_kl_divergence(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(p, logits_q) -> (N,)``: KL(p || q) = sum_k p_k (log p_k - log q_k) per example,
    with q = softmax(logits_q).

    Reference: :func:`course_lib.methods.vat.kl_divergence`.
    """
    from course_lib.methods.vat import kl_divergence

    def inputs():
        return probs(4, 3, seed=38), randn(4, 3, seed=39)

    def value(fn):
        p, z = probs(6, 3, seed=30), randn(6, 3, seed=31, scale=2)
        q = z.softmax(1)
        on = "random p and logits (6 x 3)"
        close(
            call(fn, p, z, on=on),
            kl_divergence(p, z),
            f"on {on}",
            mistakes={
                "the arguments of the KL are swapped: VAT uses KL(p || q) = sum p (log p - log q), "
                "with p the clean prediction.": (q * (q.log() - p.log())).sum(1),
                "return one KL per example (sum over classes only), not the batch mean.": (
                    kl_divergence(p, z).mean()
                ),
                "use log q = log_softmax(logits_q); the logits are not log-probabilities.": (
                    p * (p.log() - z)
                ).sum(1),
            },
        )

    def zero_when_equal(fn):
        z = randn(5, 4, seed=32)
        got = as_array(call(fn, z.softmax(1), z, on="q = p"))
        if not np.allclose(got, 0.0, atol=1e-7):
            raise Fail("KL(p || p) must be 0 for every example; yours is not.")

    def nonnegative(fn):
        p, z = probs(50, 3, seed=33, scale=4), randn(50, 3, seed=34, scale=4)
        got = as_array(call(fn, p, z, on="50 random pairs"))
        if np.any(got < -1e-9):
            raise Fail("KL is never negative; yours is for some inputs.")

    def one_hot_p(fn):
        p = torch.eye(3, dtype=torch.float64)[[0, 2, 1, 0]]
        z = randn(4, 3, seed=35)
        close(
            call(fn, p, z, on="one-hot p (contains zeros)"),
            kl_divergence(p, z),
            "for a one-hot p (0 log 0 counts as 0; clamp p before its log)",
        )

    def gradient(fn):
        on = "logits_q with requires_grad"
        (g,) = grads_reach(fn, (probs(4, 3, seed=36), randn(4, 3, seed=37)), [1], on)
        if not g:
            raise Fail("no gradient flows into logits_q: do not detach q (VAT differentiates it).")

    return run_checks(
        "check_kl_divergence",
        fn,
        [
            ("value on random inputs", value),
            ("KL(p || p) = 0", zero_when_equal),
            ("non-negative", nonnegative),
            ("p with zeros (no NaN)", one_hot_p),
            ("gradient to logits_q", gradient),
            ("p and logits_q left unchanged", untouched(inputs, ["p", "logits_q"], "random p")),
        ],
        returns=tensor(lambda p, z: (len(p),), "a torch tensor (N,), one KL per example"),
        quiet=quiet,
    )


class _VATNet(nn.Module):
    """A small fixed network for the VAT checks (optionally with BatchNorm)."""

    def __init__(self, in_shape: tuple[int, ...], n_classes: int, seed: int, bn: bool = False):
        super().__init__()
        torch.manual_seed(seed)
        d = int(np.prod(in_shape))
        layers: list[nn.Module] = [nn.Flatten(), nn.Linear(d, 16)]
        if bn:
            layers.append(nn.BatchNorm1d(16))
        layers += [nn.Tanh(), nn.Linear(16, n_classes)]
        self.net = nn.Sequential(*layers).double()

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def _vat_case(in_shape, n_classes, seed, n=6, bn=False):
    model = _VATNet(in_shape, n_classes, seed, bn)
    x = randn(n, *in_shape, seed=seed + 1)
    with torch.no_grad():
        p = model(x).softmax(1)
    return model, x, p


def check_adversarial_perturbation(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(model, x, p, eps, xi) -> r_adv``: VAT's adversarial perturbation by one step of
    power iteration, r_adv = eps g / ||g||, g = grad_r KL(p || f(x + r)) at a random r of norm xi,
    normalised per example.

    Reference: :func:`course_lib.methods.vat.adversarial_direction` (``n_power = 1``).
    """
    from course_lib.methods.vat import adversarial_direction, kl_divergence

    def run(fn, model, x, p, eps, xi, on, seed=0):
        torch.manual_seed(seed)
        return call(fn, model, x, p, eps, xi, on=on)

    def shape(fn):
        model, x, p = _vat_case((2,), 2, 40)
        r = run(fn, model, x, p, 0.3, 1e-6, "2-D points")
        same_shape(r, tuple(x.shape), "2-D points")
        model, x, p = _vat_case((1, 4, 4), 2, 41)
        r = run(fn, model, x, p, 0.3, 1e-6, "images (6, 1, 4, 4)")
        same_shape(r, tuple(x.shape), "images (6, 1, 4, 4)")

    def norm(fn):
        for in_shape, on in (((2,), "2-D points"), ((1, 4, 4), "images (6, 1, 4, 4)")):
            model, x, p = _vat_case(in_shape, 2, 42)
            r = run(fn, model, x, p, 0.3, 1e-6, on)
            norms = as_array(r).reshape(len(x), -1)
            norms = np.linalg.norm(norms, axis=1)
            if not np.allclose(norms, 0.3, rtol=1e-3):
                total = float(np.linalg.norm(as_array(r)))
                hint = (
                    " It looks normalised over the whole batch: normalise each example's "
                    "r separately (norm over every axis but the first)."
                    if np.isclose(total, 0.3, rtol=1e-3)
                    else ""
                )
                raise Fail(
                    f"every example's r_adv must have L2 norm eps = 0.3; yours range "
                    f"{norms.min():.3g}..{norms.max():.3g} ({on}).{hint}"
                )

    def direction(fn):
        model, x, p = _vat_case((3,), 2, 43)
        torch.manual_seed(0)
        want = as_array(adversarial_direction(model, x, p, 0.5, 1e-6, 1)).reshape(len(x), -1)
        got = as_array(run(fn, model, x, p, 0.5, 1e-6, "3-D points, 2 classes")).reshape(len(x), -1)
        cos = np.abs((got * want).sum(1)) / (
            np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1) + 1e-30
        )
        if not np.all(cos > 0.99):
            raise Fail(
                f"r_adv does not point in the adversarial direction for {int((cos <= 0.99).sum())} "
                f"of {len(x)} examples (|cosine| with the expected direction as low as "
                f"{cos.min():.2f}). Take the gradient of KL(p || f(x + r)) w.r.t. r."
            )

    def adversarial(fn):
        model, x, p = _vat_case((6,), 3, 44, n=8)
        r = run(fn, model, x, p, 0.5, 1e-6, "6-D points, 3 classes")
        with torch.no_grad():
            kl_adv = float(kl_divergence(p, model(x + _np_t(r))).mean())
            rng = gen(7)
            kl_rand = []
            for _ in range(20):
                d = torch.randn(x.shape, generator=rng, dtype=x.dtype)
                d = 0.5 * d / d.flatten(1).norm(dim=1).view(-1, 1)
                kl_rand.append(float(kl_divergence(p, model(x + d)).mean()))
        if kl_adv < np.max(kl_rand):
            raise Fail(
                "a random perturbation of the same norm changes the prediction more than yours: "
                f"KL {kl_adv:.3g} for r_adv vs up to {np.max(kl_rand):.3g} for random directions."
            )

    def no_param_grads(fn):
        model, x, p = _vat_case((2,), 2, 45)
        model.zero_grad(set_to_none=True)
        run(fn, model, x, p, 0.3, 1e-6, "2-D points")
        if any(q.grad is not None and q.grad.abs().sum() > 0 for q in model.parameters()):
            raise Fail(
                "your function left gradients in the model's parameters (.grad): use "
                "torch.autograd.grad(kl, r) so that only r is differentiated."
            )

    def detached(fn):
        model, x, p = _vat_case((2,), 2, 46)
        r = run(fn, model, x, p, 0.3, 1e-6, "2-D points")
        if r.requires_grad:
            raise Fail(
                "r_adv still requires grad: it must be a constant (detach it), otherwise the "
                "VAT loss backpropagates into the power iteration."
            )

    def bn_frozen(fn):
        model, x, p = _vat_case((2,), 2, 47, bn=True)
        model.train()
        bn = model.net[2]
        before = (bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone())
        run(fn, model, x, p, 0.3, 1e-6, "a network with BatchNorm in training mode")
        after = (bn.running_mean, bn.running_var, bn.num_batches_tracked)
        if any(not torch.equal(a, b) for a, b in zip(before, after, strict=True)):
            raise Fail(
                "the perturbed passes updated BatchNorm's running statistics: run them inside "
                "`with frozen_batchnorm_stats(model):`."
            )

    return run_checks(
        "check_adversarial_perturbation",
        fn,
        [
            ("shape (points and images)", shape),
            ("norm eps per example", norm),
            ("adversarial direction", direction),
            ("beats random directions", adversarial),
            ("no gradient left in the model", no_param_grads),
            ("r_adv is a constant", detached),
            ("BatchNorm statistics untouched", bn_frozen),
            (
                "x and p left unchanged",
                untouched(
                    lambda: (*_vat_case((2,), 2, 48), 0.3, 1e-6),
                    [None, "x", "p", None, None],
                    "2-D points",
                ),
            ),
        ],
        returns=tensor(
            lambda model, x, *_: x.shape, "a torch tensor shaped like x, the perturbation r_adv"
        ),
        quiet=quiet,
    )


def _np_t(r: Tensor) -> Tensor:
    return r.detach().double()
