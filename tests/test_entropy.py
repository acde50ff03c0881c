"""Chapter 04: entropy minimization, the confidence penalty and label smoothing."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data import split_labeled, two_moons
from course_lib.estimator import SSLClassifier
from course_lib.methods import (
    Batch,
    ConfidencePenalty,
    EntropyMinimization,
    LabelSmoothing,
    Supervised,
)


def _batch(n_l=4, n_u=6, progress=1.0, c=3):
    g = torch.Generator().manual_seed(0)
    x_l, x_u = torch.randn(n_l, 2, generator=g), torch.randn(n_u, 2, generator=g)
    y_l = torch.arange(n_l) % c
    return Batch(x_l, y_l, torch.arange(n_l), x_u, torch.arange(n_u), round(progress * 100), 101)


def _model(c=3):
    torch.manual_seed(0)
    return nn.Linear(2, c)


def _H(p):
    return -(p * p.log()).sum(1)


def test_entropy_minimization_matches_hand_computation():
    model, b = _model(), _batch(progress=0.25)
    loss, logs = EntropyMinimization(lambda_=0.7, rampup=0.5).loss(model, b)
    w = math.exp(-5 * (1 - 0.5) ** 2)
    ent = _H(model(b.x_u).softmax(1)).mean()
    expected = F.cross_entropy(model(b.x_l), b.y_l) + 0.7 * w * ent
    torch.testing.assert_close(loss, expected)
    assert logs["w"] == pytest.approx(w) and logs["entropy"] == pytest.approx(ent.item())


def test_confidence_penalty_matches_hand_computation_and_ignores_unlabeled():
    model, b = _model(), _batch()
    loss, _ = ConfidencePenalty(beta=0.4).loss(model, b)
    logits = model(b.x_l)
    torch.testing.assert_close(
        loss, F.cross_entropy(logits, b.y_l) - 0.4 * _H(logits.softmax(1)).mean()
    )
    assert ConfidencePenalty.uses_unlabeled is False
    b.x_u = b.x_u * float("nan")  # never looked at
    assert torch.isfinite(ConfidencePenalty().loss(model, b)[0])


def test_label_smoothing_equals_torch_label_smoothing():
    model, b = _model(), _batch()
    loss, _ = LabelSmoothing(epsilon=0.2).loss(model, b)
    torch.testing.assert_close(loss, F.cross_entropy(model(b.x_l), b.y_l, label_smoothing=0.2))


def test_the_two_signs_move_the_entropy_in_opposite_directions():
    """One gradient step of +lambda H lowers the entropy of the predictions it is applied to;
    one step of -beta H raises it."""
    b = _batch()

    def entropy_after_step(method, x):
        model = _model()
        loss, _ = method.loss(model, b)
        loss.backward()
        with torch.no_grad():
            before = _H(model(x).softmax(1)).mean()
            for p in model.parameters():
                p -= 1e-3 * p.grad  # a small step: first-order effect
            return before, _H(model(x).softmax(1)).mean()

    before, after = entropy_after_step(EntropyMinimization(lambda_=50.0, rampup=0.0), b.x_u)
    assert after < before
    before, after = entropy_after_step(ConfidencePenalty(beta=50.0), b.x_l)
    assert after > before


def test_confidence_penalty_lowers_confidence_and_entmin_raises_it_on_moons():
    X, y_true = two_moons(300, 0.1, seed=0)
    y = split_labeled(y_true, 5, seed=0)

    def mean_max_prob(method):
        clf = SSLClassifier(method=method, steps=150, device="cpu").fit(X, y)
        return clf.predict_proba(X).max(1).mean()

    sup = mean_max_prob(Supervised())
    assert mean_max_prob(ConfidencePenalty(beta=1.0)) < sup - 0.05
    assert mean_max_prob(EntropyMinimization(lambda_=1.0, rampup=0.0)) > sup


def test_deterministic():
    X, y_true = two_moons(200, 0.1, seed=0)
    y = split_labeled(y_true, 3, seed=0)
    for method in (EntropyMinimization(), ConfidencePenalty(), LabelSmoothing()):
        p1 = SSLClassifier(method=method, steps=30, device="cpu").fit(X, y).predict_proba(X)
        p2 = SSLClassifier(method=method, steps=30, device="cpu").fit(X, y).predict_proba(X)
        np.testing.assert_array_equal(p1, p2)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: EntropyMinimization(lambda_=-1.0), "lambda_"),
        (lambda: EntropyMinimization(rampup=2.0), "rampup"),
        (lambda: ConfidencePenalty(beta=-0.1), "beta"),
        (lambda: ConfidencePenalty(beta=float("inf")), "beta"),
        (lambda: LabelSmoothing(epsilon=1.0), "epsilon"),
    ],
)
def test_bad_hyperparameters_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
