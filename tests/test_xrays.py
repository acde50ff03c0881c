"""The shipped chest X-rays: checksum, splits, and clear errors for every broken file."""

import io
import shutil

import numpy as np
import pytest

from course_lib.data import chest_xrays, load_medmnist
from course_lib.data import xrays as xr


@pytest.fixture(scope="module")
def data():
    return chest_xrays()


def test_shipped_file_has_the_documented_checksum_and_splits(data):
    assert xr.sha256(xr.assets_dir() / xr.FILENAME) == xr.SHA256
    sizes = {"train": (4707, 1213), "val": (524, 135), "test": (624, 234)}
    for (X, y), (n, normal) in zip(
        [(data.X_train, data.y_train), (data.X_val, data.y_val), (data.X_test, data.y_test)],
        sizes.values(),
        strict=True,
    ):
        assert X.shape == (n, 1, 28, 28) and X.dtype == np.float32
        assert 0.0 <= X.min() and X.max() <= 1.0 and X.max() > 0.9
        assert y.shape == (n,) and y.dtype == np.int64
        assert set(np.unique(y)) == {0, 1} and int((y == 0).sum()) == normal


def test_readme_states_the_checksum():
    text = (xr.assets_dir() / "README.md").read_text()
    assert xr.SHA256 in text and "CC BY 4.0" in text


def test_env_var_points_elsewhere(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    shutil.copy(xr.assets_dir() / xr.FILENAME, tmp_path / xr.FILENAME)
    monkeypatch.setenv(xr.ASSETS_ENV, str(tmp_path))
    assert xr.assets_dir() == tmp_path
    assert chest_xrays().X_val.shape == (524, 1, 28, 28)


def test_missing_file_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(xr.ASSETS_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="COURSE_ASSETS"):
        chest_xrays()


def test_corrupted_copy_fails_the_checksum(tmp_path):
    raw = bytearray((xr.assets_dir() / xr.FILENAME).read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped byte in the middle of the archive
    bad = tmp_path / "pneumoniamnist.npz"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="altered or damaged.*Restore"):
        chest_xrays(bad)


def _npy_bytes():
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


def _write(path, **overrides):
    arrays = {f"{s}_images": np.zeros((2, 4, 4), np.uint8) for s in ("train", "val", "test")}
    arrays |= {f"{s}_labels": np.zeros((2, 1), np.uint8) for s in ("train", "val", "test")}
    np.savez(path, **(arrays | overrides))
    return path


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)), "not a readable"),
        (lambda p: p.write_bytes(_write(p).read_bytes()[:300]), "not a readable"),
        (lambda p: p.write_bytes(_npy_bytes()), r"\.npy"),
        (lambda p: _write(p, val_labels=np.array([[0.0], [np.nan]])), "NaN"),
        (lambda p: _write(p, test_labels=np.array([[0], [-1]])), "negative"),
        (lambda p: _write(p, train_images=np.array(["a", "b"])), "train_images"),
    ],
    ids=["folder", "empty", "random", "truncated", "npy", "nan-labels", "negative", "strings"],
)
def test_broken_files_give_course_errors(tmp_path, make, match):
    path = tmp_path / "broken.npz"
    make(path)
    with pytest.raises(ValueError, match=match) as info:
        load_medmnist(path)
    assert "allow_pickle" not in str(info.value)
    with pytest.raises(ValueError):  # through chest_xrays, unverified, the same clear error
        chest_xrays(path, verify=False)


def test_uint8_images_are_scaled_even_when_dark(tmp_path):
    dark = np.ones((2, 4, 4), np.uint8)  # max 1 but uint8: 1/255, not 1.0
    X, _ = load_medmnist(_write(tmp_path / "d.npz", val_images=dark))["val"]
    np.testing.assert_allclose(X, 1 / 255)


# --- the experiments (tiny settings: the numbers live in the benchmark) -----------------------
def test_ssl_xrays_records_are_deterministic_and_share_the_label_draw(monkeypatch):
    from course_lib.experiments import xrays as ex

    tiny = ex.XraySettings(
        methods=("supervised", "fixmatch", "full"), widths=(4, 8), steps=3, full_steps=3, mu=1
    )
    seen = []
    real_fit = ex.fit
    monkeypatch.setattr(
        ex, "fit", lambda net, m, X, y, **kw: seen.append(y) or real_fit(net, m, X, y, **kw)
    )
    a = ex.ssl_xrays(tiny, seed=3, device="cpu")
    b = ex.ssl_xrays(tiny, seed=3, device="cpu")
    assert [r["method"] for r in a] == ["supervised", "fixmatch", "full"]
    for ra, rb in zip(a, b, strict=True):
        assert {k: v for k, v in ra.items() if k != "seconds"} == {
            k: v for k, v in rb.items() if k != "seconds"
        }
        assert 0.0 <= ra["auc"] <= 1.0 and 0.0 <= ra["balanced_accuracy"] <= 1.0
    np.testing.assert_array_equal(seen[0], seen[1])  # supervised and FixMatch: same 20 labels
    assert (seen[0] != -1).sum() == 20 and (seen[2] != -1).all()  # full: every label
    assert a[0]["per_class"] == 10 and a[2]["per_class"] == "all"


def test_settings_reject_unknown_methods():
    from course_lib.experiments.xrays import XraySettings

    with pytest.raises(ValueError, match="unknown"):
        XraySettings(methods=("supervised", "fixmatchh"))


def test_xray_cams_returns_maps_of_the_images():
    from course_lib.experiments.xrays import CamSettings, XraySettings, xray_cams

    out = xray_cams(CamSettings(n_images=4, xray=XraySettings(widths=(4, 8), full_steps=3)))
    assert out["images"].shape == out["cam"].shape == out["grad_cam"].shape == (4, 28, 28)
    assert list(out["labels"]) == [0, 0, 1, 1] and out["p_pneumonia"].shape == (4,)


def test_bench_changes_only_fixmatch_mu_and_the_chapters_keep_theirs():
    import dataclasses

    from course_lib.experiments import xrays as ex

    # mu 7 was chosen on validation draws 100-104 for the benchmark; the notebooks print
    # figures of mu 3 and must not move with it
    assert ex.BENCH.mu == 7 and dataclasses.replace(ex.BENCH, mu=3) == ex.XraySettings()
    assert ex.NOTEBOOK.mu == ex.SWEEP_NOTEBOOK.xray.mu == ex.CAM_NOTEBOOK.xray.mu == 3
    assert ex.METHODS["fixmatch"](ex.BENCH).mu == 7
