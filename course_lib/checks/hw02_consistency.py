"""Homework 2 (consistency): the Π-model and Mean Teacher consistency terms, the EMA teacher."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from course_lib.checks.core import (
    CheckReport,
    Fail,
    call,
    close,
    gen,
    grads_reach,
    randn,
    run_checks,
    tensor,
    untouched,
)


def _ref_pi(logits_1: Tensor, logits_2: Tensor) -> Tensor:
    # the consistency term of PiModel.loss: (1/(C|B|)) sum ||z - z~||^2 on softmax outputs
    return ((logits_1.softmax(1) - logits_2.softmax(1)) ** 2).mean()


def _ref_mt(student: Tensor, teacher: Tensor) -> Tensor:
    # the consistency term of MeanTeacher.loss: the teacher's output is a constant target
    return ((student.softmax(1) - teacher.detach().softmax(1)) ** 2).mean()


def _consistency_value(ref):
    def value(fn):
        a, b = randn(6, 3, seed=10, scale=2), randn(6, 3, seed=11, scale=2)
        on = "random logits, 6 examples x 3 classes"
        close(
            call(fn, a, b, on=on),
            ref(a, b),
            f"on {on}",
            mistakes={
                "compare softmax probabilities, not raw logits.": ((a - b) ** 2).mean(),
                "average over examples *and* classes (.mean() of the squared differences), "
                "not sum.": ((a.softmax(1) - b.softmax(1)) ** 2).sum(),
                "average over examples and classes: (1/(C|B|)) sum ||z - z~||^2, not only "
                "over examples.": ((a.softmax(1) - b.softmax(1)) ** 2).sum(1).mean(),
            },
        )

    return value


def _equal_inputs_zero(fn):
    a = randn(4, 5, seed=12)
    got = call(fn, a, a, on="two identical batches")
    if abs(float(got)) > 1e-9:
        raise Fail("two identical predictions must give a consistency loss of 0.")


def _shift_invariant(fn):
    a, b = randn(4, 3, seed=13), randn(4, 3, seed=14)
    on = "logits shifted by a constant"
    g1 = call(fn, a, b, on=on)
    g2 = call(fn, a + 5.0, b - 3.0, on=on)
    if not torch.isclose(g1.detach(), g2.detach(), rtol=1e-5, atol=1e-9):
        raise Fail(
            "adding a constant to all logits of an example does not change its probabilities, "
            "so it must not change the loss: compare softmax outputs."
        )


def _check_consistency(name, fn, ref, gradient: tuple[str, Callable], names, quiet):
    """The Π-model and Mean Teacher share their consistency term but for the gradient rule."""
    untouched_ = untouched(lambda: (randn(4, 3, seed=19), randn(4, 3, seed=20)), names, "logits")
    return run_checks(
        name,
        fn,
        [
            ("value on random logits", _consistency_value(ref)),
            ("0 for identical predictions", _equal_inputs_zero),
            ("invariant to a logit shift (uses softmax)", _shift_invariant),
            gradient,
            ("logits left unchanged", untouched_),
        ],
        returns=tensor(lambda *args: (), "a 0-d torch tensor, the loss (one number)"),
        quiet=quiet,
    )


def check_pi_consistency(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(logits_1, logits_2) -> loss``, the Π-model consistency
    (1/(C|B|)) sum_i ||softmax(z_i) - softmax(z~_i)||^2 with gradient through BOTH branches.

    Reference: the consistency term of :class:`course_lib.methods.PiModel`.
    """

    def gradient_both(fn):
        on = "two random batches with requires_grad"
        ga, gb = grads_reach(fn, (randn(5, 3, seed=15), randn(5, 3, seed=16)), [0, 1], on)
        if not ga or not gb:
            which = "first" if not ga else "second"
            raise Fail(
                f"no gradient reaches the {which} pass: in the Π-model both stochastic passes are "
                "trained (do not detach either of them)."
            )

    gradient = ("gradient through both passes", gradient_both)
    names = ["logits_1", "logits_2"]
    return _check_consistency("check_pi_consistency", fn, _ref_pi, gradient, names, quiet)


def check_mean_teacher_consistency(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(student_logits, teacher_logits) -> loss``: Mean Teacher's consistency
    (1/(C|B|)) sum_i ||softmax(s_i) - softmax(t_i)||^2 with the teacher a constant target.

    Reference: the consistency term of :class:`course_lib.methods.MeanTeacher`.
    """

    def gradients(fn):
        on = "student and teacher logits that both require grad"
        gs, gt = grads_reach(fn, (randn(5, 3, seed=17), randn(5, 3, seed=18)), [0, 1], on)
        if not gs:
            raise Fail(
                "no gradient reaches the student: the consistency term must train the student "
                "(this is the bug of USB issue #226). Detach only the teacher."
            )
        if gt:
            raise Fail(
                "a gradient reaches the teacher's logits: the teacher is a target, detach it "
                "(teacher_logits.detach()); its weights change only by the EMA."
            )

    gradient = ("gradient to the student, none to the teacher", gradients)
    names = ["student_logits", "teacher_logits"]
    return _check_consistency("check_mean_teacher_consistency", fn, _ref_mt, gradient, names, quiet)


def _ema_pair(seed: int, bn: bool = False) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(3, 4)]
    if bn:
        layers.append(nn.BatchNorm1d(4))
    layers += [nn.ReLU(), nn.Linear(4, 2)]
    student = nn.Sequential(*layers).double()
    teacher = copy.deepcopy(student)
    with torch.no_grad():  # the teacher has drifted from the student: a non-trivial average
        for p in teacher.parameters():
            p.add_(torch.randn(p.shape, generator=gen(seed + 1), dtype=p.dtype))
    for p in teacher.parameters():
        p.requires_grad_(False)  # as in MeanTeacher.setup
    if bn:  # give the student some running statistics to copy
        student.train()
        student(torch.randn(16, 3, generator=gen(seed + 2), dtype=torch.float64))
    return teacher, student


def _ref_ema(teacher: nn.Module, student: nn.Module, alpha: float) -> nn.Module:
    """The library's update: MeanTeacher.after_step, past its warm-up (decay = alpha)."""
    from course_lib.methods import MeanTeacher

    mt = MeanTeacher(alpha=alpha)
    mt.teacher = copy.deepcopy(teacher)
    mt.after_step(student, step=10**9)
    return mt.teacher


def _params(model: nn.Module) -> np.ndarray:
    return np.concatenate([p.detach().double().flatten().numpy() for p in model.parameters()])


def check_ema_update(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(teacher, student, alpha)``: the in-place EMA theta' <- alpha theta' +
    (1 - alpha) theta (Mean Teacher, eq. 3), buffers (BatchNorm statistics) copied.

    Reference: :meth:`course_lib.methods.MeanTeacher.after_step` (after its warm-up).
    """

    def value(fn):
        teacher, student = _ema_pair(20)
        want = _ref_ema(teacher, student, 0.9)
        before = _params(teacher)
        on = "alpha = 0.9"
        out = call(fn, teacher, student, 0.9, on=on)
        got = _params(teacher)
        if np.array_equal(got, before):
            hint = (
                " Your function returned something instead: update the teacher's parameters in "
                "place (p_t.mul_(...).add_(...) under torch.no_grad())."
                if out is not None
                else " Update its parameters in place (p_t.mul_(...).add_(...))."
            )
            raise Fail(f"the teacher's parameters did not change ({on}).{hint}")
        t0, s0 = _ema_pair(20)
        swapped = _params(_ref_ema(t0, s0, 0.1))  # (1 - alpha) theta' + alpha theta
        close(
            got,
            _params(want),
            f"of the teacher's parameters after one update ({on})",
            mistakes={
                "the decay is on the wrong side: theta' <- alpha theta' + (1 - alpha) theta "
                "(the teacher keeps alpha of itself).": swapped,
                "that is the student's weights: the teacher must move only a little towards "
                "the student.": _params(s0),
            },
        )

    def student_untouched(fn):
        teacher, student = _ema_pair(21)
        before = _params(student)
        call(fn, teacher, student, 0.9, on="alpha = 0.9")
        if not np.array_equal(before, _params(student)):
            raise Fail("your function changed the student's parameters; only the teacher moves.")

    def alpha_zero(fn):
        teacher, student = _ema_pair(22)
        call(fn, teacher, student, 0.0, on="alpha = 0")
        close(_params(teacher), _params(student), "at alpha = 0 (the teacher becomes the student)")

    def alpha_one(fn):
        teacher, student = _ema_pair(23)
        before = _params(teacher)
        call(fn, teacher, student, 1.0, on="alpha = 1")
        close(_params(teacher), before, "at alpha = 1 (the teacher must not move)")

    def repeated(fn):
        teacher, student = _ema_pair(24)
        want = teacher
        for _ in range(5):
            want = _ref_ema(want, student, 0.7)
        for _ in range(5):
            call(fn, teacher, student, 0.7, on="five updates, alpha = 0.7")
        close(_params(teacher), _params(want), "after five updates with alpha = 0.7")

    def buffers(fn):
        teacher, student = _ema_pair(25, bn=True)
        call(fn, teacher, student, 0.9, on="a network with BatchNorm")
        for (name, bt), bs in zip(teacher.named_buffers(), student.buffers(), strict=True):
            if not torch.equal(bt, bs):
                raise Fail(
                    f"the teacher's buffer {name!r} (BatchNorm statistics) was not copied from "
                    "the student: for b_t, b_s in zip(teacher.buffers(), student.buffers()): "
                    "b_t.copy_(b_s)."
                )

    def no_grad_graph(fn):
        teacher, student = _ema_pair(26)
        call(fn, teacher, student, 0.5, on="alpha = 0.5")
        for p in teacher.parameters():
            if p.grad_fn is not None or p.requires_grad:
                raise Fail(
                    "the teacher's parameters now require grad or hold a graph: do the update "
                    "under torch.no_grad() on the existing tensors."
                )

    return run_checks(
        "check_ema_update",
        fn,
        [
            ("value after one update", value),
            ("student left unchanged", student_untouched),
            ("alpha = 0 copies the student", alpha_zero),
            ("alpha = 1 keeps the teacher", alpha_one),
            ("five updates in a row", repeated),
            ("BatchNorm buffers copied", buffers),
            ("teacher stays out of autograd", no_grad_graph),
        ],
        quiet=quiet,
    )
