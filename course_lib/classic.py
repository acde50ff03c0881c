"""Manifold regularization: the Laplacian SVM and the graph helpers it needs (scikit-learn API).

Belkin, Niyogi & Sindhwani, *Manifold Regularization*, JMLR 7, 2006 (Sec. 4.2, LapSVM), solved
through the "deformed kernel" of Sindhwani, Niyogi & Belkin, *Beyond the Point Cloud*, ICML 2005
(Sec. 2): LapSVM on kernel k is an ordinary SVM on a modified kernel k~, so scikit-learn's
``SVC(kernel="precomputed")`` does the optimisation and no QP solver is written here.

Scaling convention (the authors' code, under which the paper's Figure 2 numbers work)::

    min_f  sum_{i<=l} max(0, 1 - y_i f(x_i))  +  gamma_A ||f||_K^2  +  gamma_I f^T L f

The paper writes ``(1/l) sum V + gamma_A ||f||^2 + gamma_I/(l+u)^2 f^T L f``; the code absorbs the
``1/l`` and ``(l+u)^2`` factors into the two gammas. Our ``gamma_A`` is the paper's ``l gamma_A``
and our ``gamma_I`` the paper's ``l gamma_I / (l+u)^2``.

Chapter 02 compares LapSVM with scikit-learn's graph methods through the course's one comparison
loop, :func:`course_lib.evaluation.compare` (``course_lib.experiments.ch02_laplacian_svm``).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.linalg import lu_factor, lu_solve
from scipy.sparse import csgraph
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.neighbors import kneighbors_graph
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from course_lib._validation import (
    LabeledScoreMixin,
    check_features,
    check_labeled_classes,
    check_number,
    check_positive_int,
    check_X,
    check_y,
)

__all__ = [
    "LabeledOnly",
    "LaplacianSVM",
    "deformed_kernel",
    "graph_laplacian",
    "knn_graph",
    "lapsvm_solve",
    "rbf",
    "smoothness",
]

# --- graph helpers ----------------------------------------------------------------------------


def knn_graph(X, n_neighbors: int = 8, weights: str = "heat", graph_sigma="auto"):
    """Symmetric k-nearest-neighbour graph ``W`` (sparse CSR, zero diagonal).

    ``W_ij > 0`` when ``x_j`` is among the ``n_neighbors`` nearest neighbours of ``x_i`` or the
    other way round. Edge weights are 1 (``weights="connectivity"``) or the heat kernel
    ``W_ij = exp(-||x_i - x_j||^2 / (2 graph_sigma^2))`` (``weights="heat"``), where
    ``graph_sigma="auto"`` is the mean length of the kNN edges. Distances are computed in
    float64 on the values given (not on a float32 copy).
    """
    X = check_X(X, ndim=(2,), dtype=np.float64)
    n_neighbors = check_positive_int(n_neighbors, "n_neighbors")
    if n_neighbors >= X.shape[0]:
        raise ValueError(
            f"n_neighbors={n_neighbors} must be smaller than the number of points "
            f"({X.shape[0]}); choose fewer neighbours."
        )
    if weights not in ("heat", "connectivity"):
        raise ValueError(f"weights must be 'heat' or 'connectivity'; got {weights!r}.")
    W = kneighbors_graph(X, n_neighbors, mode="distance", include_self=False).tocsr()
    if weights == "heat":
        if graph_sigma == "auto":
            s = float(W.data.mean()) if W.data.size and W.data.mean() > 0 else 1.0
        else:
            s = check_number(graph_sigma, "graph_sigma", low=0.0, low_inclusive=False)
        W.data = np.exp(-(W.data**2) / (2.0 * s**2))
    else:
        W.data = np.ones_like(W.data)
    return W.maximum(W.T).tocsr()  # symmetrise: an edge if either point is a neighbour


def graph_laplacian(W, normalized: bool = False, p: int = 1):
    """The graph Laplacian ``L = D - W`` (or ``I - D^-1/2 W D^-1/2``), raised to the power ``p``.

    Returned sparse (CSR). Belkin et al. (2006, Sec. 4) regularise with ``L^p``; ``p = 1`` is
    the usual choice.
    """
    p = check_positive_int(p, "p")
    L = csgraph.laplacian(sparse.csr_matrix(W, dtype=np.float64), normed=bool(normalized))
    L = sparse.csr_matrix(L)
    Lp = L
    for _ in range(p - 1):
        Lp = Lp @ L
    return Lp


def smoothness(f, L) -> float:
    """``f^T L f = 1/2 sum_ij W_ij (f_i - f_j)^2``: how much ``f`` changes along the graph edges."""
    f = np.asarray(f, dtype=np.float64).ravel()
    return float(f @ (L @ f))


def rbf(X, Z=None, sigma: float = 0.2) -> np.ndarray:
    """Gaussian kernel ``k(x, z) = exp(-||x - z||^2 / (2 sigma^2))`` (float64)."""
    sigma = check_number(sigma, "sigma", low=0.0, low_inclusive=False)
    X = np.asarray(X, dtype=np.float64)
    Z = X if Z is None else np.asarray(Z, dtype=np.float64)
    return rbf_kernel(X, Z, gamma=1.0 / (2.0 * sigma**2))


def _blas_for(n: int):
    """One BLAS thread for small dense problems: there, spin-waiting threads (worse on a busy
    machine) cost more than they save -- measured 150 ms vs 5 ms for a 200-point fit."""
    return threadpool_limits(limits=1, user_api="blas") if n <= 3000 else threadpool_limits(None)


# --- the Laplacian SVM ------------------------------------------------------------------------


def deformed_kernel(K, L, r: float, columns=None):
    """Gram matrix of the deformed kernel (Sindhwani et al., 2005, Sec. 2) on the training points.

    ``k~(x, z) = k(x, z) - k_x^T (I + M K)^-1 M k_z`` with ``M = r L``; on the training points
    ``K~ = K - K (I + MK)^-1 M K = K (I + MK)^-1``. Returns ``(K~[:, columns], Z)`` where
    ``Z = (I + MK)^-1[:, columns]`` maps SVM dual coefficients on those columns to expansion
    coefficients over all points (``alpha = Z beta``), so ``f(x) = sum_j alpha_j k(x_j, x) + b``.
    """
    K = np.asarray(K, dtype=np.float64)
    n = K.shape[0]
    columns = np.arange(n) if columns is None else np.asarray(columns)
    E = np.zeros((n, columns.size))
    E[columns, np.arange(columns.size)] = 1.0
    if r == 0.0:  # gamma_I = 0: the kernel is not deformed
        return K[:, columns], E
    A = np.eye(n) + r * (L @ K)  # I + M K, with L sparse the product is cheap
    Z = lu_solve(lu_factor(A, check_finite=False), E, check_finite=False)
    return K @ Z, Z


def lapsvm_solve(K, L, y, gamma_A: float, gamma_I: float, tol: float = 1e-3):
    """Fit LapSVM given the kernel ``K`` and the (powered) Laplacian ``L`` of the training points.

    ``y`` holds class indices ``0..C-1`` and ``-1`` for unlabeled points. Two classes give one
    binary problem, more classes one per class (one-vs-rest). Returns ``alpha`` (n, P),
    ``intercept`` (P,) and the transductive decision values ``F`` (n, P), where P = 1 for two
    classes and P = C otherwise; ``f_c(x) = sum_j alpha_jc k(x_j, x) + intercept_c``.
    """
    y = np.asarray(y)
    labeled = np.flatnonzero(y != -1)
    n_classes = int(y[labeled].max()) + 1
    # sum hinge + gamma_A (||f||_K^2 + (gamma_I/gamma_A) f^T L f) = sum hinge + gamma_A ||f||_K~^2
    # and SVC minimises C sum hinge + 1/2 ||f||^2, hence C = 1 / (2 gamma_A)
    K_tilde, Z = deformed_kernel(K, L, gamma_I / gamma_A, labeled)
    targets = [1] if n_classes == 2 else range(n_classes)
    alpha = np.zeros((K.shape[0], len(targets)))
    intercept = np.zeros(len(targets))
    F = np.zeros((K.shape[0], len(targets)))
    for j, c in enumerate(targets):
        y_pm = np.where(y[labeled] == c, 1, -1)  # Y = diag(y_i), y_i in {-1, +1}
        svc = SVC(kernel="precomputed", C=1.0 / (2.0 * gamma_A), tol=tol)
        svc.fit(K_tilde[labeled], y_pm)
        beta_y = svc.dual_coef_[0]  # y_i beta_i on the support vectors
        alpha[:, j] = Z[:, svc.support_] @ beta_y  # alpha = (I + MK)^-1 J^T Y beta
        intercept[j] = svc.intercept_[0]
        F[:, j] = K_tilde[:, svc.support_] @ beta_y + intercept[j]  # transductive f
    return alpha, intercept, F


class LaplacianSVM(LabeledScoreMixin, ClassifierMixin, BaseEstimator):
    r"""Laplacian SVM (Belkin, Niyogi & Sindhwani, 2006): an SVM plus graph smoothness.

    .. math::

        \min_{f \in \mathcal H_K} \sum_{i=1}^{l} \max(0, 1 - y_i f(x_i))
        + \gamma_A \|f\|_K^2 + \gamma_I\, \mathbf f^\top L^p \mathbf f,

    where :math:`\mathbf f = (f(x_1), \dots, f(x_{l+u}))` on labeled *and* unlabeled points and
    :math:`L` is the Laplacian of a kNN graph over all of them. **Scaling:** the authors' code
    convention (no ``1/l`` on the loss, no ``1/(l+u)^2`` on the graph term), under which the
    paper's Figure 2 (``gamma_A = 0.03125``, ``gamma_I = 0 -> 0.01 -> 1``) is reproduced.
    The solution is :math:`f(x) = \sum_j \alpha_j k(x_j, x) + b` with the closed-form dual
    :math:`\alpha = (2\gamma_A I + 2\gamma_I L K)^{-1} J^\top Y \beta`; we obtain it as an
    ordinary SVM on the deformed kernel (Sindhwani et al., 2005) with ``C = 1/(2 gamma_A)``.

    Parameters
    ----------
    gamma_A : float > 0, default 0.03125
        Weight of the ambient RKHS norm :math:`\|f\|_K^2`.
    gamma_I : float >= 0, default 1.0
        Weight of the intrinsic (graph) smoothness :math:`\mathbf f^\top L^p \mathbf f`;
        ``0`` gives the labeled-only SVM.
    sigma : float > 0, default 0.2
        Width of the RBF kernel :math:`k(x,z) = \exp(-\|x-z\|^2 / 2\sigma^2)` (suits data of
        the scale of two moons; standardise other data or set it, e.g. about twice the mean
        distance to the 8th nearest neighbour).
    n_neighbors : int, default 8
        k of the symmetric kNN graph over all training points.
    weights : {"heat", "connectivity"}, default "heat"
        Heat-kernel edge weights :math:`\exp(-\|x_i-x_j\|^2 / 2\sigma_g^2)` or 1 per edge.
    graph_sigma : float or "auto", default "auto"
        :math:`\sigma_g` of the heat weights; "auto" is the mean kNN edge length.
    normalized : bool, default False
        Use the normalised Laplacian :math:`I - D^{-1/2} W D^{-1/2}` instead of :math:`D - W`.
    p : int, default 1
        Power of the Laplacian.
    tol : float, default 1e-3
        Stopping tolerance of the SVM solver.

    ``score(X, y)`` is the accuracy on the rows where ``y != -1`` (the ``-1`` entries are
    ignored, not counted as errors).

    Attributes
    ----------
    classes_ : labeled classes; ``alpha_`` (n, P) expansion coefficients over the training points;
    ``intercept_`` (P,); ``transduction_`` : labels the fit assigns to the training points;
    ``X_fit_`` : the training points (the expansion needs them); ``n_features_in_``;
    ``feature_names_in_`` when ``X`` was a DataFrame with string column names.
    """

    def __init__(
        self,
        gamma_A: float = 0.03125,
        gamma_I: float = 1.0,
        sigma: float = 0.2,
        n_neighbors: int = 8,
        weights: str = "heat",
        graph_sigma="auto",
        normalized: bool = False,
        p: int = 1,
        tol: float = 1e-3,
    ):
        self.gamma_A = gamma_A
        self.gamma_I = gamma_I
        self.sigma = sigma
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.graph_sigma = graph_sigma
        self.normalized = normalized
        self.p = p
        self.tol = tol

    def validate(self) -> None:
        """Raise ValueError naming the hyper-parameter that is out of range."""
        check_number(self.gamma_A, "gamma_A", low=0.0, low_inclusive=False)
        check_number(self.gamma_I, "gamma_I", low=0.0)
        check_number(self.sigma, "sigma", low=0.0, low_inclusive=False)
        check_positive_int(self.n_neighbors, "n_neighbors")
        if self.weights not in ("heat", "connectivity"):
            raise ValueError(f"weights must be 'heat' or 'connectivity'; got {self.weights!r}.")
        if self.graph_sigma != "auto":
            check_number(self.graph_sigma, "graph_sigma", low=0.0, low_inclusive=False)
        if not isinstance(self.normalized, (bool, np.bool_)):
            raise ValueError(f"normalized must be True or False; got {self.normalized!r}.")
        check_positive_int(self.p, "p")
        check_number(self.tol, "tol", low=0.0, low_inclusive=False)

    def fit(self, X, y):
        """Fit on all rows of ``X``; ``y == -1`` marks unlabeled rows (they shape the graph)."""
        self.validate()
        X_in, X = X, check_X(X, ndim=(2,), dtype=np.float64)  # float64 on the original values
        y = check_y(y, X.shape[0])
        self.classes_ = check_labeled_classes(y)
        y_idx = np.where(y == -1, -1, np.searchsorted(self.classes_, y))
        with _blas_for(X.shape[0]):
            K = rbf(X, sigma=self.sigma)
            if self.gamma_I > 0:
                W = knn_graph(X, self.n_neighbors, self.weights, self.graph_sigma)
                L = graph_laplacian(W, self.normalized, self.p)
            else:  # no graph term: skip building the graph (the labeled-only SVM)
                L = None
            self.alpha_, self.intercept_, F = lapsvm_solve(
                K, L, y_idx, self.gamma_A, self.gamma_I, self.tol
            )
        self.X_fit_ = X
        check_features(self, X_in, X, reset=True)
        self.transduction_ = self._labels(F)
        return self

    def _labels(self, F: np.ndarray) -> np.ndarray:
        idx = (F[:, 0] > 0).astype(int) if F.shape[1] == 1 else F.argmax(1)
        return self.classes_[idx]

    def _scores(self, X) -> np.ndarray:
        check_is_fitted(self, "alpha_")
        X_in, X = X, check_X(X, ndim=(2,), dtype=np.float64)
        check_features(self, X_in, X, reset=False)
        with _blas_for(self.X_fit_.shape[0]):
            return rbf(X, self.X_fit_, self.sigma) @ self.alpha_ + self.intercept_

    def decision_function(self, X) -> np.ndarray:
        """``f(x) = sum_j alpha_j k(x_j, x) + b``: shape (n,) for two classes, else (n, C)."""
        F = self._scores(X)
        return F[:, 0] if F.shape[1] == 1 else F

    def predict(self, X) -> np.ndarray:
        return self._labels(self._scores(X))

    def predict_proba(self, X) -> np.ndarray:
        """Softmax of the decision values (binary: ``p(1) = 1 / (1 + exp(-2 f))``).

        Not calibrated probabilities (an SVM gives none); monotone in ``f``, so the 0.5 level is
        the decision boundary. Provided for plotting and for the shared comparison loop.
        """
        F = self._scores(X)
        S = np.concatenate([-F, F], axis=1) if F.shape[1] == 1 else F
        S = np.exp(S - S.max(axis=1, keepdims=True))
        return S / S.sum(axis=1, keepdims=True)


class LabeledOnly(LabeledScoreMixin, ClassifierMixin, BaseEstimator):
    """Fit ``estimator`` on the labeled rows only (``y != -1``): the supervised baseline.

    ``LabeledOnly(SVC())`` puts a plain classifier into the same ``fit(X, y)`` loop as the
    semi-supervised ones; ``score`` ignores the ``-1`` entries of ``y`` as theirs does.
    """

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        from sklearn.base import clone

        check_X(X, ndim=(2,))
        y = check_y(y, len(X))
        self.classes_ = check_labeled_classes(y)
        est = clone(self.estimator) if self.estimator is not None else SVC()
        self.estimator_ = est.fit(np.asarray(X)[y != -1], y[y != -1])
        return self

    def predict(self, X):
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def decision_function(self, X):
        check_is_fitted(self, "estimator_")
        return self.estimator_.decision_function(X)
