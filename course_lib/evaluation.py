"""Realistic evaluation of semi-supervised learning (Oliver et al., NeurIPS 2018, arXiv:1804.09170).

Helpers of chapter 09, written so that every comparison uses *the same* model, training budget
and estimator loop for every method:

- :func:`compare`: the one comparison loop -- accuracy vs labels per class, methods and seeds;
- :func:`tune_supervised`: a *tuned* supervised baseline, picked on a validation set;
- :func:`mismatch_split`: a class-distribution mismatch between labeled and unlabeled data
  (labeled classes 0..5, an unlabeled pool with a chosen fraction from the other classes);
- :func:`selection_noise`: how often a validation set of realistic size picks the wrong model
  (:func:`validation_draws`: the validation accuracies it draws).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from course_lib._validation import check_number, check_positive_int, check_seed, check_X, check_y
from course_lib.data.split import split_labeled
from course_lib.estimator import SSLClassifier
from course_lib.train import progress_bar


def mismatch_split(
    X,
    y,
    *,
    labeled_classes: Sequence[int] = (0, 1, 2, 3, 4, 5),
    per_class: int = 5,
    n_unlabeled: int = 400,
    mismatch: float = 0.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Labeled examples of ``labeled_classes`` plus an unlabeled pool with a share of outsiders.

    Oliver et al. (Sec. 4.4) label six CIFAR-10 classes and vary the share of the unlabeled data
    that comes from the four other classes. Here: ``per_class`` labeled examples of each class in
    ``labeled_classes``, and ``n_unlabeled`` unlabeled examples of which ``round(mismatch *
    n_unlabeled)`` come from the other classes and the rest from the labeled classes (never the
    labeled examples themselves). The pool size is the same for every ``mismatch``, so only the
    class distribution changes.

    Returns
    -------
    X_train : array (n_l + n_unlabeled, ...)
    y_train : int array, the class for labeled examples and -1 for the pool.
    """
    X = check_X(X)
    y = check_y(y, X.shape[0], allow_unlabeled=False)
    per_class = check_positive_int(per_class, "per_class")
    n_unlabeled = check_positive_int(n_unlabeled, "n_unlabeled")
    check_number(mismatch, "mismatch", low=0.0, high=1.0)
    seed = check_seed(seed, "seed")
    inside = np.asarray(list(labeled_classes), dtype=np.int64)
    if inside.size < 2 or not np.all(np.isin(inside, y)):
        raise ValueError(
            f"labeled_classes={list(labeled_classes)} must name at least two classes present in y."
        )
    rng = np.random.default_rng(seed)
    labeled = []
    for c in inside:
        idx = np.flatnonzero(y == c)
        if idx.size < per_class:
            raise ValueError(f"per_class={per_class} exceeds the {idx.size} examples of class {c}.")
        labeled.append(rng.choice(idx, per_class, replace=False))
    labeled = np.concatenate(labeled)
    is_in = np.isin(y, inside)
    pool_in = np.setdiff1d(np.flatnonzero(is_in), labeled)
    pool_out = np.flatnonzero(~is_in)
    n_out = int(round(mismatch * n_unlabeled))
    n_in = n_unlabeled - n_out
    if n_out > pool_out.size or n_in > pool_in.size:
        raise ValueError(
            f"n_unlabeled={n_unlabeled} with mismatch={mismatch} needs {n_in} unlabeled examples "
            f"of the labeled classes (have {pool_in.size}) and {n_out} of the others (have "
            f"{pool_out.size}); lower n_unlabeled."
        )
    unlabeled = np.concatenate(
        [rng.choice(pool_in, n_in, replace=False), rng.choice(pool_out, n_out, replace=False)]
    )
    keep = np.concatenate([labeled, unlabeled])
    y_train = np.concatenate([y[labeled], np.full(n_unlabeled, -1, dtype=np.int64)])
    return X[keep], y_train


def compare(
    estimators: dict[str, Callable[[int], object]],
    X,
    y_true,
    *,
    per_class: Iterable[int | None] = (5,),
    seeds: Iterable[int] = (0, 1, 2),
    X_test=None,
    y_test=None,
    data: str = "",
) -> list[dict]:
    """The one comparison loop of the course (chapters 02 and 09, the benchmark).

    For every labels-per-class count ``k`` and seed, the labels of ``y_true`` are hidden with
    ``split_labeled(y_true, k, seed)`` -- **the same labeled points for every method** -- and
    each estimator built by ``estimators[name](seed)`` is fitted on ``(X, y)`` (``y == -1``
    unlabeled). ``k = None`` keeps every label (the fully supervised reference). Oliver et al.'s
    first recommendation -- one model, one budget, one loop for every method -- is then a matter
    of passing factories that differ only in the method.

    Parameters
    ----------
    estimators : dict name -> factory(seed) returning an unfitted scikit-learn-style classifier,
        e.g. ``lambda s: SSLClassifier(method=PiModel(), random_state=s)`` or
        ``lambda s: LabelSpreading()``.
    X, y_true : arrays
        Training inputs and their full labels (hidden here, never shown to the estimators).
    per_class : iterable of int or None
    seeds : iterable of int
    X_test, y_test : arrays, optional
        Where accuracy is measured. When omitted, accuracy is *transductive*: on the training
        points whose labels were hidden.
    data : str
        A name stored in every record (to tell data sets apart in one table).

    Returns
    -------
    list of records ``{"data", "method", "per_class", "seed", "accuracy", "seconds"}``
    (``per_class`` is ``"all"`` for ``None``), the record format of ``course_lib.report.pivot``.
    """
    X = check_X(X)
    y_true = check_y(y_true, X.shape[0], allow_unlabeled=False)
    if not estimators:
        raise ValueError(
            "estimators is empty; pass e.g. {'supervised': lambda s: SSLClassifier()}."
        )
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither (transductive accuracy).")
    if X_test is not None:
        X_test = check_X(X_test, name="X_test")
        y_test = check_y(y_test, X_test.shape[0], name="y_test", allow_unlabeled=False)
    per_class, seeds = list(per_class), [check_seed(s, "seeds") for s in seeds]
    if None in per_class and X_test is None:
        raise ValueError("per_class=None hides no label: give X_test, y_test to score on.")
    records = []
    n_fits = len(per_class) * len(seeds) * len(estimators)
    with progress_bar(n_fits, f"compare {data}".strip()) as runs:  # one bar over the fits
        for k, seed in itertools.product(per_class, seeds):
            y = y_true.copy() if k is None else split_labeled(y_true, k, seed=seed)
            X_score, y_score = (X[y == -1], y_true[y == -1]) if X_test is None else (X_test, y_test)
            for name, factory in estimators.items():
                clf = factory(seed)
                start = time.perf_counter()
                clf.fit(X, y)
                seconds = time.perf_counter() - start
                # predict() for every method alike (SelfTraining's transduction_ keeps -1s)
                accuracy = float(np.mean(clf.predict(X_score) == y_score))
                records.append(
                    {
                        "data": data,
                        "method": name,
                        "per_class": "all" if k is None else int(k),
                        "seed": int(seed),
                        "accuracy": accuracy,
                        "seconds": seconds,
                    }
                )
                runs.advance()
    return records


def tune_supervised(
    X, y, X_val, y_val, grid: dict[str, Sequence], **clf_params
) -> tuple[dict, list[tuple[dict, float]]]:
    """Pick the supervised baseline's hyper-parameters on a validation set (grid search).

    ``grid`` maps ``SSLClassifier`` parameter names to candidate values, e.g.
    ``{"lr": [1e-3, 3e-3], "weight_decay": [0, 1e-3]}``. Returns the best combination and the
    validation accuracy of every combination. Oliver et al.: SSL papers often compare against a
    weak, untuned baseline; tune it with the same care as the SSL method.
    """
    if not grid:
        raise ValueError("grid is empty; give at least one parameter with candidate values.")
    names = list(grid)
    combos = list(itertools.product(*(grid[n] for n in names)))
    scores = []
    with progress_bar(len(combos), "tuning") as runs:
        for values in combos:
            params = dict(zip(names, values, strict=True))
            clf = SSLClassifier(**{**clf_params, **params}).fit(X, y)
            scores.append((params, float(clf.score(X_val, y_val))))
            runs.advance()
    best = max(scores, key=lambda s: s[1])[0]
    return best, scores


def validation_draws(correct, n_val: int, n_draws: int = 2000, seed: int = 0) -> np.ndarray:
    """Validation accuracies of M models on ``n_draws`` random validation sets of ``n_val``.

    ``correct`` is a boolean array (M models, n examples). Each draw takes ``n_val`` of the n
    examples without replacement -- the same examples for every model, as a real validation set
    does -- and returns an (M, n_draws) array of the models' accuracies on them. The draws of
    :func:`selection_noise`; ``seed`` (an integer in [0, 2**32 - 1]) fixes them.
    """
    c = np.asarray(correct, dtype=bool)
    if c.ndim != 2 or c.shape[0] < 2:
        raise ValueError(f"correct must be (n_models >= 2, n_examples); got shape {c.shape}.")
    n_val = check_positive_int(n_val, "n_val")
    if n_val > c.shape[1]:
        raise ValueError(f"n_val={n_val} exceeds the {c.shape[1]} examples in correct.")
    n_draws = check_positive_int(n_draws, "n_draws")
    rng = np.random.default_rng(check_seed(seed, "seed"))
    idx = np.argsort(rng.random((n_draws, c.shape[1])), axis=1)[:, :n_val]
    return c[:, idx].mean(2)


def selection_noise(correct, n_val: int, n_draws: int = 2000, seed: int = 0) -> dict[str, float]:
    """How reliable is model selection on a validation set of ``n_val`` examples?

    ``correct`` is a boolean array (M models, n examples): whether model m classifies held-out
    example i correctly; the mean over all n is each model's "true" accuracy. Each draw takes
    ``n_val`` examples without replacement, computes the M validation accuracies and picks the
    best (the draws of :func:`validation_draws`, fixed by ``seed``). Returns

    - ``p_best``: how often the truly best model is picked (ties shared);
    - ``regret``: mean true-accuracy loss of the picked model against the best one;
    - ``sd``: mean standard deviation of one model's validation accuracy, close to
      sqrt(acc (1 - acc) / n_val) (binomial; less when n_val is a large part of n).
    """
    c = np.asarray(correct, dtype=bool)
    val = validation_draws(c, n_val, n_draws, seed)  # (M, n_draws), checks the arguments
    true = c.mean(1)
    best = true.max()
    top = val == val.max(0, keepdims=True)
    share = top / top.sum(0, keepdims=True)  # ties split evenly
    p_best = float((share * (true[:, None] == best)).sum(0).mean())
    regret = float((share * (best - true[:, None])).sum(0).mean())
    return {"p_best": p_best, "regret": regret, "sd": float(val.std(1).mean())}
