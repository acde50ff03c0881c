"""Chapter 06's checked exercises (MixMatch, FixMatch), with the instructors' solution sketches.

- Exercise 06.1: MixMatch's label guess -- average over K augmentations (Eq. 6, the consistency
  strategy), then sharpen (Eq. 7, the entropy-minimisation strategy).
- Exercise 06.2: FixMatch with a *soft* confidence weight instead of the hard threshold: every
  unlabeled example counts, weighted by w_b = max q_b, with no gradient through the weight.

Each ``check_ex06_k(answer)`` runs :func:`course_lib.checks.core.exercise`: ``None`` or a stub
that raises ``NotImplementedError`` prints the hint; a wrong answer fails with the hint.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from course_lib.checks.core import (
    CheckReport,
    Fail,
    call,
    close,
    exercise,
    grads_reach,
    probs,
    randn,
    tensor,
    untouched,
)

# --- Exercise 06.1: MixMatch's label guess ------------------------------------------------------


def solution_ex06_1(p: Tensor, T: float) -> Tensor:
    """Solution sketch: the mean over the K views (dim 0) is the guess of Eq. 6; raising it to the
    power 1/T and renormalising is Sharpen (Eq. 7). Average first, then sharpen: sharpening each
    view and averaging gives a softer guess than the paper's."""
    q_bar = p.mean(0)  # Eq. 6: (K, B, C) -> (B, C)
    q = q_bar ** (1.0 / T)  # Eq. 7
    return q / q.sum(1, keepdim=True)


def _ref_guess(p: Tensor, T: float) -> Tensor:
    from course_lib.methods.mixmatch import sharpen

    return sharpen(p.mean(0), T)


def _views(K: int, B: int, C: int, seed: int) -> Tensor:
    """(K, B, C) class probabilities: K augmented views of B unlabeled examples."""
    return probs(K * B, C, seed=seed).view(K, B, C)


def check_ex06_1(answer) -> CheckReport | None:
    """``answer(p, T) -> q``: ``p`` (K, B, C) predictions on K augmentations of B unlabeled
    examples, ``q`` (B, C) MixMatch's guessed label, Sharpen(mean_k p_k, T) (Eqs. 6-7)."""

    def value(fn):
        p, T = _views(2, 6, 4, seed=600), 0.5
        on = "K = 2 views of 6 examples, 4 classes, T = 0.5"
        got = call(fn, p, T, on=on)
        sharp = p ** (1 / T)
        close(
            got,
            _ref_guess(p, T),
            f"on {on}",
            mistakes={
                "average over the K views first (Eq. 6), then sharpen the average (Eq. 7); "
                "you sharpened each view and averaged.": (sharp / sharp.sum(2, keepdim=True)).mean(
                    0
                ),
                "the exponent of Sharpen is 1/T, not T.": _ref_guess(p, 1 / T),
                "you forgot to sharpen (Eq. 7): the guess is only the average.": p.mean(0),
                "divide by the sum over the classes of the sharpened average, so that each "
                "row sums to 1.": p.mean(0) ** (1 / T),
            },
        )

    def t_one_is_the_average(fn):
        p = _views(3, 5, 3, seed=601)
        on = "T = 1 (no sharpening), K = 3"
        close(call(fn, p, 1.0, on=on), p.mean(0), f"for {on}: the guess must be the plain average")

    def k_one(fn):
        p = _views(1, 5, 3, seed=602)
        on = "K = 1 (one view)"
        close(call(fn, p, 0.5, on=on), _ref_guess(p, 0.5), f"for {on}")

    def lower_entropy(fn):
        p = _views(2, 8, 5, seed=603)
        q = call(fn, p, 0.5, on="T = 0.5")
        entropy = lambda d: float(-(d * d.clamp_min(1e-12).log()).sum(1).mean())  # noqa: E731
        if not entropy(q) < entropy(p.mean(0)):
            raise Fail("with T < 1 the guess must have lower entropy than the plain average.")

    return exercise(
        "Exercise 06.1 (MixMatch's label guess)",
        answer,
        [
            ("value on random predictions", value),
            ("T = 1 leaves the average", t_one_is_the_average),
            ("works for K = 1", k_one),
            ("T < 1 lowers the entropy", lower_entropy),
            (
                "input left unchanged",
                untouched(lambda: (_views(2, 4, 3, seed=604), 0.5), ["p", None], "T = 0.5"),
            ),
        ],
        hint="p.mean(0) is Eq. 6; then p_i ** (1 / T) / sum_j p_j ** (1 / T) over the classes "
        "(Eq. 7).",
        returns=tensor(lambda p, T: (p.shape[1], p.shape[2]), "a (B, C) tensor of guessed labels"),
    )


# --- Exercise 06.2: FixMatch with a soft confidence weight --------------------------------------


def solution_ex06_2(logits_weak: Tensor, logits_strong: Tensor) -> Tensor:
    """Solution sketch: the target and the weight both come from the weak view and are constants
    (computed under ``no_grad``); every example counts, weighted by its confidence max q_b; the
    sum is divided by the whole unlabeled batch (mu B), as in Eq. 4 with the indicator replaced
    by w_b."""
    with torch.no_grad():
        w, q_hat = logits_weak.softmax(1).max(1)
    return (w * F.cross_entropy(logits_strong, q_hat, reduction="none")).mean()


def check_ex06_2(answer) -> CheckReport | None:
    """``answer(logits_weak, logits_strong) -> loss``: (1 / mu B) sum_b w_b H(argmax q_b,
    p(y | A(u_b))) with w_b = max q_b, q_b = softmax(logits_weak) -- FixMatch's Eq. 4 with the
    indicator 1[max q_b >= tau] replaced by the soft weight; no gradient through q."""

    def inputs(seed, n=10, c=3):
        return randn(n, c, seed=seed, scale=3.0), randn(n, c, seed=seed + 1, scale=2.0)

    def value(fn):
        w, s = inputs(610)
        on = "random weak and strong logits"
        conf, q_hat = w.softmax(1).max(1)
        ce = F.cross_entropy(s, q_hat, reduction="none")
        close(
            call(fn, w, s, on=on),
            solution_ex06_2(w, s),
            f"on {on}",
            mistakes={
                "divide by the whole unlabeled batch (mu B), not by the sum of the weights.": (
                    (conf * ce).sum() / conf.sum()
                ),
                "the weight multiplies each example's loss: you forgot it.": ce.mean(),
                "the pseudo-label comes from the weak view, the prediction from the strong one.": (
                    s.softmax(1).max(1).values * F.cross_entropy(w, s.argmax(1), reduction="none")
                ).mean(),
                "the target is the hard label argmax q_b, not the distribution q_b.": (
                    conf * -(w.softmax(1) * s.log_softmax(1)).sum(1)
                ).mean(),
            },
        )

    def confident_weak(fn):
        w, s = inputs(612)
        w = 100.0 * F.one_hot(w.argmax(1), 3).double()  # every weak prediction one-hot: w_b = 1
        on = "very confident weak logits (every w_b = 1)"
        ce = F.cross_entropy(s, w.argmax(1))
        close(call(fn, w, s, on=on), ce, f"for {on}: the loss is plain cross-entropy")

    def gradients(fn):
        on = "weak and strong logits that both require grad"
        gw, gs = grads_reach(fn, inputs(614), [0, 1], on)
        if not gs:
            raise Fail("no gradient reaches the strong-view logits: they are what is trained.")
        if gw:
            raise Fail(
                "a gradient flows into the weak-view logits: the target and its weight are "
                "constants; compute them from logits_weak.detach() (or under torch.no_grad())."
            )

    return exercise(
        "Exercise 06.2 (FixMatch with a soft weight)",
        answer,
        [
            ("value on random logits", value),
            ("one-hot weak views give plain cross-entropy", confident_weak),
            ("gradient to the strong view only", gradients),
            (
                "logits left unchanged",
                untouched(lambda: inputs(616), ["logits_weak", "logits_strong"], "random logits"),
            ),
        ],
        hint="q = softmax(logits_weak) without gradient; w, q_hat = q.max(1); "
        "mean over the batch of w * cross_entropy(logits_strong, q_hat, reduction='none').",
        returns=tensor(lambda *args: (), "a 0-d torch tensor, the loss (one number)"),
    )
