"""Chapter 05: pseudo-labeling, confirmation bias, and multi-transform pseudo-labels.

Two experiments:

* :func:`thresholds` -- confirmation bias on two moons (600 training points, noise 0.1; test
  ``two_moons(1000, 0.1, seed=1)``) with **one** label per class: Pseudo-Label (Lee 2013) at
  several confidence thresholds tau and the supervised MLP, 300 steps, the mask rate and the
  accuracy of the kept pseudo-labels recorded every 15 steps (the true labels reach the method
  only as ``y_monitor``, for logging). Each record says how confident the network is on the
  test points it gets wrong.
* :func:`distillation` -- the digits, 5 labels/class, a small CNN (widths (16, 32), 300 steps):
  the supervised CNN and Pseudo-Label as teachers; single-view and multi-transform pseudo-labels
  (identity + 1-pixel shifts, Radosavovic et al. 2018) above a threshold; a Pseudo-Label student
  trained on the labels plus the Pseudo-Label teacher's multi-transform pseudo-labels.
* :func:`self_training` -- scikit-learn's ``SelfTrainingClassifier`` around an RBF SVC on the
  same digits and labels, with its default threshold criterion and with ``k_best``: how many
  pseudo-labels each adds, how many are wrong, and the test accuracy.

The notebook and the benchmark share the settings; ``NOTEBOOK`` keeps the label draw of the
chapter's figure (label seed 2 with network seed 0), ``BENCH`` draws the labels with the seed.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numpy as np

from course_lib import augment
from course_lib._validation import check_not_empty, check_number, check_positive_int
from course_lib.data import digits, split_labeled, two_moons
from course_lib.estimator import SSLClassifier
from course_lib.experiments.ch01_two_moons import fit_mlp
from course_lib.methods import PseudoLabel, Supervised
from course_lib.methods.multi_transform import multi_transform_labels, multi_transform_predict
from course_lib.train import predict_proba

__all__ = [
    "BENCH",
    "DISTILLATION",
    "NOTEBOOK",
    "DistillationSettings",
    "Settings",
    "distillation",
    "histories",
    "moons",
    "self_training",
    "thresholds",
]


@dataclass(frozen=True)
class Settings:
    """Confirmation bias on two moons. ``taus``: the thresholds compared (plus the supervised
    MLP); ``label_seed``: the label draw, ``None`` for the run's seed."""

    taus: tuple[float, ...] = (0.6, 0.8, 0.95, 0.99)
    n: int = 600
    per_class: int = 1
    label_seed: int | None = 2
    lambda_u: float = 1.0
    t2: float = 0.2
    noise: float = 0.05  # the weak augmentation: Gaussian noise on the points
    steps: int = 300
    record_every: int = 15
    grid: int = 60

    def __post_init__(self):
        check_not_empty(self.taus, "taus", "give thresholds in (0, 1), e.g. (0.6, 0.95).")
        for tau in self.taus:
            check_number(tau, "taus", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        for name in ("n", "per_class", "steps", "record_every", "grid"):
            check_positive_int(getattr(self, name), name)
        for name in ("lambda_u", "t2", "noise"):
            check_number(getattr(self, name), name, low=0.0)


NOTEBOOK = Settings()
BENCH = Settings(label_seed=None)


def moons(settings: Settings = NOTEBOOK) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X, y_true, X_test, y_test``: ``two_moons(n, 0.1, seed=0)`` and the test moons."""
    X, y_true = two_moons(settings.n, 0.1, seed=0)
    X_test, y_test = two_moons(1000, 0.1, seed=1)
    return X, y_true, X_test, y_test


def thresholds(settings: Settings = NOTEBOOK, seed: int = 0, *, device=None) -> list[dict]:
    """One record per threshold and one for the supervised MLP (``tau`` None): ``{"method",
    "tau", "seed", "accuracy", "mask_rate", "confidence_wrong", "seconds", "history"}`` where
    ``confidence_wrong`` is the mean maximum probability on the misclassified test points and
    ``mask_rate`` the share of unlabeled points kept at the end."""
    X, y_true, X_test, y_test = moons(settings)
    label_seed = seed if settings.label_seed is None else settings.label_seed
    y = split_labeled(y_true, settings.per_class, seed=label_seed)
    records = []
    for tau in (*settings.taus, None):
        method = (
            Supervised()
            if tau is None
            else PseudoLabel(
                tau=tau,
                lambda_u=settings.lambda_u,
                t2=settings.t2,
                weak=augment.GaussianNoise(settings.noise),
                y_monitor=y_true,
            )
        )
        out = fit_mlp(
            method, X, y, X_test, y_test,
            steps=settings.steps, seed=seed, record_every=settings.record_every,
            grid=settings.grid, device=device,
        )  # fmt: skip
        h = out["history"]
        p = predict_proba(out["model"], X_test)
        wrong = p.argmax(1) != y_test
        records.append(
            {
                "method": "supervised" if tau is None else f"Pseudo-Label τ={tau:g}",
                "tau": tau,
                "seed": int(seed),
                "accuracy": h.last("eval_acc"),
                "mask_rate": h.last("mask_rate") if tau is not None else float("nan"),
                "confidence_wrong": float(p.max(1)[wrong].mean()) if wrong.any() else float("nan"),
                "seconds": out["seconds"],
                "history": h,
            }
        )
    return records


def histories(records: list[dict]) -> dict:
    """``{tau: history}`` (``None``: the supervised run), what ``widgets.threshold_explorer``
    and ``plot.pseudo_label_thresholds`` draw."""
    return {r["tau"]: r["history"] for r in records}


@dataclass(frozen=True)
class DistillationSettings:
    """Data distillation on the digits: labels per class, the CNN, Pseudo-Label's tau, the
    pseudo-label ``threshold`` and how often each random view is drawn (``n_draws``)."""

    per_class: int = 5
    widths: tuple[int, ...] = (16, 32)
    steps: int = 300
    tau: float = 0.95
    threshold: float = 0.9
    n_draws: int = 4

    def __post_init__(self):
        for name in ("tau", "threshold"):
            check_number(
                getattr(self, name), name, low=0.0, high=1.0, low_inclusive=False,
                high_inclusive=False,
            )  # fmt: skip
        for name in ("per_class", "steps", "n_draws"):
            check_positive_int(getattr(self, name), name)


DISTILLATION = DistillationSettings()  # the notebook's and the benchmark's


def distillation(
    settings: DistillationSettings = DISTILLATION, seed: int = 0, *, device=None
) -> list[dict]:
    """Records for the supervised CNN, the Pseudo-Label CNN and the distilled student:
    ``{"method", "seed", "accuracy", "seconds"}``; the two teachers' records also hold
    ``"pseudo_labels"``: ``{"single view" | "multi-transform": {"kept", "wrong",
    "guess_accuracy"}}`` (how many pseudo-labels pass the threshold, how many of them are wrong,
    and the accuracy of all arg-max guesses on the unlabeled images)."""
    X, y_true, X_test, y_test = digits()
    y = split_labeled(y_true, settings.per_class, seed=seed)
    unl = y == -1
    cnn = {
        "model": "cnn",
        "model_params": {"widths": settings.widths},
        "steps": settings.steps,
        "random_state": seed,
        "device": device,
    }
    views = [lambda x: x, functools.partial(augment.weak, sigma=0.0)]  # identity + 1-px shifts
    teachers = {
        "supervised CNN": Supervised(),
        "Pseudo-Label CNN": PseudoLabel(tau=settings.tau, weak=augment.weak, y_monitor=y_true),
    }
    fitted, records = {}, []
    for name, method in teachers.items():  # both teachers first: the views below draw shifts
        start = time.perf_counter()
        fitted[name] = SSLClassifier(method=method, **cnn).fit(X, y)
        seconds = time.perf_counter() - start
        score = float(fitted[name].score(X_test, y_test))
        records.append({"method": name, "seed": int(seed), "accuracy": score, "seconds": seconds})
    for rec in records:
        teacher, rec["pseudo_labels"] = fitted[rec["method"]].model_, {}
        for view, p in [
            ("single view", multi_transform_predict(teacher, X, views[:1])),
            (
                "multi-transform",
                multi_transform_predict(teacher, X, views, n_draws=settings.n_draws),
            ),
        ]:
            y_new, kept = multi_transform_labels(p, y, threshold=settings.threshold)
            rec["pseudo_labels"][view] = {
                "kept": int(kept.sum()),
                "wrong": int(np.sum(y_new[kept] != y_true[kept])),
                "guess_accuracy": float(np.mean(p[unl].argmax(1) == y_true[unl])),
            }
    # the student: labels + the Pseudo-Label teacher's multi-transform pseudo-labels (p above)
    y_distilled, _ = multi_transform_labels(p, y, threshold=settings.threshold)
    start = time.perf_counter()
    student = SSLClassifier(method=PseudoLabel(tau=settings.tau, weak=augment.weak), **cnn)
    student.fit(X, y_distilled)
    records.append(
        {
            "method": "distilled student",
            "seed": int(seed),
            "accuracy": float(student.score(X_test, y_test)),
            "seconds": time.perf_counter() - start,
        }
    )
    return records


def self_training(per_class: int = 5, seed: int = 0, *, threshold: float = 0.9) -> dict:
    """scikit-learn's self-training around ``SVC(gamma=0.02, C=10)`` on the flattened digits,
    labels ``split_labeled(y_true, per_class, seed)`` (section 4's for the defaults).

    Returns ``{name: {"added", "wrong", "accuracy"}}`` for ``"SVC, labels only"`` (0 added),
    ``"SelfTraining, threshold"`` (the default criterion at ``threshold``) and ``"SelfTraining,
    k_best"`` (the most confident tenth of the training images per round, 10 rounds), with
    ``"max_p"``: the largest Platt probability of the labels-only SVC on the unlabeled training
    images (what the threshold is compared with; no hidden label is used for it).
    ``added`` counts ``labeled_iter_ > 0``, ``wrong`` those of them whose pseudo-label
    (``transduction_``) differs from the hidden label; accuracy on the digits test set.
    """
    import warnings

    from sklearn.semi_supervised import SelfTrainingClassifier
    from sklearn.svm import SVC

    check_positive_int(per_class, "per_class")
    X, y_true, X_test, y_test = digits(flat=True)
    y = split_labeled(y_true, per_class, seed=seed)
    out = {}
    with warnings.catch_warnings():
        # scikit-learn 1.9 deprecates SVC(probability=True) for CalibratedClassifierCV, whose
        # 5-fold calibration needs 5 labels per class; libsvm's Platt scaling runs on fewer
        warnings.filterwarnings("ignore", "The `probability` parameter", FutureWarning)
        svc = SVC(gamma=0.02, C=10.0, probability=True, random_state=seed)
        platt = SVC(**svc.get_params()).fit(X[y != -1], y[y != -1])
        out["max_p"] = float(platt.predict_proba(X[y == -1]).max())
        acc = float(platt.score(X_test, y_test))
        out["SVC, labels only"] = {"added": 0, "wrong": 0, "accuracy": acc}
        for name, kw in [
            ("SelfTraining, threshold", {"threshold": threshold}),
            ("SelfTraining, k_best", {"criterion": "k_best", "k_best": math.ceil(len(X) / 10)}),
        ]:
            st = SelfTrainingClassifier(svc, max_iter=10, **kw).fit(X, y)
            added = st.labeled_iter_ > 0
            out[name] = {
                "added": int(added.sum()),
                "wrong": int(np.sum(st.transduction_[added] != y_true[added])),
                "accuracy": float(st.score(X_test, y_test)),
            }
    return out
