import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.svm import SVC

from course_lib import classic
from course_lib.classic import (
    LaplacianSVM,
    deformed_kernel,
    graph_laplacian,
    knn_graph,
    lapsvm_solve,
    rbf,
    smoothness,
)
from course_lib.data import split_labeled, two_moons


@pytest.fixture(scope="module")
def moons():
    X, y_true = two_moons(200, 0.05, seed=0)
    return X.astype(np.float64), y_true, split_labeled(y_true, 1, seed=0)


@pytest.fixture(scope="module")
def small():
    """30 moons points, 3 labels per class: small enough for an independent QP solve."""
    X, y_true = two_moons(30, 0.05, seed=3)
    return X.astype(np.float64), y_true, split_labeled(y_true, 3, seed=3)


# --- graph helpers ----------------------------------------------------------------------------


def test_smoothness_equals_half_weighted_squared_differences():
    # path graph 0 - 1 - 2 with weights 2 and 3, by hand
    W = np.array([[0.0, 2.0, 0.0], [2.0, 0.0, 3.0], [0.0, 3.0, 0.0]])
    L = graph_laplacian(W)
    np.testing.assert_allclose(L.toarray(), [[2, -2, 0], [-2, 5, -3], [0, -3, 3]])
    f = np.array([1.0, -1.0, 2.0])
    assert smoothness(f, L) == pytest.approx(2 * (1 - -1) ** 2 + 3 * (-1 - 2) ** 2)  # = 35
    assert smoothness(np.ones(3), L) == pytest.approx(0.0)  # constants are perfectly smooth
    L2 = graph_laplacian(W, p=2)
    np.testing.assert_allclose(L2.toarray(), L.toarray() @ L.toarray())
    Ln = graph_laplacian(W, normalized=True).toarray()
    d = W.sum(1)
    np.testing.assert_allclose(Ln, np.eye(3) - W / np.sqrt(np.outer(d, d)))


def test_knn_graph_is_symmetric_with_heat_weights(moons):
    X, _, _ = moons
    W = knn_graph(X, 5)
    assert (abs(W - W.T)).max() == 0
    assert W.diagonal().sum() == 0
    assert (W.getnnz(axis=1) >= 5).all()
    assert 0 < W.data.min() and W.data.max() <= 1
    Wc = knn_graph(X, 5, weights="connectivity")
    assert set(np.unique(Wc.data)) == {1.0}
    np.testing.assert_array_equal(Wc.nonzero()[0], W.nonzero()[0])


def test_knn_graph_uses_float64_inputs():
    """40 points in [0, 1] moved to 1e4 (float32 spacing there: 1e-3) keep their graph: the
    same as at 0, edges and heat weights. Fails when the graph is built on a float32 copy
    (weights off by up to 0.66, and other edges)."""
    offsets = np.sort(np.random.default_rng(0).uniform(0, 1, (40, 1)), axis=0)
    for weights in ("heat", "connectivity"):
        far = classic.knn_graph(1e4 + offsets, 3, weights=weights, graph_sigma=0.05)
        near = classic.knn_graph(offsets, 3, weights=weights, graph_sigma=0.05)
        np.testing.assert_allclose(far.toarray(), near.toarray(), rtol=0, atol=1e-9)


def test_deformed_kernel_matches_its_definition(small):
    X, _, y = small
    K = rbf(X, sigma=0.3)
    L = graph_laplacian(knn_graph(X, 5))
    r = 4.0
    M = r * L.toarray()
    K_tilde, _ = deformed_kernel(K, L, r)
    # k~(x, z) = k(x, z) - k_x^T (I + M K)^-1 M k_z
    expected = K - K @ np.linalg.solve(np.eye(len(X)) + M @ K, M @ K)
    np.testing.assert_allclose(K_tilde, expected, atol=1e-10)
    np.testing.assert_allclose(K_tilde, K_tilde.T, atol=1e-10)


# --- the Laplacian SVM ------------------------------------------------------------------------


def test_gamma_I_zero_is_the_svm_on_the_labeled_points(moons):
    X, _, y = moons
    y = split_labeled(moons[1], 4, seed=1)
    lap = LaplacianSVM(gamma_A=0.03125, gamma_I=0.0, sigma=0.3, tol=1e-8).fit(X, y)
    lab = y != -1
    svc = SVC(kernel="rbf", gamma=1 / (2 * 0.3**2), C=1 / (2 * 0.03125), tol=1e-8)
    svc.fit(X[lab], y[lab])
    Z = np.random.default_rng(0).uniform(-1.5, 2.5, size=(50, 2))
    np.testing.assert_allclose(lap.decision_function(Z), svc.decision_function(Z), atol=1e-6)
    np.testing.assert_array_equal(lap.predict(X), svc.predict(X))


def test_deformed_kernel_solution_equals_closed_form_dual(small):
    X, _, y = small
    gamma_A, gamma_I, sigma = 0.05, 0.5, 0.3
    clf = LaplacianSVM(gamma_A=gamma_A, gamma_I=gamma_I, sigma=sigma, n_neighbors=5, tol=1e-10)
    clf.fit(X, y)
    n, lab = len(X), np.flatnonzero(y != -1)
    K = rbf(X, sigma=sigma)
    L = graph_laplacian(knn_graph(X, 5)).toarray()
    J = np.zeros((lab.size, n))
    J[np.arange(lab.size), lab] = 1.0
    Y = np.diag(np.where(y[lab] == 1, 1.0, -1.0))
    A = 2 * gamma_A * np.eye(n) + 2 * gamma_I * L @ K
    # the dual of Belkin et al. (authors' scaling): max 1'b - b'Qb/2, 0 <= b <= 1, y'b = 0
    Q = Y @ J @ K @ np.linalg.solve(A, J.T @ Y)
    Q = (Q + Q.T) / 2
    yl = np.diag(Y)
    res = minimize(
        lambda b: 0.5 * b @ Q @ b - b.sum(),
        np.full(lab.size, 0.5),
        jac=lambda b: Q @ b - 1,
        bounds=[(0, 1)] * lab.size,
        constraints=[{"type": "eq", "fun": lambda b: yl @ b, "jac": lambda b: yl}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    assert res.success
    # polish: with the active set found, the KKT conditions are a linear system in
    # (beta_free, nu): Q_FF beta_F + Q_FU 1 + nu y_F = 1 and y' beta = 0
    beta = np.where(res.x > 1 - 1e-6, 1.0, np.where(res.x < 1e-6, 0.0, res.x))
    F, U = (beta > 0) & (beta < 1), beta == 1
    m = F.sum()
    kkt = np.block([[Q[np.ix_(F, F)], yl[F, None]], [yl[None, F], np.zeros((1, 1))]])
    rhs = np.concatenate([1 - Q[np.ix_(F, U)].sum(1), [-yl[U].sum()]])
    beta[F] = np.linalg.solve(kkt, rhs)[:m]
    assert np.all(beta >= 0) and np.all(beta <= 1)
    np.testing.assert_allclose(beta, res.x, atol=1e-4)  # the polish only sharpens SLSQP
    alpha = np.linalg.solve(A, J.T @ Y @ beta)  # alpha = (2 gA I + 2 gI L K)^-1 J' Y beta
    np.testing.assert_allclose(clf.alpha_[:, 0], alpha, atol=1e-6)
    # and the same identity with the SVM's own beta (C = 1/(2 gamma_A) rescales beta)
    clf_beta = np.linalg.lstsq(J.T @ Y, A @ clf.alpha_[:, 0], rcond=None)[0]
    assert np.all(clf_beta > -1e-8) and np.all(clf_beta < 1 + 1e-8)
    np.testing.assert_allclose(J.T @ Y @ clf_beta, A @ clf.alpha_[:, 0], atol=1e-10)
    # the intercept from the KKT conditions: y_i f(x_i) = 1 on the margin (0 < beta_i < 1)
    free = F
    assert free.any()
    f_lab = (K @ alpha)[lab]
    b = np.mean(yl[free] - f_lab[free])
    assert clf.intercept_[0] == pytest.approx(b, abs=1e-5)


def test_training_predictions_agree_with_transduction(moons):
    X, _, y = moons
    clf = LaplacianSVM().fit(X, y)
    np.testing.assert_array_equal(clf.predict(X), clf.transduction_)
    # the inductive f(x) = sum alpha_j k(x_j, x) + b equals the SVM on the deformed kernel
    y_idx = np.where(y == -1, -1, np.searchsorted(clf.classes_, y))
    L = graph_laplacian(knn_graph(X, clf.n_neighbors))
    _, _, F = lapsvm_solve(rbf(X, sigma=clf.sigma), L, y_idx, clf.gamma_A, clf.gamma_I)
    np.testing.assert_allclose(clf.decision_function(X), F[:, 0], atol=1e-8)


def test_out_of_sample_values_use_the_deformed_kernel(small):
    X, _, y = small
    clf = LaplacianSVM(gamma_I=2.0, sigma=0.3, n_neighbors=5, tol=1e-10).fit(X, y)
    K = rbf(X, sigma=0.3)
    L = graph_laplacian(knn_graph(X, 5)).toarray()
    M = (2.0 / clf.gamma_A) * L
    lab = np.flatnonzero(y != -1)
    K_tilde_ll = deformed_kernel(K, L, 2.0 / clf.gamma_A, lab)[0][lab]
    svc = SVC(kernel="precomputed", C=1 / (2 * clf.gamma_A), tol=1e-10)
    svc.fit(K_tilde_ll, np.where(y[lab] == 1, 1, -1))
    Z = np.random.default_rng(1).uniform(-1, 2, size=(20, 2))
    k_z = rbf(X, Z, sigma=0.3)  # (n, 20)
    k_tilde = rbf(X[lab], Z, sigma=0.3) - K[lab] @ np.linalg.solve(np.eye(len(X)) + M @ K, M @ k_z)
    expected = k_tilde[svc.support_].T @ svc.dual_coef_[0] + svc.intercept_[0]
    np.testing.assert_allclose(clf.decision_function(Z), expected, atol=1e-8)


def test_manifold_term_fixes_two_moons(moons):
    X, y_true, y = moons
    svm = LaplacianSVM(gamma_I=0.0).fit(X, y)
    lap = LaplacianSVM(gamma_I=1.0).fit(X, y)
    assert lap.score(X, y_true) >= 0.99
    assert svm.score(X, y_true) < 0.95


def test_multiclass_one_vs_rest_with_arbitrary_labels():
    X, y_true = make_blobs(150, centers=[[0, 0], [4, 0], [0, 4]], cluster_std=0.6, random_state=0)
    labels = np.array([2, 5, 7])[y_true]
    y = np.where(split_labeled(y_true, 2, seed=0) == -1, -1, labels)
    clf = LaplacianSVM(sigma=1.0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [2, 5, 7])
    assert clf.decision_function(X).shape == (150, 3)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(X))
    assert clf.score(X, labels) >= 0.97


def test_binary_proba_is_monotone_in_decision(moons):
    X, _, y = moons
    clf = LaplacianSVM().fit(X, y)
    f, p = clf.decision_function(X), clf.predict_proba(X)[:, 1]
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-2 * f)))


def test_deterministic_and_clonable(moons):
    X, _, y = moons
    a = LaplacianSVM(gamma_I=0.3, p=2, normalized=True).fit(X, y)
    b = clone(a).fit(X, y)
    np.testing.assert_array_equal(a.alpha_, b.alpha_)
    assert b.get_params()["p"] == 2


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"gamma_A": -1.0}, "gamma_A"),
        ({"gamma_A": 0.0}, "gamma_A"),
        ({"gamma_I": -0.1}, "gamma_I"),
        ({"sigma": 0.0}, "sigma"),
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"n_neighbors": 500}, "n_neighbors"),
        ({"weights": "gauss"}, "weights"),
        ({"p": 0}, "p"),
        ({"graph_sigma": -2.0}, "graph_sigma"),
        ({"normalized": "yes"}, "normalized"),
    ],
)
def test_bad_parameters_raise(moons, params, match):
    X, _, y = moons
    with pytest.raises(ValueError, match=match):
        LaplacianSVM(**params).fit(X, y)


def test_bad_data_raise(moons):
    X, _, y = moons
    with pytest.raises(ValueError, match="no labeled"):
        LaplacianSVM().fit(X, np.full(len(X), -1))
    one = np.where(y == 1, -1, y)
    with pytest.raises(ValueError, match="single class"):
        LaplacianSVM().fit(X, one)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LaplacianSVM().fit(Xn, y)
    with pytest.raises(ValueError, match="different lengths"):
        LaplacianSVM().fit(X, y[:-1])
    clf = LaplacianSVM().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(np.zeros((3, 5)))


def test_classic_holds_lapsvm_and_graph_helpers_only():
    # the comparison loop is evaluation.compare; the LapSVM module must not import the benchmark
    import subprocess
    import sys

    assert not hasattr(classic, "compare") and not hasattr(classic, "summary_table")
    code = "import sys, course_lib.classic; print('course_lib.bench' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- plot and widget --------------------------------------------------------------------------


def test_graph_edges_draws_one_segment_per_edge(moons):
    from course_lib import plot

    X, _, _ = moons
    W = knn_graph(X[:20], 3)
    fig, axes = plot.figure()
    plot.graph_edges(axes[0], X[:20], W)
    segs = axes[0].collections[0].get_segments()
    assert len(segs) == W.nnz // 2


def test_lapsvm_explorer_redraws_from_cache(moons):
    from course_lib.widgets import lapsvm_explorer

    X, y_true, y = moons
    w = lapsvm_explorer(X, y, y_true=y_true, resolution=30)
    png = bytes(w.image.value)
    w.controls["gamma_I"].value = 0.01
    assert w.renders == 2 and bytes(w.image.value) != png
    w.controls["k"].value = 12
    w.controls["k"].value = 8
    assert w.laplacian.cache_info().misses == 2  # one graph per k, reused when k comes back
    probs, labels = w.result(1.0, 0.03125, 8)
    clf = LaplacianSVM().fit(X, y)
    np.testing.assert_array_equal(labels, clf.transduction_)
    np.testing.assert_allclose(probs, clf.predict_proba(w.grid), atol=1e-6)
    assert classic.LaplacianSVM is LaplacianSVM
