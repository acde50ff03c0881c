import numpy as np
import pytest
from sklearn.base import clone
from sklearn.semi_supervised import LabelSpreading

from course_lib.data import split_labeled, two_moons
from course_lib.estimator import SSLClassifier
from course_lib.methods import Supervised


@pytest.fixture(scope="module")
def data():
    X, y_true = two_moons(400, 0.1, seed=0)
    return X, y_true


def test_estimator_api_matches_sklearn(data):
    X, y_true = data
    y = split_labeled(y_true, 10, seed=0)
    for est in (SSLClassifier(steps=150), LabelSpreading()):
        est.fit(X, y)
        proba = est.predict_proba(X)
        assert proba.shape == (400, 2)
        np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
        assert set(np.unique(est.predict(X))) <= {0, 1}
        assert 0.5 < est.score(X, y_true) <= 1.0


def test_estimator_maps_arbitrary_labels(data):
    X, y_true = data
    labels = np.where(y_true == 0, 3, 7)
    y = np.where(split_labeled(y_true, 5, seed=0) == -1, -1, labels)
    clf = SSLClassifier(steps=100).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [3, 7])
    assert set(np.unique(clf.predict(X))) <= {3, 7}


def test_estimator_deterministic_and_does_not_mutate_method(data):
    X, y_true = data
    y = split_labeled(y_true, 3, seed=0)
    method = Supervised()
    a = SSLClassifier(method=method, steps=80, random_state=2).fit(X, y).predict_proba(X)
    b = clone(SSLClassifier(method=method, steps=80, random_state=2)).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = SSLClassifier(method=method, steps=80, random_state=3).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, c)


def test_all_labels_beat_three_labels(data):
    X, y_true = data
    y_three = split_labeled(y_true, 3, seed=0)
    assert np.bincount(y_three[y_three != -1]).tolist() == [3, 3]
    full = SSLClassifier(steps=300).fit(X, y_true).score(X, y_true)
    three = SSLClassifier(steps=300).fit(X, y_three).score(X, y_true)
    assert full > 0.97, full
    assert full > three + 0.1, (full, three)  # three labels per class: 0.65 on this draw


def test_predict_errors(data):
    X, y_true = data
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SSLClassifier().predict(X)
    clf = SSLClassifier(steps=10).fit(X, y_true)
    with pytest.raises(ValueError, match="X has 5 features, but SSLClassifier is expecting 2"):
        clf.predict(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="model"):
        SSLClassifier(model="resnet", steps=10).fit(X, y_true)
