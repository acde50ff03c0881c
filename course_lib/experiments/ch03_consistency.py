"""Chapter 03: Π-model, Temporal Ensembling, Mean Teacher and VAT against supervised training.

The experiment (:func:`run`): two moons (1,000 points, noise 0.1, :func:`moons_task`), 3 labels
per class drawn with ``split_labeled(y_true, 3, seed)``, an MLP (64, 64) per method (dropout 0.1
for the Π-model and Temporal Ensembling: Laine & Aila's second source of noise), Adam lr 1e-2,
batches of 64 labeled + 64 unlabeled points, scored on the test moons.

``NOTEBOOK`` trains every method 600 steps and records the boundary on a grid every 60 steps
(the chapter's figures and widget). ``BENCH`` trains the consistency methods 2,000 steps: chosen
on the validation draws (label seeds 10-19 scored on ``two_moons(seed=2)``, ``VALIDATION``),
never on the test set. VAT, whose perturbation points across the boundary, walks the boundary
into the gap given 1,400+ steps (600 steps: 96.8 % mean, 2,000: 99.7 %, worst draw 99.4 %).
On two of the ten validation draws (14 and 19) the labeled points sit near the moons' tips and
the supervised boundary cuts across a moon; with random perturbations the Π-model stays at
64-86 % on those two draws with every setting tried (noise std 0.1-0.2, w_max 30-100, dropout
0 or 0.1, 4-16x larger unlabeled batches, lr 3e-3, weight decay, a 3-layer net, no ramp-up,
8,000 steps); Mean Teacher likewise (weight decay, 8,000 steps, a KL instead of a squared-error
consistency cost); Temporal Ensembling was only run with the settings below.

:func:`digits_run` is the benchmark's image version: the digits with SmallCNN and 5
labels/class, Gaussian-noise augmentation (VAT: eps 0.3, chosen on the unlabeled training images
of label draws 10-14, never on the test images). :func:`sweep` trains each method at three
values of its key hyper-parameter (the widget); :func:`disagreement` and :func:`target_noise`
are the measurements of the chapter's sections 1 and 3.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from course_lib import seed_everything
from course_lib._validation import check_number, check_positive_int, check_seed
from course_lib.data import split_labeled
from course_lib.experiments.ch01_two_moons import fit_mlp, moons_task
from course_lib.methods import VAT, MeanTeacher, PiModel, Supervised, TemporalEnsembling
from course_lib.models import MLP
from course_lib.train import fit, predict_proba, training

__all__ = [
    "BENCH",
    "DROPOUT",
    "METHODS",
    "NOTEBOOK",
    "SWEEP",
    "VALIDATION",
    "VALIDATION_SEEDS",
    "Settings",
    "adversarial_digits",
    "mean_teacher_sketch",
    "DIGITS",
    "counting_images",
    "DigitsSettings",
    "digits_run",
    "disagreement",
    "forward_cost",
    "histories",
    "run",
    "sweep",
    "target_noise",
]

# the methods of the chapter, each with its defaults (tuned for two moons)
METHODS = {
    "supervised": Supervised,
    "Π-model": PiModel,
    "Temporal Ensembling": TemporalEnsembling,
    "Mean Teacher": MeanTeacher,
    "VAT": VAT,
}
DROPOUT = {"Π-model": 0.1, "Temporal Ensembling": 0.1}  # Laine & Aila: dropout is part of the noise

# the label draws the benchmark's settings were chosen on (disjoint from the test seeds 0-4),
# scored on the validation moons two_moons(1000, 0.1, seed=2)
VALIDATION_SEEDS = range(10, 20)


@dataclass(frozen=True)
class Settings:
    """Every knob of the chapter 03 experiment.

    ``steps`` is for the consistency methods, ``baseline_steps`` for the supervised baseline;
    ``record_every`` (with a ``grid`` x ``grid`` plotting grid) records the boundary for the
    widgets, ``None`` records only the end. ``validation`` scores on the validation moons.
    """

    methods: tuple[str, ...] = tuple(METHODS)
    steps: int = 600
    baseline_steps: int = 600
    per_class: int = 3
    lr: float = 1e-2
    batch_size: int = 64
    record_every: int | None = None
    grid: int = 60
    validation: bool = False

    def __post_init__(self):
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown or not self.methods:
            raise ValueError(f"methods {unknown or '()'} unknown; choose from {list(METHODS)}.")
        for name in ("steps", "baseline_steps", "per_class", "batch_size", "grid"):
            check_positive_int(getattr(self, name), name)
        if self.record_every is not None:
            check_positive_int(self.record_every, "record_every (or None)")
        check_number(self.lr, "lr", low=0.0, low_inclusive=False)


NOTEBOOK = Settings(record_every=60)
BENCH = Settings(steps=2000)
VALIDATION = replace(BENCH, validation=True)


def _train(name: str, method, settings: Settings, seed: int, device=None) -> dict:
    """One recorded fit of ``method`` (called ``name``) on the moons with the seed's labels."""
    X, y_true, X_eval, y_eval = moons_task(validation=settings.validation)
    y = split_labeled(y_true, settings.per_class, seed=seed)
    steps = settings.baseline_steps if isinstance(method, Supervised) else settings.steps
    out = fit_mlp(
        method, X, y, X_eval, y_eval,
        steps=steps, seed=seed, dropout=DROPOUT.get(name, 0.0),
        record_every=settings.record_every, grid=settings.grid, device=device,
        lr=settings.lr, batch_size=settings.batch_size,
    )  # fmt: skip
    # "model": the trained network (Mean Teacher: the student); "trained": the method after
    # training (Mean Teacher: .teacher)
    return {"method": name, "seed": int(seed), "steps": steps, **out, "trained": method}


def run(settings: Settings = NOTEBOOK, seed: int = 0, *, device=None) -> list[dict]:
    """Fit every method of ``settings.methods`` with its defaults on the seed's label draw.

    One record per method: ``{"method", "seed", "steps", "accuracy", "seconds"}`` plus
    ``"history"``, ``"model"`` and ``"trained"`` (the method after training).
    """
    return [_train(name, METHODS[name](), settings, seed, device) for name in settings.methods]


# the key knob of each method and three values of it (the middle one is the default)
SWEEP = {
    "Π-model": ("w_max", (3.0, 30.0, 300.0)),
    "Temporal Ensembling": ("alpha", (0.0, 0.6, 0.9)),
    "Mean Teacher": ("w_max", (10.0, 100.0, 1000.0)),
    "VAT": ("eps", (0.05, 0.2, 0.6)),
}


def sweep(
    settings: Settings = NOTEBOOK, seed: int = 0, *, device=None, reuse: list[dict] = ()
) -> list[dict]:
    """Each method of ``SWEEP`` at each value of its knob: records as :func:`run`'s, plus
    ``"param"``, ``"value"`` and ``"setting"`` (e.g. ``"eps = 0.6"``).

    ``reuse``: records of :func:`run` with the same settings and seed; a fit they already hold
    (the default value of a knob) is taken from them instead of trained again.
    """
    records = []
    for name, (param, values) in SWEEP.items():
        for v in values:
            done = [
                r
                for r in reuse
                if r["method"] == name and r["seed"] == seed and getattr(r["trained"], param) == v
            ]
            rec = (
                done[0]
                if done
                else _train(name, METHODS[name](**{param: v}), settings, seed, device)
            )
            records.append(rec | {"param": param, "value": v, "setting": f"{param} = {v:g}"})
    return records


def histories(records: list[dict], key: str = "setting") -> dict[str, dict[str, object]]:
    """``{method: {record[key]: history}}``: the shape ``widgets.method_explorer`` draws."""
    out: dict[str, dict[str, object]] = {}
    for r in records:
        out.setdefault(r["method"], {})[str(r[key])] = r["history"]
    return out


def disagreement(model, X, *, std: float = 0.1, copies: int = 16, seed: int = 0) -> np.ndarray:
    """Boolean mask of the points whose ``copies`` noisy copies (Gaussian, ``std``) the model
    puts on both sides of its boundary: where a consistency loss has something to punish."""
    rng = np.random.default_rng(seed)
    noisy = X[:, None, :] + std * rng.standard_normal((len(X), copies, X.shape[1])).astype(
        np.float32
    )
    p = predict_proba(model, noisy.reshape(-1, X.shape[1]))[:, 1].reshape(len(X), copies)
    side = (p > 0.5).mean(1)
    return np.minimum(side, 1 - side) > 0


def target_noise(
    model, method, X, *, draws: int = 200, epochs: int = 8, seed: int = 0
) -> dict[str, float]:
    """Temporal Ensembling's benefit (2): how far each method's target is from the network's
    expected prediction ``E z`` (the mean of ``draws`` stochastic evaluations).

    The Π-model's target is one draw; Temporal Ensembling's the bias-corrected ensemble
    ``Z / (1 - alpha^epochs)`` of ``epochs`` draws. Returns both mean squared distances and the
    ratio predicted for independent draws, ``(1-a)(1+a^t) / ((1+a)(1-a^t))``. The draws (noise,
    dropout) come from ``seed``, whatever ran before; torch's global generator is left as it was.
    """
    x = torch.as_tensor(X)
    with torch.random.fork_rng(devices=[]), training(model), torch.no_grad():
        torch.manual_seed(check_seed(seed))  # dropout on: stochastic evaluations, seeded
        p = torch.stack([model(method.g(x)).softmax(1) for _ in range(draws)])
    expected = p.mean(0)
    a, Z = method.alpha, torch.zeros_like(expected)
    for t in range(1, epochs + 1):
        Z = a * Z + (1 - a) * p[t]
    target_te = Z / (1 - a**epochs)
    return {
        "pi": ((p[0] - expected) ** 2).sum(1).mean().item(),
        "te": ((target_te - expected) ** 2).sum(1).mean().item(),
        "theory": (1 - a) * (1 + a**epochs) / ((1 + a) * (1 - a**epochs)),
    }


@dataclass(frozen=True)
class DigitsSettings:
    """The digits images with SmallCNN: labels per class, steps, batch size, the Gaussian-noise
    std of the Π-model and Mean Teacher and VAT's radius ``eps``."""

    per_class: int = 5
    steps: int = 1000
    batch_size: int = 64
    noise_std: float = 0.1
    eps: float = 0.3

    def __post_init__(self):
        for name in ("per_class", "steps", "batch_size"):
            check_positive_int(getattr(self, name), name)
        check_number(self.noise_std, "noise_std", low=0.0, low_inclusive=False)
        check_number(self.eps, "eps", low=0.0, low_inclusive=False)


DIGITS = DigitsSettings()  # the benchmark's (the notebook stays on two moons)


def digits_run(settings: DigitsSettings = DIGITS, seed: int = 0, *, device=None) -> list[dict]:
    """Supervised, Π-model, Mean Teacher and VAT on the digits images (SmallCNN), one record per
    method ``{"method", "seed", "accuracy", "seconds"}``, accuracy on the test images."""
    import time

    from course_lib.data import digits
    from course_lib.estimator import SSLClassifier

    X, y_true, X_test, y_test = digits()
    y = split_labeled(y_true, settings.per_class, seed=seed)
    records = []
    for name, method in [
        ("supervised", Supervised()),
        ("Π-model", PiModel(noise_std=settings.noise_std)),
        ("Mean Teacher", MeanTeacher(noise_std=settings.noise_std)),
        ("VAT", VAT(eps=settings.eps)),
    ]:
        clf = SSLClassifier(
            method=method,
            model="cnn",
            steps=settings.steps,
            batch_size=settings.batch_size,
            random_state=seed,
            device=device,
        )
        start = time.perf_counter()
        clf.fit(X, y)
        seconds = time.perf_counter() - start
        records.append(
            {
                "method": name,
                "seed": int(seed),
                "accuracy": float(clf.score(X_test, y_test)),
                "seconds": seconds,
            }
        )
    return records


@contextmanager
def counting_images(model: nn.Module):
    """Count the images (examples) that training pushes through ``model`` and its copies.

    Within the block every forward call of an :class:`~course_lib.models.MLP` in training mode
    adds its batch size to ``counts``: ``"network"`` (``model`` itself), ``"copies"`` (another
    MLP, e.g. Mean Teacher's teacher) and ``"with_gradient"`` (calls made while autograd
    records, i.e. passes that a backward pass follows). Evaluation passes (``model.eval()``:
    the output check of ``fit``, accuracy) are not counted. The hook is always removed.
    """
    counts = {"network": 0, "copies": 0, "with_gradient": 0}

    def hook(module, args):
        if isinstance(module, MLP) and module.training:
            n = int(args[0].shape[0])
            counts["network" if module is model else "copies"] += n
            counts["with_gradient"] += n if torch.is_grad_enabled() else 0

    handle = nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        yield counts
    finally:
        handle.remove()


def forward_cost(
    settings: Settings = NOTEBOOK, seed: int = 0, *, epochs: int = 2, device=None
) -> list[dict]:
    """Benefit (1) of Temporal Ensembling, counted instead of timed: the images each method
    pushes through the network per epoch (one pass of the unlabeled stream) while it trains.

    Every method of ``settings.methods`` but the supervised one trains ``epochs`` epochs
    (``ceil(n / batch_size)`` steps each) on the seed's labels. One record per method:
    ``{"method", "steps_per_epoch", "images_per_epoch", "copies_per_epoch",
    "with_gradient_per_epoch"}`` (per epoch: the network, its copies such as a teacher, and
    the images of passes followed by a backward pass). Counts do not depend on the machine's
    load, unlike seconds.
    """
    epochs = check_positive_int(epochs, "epochs")
    X, y_true, _, _ = moons_task()
    y = split_labeled(y_true, settings.per_class, seed=seed)
    steps_per_epoch = math.ceil(len(X) / settings.batch_size)
    records = []
    for name in settings.methods:
        if name == "supervised":
            continue
        seed_everything(seed)
        model = MLP(2, 2, dropout=DROPOUT.get(name, 0.0))
        with counting_images(model) as counts:
            fit(
                model, METHODS[name](), X, y, steps=epochs * steps_per_epoch, lr=settings.lr,
                batch_size=settings.batch_size, seed=seed, device=device, progress=False,
                record_every=epochs * steps_per_epoch,
            )  # fmt: skip
        records.append(
            {
                "method": name,
                "steps_per_epoch": steps_per_epoch,
                "images_per_epoch": counts["network"] // epochs,
                "copies_per_epoch": counts["copies"] // epochs,
                "with_gradient_per_epoch": counts["with_gradient"] // epochs,
            }
        )
    return records


# --- Mean Teacher, Fig. 1 (a-e): the 1-D sketch, computed -------------------------------------

SKETCH_LABELED = ((-1.0, 0.0), (1.0, 1.0))  # (x, class) of the two labeled examples
SKETCH_UNLABELED = 0.0  # the one unlabeled example


def _sketch_net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return MLP(1, 1, hidden=(16,))  # one logit: p(class 1 | x) = sigmoid(f(x))


def _sketch_fit(net, *, steps, noise, target=None, teacher_noise=0.0, teacher=None, ema=None,
                w=1.0, seed=0, lr=1e-2) -> list[tuple[float, float]]:  # fmt: skip
    """Train ``net`` on the two labeled points (inputs jittered by ``noise``) plus, with a
    ``teacher``, the consistency ``w (f(x_u + eta) - teacher(x_u + eta'))^2``; ``ema`` (a decay)
    makes the teacher the EMA of ``net`` and returns, per step, the student's and the teacher's
    (noise-free) predictions at x_u."""
    from course_lib.methods.parts import ema_update

    gen = torch.Generator().manual_seed(seed)
    xl = torch.tensor([[x] for x, _ in SKETCH_LABELED]).repeat(16, 1)
    yl = torch.tensor([[c] for _, c in SKETCH_LABELED]).repeat(16, 1)
    xu = torch.full((16, 1), SKETCH_UNLABELED)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    trace = []
    for step in range(steps):
        jitter = noise * torch.randn(xl.shape, generator=gen)
        loss = nn.functional.binary_cross_entropy_with_logits(net(xl + jitter), yl)
        if teacher is not None:
            eta = noise * torch.randn(xu.shape, generator=gen)
            eta_t = teacher_noise * torch.randn(xu.shape, generator=gen)
            p_student = torch.sigmoid(net(xu + eta))
            with torch.no_grad():
                p_teacher = torch.sigmoid(teacher(xu + eta_t))
            loss = loss + w * ((p_student - p_teacher) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if ema is not None:
            ema_update(teacher, net, ema, step)
            with torch.no_grad():  # the clean predictions at x_u after the step
                p_s, p_t = torch.sigmoid(net(xu[:1])), torch.sigmoid(teacher(xu[:1]))
            trace.append((float(p_s), float(p_t)))
    return trace


def mean_teacher_sketch(seed: int = 0, *, steps: int = 150, noise: float = 0.3) -> dict:
    """Mean Teacher's Fig. 1 (a-e) on a 1-D binary task, computed with a tiny MLP.

    Two labeled points (``SKETCH_LABELED``) and one unlabeled point (``SKETCH_UNLABELED``);
    each curve is p(class 1 | x) on ``"x"``. (a) three networks fitted to the two labels alone
    (``"free"``); (b) the first of them fitted with the labeled inputs jittered by Gaussian
    ``noise`` (``"teacher"``, the teacher of c and d); (c) a student fitted to
    the labels plus consistency, under noise, to a fixed teacher (network b) at the unlabeled
    point; (d) the same with noise on the teacher too: the student's target is the mean of the
    teacher's noisy predictions (``"noisy_targets"``); (e) a Mean Teacher run whose teacher is
    the EMA (decay 0.95) of the student: ``"trace"`` holds, per step, the student's and the
    teacher's predictions at the unlabeled point (Adam lr 0.1 there, a large step: the
    student's jitter from step to step is what the average removes). Full-batch Adam (lr 0.01
    elsewhere), ``steps`` steps per network.
    """
    from course_lib.methods.parts import ema_copy

    seed = check_positive_int(seed, "seed", minimum=0)
    steps = check_positive_int(steps, "steps")
    x = torch.linspace(-2.5, 2.5, 201)[:, None]

    def curve(net):
        with torch.no_grad():
            return torch.sigmoid(net.eval()(x)).squeeze(1).numpy()

    out = {"x": x.squeeze(1).numpy(), "labeled": SKETCH_LABELED, "unlabeled": SKETCH_UNLABELED}
    free = []
    for k in range(3):
        _sketch_fit(net := _sketch_net(seed + k), steps=steps, noise=0.0, seed=seed + k)
        free.append(curve(net))
    _sketch_fit(teacher := _sketch_net(seed), steps=steps, noise=noise, seed=seed)
    out |= {"free": np.array(free), "teacher": curve(teacher)}
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # (d)'s targets: the teacher at 16 noisy copies of x_u
        xu = SKETCH_UNLABELED + noise * torch.randn(16, 1, generator=gen)
        out["noisy_targets"] = (xu[:, 0].numpy(), torch.sigmoid(teacher(xu))[:, 0].numpy())
    for key, t_noise in (("student_c", 0.0), ("student_d", noise)):
        student = _sketch_net(seed + 10)
        _sketch_fit(student, steps=steps, noise=noise, teacher=teacher, teacher_noise=t_noise,
                    w=10.0, seed=seed + 10)  # fmt: skip
        out[key] = curve(student)
    student = _sketch_net(seed + 20).train()
    ema_teacher = ema_copy(student).train()
    trace = _sketch_fit(student, steps=steps, noise=noise, teacher=ema_teacher,
                        teacher_noise=noise, ema=0.95, w=10.0, seed=seed + 20, lr=0.1)  # fmt: skip
    out["trace"] = np.array(trace)
    return out


# --- VAT's virtual adversarial examples on the digits --------------------------------------------


def adversarial_digits(
    seed: int = 0, *, eps: float = 1.0, steps: int = 300, n_test: int = 200
) -> dict:
    """VAT's virtual adversarial examples on the 8x8 digits (pixels in [0, 1], 64 values).

    An MLP (128, 128) is trained ``steps`` Adam steps (lr 1e-2, batches of 64) on every
    training label; then, for the first ``n_test`` test images x, r_adv (eps, one power
    iteration, xi = 1e-2: :func:`~course_lib.methods.vat.adversarial_direction`) and a random
    direction r of the same norm eps. Returns the images, ``r_adv``, ``r_random``, the
    predicted probabilities on x, x + r_adv and x + r (``"p"``, ``"p_adv"``, ``"p_random"``)
    and the divergences ``"kl_adv"`` = KL(p(x) || p(x + r_adv)) and ``"kl_random"`` per image.
    """
    from course_lib.data import digits
    from course_lib.methods.vat import adversarial_direction, kl_divergence

    seed = check_positive_int(seed, "seed", minimum=0)
    n_test = check_positive_int(n_test, "n_test")
    eps = check_number(eps, "eps", low=0.0, low_inclusive=False)
    X, y, X_test, _ = digits(flat=True)
    seed_everything(seed)
    model = MLP(64, 10, hidden=(128, 128))
    fit(model, Supervised(), X, y, steps=steps, lr=1e-2, batch_size=64, seed=seed, progress=False)
    x = torch.as_tensor(X_test[:n_test])
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        p = model(x).softmax(1)
    torch.manual_seed(seed)  # the power iteration's random start
    r_adv = adversarial_direction(model, x, p, eps=eps, xi=1e-2)
    r_random = torch.randn(x.shape, generator=gen)
    r_random = eps * r_random / r_random.norm(dim=1, keepdim=True)  # same norm, random direction
    with torch.no_grad():
        logits_adv, logits_random = model(x + r_adv), model(x + r_random)
        return {
            "images": x.numpy(),
            "r_adv": r_adv.numpy(),
            "r_random": r_random.numpy(),
            "p": p.numpy(),
            "p_adv": logits_adv.softmax(1).numpy(),
            "p_random": logits_random.softmax(1).numpy(),
            "kl_adv": kl_divergence(p, logits_adv).numpy(),
            "kl_random": kl_divergence(p, logits_random).numpy(),
        }
