"""The experiments of chapters 01-05 (``course_lib.experiments``) on tiny settings: records with
the contract's keys, deterministic for a seed, settings validated with clear errors; and the
chapter 05 widget, which redraws recorded runs only."""

import numpy as np
import pytest

from course_lib import plot
from course_lib.experiments import ch01_two_moons as ch01
from course_lib.experiments import ch02_laplacian_svm as ch02
from course_lib.experiments import ch03_consistency as ch03
from course_lib.experiments import ch04_entropy as ch04
from course_lib.experiments import ch05_pseudo_labeling as ch05

KEYS = {"method", "seed", "accuracy", "seconds"}


def _numbers(records, keys=("accuracy",)):
    return [(r["method"], r["seed"], *(r[k] for k in keys)) for r in records]


def _check(records, seed):
    for r in records:
        assert KEYS <= set(r), sorted(r)
        assert r["seed"] == seed and r["seconds"] >= 0 and 0.0 <= r["accuracy"] <= 1.0


# ----------------------------------------------------------------------------- chapter 01
def test_moons_task_test_and_validation_sets_differ_from_training():
    X, y, X_test, y_test = ch01.moons_task(50)
    _, _, X_val, _ = ch01.moons_task(50, validation=True)
    assert X.shape == X_test.shape == X_val.shape == (50, 2) and len(y) == len(y_test) == 50
    assert not np.array_equal(X, X_test) and not np.array_equal(X_test, X_val)
    np.testing.assert_array_equal(X, ch01.moons_task(50)[0])


def test_ch01_one_record_per_label_count_deterministic():
    tiny = ch01.Settings(per_class=(1, None), steps=3)
    records = ch01.run(tiny, seed=1)
    _check(records, 1)
    assert [r["per_class"] for r in records] == [1, "all"]
    assert _numbers(records) == _numbers(ch01.run(tiny, seed=1))


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"per_class": ()}, "per_class"),
        ({"per_class": (0,)}, "per_class"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps must be an integer >= 1"),
        ({"batch_size": True}, "batch_size"),
    ],
)
def test_ch01_settings_are_validated(kw, match):
    with pytest.raises(ValueError, match=match):
        ch01.Settings(**kw)


# ----------------------------------------------------------------------------- chapter 02
def test_ch02_figure2_records_per_gamma_and_deterministic():
    tiny = ch02.Figure2Settings(gamma_I=(0.0, 1.0), n=60)
    records = ch02.figure2(tiny, seed=3)
    _check(records, 3)
    assert [r["gamma_I"] for r in records] == [0.0, 1.0]
    assert records[0]["method"] == "SVM (γ_I = 0)"
    assert _numbers(records) == _numbers(ch02.figure2(tiny, seed=3))


def test_ch02_side_by_side_runs_every_estimator_on_each_data_set():
    tiny = ch02.Settings(moons=60, per_class=(("moons", 1), ("cancer", 2)))
    records = ch02.run(tiny, seed=0)
    _check(records, 0)
    names = list(ch02.estimators(ch02.datasets(tiny)["moons"][0]))
    assert [(r["data"], r["method"]) for r in records] == [
        (d, m) for d in ("moons", "cancer") for m in names
    ]
    assert _numbers(records) == _numbers(ch02.run(tiny, seed=0))


def test_ch02_fit_seconds_one_time_per_repeat():
    secs = ch02.fit_seconds(40, 2)
    assert len(secs) == 2 and all(s > 0 for s in secs)
    with pytest.raises(ValueError, match="repeats"):
        ch02.fit_seconds(40, 0)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ch02.Figure2Settings(gamma_I=()), "gamma_I"),
        (lambda: ch02.Figure2Settings(gamma_A=0.0), "gamma_A"),
        (lambda: ch02.Settings(per_class=(("mnist", 1),)), "per_class"),
        (lambda: ch02.Settings(per_class=(("moons", 0),)), "labels per class"),
        (lambda: ch02.Settings(moons=3), "moons must be an integer >= 4"),
        (lambda: ch02.Figure2Settings(noise=-0.1), "noise"),
        (lambda: ch02.Figure2Settings(per_class=2, n=7), "n must be an integer >= 8"),
        (lambda: ch02.fit_seconds(40, 1.5), "repeats must be an integer >= 1"),
    ],
)
def test_ch02_settings_are_validated(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ----------------------------------------------------------------------------- chapter 03
TINY03 = ch03.Settings(
    methods=("supervised", "VAT"), steps=4, baseline_steps=3, record_every=2, grid=6
)


def test_ch03_records_carry_recorded_runs_and_are_deterministic():
    records = ch03.run(TINY03, seed=2)
    _check(records, 2)
    assert [(r["method"], r["steps"]) for r in records] == [("supervised", 3), ("VAT", 4)]
    h = records[1]["history"]
    assert len(h.snapshots) >= 2 and h.snapshots[-1].shape == (36, 2)
    assert records[1]["accuracy"] == h.last("eval_acc")
    assert _numbers(records) == _numbers(ch03.run(TINY03, seed=2))
    other = ch03.run(TINY03, seed=3)
    assert [r["accuracy"] for r in records] != [r["accuracy"] for r in other]


def test_ch03_bench_settings_train_longer_than_the_notebook():
    assert ch03.BENCH.steps == 2000 and ch03.NOTEBOOK.steps == 600
    assert ch03.VALIDATION.validation and not ch03.BENCH.validation


def test_ch03_sweep_reuses_fits_it_is_given_and_trains_the_others(monkeypatch):
    trained = []
    real = ch03._train

    def spy(name, method, settings, seed, device=None):
        trained.append((name, method))
        return real(name, method, settings, seed, device)

    tiny = ch03.Settings(steps=2, baseline_steps=2, record_every=1, grid=4)
    done = ch03.run(ch03.Settings(methods=("VAT",), steps=2, record_every=1, grid=4), seed=0)
    monkeypatch.setattr(ch03, "_train", spy)
    records = ch03.sweep(tiny, seed=0, reuse=done)
    assert len(records) == 12 and len(trained) == 11  # VAT at its default eps came from `done`
    vat_default = [r for r in records if r["method"] == "VAT" and r["value"] == 0.2][0]
    assert vat_default["history"] is done[0]["history"]
    runs = ch03.histories(records)
    assert set(runs) == set(ch03.SWEEP) and list(runs["VAT"]) == [
        "eps = 0.05",
        "eps = 0.2",
        "eps = 0.6",
    ]


def test_ch03_disagreement_and_target_noise():
    rec = ch03.run(ch03.Settings(methods=("Temporal Ensembling",), steps=3), seed=0)[0]
    X = ch01.moons_task(40)[0]
    mask = ch03.disagreement(rec["model"], X, copies=4)
    assert mask.shape == (40,) and mask.dtype == bool
    noise = ch03.target_noise(rec["model"], rec["trained"], X, draws=12, epochs=3)
    assert noise["pi"] > 0 and noise["te"] > 0 and not rec["model"].training
    a = rec["trained"].alpha
    assert noise["theory"] == pytest.approx((1 - a) * (1 + a**3) / ((1 + a) * (1 - a**3)))


def test_ch03_digits_run_one_record_per_method():
    records = ch03.digits_run(ch03.DigitsSettings(steps=2), seed=0)
    _check(records, 0)
    assert [r["method"] for r in records] == ["supervised", "Π-model", "Mean Teacher", "VAT"]
    with pytest.raises(ValueError, match="eps"):
        ch03.DigitsSettings(eps=0.0)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"methods": ("FixMatch",)}, "methods"),
        ({"methods": ()}, "methods"),
        ({"steps": 0}, "steps"),
        ({"record_every": 0}, "record_every"),
        ({"lr": 0.0}, "lr"),
    ],
)
def test_ch03_settings_are_validated(kw, match):
    with pytest.raises(ValueError, match=match):
        ch03.Settings(**kw)


# ----------------------------------------------------------------------------- chapter 04
def test_ch04_records_hold_near_boundary_and_are_deterministic():
    tiny = ch04.Settings(methods=("supervised", "entropy minimization λ=1"), steps=3)
    records = ch04.run(tiny, seed=0)
    _check(records, 0)
    for r in records:
        assert 0.0 <= r["near_boundary"] <= 1.0
        assert r["near_boundary"] == ch04.near_boundary(r["model"], ch01.moons_task()[0])
    keys = ("accuracy", "near_boundary")
    assert _numbers(records, keys) == _numbers(ch04.run(tiny, seed=0), keys)


def test_ch04_confidence_records_and_determinism():
    tiny = ch04.ConfidenceSettings(hidden=(8,), steps=3)
    records = ch04.confidence(tiny, seed=0)
    _check(records, 0)
    assert [r["method"] for r in records] == list(ch04.REGULARISERS)
    for r in records:
        assert r["mean_max_prob"] == pytest.approx(float(r["max_prob"].mean()))
        assert 0.0 <= r["share_confident"] <= 1.0 and r["max_prob"].min() >= 0.1 - 1e-6
    keys = ("accuracy", "mean_max_prob")
    assert _numbers(records, keys) == _numbers(ch04.confidence(tiny, seed=0), keys)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ch04.Settings(methods=("Π-model",)), "methods"),
        (lambda: ch04.Settings(steps=0), "steps"),
        (lambda: ch04.ConfidenceSettings(hidden=()), "hidden"),
        (lambda: ch04.ConfidenceSettings(confident=1.0), "confident"),
    ],
)
def test_ch04_settings_are_validated(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ----------------------------------------------------------------------------- chapter 05
TINY05 = ch05.Settings(taus=(0.6, 0.9), n=60, steps=4, record_every=2, grid=5)


def test_ch05_thresholds_one_record_per_tau_plus_supervised():
    records = ch05.thresholds(TINY05, seed=0)
    _check(records, 0)
    assert [r["tau"] for r in records] == [0.6, 0.9, None]
    assert np.isnan(records[-1]["mask_rate"]) and 0.0 <= records[0]["mask_rate"] <= 1.0
    keys = ("accuracy", "mask_rate", "confidence_wrong")
    again = ch05.thresholds(TINY05, seed=0)
    assert _numbers(records[:2], keys) == _numbers(again[:2], keys)
    assert list(ch05.histories(records)) == [0.6, 0.9, None]


def test_ch05_label_seed_none_draws_the_labels_with_the_seed(monkeypatch):
    drawn = []
    real = ch05.split_labeled
    monkeypatch.setattr(
        ch05, "split_labeled", lambda y, k, seed: drawn.append(seed) or real(y, k, seed)
    )
    ch05.thresholds(ch05.Settings(taus=(0.9,), n=40, steps=1, record_every=1, grid=3), seed=5)
    ch05.thresholds(
        ch05.Settings(taus=(0.9,), n=40, steps=1, record_every=1, grid=3, label_seed=None), seed=5
    )
    assert drawn == [2, 5]


def test_ch05_distillation_records_teachers_counts_and_student():
    tiny = ch05.DistillationSettings(steps=2, widths=(4, 8), n_draws=1)
    records = ch05.distillation(tiny, seed=0)
    _check(records, 0)
    assert [r["method"] for r in records] == [
        "supervised CNN",
        "Pseudo-Label CNN",
        "distilled student",
    ]
    for r in records[:2]:
        for view in ("single view", "multi-transform"):
            c = r["pseudo_labels"][view]
            assert 0 <= c["wrong"] <= c["kept"] and 0.0 <= c["guess_accuracy"] <= 1.0


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ch05.Settings(taus=()), "taus"),
        (lambda: ch05.Settings(taus=(1.5,)), "taus"),
        (lambda: ch05.Settings(steps=0), "steps"),
        (lambda: ch05.DistillationSettings(threshold=1.0), "threshold"),
        (lambda: ch05.DistillationSettings(n_draws=0), "n_draws"),
        (lambda: ch05.DistillationSettings(tau=0.0), "tau must lie in"),
        (lambda: ch05.Settings(n=True), "n must be an integer >= 1"),
        (lambda: ch05.Settings(lambda_u=-1.0), "lambda_u"),
    ],
)
def test_ch05_settings_are_validated(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_ch05_threshold_widget_redraws_recorded_runs_and_has_a_static_twin():
    from course_lib.widgets import threshold_explorer

    records = ch05.thresholds(TINY05, seed=0)
    runs = ch05.histories(records)
    X, y_true, _, _ = ch05.moons(TINY05)
    y = ch05.split_labeled(y_true, 1, seed=2)
    w = threshold_explorer(runs, X, y)
    before, renders = bytes(w.image.value), w.renders
    assert w.slider.value == 0.9  # the middle of the recorded thresholds
    w.slider.value = 0.6
    assert w.renders == renders + 1 and bytes(w.image.value) != before
    fig = plot.pseudo_label_thresholds(runs, 0.6, X, y)
    assert len(fig.axes) == 3 and fig.axes[0].get_title().startswith("tau = 0.6")
    with pytest.raises(ValueError, match="value"):
        threshold_explorer(runs, X, y, value=0.7)
    with pytest.raises(ValueError, match="no Pseudo-Label"):
        threshold_explorer({None: runs[None]}, X, y)
