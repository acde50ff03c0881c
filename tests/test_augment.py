import pytest
import torch

from course_lib import augment as A


@pytest.fixture
def images():
    g = torch.Generator().manual_seed(0)
    return torch.rand(64, 1, 8, 8, generator=g)


@pytest.mark.parametrize("fn", [A.weak, A.strong, A.translate, A.cutout])
def test_shape_range_and_determinism(images, fn):
    a = fn(images, generator=torch.Generator().manual_seed(1))
    b = fn(images, generator=torch.Generator().manual_seed(1))
    c = fn(images, generator=torch.Generator().manual_seed(2))
    assert a.shape == images.shape and a.dtype == images.dtype
    assert a.min() >= 0.0 and a.max() <= 1.0
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)
    assert not torch.equal(a, images)


def test_global_rng_is_used_without_generator(images):
    torch.manual_seed(3)
    a = A.strong(images)
    torch.manual_seed(3)
    b = A.strong(images)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_images_differ_within_a_batch():
    # the same image repeated: each copy must get its own random transformation
    x = torch.rand(1, 1, 8, 8).repeat(32, 1, 1, 1)
    out = A.strong(x, generator=torch.Generator().manual_seed(0))
    assert len({tuple(o.flatten().tolist()) for o in out}) > 20


def test_translate_moves_whole_pixels():
    x = torch.zeros(200, 1, 8, 8)
    x[:, :, 3, 4] = 1.0
    out = A.translate(x, 0.125, generator=torch.Generator().manual_seed(0))
    # the single bright pixel survives (shift <= 1 px, away from the border) and moves <= 1 px
    assert torch.all(out.sum((1, 2, 3)) == 1.0)
    pos = out.view(200, 64).argmax(1)
    rows, cols = pos // 8, pos % 8
    assert (rows - 3).abs().max() <= 1 and (cols - 4).abs().max() <= 1
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == 9  # all 3x3 shifts occur


def test_photometric_ops_by_hand():
    x = torch.tensor([0.0, 0.25, 0.6, 1.0]).view(1, 1, 2, 2)
    one = torch.ones(1)
    torch.testing.assert_close(A.brightness(x, 0.5 * one), x * 0.5)
    torch.testing.assert_close(A.contrast(x, 0 * one), torch.full_like(x, x.mean().item()))
    torch.testing.assert_close(A.contrast(x, one), x)
    torch.testing.assert_close(
        A.solarize(x, 0.5 * one), torch.tensor([0.0, 0.25, 0.4, 0.0]).view(1, 1, 2, 2)
    )
    torch.testing.assert_close(
        A.posterize(x, one), torch.tensor([0.0, 0.0, 1.0, 1.0]).view(1, 1, 2, 2)
    )
    torch.testing.assert_close(A.autocontrast(x * 0.5 + 0.2), x)
    torch.testing.assert_close(A.sharpness(x, one), x)


def test_posterize_keeps_two_to_the_bits_grey_levels():
    x = torch.linspace(0, 1, 256).view(1, 1, 16, 16).repeat(3, 1, 1, 1)
    out = A.posterize(x, torch.tensor([1.0, 2.0, 3.0]))
    assert [out[i].unique().numel() for i in range(3)] == [2, 4, 8]


def test_sharpness_changes_border_pixels_as_documented():
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 0, 2] = 1.0  # a bright pixel on the top border
    out = A.sharpness(x, torch.zeros(1))  # factor 0: the smoothed image itself
    assert out[0, 0, 0, 2] < 1.0 and out[0, 0, 0, 1] > 0.0


def test_equalize_spreads_a_narrow_histogram():
    x = 0.4 + 0.1 * torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    out = A.equalize(x)
    assert out.amin() == 0.0 and out.amax() == 1.0
    # monotone: the order of pixels is kept
    i, j = x.view(4, -1).argsort(1), out.view(4, -1)
    assert torch.all(torch.diff(torch.gather(j, 1, i), dim=1) >= 0)


def test_cutout_paints_one_square_with_fill():
    x = torch.zeros(50, 1, 8, 8)
    out = A.cutout(x, 0.5, fill=1.0, generator=torch.Generator().manual_seed(0))
    area = out.sum((1, 2, 3))
    assert area.max() <= 16 and area.max() > 0  # at most 4x4 pixels
    for o in out[area > 0]:
        rows, cols = torch.nonzero(o[0], as_tuple=True)
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)


def test_gaussian_noise_for_points():
    x = torch.zeros(20000, 2)
    out = A.GaussianNoise(0.2)(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert abs(out.std().item() - 0.2) < 0.01 and abs(out.mean().item()) < 0.01


def test_clear_errors():
    with pytest.raises(ValueError, match="GaussianNoise"):
        A.strong(torch.zeros(5, 2))
    with pytest.raises(ValueError, match="ops"):
        A.strong(torch.zeros(2, 1, 8, 8), ops=("nope",))
    with pytest.raises(ValueError, match="sigma"):
        A.GaussianNoise(-1.0)
    with pytest.raises(ValueError, match="max_shift"):
        A.translate(torch.zeros(2, 1, 8, 8), 2.0)
