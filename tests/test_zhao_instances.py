"""Zhao et al.'s two stages (course_lib.papers.zhao_instances): crops, the mask-weight layer, the
paste-back, the per-instance scores, and chapter 08's experiment on a tiny setting."""

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.data import cells
from course_lib.experiments import ch08_box_to_mask as ch08
from course_lib.papers import zhao_instances as zi


def _two_squares():
    """One 20 x 20 image with two touching 4 x 4 squares (instances 1 and 2)."""
    inst = np.zeros((1, 20, 20), np.int64)
    inst[0, 5:9, 5:9] = 1
    inst[0, 5:9, 9:13] = 2
    boxes = [np.array([[5, 5, 9, 9], [5, 9, 9, 13]])]
    images = (inst[:, None] > 0).astype(np.float32)
    return images, inst, boxes


def test_crops_are_the_padded_boxes_and_target_only_their_own_instance():
    images, inst, boxes = _two_squares()
    crops, targets, index = zi.crop_instances(images, boxes, inst, size=8, pad=2)
    assert crops.shape == (2, 1, 8, 8) and targets.shape == (2, 8, 8)
    np.testing.assert_array_equal(index, [[0, 0, 3, 3, 11, 11], [0, 1, 3, 7, 11, 15]])
    # the padded box is 8 x 8 = the crop size: no resizing, so the crop is the image window
    np.testing.assert_array_equal(crops[0, 0], images[0, 0, 3:11, 3:11])
    np.testing.assert_array_equal(targets[0], inst[0, 3:11, 3:11] == 1)  # the neighbour is 0
    np.testing.assert_array_equal(targets[1], inst[0, 3:11, 7:15] == 2)


def test_paste_back_of_the_true_crops_gives_the_instances_back():
    images, inst, boxes = _two_squares()
    _, targets, index = zi.crop_instances(images, boxes, inst, size=8, pad=2)
    pasted = zi.paste_instances(targets.astype(np.float32), index, (20, 20), 1)
    np.testing.assert_array_equal(pasted, inst)


def test_mask_weight_layer_matches_the_formula_and_ignores_unmasked_instances():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 2, 3, 3, generator=g, requires_grad=True)
    targets = torch.randint(0, 2, (4, 3, 3), generator=g)
    w = torch.tensor([1.0, 0.0, 1.0, 0.0])
    loss = zi.mask_weighted_loss(logits, targets, w)
    ce = [F.cross_entropy(logits[k : k + 1], targets[k : k + 1]) for k in range(4)]
    assert loss.item() == pytest.approx(((ce[0] + ce[2]) / 2).item(), rel=1e-6)
    (grad,) = torch.autograd.grad(loss, logits)
    assert grad[w == 0].abs().max() == 0 and grad[w == 1].abs().max() > 0


def test_instance_scores_match_one_to_one_and_count_misses():
    _, inst, _ = _two_squares()
    swapped = np.where(inst > 0, 3 - inst, 0)  # same instances, other numbers: matching finds them
    s = zi.instance_scores(inst, swapped)
    np.testing.assert_allclose(s["iou"], 1.0)
    merged = (inst > 0).astype(np.int64)  # one blob over both: only one true instance can match it
    s = zi.instance_scores(inst, merged)
    np.testing.assert_allclose(sorted(s["iou"]), [0.0, 0.5])
    np.testing.assert_allclose(s["dice"], 2 * s["iou"] / (1 + s["iou"]))


def test_semantic_to_instances_splits_a_blob_by_the_boxes():
    _, inst, boxes = _two_squares()
    np.testing.assert_array_equal(zi.semantic_to_instances(inst > 0, boxes), inst)


def test_bad_input_names_the_parameter():
    images, inst, boxes = _two_squares()
    crops, targets, _ = zi.crop_instances(images, boxes, inst, size=8)
    with pytest.raises(ValueError, match="weights are all 0"):
        zi.train_mask_head(zi.mask_head(), crops, targets, np.zeros(2, int), steps=1)
    with pytest.raises(ValueError, match="instances must be instance maps"):
        zi.crop_instances(images, boxes, inst.astype(float))
    with pytest.raises(ValueError, match="fraction"):
        ch08.ZhaoSettings(fraction=0.0)


def test_two_stages_learn_from_a_few_masks_and_are_deterministic():
    train = cells(20, seed=0)
    test = cells(6, seed=1)
    crops, targets, _ = zi.crop_instances(train.images, train.boxes, train.instances, size=16)
    w = np.zeros(len(crops), np.int64)
    w[::5] = 1  # a mask for every fifth nucleus
    preds = []
    for _ in range(2):
        torch.manual_seed(0)
        head = zi.mask_head()
        zi.train_mask_head(head, crops, targets, w, steps=40, seed=0, progress=False)
        preds.append(zi.segment_instances(head, test.images, test.boxes, size=16))
    np.testing.assert_array_equal(preds[0], preds[1])
    assert zi.instance_scores(test.instances, preds[0])["dice"].mean() > 0.8


def test_ch08_zhao_experiment_records():
    s = ch08.ZhaoSettings(base=dataclasses.replace(ch08.NOTEBOOK, n_train=20, n_test=6), steps=20)
    recs = ch08.zhao(s, seed=0, semantic=[])  # no semantic records given: the two stages only
    assert [r["method"] for r in recs] == ["two stages (Zhao): boxes + 10 % instance masks"]
    r = recs[0]
    train, test = ch08.data(s.base, 0)
    n = sum(len(b) for b in train.boxes)
    assert r["n_masks"] == round(0.1 * n)
    assert r["hours"] == pytest.approx(ch08.instance_hours(n, r["n_masks"]))
    assert r["instances"].shape == test.instances.shape and 0 < r["instance_dice"] <= 1
