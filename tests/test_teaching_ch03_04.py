"""Chapters 03 and 04 (issue 17): the counted benefit of Temporal Ensembling, Mean Teacher's
1-D sketch, VAT's adversarial digits, the checked exercises."""

import re

import pytest
import torch

from course_lib.checks import ex03_consistency as ex03
from course_lib.checks import ex04_entropy as ex04
from course_lib.checks.core import CheckFailed
from course_lib.experiments import ch03_consistency as ch03
from course_lib.experiments import ch04_entropy as ch04
from course_lib.models import MLP

# --- chapter 03, benefit (1): images through the network, counted --------------------------------


def test_forward_cost_counts_two_passes_for_the_pi_model_and_one_for_temporal_ensembling():
    cost = {r["method"]: r for r in ch03.forward_cost(ch03.NOTEBOOK, seed=0, epochs=1)}
    assert "supervised" not in cost
    per_step = 2 * ch03.NOTEBOOK.batch_size  # 64 labeled + 64 unlabeled
    steps = cost["Π-model"]["steps_per_epoch"]
    assert cost["Π-model"]["images_per_epoch"] == 2 * per_step * steps
    assert cost["Temporal Ensembling"]["images_per_epoch"] == per_step * steps
    assert cost["Temporal Ensembling"]["with_gradient_per_epoch"] == per_step * steps
    mt = cost["Mean Teacher"]  # one student pass with gradient, one teacher pass without
    assert mt["images_per_epoch"] == mt["copies_per_epoch"] == per_step * steps
    assert mt["with_gradient_per_epoch"] == per_step * steps
    vat = cost["VAT"]  # clean pass on B, power iteration and adversarial pass on the unlabeled half
    assert vat["images_per_epoch"] == 2 * per_step * steps


def test_counting_images_skips_evaluation_passes_and_removes_its_hook():
    net = MLP(2, 2)
    x = torch.zeros(5, 2)
    with ch03.counting_images(net) as counts:
        net(x)
        net.eval()
        net(x)  # evaluation: not a training pass
    net.train()
    net(x)  # after the block: not counted
    assert counts == {"network": 5, "copies": 0, "with_gradient": 5}


def test_forward_cost_rejects_a_bad_number_of_epochs():
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        ch03.forward_cost(epochs=0)


# --- chapter 03: Mean Teacher's Fig. 1 sketch -----------------------------------------------------


def test_mean_teacher_sketch_is_deterministic_and_shows_what_the_chapter_asserts():
    import numpy as np

    from course_lib import plot

    a, b = ch03.mean_teacher_sketch(seed=0, steps=60), ch03.mean_teacher_sketch(seed=0, steps=60)
    for key in ("free", "teacher", "student_c", "student_d", "trace"):
        np.testing.assert_array_equal(a[key], b[key])
    assert a["free"].shape == (3, a["x"].size) and a["trace"].shape == (60, 2)
    jitter = np.abs(np.diff(a["trace"][30:], axis=0)).mean(0)
    assert jitter[1] < jitter[0]  # the EMA teacher moves less per step than its student
    fig = plot.mean_teacher_sketch(a)
    assert len(fig.axes) == 5


def test_mean_teacher_sketch_names_a_bad_argument():
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        ch03.mean_teacher_sketch(steps=0)


# --- chapter 03: VAT's virtual adversarial digits -------------------------------------------------


def test_adversarial_digits_have_norm_eps_and_beat_random_directions():
    import numpy as np

    d = ch03.adversarial_digits(seed=0, eps=0.8, steps=100, n_test=40)
    assert d["images"].shape == d["r_adv"].shape == (40, 64)
    np.testing.assert_allclose(np.linalg.norm(d["r_adv"], axis=1), 0.8, rtol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(d["r_random"], axis=1), 0.8, rtol=1e-4)
    assert np.median(d["kl_adv"]) > 10 * np.median(d["kl_random"])
    again = ch03.adversarial_digits(seed=0, eps=0.8, steps=100, n_test=40)
    np.testing.assert_array_equal(d["r_adv"], again["r_adv"])


def test_adversarial_digits_names_a_bad_eps():
    with pytest.raises(ValueError, match="eps must lie in"):
        ch03.adversarial_digits(eps=0.0)


# --- the checked exercises of chapters 03 and 04 ---------------------------------------------


def _stub(*args):
    raise NotImplementedError


def _wrong_te_no_correction(predictions, alpha):
    Z = 0 * predictions[0]
    for z in predictions:
        Z = alpha * Z + (1 - alpha) * z
    return Z


def _wrong_entropy_log2(p):
    import numpy as np

    return -(p * np.log2(np.clip(p, 1e-12, 1))).sum(1)


def _wrong_entropy_nan(p):
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return -(p * np.log(p)).sum(1)


EXERCISES = [  # check, solution, typical wrong answer, words the failure must contain
    (ex03.check_ex03_1, ex03.solution_ex03_1, _wrong_te_no_correction, "1 - alpha^t"),
    (
        ex03.check_ex03_2,
        ex03.solution_ex03_2,
        lambda old, new, alpha, step: alpha * old + (1 - alpha) * new,
        "warm-up",
    ),
    (ex04.check_ex04_1, ex04.solution_ex04_1, _wrong_entropy_log2, "not log2"),
    (ex04.check_ex04_1, ex04.solution_ex04_1, _wrong_entropy_nan, "0 * log 0"),
    (ex04.check_ex04_2, ex04.solution_ex04_2, lambda z: -z, "chain rule"),
]


@pytest.mark.parametrize("check, solution, wrong, words", EXERCISES)
def test_exercise_passes_the_solution_and_fails_a_typical_mistake(check, solution, wrong, words):
    assert check(solution)
    with pytest.raises(CheckFailed, match=r"(?s)" + re.escape(words) + ".*Hint:"):
        check(wrong)


@pytest.mark.parametrize("check", sorted({e[0] for e in EXERCISES}, key=lambda f: f.__name__))
def test_exercise_not_attempted_prints_its_hint(check, capsys):
    assert check(_stub) is None and check(None) is None
    out = capsys.readouterr().out
    assert out.count("not attempted yet. Hint:") == 2


# --- settings validation and train.training ------------------------------------------------------


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: ch03.Settings(steps=0), "steps must be an integer >= 1"),
        (lambda: ch03.Settings(steps=2.5), "steps must be an integer >= 1"),
        (lambda: ch03.Settings(record_every=0), r"record_every \(or None\) must be an integer"),
        (lambda: ch03.Settings(lr=0.0), r"lr must lie in \(0.0, inf\]"),
        (lambda: ch03.DigitsSettings(batch_size=0), "batch_size must be an integer >= 1"),
        (lambda: ch03.DigitsSettings(eps=-1.0), "eps must lie in"),
        (lambda: ch04.Settings(per_class=0), "per_class must be an integer >= 1"),
        (lambda: ch04.Settings(lr=float("nan")), "lr must be a finite number"),
        (lambda: ch04.ConfidenceSettings(hidden=()), "hidden is empty"),
        (lambda: ch04.ConfidenceSettings(hidden=(128, 0)), r"hidden \(each width\) must be"),
        (lambda: ch04.ConfidenceSettings(confident=1.0), r"confident must lie in \(0.0, 1.0\)"),
    ],
)
def test_chapter_settings_name_the_bad_value(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_training_context_restores_every_submodule_mode_even_after_an_error():
    from course_lib.train import training

    net = MLP(2, 2, dropout=0.5).eval()
    net.features[0].train()  # one submodule in another mode than its parent: kept
    before = [m.training for m in net.modules()]
    with training(net) as same:
        assert same is net and all(m.training for m in net.modules())
    assert [m.training for m in net.modules()] == before
    with pytest.raises(RuntimeError), training(net):
        raise RuntimeError("inside")
    assert [m.training for m in net.modules()] == before


def test_target_noise_is_seeded_and_leaves_the_global_generator_alone():
    import numpy as np

    from course_lib.methods import TemporalEnsembling

    net, X = MLP(2, 2, dropout=0.3).eval(), np.random.default_rng(0).normal(size=(50, 2))
    X = X.astype(np.float32)
    torch.manual_seed(5)
    state = torch.get_rng_state()
    a = ch03.target_noise(net, TemporalEnsembling(), X, draws=20, epochs=4, seed=1)
    assert torch.equal(torch.get_rng_state(), state) and not net.training
    torch.manual_seed(123)  # another global state: the same numbers
    assert ch03.target_noise(net, TemporalEnsembling(), X, draws=20, epochs=4, seed=1) == a
    assert ch03.target_noise(net, TemporalEnsembling(), X, draws=20, epochs=4, seed=2) != a


def test_settings_grid_is_the_explorers_static_twin():
    from course_lib import plot
    from course_lib.methods import Supervised
    from course_lib.train import fit

    X, y = torch.randn(40, 2).numpy(), (torch.arange(40) % 2).numpy()
    grid = plot.make_grid(X, 10)
    h = fit(MLP(2, 2), Supervised(), X, y, steps=4, record_every=2, grid=grid, X_eval=X, y_eval=y)
    fig = plot.settings_grid({"a": {"s1": h, "s2": h}, "b": {"s1": h}}, X, y)
    assert len(fig.axes) == 4  # 2 methods x 2 settings, b's missing one left blank
    assert fig.axes[0].get_title().startswith("a\ns1: ") and not fig.axes[3].axison
    with pytest.raises(ValueError, match="runs must map each method"):
        plot.settings_grid({"a": {}}, X, y)
