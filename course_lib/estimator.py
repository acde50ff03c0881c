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
from course_lib._validation import check_labeled_classes, check_X, check_y
from course_lib.methods.base import Method
from course_lib.methods.supervised import Supervised
from course_lib.models import build_model
from course_lib.train import fit, predict_proba


class SSLClassifier(ClassifierMixin, BaseEstimator):
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
    random_state : int
        Seeds the network's initialisation and the whole training run.
    device : str or torch.device, optional
        Default ``course_lib.device()``.
    progress : bool
        Show a progress bar while fitting.

    Attributes
    ----------
    classes_ : array
        The labeled classes seen in ``fit`` (``-1`` excluded).
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
        progress: bool = False,
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
        X = check_X(X)
        y = check_y(y, X.shape[0])
        self.classes_ = check_labeled_classes(y)
        # map the labeled classes to 0..C-1, keep -1 for unlabeled
        y_idx = np.where(y == -1, -1, np.searchsorted(self.classes_, y))
        method = copy.deepcopy(self.method) if self.method is not None else Supervised()
        if not isinstance(method, Method):
            raise ValueError(f"method must be a course_lib Method; got {type(method).__name__}.")
        seed_everything(self.random_state)
        self.input_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_))
        net = build_model(
            self.model, self.input_shape_, len(self.classes_), **(self.model_params or {})
        )
        self.history_ = fit(
            net,
            method,
            X,
            y_idx,
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            n_classes=len(self.classes_),
            seed=self.random_state,
            device=self.device,
            progress=self.progress,
        )
        self.method_ = method
        self.model_ = method.eval_model(net)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = check_X(X)
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has examples of shape {tuple(X.shape[1:])}, but the classifier was fitted "
                f"on shape {self.input_shape_}."
            )
        return predict_proba(self.model_, X)

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
