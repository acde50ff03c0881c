"""A scikit-learn classifier around model + method + ``fit``.

``SSLClassifier(method=FixMatch())`` and ``sklearn.semi_supervised.LabelSpreading()`` share one
API (``fit(X, y)`` with ``y == -1`` unlabeled, ``predict``, ``predict_proba``, ``score``), so one
comparison loop can put them in the same table.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from course_lib import seed_everything
from course_lib._validation import (
    LabeledScoreMixin,
    check_features,
    check_labeled_classes,
    check_X,
    check_y,
    draw_seed,
)
from course_lib.methods.base import Method
from course_lib.methods.supervised import Supervised
from course_lib.models import build_model
from course_lib.train import fit, predict_proba


class SSLClassifier(LabeledScoreMixin, ClassifierMixin, BaseEstimator):
    """Semi-supervised deep classifier with the scikit-learn estimator API.

    Parameters
    ----------
    method : Method, default Supervised()
        The training objective. ``fit`` trains a deep copy (kept as ``method_``), so the instance
        you pass keeps no per-run state and one estimator can be fitted, cloned and refitted.
    model : str or callable, default "mlp"
        A name from ``course_lib.models.MODELS`` or ``factory(input_shape, n_classes, **kw)``.
    model_params : dict, optional
        Keyword arguments of the model factory (e.g. ``{"hidden": (64, 64), "dropout": 0.1}``).
    steps, batch_size, lr, weight_decay :
        Passed to ``course_lib.train.fit``.
    random_state : int, None, numpy RandomState or Generator, default 0
        Seeds the network's initialisation and the whole training run: the same int gives the
        same network. ``None`` (scikit-learn's convention) draws a new seed at each ``fit`` from
        NumPy's global generator; a generator draws it from that generator. The seed used is
        kept as ``seed_``.
    device : str or torch.device, optional
        Default ``course_lib.device()``.
    progress : bool, optional
        Show a progress bar while fitting; default ``train.show_progress()`` (on, except where
        ``COURSE_PROGRESS=0``); a bar appears only for fits longer than 2 s.

    ``X`` is (n_samples, n_features) for points or (n, C, H, W) for images; ``y`` holds integer
    labels and ``-1`` for unlabeled rows. ``score(X, y)`` is the accuracy on the rows where
    ``y != -1``: the ``-1`` entries are ignored, not counted as errors.

    Attributes
    ----------
    classes_ : array
        The labeled classes seen in ``fit`` (``-1`` excluded).
    n_features_in_ : int
        Numbers per example (``C * H * W`` for images).
    feature_names_in_ : array of str
        The column names, when ``X`` was a DataFrame with string column names.
    seed_ : int
        The seed of the run (``random_state``, or the one drawn for ``None``).
    method_ : Method
        The trained copy of ``method`` (with its per-run state, e.g. Mean Teacher's teacher).
    model_ : nn.Module
        The trained network used for prediction (the teacher for Mean Teacher), in evaluation
        mode.
    history_ : History
        The training log.
    """

    def __init__(
        self,
        method: Method | None = None,
        model="mlp",
        model_params: dict | None = None,
        steps: int = 500,
        batch_size: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        random_state: int = 0,
        device: str | None = None,
        progress: bool | None = None,
    ):
        self.method = method
        self.model = model
        self.model_params = model_params
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.device = device
        self.progress = progress

    def fit(self, X, y):
        """Train on all rows of ``X``; ``y == -1`` marks the unlabeled rows."""
        X_arr = check_X(X, ensure_2d=True)
        y = check_y(y, X_arr.shape[0])
        seed = draw_seed(self.random_state, "random_state")
        self.classes_ = check_labeled_classes(y)
        # map the labeled classes to 0..C-1, keep -1 for unlabeled
        y_idx = np.where(y == -1, -1, np.searchsorted(self.classes_, y))
        method = copy.deepcopy(self.method) if self.method is not None else Supervised()
        if not isinstance(method, Method):
            raise ValueError(f"method must be a course_lib Method; got {type(method).__name__}.")
        seed_everything(seed)
        check_features(self, X, X_arr, reset=True)
        self.input_shape_ = tuple(X_arr.shape[1:])
        net = build_model(
            self.model, self.input_shape_, len(self.classes_), **(self.model_params or {})
        )
        self.history_ = fit(
            net,
            method,
            X_arr,
            y_idx,
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            n_classes=len(self.classes_),
            seed=seed,
            device=self.device,
            progress=self.progress,
        )
        self.seed_ = seed
        self.method_ = method
        self.model_ = method.eval_model(net)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Softmax probabilities (n, n_classes), columns in the order of ``classes_``."""
        check_is_fitted(self, "model_")
        X_arr = check_X(X, ensure_2d=True)
        check_features(self, X, X_arr, reset=False)
        X = X_arr
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has examples of shape {tuple(X.shape[1:])}, but the classifier was fitted "
                f"on shape {self.input_shape_}."
            )
        return predict_proba(self.model_, X)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each example (a value of ``classes_``)."""
        check_is_fitted(self, "model_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
