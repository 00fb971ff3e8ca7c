"""pixel_shuffle / pixel_unshuffle: the permutation, its inverse, gradients, PyTorch parity."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import minicnn.nn as nn
import minicnn.nn.functional as F
from minicnn.testing import compare_with_torch, gradcheck


@st.composite
def shuffle_configs(draw):
    """``(small shape (*, C, H, W), factor r)``: 0 to 2 leading axes, then channels and the small
    spatial size; pixel_shuffle's input has C r^2 channels, pixel_unshuffle's H r x W r pixels."""
    lead = draw(st.lists(st.integers(1, 2), min_size=0, max_size=2))
    return (*lead, draw(st.integers(1, 3)), draw(st.integers(1, 3)),
            draw(st.integers(1, 3))), draw(st.integers(1, 3))


def _shuffled_by_loops(x, r):
    """y[..., c, h*r + a, w*r + b] = x[..., c*r^2 + a*r + b, h, w], one (c, a, b) at a time."""
    *lead, channels, height, width = x.shape
    y = np.empty((*lead, channels // r**2, height * r, width * r), dtype=x.dtype)
    for c in range(channels // r**2):
        for a in range(r):
            for b in range(r):
                y[..., c, a::r, b::r] = x[..., c * r * r + a * r + b, :, :]
    return y


@given(shuffle_configs(), st.integers(0, 2**16))
def test_pixel_shuffle_is_the_permutation(cfg, seed):
    (*lead, channels, height, width), r = cfg
    x = np.random.default_rng(seed).standard_normal((*lead, channels * r * r, height, width))
    np.testing.assert_array_equal(F.pixel_shuffle(minicnn.tensor(x), r).numpy(),
                                  _shuffled_by_loops(x, r))


@given(shuffle_configs(), st.integers(0, 2**16))
def test_pixel_unshuffle_inverts_pixel_shuffle(cfg, seed):
    (*lead, channels, height, width), r = cfg
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*lead, channels * r * r, height, width))
    once = F.pixel_shuffle(minicnn.tensor(x), r)
    np.testing.assert_array_equal(F.pixel_unshuffle(once, r).numpy(), x)
    image = rng.standard_normal((*lead, channels, height * r, width * r))
    np.testing.assert_array_equal(_shuffled_by_loops(F.pixel_unshuffle(
        minicnn.tensor(image), r).numpy(), r), image)


@given(shuffle_configs(), st.integers(0, 2**16))
def test_pixel_shuffles_gradcheck(cfg, seed):
    (*lead, channels, height, width), r = cfg
    rng = np.random.default_rng(seed)
    x = minicnn.tensor(rng.standard_normal((*lead, channels * r * r, height, width)),
                       requires_grad=True)
    image = minicnn.tensor(rng.standard_normal((*lead, channels, height * r, width * r)),
                           requires_grad=True)
    gradcheck(lambda t: F.pixel_shuffle(t, r), [x], seed=seed)
    gradcheck(lambda t: F.pixel_unshuffle(t, r), [image], seed=seed)


@given(shuffle_configs(), st.integers(0, 2**16))
def test_pixel_shuffles_match_torch(cfg, seed):
    (*lead, channels, height, width), r = cfg
    if not lead:  # PyTorch needs at least (C, H, W)
        lead = [1]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*lead, channels * r * r, height, width)).astype(np.float32)
    image = rng.standard_normal((*lead, channels, height * r, width * r)).astype(np.float32)
    # Permutations move values without arithmetic: output and gradient are exact.
    compare_with_torch(lambda t: F.pixel_shuffle(t, r), lambda t: TF.pixel_shuffle(t, r), [x],
                       atol=0, rtol=0)
    compare_with_torch(lambda t: F.pixel_unshuffle(t, r), lambda t: TF.pixel_unshuffle(t, r),
                       [image], atol=0, rtol=0)


def test_pixel_shuffle_layers_and_integers():
    x = np.arange(2 * 8 * 2 * 3).reshape(2, 8, 2, 3)  # int64: a permutation computes nothing
    expected = TF.pixel_shuffle(torch.tensor(x), 2).numpy()
    np.testing.assert_array_equal(nn.PixelShuffle(2)(minicnn.tensor(x)).numpy(), expected)
    np.testing.assert_array_equal(nn.PixelUnshuffle(2)(minicnn.tensor(expected)).numpy(), x)
    assert repr(nn.PixelShuffle(2)) == repr(torch.nn.PixelShuffle(2))
    assert repr(nn.PixelUnshuffle(3)) == repr(torch.nn.PixelUnshuffle(3))


def test_pixel_shuffle_bad_input():
    x = minicnn.zeros(1, 8, 3, 4)
    with pytest.raises(ValueError, match=r"divisible by upscale_factor\*\*2 = 9, got 8 channels"):
        F.pixel_shuffle(x, 3)
    with pytest.raises(ValueError, match="upscale_factor must be >= 1"):
        F.pixel_shuffle(x, 0)
    with pytest.raises(TypeError, match="upscale_factor must be an int"):
        F.pixel_shuffle(x, 2.0)
    with pytest.raises(ValueError, match=r"divisible by downscale_factor=2, got 3 x 4"):
        F.pixel_unshuffle(x, 2)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        F.pixel_unshuffle(minicnn.zeros(4, 4), 2)
    with pytest.raises(TypeError, match="input must be a Tensor"):
        F.pixel_shuffle(np.zeros((1, 4, 2, 2)), 2)
    with pytest.raises(ValueError, match="PixelUnshuffle: downscale_factor must be >= 1"):
        nn.PixelUnshuffle(0)
