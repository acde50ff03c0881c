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
