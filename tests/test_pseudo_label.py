import numpy as np
import pytest
import torch

from course_lib import augment, seed_everything
from course_lib.data import split_labeled, two_moons
from course_lib.methods import Batch, PseudoLabel
from course_lib.methods.multi_transform import multi_transform_labels, multi_transform_predict
from course_lib.methods.pseudo_label import masked_cross_entropy, pseudo_labels
from course_lib.models import MLP
from course_lib.train import fit


def test_pseudo_labels_and_mask_by_hand():
    logits = torch.log(torch.tensor([[0.96, 0.04], [0.3, 0.7], [0.05, 0.95]]))
    y_hat, mask = pseudo_labels(logits, 0.95)
    assert y_hat.tolist() == [0, 1, 1]
    assert mask.tolist() == [1.0, 0.0, 1.0]  # >= tau is kept (0.95 itself included)


def test_masked_cross_entropy_by_hand():
    logits = torch.log(torch.tensor([[0.8, 0.2], [0.4, 0.6]]))
    loss = masked_cross_entropy(logits, torch.tensor([0, 1]), torch.tensor([1.0, 0.0]))
    assert loss.item() == pytest.approx(-np.log(0.8) / 2, rel=1e-5)  # averaged over the batch


def test_loss_by_hand_and_warmup():
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 2)
    x_l, y_l, x_u = torch.randn(4, 2), torch.tensor([0, 1, 0, 1]), torch.randn(6, 2)
    m = PseudoLabel(lambda_u=3.0, tau=0.5, t1=0.0, t2=0.5)
    b = Batch(x_l, y_l, torch.arange(4), x_u, torch.arange(6), step=5, steps=21)  # t = 0.25
    loss, logs = m.loss(model, b)
    lu = model(x_u)
    expected = torch.nn.functional.cross_entropy(
        model(x_l), y_l
    ) + 1.5 * torch.nn.functional.cross_entropy(lu, lu.argmax(1))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)  # tau = 0.5 keeps all (C=2)
    assert logs["alpha"] == pytest.approx(1.5) and logs["mask_rate"] == 1.0
    assert m.alpha(0.0) == 0.0 and m.alpha(1.0) == 3.0


def test_pseudo_targets_carry_no_gradient():
    model = torch.nn.Linear(2, 2)
    x = torch.randn(8, 2)
    y_hat, mask = pseudo_labels(model(x), 0.1)
    assert not y_hat.requires_grad and not mask.requires_grad


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"tau": 0.0}, "tau"),
        ({"tau": 1.5}, "tau"),
        ({"lambda_u": -1.0}, "lambda_u"),
        ({"t1": 0.6, "t2": 0.2}, "t2"),
        ({"weak": 3}, "weak"),
    ],
)
def test_bad_hyper_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        PseudoLabel(**kw)


def test_fit_is_deterministic_and_logs_monitor_numbers():
    X, y_true = two_moons(200, 0.1, seed=0)
    y = split_labeled(y_true, 3, seed=0)

    def run():
        seed_everything(0)
        net = MLP(2, 2)
        m = PseudoLabel(tau=0.9, weak=augment.GaussianNoise(0.05), y_monitor=y_true)
        h = fit(net, m, X, y, steps=40, progress=False, record_every=10)
        return net, h

    (n1, h1), (n2, _) = run(), run()
    for a, b in zip(n1.parameters(), n2.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert np.all(h1["mask_correct"][1:] <= h1["mask_rate"][1:] + 1e-9)
    assert np.all((h1["pl_acc"][1:] >= 0) & (h1["pl_acc"][1:] <= 1))
    with pytest.raises(ValueError, match="y_monitor"):
        fit(MLP(2, 2), PseudoLabel(y_monitor=y_true[:10]), X, y, steps=2, progress=False)


def test_multi_transform_averages_and_keeps_confident():
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 3)
    X = torch.randn(10, 2).numpy()
    ident = lambda x: x  # noqa: E731
    double = lambda x: 2 * x  # noqa: E731
    p = multi_transform_predict(model, X, [ident, double])
    with torch.no_grad():
        t = torch.as_tensor(X)
        expected = (torch.softmax(model(t), 1) + torch.softmax(model(2 * t), 1)) / 2
    np.testing.assert_allclose(p, expected.numpy(), rtol=1e-5)
    probs = np.array([[0.95, 0.05], [0.6, 0.4], [0.1, 0.9], [0.2, 0.8]])
    y_new, kept = multi_transform_labels(probs, np.array([1, -1, -1, -1]), threshold=0.85)
    assert y_new.tolist() == [1, -1, 1, -1] and kept.tolist() == [False, False, True, False]
    with pytest.raises(ValueError, match="threshold"):
        multi_transform_labels(probs, np.array([1, -1, -1, -1]), threshold=0.0)
    with pytest.raises(ValueError, match="transforms"):
        multi_transform_predict(model, X, [])
