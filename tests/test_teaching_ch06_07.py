"""Chapters 06 and 07: the checked exercises and the notebooks' classroom budget.

Each exercise check passes on the instructors' solution, fails with a useful message on typical
wrong answers and prints "not attempted yet" (and raises nothing) on the stub the chapter ships.
"""

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from course_lib.checks import ex06_mixmatch_fixmatch as ex06
from course_lib.checks import ex07_cam_mil as ex07
from course_lib.checks.core import CheckFailed
from course_lib.experiments import ch06_mixmatch_fixmatch as ch06
from course_lib.experiments import ch07_cam as ch07
from course_lib.methods.mixmatch import sharpen
from course_lib.models import SmallCNN
from course_lib.weak.cam import cam


def _soft_weight_without_detach(w, s):
    conf, q_hat = w.softmax(1).max(1)
    return (conf * F.cross_entropy(s, q_hat, reduction="none")).mean()


def _soft_weight_normalised(w, s):
    with torch.no_grad():
        conf, q_hat = w.softmax(1).max(1)
    return (conf * F.cross_entropy(s, q_hat, reduction="none")).sum() / conf.sum()


def _pointing_counts_empty_masks(maps, masks):
    n = len(maps)
    return float(masks.reshape(n, -1)[np.arange(n), maps.reshape(n, -1).argmax(1)].mean())


WRONG = [
    (ex06.check_ex06_1, lambda p, T: sharpen(p, T).mean(0), "sharpened each view and averaged"),
    (ex06.check_ex06_1, lambda p, T: p.mean(0), "you forgot to sharpen"),
    (ex06.check_ex06_1, lambda p, T: sharpen(p.mean(0), 1 / T), "exponent of Sharpen is 1/T"),
    (ex06.check_ex06_2, _soft_weight_without_detach, "a gradient flows into the weak-view"),
    (ex06.check_ex06_2, _soft_weight_normalised, "not by the sum of the weights"),
    (ex06.check_ex06_2, lambda w, s: F.cross_entropy(s, w.argmax(1)), "you forgot it"),
    (ex07.check_ex07_1, _pointing_counts_empty_masks, "images with an empty mask are not scored"),
    (ex07.check_ex07_1, lambda maps, masks: 0.5, "wrong value"),
    (ex07.check_ex07_2, lambda p, low: 1 - (1 - p.flatten(1)).prod(1), "rescale every factor"),
    (ex07.check_ex07_2, lambda p, low: p.flatten(1).max(1).values, "not the largest patch"),
    (ex07.check_ex07_2, lambda p, low: p.flatten(1).mean(1).detach(), "wrong value"),
]


@pytest.mark.parametrize("check, wrong, message", WRONG, ids=[w[2][:30] for w in WRONG])
def test_a_typical_wrong_answer_fails_with_a_useful_message(check, wrong, message):
    with pytest.raises(CheckFailed, match=r"(?s)✗.*" + message + r".*Hint:"):
        check(wrong)


def test_a_wrong_return_type_is_named_not_a_traceback():
    with pytest.raises(CheckFailed, match="expected a .B, C. tensor"):
        ex06.check_ex06_1(lambda p, T: None)
    with pytest.raises(CheckFailed, match="return one number"):
        ex07.check_ex07_1(lambda maps, masks: [0.5, 0.5])


# --- the chapters' classroom budget --------------------------------------------------------------

TINY07 = ch07.Settings(
    size=24, n_train=40, n_val=16, n_test=16, cam_steps=3, cam_batch=8, mil_steps=3,
    shares=(0.0, 0.25, 0.5), fractions=(0.2, 0.5), pointing_tolerance=1, widths=(4, 8),
)  # fmt: skip


def test_ch07_maps_scored_in_chunks_equal_the_maps_of_one_pass():
    torch.manual_seed(0)
    net = SmallCNN(1, 2, (4, 8)).eval()
    x = np.random.default_rng(0).random((ch07.CHUNK * 2 + 5, 1, 24, 24), dtype=np.float32)
    np.testing.assert_allclose(ch07._chunked_cam(net, x, 1), cam(net, x, target=1)[0], atol=1e-6)


def test_ch07_notebook_keeps_two_mil_shares_that_train_exactly_as_in_the_bench():
    assert set(ch07.NOTEBOOK.shares) < set(ch07.BENCH.shares)
    all_three = ch07.run_mil(TINY07, seed=0)
    two = ch07.run_mil(replace(TINY07, shares=(0.0, 0.5)), seed=0)
    kept = [r for r in all_three if r["method"] in {t["method"] for t in two}]
    for a, b in zip(kept, two, strict=True):
        assert a["method"] == b["method"] and a["auc"] == b["auc"]
        np.testing.assert_array_equal(a["map"], b["map"])


def test_the_notebooks_train_fewer_images_than_before_the_minute_budget():
    """Count, not seconds: image passes of the notebooks' trainings (forward + backward)."""
    s6 = ch06.NOTEBOOK  # one seed of supervised + FixMatch (16 labeled, 2 x mu x 16 unlabeled)
    digits = s6.steps * s6.batch_size * (1 + (1 + 2 * s6.mu))
    assert digits <= 256_000, digits  # two seeds were 512,000
    s7 = ch07.NOTEBOOK
    lesions = s7.cam_steps * s7.cam_batch + len(s7.shares) * s7.mil_steps * 32
    assert lesions <= 19_200, lesions  # CAM 9,600 + three MIL networks 14,400 were 24,000
