"""The homework checkers: a correct answer passes, the stub and typical wrong answers fail.

Each checker gets (1) an independent correct implementation (student style, as in the solved
instructor notebooks), which must pass; (2) the stub, which must fail with the "not implemented"
message; (3) at least two typical wrong answers, written here as fixtures, each of which must
fail on the property the comment names.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib import checks
from course_lib.methods.vat import frozen_batchnorm_stats

# --- correct implementations (what a student would write) ------------------------------------


def laplacian(W):
    return np.diag(W.sum(1)) - W


def deformed_kernel(K, L, r):
    n = K.shape[0]
    return K @ np.linalg.inv(np.eye(n) + r * L @ K)


def pi_consistency(a, b):
    return ((a.softmax(1) - b.softmax(1)) ** 2).mean()


def mt_consistency(s, t):
    return ((s.softmax(1) - t.detach().softmax(1)) ** 2).mean()


@torch.no_grad()
def ema_update(teacher, student, alpha):
    for p_t, p_s in zip(teacher.parameters(), student.parameters(), strict=True):
        p_t.mul_(alpha).add_(p_s, alpha=1 - alpha)
    for b_t, b_s in zip(teacher.buffers(), student.buffers(), strict=True):
        b_t.copy_(b_s)


def kl_div(p, logits_q):
    return (p * (p.clamp_min(1e-12).log() - logits_q.log_softmax(1))).sum(1)


def _unit(g):
    return g / g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (g.ndim - 1))


def adversarial_perturbation(model, x, p, eps, xi):
    r = (xi * _unit(torch.randn_like(x))).requires_grad_(True)
    with frozen_batchnorm_stats(model):
        (g,) = torch.autograd.grad(kl_div(p, model(x + r)).sum(), r)
    return eps * _unit(g)


def fixmatch_loss(weak, strong, tau):
    conf, q_hat = weak.detach().softmax(1).max(1)
    mask = (conf >= tau).to(strong.dtype)
    return (F.cross_entropy(strong, q_hat, reduction="none") * mask).mean()


def sharpen(p, T):
    pt = p ** (1 / T)
    return pt / pt.sum(-1, keepdim=True)


def mixup(x1, p1, x2, p2, lam):
    lam = torch.maximum(lam, 1 - lam)
    lx = lam.view(-1, *[1] * (x1.ndim - 1))
    lp = lam.view(-1, 1)
    return lx * x1 + (1 - lx) * x2, lp * p1 + (1 - lp) * p2


def cam(features, weight, target):
    return torch.einsum("nk,nkhw->nhw", weight[target], features)


def map_to_box(m, fraction):
    from scipy import ndimage

    if m.max() <= 0:
        return np.array([0, 0, *m.shape])
    labels, n = ndimage.label(m >= fraction * m.max())
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    rows, cols = np.nonzero(labels == sizes.argmax())
    return np.array([rows.min(), cols.min(), rows.max() + 1, cols.max() + 1])


def box_i_labels(boxes, shape, inner):
    out = np.zeros((len(boxes), *shape), dtype=np.int64)
    for i, bx in enumerate(boxes):
        for r0, c0, r1, c1 in bx:
            out[i, r0:r1, c0:c1] = -1
        for r0, c0, r1, c1 in bx:
            h = max(1, round((r1 - r0) * inner**0.5))
            w = max(1, round((c1 - c0) * inner**0.5))
            t, l = r0 + (r1 - r0 - h) // 2, c0 + (c1 - c0 - w) // 2
            out[i, t : t + h, l : l + w] = 1
    return out


def denoise(pred, boxes, init, iou_min):
    pred = (np.asarray(pred) > 0).astype(np.int64)
    out = np.zeros_like(pred)
    for i, bx in enumerate(boxes):
        for r0, c0, r1, c1 in bx:
            out[i, r0:r1, c0:c1] = pred[i, r0:r1, c0:c1]
        for r0, c0, r1, c1 in bx:
            if pred[i, r0:r1, c0:c1].mean() < iou_min:
                out[i, r0:r1, c0:c1] = init[i, r0:r1, c0:c1]
    return out


CORRECT = {
    "check_laplacian": laplacian,
    "check_deformed_kernel": deformed_kernel,
    "check_pi_consistency": pi_consistency,
    "check_mean_teacher_consistency": mt_consistency,
    "check_ema_update": ema_update,
    "check_kl_divergence": kl_div,
    "check_adversarial_perturbation": adversarial_perturbation,
    "check_fixmatch_loss": fixmatch_loss,
    "check_sharpen": sharpen,
    "check_mixup": mixup,
    "check_cam": cam,
    "check_map_to_box": map_to_box,
    "check_box_i_labels": box_i_labels,
    "check_denoise": denoise,
}

# --- typical wrong answers: (checker, wrong function, a phrase the failure message contains) ----


def _ema_wrong_side(teacher, student, alpha):
    with torch.no_grad():
        for p_t, p_s in zip(teacher.parameters(), student.parameters(), strict=True):
            p_t.mul_(1 - alpha).add_(p_s, alpha=alpha)
        for b_t, b_s in zip(teacher.buffers(), student.buffers(), strict=True):
            b_t.copy_(b_s)


def _ema_not_in_place(teacher, student, alpha):
    pairs = zip(teacher.parameters(), student.parameters(), strict=True)
    return [alpha * p_t + (1 - alpha) * p_s for p_t, p_s in pairs]


def _ema_no_buffers(teacher, student, alpha):
    with torch.no_grad():
        for p_t, p_s in zip(teacher.parameters(), student.parameters(), strict=True):
            p_t.mul_(alpha).add_(p_s, alpha=1 - alpha)


def _vat_random(model, x, p, eps, xi):  # no power iteration: a random direction
    return eps * _unit(torch.randn_like(x))


def _vat_batch_norm(model, x, p, eps, xi):  # normalised over the whole batch
    r = (xi * _unit(torch.randn_like(x))).requires_grad_(True)
    with frozen_batchnorm_stats(model):
        (g,) = torch.autograd.grad(kl_div(p, model(x + r)).sum(), r)
    return eps * g / g.norm()


def _vat_backward(model, x, p, eps, xi):  # .backward() fills the parameters' .grad
    r = (xi * _unit(torch.randn_like(x))).requires_grad_(True)
    with frozen_batchnorm_stats(model):
        kl_div(p, model(x + r)).sum().backward()
    return eps * _unit(r.grad)


def _vat_bn_updates(model, x, p, eps, xi):  # BatchNorm statistics not frozen
    r = (xi * _unit(torch.randn_like(x))).requires_grad_(True)
    (g,) = torch.autograd.grad(kl_div(p, model(x + r)).sum(), r)
    return eps * _unit(g)


def _vat_not_detached(model, x, p, eps, xi):
    r = (xi * _unit(torch.randn_like(x))).requires_grad_(True)
    with frozen_batchnorm_stats(model):
        (g,) = torch.autograd.grad(kl_div(p, model(x + r)).sum(), r, create_graph=True)
    return eps * _unit(g)


def _fixmatch_soft_no_detach(weak, strong, tau):  # soft target, not detached
    q = weak.softmax(1)
    mask = (q.max(1).values >= tau).to(strong.dtype)
    return (-(q * strong.log_softmax(1)).sum(1) * mask).mean()


def _fixmatch_mean_over_mask(weak, strong, tau):
    conf, q_hat = weak.detach().softmax(1).max(1)
    mask = (conf >= tau).to(strong.dtype)
    return (F.cross_entropy(strong, q_hat, reduction="none") * mask).sum() / mask.sum()


def _fixmatch_no_mask(weak, strong, tau):
    return F.cross_entropy(strong, weak.detach().argmax(1))


def _map_to_box_all_regions(m, fraction):
    rows, cols = np.nonzero(m >= fraction * m.max())
    return np.array([rows.min(), cols.min(), rows.max() + 1, cols.max() + 1])


def _map_to_box_inclusive(m, fraction):
    return map_to_box(m, fraction) - np.array([0, 0, 1, 1])


def _box_i_ring_background(boxes, shape, inner):
    out = box_i_labels(boxes, shape, inner)
    out[out == -1] = 0
    return out


def _box_i_too_large(boxes, shape, inner):  # sides scaled by inner**0.25: area sqrt(inner)
    return box_i_labels(boxes, shape, inner**0.5)


def _box_i_too_small(boxes, shape, inner):  # sides scaled by inner: area inner**2
    return box_i_labels(boxes, shape, inner**2)


def _box_i_overlap_order(boxes, shape, inner):
    out = np.zeros((len(boxes), *shape), dtype=np.int64)
    for i, bx in enumerate(boxes):
        for box in bx:
            r0, c0, r1, c1 = box
            out[i, r0:r1, c0:c1] = -1
            out[i] = np.where(box_i_labels([box[None]], shape, inner)[0] == 1, 1, out[i])
    return out


def _denoise_no_rule1(pred, boxes, init, iou_min):
    out = denoise(pred, boxes, init, iou_min)
    return np.where(np.asarray(pred) > 0, np.maximum(out, 1 * (np.asarray(pred) > 0)), out)


def _denoise_reset_to_zero(pred, boxes, init, iou_min):
    return denoise(pred, boxes, np.zeros_like(init), iou_min)


def _denoise_inverted(pred, boxes, init, iou_min):
    pred = (np.asarray(pred) > 0).astype(np.int64)
    out = np.zeros_like(pred)
    for i, bx in enumerate(boxes):
        for r0, c0, r1, c1 in bx:
            seg = pred[i, r0:r1, c0:c1]
            out[i, r0:r1, c0:c1] = init[i, r0:r1, c0:c1] if seg.mean() >= iou_min else seg
    return out


def _mixup_reversed(x1, p1, x2, p2, lam):  # lambda' on x2 instead of x1
    return mixup(x2, p2, x1, p1, lam)


def _mixup_plain(x1, p1, x2, p2, lam):  # MixUp of Zhang et al. without Eq. 9
    lx, lp = lam.view(-1, *[1] * (x1.ndim - 1)), lam.view(-1, 1)
    return lx * x1 + (1 - lx) * x2, lp * p1 + (1 - lp) * p2


def _mixup_targets_other_side(x1, p1, x2, p2, lam):
    return mixup(x1, p1, x2, p2, lam)[0], mixup(x2, p2, x1, p1, lam)[1]


WRONG = [
    ("check_laplacian", lambda W: W - np.diag(W.sum(1)), "sign is flipped"),
    ("check_laplacian", lambda W: -W, "degrees"),
    ("check_laplacian", lambda W: np.eye(len(W)) - W, "rows"),
    (
        "check_deformed_kernel",
        lambda K, L, r: K @ np.linalg.inv(np.eye(len(K)) - r * L @ K),
        "sign",
    ),
    ("check_deformed_kernel", lambda K, L, r: np.linalg.inv(np.eye(len(K)) + r * L @ K), "K"),
    (
        "check_deformed_kernel",
        lambda K, L, r: K @ np.linalg.inv(np.eye(len(K)) + r * K @ L),
        "order inside the inverse",
    ),
    ("check_pi_consistency", lambda a, b: ((a - b) ** 2).mean(), "softmax"),
    ("check_pi_consistency", lambda a, b: mt_consistency(a, b), "both stochastic passes"),
    (
        "check_pi_consistency",
        lambda a, b: ((a.softmax(1) - b.softmax(1)) ** 2).sum(1).mean(),
        "examples and classes",
    ),
    ("check_mean_teacher_consistency", pi_consistency, "detach it"),
    (
        "check_mean_teacher_consistency",
        lambda s, t: ((s.detach().softmax(1) - t.detach().softmax(1)) ** 2).mean(),
        "USB issue #226",
    ),
    ("check_mean_teacher_consistency", lambda s, t: ((s - t.detach()) ** 2).mean(), "softmax"),
    ("check_ema_update", _ema_wrong_side, "wrong side"),
    ("check_ema_update", _ema_not_in_place, "in place"),
    ("check_ema_update", _ema_no_buffers, "BatchNorm"),
    (
        "check_kl_divergence",
        lambda p, z: (z.softmax(1) * (z.log_softmax(1) - p.clamp_min(1e-12).log())).sum(1),
        "swapped",
    ),
    ("check_kl_divergence", lambda p, z: kl_div(p, z).mean(), "one value per example"),
    ("check_kl_divergence", lambda p, z: (p * (p.log() - z.log_softmax(1))).sum(1), "NaN"),
    ("check_kl_divergence", lambda p, z: kl_div(p, z.detach()), "do not detach q"),
    ("check_adversarial_perturbation", _vat_random, "adversarial direction"),
    ("check_adversarial_perturbation", _vat_batch_norm, "whole batch"),
    ("check_adversarial_perturbation", _vat_backward, "autograd.grad"),
    ("check_adversarial_perturbation", _vat_bn_updates, "frozen_batchnorm_stats"),
    ("check_adversarial_perturbation", _vat_not_detached, "constant"),
    ("check_fixmatch_loss", _fixmatch_soft_no_detach, "weak-view logits"),
    ("check_fixmatch_loss", _fixmatch_mean_over_mask, "whole unlabeled batch"),
    ("check_fixmatch_loss", _fixmatch_no_mask, "confidence mask"),
    ("check_sharpen", lambda p, T: sharpen(p, 1 / T), "exponent is 1/T"),
    ("check_sharpen", lambda p, T: p ** (1 / T), "sum to 1"),
    ("check_sharpen", lambda p, T: torch.softmax(p / T, dim=-1), "softmax of p/T"),
    ("check_mixup", _mixup_reversed, "not the other way round"),
    ("check_mixup", _mixup_plain, "max(lambda, 1 - lambda)"),
    ("check_mixup", _mixup_targets_other_side, "same lambda'"),
    ("check_cam", lambda f, w, t: f.mean(1), "class weight"),
    ("check_cam", lambda f, w, t: torch.relu(cam(f, w, t)), "ReLU"),
    ("check_cam", lambda f, w, t: torch.einsum("k,nkhw->nhw", w[0], f), "own target class"),
    ("check_map_to_box", _map_to_box_all_regions, "largest connected region"),
    ("check_map_to_box", _map_to_box_inclusive, "half-open"),
    (
        "check_map_to_box",
        lambda m, fraction: map_to_box(np.where(m >= fraction, 1.0, 0.0), 0.5),
        "fraction x max",
    ),
    ("check_box_i_labels", _box_i_ring_background, "IGNORE"),
    ("check_box_i_labels", _box_i_too_large, "too large"),
    ("check_box_i_labels", _box_i_too_small, "too small"),
    ("check_box_i_labels", _box_i_overlap_order, "foreground wins"),
    ("check_denoise", _denoise_no_rule1, "rule 1"),
    ("check_denoise", _denoise_reset_to_zero, "not to background"),
    ("check_denoise", _denoise_inverted, "rule 2"),
]


def test_every_checker_is_tested():
    names = {n for n in checks.__all__ if n.startswith("check_")}
    assert names == set(CORRECT)
    per_checker = {n: sum(w[0] == n for w in WRONG) for n in names}
    assert min(per_checker.values()) >= 2, per_checker


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_answer_passes(name, capsys):
    report = getattr(checks, name)(CORRECT[name])
    assert isinstance(report, checks.CheckReport) and len(report.passed) >= 4
    assert "all" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_stub_fails_with_clear_message(name):
    def stub(*args, **kwargs):
        # YOUR CODE HERE
        raise NotImplementedError()

    with pytest.raises(checks.CheckFailed, match="not implemented yet") as info:
        getattr(checks, name)(stub)
    assert isinstance(info.value, AssertionError)  # nbval and pytest see a failing cell


@pytest.mark.parametrize(
    "name, wrong, phrase", WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)]
)
def test_typical_mistake_is_caught(name, wrong, phrase):
    with pytest.raises(checks.CheckFailed) as info:
        getattr(checks, name)(wrong, quiet=True)
    message = str(info.value)
    assert phrase in message, message
    assert "✗" in message


def test_failure_message_does_not_reveal_the_answer():
    # the message says how far off the answer is, never the expected numbers themselves
    with pytest.raises(checks.CheckFailed) as info:
        checks.check_sharpen(lambda p, T: sharpen(p, 1 / T), quiet=True)
    assert "largest difference" in str(info.value)
    assert "tensor(" not in str(info.value) and "array(" not in str(info.value)


def test_errors_in_student_code_are_reported_in_plain_words():
    def broken(p, T):
        return p.nonexistent_method()

    with pytest.raises(checks.CheckFailed, match="your function raised AttributeError"):
        checks.check_sharpen(broken, quiet=True)


def test_not_a_function():
    with pytest.raises(checks.CheckFailed, match="expected your function"):
        checks.check_sharpen(None)


def test_checks_are_deterministic():
    a = str(pytest.raises(checks.CheckFailed, checks.check_cam, lambda f, w, t: f.mean(1)).value)
    b = str(pytest.raises(checks.CheckFailed, checks.check_cam, lambda f, w, t: f.mean(1)).value)
    assert a == b


# --- robustness: whatever the student's function returns, a one-line message, no traceback ------

WHAT = {  # what each checker's message says it expected
    "check_laplacian": "a NumPy array (n, n)",
    "check_deformed_kernel": "a NumPy array (n, n)",
    "check_pi_consistency": "a 0-d torch tensor",
    "check_mean_teacher_consistency": "a 0-d torch tensor",
    "check_kl_divergence": "a torch tensor (N,)",
    "check_adversarial_perturbation": "a torch tensor shaped like x",
    "check_fixmatch_loss": "a 0-d torch tensor",
    "check_sharpen": "a torch tensor shaped like p",
    "check_mixup": "a pair (mixed_x, mixed_p)",
    "check_cam": "a torch tensor (N, h, w)",
    "check_map_to_box": "4 numbers (row0, col0, row1, col1)",
    "check_box_i_labels": "a NumPy array (n, H, W)",
    "check_denoise": "a NumPy array shaped like pred",
}
RETURNING = sorted(WHAT)  # check_ema_update's function returns nothing: updates in place


def _failure(name, fn) -> str:
    with pytest.raises(checks.CheckFailed) as info:  # a CheckFailed, never a NumPy/torch error
        getattr(checks, name)(fn, quiet=True)
    message = str(info.value)
    assert "could not test your result" not in message, message  # the contract caught it first
    return message


@pytest.mark.parametrize("name", RETURNING)
def test_returning_none_says_what_was_expected(name):
    message = _failure(name, lambda *args: None)
    assert message.count("\n") == 0, message
    assert "your function returned None" in message and f"expected {WHAT[name]}" in message
    assert "forget the `return`" in message


@pytest.mark.parametrize("name", RETURNING)
def test_returning_a_tuple_or_a_list_says_what_was_expected(name):
    ok = CORRECT[name]
    if name == "check_mixup":  # a pair is right here: three items and one item are not
        wrong = [lambda *a: (*ok(*a), ok(*a)[0]), lambda *a: [ok(*a)]]
    else:
        wrong = [lambda *a: (ok(*a), ok(*a)), lambda *a: [ok(*a)]]
    for fn, container in zip(wrong, ("tuple", "list"), strict=True):
        message = _failure(name, fn)
        if name == "check_map_to_box":  # numbers in a tuple or list are fine, a (2, 4) shape is not
            assert "return 4 numbers (row0, col0, row1, col1); got shape" in message, message
            continue
        assert message.count("\n") == 0, message
        assert f"your function returned a {container} of" in message, message
        assert f"expected {WHAT[name]}" in message, message


def _wrong_dtype(value):
    if isinstance(value, tuple):  # MixUp's pair: integer images
        return value[0].long(), value[1]
    if isinstance(value, torch.Tensor):
        return value.long()
    return np.asarray(value).astype(complex)


@pytest.mark.parametrize("name", RETURNING)
def test_wrong_dtype_says_what_was_expected(name):
    message = _failure(name, lambda *a: _wrong_dtype(CORRECT[name](*a)))
    assert message.count("\n") == 0, message
    assert "dtype torch.int64" in message or "dtype complex128" in message, message
    assert "values" in message or f"expected {WHAT[name]}" in message, message
    if name == "check_mixup":
        assert "the first item of your pair is a tensor of dtype torch.int64" in message


def _wrong_shape(value):
    if isinstance(value, tuple):
        return value[0][None], value[1]
    return value[None]  # one axis too many


@pytest.mark.parametrize("name", RETURNING)
def test_wrong_shape_fails_every_property_with_the_shapes(name):
    message = _failure(name, lambda *a: _wrong_shape(CORRECT[name](*a)))
    assert "✗" in message and "✓" not in message  # every property meets the wrong shape
    assert "got shape (1, 4)" in message if name == "check_map_to_box" else "expected (" in message
    assert "your result has shape (1," in message or "got shape (1, 4)" in message, message


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_a_raising_function_is_reported_not_propagated(name):
    def raises(*args):
        return np.linalg.inv(np.zeros((2, 2)))  # LinAlgError: Singular matrix

    message = _failure(name, raises)
    assert "your function raised LinAlgError: Singular matrix (input:" in message, message


# --- robustness: a function that modifies its inputs in place --------------------------------

IN_PLACE = [  # (checker, position of the input the function modifies, its name in the message)
    ("check_laplacian", 0, "W"),
    ("check_deformed_kernel", 1, "L"),
    ("check_pi_consistency", 0, "logits_1"),
    ("check_mean_teacher_consistency", 1, "teacher_logits"),
    ("check_kl_divergence", 0, "p"),
    ("check_adversarial_perturbation", 1, "x"),
    ("check_fixmatch_loss", 1, "logits_strong"),
    ("check_sharpen", 0, "p"),
    ("check_mixup", 0, "x1"),
    ("check_mixup", 4, "lam"),
    ("check_cam", 0, "features"),
    ("check_cam", 2, "target"),
    ("check_map_to_box", 0, "cam_map"),
    ("check_box_i_labels", 0, "boxes"),
    ("check_denoise", 0, "pred"),
    ("check_denoise", 1, "boxes"),
    ("check_denoise", 2, "init_labels"),
]


def _modify(value):
    if isinstance(value, list):  # boxes: shift the first box of the first image
        value[0][0] += 1
    elif isinstance(value, torch.Tensor):
        with torch.no_grad():
            value.add_(1)
    elif value.dtype == bool:
        np.logical_not(value, out=value)
    else:
        value += 1


@pytest.mark.parametrize("name, position, input_name", IN_PLACE)
def test_modifying_an_input_in_place_is_caught(name, position, input_name):
    def in_place(*args):
        out = CORRECT[name](*args)  # the right answer, computed before the input is modified
        _modify(args[position])
        return out

    message = _failure(name, in_place)
    assert f"your function changed {input_name} in place" in message, message
    # the other properties get copies: only that one fails (or autograd, which saw the change)
    for line in message.split("\n")[1:]:
        assert "✓" in line or "in place" in line or "inplace operation" in line, message


# --- a failing check shows its message, not the machinery (issue 17) -------------------------


def test_check_failed_renders_as_its_message():
    err = checks.CheckFailed("check_x: 1 of 2 checks failed.\n  ✓ a\n  ✗ b: wrong")
    lines = err._render_traceback_()
    assert lines == [
        "\x1b[0;31mCheckFailed\x1b[0m: check_x: 1 of 2 checks failed.",
        "  ✓ a",
        "  ✗ b: wrong",
    ]


def test_a_failing_check_in_ipython_prints_the_message_only(tmp_path, monkeypatch, capsys):
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))
    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config, colors="nocolor")
    try:
        capsys.readouterr()
        result = shell.run_cell(
            "from course_lib import checks\nchecks.check_sharpen(lambda p, T: p)"
        )
        out = capsys.readouterr().out
    finally:
        InteractiveShell.clear_instance()
    assert isinstance(result.error_in_exec, checks.CheckFailed)  # still raises: nbgrader scores it
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)  # the name is printed in red
    assert plain.strip() == f"CheckFailed: {result.error_in_exec}"  # nothing but the message
    assert "Traceback" not in out and "core.py" not in out and "----" not in out


def test_pytest_still_reports_a_failing_check(tmp_path):
    import subprocess
    import sys

    test_file = tmp_path / "test_student.py"
    test_file.write_text(
        "from course_lib import checks\n\n\n"
        "def test_sharpen():\n    checks.check_sharpen(lambda p, T: p)\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stdout
    assert "1 failed" in run.stdout and "CheckFailed: check_sharpen" in run.stdout


def test_a_result_the_checker_cannot_test_is_a_failure_not_a_traceback():
    from course_lib.checks import core

    def property_that_breaks(fn):
        return 1 / 0  # stands for any NumPy/torch error met while testing a result

    with pytest.raises(checks.CheckFailed) as info:
        core.run_checks("check_x", lambda: 0, [("p", property_that_breaks)], quiet=True)
    assert "✗ p: could not test your result (ZeroDivisionError: division by zero)" in str(
        info.value
    )
