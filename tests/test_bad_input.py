"""Bad input a student may give the public API (issue 18, part 2): each case gets an error raised by
course_lib that names the parameter and the fix, or the documented behaviour. One test per case,
each asserting the message; ``CASES`` at the bottom counts them.

(``load_medmnist``'s broken files are tested in tests/test_xrays.py, the homework checkers in
tests/test_checks.py.)
"""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from course_lib import augment
from course_lib.data import split_labeled, two_moons
from course_lib.estimator import SSLClassifier
from course_lib.methods import FixMatch, MixMatch, PiModel, Supervised
from course_lib.models import MLP, SmallCNN
from course_lib.train import fit, predict_proba, prepare
from course_lib.weak.cam import cam, grad_cam, map_to_box


@pytest.fixture(scope="module")
def moons():
    X, y = two_moons(120, seed=0)
    return X, y, split_labeled(y, 10, seed=0)


def _clf(**kw):
    return SSLClassifier(steps=5, **kw)


# --- SSLClassifier -------------------------------------------------------------------------------
def test_1d_X_asks_to_reshape(moons):
    X, _, y = moons
    with pytest.raises(ValueError, match=r"got 1D array.*Reshape your data.*reshape\(-1, 1\)"):
        _clf().fit(X[:, 0], y)
    clf = _clf().fit(X, y)
    with pytest.raises(ValueError, match="Reshape your data"):
        clf.predict(X[0])


def test_X_with_zero_features(moons):
    _, _, y = moons
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(120, 0\)\).*at least one"):
        _clf().fit(np.zeros((120, 0)), y)


def test_complex_X_is_refused_not_truncated(moons):
    X, _, y = moons
    with pytest.raises(ValueError, match=r"X holds complex numbers: Complex data not supported"):
        _clf().fit(X + 1j * X, y)


def test_object_integer_labels_are_accepted_like_integers(moons):
    X, _, y = moons
    as_int = _clf().fit(X, y)
    as_object = _clf().fit(X, y.astype(object))  # what pandas gives for an int column with None
    np.testing.assert_array_equal(as_object.classes_, as_int.classes_)
    np.testing.assert_array_equal(as_object.predict_proba(X), as_int.predict_proba(X))


def test_string_labels_name_the_encoding_fix(moons):
    X, _, y = moons
    with pytest.raises(ValueError, match=r"Unknown label type: y holds strings.*LabelEncoder"):
        _clf().fit(X, np.where(y == 0, "benign", "malignant"))


def test_continuous_labels(moons):
    X, _, y = moons
    with pytest.raises(ValueError, match=r"Unknown label type: 'continuous'.*regressor"):
        _clf().fit(X, y + 0.5)


def test_fit_without_y(moons):
    X, _, _ = moons
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        _clf().fit(X, None)


def test_sparse_X(moons):
    from scipy import sparse

    X, _, y = moons
    with pytest.raises(TypeError, match=r"sparse input is not supported.*toarray"):
        _clf().fit(sparse.csr_matrix(X), y)


def test_random_state_none_draws_a_seed_like_sklearn(moons):
    X, _, y = moons
    np.random.seed(0)
    a, b = _clf(random_state=None).fit(X, y), _clf(random_state=None).fit(X, y)
    assert a.seed_ != b.seed_  # a new seed per fit ...
    again = _clf(random_state=a.seed_).fit(X, y)  # ... kept, so the run can be repeated
    np.testing.assert_array_equal(again.predict_proba(X), a.predict_proba(X))
    np.random.seed(0)
    assert _clf(random_state=None).fit(X, y).seed_ == a.seed_  # drawn from NumPy's global RNG
    assert _clf(random_state=np.random.RandomState(1)).fit(X, y).seed_ == (
        np.random.RandomState(1).randint(np.iinfo(np.int32).max)
    )


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "0", True])
def test_bad_random_state_is_named(moons, bad):
    X, _, y = moons
    with pytest.raises(ValueError, match=r"^random_state must be an integer in \[0, 2\*\*32 - 1\]"):
        _clf(random_state=bad).fit(X, y)


def test_score_ignores_unlabeled_entries(moons):
    X, y_true, y = moons
    clf = _clf().fit(X, y)
    y_half = np.where(np.arange(len(y_true)) % 2 == 0, y_true, -1)
    labeled = y_half != -1
    expected = (clf.predict(X)[labeled] == y_true[labeled]).mean()
    assert clf.score(X, y_half) == pytest.approx(expected)
    assert clf.score(X[labeled], y_true[labeled]) == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"no labeled entries \(all -1\): score ignores the -1"):
        clf.score(X, np.full(len(y), -1))


class _Frame:
    """The two things scikit-learn reads of a DataFrame: ``columns`` and ``__array__``."""

    def __init__(self, values, columns):
        self.values, self.columns = np.asarray(values), list(columns)

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)

    def __len__(self):
        return len(self.values)


def test_feature_names_in_after_a_dataframe_fit(moons):
    X, _, y = moons
    clf = _clf().fit(_Frame(X, ["area", "perimeter"]), y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["area", "perimeter"])
    assert clf.predict(_Frame(X, ["area", "perimeter"])).shape == (len(X),)
    with pytest.raises(ValueError, match="feature names should match those .* during fit"):
        clf.predict(_Frame(X, ["perimeter", "area"]))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        clf.predict(X)
    assert not hasattr(_clf().fit(X, y), "feature_names_in_")  # a plain array: no names


def test_feature_names_with_pandas(moons):
    pd = pytest.importorskip("pandas")
    X, _, y = moons
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DataFrame's read-only values made torch warn
        clf = _clf().fit(pd.DataFrame(X, columns=["a", "b"]), pd.Series(y, dtype=object))
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b"])


# --- train.fit -----------------------------------------------------------------------------------
def test_labels_outside_the_networks_outputs(moons):
    X, _, _ = moons
    y3 = np.arange(len(X)) % 3  # classes 0, 1, 2 ...
    with pytest.raises(ValueError, match=r"model outputs 2 logits .* y has labels up to 2"):
        fit(MLP(2, 2), Supervised(), X, y3, steps=1, progress=False)  # ... for a 2-output net


def test_n_classes_differs_from_the_networks_outputs(moons):
    X, _, y = moons
    with pytest.raises(ValueError, match=r"model outputs 2 logits per example but n_classes=3"):
        fit(MLP(2, 2), Supervised(), X, y, n_classes=3, steps=1, progress=False)


def test_n_classes_below_the_labels(moons):
    X, _, _ = moons
    y3 = np.arange(len(X)) % 3
    with pytest.raises(ValueError, match=r"y has label 2 but n_classes=2: labels must lie in 0..1"):
        fit(MLP(2, 3), Supervised(), X, y3, n_classes=2, steps=1, progress=False)


def _wrong_shape(x):
    return torch.cat([x, x[:, :1]], dim=1)


def _numpy(x):
    return x.numpy() + 0.01


@pytest.mark.parametrize(
    "method, field",
    [
        (lambda a: PiModel(augment=a), "PiModel.augment"),
        (lambda a: MixMatch(augment=a), "MixMatch.augment"),
        (lambda a: FixMatch(weak=augment.GaussianNoise(0.1), strong=a), "FixMatch.strong"),
    ],
)
def test_augmentation_returning_a_wrong_shape_or_numpy(moons, method, field):
    X, _, y = moons
    shapes = r"turned a batch of shape \(2, 2\) into \(2, 3\)"
    with pytest.raises(ValueError, match=rf"{field} {shapes}"):
        fit(MLP(2, 2), method(_wrong_shape), X, y, steps=1, progress=False)
    with pytest.raises(ValueError, match=rf"{field} returned a ndarray; it must return a torch"):
        fit(MLP(2, 2), method(_numpy), X, y, steps=1, progress=False)


def test_the_augmentation_probe_changes_no_number(moons):
    """PiModel(augment=GaussianNoise(s)) draws the same noise as PiModel(noise_std=s); the probe
    of the augmentation before training must not shift the random stream."""
    X, _, y = moons
    probs = []
    for method in (PiModel(noise_std=0.1), PiModel(augment=augment.GaussianNoise(0.1))):
        torch.manual_seed(0)
        net = MLP(2, 2, hidden=(8,))
        fit(net, method, X, y, steps=5, seed=3, progress=False, device="cpu")
        probs.append(predict_proba(net, X))
    np.testing.assert_array_equal(probs[0], probs[1])


# --- CAM and Grad-CAM ----------------------------------------------------------------------------
def _cnn():
    torch.manual_seed(0)
    return SmallCNN(1, 3, (4, 8)).eval()


class _FlatFeatures(nn.Module):
    """`features` and a linear `classifier`, but no spatial maps (an MLP trunk)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(64, 4))
        self.classifier = nn.Linear(4, 3)

    def forward(self, x):
        return self.classifier(self.features(x))


class _FlattenHead(nn.Module):
    """Conv maps, then a linear layer over the flattened maps (no global average pooling)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Conv2d(1, 4, 3, padding=1)
        self.classifier = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class _MaxPoolHead(nn.Module):
    """Conv maps, global MAX pooling and a linear layer: shapes fit, but CAM would be wrong."""

    def __init__(self):
        super().__init__()
        self.features = nn.Conv2d(1, 4, 3, padding=1)
        self.classifier = nn.Linear(4, 3)

    def forward(self, x):
        return self.classifier(self.features(x).amax(dim=(2, 3)))


def test_cam_without_spatial_maps():
    with pytest.raises(ValueError, match=r"cam needs spatial feature maps: .* shape \(2, 4\)"):
        cam(_FlatFeatures(), torch.rand(2, 1, 8, 8))


@pytest.mark.parametrize(
    "net, why",
    [
        (_FlattenHead, "the classifier takes 256 inputs, not the 4 channels"),
        (_MaxPoolHead, r"the logits are not classifier\(mean of the feature maps\)"),
    ],
)
def test_cam_without_a_gap_head(net, why):
    torch.manual_seed(0)
    with pytest.raises(ValueError, match=rf"global-average-pooling head, but {why}.*grad_cam"):
        cam(net(), torch.rand(2, 1, 8, 8))


def test_grad_cam_without_spatial_maps():
    plain = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))  # no `features`, no conv layer
    with pytest.raises(ValueError, match="layer must be a convolutional nn.Module"):
        grad_cam(plain, torch.rand(2, 1, 8, 8))
    mlp = MLP(64, 3)  # its `features` give vectors (N, K), not maps
    with pytest.raises(ValueError, match=r"Grad-CAM needs spatial maps .* shape \(2, \d+\)"):
        grad_cam(mlp, torch.rand(2, 1, 8, 8))
    assert len(mlp.features._forward_hooks) == 0  # the hook went away with the error
    assert all(p.grad is None for p in mlp.parameters())


@pytest.mark.parametrize("fn", [cam, grad_cam])
def test_images_with_the_wrong_number_of_channels(fn):
    with pytest.raises(ValueError, match=r"x has 3 channel\(s\) .* takes 1: .*\(N, 1, H, W\)"):
        fn(_cnn(), torch.rand(2, 3, 8, 8))


def test_map_to_box_on_a_map_holding_nan():
    m = np.zeros((8, 8))
    m[2:4, 2:4] = 1.0
    m[6, 6] = np.nan
    with pytest.raises(ValueError, match="cam_map holds 1 NaN or infinite value"):
        map_to_box(m)


# --- widgets on empty input ----------------------------------------------------------------------
def test_rounds_player_on_empty_input():
    from course_lib.weak.box2mask import Rounds
    from course_lib.widgets import rounds_player

    images = np.zeros((2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"rounds.labels is empty; pass the Rounds .*recursive"):
        rounds_player(Rounds(), images, images[:, 0], [])
    rounds = Rounds(labels=[np.zeros((2, 8, 8), int)])
    with pytest.raises(ValueError, match="images is empty"):
        rounds_player(rounds, images[:0], images[:0, 0], [])


def test_cam_explorer_on_empty_input():
    from course_lib.widgets import cam_explorer

    images = np.zeros((2, 1, 8, 8))
    with pytest.raises(ValueError, match="maps is empty; pass a dict class -> maps"):
        cam_explorer({}, images, images[:, 0], [])
    with pytest.raises(ValueError, match=r"maps\[1\] is empty; give every class one map"):
        cam_explorer({1: np.zeros((0, 8, 8))}, images, images[:, 0], [])


def test_mixed_explorer_on_empty_input():
    from course_lib.widgets import mixed_explorer

    with pytest.raises(ValueError, match=r"results is empty; pass one entry per fraction"):
        mixed_explorer({}, np.zeros((2, 1, 8, 8)), np.zeros((2, 8, 8)))


# --- seeds: every public function that takes one names its own parameter -------------------------
def _seeded_calls():
    from course_lib import data
    from course_lib.methods.multi_transform import multi_transform_predict
    from course_lib.papers.siamese_pretext import sample_patches
    from course_lib.weak.box2mask import mixed_labels
    from course_lib.weak.mil import choose_boxed

    X, y = two_moons(20, seed=0)
    lab = np.zeros((3, 8, 8), int)
    return {
        "two_moons": lambda s: data.two_moons(20, seed=s),
        "digits": lambda s: data.digits(seed=s),
        "cells": lambda s: data.cells(2, seed=s),
        "lesions": lambda s: data.lesions(4, seed=s),
        "brain_phantom": lambda s: data.brain_phantom(2, seed=s),
        "texture_sections": lambda s: data.texture_sections(2, seed=s),
        "multiphase_lesions": lambda s: data.multiphase_lesions(4, seed=s),
        "split_labeled": lambda s: data.split_labeled(y, 2, seed=s),
        "mixed_labels": lambda s: mixed_labels(lab, lab, 0.5, seed=s),
        "train.fit": lambda s: fit(MLP(2, 2), Supervised(), X, y, steps=1, seed=s, progress=False),
        "train.prepare": lambda s: prepare(MLP(2, 2), seed=s, device="cpu"),
        "mil.choose_boxed": lambda s: choose_boxed(np.array([0, 1, 1, 0]), 0.5, seed=s),
        "siamese_pretext.sample_patches": lambda s: sample_patches(
            np.zeros((2, 1, 8, 8)), 3, 4, seed=s
        ),
        "multi_transform_predict": lambda s: multi_transform_predict(
            MLP(2, 2), X, [lambda x: x], seed=s
        ),
    }


SEEDED = _seeded_calls()


@pytest.mark.parametrize("name", sorted(SEEDED))
@pytest.mark.parametrize("bad", [-1, 2**32, 0.5, "1", None])
def test_bad_seeds_are_named(name, bad):
    with pytest.raises(ValueError, match=r"^seed must be an integer in \[0, 2\*\*32 - 1\]"):
        SEEDED[name](bad)


# --- the count -----------------------------------------------------------------------------------
CASES = [
    "SSLClassifier: 1-D X",
    "SSLClassifier: X with 0 features",
    "SSLClassifier: complex X",
    "SSLClassifier: object-dtype integer labels",
    "SSLClassifier: fit(X, None)",
    "SSLClassifier: random_state=None",
    "SSLClassifier: score with -1 entries",
    "SSLClassifier: feature_names_in_ after a DataFrame fit",
    "train.fit: labels outside 0..C-1",
    "train.fit: n_classes != the network's outputs",
    "augmentation returning the wrong shape",
    "augmentation returning a NumPy array",
    "cam on a network without spatial feature maps",
    "cam on a network without a GAP head",
    "grad_cam on a network without spatial feature maps",
    "cam/grad_cam on images with the wrong number of channels",
    "map_to_box on a map holding NaN",
    "rounds_player on empty input",
    "cam_explorer on empty input",
    "mixed_explorer on empty input",
    "seeds validated, named after each function's parameter",
]


def test_case_count():
    assert len(CASES) == 21
