"""Homework 4 (FixMatch / MixMatch): the unlabeled loss, sharpening and MixUp."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from course_lib.checks.core import (
    CheckReport,
    Fail,
    as_array,
    call,
    close,
    gen,
    grads_reach,
    pair,
    probs,
    randn,
    run_checks,
    same_shape,
    tensor,
    untouched,
)


def _ref_fixmatch(weak: Tensor, strong: Tensor, tau: float) -> Tensor:
    from course_lib.methods.pseudo_label import masked_cross_entropy, pseudo_labels

    q_hat, mask = pseudo_labels(weak, tau)
    return masked_cross_entropy(strong, q_hat, mask)


def check_fixmatch_loss(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(logits_weak, logits_strong, tau) -> loss``: FixMatch's unlabeled loss (Eq. 4),
    (1/(mu B)) sum_b 1[max q_b >= tau] CE(argmax q_b, p(y | A(u_b))), q = softmax(weak), no
    gradient through the pseudo-label.

    A hard arg-max label and a 0/1 mask carry no gradient, with or without ``.detach()``; the
    gradient property fails an answer in which the weak logits enter differentiably (a soft
    target, a confidence weight), which the value property also names.

    Reference: ``pseudo_labels`` and ``masked_cross_entropy`` of
    :mod:`course_lib.methods.pseudo_label`, as used by :class:`course_lib.methods.FixMatch`.
    """
    import torch.nn.functional as F

    def inputs(seed, n=12, c=3):
        return randn(n, c, seed=seed, scale=3.0), randn(n, c, seed=seed + 1, scale=2.0)

    def value(fn):
        w, s = inputs(50)
        tau = 0.8
        on = "random logits, tau = 0.8 (some examples pass)"
        got = call(fn, w, s, tau, on=on)
        conf, q_hat = w.softmax(1).max(1)
        mask = (conf >= tau).double()
        ce = F.cross_entropy(s, q_hat, reduction="none")
        close(
            got,
            _ref_fixmatch(w, s, tau),
            f"on {on}",
            mistakes={
                "divide by the whole unlabeled batch size (mu B), not by the number of confident "
                "examples (Eq. 4).": (ce * mask).sum() / mask.sum(),
                "the pseudo-label comes from the weak view, the prediction from the strong one.": (
                    F.cross_entropy(w, s.argmax(1), reduction="none")
                    * (s.softmax(1).max(1).values >= tau)
                ).mean(),
                "you forgot the confidence mask 1[max q >= tau].": ce.mean(),
                "use the hard pseudo-label argmax q, not the soft distribution q.": (
                    -(w.softmax(1) * s.log_softmax(1)).sum(1) * mask
                ).mean(),
            },
        )

    def none_confident(fn):
        w, s = randn(8, 4, seed=52, scale=0.1), randn(8, 4, seed=53)
        on = "no example reaches tau = 0.99"
        got = call(fn, w, s, 0.99, on=on)
        if not torch.isfinite(got) or abs(float(got)) > 1e-12:
            raise Fail(
                f"when no example is confident the loss must be 0, got {float(got):.3g} ({on})."
            )

    def all_confident(fn):
        w, s = inputs(54)
        tau = 0.25  # below 1/3: every example of 3 classes passes
        on = "tau = 0.25 < 1/C (every example passes)"
        close(call(fn, w, s, tau, on=on), _ref_fixmatch(w, s, tau), f"for {on}")

    def gradients(fn):
        on = "weak and strong logits that both require grad"
        gw, gs = grads_reach(fn, (*inputs(56), 0.8), [0, 1], on)
        if not gs:
            raise Fail("no gradient reaches the strong-view logits: that is what FixMatch trains.")
        if gw:  # a hard label and a 0/1 mask carry none: the weak view entered differentiably
            raise Fail(
                "a gradient flows into the weak-view logits: your loss uses them through a "
                "differentiable number (a soft target q, or a weight such as max q). The "
                "pseudo-label is a fixed target: the hard arg-max with the 0/1 mask, computed "
                "from logits_weak.detach() (or under torch.no_grad())."
            )

    def tau_monotone(fn):
        w, s = inputs(58, n=40)
        vals = [float(call(fn, w, s, t, on=f"tau = {t}")) for t in (0.5, 0.95)]
        if vals[1] > vals[0] + 1e-12:
            raise Fail(
                "raising tau must never add examples to the loss; yours grew from tau = 0.5 to "
                "tau = 0.95."
            )

    return run_checks(
        "check_fixmatch_loss",
        fn,
        [
            ("value on random logits", value),
            ("0 when nothing is confident", none_confident),
            ("every example passes a low tau", all_confident),
            ("gradient to the strong view only", gradients),
            ("higher tau keeps fewer examples", tau_monotone),
            (
                "logits left unchanged",
                untouched(
                    lambda: (*inputs(59), 0.8), ["logits_weak", "logits_strong", None], "tau = 0.8"
                ),
            ),
        ],
        returns=tensor(lambda *args: (), "a 0-d torch tensor, the loss (one number)"),
        quiet=quiet,
    )


def check_sharpen(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(p, T)``: MixMatch's Sharpen(p, T)_i = p_i^(1/T) / sum_j p_j^(1/T) (Eq. 7).

    Reference: :func:`course_lib.methods.mixmatch.sharpen`.
    """
    from course_lib.methods.mixmatch import sharpen

    def value(fn):
        p = probs(5, 4, seed=60)
        on = "random probabilities, T = 0.5"
        got = call(fn, p, 0.5, on=on)
        pt = p**0.5
        close(
            got,
            sharpen(p, 0.5),
            f"on {on}",
            mistakes={
                "the exponent is 1/T, not T (T < 1 must sharpen, i.e. lower the entropy).": (
                    pt / pt.sum(1, keepdim=True)
                ),
                "normalise each row so that it sums to 1.": p**2,
                "sharpening raises p to the power 1/T; a softmax of p/T is not the same.": (
                    torch.softmax(p / 0.5, dim=1)
                ),
            },
        )

    def sums_to_one(fn):
        p = probs(6, 3, seed=61)
        got = as_array(call(fn, p, 0.3, on="T = 0.3"))
        if not np.allclose(got.sum(-1), 1.0, atol=1e-6):
            raise Fail("each sharpened row must sum to 1 (it is a distribution).")

    def identity(fn):
        p = probs(4, 3, seed=62)
        close(call(fn, p, 1.0, on="T = 1"), p, "at T = 1 (must return p unchanged)")

    def lowers_entropy(fn):
        from course_lib.methods.base import entropy

        p = probs(8, 5, seed=63, scale=0.5)
        got = call(fn, p, 0.5, on="T = 0.5")
        h_in, h_out = entropy(p), entropy(torch.as_tensor(as_array(got)))
        if not torch.all(h_out <= h_in + 1e-9):
            raise Fail("with T < 1 the entropy of every row must go down; yours went up.")

    def small_T(fn):
        p = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]], dtype=torch.float64)
        got = as_array(call(fn, p, 0.05, on="T = 0.05"))
        if not np.all(np.isfinite(got)) or not np.allclose(got.argmax(1), [1, 0]):
            raise Fail("at small T (0.05) the result must be nearly one-hot on the arg-max.")
        if got.max(1).min() < 0.99:
            raise Fail("at T = 0.05 the largest probability must be above 0.99.")

    def one_hot_input(fn):
        p = torch.eye(3, dtype=torch.float64)
        close(call(fn, p, 0.5, on="one-hot p"), p, "for a one-hot p (must stay one-hot)")

    return run_checks(
        "check_sharpen",
        fn,
        [
            ("value at T = 0.5", value),
            ("rows sum to 1", sums_to_one),
            ("T = 1 changes nothing", identity),
            ("T < 1 lowers the entropy", lowers_entropy),
            ("small T gives a one-hot", small_T),
            ("one-hot input", one_hot_input),
            (
                "p left unchanged",
                untouched(lambda: (probs(3, 3, seed=64), 0.5), ["p", None], "T = 0.5"),
            ),
        ],
        returns=tensor(lambda p, T: p.shape, "a torch tensor shaped like p"),
        quiet=quiet,
    )


def check_mixup(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(x1, p1, x2, p2, lam) -> (x, p)``: MixMatch's MixUp (Eqs. 8-11) with
    lambda' = max(lambda, 1 - lambda), one lambda per example.

    Reference: :func:`course_lib.methods.mixmatch.mixup`.
    """
    from course_lib.methods.mixmatch import mixup

    def case(seed, x_shape=(4, 1, 3, 3), c=3):
        n = x_shape[0]
        x1, x2 = randn(*x_shape, seed=seed), randn(*x_shape, seed=seed + 1)
        p1, p2 = probs(n, c, seed=seed + 2), probs(n, c, seed=seed + 3)
        lam = torch.rand(n, generator=gen(seed + 4), dtype=torch.float64)
        return x1, p1, x2, p2, lam

    def shapes(fn):
        args = case(70)
        x, p = call(fn, *args, on="4 images (1, 3, 3), 3 classes")
        same_shape(x, tuple(args[0].shape), "the mixed images")
        same_shape(p, tuple(args[1].shape), "the mixed targets")

    def value(fn):
        x1, p1, x2, p2, lam = args = case(71)
        on = "random images and targets, one lambda per example"
        x, p = call(fn, *args, on=on)
        want_x, want_p = mixup(*args)
        lv = lam.view(-1, 1, 1, 1)
        close(
            x,
            want_x,
            f"of the mixed images ({on})",
            mistakes={
                "use lambda' = max(lambda, 1 - lambda) (Eq. 9), so the mix stays closer to x1.": (
                    lv * x1 + (1 - lv) * x2
                ),
                "lambda' weighs x1 and (1 - lambda') weighs x2, not the other way round.": (
                    (1 - torch.maximum(lv, 1 - lv)) * x1 + torch.maximum(lv, 1 - lv) * x2
                ),
            },
        )
        lp = torch.maximum(lam, 1 - lam).view(-1, 1)
        close(
            p,
            want_p,
            f"of the mixed targets ({on})",
            mistakes={
                "mix the targets with the same lambda' as the inputs.": (1 - lp) * p1 + lp * p2,
                "use lambda' = max(lambda, 1 - lambda) for the targets too.": (
                    lam.view(-1, 1) * p1 + (1 - lam.view(-1, 1)) * p2
                ),
            },
        )

    def per_example(fn):
        args = case(72, x_shape=(5, 2))
        x, _ = call(fn, *args, on="2-D points")
        close(x, mixup(*args)[0], "for 2-D points (lambda has one value per example)")

    def edge_lambda(fn):
        x1, p1, x2, p2, _ = case(73)
        for value_ in (0.0, 1.0):
            lam = torch.full((x1.shape[0],), value_, dtype=torch.float64)
            x, p = call(fn, x1, p1, x2, p2, lam, on=f"lambda = {value_:g}")
            close(x, x1, f"at lambda = {value_:g} (lambda' = 1: the images must equal x1)")
            close(p, p1, f"at lambda = {value_:g} (lambda' = 1: the targets must equal p1)")

    def closer_to_first(fn):
        x1, p1, x2, p2, _ = case(74)
        lam = torch.tensor([0.1, 0.3, 0.6, 0.9], dtype=torch.float64)
        x, _ = call(fn, x1, p1, x2, p2, lam, on="lambda = 0.1, 0.3, 0.6, 0.9")
        x = torch.as_tensor(as_array(x))
        d1 = (x - x1).flatten(1).norm(dim=1)
        d2 = (x - x2).flatten(1).norm(dim=1)
        if not torch.all(d1 <= d2 + 1e-9):
            raise Fail("every mixed example must stay at least as close to x1 as to x2.")

    def targets_valid(fn):
        x, p = call(fn, *case(75), on="random lambda")
        p = as_array(p)
        if not np.allclose(p.sum(1), 1.0) or p.min() < -1e-12:
            raise Fail("mixed targets must stay probability distributions (rows sum to 1).")

    return run_checks(
        "check_mixup",
        fn,
        [
            ("shapes", shapes),
            ("value", value),
            ("one lambda per example (points)", per_example),
            ("lambda = 0 and 1", edge_lambda),
            ("closer to x1 than to x2", closer_to_first),
            ("targets stay distributions", targets_valid),
            (
                "inputs left unchanged",
                untouched(lambda: case(76), ["x1", "p1", "x2", "p2", "lam"], "random lambda"),
            ),
        ],
        returns=pair(
            tensor(lambda x1, *_: x1.shape, "a tensor shaped like x1"),
            tensor(lambda x1, p1, *_: p1.shape, "a tensor shaped like p1"),
            "a pair (mixed_x, mixed_p) of torch tensors shaped like x1 and p1",
        ),
        quiet=quiet,
    )
