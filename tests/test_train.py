import os
import warnings

import numpy as np
import pytest
import torch

import course_lib
from course_lib import device, seed_everything
from course_lib.data import split_labeled, two_moons
from course_lib.methods import Batch, Method, Supervised, sigmoid_rampup
from course_lib.models import MLP
from course_lib.plot import make_grid
from course_lib.train import History, fit


@pytest.fixture
def moons():
    X, y_true = two_moons(300, 0.1, seed=0)
    return X, y_true, split_labeled(y_true, 3, seed=0)


def _train(X, y, seed=0, **kw):
    seed_everything(seed)
    model = MLP(2, 2)
    h = fit(model, Supervised(), X, y, steps=60, seed=seed, progress=False, **kw)
    return model, h


def test_fit_is_deterministic(moons):
    X, _, y = moons
    m1, h1 = _train(X, y)
    m2, h2 = _train(X, y)
    for a, b in zip(m1.parameters(), m2.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    np.testing.assert_array_equal(h1["loss"], h2["loss"])
    m3, _ = _train(X, y, seed=1)
    assert not torch.equal(next(m1.parameters()), next(m3.parameters()))


def test_history_records_grid_and_eval(moons):
    X, y_true, y = moons
    grid = make_grid(X, 20)
    _, h = _train(X, y, record_every=10, grid=grid, X_eval=X, y_eval=y_true)
    assert h.steps == [0, 10, 20, 30, 40, 50, 60]
    assert len(h.snapshots) == len(h.steps)
    assert h.snapshots[0].shape == (400, 2)
    np.testing.assert_allclose(h.snapshots[-1].sum(1), 1.0, rtol=1e-5)
    assert not np.allclose(h.snapshots[0], h.snapshots[-1])
    assert np.isnan(h["loss"][0]) and np.all(np.isfinite(h["loss"][1:]))
    assert 0.0 <= h.last("eval_acc") <= 1.0
    with pytest.raises(KeyError, match="available"):
        h["nope"]


def test_history_append_aligns_new_keys():
    h = History()
    h._append(0, {"a": 1.0})
    h._append(1, {"b": 2.0})
    assert np.isnan(h["b"][0]) and np.isnan(h["a"][1]) and h["b"][1] == 2.0


class _Spy(Method):
    """Records the batches it is given."""

    def __init__(self):
        self.seen = []

    def loss(self, model, batch: Batch):
        self.seen.append(batch)
        return model(batch.x_l).sum() * 0 + model(batch.x_u).sum() * 0, {}


def test_batches_hide_no_labels_and_carry_indices(moons):
    X, _, y = moons
    spy = _Spy()
    fit(MLP(2, 2), spy, X, y, steps=5, batch_size=4, unlabeled_batch_size=16, progress=False)
    labeled = set(np.flatnonzero(y != -1))
    for b in spy.seen:
        assert b.x_l.shape == (4, 2) and b.x_u.shape == (16, 2)
        assert set(b.idx_l.tolist()) <= labeled
        np.testing.assert_array_equal(b.y_l.numpy(), y[b.idx_l.numpy()])
        np.testing.assert_array_equal(b.x_u.numpy(), X[b.idx_u.numpy()])
        assert (b.y_l >= 0).all()
    assert [b.step for b in spy.seen] == list(range(5))


def test_unlabeled_stream_visits_every_example_once_per_epoch(moons):
    X, _, y = moons
    spy = _Spy()
    fit(MLP(2, 2), spy, X, y, steps=10, unlabeled_batch_size=30, progress=False)
    first_epoch = torch.cat([b.idx_u for b in spy.seen if b.epoch == 0])
    assert sorted(first_epoch.tolist()) == list(range(300))


def test_nan_loss_raises_clear_error(moons):
    X, _, y = moons

    class Bad(Method):
        def loss(self, model, batch):
            return model(batch.x_l).sum() * float("nan"), {}

    with pytest.raises(FloatingPointError, match="step 0"):
        fit(MLP(2, 2), Bad(), X, y, steps=3, progress=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps": 0}, "steps"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": -1.0}, "lr"),
    ],
)
def test_fit_bad_arguments(moons, kwargs, match):
    X, _, y = moons
    with pytest.raises(ValueError, match=match):
        fit(MLP(2, 2), Supervised(), X, y, progress=False, **kwargs)


def test_fit_bad_data(moons):
    X, _, y = moons
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(MLP(2, 2), Supervised(), Xn, y, progress=False)
    Xi = X.copy()
    Xi[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        fit(MLP(2, 2), Supervised(), Xi, y, progress=False)
    with pytest.raises(ValueError, match="different lengths"):
        fit(MLP(2, 2), Supervised(), X, y[:-1], progress=False)
    with pytest.raises(ValueError, match="single class"):
        fit(MLP(2, 2), Supervised(), X, np.where(y == 1, -1, y), progress=False)
    with pytest.raises(ValueError, match="no labeled"):
        fit(MLP(2, 2), Supervised(), X, np.full_like(y, -1), progress=False)
    with pytest.raises(ValueError, match="method"):
        fit(MLP(2, 2), "supervised", X, y, progress=False)


def test_device_choice_and_fallback(monkeypatch):
    monkeypatch.delenv(course_lib.DEVICE_ENV, raising=False)
    expected = "cuda" if torch.cuda.is_available() else None
    assert device().type in ("cpu", "cuda", "mps")
    if expected:
        assert device().type == "cuda"
    monkeypatch.setenv(course_lib.DEVICE_ENV, "cpu")
    assert device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert device("cuda").type == "cpu"
    assert any("not available" in str(w.message) for w in caught)
    monkeypatch.setenv(course_lib.DEVICE_ENV, "tpu")
    with pytest.raises(ValueError, match="COURSE_DEVICE"):
        device()
    assert os.environ[course_lib.DEVICE_ENV] == "tpu"


def test_seed_everything_repeats_torch_and_numpy():
    seed_everything(7)
    a = (torch.rand(3), np.random.rand(3))
    seed_everything(7)
    b = (torch.rand(3), np.random.rand(3))
    torch.testing.assert_close(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="seed"):
        seed_everything(1.5)


def test_sigmoid_rampup_endpoints():
    assert sigmoid_rampup(0.0) == pytest.approx(np.exp(-5))
    assert sigmoid_rampup(1.0) == 1.0
    assert sigmoid_rampup(2.0) == 1.0


# --- the engine's other pieces: device(torch.device), evaluating, predict, minimize ----------


def test_device_accepts_a_torch_device_and_rejects_other_types(monkeypatch):
    assert device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert device(torch.device("cuda", 0)).type == "cpu"  # falls back like "cuda:0"
    assert any("not available" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="prefer"):
        device(0)


def test_evaluating_restores_every_submodule_mode_also_after_an_error():
    from course_lib.train import evaluating

    model = MLP(2, 2, dropout=0.5).train()
    frozen = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)][0]
    frozen.eval()  # a submodule deliberately in eval mode inside a training model
    with evaluating(model):
        assert not any(m.training for m in model.modules())
    assert model.training and not frozen.training
    with pytest.raises(RuntimeError, match="boom"), evaluating(model):
        raise RuntimeError("boom")
    assert model.training and not frozen.training
    model.eval()
    with evaluating(model):
        pass
    assert not model.training


def test_predict_is_in_eval_mode_and_independent_of_the_batch_size():
    from course_lib.train import predict, predict_proba

    seed_everything(0)
    model = MLP(2, 3, dropout=0.5).train()
    X = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    p = predict_proba(model, X, batch_size=7)
    np.testing.assert_allclose(p, predict_proba(model, X), rtol=1e-6)  # no dropout: eval mode
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    assert model.training
    labels = predict(model, X, forward=lambda x: model(x).argmax(1), batch_size=16)
    np.testing.assert_array_equal(labels, p.argmax(1))


def test_minimize_records_means_and_returns_a_history_with_a_cosine_schedule():
    from course_lib.train import minimize, prepare

    def train(cosine):
        model = torch.nn.Linear(1, 1, bias=False)
        assert prepare(model, seed=0, device="cpu") == torch.device("cpu")
        weights = []

        def step_loss(step):  # d loss / d w = 1: each Adam step moves w by the learning rate
            return model.weight.sum(), {"t": float(step)}

        h = minimize(
            model,
            step_loss,
            10,
            lr=0.1,
            cosine=cosine,
            record_every=5,
            after_step=lambda step: weights.append(model.weight.item()),
            progress=False,
        )
        return h, -np.diff(weights), model

    h, moves, model = train(cosine=True)
    assert h.steps == [0, 5, 10]
    np.testing.assert_array_equal(h["t"][1:], [2.0, 7.0])  # means of steps 0..4 and 5..9
    lr = 0.1 * (1 + np.cos(np.pi * np.arange(1, 10) / 10)) / 2  # half cosine towards 0
    np.testing.assert_allclose(moves, lr, rtol=1e-3)
    assert h.seconds > 0 and not model.training
    _, constant, _ = train(cosine=False)
    np.testing.assert_allclose(constant, 0.1, rtol=1e-3)
    with pytest.raises(ValueError, match="lr"):
        minimize(model, lambda step: (model.weight.sum(), {}), 3, lr=0.0, progress=False)


def test_progress_bar_default_follows_course_progress(monkeypatch):
    from course_lib.train import show_progress

    monkeypatch.setenv("COURSE_PROGRESS", "0")
    assert show_progress() is False
    monkeypatch.setenv("COURSE_PROGRESS", "1")
    assert show_progress() is True
    monkeypatch.delenv("COURSE_PROGRESS")
    assert show_progress() is True  # on in a notebook; the test suite turns it off


def test_progress_bar_appears_only_for_slow_runs(monkeypatch, capsys):
    import time

    import torch

    from course_lib import train

    monkeypatch.setenv("COURSE_PROGRESS", "1")
    monkeypatch.setattr(train, "PROGRESS_DELAY", 0.2)
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)

    def step_loss(step, pause=0.0):
        time.sleep(pause)
        return net(torch.ones(1, 2)).sum(), {}

    train.optimize(net, opt, step_loss, 3, record=lambda *a: None, record_every=1, name="quick")
    assert "quick" not in capsys.readouterr().err  # faster than the delay: no bar
    train.optimize(
        net, opt, lambda s: step_loss(s, 0.15), 4, record=lambda *a: None, record_every=1,
        name="slow",
    )  # fmt: skip
    assert "slow" in capsys.readouterr().err
