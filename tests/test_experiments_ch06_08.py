"""The experiments of chapters 06-08 (``course_lib.experiments``) on tiny settings: records with
the contract's keys, deterministic for a seed, settings validated with clear errors."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from course_lib import plot, widgets
from course_lib.experiments import ch06_mixmatch_fixmatch as ch06
from course_lib.experiments import ch07_cam as ch07
from course_lib.experiments import ch08_box_to_mask as ch08

NUMBERS = ("accuracy", "auc", "pointing", "pointing_tol", "loc_paper", "miou", "fraction")


def _numbers(records, keys):
    return [(r["method"], r["seed"], *(r[k] for k in keys)) for r in records]


# ----------------------------------------------------------------------------- chapter 07
TINY07 = ch07.Settings(
    size=24, n_train=40, n_val=16, n_test=16, cam_steps=3, cam_batch=8, mil_steps=3,
    shares=(0.0, 0.5), fractions=(0.2, 0.5), pointing_tolerance=1, widths=(4, 8),
)  # fmt: skip


def test_ch07_records_have_the_contract_keys_and_valid_scores():
    records = ch07.run(TINY07, seed=0)
    assert [r["method"] for r in records] == [
        "CAM (SmallCNN, image labels)", "MIL, 0% boxes", "MIL, 50% boxes",
    ]  # fmt: skip
    n_pos = int((ch07.data(TINY07)[2].labels > 0).sum())
    for r in records:
        assert {"method", "seed", "accuracy", "seconds", *NUMBERS} <= set(r)
        assert r["seed"] == 0 and r["seconds"] >= 0
        assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["pointing"] <= r["pointing_tol"] <= 1.0
        assert r["fraction"] in TINY07.fractions
        assert r["map"].shape == (n_pos, 24, 24)
    assert records[0]["map_normal"].shape == (n_pos, 24, 24)
    table = ch07.table(records, TINY07, title="t", random_box=0.1)
    assert [row[0] for row in table.rows][1:] == [r["method"] for r in records]
    assert table.rows[0][5] == "10.0" and "pointing ±1 px %" in table.columns


def test_ch07_is_deterministic_for_a_seed_and_the_seed_matters():
    a, b = ch07.run_mil(TINY07, seed=0), ch07.run_mil(TINY07, seed=0)
    assert _numbers(a, NUMBERS) == _numbers(b, NUMBERS)
    np.testing.assert_array_equal(a[1]["map"], b[1]["map"])
    c = ch07.run_mil(TINY07, seed=1)
    assert not all(np.array_equal(x["map"], y["map"]) for x, y in zip(a, c, strict=True))


def test_ch07_localize_picks_the_fraction_on_validation_images():
    _, val, test = ch07.data(TINY07)
    mv, mt = val.masks[val.labels > 0].astype(float), test.masks[test.labels > 0].astype(float)
    scores = ch07.localize(TINY07, mv, mt)  # the true masks as maps: every peak on a lesion
    assert scores["pointing"] == 1.0 and scores["accuracy"] >= 0.5


def test_ch07_random_box_is_a_chance_baseline():
    small = [np.array([[2, 2, 8, 8]])] * 200  # a 6-px box anywhere in 48 x 48 rarely hits
    assert ch07.random_box_accuracy(small, 48, seed=0) < 0.1
    whole = [np.array([[0, 0, 48, 48]])] * 5  # a box as large as the image cannot miss
    assert ch07.random_box_accuracy(whole, 48, seed=3) == 1.0


def test_ch07_cam_box_draws_the_box_on_the_map():
    from matplotlib.figure import Figure

    image, mask, blob = np.zeros((16, 16)), np.zeros((16, 16), int), np.zeros((16, 16))
    mask[4:8, 4:8], blob[4:8, 4:8] = 1, 1.0
    ax1, ax2 = Figure().subplots(1, 2)
    plot.cam_box(ax1, image, mask, np.array([4, 5, 8, 10]))
    plot.cam_box(ax2, image, mask, np.array([4, 5, 8, 10]), cam_map=blob, threshold=0.5, title="t")
    (rect,) = ax1.patches
    assert rect.get_xy() == (4.5, 3.5) and (rect.get_width(), rect.get_height()) == (5, 4)
    assert len(ax1.images) == 1 and len(ax2.images) == 2 and ax2.get_title() == "t"


@pytest.mark.parametrize(
    "change, match",
    [
        ({"size": 25}, "multiple of mil_cell"),
        ({"fractions": ()}, "fractions is empty"),
        ({"mil_low": 1.0}, "mil_low"),
        ({"cam_steps": 0}, "cam_steps"),
        ({"shares": (1.5,)}, "shares"),
    ],
)
def test_ch07_settings_are_validated(change, match):
    with pytest.raises(ValueError, match=match):
        replace(TINY07, **change)


def test_ch07_notebook_and_bench_differ_only_in_their_settings():
    assert ch07.NOTEBOOK.size == 48 and ch07.BENCH.size == 64
    assert ch07.NOTEBOOK.size % ch07.NOTEBOOK.mil_cell == 0 == ch07.BENCH.size % ch07.BENCH.mil_cell


# ----------------------------------------------------------------------------- chapter 06
TINY06 = ch06.Settings(per_class=1, steps=4, batch_size=4, mu=1, widths=(4,), record_every=2)


@pytest.fixture(scope="module")
def ch06_records():
    return ch06.run(TINY06, seed=0)


def test_ch06_records_have_the_contract_keys(ch06_records):
    assert [r["method"] for r in ch06_records] == ["supervised", "FixMatch"]
    for r in ch06_records:
        assert {"method", "seed", "per_class", "accuracy", "seconds", "history", "truth"} <= set(r)
        assert r["seed"] == 0 and r["per_class"] == 1 and 0.0 <= r["accuracy"] <= 1.0
    sup, fm = ch06_records
    assert sup["history"].snapshots == []  # only FixMatch records its guesses
    assert fm["history"].steps == [0, 2, 4] and len(fm["history"].snapshots) == 3
    assert fm["history"].snapshots[0].shape == (len(fm["truth"]), 10)


def test_ch06_is_deterministic_for_a_seed(ch06_records):
    again = ch06.run(TINY06, seed=0)
    for a, b in zip(ch06_records, again, strict=True):
        assert a["accuracy"] == b["accuracy"]
        np.testing.assert_array_equal(a["history"]["loss"], b["history"]["loss"])
    other = ch06.run(TINY06, seed=1)
    assert not np.array_equal(other[1]["truth"], ch06_records[1]["truth"])  # another labeled set


@pytest.mark.parametrize(
    "change, match",
    [
        ({"tau": 0.0}, "tau"),
        ({"mu": 0}, "mu"),
        ({"steps": -1}, "steps"),
        ({"widths": ()}, "widths"),
    ],
)
def test_ch06_settings_are_validated(change, match):
    with pytest.raises(ValueError, match=match):
        replace(TINY06, **change)


def test_ch06_bench_is_the_notebook_training():
    assert replace(ch06.BENCH, record_every=ch06.NOTEBOOK.record_every) == ch06.NOTEBOOK


def test_ch06_widgets_redraw_from_records_without_training(ch06_records):
    fm = ch06_records[1]
    tau = widgets.tau_explorer(fm["history"], fm["truth"])
    first = tau.controls["tau"]  # the browser test drives the first slider
    assert list(tau.controls) == ["tau"] and first.value == 0.95
    before, renders = tau.image.value, tau.renders
    first.value = 0.5
    assert tau.renders == renders + 1 and tau.image.value != before
    with pytest.raises(ValueError, match="truth has"):
        widgets.tau_explorer(fm["history"], fm["truth"][:3])
    with pytest.raises(ValueError, match="no snapshots"):
        widgets.tau_explorer(ch06_records[0]["history"], fm["truth"])
    p = torch.tensor([0.5, 0.3, 0.2])
    sharp = widgets.sharpen_explorer(p)
    before = sharp.image.value
    sharp.slider.value = 0.2
    assert sharp.image.value != before
    x = np.zeros((1, 8, 8), np.float32)
    mix = widgets.mixup_explorer(x, 3, x + 1, 7)
    before = mix.image.value
    mix.slider.value = 0.9
    assert mix.image.value != before


def test_ch06_threshold_plot_counts_kept_guesses():
    from matplotlib.figure import Figure

    snaps = [np.array([[0.9, 0.1], [0.6, 0.4]]), np.array([[0.99, 0.01], [0.1, 0.9]])]
    fig = Figure()
    plot.fixmatch_threshold(fig, [1, 2], snaps, np.array([0, 0]), tau=0.85)
    rate, kept_acc, all_acc = (line.get_ydata() for line in fig.axes[0].lines[:3])
    np.testing.assert_allclose(rate, [0.5, 1.0])  # confidences >= 0.85: one, then both
    np.testing.assert_allclose(kept_acc, [1.0, 0.5])  # the second guess at step 2 is wrong
    np.testing.assert_allclose(all_acc, [1.0, 0.5])


# ----------------------------------------------------------------------------- chapter 08
TINY08 = ch08.Settings(
    n_train=8, n_test=4, steps=2, widths=(4, 8), rounds=2, fractions=(0.25, 0.5), bootstrap=0.5
)


@pytest.fixture(scope="module")
def ch08_records():
    return ch08.run(TINY08, seed=0)


def test_ch08_records_have_the_contract_keys(ch08_records):
    assert [r["method"] for r in ch08_records] == [
        "full masks (upper bound)", "Box", "Box_i", "Box_i + recursion (2 rounds)",
        "prior (Otsu in box)", "Box_i + 25 % masks", "25 % masks only", "Box_i + 50 % masks",
        "Box_i + 50 % masks, bootstrapped Dice", "50 % masks only",
    ]  # fmt: skip
    for r in ch08_records:
        assert {"method", "seed", "dice", "seconds", "fraction", "hours", "pred"} <= set(r)
        assert r["seed"] == 0 and 0.0 <= r["dice"] <= 1.0 and r["hours"] > 0
    by = {r["method"]: r for r in ch08_records}
    assert len(by["Box_i + recursion (2 rounds)"]["rounds"].eval_dice) == 2
    assert by["Box_i"]["dice"] == by["Box_i + recursion (2 rounds)"]["rounds"].eval_dice[0]
    assert by["Box_i"]["pred"] is None and by["Box"]["pred"].shape == (4, 64, 64)
    # annotation cost: masks for everything > boxes + a few masks > boxes only
    assert by["full masks (upper bound)"]["hours"] > by["Box_i + 50 % masks"]["hours"]
    assert by["Box_i + 50 % masks"]["hours"] > by["Box"]["hours"]
    assert by["50 % masks only"]["hours"] < by["Box_i + 50 % masks"]["hours"]


def test_ch08_is_deterministic_for_a_seed(ch08_records):
    again = ch08.run_boxes(TINY08, seed=0)
    n = len(again)
    assert [r["dice"] for r in again] == [r["dice"] for r in ch08_records[:n]]
    np.testing.assert_array_equal(again[1]["pred"], ch08_records[1]["pred"])


def test_ch08_mixed_results_feed_the_explorer(ch08_records):
    results = ch08.mixed_results(ch08_records)
    assert list(results) == [0.25, 0.5, 1.0]
    by = {r["method"]: r for r in ch08_records}
    assert results[0.5]["mixed"][0] == by["Box_i + 50 % masks"]["dice"]
    assert results[0.5]["cost"] == (
        by["Box_i + 50 % masks"]["hours"],
        by["50 % masks only"]["hours"],
    )
    train, test = ch08.data(TINY08, 0)
    explorer = widgets.mixed_explorer(results, test.images, test.masks, show=(0,))
    before = explorer.image.value
    explorer.slider.value = 1.0
    assert explorer.image.value != before


def test_ch08_rounds_strip_shows_every_stage(ch08_records):
    rounds = next(r["rounds"] for r in ch08_records if "rounds" in r)
    train, _ = ch08.data(TINY08, 0)
    fig = plot.rounds_strip(rounds, train.images, train.masks, train.boxes, show=(0, 1))
    assert len(fig.axes) == 2 * 3  # rows: images; columns: round-0 labels + 2 rounds
    assert (
        fig.axes[0].get_title().startswith("round-0 labels")
        and "round 2" in fig.axes[2].get_title()
    )
    player = widgets.rounds_player(rounds, train.images, train.masks, train.boxes, show=(0, 1))
    first = list(player.controls.values())[0]  # the browser test drives the first slider
    first.value = first.max
    assert "after round 2" in player.label.value


def test_ch08_annotation_hours():
    boxes = [np.zeros((2, 4)), np.zeros((3, 4))]
    assert ch08.annotation_hours(boxes) == pytest.approx(5 * 7 / 3600)
    assert ch08.annotation_hours(boxes, np.array([True, False])) == pytest.approx(
        (2 * 79 + 3 * 7) / 3600
    )


@pytest.mark.parametrize(
    "change, match",
    [
        ({"recursion": ("Boxes",)}, "unknown builder"),
        ({"bootstrap": 0.3}, "bootstrap"),
        ({"fractions": (0.0,)}, "fractions"),
        ({"rounds": 0}, "rounds"),
    ],
)
def test_ch08_settings_are_validated(change, match):
    with pytest.raises(ValueError, match=match):
        replace(TINY08, **change)
