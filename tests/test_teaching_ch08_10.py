"""Issue 17 for chapters 08 and 10: the rounds player's x-axis, the parameter of chapter 08's
exercise 2, and the checked exercises of both chapters (solution passes, typical wrong answers
fail with their hint, the shipped stub prints "not attempted yet")."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_lib import plot
from course_lib.checks import ex08_box_to_mask as ex08
from course_lib.checks import ex10_medical_papers as ex10
from course_lib.checks.core import CheckFailed
from course_lib.weak import box2mask as b2m


def _rounds(n_rounds=3):
    """A Rounds of ``n_rounds`` rounds on two 8 x 8 images, with distinct test Dice values."""
    masks = np.zeros((2, 8, 8), np.int64)
    masks[:, 2:6, 2:6] = 1
    labels = b2m.box_labels([np.array([[1, 1, 7, 7]])] * 2, (8, 8))
    r = b2m.Rounds()
    for k in range(n_rounds):
        r.labels.append(labels if k == 0 else r.pseudo[-1])
        r.pseudo.append(masks.copy())
        r.eval_dice.append(0.5 + 0.1 * k)
    images = masks[:, None].astype(np.float32)
    return r, images, masks, [np.array([[1, 1, 7, 7]])] * 2


def test_rounds_frame_draws_the_rth_round_network_at_x_r_beside_the_labels_it_made():
    rounds, images, masks, boxes = _rounds(3)
    fig = Figure()
    plot.rounds_frame(fig, rounds, images, masks, boxes, 0, show=(0,))
    ax = fig.axes[-1]
    labels_line, net_line = ax.get_lines()[:2]
    # x counts the rounds done: the labels after r rounds and the network of the r-th round
    np.testing.assert_array_equal(labels_line.get_xdata(), [0, 1, 2, 3])
    np.testing.assert_array_equal(net_line.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(net_line.get_ydata(), rounds.eval_dice)
    assert ax.get_xlabel().startswith("rounds done")
    # the labels at x = r are the predictions of the network drawn at x = r: pseudo[r - 1]
    assert list(ax.get_xticks()) == [0, 1, 2, 3]


def test_denoise_rule_1_can_be_switched_off_for_exercise_2():
    pred = np.zeros((1, 8, 8), np.int64)
    pred[0, 2:6, 2:6] = 1
    pred[0, 0, 7] = 1  # a false positive outside every box
    boxes = [np.array([[1, 1, 7, 7]])]
    init = b2m.box_labels(boxes, (8, 8))
    on = b2m.denoise(pred, boxes, init)
    off = b2m.denoise(pred, boxes, init, box_enforcing=False)
    assert on[0, 0, 7] == 0 and off[0, 0, 7] == 1
    np.testing.assert_array_equal(on[0, 1:7, 1:7], off[0, 1:7, 1:7])  # rule 2 unchanged


def test_recursive_training_passes_box_enforcing_to_denoise(monkeypatch):
    seen = []
    real = b2m.denoise

    def spy(*args, **kwargs):
        seen.append(kwargs.get("box_enforcing"))
        return real(*args, **kwargs)

    monkeypatch.setattr(b2m, "denoise", spy)
    rounds, images, masks, boxes = _rounds(1)
    b2m.recursive_training(lambda: b2m_model(), images, boxes, rounds.labels[0], rounds=2,
                           box_enforcing=False, steps=1, progress=False)  # fmt: skip
    assert seen == [False, False]


def b2m_model():
    from course_lib.models import TinyUNet

    return TinyUNet(widths=(4, 8))


# --- checked exercises --------------------------------------------------------------------------


def _stub(*args):
    raise NotImplementedError()


CASES = {
    "08.1": (ex08.check_ex08_1, ex08.solution_ex08_1,
             lambda b, s, i: ex08._box_i_wrong(b, s, i, ring=0), "IGNORE"),
    "08.2": (ex08.check_ex08_2, ex08.solution_ex08_2,
             lambda lg, t, w: torch.nn.functional.cross_entropy(lg, t), "weight each CE_k"),
    "10.1": (ex10.check_ex10_1, ex10.solution_ex10_1,
             lambda p: ex10._adjacency_wrong(p, symmetric=False), "both orders"),
    "10.2": (ex10.check_ex10_2, ex10.solution_ex10_2,
             lambda c, f, k, g: c * f * k * k, "groups"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_exercise_solution_passes(name, capsys):
    check, solution, _, _ = CASES[name]
    assert check(solution)
    assert f"✓ Exercise {name}" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(CASES))
def test_exercise_typical_mistake_fails_with_its_hint(name):
    check, _, wrong, words = CASES[name]
    with pytest.raises(CheckFailed, match=rf"(?s)Exercise {name}.*{words}.*Hint:"):
        check(wrong)


@pytest.mark.parametrize("name", list(CASES))
def test_exercise_stub_is_not_attempted_yet(name, capsys):
    check = CASES[name][0]
    assert check(_stub) is None and check(None) is None
    out = capsys.readouterr().out
    assert out.count(f"Exercise {name}") == 2 and "not attempted yet" in out


# --- chapter 10's grouped-convolution check: the measured alternative --------------------------


def test_ch10_same_weights_alternative_has_the_grouped_first_layer_budget():
    from course_lib.experiments import ch10_medical_papers as ch10
    from course_lib.papers import PhaseCNN

    n = {k: PhaseCNN(4, **v).first.weight.numel() for k, v in ch10.GROUPED_VARIANTS.items()}
    assert n == {"ordinary": 576, "grouped": 144, "ordinary, same weights": 144}
    mixes = PhaseCNN(4, **ch10.GROUPED_VARIANTS["ordinary, same weights"]).first
    assert mixes.groups == 1 and mixes.in_channels == 4  # it still mixes every phase
    with pytest.raises(ValueError, match="variants"):
        ch10.GroupedSettings(variants=("grouped", "dilated"))
