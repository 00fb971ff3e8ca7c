"""Transforms against naive per-image references built from the same random draws."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn
from minicnn.data import transforms as T


def naive_crop(image, top, left, size, padding):
    """Pad with zeros then slice, one image at a time (the definition)."""
    c, h, w = image.shape
    padded = np.zeros((c, h + 2 * padding[0], w + 2 * padding[1]), image.dtype)
    padded[:, padding[0]:padding[0] + h, padding[1]:padding[1] + w] = image
    return padded[:, top:top + size[0], left:left + size[1]]


@given(n=st.integers(1, 5), c=st.integers(1, 3), h=st.integers(2, 9), w=st.integers(2, 9),
       pad=st.integers(0, 3), data=st.data())
def test_random_crop_matches_pad_and_slice(n, c, h, w, pad, data):
    size = (data.draw(st.integers(1, h + 2 * pad)), data.draw(st.integers(1, w + 2 * pad)))
    images = np.arange(n * c * h * w, dtype=np.uint8).reshape(n, c, h, w)
    out = T.RandomCrop(size, padding=pad)(images, rng=np.random.default_rng(3))
    # The same draws, in the documented order: all tops, then all lefts.
    rng = np.random.default_rng(3)
    tops = rng.integers(0, h + 2 * pad - size[0] + 1, size=n)
    lefts = rng.integers(0, w + 2 * pad - size[1] + 1, size=n)
    assert out.shape == (n, c) + size and out.dtype == images.dtype
    for i in range(n):
        np.testing.assert_array_equal(out[i], naive_crop(images[i], tops[i], lefts[i], size,
                                                         (pad, pad)))


def test_random_crop_single_image_and_global_generator():
    image = np.ones((1, 8, 8), np.float32)
    minicnn.manual_seed(5)
    first = T.RandomCrop(8, padding=1)(image)
    minicnn.manual_seed(5)
    second = T.RandomCrop(8, padding=1)(image)
    assert first.shape == (1, 8, 8)
    np.testing.assert_array_equal(first, second)
    assert first.sum() >= 64 - 15  # a shift by at most one pixel in each direction


def test_horizontal_flip_per_image():
    images = np.arange(2 * 1 * 2 * 3, dtype=np.float32).reshape(2, 1, 2, 3).repeat(10, axis=0)
    out = T.RandomHorizontalFlip(0.5)(images, rng=np.random.default_rng(1))
    flips = np.random.default_rng(1).random(len(images)) < 0.5
    for i in range(len(images)):
        expected = images[i, :, :, ::-1] if flips[i] else images[i]
        np.testing.assert_array_equal(out[i], expected)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(images), images)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(images), images[..., ::-1])


def test_to_float_normalize_compose():
    images = np.array([[[[0, 8, 16]]], [[[16, 16, 0]]]], np.uint8)  # (2, 1, 1, 3)
    pipeline = T.Compose([T.ToFloat(16), T.Normalize([0.5], [0.25]), lambda x: x * 2])
    out = pipeline(images, rng=np.random.default_rng(0))
    expected = (images.astype(np.float64) / 16 - 0.5) / 0.25 * 2
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    three = np.ones((3, 2, 2), np.float32)
    normalized = T.Normalize([1, 2, 3], [1, 2, 4])(three)
    np.testing.assert_allclose(normalized[:, 0, 0], [0, -0.5, -0.5])
    assert "ToFloat" in repr(pipeline)


@pytest.mark.parametrize("make, error, match", [
    (lambda: T.ToFloat(0), ValueError, "scale"),
    (lambda: T.Normalize([0.5, 0.5], [1.0]), ValueError, "same length"),
    (lambda: T.Normalize([0.5], [0.0]), ValueError, "std"),
    (lambda: T.RandomCrop(0), ValueError, "size"),
    (lambda: T.RandomCrop(4, padding=-1), ValueError, "padding"),
    (lambda: T.RandomHorizontalFlip(1.5), ValueError, "p must be"),
    (lambda: T.Compose([1]), TypeError, "callable"),
])
def test_bad_transform_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_transform_inputs():
    with pytest.raises(ValueError, match="larger than the padded image"):
        T.RandomCrop(10, padding=0)(np.zeros((1, 8, 8)))
    with pytest.raises(ValueError, match="3 channels"):
        T.Normalize([0.0], [1.0])(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        T.RandomHorizontalFlip()(np.zeros((4, 4)))
