import numpy as np
import pytest
from scipy import ndimage

from course_lib.data import lesions, load_medmnist


def test_lesions_shapes_ranges_and_annotations():
    X, y, boxes, masks = lesions(60, size=48, seed=0)
    assert X.shape == (60, 1, 48, 48) and X.dtype == np.float32
    assert X.min() >= 0.0 and X.max() <= 1.0
    assert set(np.unique(y)) == {0, 1}
    assert masks.shape == (60, 48, 48)
    for i in range(60):
        k = masks[i].max()
        assert boxes[i].shape == (k, 4)
        assert (k == 0) == (y[i] == 0), "normal images have no lesion, abnormal ones at least one"
        for j, (r0, c0, r1, c1) in enumerate(boxes[i], start=1):
            # the box contains every pixel of lesion j that is visible on top
            rows, cols = np.nonzero(masks[i] == j)
            if rows.size:
                assert r0 <= rows.min() and rows.max() < r1 and c0 <= cols.min() and cols.max() < c1


def test_lesions_are_brighter_than_their_surroundings():
    X, y, _, masks = lesions(200, seed=1)
    inside = X[:, 0][masks > 0].mean()
    outside = X[:, 0][(masks == 0) & (y[:, None, None] > 0)].mean()
    assert inside > outside + 0.1


def test_lesions_are_domes_brightest_at_the_centre():
    # the default profile is a dome: the lesion's core is brighter than its rim, so the most
    # discriminative evidence sits on the lesion, not on its edge (a flat plateau has no such core)
    def core_minus_rim(dome):
        X, _, _, masks = lesions(300, seed=2, noise=0.0, max_lesions=1, dome=dome)
        m = masks > 0
        core = np.stack([ndimage.binary_erosion(mi, iterations=3) for mi in m])
        rim = m & ~np.stack([ndimage.binary_erosion(mi) for mi in m])
        return X[:, 0][core].mean() - X[:, 0][rim].mean()

    assert core_minus_rim(3.0) > core_minus_rim(0.0) + 0.05


def test_lesions_deterministic_and_seeded():
    a, b = lesions(20, seed=3), lesions(20, seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.array_equal(a.images, lesions(20, seed=4).images)


def test_lesions_two_types():
    _, y, _, _ = lesions(100, seed=0, n_types=2)
    assert set(np.unique(y)) == {0, 1, 2}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0}, "n"),
        ({"size": 8}, "size"),
        ({"p_lesion": 1.5}, "p_lesion"),
        ({"radius": (5.0, 2.0)}, "radius"),
        ({"contrast": (0.0, 0.3)}, "contrast"),
        ({"n_types": 3}, "n_types"),
        ({"dome": -1.0}, "dome"),
    ],
)
def test_lesions_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lesions(**{"n": 10, **kwargs})


def test_load_medmnist_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in [("train", 6), ("val", 3), ("test", 4)]:
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, (n, 1))
    path = tmp_path / "tiny.npz"
    np.savez(path, **arrays)
    data = load_medmnist(path)
    X, y = data["train"]
    assert X.shape == (6, 1, 28, 28) and X.dtype == np.float32 and X.max() <= 1.0
    np.testing.assert_allclose(X[:, 0] * 255.0, arrays["train_images"], atol=1e-3)
    np.testing.assert_array_equal(y, arrays["train_labels"][:, 0])
    assert data["test"][0].shape[0] == 4


def test_load_medmnist_colour_and_errors(tmp_path):
    arrays = {f"{s}_images": np.zeros((2, 8, 8, 3), np.uint8) for s in ("train", "val", "test")}
    arrays |= {f"{s}_labels": np.zeros((2, 1), np.int64) for s in ("train", "val", "test")}
    np.savez(tmp_path / "c.npz", **arrays)
    assert load_medmnist(tmp_path / "c.npz")["val"][0].shape == (2, 3, 8, 8)
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_medmnist(tmp_path / "missing.npz")
    del arrays["test_labels"]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="test_labels"):
        load_medmnist(tmp_path / "bad.npz")
