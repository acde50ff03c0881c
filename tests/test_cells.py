import numpy as np
import pytest

from course_lib.data import cells


@pytest.fixture(scope="module")
def data():
    return cells(60, size=64, seed=0)


def test_shapes_and_dtypes(data):
    assert data.images.shape == (60, 1, 64, 64) and data.images.dtype == np.float32
    assert data.masks.shape == (60, 64, 64) and data.masks.dtype == np.int64
    assert data.instances.shape == (60, 64, 64)
    assert len(data.boxes) == 60
    assert set(np.unique(data.masks)) == {0, 1}
    np.testing.assert_array_equal(data.masks, data.instances > 0)
    assert np.isfinite(data.images).all()


def test_boxes_are_tight_boxes_of_the_instances(data):
    for inst, bx in zip(data.instances, data.boxes, strict=True):
        assert bx.shape == (inst.max(), 4)
        for k, (r0, c0, r1, c1) in enumerate(bx):
            rows, cols = np.nonzero(inst == k + 1)
            assert (r0, c0, r1, c1) == (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)


def test_nuclei_count_size_and_brightness_vary(data):
    counts = np.array([len(b) for b in data.boxes])
    assert counts.min() >= 1 and counts.max() <= 7 and counts.std() > 0.5
    areas = np.concatenate([np.bincount(i.ravel())[1:] for i in data.instances])
    assert areas.min() > 5
    assert areas.std() / areas.mean() > 0.3
    means = [
        data.images[i, 0][data.instances[i] == k].mean()
        for i in range(20)
        for k in range(1, data.instances[i].max() + 1)
    ]
    assert np.ptp(means) > 0.3, "nuclei should differ in brightness"
    fg = data.images[:, 0][data.masks == 1].mean()
    bg = data.images[:, 0][data.masks == 0].mean()
    assert fg > bg + 0.3


def test_some_nuclei_touch(data):
    inst = data.instances
    right = (inst[:, :, 1:] > 0) & (inst[:, :, :-1] > 0) & (inst[:, :, 1:] != inst[:, :, :-1])
    down = (inst[:, 1:] > 0) & (inst[:, :-1] > 0) & (inst[:, 1:] != inst[:, :-1])
    touching = (right.any(axis=(1, 2)) | down.any(axis=(1, 2))).sum()
    assert 1 <= touching < 60


def test_deterministic_and_seed_dependent():
    a, b, c = cells(5, seed=3), cells(5, seed=3), cells(5, seed=4)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.instances, b.instances)
    assert not np.array_equal(a.images, c.images)


def test_noise_and_blur_change_the_image_not_the_masks():
    clean = cells(4, seed=1, noise=0.0, blur=0.0)
    noisy = cells(4, seed=1)
    np.testing.assert_array_equal(clean.instances, noisy.instances)
    assert np.abs(clean.images - noisy.images).mean() > 0.02


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0}, "n must"),
        ({"size": 16}, "size"),
        ({"radius": (5.0, 40.0)}, "radius"),
        ({"nuclei": (3, 2)}, "nuclei"),
        ({"aspect": (0.5, 1.0)}, "aspect"),
        ({"noise": -1.0}, "noise"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cells(**kwargs)
