"""Issue 17 for chapters 01, 02 and 05: self-training that self-trains, the prior-beliefs figure,
and the chapters' checked exercises (each passes on its solution sketch, fails on a typical wrong
answer with a useful message, and prints "not attempted yet" on the notebook's stub)."""

import numpy as np
import pytest

from course_lib.experiments import ch02_laplacian_svm as ch02
from course_lib.experiments import ch05_pseudo_labeling as ch05


# ----------------------------------------------------------------------------- self-training
def test_ch02_self_training_adds_pseudo_labels_and_counts_the_wrong_ones():
    tiny = ch02.Settings(moons=60, per_class=(("moons", 1), ("cancer", 2)))
    records = ch02.self_training(tiny, seed=0)
    assert [r["data"] for r in records] == ["moons", "cancer"]
    n_hidden = {"moons": 60 - 2, "cancer": 569 - 4}
    for r in records:
        assert r["added"] == n_hidden[r["data"]]  # k_best: 10 rounds of a tenth label them all
        assert 0 <= r["wrong"] <= r["added"]
        assert 0.0 <= r["platt_agrees"] <= 1.0 and 0.0 < r["max_p"] <= 1.0
        assert 0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["svc_accuracy"] <= 1.0
    assert records == ch02.self_training(tiny, seed=0)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # SVC(probability=True), see ch05
def test_ch02_self_training_wrong_count_matches_the_hidden_labels():
    # the count is of pseudo-labels that differ from the truth: with the true labels it is 0
    tiny = ch02.Settings(moons=60, per_class=(("moons", 1),))
    X, y_true, _ = ch02.datasets(tiny)["moons"]
    y = ch02.split_labeled(y_true, 1, seed=0)
    st = ch02.estimators(X)["SelfTraining (SVC)"](0).fit(X, y)
    added = st.labeled_iter_ > 0
    r = ch02.self_training(tiny, seed=0)[0]
    assert r["wrong"] == int(np.sum(st.transduction_[added] != y_true[added])) > 0


def test_ch05_self_training_threshold_adds_nothing_k_best_labels_all():
    out = ch05.self_training(per_class=2, seed=1)
    # round 1 adds the images whose probability reaches 0.9; none reach it -> it stops at once
    assert (out["SelfTraining, threshold"]["added"] == 0) == (out["max_p"] < 0.9)
    k_best = out["SelfTraining, k_best"]
    assert k_best["added"] == 1257 - 20 and 0 < k_best["wrong"] < k_best["added"]
    assert out["SVC, labels only"]["added"] == 0
    assert out == ch05.self_training(per_class=2, seed=1)
    with pytest.raises(ValueError, match="per_class"):
        ch05.self_training(per_class=0)


# ----------------------------------------------------------------------------- prior beliefs
def test_ch01_prior_beliefs_same_labels_different_clouds_different_boundaries():
    from course_lib.experiments import ch01_two_moons as ch01

    tiny = ch01.PriorSettings(n=60, resolution=20)
    panels = ch01.prior_beliefs(tiny, seed=0)
    assert [p["name"] for p in panels] == [
        "labels only",
        "two moons",
        "two horizontal bands",
        "two vertical bands",
    ]
    for p in panels:
        np.testing.assert_array_equal(p["X"][:2], ch01.LABELED)  # the same two labels everywhere
        np.testing.assert_array_equal(p["y"][:2], [0, 1])
        assert (p["y"][2:] == -1).all() and p["probs"].shape == (len(p["grid"]), 2)
        np.testing.assert_array_equal(p["grid"], panels[0]["grid"])
    assert len(panels[0]["X"]) == 2 and np.isnan(panels[0]["accuracy"])
    sides = [p["probs"][:, 1] > 0.5 for p in panels]
    assert all(np.mean(sides[i] != sides[j]) > 0.05 for i in range(4) for j in range(i + 1, 4))
    assert all(p["accuracy"] >= 0.9 for p in panels[1:])
    again = ch01.prior_beliefs(tiny, seed=0)
    assert all(np.array_equal(a["probs"], b["probs"]) for a, b in zip(panels, again, strict=True))


def test_ch01_prior_settings_are_validated():
    from course_lib.experiments import ch01_two_moons as ch01

    for kw, name in [({"n": 2}, "n"), ({"sigma": 0.0}, "sigma"), ({"resolution": 1}, "resolution")]:
        with pytest.raises(ValueError, match=name):
            ch01.PriorSettings(**kw)


def test_boundary_strip_and_training_strip_draw_one_panel_each():
    from course_lib import plot
    from course_lib.data import split_labeled
    from course_lib.experiments import ch01_two_moons as ch01
    from course_lib.methods import Supervised

    panels = ch01.prior_beliefs(ch01.PriorSettings(n=40, resolution=10), seed=0)
    fig = plot.boundary_strip(panels)
    assert [ax.get_title() for ax in fig.axes[:4]] == [p["title"] for p in panels]
    with pytest.raises(ValueError, match="panels"):
        plot.boundary_strip([])
    X, y_true, X_test, y_test = ch01.moons_task(60)
    y = split_labeled(y_true, 2, seed=0)
    h = ch01.fit_mlp(Supervised(), X, y, X_test, y_test, steps=6, record_every=2, grid=8)["history"]
    fig = plot.training_strip(h, X, y, records=(0, 2), title="t")
    assert len(fig.axes) == 3 and fig.axes[1].get_title() == f"t step {h.steps[2]}"
    with pytest.raises(ValueError, match="records"):
        plot.training_strip(h, X, y, records=(0, 99))


# ----------------------------------------------------------------------------- checked exercises
from course_lib.checks import ex01_two_moons as ex01  # noqa: E402
from course_lib.checks import ex02_laplacian_svm as ex02  # noqa: E402
from course_lib.checks import ex05_pseudo_labeling as ex05  # noqa: E402
from course_lib.checks.core import CheckFailed  # noqa: E402


def _stub(*args):
    raise NotImplementedError


def _first_per_class(y, per_class, seed):  # ignores the seed: always the same points
    out = np.full_like(y, -1)
    for c in np.unique(y):
        keep = np.flatnonzero(y == c)[:per_class]
        out[keep] = c
    return out


def _raw_accuracy(clusters, y_true):  # compares cluster ids with class ids as they are
    return float(np.mean(clusters == y_true))


def _two_class_trick(clusters, y_true):  # right for two classes only
    acc = float(np.mean(clusters == y_true))
    return max(acc, 1 - acc)


def _no_half(f, W):
    return float(np.sum(W * (f[:, None] - f[None, :]) ** 2))


def _gamma_I_only(K, L, gamma_A, gamma_I):
    return K @ np.linalg.inv(np.eye(len(K)) + gamma_I * L @ K)


def _overwrites_labels(probs, y, tau):
    return np.where(probs.max(1) >= tau, probs.argmax(1), y)


def _strict(probs, y, tau):
    new = y.copy()
    pick = (y == -1) & (probs.max(1) > tau)
    new[pick] = probs.argmax(1)[pick]
    return new


def _ranks_everyone(probs, y, k):
    new = y.copy()
    pick = np.argsort(-probs.max(1))[:k]
    new[pick] = probs[pick].argmax(1)
    return new


CASES = [
    (ex01.check_ex01_1, ex01.solution_ex01_1, _first_per_class, "not the first per_class"),
    (ex01.check_ex01_2, ex01.solution_ex01_2, _raw_accuracy, "try every naming"),
    (ex01.check_ex01_2, ex01.solution_ex01_2, _two_class_trick, "only works for two classes"),
    (ex02.check_ex02_1, ex02.solution_ex02_1, _no_half, "take half of it"),
    (ex02.check_ex02_2, ex02.solution_ex02_2, _gamma_I_only, "you used gamma_I alone"),
    (ex05.check_ex05_1, ex05.solution_ex05_1, _overwrites_labels, "pseudo-label only where"),
    (ex05.check_ex05_1, ex05.solution_ex05_1, _strict, "use >= tau"),
    (ex05.check_ex05_2, ex05.solution_ex05_2, _ranks_everyone, "rank the UNLABELED points"),
]


@pytest.mark.parametrize(
    "check, solution, wrong, message", CASES, ids=lambda v: getattr(v, "__name__", "")
)
def test_exercise_passes_on_its_solution_and_fails_on_a_typical_mistake(
    check, solution, wrong, message, capsys
):
    assert check(solution)
    assert "✓ Exercise" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match=r"(?s)" + message + r".*Hint: "):
        check(wrong)


@pytest.mark.parametrize(
    "check",
    [
        ex01.check_ex01_1,
        ex01.check_ex01_2,
        ex02.check_ex02_1,
        ex02.check_ex02_2,
        ex05.check_ex05_1,
        ex05.check_ex05_2,
    ],  # fmt: skip
)
def test_exercise_stub_prints_not_attempted_yet(check, capsys):
    assert check(_stub) is None and check(None) is None
    out = capsys.readouterr().out
    assert out.count("not attempted yet. Hint: ") == 2


def test_exercise_solutions_agree_with_the_library():
    from course_lib import classic
    from course_lib.data import split_labeled

    y = np.repeat([0, 1], 50)
    for seed in range(3):  # the same convention as split_labeled: per_class labels, -1 elsewhere
        a, b = ex01.solution_ex01_1(y, 2, seed), split_labeled(y, 2, seed=seed)
        assert np.array_equal(np.sort(a), np.sort(b))
    f, W = np.random.default_rng(0).normal(size=6), np.ones((6, 6)) - np.eye(6)
    L = classic.graph_laplacian(W)
    assert ex02.solution_ex02_1(f, W) == pytest.approx(classic.smoothness(f, L))


def test_exercise_checks_are_cheap():
    import time

    for check, solution, *_ in CASES:
        start = time.perf_counter()
        check(solution)
        assert time.perf_counter() - start < 2.0
