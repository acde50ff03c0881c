import numpy as np
import pytest

from course_lib.data import split_labeled, two_moons


def test_two_moons_shapes_and_determinism():
    X, y = two_moons(101, 0.1, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float32
    assert set(np.unique(y)) == {0, 1}
    X2, y2 = two_moons(101, 0.1, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, two_moons(101, 0.1, seed=4)[0])


def test_split_exact_counts_and_copy():
    _, y = two_moons(200, 0.1, seed=0)
    s = split_labeled(y, 7, seed=1)
    assert s is not y and np.all(y >= 0), "split_labeled must not modify its input"
    for c in (0, 1):
        assert np.sum(s == c) == 7
    assert np.sum(s == -1) == 200 - 14
    kept = s != -1
    np.testing.assert_array_equal(s[kept], y[kept])


def test_split_deterministic_and_seed_dependent():
    _, y = two_moons(200, 0.1, seed=0)
    np.testing.assert_array_equal(split_labeled(y, 3, seed=5), split_labeled(y, 3, seed=5))
    assert not np.array_equal(split_labeled(y, 3, seed=5), split_labeled(y, 3, seed=6))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"per_class": 0}, "per_class"),
        ({"per_class": 101}, "per_class"),
        ({"per_class": 2.5}, "per_class"),
    ],
)
def test_split_bad_per_class(kwargs, match):
    _, y = two_moons(200, 0.1, seed=0)
    with pytest.raises(ValueError, match=match):
        split_labeled(y, **kwargs)


def test_split_single_class_and_unlabeled_input():
    with pytest.raises(ValueError, match="single class"):
        split_labeled(np.zeros(10, dtype=int), 1)
    with pytest.raises(ValueError, match="-1"):
        split_labeled(np.array([0, 1, -1, 1]), 1)


def test_two_moons_bad_noise():
    with pytest.raises(ValueError, match="noise"):
        two_moons(100, -0.1)
