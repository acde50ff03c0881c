"""Chapters 09 and 10: the experiment functions hold the experiments contract on tiny settings
(records with the keys, deterministic for a seed, settings validated with a clear ValueError),
and their widgets redraw without training."""

import dataclasses

import numpy as np
import pytest

from course_lib import plot
from course_lib.data import BRAIN_ADJACENCY
from course_lib.evaluation import selection_noise
from course_lib.experiments import ch09_realistic_evaluation as ch09
from course_lib.experiments import ch10_medical_papers as ch10
from course_lib.papers import forbidden_adjacencies
from course_lib.widgets import nonadj_explorer, selection_explorer

TINY09 = ch09.Settings(
    steps=5,
    grid_lr=(1e-3, 1e-2),
    grid_weight_decay=(0.0,),
    per_class=(1, 3),
    methods=("supervised", "Pseudo-Label"),
    levels=(0.0, 1.0),
    mismatch_methods=("supervised", "Π-model"),
    mismatch_per_class=2,
    n_unlabeled=30,
)


def _numbers(records):
    """The measured numbers of records, without timings (which differ run to run)."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def _same(a, b):
    assert len(a) == len(b)
    for ra, rb in zip(_numbers(a), _numbers(b), strict=True):
        assert ra.keys() == rb.keys()
        for k in ra:
            np.testing.assert_array_equal(np.asarray(ra[k]), np.asarray(rb[k]), err_msg=k)


# -- chapter 09 ---------------------------------------------------------------------------------


def test_ch09_settings_instances_are_valid_and_the_notebook_is_smaller():
    assert ch09.NOTEBOOK.steps <= ch09.BENCH.steps
    assert set(ch09.NOTEBOOK.per_class) <= set(ch09.BENCH.per_class)
    assert set(ch09.NOTEBOOK.methods) <= set(ch09.BENCH.methods)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": 0}, "steps"),
        ({"methods": ("supervised", "MixMatch?")}, "methods"),
        ({"mismatch_methods": ()}, "mismatch_methods"),
        ({"per_class": ()}, "per_class"),
        ({"per_class": (0,)}, "per_class"),
        ({"levels": (0.0, 1.5)}, "levels"),
        ({"grid_lr": ()}, "grid_lr"),
    ],
)
def test_ch09_settings_reject_bad_values(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(TINY09, **change)


def test_ch09_holdout_is_a_fixed_disjoint_split():
    X_tr, y_tr, X_val, y_val, X_test, y_test = ch09.holdout(300)
    assert len(y_val) == 300 and len(y_tr) == 1257 - 300 and len(y_test) == 540
    rows = {x.tobytes() for x in X_tr}
    assert not any(x.tobytes() in rows for x in X_val)
    np.testing.assert_array_equal(X_val, ch09.holdout(300)[2])
    with pytest.raises(ValueError, match="n_val"):
        ch09.holdout(5000)


def test_ch09_tune_picks_the_best_validation_score():
    best, records = ch09.tune(TINY09, seed=0, device="cpu")
    assert len(records) == 2 and {r["lr"] for r in records} == {1e-3, 1e-2}
    top = max(records, key=lambda r: r["accuracy"])
    assert best == {"lr": top["lr"], "weight_decay": top["weight_decay"]}


def test_ch09_sweep_records_and_determinism():
    recs = ch09.sweep(TINY09, seed=1, device="cpu", supervised={"lr": 1e-2})
    assert [(r["method"], r["per_class"]) for r in recs] == [
        ("supervised", 1), ("Pseudo-Label", 1), ("supervised", 3), ("Pseudo-Label", 3)
    ]  # fmt: skip
    assert all({"method", "seed", "accuracy", "seconds", "per_class"} <= set(r) for r in recs)
    assert all(r["seed"] == 1 and 0 <= r["accuracy"] <= 1 for r in recs)
    _same(recs, ch09.sweep(TINY09, seed=1, device="cpu", supervised={"lr": 1e-2}))
    # the tuned parameters reach the supervised baseline only
    other = ch09.sweep(TINY09, seed=1, device="cpu", supervised={"lr": 1e-5})
    assert other[1]["accuracy"] == recs[1]["accuracy"]


def test_ch09_mismatch_records_and_determinism():
    recs = ch09.mismatch(TINY09, seed=0, device="cpu")
    assert [(r["mismatch"], r["method"]) for r in recs] == [
        (0.0, "supervised"), (0.0, "Π-model"), (1.0, "supervised"), (1.0, "Π-model")
    ]  # fmt: skip
    assert all({"method", "seed", "accuracy", "seconds", "per_class"} <= set(r) for r in recs)
    _same(recs, ch09.mismatch(TINY09, seed=0, device="cpu"))


def test_ch09_candidates_carry_their_correctness():
    recs = ch09.candidates(TINY09, seed=0, device="cpu")
    assert len(recs) == 2
    for r in recs:
        assert r["correct"].shape == (540,) and r["correct"].dtype == bool
        assert r["accuracy"] == pytest.approx(r["correct"].mean())


def test_selection_explorer_redraws_with_the_printed_numbers():
    rng = np.random.default_rng(0)
    correct = rng.random((4, 200)) < np.array([[0.9], [0.85], [0.8], [0.7]])
    w = selection_explorer(correct, (10, 50, 200), value=10, n_draws=100)
    first = w.image.value
    w.slider.value = 200
    assert w.renders == 2 and w.image.value != first
    right = w.fig.axes[1].lines[0].get_ydata()
    expected = [selection_noise(correct, n, 100, 0)["p_best"] for n in (10, 50, 200)]
    np.testing.assert_allclose(right, expected)


def test_runs_vs_draws_every_run_and_the_mean():
    recs = [
        {"method": m, "per_class": k, "accuracy": a}
        for m, k, a in [("a", 1, 0.5), ("a", 1, 0.7), ("a", 5, 0.9), ("b", 1, 0.4), ("b", 5, 0.6)]
    ]
    fig, axes = plot.figure(1)
    plot.runs_vs(axes[0], recs, log_x=True)
    dots = axes[0].collections[0].get_offsets()
    assert len(dots) == 3  # every run of "a" is a dot
    np.testing.assert_allclose(axes[0].lines[0].get_ydata(), [0.6, 0.9])  # the means


# -- chapter 10 ---------------------------------------------------------------------------------

TINY_SYN = ch10.SynergicSettings(n_images=60, per_class=2, steps=3, n_pairs=50,
                                 variants=tuple(ch10.SYNERGIC_VARIANTS))  # fmt: skip
TINY_ADJ = ch10.NonAdjSettings(n_unlabeled=4, n_test=3, pre_steps=2, steps=2)
TINY_SIA = ch10.SiameseSettings(n_unlabeled=2, n_labeled=2, n_test=2, n_patches=200,
                                pretext_steps=3, label_counts=(1, 2), probe_draws=2)  # fmt: skip
TINY_GRP = ch10.GroupedSettings(n_train=20, n_test=30, steps=3)


@pytest.mark.parametrize(
    ("settings", "change", "message"),
    [
        (TINY_SYN, {"variants": ("triplet",)}, "variants"),
        (TINY_SYN, {"lr": 0.0}, "lr"),
        (TINY_ADJ, {"steps": 0}, "steps"),
        (TINY_ADJ, {"lambda_adj": -1.0}, "lambda_adj"),
        (TINY_SIA, {"label_counts": ()}, "label_counts"),
        (TINY_SIA, {"patch": 64}, "patch"),
        (TINY_GRP, {"contrast": 0.0}, "contrast"),
    ],
)
def test_ch10_settings_reject_bad_values(settings, change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(settings, **change)


def test_ch10_synergic_records_and_determinism():
    recs = ch10.synergic(TINY_SYN, seed=0, device="cpu")
    assert [r["method"] for r in recs] == list(ch10.SYNERGIC_VARIANTS)
    assert "head_balanced" not in recs[0]
    assert all(0 <= r["head_balanced"] <= 1 for r in recs[1:])
    _same(recs, ch10.synergic(TINY_SYN, seed=0, device="cpu"))


def test_ch10_nonadj_records_match_their_segmentations():
    recs = ch10.nonadj(TINY_ADJ, seed=0, device="cpu")
    names = ["after pre-training", "cross-entropy only", "+ NonAdjLoss (unlabeled)"]
    assert [r["method"] for r in recs] == names
    _, _, ph_t = ch10.phantoms(TINY_ADJ)
    for r in recs:
        seg = r["segmentation"]
        assert seg.shape == ph_t.masks.shape
        assert r["accuracy"] == pytest.approx((seg == ph_t.masks).mean())
        assert r["forbidden"] == pytest.approx(forbidden_adjacencies(seg, BRAIN_ADJACENCY).mean())
    _same(recs, ch10.nonadj(TINY_ADJ, seed=0, device="cpu"))


def test_ch10_siamese_records_and_determinism():
    recs = ch10.siamese(TINY_SIA, seed=1, device="cpu")
    assert len(recs) == 2 * 2 * 2  # encoders x label counts x draws
    assert {r["draw"] for r in recs} == {2, 3}  # seed * probe_draws + d
    assert all(len(r["pretext_loss"]) == 3 for r in recs if r["method"] == "distance pretext")
    _same(recs, ch10.siamese(TINY_SIA, seed=1, device="cpu"))


def test_ch10_grouped_records_and_determinism():
    recs = ch10.grouped(TINY_GRP, seed=0, device="cpu")
    by = {r["method"]: r for r in recs}
    assert by["ordinary"]["first_weights"] == 4 * by["grouped"]["first_weights"]
    assert all(r["per_class"] == "all" for r in recs)
    _same(recs, ch10.grouped(TINY_GRP, seed=0, device="cpu"))


def test_forbidden_border_by_hand():
    allowed = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=bool)  # 0 may not touch 2
    pred = np.array([[0, 0, 2], [1, 1, 1]])
    expected = np.array([[0, 1, 1], [0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(plot.forbidden_border(pred, allowed), expected)


def test_nonadj_explorer_redraws_from_recorded_segmentations():
    rng = np.random.default_rng(0)
    images = rng.random((3, 1, 8, 8))
    masks = rng.integers(0, 5, (3, 8, 8))
    segs = {"a": rng.integers(0, 5, (3, 8, 8)), "b": masks.copy()}
    n_bad = {k: forbidden_adjacencies(v, BRAIN_ADJACENCY) for k, v in segs.items()}
    w = nonadj_explorer(images, masks, segs, BRAIN_ADJACENCY, n_forbidden=n_bad)
    first = w.image.value
    w.slider.value = 2
    assert w.renders == 2 and w.image.value != first
    assert w.fig.axes[2].get_title().endswith(f"{n_bad['a'][2]} forbidden pairs")
    fig = plot.segmentation_strip(images, masks, segs, BRAIN_ADJACENCY, [0, 2], n_forbidden=n_bad)
    assert len(fig.axes) == 2 * 4
