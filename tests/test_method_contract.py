"""The method contract, held for every Method that ``course_lib.methods`` exports.

A method is a dataclass of the paper's hyper-parameters with a ``loss``; ``fit`` owns the loop.
Every method must: train deterministically from a seed; deep-copy (before and after training);
reject a bad hyper-parameter with a ValueError that names it; keep what a run builds in fields
declared ``field(default=None, init=False, repr=False, compare=False)``; leave the estimator's
``method`` untouched (``SSLClassifier`` trains a copy); and hand back an evaluation network in
evaluation mode. A new method exported from ``course_lib.methods`` fails here until it has an
entry in ``FAST`` and ``BAD``.
"""

import copy
import dataclasses

import numpy as np
import pytest

from course_lib import augment, methods
from course_lib.data import split_labeled, two_moons
from course_lib.estimator import SSLClassifier
from course_lib.methods import Method
from course_lib.models import build_model
from course_lib.train import fit

METHODS = sorted(
    (
        obj
        for name in methods.__all__
        if isinstance(obj := getattr(methods, name), type)
        and issubclass(obj, Method)
        and obj is not Method
    ),
    key=lambda cls: cls.__name__,
)

NOISE = augment.GaussianNoise(0.05)
# settings for 2-D points (the image augmentations of the defaults need images)
FAST = {
    "ConfidencePenalty": {},
    "EntropyMinimization": {},
    "FixMatch": {"weak": NOISE, "strong": augment.GaussianNoise(0.2), "mu": 2},
    "LabelSmoothing": {},
    "MeanTeacher": {},
    "MixMatch": {"augment": NOISE},
    "PiModel": {},
    "PseudoLabel": {"tau": 0.6},
    "Supervised": {},
    "TemporalEnsembling": {},
    "VAT": {},
}
# one bad hyper-parameter per method, and the name the error must give (None: it has none)
BAD = {
    "ConfidencePenalty": ({"beta": -1.0}, "beta"),
    "EntropyMinimization": ({"lambda_": -1.0}, "lambda_"),
    "FixMatch": ({"tau": 1.5}, "tau"),
    "LabelSmoothing": ({"epsilon": 1.0}, "epsilon"),
    "MeanTeacher": ({"alpha": 1.0}, "alpha"),
    "MixMatch": ({"T": 0.0}, "T"),
    "PiModel": ({"w_max": -1.0}, "w_max"),
    "PseudoLabel": ({"t1": 0.5, "t2": 0.2}, "t2"),
    "Supervised": None,
    "TemporalEnsembling": ({"alpha": -0.1}, "alpha"),
    "VAT": ({"eps": 0.0}, "eps"),
}


@pytest.fixture(scope="module")
def moons():
    X, y_true = two_moons(120, 0.1, seed=0)
    return X, split_labeled(y_true, 4, seed=0)


def _make(cls):
    return cls(**FAST[cls.__name__])


def _estimator(method, seed=0):
    return SSLClassifier(
        method=method,
        model_params={"hidden": (16,), "dropout": 0.2},
        steps=6,
        batch_size=8,
        random_state=seed,
        device="cpu",
    )


def _run_state(method):
    """The fields a run builds (not hyper-parameters): declared with init=False."""
    return [f for f in dataclasses.fields(method) if not f.init]


def test_every_exported_method_is_listed_here():
    names = {cls.__name__ for cls in METHODS}
    assert len(names) >= 11
    assert names == set(FAST) == set(BAD), "give a new method its FAST and BAD entries"


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_method_is_a_dataclass_whose_run_state_is_declared_one_way(cls, moons):
    assert dataclasses.is_dataclass(cls)
    method = _make(cls)
    for f in _run_state(method):
        assert f.default is None and not f.repr and not f.compare, f.name
    X, y = moons
    fitted = _estimator(method).fit(X, y).method_
    declared = {f.name for f in dataclasses.fields(fitted)}
    undeclared = set(vars(fitted)) - declared
    assert not undeclared, f"per-run state outside the dataclass fields: {undeclared}"


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_method_trains_deterministically_from_a_seed(cls, moons):
    X, y = moons
    p1 = _estimator(_make(cls)).fit(X, y).predict_proba(X)
    p2 = _estimator(_make(cls)).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    p3 = _estimator(_make(cls), seed=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(p1, p3)


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_method_deep_copies_before_and_after_training(cls, moons):
    method = _make(cls)
    twin = copy.deepcopy(method)
    assert twin == method and twin is not method
    X, y = moons
    fitted = _estimator(method).fit(X, y).method_
    copied = copy.deepcopy(fitted)
    assert copied == fitted  # the hyper-parameters; run state is not compared


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_method_rejects_a_bad_hyper_parameter_by_name(cls):
    if BAD[cls.__name__] is None:
        assert not [f for f in dataclasses.fields(cls) if f.init], "list a bad value in BAD"
        return
    kwargs, name = BAD[cls.__name__]
    with pytest.raises(ValueError, match=name):
        cls(**FAST[cls.__name__], **kwargs)
    method = _make(cls)  # also when set after construction: fit validates again
    for key, value in kwargs.items():
        setattr(method, key, value)
    X, y = two_moons(40, 0.1, seed=0)
    with pytest.raises(ValueError, match=name):
        _estimator(method).fit(X, split_labeled(y, 2, seed=0))


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_estimator_trains_a_copy_and_leaves_its_method_unchanged(cls, moons):
    method = _make(cls)
    before = copy.deepcopy(method)
    est = _estimator(method)
    X, y = moons
    est.fit(X, y)
    assert est.method is method and est.method_ is not method
    assert method == before
    assert all(getattr(method, f.name) is None for f in _run_state(method))
    again = _estimator(method).fit(X, y).predict_proba(X)  # a second fit starts afresh
    np.testing.assert_array_equal(again, est.predict_proba(X))


@pytest.mark.parametrize("cls", METHODS, ids=lambda c: c.__name__)
def test_eval_model_is_in_eval_mode_after_training(cls, moons):
    X, y = moons
    net = build_model("mlp", (2,), 2, hidden=(16,), dropout=0.2)
    method = _make(cls)
    fit(net, method, X, y, steps=6, batch_size=8, device="cpu", progress=False)
    evaluator = method.eval_model(net)
    assert not any(m.training for m in evaluator.modules())
    assert not any(m.training for m in net.modules())
