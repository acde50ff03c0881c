"""Input checks shared by every estimator and loop: clear errors that name the parameter.

The scikit-learn boundary of the course lives here too: the error wording scikit-learn's own
estimator checks look for (``Reshape your data``, ``0 feature(s)``, ``Complex data not
supported``, ``Unknown label type``, ...), the feature-count and feature-name checks of a fitted
estimator, seeds and ``random_state``, and :class:`LabeledScoreMixin` (a ``score`` that ignores
the ``-1`` entries of ``y``).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from scipy import sparse

MAX_SEED = 2**32 - 1  # NumPy's legacy seeding and scikit-learn's random_state stop here


class NotNumericError(TypeError, ValueError):
    """Input that is not numbers at all (a dict, a sparse matrix): a ``TypeError`` as Python and
    scikit-learn raise it, and a ``ValueError`` like every other bad input of the course."""


def _as_numpy(X):
    return X.detach().cpu().numpy() if hasattr(X, "detach") else X


def check_X(
    X,
    *,
    name: str = "X",
    ndim: tuple[int, ...] | None = None,
    ensure_2d: bool = False,
    dtype=np.float32,
) -> np.ndarray:
    """Return X as an array of ``dtype`` (float32 by default); raise for bad input.

    Raises ``ValueError`` for NaN/inf, complex numbers, no examples, examples with 0 features, a
    number of dimensions not in ``ndim``, or (``ensure_2d``) a 1-D array; ``NotNumericError``
    (a TypeError and a ValueError) for sparse matrices and non-numeric entries.
    """
    if sparse.issparse(X):
        raise NotNumericError(
            f"{name} is a scipy sparse matrix; sparse input is not supported: pass a dense "
            f"array ({name}.toarray())."
        )
    try:
        raw = np.asarray(_as_numpy(X))
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular numeric array ({err}).") from err
    if np.iscomplexobj(raw):
        raise ValueError(
            f"{name} holds complex numbers: Complex data not supported. Pass real features, "
            f"e.g. np.real({name}) and np.imag({name}) as separate columns, or np.abs({name})."
        )
    try:
        arr = np.asarray(raw, dtype=dtype)
    except TypeError as err:
        raise NotNumericError(
            f"{name} must be a numeric array; it holds something else ({err})."
        ) from err
    except ValueError as err:
        kind = type(X).__name__
        raise ValueError(f"{name} must be a numeric array; got {kind} ({err}).") from err
    if (ndim is not None and 1 not in ndim) or ensure_2d:
        if arr.ndim == 1:
            raise ValueError(
                f"Expected 2D array, got 1D array instead: {name} has shape {arr.shape}. "
                f"Reshape your data either using {name}.reshape(-1, 1) if your data has a "
                f"single feature or {name}.reshape(1, -1) if it contains a single sample."
            )
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; pass at least one example (rows = examples).")
    if ndim is not None and arr.ndim not in ndim:
        raise ValueError(
            f"{name} has {arr.ndim} dimensions (shape {arr.shape}); expected {ndim} "
            "(e.g. (n_samples, n_features) for points, (n, channels, H, W) for images)."
        )
    if arr.ndim >= 2 and 0 in arr.shape[1:]:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
            f"required: {name} must give each example at least one number."
        )
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s); remove or impute them first."
        )
    if not arr.flags.writeable:  # a read-only view (a DataFrame's values): torch warns on it
        arr = arr.copy()
    return arr


def _object_labels(arr: np.ndarray, name: str) -> np.ndarray:
    """Object arrays (pandas gives them): integers become int64, other numbers float64."""
    values = arr.ravel().tolist()
    if any(isinstance(v, (str, bytes)) for v in values):
        raise _string_labels(name, next(v for v in values if isinstance(v, (str, bytes))))
    if all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        return arr.astype(np.int64)
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        return arr.astype(np.float64)
    kinds = sorted({type(v).__name__ for v in values})
    raise ValueError(
        f"Unknown label type: {name} holds objects of type {kinds}; class labels must be "
        "integers (0..C-1, -1 = unlabeled)."
    )


def _string_labels(name: str, example) -> ValueError:
    return ValueError(
        f"Unknown label type: {name} holds strings (e.g. {str(example)!r}). The course marks "
        "unlabeled examples with the integer -1, so class labels must be integers: encode "
        "strings first, e.g. sklearn.preprocessing.LabelEncoder on the labeled entries."
    )


def check_y(y, n: int | None = None, *, name: str = "y", allow_unlabeled: bool = True):
    """Return y as an int64 array. ``-1`` marks unlabeled examples (scikit-learn convention).

    A column vector (n, 1) is flattened with scikit-learn's ``DataConversionWarning``; integer
    labels of dtype object (pandas) are accepted; strings, complex numbers and continuous values
    are refused with scikit-learn's wording (``Unknown label type``, ``continuous``).
    """
    if y is None:
        raise ValueError(
            f"fit requires y to be passed, but the target y is None: give {name} with one "
            "label per example (-1 for the unlabeled ones)."
        )
    arr = np.asarray(_as_numpy(y))
    if arr.ndim == 2 and arr.shape[1] == 1:
        from sklearn.exceptions import DataConversionWarning

        warnings.warn(
            f"A column-vector y was passed when a 1d array was expected. Please change the "
            f"shape of {name} to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per example); got shape {arr.shape}.")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} holds complex numbers: Complex data not supported.")
    if arr.dtype.kind in "US":
        raise _string_labels(name, arr[0] if arr.size else "")
    if arr.dtype == object:
        arr = _object_labels(arr, name)
    if arr.size and not np.issubdtype(arr.dtype, np.number):
        raise ValueError(
            f"Unknown label type: {name} has dtype {arr.dtype}; it must hold integer class "
            "labels (-1 = unlabeled)."
        )
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; use -1 to mark unlabeled examples.")
    if arr.size and not np.all(arr == np.round(arr)):
        example = arr[arr != np.round(arr)][0]
        raise ValueError(
            f"Unknown label type: 'continuous'. {name} must hold integer class labels; got "
            f"non-integer values (e.g. {example!r}). To predict a number use a regressor; "
            "to classify, bin the values into classes first."
        )
    arr = arr.astype(np.int64)
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"X and {name} have different lengths ({n} vs {arr.shape[0]}); "
            "give one label (or -1) per example."
        )
    if allow_unlabeled:
        if np.any(arr < -1):
            raise ValueError(f"{name} has labels below -1; use -1 for unlabeled, 0..C-1 otherwise.")
    elif np.any(arr < 0):
        raise ValueError(f"{name} must not contain unlabeled (-1) entries here.")
    return arr


def check_labeled_classes(y: np.ndarray, *, name: str = "y") -> np.ndarray:
    """Return the sorted labeled classes; need at least two, each with at least one example."""
    classes = np.unique(y[y != -1])
    if classes.size == 0:
        raise ValueError(f"{name} has no labeled examples (all -1); label at least one per class.")
    if classes.size < 2:
        raise ValueError(
            f"{name} has labeled examples of a single class ({classes[0]}): with one class "
            "there is nothing to classify. Label at least one example of a second class."
        )
    return classes


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def check_number(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Check that ``value`` is a finite real number inside the given interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}.")
    lo_ok = low is None or (value >= low if low_inclusive else value > low)
    hi_ok = high is None or (value <= high if high_inclusive else value < high)
    if not (lo_ok and hi_ok):
        lb = "-inf" if low is None else f"{low}"
        hb = "inf" if high is None else f"{high}"
        interval = f"{'[' if low_inclusive else '('}{lb}, {hb}{']' if high_inclusive else ')'}"
        raise ValueError(f"{name} must lie in {interval}; got {value!r}.")
    return float(value)


def check_not_empty(values, name: str, hint: str) -> None:
    """Raise ValueError ``"{name} is empty; {hint}"`` for None or anything of length 0."""
    if values is None or len(values) == 0:
        raise ValueError(f"{name} is empty; {hint}")


# --- seeds ---------------------------------------------------------------------------------------


def check_seed(seed, name: str = "seed") -> int:
    """Return ``seed`` as an int in [0, 2**32 - 1]; the error names the caller's parameter."""
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not (0 <= seed <= MAX_SEED)
    ):
        raise ValueError(
            f"{name} must be an integer in [0, 2**32 - 1] (the same {name}, the same numbers); "
            f"got {seed!r}."
        )
    return int(seed)


def draw_seed(random_state, name: str = "random_state") -> int:
    """scikit-learn's ``random_state`` convention, turned into one integer seed.

    An int is the seed itself (checked by :func:`check_seed`); ``None`` draws a seed from NumPy's
    global generator (a different run each time, unless ``np.random.seed`` was called); a
    ``np.random.RandomState`` or ``np.random.Generator`` draws it from that generator.
    """
    if random_state is None:
        return int(np.random.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise ValueError(
            f"{name} must be an integer in [0, 2**32 - 1], None (a new random seed each fit) "
            f"or a numpy RandomState/Generator; got {random_state!r}."
        )
    return check_seed(random_state, name)


# --- fitted estimators: feature count, feature names, score -------------------------------------


def _feature_names(X) -> np.ndarray | None:
    """A DataFrame's column names when they are all strings (scikit-learn's rule), else None."""
    columns = getattr(X, "columns", None)
    if columns is None or sparse.issparse(X):
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size and all(isinstance(c, str) for c in names):
        return names
    return None


def check_features(estimator, X, arr: np.ndarray, *, reset: bool) -> None:
    """``fit`` (``reset=True``) records ``n_features_in_`` (features per example, all axes but
    the first) and, for a DataFrame with string column names, ``feature_names_in_``; later calls
    (``reset=False``) check them with scikit-learn's wording."""
    cls = type(estimator).__name__
    n_features = int(np.prod(arr.shape[1:]))
    names = _feature_names(X)
    if reset:
        estimator.n_features_in_ = n_features
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None and names is not None and not np.array_equal(fitted, names):
        raise ValueError(
            f"The feature names should match those that were passed during fit: {cls} was "
            f"fitted on columns {list(fitted)}, X has {list(names)}. Select and order the "
            "columns as in fit."
        )
    if fitted is not None and names is None:
        warnings.warn(
            f"X does not have valid feature names, but {cls} was fitted with feature names",
            UserWarning,
            stacklevel=3,
        )
    elif fitted is None and names is not None:
        warnings.warn(
            f"X has feature names, but {cls} was fitted without feature names",
            UserWarning,
            stacklevel=3,
        )
    if n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {cls} is expecting {estimator.n_features_in_} "
            "features as input; pass examples with the features it was fitted on."
        )


class LabeledScoreMixin:
    """``score(X, y)``: accuracy on the labeled entries of ``y`` only; ``-1`` entries are ignored.

    scikit-learn's ``ClassifierMixin.score`` would count every ``-1`` as an error (no classifier
    predicts ``-1``), so a set with 90 % unlabeled entries would score at most 0.1.
    """

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy of ``predict(X)`` on the rows where ``y != -1`` (weighted by
        ``sample_weight`` if given). Raises ValueError when every entry of ``y`` is -1."""
        from sklearn.metrics import accuracy_score

        y = check_y(y)
        labeled = y != -1
        if not labeled.any():
            raise ValueError(
                "y has no labeled entries (all -1): score ignores the -1 entries, so there is "
                "nothing to score. Pass the true labels of X."
            )
        pred = self.predict(X)
        if pred.shape[0] != y.shape[0]:
            raise ValueError(
                f"X and y have different lengths ({pred.shape[0]} vs {y.shape[0]}); "
                "give one label (or -1) per example."
            )
        weight = None if sample_weight is None else np.asarray(sample_weight)[labeled]
        return float(accuracy_score(y[labeled], pred[labeled], sample_weight=weight))
