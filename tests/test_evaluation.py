"""Chapter 09: realistic-evaluation helpers (mismatch pools, sweeps, model-selection noise)."""

import numpy as np
import pytest

from course_lib.data import digits
from course_lib.estimator import SSLClassifier
from course_lib.evaluation import (
    compare,
    mismatch_split,
    selection_noise,
    tune_supervised,
    validation_draws,
)
from course_lib.methods import PseudoLabel, Supervised


@pytest.fixture(scope="module")
def dig():
    return digits(flat=True)


@pytest.mark.parametrize("mismatch", [0.0, 0.5, 1.0])
def test_mismatch_split_composition(dig, mismatch):
    X, y, _, _ = dig
    Xtr, ytr = mismatch_split(X, y, per_class=3, n_unlabeled=200, mismatch=mismatch, seed=1)
    assert Xtr.shape == (18 + 200, 64)
    lab = ytr != -1
    np.testing.assert_array_equal(np.bincount(ytr[lab]), [3] * 6)
    # recover the true classes of the pool by matching rows of X
    rows = {x.tobytes(): c for x, c in zip(X, y, strict=True)}
    pool = np.array([rows[x.tobytes()] for x in Xtr[~lab]])
    assert np.sum(pool >= 6) == round(200 * mismatch)
    # no labeled example appears again in the pool
    lab_rows = {x.tobytes() for x in Xtr[lab]}
    assert not any(x.tobytes() in lab_rows for x in Xtr[~lab])
    # same seed, same split
    Xtr2, ytr2 = mismatch_split(X, y, per_class=3, n_unlabeled=200, mismatch=mismatch, seed=1)
    np.testing.assert_array_equal(Xtr, Xtr2)


def test_mismatch_split_errors(dig):
    X, y, _, _ = dig
    with pytest.raises(ValueError, match="mismatch"):
        mismatch_split(X, y, mismatch=1.5)
    with pytest.raises(ValueError, match="n_unlabeled"):
        mismatch_split(X, y, n_unlabeled=5000, mismatch=1.0)
    with pytest.raises(ValueError, match="labeled_classes"):
        mismatch_split(X, y, labeled_classes=(3,))


class _Recorder:
    """A classifier that remembers the labels it was fitted on and predicts class 0."""

    seen: list = []

    def __init__(self, name):
        self.name = name

    def fit(self, X, y):
        _Recorder.seen.append((self.name, y.copy()))
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=np.int64)


def test_compare_same_labels_for_every_method_and_new_labels_per_seed():
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.repeat([0, 1], 10)
    _Recorder.seen = []
    recs = compare(
        {"a": lambda s: _Recorder("a"), "b": lambda s: _Recorder("b")},
        X, y, per_class=(2,), seeds=(0, 1),
    )  # fmt: skip
    assert [(r["method"], r["seed"]) for r in recs] == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]
    (_, ya0), (_, yb0), (_, ya1), (_, yb1) = _Recorder.seen
    np.testing.assert_array_equal(ya0, yb0)  # one label draw per seed, shared by the methods
    np.testing.assert_array_equal(ya1, yb1)
    assert not np.array_equal(ya0, ya1)  # another seed, another draw
    assert (ya0 != -1).sum() == 4
    # transductive accuracy: on the 16 hidden points, of which 8 are class 0
    assert recs[0]["accuracy"] == pytest.approx(0.5)
    assert set(recs[0]) == {"data", "method", "per_class", "seed", "accuracy", "seconds"}


def test_compare_all_labels_and_test_set():
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.repeat([0, 1], 10)
    _Recorder.seen = []
    recs = compare(
        {"a": lambda s: _Recorder("a")}, X, y, per_class=(None,), seeds=(0,),
        X_test=X[:4], y_test=np.array([0, 0, 0, 1]),
    )  # fmt: skip
    np.testing.assert_array_equal(_Recorder.seen[0][1], y)  # every label kept
    assert recs[0]["per_class"] == "all" and recs[0]["accuracy"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="per_class=None"):
        compare({"a": lambda s: _Recorder("a")}, X, y, per_class=(None,))
    with pytest.raises(ValueError, match="estimators"):
        compare({}, X, y)
    with pytest.raises(ValueError, match="X_test and y_test"):
        compare({"a": lambda s: _Recorder("a")}, X, y, X_test=X)


def test_compare_trains_ssl_classifiers(dig):
    X, y, Xt, yt = dig
    recs = compare(
        {
            "sup": lambda s: SSLClassifier(method=Supervised(), steps=5, random_state=s),
            "pl": lambda s: SSLClassifier(method=PseudoLabel(), steps=5, random_state=s),
        },
        X[:300], y[:300], per_class=(2,), seeds=(0,), X_test=Xt[:100], y_test=yt[:100],
    )  # fmt: skip
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in recs) and len(recs) == 2


def test_tune_supervised_returns_best(dig):
    X, y, Xt, yt = dig
    best, scores = tune_supervised(
        X[:200], y[:200], Xt[:100], yt[:100], {"lr": [1e-5, 1e-2]}, steps=40, device="cpu"
    )
    assert len(scores) == 2 and best == max(scores, key=lambda s: s[1])[0]
    assert best == {"lr": 1e-2}  # a learning rate of 1e-5 cannot learn in 40 steps
    with pytest.raises(ValueError, match="grid"):
        tune_supervised(X, y, Xt, yt, {})


def test_selection_noise_extremes_and_binomial():
    perfect = np.array([[True] * 100, [False] * 100])
    out = selection_noise(perfect, 10, n_draws=50)
    assert out == {"p_best": 1.0, "regret": 0.0, "sd": 0.0}
    same = np.ones((3, 50), dtype=bool)
    assert selection_noise(same, 5, n_draws=20)["p_best"] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    coin = rng.random((2, 20000)) < np.array([[0.80], [0.82]])
    # 400 draws (not the default 2,000): the same conclusions, a sixth of the sorting
    small = selection_noise(coin, 20, n_draws=400, seed=1)
    large = selection_noise(coin, 2000, n_draws=400, seed=1)
    assert small["sd"] == pytest.approx(np.sqrt(0.8 * 0.2 / 20), rel=0.15)
    assert small["p_best"] < large["p_best"] and small["regret"] > large["regret"]
    with pytest.raises(ValueError, match="n_val"):
        selection_noise(coin, 30000)
    with pytest.raises(ValueError, match="correct"):
        selection_noise(coin[:1], 10)


def test_validation_draws_share_the_examples_between_models():
    rng = np.random.default_rng(0)
    a = rng.random(60) < 0.7
    correct = np.stack([a, ~a, a])  # model 1 is right exactly where model 0 is wrong
    val = validation_draws(correct, 12, n_draws=200, seed=3)
    assert val.shape == (3, 200)
    # the same 12 examples for every model: accuracies of models 0 and 1 add up to 1 per draw
    np.testing.assert_allclose(val[0] + val[1], 1.0)
    np.testing.assert_array_equal(val[0], val[2])
    np.testing.assert_allclose(val * 12, np.round(val * 12))  # multiples of 1 / n_val
    assert val[0].std() > 0  # different examples from draw to draw
    np.testing.assert_array_equal(val, validation_draws(correct, 12, n_draws=200, seed=3))
    # without replacement: n_val = n gives every model its true accuracy in every draw
    full = validation_draws(correct, 60, n_draws=5)
    np.testing.assert_allclose(full, np.repeat(correct.mean(1)[:, None], 5, axis=1))
    with pytest.raises(ValueError, match="n_val"):
        validation_draws(correct, 61)


def test_selection_noise_summarises_validation_draws():
    rng = np.random.default_rng(1)
    correct = rng.random((4, 300)) < np.array([[0.80], [0.82], [0.78], [0.81]])
    val = validation_draws(correct, 30, n_draws=500, seed=2)
    out = selection_noise(correct, 30, n_draws=500, seed=2)
    top = val == val.max(0, keepdims=True)
    best = np.argmax(correct.mean(1))
    expected = np.mean(top[best] / top.sum(0))  # ties share the pick
    assert out["p_best"] == pytest.approx(expected)
    assert out["sd"] == pytest.approx(val.std(1).mean())


@pytest.mark.parametrize("seed", [-1, 1.5, 2**32, "0", True])
def test_seeds_are_validated_with_a_course_error(seed):
    correct = np.ones((2, 30), dtype=bool)
    message = r"seed must be an integer in \[0, 2\*\*32 - 1\].*got"
    with pytest.raises(ValueError, match=message):
        validation_draws(correct, 10, n_draws=5, seed=seed)
    with pytest.raises(ValueError, match=message):
        selection_noise(correct, 10, n_draws=5, seed=seed)
    X, y = np.zeros((40, 2), dtype=np.float32), np.repeat(np.arange(8), 5)
    with pytest.raises(ValueError, match=message):
        mismatch_split(X, y, per_class=1, n_unlabeled=4, seed=seed)
    with pytest.raises(ValueError, match=r"seeds must be an integer"):
        compare({"a": lambda s: _Recorder("a")}, X, y, per_class=(1,), seeds=(0, seed))
    assert len(validation_draws(correct, 10, n_draws=5, seed=2**32 - 1)[0]) == 5  # the top seed


# --- progress: one bar over the fits of a comparison (issue 19) ------------------------------


class _Slow(_Recorder):
    """Fits through the course's engine: 4 optimiser steps of ``pause`` seconds, named 'inner'."""

    pause = 0.0

    def fit(self, X, y):
        import time

        import torch

        from course_lib import train

        net = torch.nn.Linear(2, 2)
        opt = torch.optim.SGD(net.parameters(), lr=0.1)

        def step_loss(step):
            time.sleep(self.pause)
            return net(torch.ones(1, 2)).sum(), {}

        train.optimize(net, opt, step_loss, 4, record=lambda *a: None, record_every=1, name="inner")
        return self


def _compare_slow(pause, data="toy"):
    _Slow.pause = pause
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.repeat([0, 1], 10)
    return compare(
        {"a": lambda s: _Slow("a"), "b": lambda s: _Slow("b")}, X, y, per_class=(2,),
        seeds=(0, 1), data=data,
    )  # fmt: skip


def test_compare_shows_one_bar_over_its_fits(monkeypatch, capsys):
    from course_lib import train

    monkeypatch.setattr(train, "PROGRESS_DELAY", 0.05)
    monkeypatch.setenv("COURSE_PROGRESS", "1")
    _compare_slow(0.06)  # 4 fits of 4 steps: about 1 s, far past the delay
    err = capsys.readouterr().err.replace("\r", "\n")
    assert "compare toy" in err and "/4" in err  # the comparison's bar counts its 4 fits
    assert "inner " in err  # the running fit's step, as that bar's postfix ...
    assert "inner:" not in err  # ... never a second, nested bar of its own
    monkeypatch.setenv("COURSE_PROGRESS", "0")
    _compare_slow(0.06)
    assert capsys.readouterr().err == ""  # COURSE_PROGRESS=0: no bar at all


def test_a_quick_comparison_shows_no_bar(monkeypatch, capsys):
    from course_lib import train

    monkeypatch.setenv("COURSE_PROGRESS", "1")
    assert train.PROGRESS_DELAY >= 1.0  # the course's delay: a second or more before a bar
    _compare_slow(0.0)  # 16 steps without a pause end long before it
    assert capsys.readouterr().err == ""


def test_track_is_the_one_bar_of_a_loop_of_comparisons(monkeypatch, capsys):
    from course_lib import train

    monkeypatch.setattr(train, "PROGRESS_DELAY", 0.05)
    monkeypatch.setenv("COURSE_PROGRESS", "1")
    recs = [r for seed in train.track(range(2), "draws") for r in _compare_slow(0.06)]
    assert len(recs) == 8 and train._current_runs() is None  # every bar closed
    err = capsys.readouterr().err.replace("\r", "\n")
    assert "draws:" in err and "2/2" in err  # the outer loop's bar, ticking once per draw
    assert "compare toy" in err and "compare toy:" not in err  # the inner one: its postfix
    with train.progress_bar(3, "quiet", progress=False) as runs:
        _compare_slow(0.06)  # progress=False silences the experiment and everything in it
        runs.advance()
    assert capsys.readouterr().err == ""
