"""Homework checkers: run a student's function against the library's reference implementation.

Every ``check_xxx(student_fn)`` calls ``student_fn`` on a few random and edge-case inputs (built
from fixed seeds, so a failure is reproducible), compares what comes back with the reference
implementation in ``course_lib`` and tests the properties the method needs (shape, value at an
edge case, gradient flow, the input left untouched, determinism...). It never prints the
reference answer: a failure says *which property* failed, on *which kind of input*, and by how
much, plus a hint when the answer matches a known typical mistake.

- All properties hold: a one-line summary is printed and a :class:`CheckReport` returned.
- A property fails: :class:`CheckFailed` (an ``AssertionError``) is raised; its message lists
  every property with a tick or a cross. The check cell of the notebook shows it in red.
- The function still raises ``NotImplementedError`` (the stub): :class:`CheckFailed` says so.

The checkers, grouped by homework notebook:

1. LapSVM: :func:`check_laplacian`, :func:`check_deformed_kernel`
2. Consistency: :func:`check_pi_consistency`, :func:`check_mean_teacher_consistency`,
   :func:`check_ema_update`
3. VAT: :func:`check_kl_divergence`, :func:`check_adversarial_perturbation`
4. FixMatch / MixMatch: :func:`check_fixmatch_loss`, :func:`check_sharpen`, :func:`check_mixup`
5. CAM: :func:`check_cam`, :func:`check_map_to_box`
6. Box-to-mask: :func:`check_box_i_labels`, :func:`check_denoise`
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "CheckFailed",
    "CheckReport",
    "check_adversarial_perturbation",
    "check_box_i_labels",
    "check_cam",
    "check_deformed_kernel",
    "check_denoise",
    "check_ema_update",
    "check_fixmatch_loss",
    "check_kl_divergence",
    "check_laplacian",
    "check_map_to_box",
    "check_mean_teacher_consistency",
    "check_mixup",
    "check_pi_consistency",
    "check_sharpen",
]

NOT_IMPLEMENTED = (
    "not implemented yet: your function still raises NotImplementedError. Replace the "
    "`raise NotImplementedError()` line with your code, run that cell, then run this check again."
)


class CheckFailed(AssertionError):
    """A homework check failed; the message says which property, in plain words."""


@dataclass
class CheckReport:
    """What a passing check returns: the checker's name and the properties that held."""

    name: str
    passed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return f"✓ {self.name}: all {len(self.passed)} checks passed ({', '.join(self.passed)})"


class _Fail(Exception):
    """One property failed (message in plain words)."""


class _NotDone(Exception):
    """The student's function raised NotImplementedError."""


# --- the machinery ----------------------------------------------------------------------------


def _run(name: str, fn, properties: Sequence[tuple[str, Callable]], *, quiet: bool = False):
    if not callable(fn):
        raise CheckFailed(f"{name}: expected your function, got {type(fn).__name__} ({fn!r}).")
    passed, failed = [], []
    for title, prop in properties:
        try:
            prop(fn)
        except _NotDone:
            raise CheckFailed(f"{name}: {NOT_IMPLEMENTED}") from None
        except _Fail as err:
            failed.append((title, str(err)))
        else:
            passed.append(title)
    if failed:
        lines = [f"{name}: {len(failed)} of {len(properties)} checks failed."]
        lines += [f"  ✓ {t}" for t in passed]
        lines += [f"  ✗ {t}: {msg}" for t, msg in failed]
        raise CheckFailed("\n".join(lines))
    report = CheckReport(name, passed)
    if not quiet:
        print(report)
    return report


def _call(fn, *args, on: str):
    """Call the student's function; turn its exceptions into plain-words failures."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise _NotDone() from None
    except (_Fail, _NotDone):
        raise
    except Exception as err:  # noqa: BLE001 - any error of the student's code is reported
        raise _Fail(f"your function raised {type(err).__name__}: {err} (input: {on}).") from None


def _np(value, what: str = "your result") -> np.ndarray:
    if isinstance(value, Tensor):
        return value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Fail(f"{what} is a {type(value).__name__}, not an array or tensor.") from None


def _expect_tensor(value, on: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise _Fail(f"return a torch tensor, got {type(value).__name__} ({on}).")
    return value


def _same_shape(got, want_shape: tuple, on: str) -> None:
    shape = tuple(np.shape(_np(got)))
    if shape != tuple(want_shape):
        hint = (
            " Return one value per example; do not average over the batch."
            if (shape == () and len(want_shape) == 1)
            else ""
        )
        raise _Fail(f"your result has shape {shape}, expected {tuple(want_shape)} ({on}).{hint}")


def _close(got, want, on: str, *, rtol=1e-4, atol=1e-6, mistakes: dict | None = None) -> None:
    """Compare values; on a mismatch say how big it is and name a matching known mistake."""
    g, w = _np(got), _np(want)
    _same_shape(g, w.shape, on)
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(w)):
        raise _Fail(f"your result contains NaN or inf ({on}).")
    if np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True):
        return
    diff = float(np.nanmax(np.abs(g - w))) if g.size else 0.0
    msg = f"wrong value {on}: the largest difference from the expected result is {diff:.3g}."
    for hint, wrong in (mistakes or {}).items():
        wv = _np(wrong)
        if wv.shape == g.shape and np.allclose(g, wv, rtol=rtol, atol=atol):
            msg += f" Hint: {hint}"
            break
    raise _Fail(msg)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape, seed: int, scale: float = 1.0) -> Tensor:
    return torch.randn(*shape, generator=_gen(seed), dtype=torch.float64) * scale


def _probs(n: int, c: int, seed: int, scale: float = 2.0) -> Tensor:
    return torch.softmax(_randn(n, c, seed=seed, scale=scale), dim=1)


def _unchanged(before, after, what: str, on: str) -> None:
    if not np.array_equal(_np(before), _np(after)):
        raise _Fail(f"your function changed {what} in place ({on}); work on a copy instead.")


def _scalar(value, on: str) -> Tensor:
    value = _expect_tensor(value, on)
    if value.ndim != 0:
        raise _Fail(
            f"the loss must be one number (a 0-d tensor), got shape {tuple(value.shape)} ({on}): "
            "average over the batch."
        )
    return value


def _grad_of(output: Tensor, inputs: Sequence[Tensor], on: str) -> list[Tensor | None]:
    """Gradients of ``output.sum()`` w.r.t. ``inputs`` (None where no gradient flows)."""
    if not output.requires_grad:
        return [None] * len(inputs)
    try:
        return list(torch.autograd.grad(output.sum(), list(inputs), allow_unused=True))
    except RuntimeError as err:
        raise _Fail(f"backpropagating through your result failed: {err} ({on}).") from None


def _has_grad(g: Tensor | None) -> bool:
    return g is not None and bool(g.abs().sum() > 0)


# --- 1. LapSVM: graph Laplacian and deformed kernel --------------------------------------------


def _random_graph(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.uniform(0.1, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.4)
    W = np.triu(W, 1)
    return W + W.T


def _random_kernel(n: int, seed: int) -> np.ndarray:
    from course_lib.classic import rbf

    X = np.random.default_rng(seed).normal(size=(n, 2))
    return rbf(X, sigma=1.0)


def check_laplacian(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(W) -> L``, the (unnormalised) graph Laplacian ``L = D - W`` as a dense array.

    Reference: :func:`course_lib.classic.graph_laplacian`.
    """
    from course_lib.classic import graph_laplacian

    def ref(W):
        return graph_laplacian(W).toarray()

    def shape(fn):
        W = _random_graph(6, 0)
        _same_shape(_call(fn, W.copy(), on="a 6-node graph"), (6, 6), "a 6-node graph")

    def value(fn):
        W = _random_graph(7, 1)
        D = np.diag(W.sum(1))
        _close(
            _call(fn, W.copy(), on="a random weighted graph"),
            ref(W),
            "on a random weighted graph",
            mistakes={
                "the sign is flipped: L = D - W, not W - D.": W - D,
                "the diagonal must hold the degrees d_i = sum_j W_ij (D - W).": -W,
                "this is the normalised Laplacian; here use L = D - W.": graph_laplacian(
                    W, normalized=True
                ).toarray(),
            },
        )

    def rows_sum_to_zero(fn):
        W = _random_graph(5, 2)
        L = _np(_call(fn, W.copy(), on="a random graph"))
        if not np.allclose(L.sum(1), 0.0, atol=1e-8):
            raise _Fail("each row of L must sum to 0 (so constant functions are perfectly smooth).")

    def smoothness_identity(fn):
        W = _random_graph(6, 3)
        f = np.random.default_rng(3).normal(size=6)
        L = _np(_call(fn, W.copy(), on="a random graph"))
        want = 0.5 * np.sum(W * (f[:, None] - f[None, :]) ** 2)
        if not np.isclose(f @ L @ f, want, rtol=1e-6):
            raise _Fail(
                "f^T L f must equal 1/2 sum_ij W_ij (f_i - f_j)^2 for every f; it does not."
            )

    def edge_no_edges(fn):
        W = np.zeros((4, 4))
        _close(_call(fn, W.copy(), on="a graph without edges"), ref(W), "on a graph without edges")

    def input_untouched(fn):
        W = _random_graph(5, 4)
        W0 = W.copy()
        _call(fn, W, on="a random graph")
        _unchanged(W0, W, "W", "a random graph")

    return _run(
        "check_laplacian",
        fn,
        [
            ("shape", shape),
            ("value on a random graph", value),
            ("rows sum to 0", rows_sum_to_zero),
            ("f^T L f = 1/2 sum W (f_i - f_j)^2", smoothness_identity),
            ("graph without edges", edge_no_edges),
            ("W left unchanged", input_untouched),
        ],
        quiet=quiet,
    )


def check_deformed_kernel(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(K, L, r) -> K_tilde = K (I + r L K)^{-1}`` on the training points.

    Reference: :func:`course_lib.classic.deformed_kernel` (its first output, all columns).
    """
    from course_lib.classic import deformed_kernel, graph_laplacian

    def case(n, seed):
        return _random_kernel(n, seed), graph_laplacian(_random_graph(n, seed + 100)).toarray()

    def ref(K, L, r):
        return deformed_kernel(K, L, r)[0]

    def shape(fn):
        K, L = case(6, 0)
        _same_shape(_call(fn, K.copy(), L.copy(), 0.5, on="n = 6, r = 0.5"), (6, 6), "n = 6")

    def value(fn):
        K, L = case(8, 1)
        r = 0.7
        eye = np.eye(8)
        _close(
            _call(fn, K.copy(), L.copy(), r, on="a random kernel and graph, r = 0.7"),
            ref(K, L, r),
            "on a random kernel and graph (r = 0.7)",
            rtol=1e-5,
            atol=1e-8,
            mistakes={
                "check the sign: K~ = K (I + r L K)^-1, a plus.": K
                @ np.linalg.inv(eye - r * L @ K),
                "you forgot the leading K: K~ = K (I + r L K)^-1.": np.linalg.inv(eye + r * L @ K),
                "the order inside the inverse matters: (I + r L K), not (I + r K L).": K
                @ np.linalg.inv(eye + r * K @ L),
            },
        )

    def r_zero(fn):
        K, L = case(5, 2)
        _close(_call(fn, K.copy(), L.copy(), 0.0, on="r = 0"), K, "at r = 0 (must give K back)")

    def symmetric(fn):
        K, L = case(7, 3)
        Kt = _np(_call(fn, K.copy(), L.copy(), 2.0, on="r = 2"))
        if not np.allclose(Kt, Kt.T, atol=1e-8):
            raise _Fail("K~ must be symmetric (it is a kernel); yours is not at r = 2.")

    def shrinks_rough_directions(fn):
        # the graph term penalises f = K alpha that varies along edges: K~ is "smaller" than K
        K, L = case(7, 4)
        Kt = _np(_call(fn, K.copy(), L.copy(), 5.0, on="r = 5"))
        if np.trace(Kt) > np.trace(K) + 1e-9:
            raise _Fail(
                "the deformed kernel must not be larger than K (trace(K~) <= trace(K)); the graph "
                "penalty can only remove capacity."
            )

    def input_untouched(fn):
        K, L = case(5, 5)
        K0, L0 = K.copy(), L.copy()
        _call(fn, K, L, 1.0, on="r = 1")
        _unchanged(K0, K, "K", "r = 1")
        _unchanged(L0, L, "L", "r = 1")

    return _run(
        "check_deformed_kernel",
        fn,
        [
            ("shape", shape),
            ("value on a random kernel", value),
            ("r = 0 gives K", r_zero),
            ("symmetric", symmetric),
            ("no larger than K", shrinks_rough_directions),
            ("K and L left unchanged", input_untouched),
        ],
        quiet=quiet,
    )


# --- 2. consistency: Pi-model, Mean Teacher, EMA ----------------------------------------------


def _ref_pi(logits_1: Tensor, logits_2: Tensor) -> Tensor:
    # the consistency term of PiModel.loss: (1/(C|B|)) sum ||z - z~||^2 on softmax outputs
    return ((logits_1.softmax(1) - logits_2.softmax(1)) ** 2).mean()


def _ref_mt(student: Tensor, teacher: Tensor) -> Tensor:
    # the consistency term of MeanTeacher.loss: the teacher's output is a constant target
    return ((student.softmax(1) - teacher.detach().softmax(1)) ** 2).mean()


def _consistency_value(fn, ref, name):
    def value(fn):
        a, b = _randn(6, 3, seed=10, scale=2), _randn(6, 3, seed=11, scale=2)
        on = "random logits, 6 examples x 3 classes"
        got = _scalar(_call(fn, a.clone(), b.clone(), on=on), on)
        _close(
            got,
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
    a = _randn(4, 5, seed=12)
    got = _scalar(_call(fn, a.clone(), a.clone(), on="two identical batches"), "identical")
    if abs(float(got)) > 1e-9:
        raise _Fail("two identical predictions must give a consistency loss of 0.")


def _shift_invariant(fn):
    a, b = _randn(4, 3, seed=13), _randn(4, 3, seed=14)
    on = "logits shifted by a constant"
    g1 = _scalar(_call(fn, a.clone(), b.clone(), on=on), on)
    g2 = _scalar(_call(fn, a + 5.0, b - 3.0, on=on), on)
    if not torch.isclose(g1.detach(), g2.detach(), rtol=1e-5, atol=1e-9):
        raise _Fail(
            "adding a constant to all logits of an example does not change its probabilities, "
            "so it must not change the loss: compare softmax outputs."
        )


def check_pi_consistency(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(logits_1, logits_2) -> loss``, the Π-model consistency
    (1/(C|B|)) sum_i ||softmax(z_i) - softmax(z~_i)||^2 with gradient through BOTH branches.

    Reference: the consistency term of :class:`course_lib.methods.PiModel`.
    """

    def gradient_both(fn):
        a = _randn(5, 3, seed=15).requires_grad_(True)
        b = _randn(5, 3, seed=16).requires_grad_(True)
        on = "two random batches with requires_grad"
        out = _scalar(_call(fn, a, b, on=on), on)
        ga, gb = _grad_of(out, [a, b], on)
        if not _has_grad(ga) or not _has_grad(gb):
            which = "first" if not _has_grad(ga) else "second"
            raise _Fail(
                f"no gradient reaches the {which} pass: in the Π-model both stochastic passes are "
                "trained (do not detach either of them)."
            )

    return _run(
        "check_pi_consistency",
        fn,
        [
            ("value on random logits", _consistency_value(fn, _ref_pi, "pi")),
            ("0 for identical predictions", _equal_inputs_zero),
            ("invariant to a logit shift (uses softmax)", _shift_invariant),
            ("gradient through both passes", gradient_both),
        ],
        quiet=quiet,
    )


def check_mean_teacher_consistency(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(student_logits, teacher_logits) -> loss``: Mean Teacher's consistency
    (1/(C|B|)) sum_i ||softmax(s_i) - softmax(t_i)||^2 with the teacher a constant target.

    Reference: the consistency term of :class:`course_lib.methods.MeanTeacher`.
    """

    def gradients(fn):
        s = _randn(5, 3, seed=17).requires_grad_(True)
        t = _randn(5, 3, seed=18).requires_grad_(True)
        on = "student and teacher logits that both require grad"
        out = _scalar(_call(fn, s, t, on=on), on)
        gs, gt = _grad_of(out, [s, t], on)
        if not _has_grad(gs):
            raise _Fail(
                "no gradient reaches the student: the consistency term must train the student "
                "(this is the bug of USB issue #226). Detach only the teacher."
            )
        if _has_grad(gt):
            raise _Fail(
                "a gradient reaches the teacher's logits: the teacher is a target, detach it "
                "(teacher_logits.detach()); its weights change only by the EMA."
            )

    return _run(
        "check_mean_teacher_consistency",
        fn,
        [
            ("value on random logits", _consistency_value(fn, _ref_mt, "mt")),
            ("0 for identical predictions", _equal_inputs_zero),
            ("invariant to a logit shift (uses softmax)", _shift_invariant),
            ("gradient to the student, none to the teacher", gradients),
        ],
        quiet=quiet,
    )


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
            p.add_(torch.randn(p.shape, generator=_gen(seed + 1), dtype=p.dtype))
    for p in teacher.parameters():
        p.requires_grad_(False)  # as in MeanTeacher.setup
    if bn:  # give the student some running statistics to copy
        student.train()
        student(torch.randn(16, 3, generator=_gen(seed + 2), dtype=torch.float64))
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
        out = _call(fn, teacher, student, 0.9, on=on)
        got = _params(teacher)
        if np.array_equal(got, before):
            hint = (
                " Your function returned something instead: update the teacher's parameters in "
                "place (p_t.mul_(...).add_(...) under torch.no_grad())."
                if out is not None
                else " Update its parameters in place (p_t.mul_(...).add_(...))."
            )
            raise _Fail(f"the teacher's parameters did not change ({on}).{hint}")
        t0, s0 = _ema_pair(20)
        swapped = _params(_ref_ema(t0, s0, 0.1))  # (1 - alpha) theta' + alpha theta
        _close(
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
        _call(fn, teacher, student, 0.9, on="alpha = 0.9")
        if not np.array_equal(before, _params(student)):
            raise _Fail("your function changed the student's parameters; only the teacher moves.")

    def alpha_zero(fn):
        teacher, student = _ema_pair(22)
        _call(fn, teacher, student, 0.0, on="alpha = 0")
        _close(_params(teacher), _params(student), "at alpha = 0 (the teacher becomes the student)")

    def alpha_one(fn):
        teacher, student = _ema_pair(23)
        before = _params(teacher)
        _call(fn, teacher, student, 1.0, on="alpha = 1")
        _close(_params(teacher), before, "at alpha = 1 (the teacher must not move)")

    def repeated(fn):
        teacher, student = _ema_pair(24)
        want = teacher
        for _ in range(5):
            want = _ref_ema(want, student, 0.7)
        for _ in range(5):
            _call(fn, teacher, student, 0.7, on="five updates, alpha = 0.7")
        _close(_params(teacher), _params(want), "after five updates with alpha = 0.7")

    def buffers(fn):
        teacher, student = _ema_pair(25, bn=True)
        _call(fn, teacher, student, 0.9, on="a network with BatchNorm")
        for (name, bt), bs in zip(teacher.named_buffers(), student.buffers(), strict=True):
            if not torch.equal(bt, bs):
                raise _Fail(
                    f"the teacher's buffer {name!r} (BatchNorm statistics) was not copied from "
                    "the student: for b_t, b_s in zip(teacher.buffers(), student.buffers()): "
                    "b_t.copy_(b_s)."
                )

    def no_grad_graph(fn):
        teacher, student = _ema_pair(26)
        _call(fn, teacher, student, 0.5, on="alpha = 0.5")
        for p in teacher.parameters():
            if p.grad_fn is not None or p.requires_grad:
                raise _Fail(
                    "the teacher's parameters now require grad or hold a graph: do the update "
                    "under torch.no_grad() on the existing tensors."
                )

    return _run(
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


# --- 3. VAT -------------------------------------------------------------------------------------


def check_kl_divergence(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(p, logits_q) -> (N,)``: KL(p || q) = sum_k p_k (log p_k - log q_k) per example,
    with q = softmax(logits_q).

    Reference: :func:`course_lib.methods.vat.kl_divergence`.
    """
    from course_lib.methods.vat import kl_divergence

    def value(fn):
        p, z = _probs(6, 3, seed=30), _randn(6, 3, seed=31, scale=2)
        q = z.softmax(1)
        on = "random p and logits (6 x 3)"
        got = _expect_tensor(_call(fn, p.clone(), z.clone(), on=on), on)
        _close(
            got,
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
        z = _randn(5, 4, seed=32)
        got = _np(_call(fn, z.softmax(1), z.clone(), on="q = p"))
        if not np.allclose(got, 0.0, atol=1e-7):
            raise _Fail("KL(p || p) must be 0 for every example; yours is not.")

    def nonnegative(fn):
        p, z = _probs(50, 3, seed=33, scale=4), _randn(50, 3, seed=34, scale=4)
        got = _np(_call(fn, p, z, on="50 random pairs"))
        if np.any(got < -1e-9):
            raise _Fail("KL is never negative; yours is for some inputs.")

    def one_hot_p(fn):
        p = torch.eye(3, dtype=torch.float64)[[0, 2, 1, 0]]
        z = _randn(4, 3, seed=35)
        _close(
            _call(fn, p, z, on="one-hot p (contains zeros)"),
            kl_divergence(p, z),
            "for a one-hot p (0 log 0 counts as 0; clamp p before its log)",
        )

    def gradient(fn):
        p = _probs(4, 3, seed=36)
        z = _randn(4, 3, seed=37).requires_grad_(True)
        on = "logits_q with requires_grad"
        out = _expect_tensor(_call(fn, p, z, on=on), on)
        (g,) = _grad_of(out, [z], on)
        if not _has_grad(g):
            raise _Fail("no gradient flows into logits_q: do not detach q (VAT differentiates it).")

    return _run(
        "check_kl_divergence",
        fn,
        [
            ("value on random inputs", value),
            ("KL(p || p) = 0", zero_when_equal),
            ("non-negative", nonnegative),
            ("p with zeros (no NaN)", one_hot_p),
            ("gradient to logits_q", gradient),
        ],
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
    x = _randn(n, *in_shape, seed=seed + 1)
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
        r = _call(fn, model, x.clone(), p.clone(), eps, xi, on=on)
        return _expect_tensor(r, on)

    def shape(fn):
        model, x, p = _vat_case((2,), 2, 40)
        r = run(fn, model, x, p, 0.3, 1e-6, "2-D points")
        _same_shape(r, tuple(x.shape), "2-D points")
        model, x, p = _vat_case((1, 4, 4), 2, 41)
        r = run(fn, model, x, p, 0.3, 1e-6, "images (6, 1, 4, 4)")
        _same_shape(r, tuple(x.shape), "images (6, 1, 4, 4)")

    def norm(fn):
        for in_shape, on in (((2,), "2-D points"), ((1, 4, 4), "images (6, 1, 4, 4)")):
            model, x, p = _vat_case(in_shape, 2, 42)
            r = run(fn, model, x, p, 0.3, 1e-6, on)
            norms = _np(r).reshape(len(x), -1)
            norms = np.linalg.norm(norms, axis=1)
            if not np.allclose(norms, 0.3, rtol=1e-3):
                total = float(np.linalg.norm(_np(r)))
                hint = (
                    " It looks normalised over the whole batch: normalise each example's "
                    "r separately (norm over every axis but the first)."
                    if np.isclose(total, 0.3, rtol=1e-3)
                    else ""
                )
                raise _Fail(
                    f"every example's r_adv must have L2 norm eps = 0.3; yours range "
                    f"{norms.min():.3g}..{norms.max():.3g} ({on}).{hint}"
                )

    def direction(fn):
        model, x, p = _vat_case((3,), 2, 43)
        torch.manual_seed(0)
        want = _np(adversarial_direction(model, x, p, 0.5, 1e-6, 1)).reshape(len(x), -1)
        got = _np(run(fn, model, x, p, 0.5, 1e-6, "3-D points, 2 classes")).reshape(len(x), -1)
        cos = np.abs((got * want).sum(1)) / (
            np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1) + 1e-30
        )
        if not np.all(cos > 0.99):
            raise _Fail(
                f"r_adv does not point in the adversarial direction for {int((cos <= 0.99).sum())} "
                f"of {len(x)} examples (|cosine| with the expected direction as low as "
                f"{cos.min():.2f}). Take the gradient of KL(p || f(x + r)) w.r.t. r."
            )

    def adversarial(fn):
        model, x, p = _vat_case((6,), 3, 44, n=8)
        r = run(fn, model, x, p, 0.5, 1e-6, "6-D points, 3 classes")
        with torch.no_grad():
            kl_adv = float(kl_divergence(p, model(x + _np_t(r))).mean())
            gen = _gen(7)
            kl_rand = []
            for _ in range(20):
                d = torch.randn(x.shape, generator=gen, dtype=x.dtype)
                d = 0.5 * d / d.flatten(1).norm(dim=1).view(-1, 1)
                kl_rand.append(float(kl_divergence(p, model(x + d)).mean()))
        if kl_adv < np.max(kl_rand):
            raise _Fail(
                "a random perturbation of the same norm changes the prediction more than yours: "
                f"KL {kl_adv:.3g} for r_adv vs up to {np.max(kl_rand):.3g} for random directions."
            )

    def no_param_grads(fn):
        model, x, p = _vat_case((2,), 2, 45)
        model.zero_grad(set_to_none=True)
        run(fn, model, x, p, 0.3, 1e-6, "2-D points")
        if any(q.grad is not None and q.grad.abs().sum() > 0 for q in model.parameters()):
            raise _Fail(
                "your function left gradients in the model's parameters (.grad): use "
                "torch.autograd.grad(kl, r) so that only r is differentiated."
            )

    def detached(fn):
        model, x, p = _vat_case((2,), 2, 46)
        r = run(fn, model, x, p, 0.3, 1e-6, "2-D points")
        if r.requires_grad:
            raise _Fail(
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
            raise _Fail(
                "the perturbed passes updated BatchNorm's running statistics: run them inside "
                "`with frozen_batchnorm_stats(model):`."
            )

    return _run(
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
        ],
        quiet=quiet,
    )


def _np_t(r: Tensor) -> Tensor:
    return r.detach().double()


# --- 4. FixMatch / MixMatch ---------------------------------------------------------------------


def _ref_fixmatch(weak: Tensor, strong: Tensor, tau: float) -> Tensor:
    from course_lib.methods.pseudo_label import masked_cross_entropy, pseudo_labels

    q_hat, mask = pseudo_labels(weak, tau)
    return masked_cross_entropy(strong, q_hat, mask)


def check_fixmatch_loss(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(logits_weak, logits_strong, tau) -> loss``: FixMatch's unlabeled loss (Eq. 4),
    (1/(mu B)) sum_b 1[max q_b >= tau] CE(argmax q_b, p(y | A(u_b))), q = softmax(weak), no
    gradient through the pseudo-label.

    Reference: ``pseudo_labels`` and ``masked_cross_entropy`` of
    :mod:`course_lib.methods.pseudo_label`, as used by :class:`course_lib.methods.FixMatch`.
    """
    import torch.nn.functional as F

    def inputs(seed, n=12, c=3):
        return _randn(n, c, seed=seed, scale=3.0), _randn(n, c, seed=seed + 1, scale=2.0)

    def value(fn):
        w, s = inputs(50)
        tau = 0.8
        on = "random logits, tau = 0.8 (some examples pass)"
        got = _scalar(_call(fn, w.clone(), s.clone(), tau, on=on), on)
        conf, q_hat = w.softmax(1).max(1)
        mask = (conf >= tau).double()
        ce = F.cross_entropy(s, q_hat, reduction="none")
        _close(
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
        w, s = _randn(8, 4, seed=52, scale=0.1), _randn(8, 4, seed=53)
        on = "no example reaches tau = 0.99"
        got = _scalar(_call(fn, w, s, 0.99, on=on), on)
        if not torch.isfinite(got) or abs(float(got)) > 1e-12:
            raise _Fail(
                f"when no example is confident the loss must be 0, got {float(got):.3g} ({on})."
            )

    def all_confident(fn):
        w, s = inputs(54)
        tau = 0.25  # below 1/3: every example of 3 classes passes
        on = "tau = 0.25 < 1/C (every example passes)"
        _close(_scalar(_call(fn, w, s, tau, on=on), on), _ref_fixmatch(w, s, tau), f"for {on}")

    def gradients(fn):
        w, s = inputs(56)
        w.requires_grad_(True)
        s.requires_grad_(True)
        on = "weak and strong logits that both require grad"
        out = _scalar(_call(fn, w, s, 0.8, on=on), on)
        gw, gs = _grad_of(out, [w, s], on)
        if not _has_grad(gs):
            raise _Fail("no gradient reaches the strong-view logits: that is what FixMatch trains.")
        if _has_grad(gw):
            raise _Fail(
                "a gradient flows into the weak-view logits: the pseudo-label is a fixed target; "
                "compute it from logits_weak.detach() (or under torch.no_grad())."
            )

    def tau_monotone(fn):
        w, s = inputs(58, n=40)
        vals = [float(_scalar(_call(fn, w, s, t, on=f"tau = {t}"), "tau")) for t in (0.5, 0.95)]
        if vals[1] > vals[0] + 1e-12:
            raise _Fail(
                "raising tau must never add examples to the loss; yours grew from tau = 0.5 to "
                "tau = 0.95."
            )

    return _run(
        "check_fixmatch_loss",
        fn,
        [
            ("value on random logits", value),
            ("0 when nothing is confident", none_confident),
            ("every example passes a low tau", all_confident),
            ("gradient to the strong view only", gradients),
            ("higher tau keeps fewer examples", tau_monotone),
        ],
        quiet=quiet,
    )


def check_sharpen(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(p, T)``: MixMatch's Sharpen(p, T)_i = p_i^(1/T) / sum_j p_j^(1/T) (Eq. 7).

    Reference: :func:`course_lib.methods.mixmatch.sharpen`.
    """
    from course_lib.methods.mixmatch import sharpen

    def value(fn):
        p = _probs(5, 4, seed=60)
        on = "random probabilities, T = 0.5"
        got = _call(fn, p.clone(), 0.5, on=on)
        pt = p**0.5
        _close(
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
        p = _probs(6, 3, seed=61)
        got = _np(_call(fn, p, 0.3, on="T = 0.3"))
        if not np.allclose(got.sum(-1), 1.0, atol=1e-6):
            raise _Fail("each sharpened row must sum to 1 (it is a distribution).")

    def identity(fn):
        p = _probs(4, 3, seed=62)
        _close(_call(fn, p.clone(), 1.0, on="T = 1"), p, "at T = 1 (must return p unchanged)")

    def lowers_entropy(fn):
        from course_lib.methods.base import entropy

        p = _probs(8, 5, seed=63, scale=0.5)
        got = _call(fn, p.clone(), 0.5, on="T = 0.5")
        h_in, h_out = entropy(p), entropy(torch.as_tensor(_np(got)))
        if not torch.all(h_out <= h_in + 1e-9):
            raise _Fail("with T < 1 the entropy of every row must go down; yours went up.")

    def small_T(fn):
        p = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]], dtype=torch.float64)
        got = _np(_call(fn, p, 0.05, on="T = 0.05"))
        if not np.all(np.isfinite(got)) or not np.allclose(got.argmax(1), [1, 0]):
            raise _Fail("at small T (0.05) the result must be nearly one-hot on the arg-max.")
        if got.max(1).min() < 0.99:
            raise _Fail("at T = 0.05 the largest probability must be above 0.99.")

    def one_hot_input(fn):
        p = torch.eye(3, dtype=torch.float64)
        _close(_call(fn, p.clone(), 0.5, on="one-hot p"), p, "for a one-hot p (must stay one-hot)")

    def input_untouched(fn):
        p = _probs(3, 3, seed=64)
        p0 = p.clone()
        _call(fn, p, 0.5, on="T = 0.5")
        _unchanged(p0, p, "p", "T = 0.5")

    return _run(
        "check_sharpen",
        fn,
        [
            ("value at T = 0.5", value),
            ("rows sum to 1", sums_to_one),
            ("T = 1 changes nothing", identity),
            ("T < 1 lowers the entropy", lowers_entropy),
            ("small T gives a one-hot", small_T),
            ("one-hot input", one_hot_input),
            ("p left unchanged", input_untouched),
        ],
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
        x1, x2 = _randn(*x_shape, seed=seed), _randn(*x_shape, seed=seed + 1)
        p1, p2 = _probs(n, c, seed=seed + 2), _probs(n, c, seed=seed + 3)
        lam = torch.rand(n, generator=_gen(seed + 4), dtype=torch.float64)
        return x1, p1, x2, p2, lam

    def result(fn, args, on):
        out = _call(fn, *(a.clone() for a in args), on=on)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise _Fail(f"return a pair (mixed_x, mixed_p); got {type(out).__name__} ({on}).")
        return out

    def shapes(fn):
        args = case(70)
        x, p = result(fn, args, "4 images (1, 3, 3), 3 classes")
        _same_shape(x, tuple(args[0].shape), "the mixed images")
        _same_shape(p, tuple(args[1].shape), "the mixed targets")

    def value(fn):
        x1, p1, x2, p2, lam = args = case(71)
        on = "random images and targets, one lambda per example"
        x, p = result(fn, args, on)
        want_x, want_p = mixup(*args)
        lv = lam.view(-1, 1, 1, 1)
        _close(
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
        _close(
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
        x, _ = result(fn, args, "2-D points")
        _close(x, mixup(*args)[0], "for 2-D points (lambda has one value per example)")

    def edge_lambda(fn):
        x1, p1, x2, p2, _ = case(73)
        for value_ in (0.0, 1.0):
            lam = torch.full((x1.shape[0],), value_, dtype=torch.float64)
            x, p = result(fn, (x1, p1, x2, p2, lam), f"lambda = {value_:g}")
            _close(x, x1, f"at lambda = {value_:g} (lambda' = 1: the images must equal x1)")
            _close(p, p1, f"at lambda = {value_:g} (lambda' = 1: the targets must equal p1)")

    def closer_to_first(fn):
        x1, p1, x2, p2, _ = case(74)
        lam = torch.tensor([0.1, 0.3, 0.6, 0.9], dtype=torch.float64)
        x, _ = result(fn, (x1, p1, x2, p2, lam), "lambda = 0.1, 0.3, 0.6, 0.9")
        x = torch.as_tensor(_np(x))
        d1 = (x - x1).flatten(1).norm(dim=1)
        d2 = (x - x2).flatten(1).norm(dim=1)
        if not torch.all(d1 <= d2 + 1e-9):
            raise _Fail("every mixed example must stay at least as close to x1 as to x2.")

    def targets_valid(fn):
        x, p = result(fn, case(75), "random lambda")
        p = _np(p)
        if not np.allclose(p.sum(1), 1.0) or p.min() < -1e-12:
            raise _Fail("mixed targets must stay probability distributions (rows sum to 1).")

    return _run(
        "check_mixup",
        fn,
        [
            ("shapes", shapes),
            ("value", value),
            ("one lambda per example (points)", per_example),
            ("lambda = 0 and 1", edge_lambda),
            ("closer to x1 than to x2", closer_to_first),
            ("targets stay distributions", targets_valid),
        ],
        quiet=quiet,
    )


# --- 5. CAM ---------------------------------------------------------------------------------


class _FeatureNet(nn.Module):
    """features = identity, GAP, linear classifier: ``cam(net, F)`` is the CAM of features F."""

    def __init__(self, weight: Tensor):
        super().__init__()
        self.features = nn.Identity()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.classifier.weight.copy_(weight.float())
            self.classifier.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.gap(self.features(x)).flatten(1))


def _ref_cam(features: Tensor, weight: Tensor, target: Tensor) -> np.ndarray:
    from course_lib.weak.cam import cam

    maps, _ = cam(_FeatureNet(weight), features.float(), target.numpy(), size=None)
    return maps


def check_cam(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(features, weight, target) -> maps``: the class activation map
    M_c(x, y) = sum_k w_k^c f_k(x, y) (Zhou et al. 2016, Eq. 2) of each image's target class.

    ``features`` (N, K, h, w), ``weight`` (C, K) (the linear layer after GAP), ``target`` (N,)
    class indices; returns (N, h, w) at the feature resolution.
    Reference: :func:`course_lib.weak.cam.cam` (``size=None``).
    """

    def case(seed, n=3, k=5, h=4, w=6, c=3):
        feats = torch.relu(_randn(n, k, h, w, seed=seed)).float()
        weight = _randn(c, k, seed=seed + 1).float()
        target = torch.randint(0, c, (n,), generator=_gen(seed + 2))
        return feats, weight, target

    def run(fn, feats, weight, target, on):
        return _call(fn, feats.clone(), weight.clone(), target.clone(), on=on)

    def shape(fn):
        feats, weight, target = case(80)
        _same_shape(run(fn, feats, weight, target, "3 images"), (3, 4, 6), "features (3, 5, 4, 6)")

    def value(fn):
        feats, weight, target = case(81)
        on = "random features and weights"
        got = run(fn, feats, weight, target, on)
        _close(
            got,
            _ref_cam(feats, weight, target),
            f"on {on}",
            rtol=1e-4,
            atol=1e-5,
            mistakes={
                "CAM weighs each feature map by the class weight w_k^c; a plain average of the "
                "maps ignores the class.": feats.mean(1),
                "use the weights of each image's own target class, weight[target], not of one "
                "class for all.": torch.einsum("k,nkhw->nhw", weight[0], feats),
                "do not apply ReLU here: CAM is the plain weighted sum.": torch.relu(
                    torch.einsum("nk,nkhw->nhw", weight[target], feats)
                ),
            },
        )

    def per_image_target(fn):
        feats, weight, _ = case(82, n=4, c=4)
        target = torch.tensor([0, 1, 2, 3])
        on = "four images, each with a different target class"
        _close(run(fn, feats, weight, target, on), _ref_cam(feats, weight, target), f"for {on}")

    def linear_in_weights(fn):
        feats, weight, target = case(83)
        on = "weights multiplied by 2"
        m1 = _np(run(fn, feats, weight, target, "random weights"))
        m2 = _np(run(fn, feats, 2 * weight, target, on))
        if not np.allclose(m2, 2 * m1, rtol=1e-4, atol=1e-5):
            raise _Fail("doubling the class weights must double the map (CAM is linear in w^c).")

    def gap_gives_logit(fn):
        # the mean of the CAM over the positions is the class score (minus the bias)
        feats, weight, target = case(84)
        maps = _np(run(fn, feats, weight, target, "random features"))
        score = (weight[target] * feats.mean((2, 3))).sum(1).double().numpy()
        if not np.allclose(maps.mean((1, 2)), score, rtol=1e-4, atol=1e-5):
            raise _Fail(
                "averaging your map over all positions must give the class score w^c . GAP(f)."
            )

    def input_untouched(fn):
        feats, weight, target = case(85)
        f0 = feats.clone()
        _call(fn, feats, weight, target, on="random features")
        _unchanged(f0, feats, "features", "random features")

    return _run(
        "check_cam",
        fn,
        [
            ("shape", shape),
            ("value on random features", value),
            ("each image its own class", per_image_target),
            ("linear in the class weights", linear_in_weights),
            ("mean of the map = class score", gap_gives_logit),
            ("features left unchanged", input_untouched),
        ],
        quiet=quiet,
    )


def _blob(shape, center, radius, height=1.0) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    d2 = (yy - center[0]) ** 2 + (xx - center[1]) ** 2
    return height * np.exp(-d2 / (2.0 * radius**2))


def check_map_to_box(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(cam_map, fraction) -> (row0, col0, row1, col1)``: the bounding box (half-open)
    of the largest connected region where the map is >= fraction x its maximum; the whole image
    when the maximum is not positive.

    Reference: :func:`course_lib.weak.cam.map_to_box`.
    """
    from scipy import ndimage

    from course_lib.weak.cam import map_to_box

    def box(fn, m, fraction, on):
        out = _call(fn, m.copy(), fraction, on=on)
        arr = _np(out, "your box")
        if arr.shape != (4,):
            raise _Fail(f"return 4 numbers (row0, col0, row1, col1); got shape {arr.shape} ({on}).")
        return arr

    def one_blob(fn):
        m = _blob((20, 24), (8, 14), 2.5)
        on = "one blob"
        want = map_to_box(m, 0.2)
        got = box(fn, m, 0.2, on)
        inclusive = want - np.array([0, 0, 1, 1])
        _close(
            got,
            want,
            f"for {on}",
            atol=0,
            mistakes={
                "the box is half-open: row1 and col1 are one past the last pixel (as in Python "
                "slicing m[row0:row1, col0:col1]).": inclusive
            },
        )

    def largest_region(fn):
        m = _blob((24, 30), (6, 6), 3.0) + _blob((24, 30), (16, 22), 1.5, height=0.9)
        on = "two separate blobs"
        labels, _ = ndimage.label(m >= 0.2 * m.max())
        rows, cols = np.nonzero(labels > 0)
        both = np.array([rows.min(), cols.min(), rows.max() + 1, cols.max() + 1])
        _close(
            box(fn, m, 0.2, on),
            map_to_box(m, 0.2),
            f"for {on}",
            atol=0,
            mistakes={
                "keep only the largest connected region (scipy.ndimage.label), not every pixel "
                "above the threshold.": both
            },
        )

    def relative_threshold(fn):
        m = 10.0 * _blob((20, 20), (10, 9), 3.0)
        on = "a map with maximum 10"
        absolute = map_to_box(m / 10.0, 0.02)  # what m >= fraction (absolute) would select
        _close(
            box(fn, m, 0.2, on),
            map_to_box(m, 0.2),
            f"for {on}",
            atol=0,
            mistakes={"the threshold is fraction x max(map), not fraction itself.": absolute},
        )

    def single_pixel(fn):
        m = np.zeros((10, 12))
        m[3, 5] = 1.0
        _close(box(fn, m, 0.2, "a single bright pixel"), map_to_box(m, 0.2), "for one pixel")

    def fraction_matters(fn):
        m = _blob((30, 30), (15, 15), 4.0)
        small = box(fn, m, 0.8, "fraction = 0.8")
        large = box(fn, m, 0.1, "fraction = 0.1")
        if (small[2] - small[0]) >= (large[2] - large[0]):
            raise _Fail("a higher fraction must give a smaller box; yours did not shrink.")
        _close(small, map_to_box(m, 0.8), "at fraction = 0.8", atol=0)

    def non_positive(fn):
        m = -np.abs(_blob((8, 9), (4, 4), 2.0))
        _close(
            box(fn, m, 0.2, "a map with no positive value"),
            np.array([0, 0, 8, 9]),
            "for a map with no positive value (expected: the whole image)",
            atol=0,
        )

    return _run(
        "check_map_to_box",
        fn,
        [
            ("one blob", one_blob),
            ("largest region only", largest_region),
            ("threshold relative to the maximum", relative_threshold),
            ("a single pixel", single_pixel),
            ("fraction changes the box", fraction_matters),
            ("no positive value: whole image", non_positive),
        ],
        quiet=quiet,
    )


# --- 6. box to mask -----------------------------------------------------------------------------


def _boxes_case():
    boxes = [
        np.array([[2, 3, 12, 13], [14, 20, 22, 30]]),  # two separate boxes
        np.zeros((0, 4), dtype=np.int64),  # an image without any object
        np.array([[5, 5, 21, 17]]),
    ]
    return boxes, (24, 32)


def check_box_i_labels(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(boxes, shape, inner) -> labels (n, H, W)``: Simple Does It's Box_i labels --
    the centred ``inner`` fraction of each box's area foreground (1), the rest of the box IGNORE
    (-1), every pixel outside all boxes background (0).

    Reference: :func:`course_lib.weak.box2mask.box_i_labels` (its ``inner_box`` rounding: each
    side scaled by sqrt(inner), rounded, at least 1 pixel, centred with integer division).
    """
    from course_lib.weak.box2mask import IGNORE, box_i_labels, box_labels

    def run(fn, boxes, shape, inner, on):
        out = _call(fn, [b.copy() for b in boxes], shape, inner, on=on)
        arr = _np(out, "your labels")
        if arr.shape != (len(boxes), *shape):
            raise _Fail(
                f"labels must have shape (n, H, W) = {(len(boxes), *shape)}; "
                f"got {arr.shape} ({on})."
            )
        return arr

    def values_allowed(fn):
        boxes, shape = _boxes_case()
        arr = run(fn, boxes, shape, 0.2, "three images")
        bad = set(np.unique(arr).tolist()) - {IGNORE, 0, 1}
        if bad:
            raise _Fail(f"labels may only be 1, 0 and {IGNORE} (ignore); found {sorted(bad)}.")

    def outside_background(fn):
        boxes, shape = _boxes_case()
        arr = run(fn, boxes, shape, 0.2, "three images")
        outside = box_labels(boxes, shape) == 0
        if np.any(arr[outside] != 0):
            raise _Fail("every pixel outside all boxes must be background (0).")

    def ring_ignored(fn):
        boxes, shape = _boxes_case()
        arr = run(fn, boxes, shape, 0.2, "three images")
        want = box_i_labels(boxes, shape, 0.2)
        ring = want == IGNORE
        if np.any(arr[ring] == 0):
            raise _Fail(
                "pixels of the box outside its inner part must be IGNORE (-1), not background: "
                "the object may well be there."
            )

    def area(fn):
        boxes, shape = _boxes_case()
        arr = run(fn, boxes, shape, 0.2, "three images")
        r0, c0, r1, c1 = boxes[2][0]
        frac = float((arr[2, r0:r1, c0:c1] == 1).mean())
        if not 0.15 <= frac <= 0.26:
            size = "too large" if frac > 0.26 else "too small"
            raise _Fail(
                f"the foreground covers {frac:.0%} of a 16 x 12 box with inner = 0.2, {size}: "
                "scale each side by sqrt(inner) so the *area* is inner x the box area."
            )

    def exact(fn):
        boxes, shape = _boxes_case()
        for inner in (0.2, 0.5):
            _close(
                run(fn, boxes, shape, inner, f"inner = {inner}"),
                box_i_labels(boxes, shape, inner),
                f"at inner = {inner} (pixel by pixel: check the centring and the rounding "
                "convention of the brief)",
                atol=0,
            )

    def whole_box(fn):
        boxes, shape = _boxes_case()
        _close(
            run(fn, boxes, shape, 1.0, "inner = 1"),
            box_labels(boxes, shape),
            "at inner = 1 (the whole box must be foreground)",
            atol=0,
        )

    def overlap(fn):
        boxes = [np.array([[2, 2, 14, 14], [6, 6, 20, 20]])]
        shape = (22, 22)
        arr = run(fn, boxes, shape, 0.2, "two overlapping boxes")
        want = box_i_labels(boxes, shape, 0.2)
        if np.any((want == 1) & (arr != 1)):
            raise _Fail(
                "where boxes overlap, foreground wins over ignore: write every box's ignore "
                "region first, then every inner foreground region."
            )

    return _run(
        "check_box_i_labels",
        fn,
        [
            ("only 1, 0, -1", values_allowed),
            ("outside the boxes: background", outside_background),
            ("box ring: ignore", ring_ignored),
            ("foreground area = inner x box area", area),
            ("pixel-exact at inner = 0.2 and 0.5", exact),
            ("inner = 1 gives the whole box", whole_box),
            ("overlapping boxes", overlap),
        ],
        quiet=quiet,
    )


def _denoise_case():
    """Predictions for 2 images: a good one, one that lost an object, one that leaks outside."""
    from course_lib.weak.box2mask import box_i_labels

    shape = (20, 24)
    boxes = [np.array([[2, 2, 10, 10], [12, 14, 19, 22]]), np.array([[4, 6, 16, 18]])]
    init = box_i_labels(boxes, shape, 0.2)
    pred = np.zeros((2, *shape), dtype=np.int64)
    pred[0, 3:9, 3:9] = 1  # box 1: found (IoU 36/64 >= 0.5)
    pred[0, 13:15, 15:17] = 1  # box 2: lost (IoU 4/56 < 0.5)
    pred[0, 0:2, 20:24] = 1  # a false positive outside every box
    pred[1, 5:15, 7:17] = 1  # found (IoU 100/144)
    pred[1, 17:20, 0:5] = 1  # outside the box
    return pred, boxes, init


def check_denoise(fn, *, quiet: bool = False) -> CheckReport:
    """Check ``fn(pred, boxes, init_labels, iou_min) -> labels``: one round of Simple Does It's
    recursive training. Rule 1: pixels outside every box are background. Rule 2: a box whose
    predicted segment S = pred within the box covers less than ``iou_min`` of it
    (IoU(S, B) = |S| / |B|) is reset to its round-0 labels ``init_labels``.

    Reference: :func:`course_lib.weak.box2mask.denoise`.
    """
    from course_lib.weak.box2mask import box_labels, denoise

    def run(fn, pred, boxes, init, iou_min, on):
        out = _call(fn, pred.copy(), [b.copy() for b in boxes], init.copy(), iou_min, on=on)
        arr = _np(out, "your labels")
        if arr.shape != pred.shape:
            raise _Fail(f"labels must have shape {pred.shape} like pred; got {arr.shape} ({on}).")
        return arr

    def rule1(fn):
        pred, boxes, init = _denoise_case()
        arr = run(fn, pred, boxes, init, 0.5, "predictions leaking outside the boxes")
        outside = box_labels(boxes, pred.shape[1:]) == 0
        if np.any(arr[outside] != 0):
            raise _Fail("rule 1: every pixel outside all boxes must become background (0).")

    def rule2_reset(fn):
        pred, boxes, init = _denoise_case()
        arr = run(fn, pred, boxes, init, 0.5, "a box whose object was lost")
        r0, c0, r1, c1 = boxes[0][1]
        got, want = arr[0, r0:r1, c0:c1], init[0, r0:r1, c0:c1]
        if np.array_equal(got, want):
            return
        if np.all(got == 0):
            raise _Fail(
                "rule 2: a box with IoU(S, B) < iou_min goes back to its round-0 labels "
                "(init_labels), not to background."
            )
        raise _Fail(
            "rule 2: a box whose predicted segment has IoU(S, B) < iou_min must be reset "
            "to its round-0 labels (init_labels)."
        )

    def rule2_keep(fn):
        pred, boxes, init = _denoise_case()
        arr = run(fn, pred, boxes, init, 0.5, "boxes whose object was found")
        r0, c0, r1, c1 = boxes[1][0]
        if not np.array_equal(arr[1, r0:r1, c0:c1], pred[1, r0:r1, c0:c1]):
            raise _Fail(
                "a box whose prediction covers at least iou_min of it keeps the prediction "
                "(only boxes below iou_min are reset)."
            )

    def value(fn):
        pred, boxes, init = _denoise_case()
        _close(
            run(fn, pred, boxes, init, 0.5, "two images"),
            denoise(pred, boxes, init, 0.5),
            "on two images with found, lost and leaking objects",
            atol=0,
        )

    def threshold(fn):
        pred, boxes, init = _denoise_case()
        for iou_min in (0.0, 0.6, 1.0):
            _close(
                run(fn, pred, boxes, init, iou_min, f"iou_min = {iou_min}"),
                denoise(pred, boxes, init, iou_min),
                f"at iou_min = {iou_min} (compare |S| / |B| with iou_min: reset when it is "
                "strictly below)",
                atol=0,
            )

    def bool_pred(fn):
        pred, boxes, init = _denoise_case()
        _close(
            run(fn, pred.astype(bool), boxes, init, 0.5, "a boolean pred"),
            denoise(pred, boxes, init, 0.5),
            "for a boolean pred",
            atol=0,
        )

    def inputs_untouched(fn):
        pred, boxes, init = _denoise_case()
        p0, i0 = pred.copy(), init.copy()
        _call(fn, pred, boxes, init, 0.5, on="two images")
        _unchanged(p0, pred, "pred", "two images")
        _unchanged(i0, init, "init_labels", "two images")

    return _run(
        "check_denoise",
        fn,
        [
            ("rule 1: background outside the boxes", rule1),
            ("rule 2: a lost object is reset", rule2_reset),
            ("rule 2: a found object is kept", rule2_keep),
            ("value on two images", value),
            ("iou_min = 0, 0.6, 1", threshold),
            ("boolean predictions", bool_pred),
            ("inputs left unchanged", inputs_untouched),
        ],
        quiet=quiet,
    )
