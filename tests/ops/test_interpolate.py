"""interpolate / nn.Upsample: PyTorch's index arithmetic, the transposed-matrix gradient,
gradcheck and PyTorch parity."""
import math

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
def resize_configs(draw, max_side=6):
    """``(shape, kwargs)``: mode, align_corners, and either a size or a scale factor (with
    recompute_scale_factor None/False/True) that gives a non-empty output."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)),
             draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    mode = draw(st.sampled_from(["nearest", "bilinear"]))
    kwargs = dict(mode=mode)
    if mode == "bilinear":
        kwargs["align_corners"] = draw(st.booleans())
    if draw(st.booleans()):
        kwargs["size"] = (draw(st.integers(1, 2 * max_side)), draw(st.integers(1, 2 * max_side)))
    else:
        # scale factors near the special ratios 1 and 2 too, where float32 rounding matters
        factor = st.one_of(st.floats(0.3, 3.5), st.sampled_from([1.0, 2.0, 1.0001, 2.00001, 0.5]))
        scale = (draw(factor), draw(factor))
        if min(int(n * f) for n, f in zip(shape[2:], scale)) < 1:
            scale = (max(scale[0], 1.0), max(scale[1], 1.0))
        kwargs["scale_factor"] = scale
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    return shape, kwargs


def _axis_taps(n_in, n_out, scale, mode, align_corners, real):
    """Per output index: [(input index, weight), ...], from the card's formulas one output at a
    time. ``real``: the float type bilinear's arithmetic runs in (nearest: always float32)."""
    taps = []
    for o in range(n_out):
        if n_out == n_in:
            taps.append([(o, 1.0)])
        elif mode == "nearest":
            if n_out == 2 * n_in:
                taps.append([(o // 2, 1.0)])
                continue
            ratio = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
            taps.append([(min(int(math.floor(np.float32(o) * ratio)), n_in - 1), 1.0)])
        else:
            if align_corners:
                ratio = real(n_in - 1) / real(n_out - 1) if n_out > 1 else real(0)
                source = ratio * real(o)
            else:
                ratio = real(1.0 / scale) if scale else real(n_in) / real(n_out)
                source = max(ratio * (real(o) + real(0.5)) - real(0.5), real(0))
            i0 = min(int(math.floor(source)), n_in - 1)
            weight1 = min(max(source - real(i0), real(0)), real(1))
            taps.append([(i0, real(1) - weight1), (min(i0 + 1, n_in - 1), weight1)])
    return taps


def _out_size_and_scales(shape, kwargs):
    if "size" in kwargs:
        return kwargs["size"], (None, None)
    scale = kwargs["scale_factor"]
    size = tuple(int(n * f) for n, f in zip(shape[2:], scale))
    return size, ((None, None) if kwargs.get("recompute_scale_factor") else scale)


def _matrices(shape, kwargs, real):
    """A_H (H_out, H) and A_W (W_out, W) from the per-output taps."""
    size, scales = _out_size_and_scales(shape, kwargs)
    matrices = []
    for n_in, n_out, scale in zip(shape[2:], size, scales):
        matrix = np.zeros((n_out, n_in))
        for o, taps in enumerate(_axis_taps(n_in, n_out, scale, kwargs["mode"],
                                            kwargs.get("align_corners"), real)):
            for index, weight in taps:
                matrix[o, index] += weight
        matrices.append(matrix)
    return matrices


@given(resize_configs(), st.integers(0, 2**16))
def test_interpolate_matches_the_index_formulas(cfg, seed):
    shape, kwargs = cfg
    x = np.random.default_rng(seed).standard_normal(shape)
    a_h, a_w = _matrices(shape, kwargs, np.float64)
    expected = np.einsum("ih,nchw,jw->ncij", a_h, x, a_w)
    out = F.interpolate(minicnn.tensor(x), **kwargs).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@given(resize_configs(), st.integers(0, 2**16))
def test_interpolate_gradient_is_the_transposed_matrix(cfg, seed):
    shape, kwargs = cfg
    rng = np.random.default_rng(seed)
    x = minicnn.tensor(rng.standard_normal(shape), requires_grad=True)
    out = F.interpolate(x, **kwargs)
    upstream = rng.standard_normal(out.shape)
    out.backward(minicnn.tensor(upstream))
    a_h, a_w = _matrices(shape, kwargs, np.float64)
    # dL/dx = A_H^T ybar A_W
    np.testing.assert_allclose(x.grad, np.einsum("ih,ncij,jw->nchw", a_h, upstream, a_w),
                               rtol=1e-12, atol=1e-12)


@given(resize_configs(max_side=4), st.integers(0, 2**16))
def test_interpolate_gradcheck(cfg, seed):
    shape, kwargs = cfg
    x = minicnn.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)
    gradcheck(lambda t: F.interpolate(t, **kwargs), [x], seed=seed)


@given(resize_configs(), st.integers(0, 2**16))
def test_interpolate_matches_torch(cfg, seed):
    shape, kwargs = cfg
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    # The output blends <= 2 values per axis with PyTorch's float32 weights in PyTorch's order
    # (equal up to a fused multiply-add); the gradient sums up to (H_out/H)(W_out/W) <= 144
    # upstream values per pixel in another order: a few float32 ulps of sums of size ~10.
    compare_with_torch(lambda t: F.interpolate(t, **kwargs),
                       lambda t: TF.interpolate(t, **kwargs), [x], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("scale", [1.0001, 2.00001, 1.7, 0.6])
def test_nearest_special_cases_follow_pytorchs_2d_kernels(scale):
    """n_out == n_in copies and n_out == 2 n_in takes o // 2 even when the scale factor
    (1.0001, 2.00001) would read other pixels; other ratios floor(o / scale) in float32."""
    x = np.arange(2 * 5 * 7, dtype=np.float32).reshape(1, 2, 5, 7)
    np.testing.assert_array_equal(  # copies: exact
        F.interpolate(minicnn.tensor(x), scale_factor=scale).numpy(),
        TF.interpolate(torch.tensor(x), scale_factor=scale).numpy())
    # the gradient sums up to 4 upstream values per pixel, in another order than PyTorch
    compare_with_torch(lambda t: F.interpolate(t, scale_factor=scale),
                       lambda t: TF.interpolate(t, scale_factor=scale), [x], atol=1e-6, rtol=1e-6)


def test_nearest_keeps_infinities_where_they_are():
    x = np.array([[[[1.0, np.inf], [-np.inf, 2.0]]]], dtype=np.float32)
    out = F.interpolate(minicnn.tensor(x), scale_factor=3).numpy()
    np.testing.assert_array_equal(out, TF.interpolate(torch.tensor(x), scale_factor=3).numpy())


def test_upsample_layers_match_torch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    layers = [
        (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (nn.Upsample(size=(3, 7), mode="bilinear"), torch.nn.Upsample(size=(3, 7), mode="bilinear")),
        (nn.Upsample(scale_factor=(1.5, 0.5), mode="bilinear", align_corners=True),
         torch.nn.Upsample(scale_factor=(1.5, 0.5), mode="bilinear", align_corners=True)),
        (nn.UpsamplingNearest2d(size=6), torch.nn.UpsamplingNearest2d(size=6)),
        (nn.UpsamplingBilinear2d(scale_factor=3), torch.nn.UpsamplingBilinear2d(scale_factor=3)),
    ]
    for ours, theirs in layers:
        assert repr(ours) == repr(theirs)
        compare_with_torch(ours, theirs, [x], atol=1e-5, rtol=1e-5)


def test_interpolate_bad_input():
    x = minicnn.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x, size=2, scale_factor=2)
    with pytest.raises(ValueError, match="mode must be one of 'nearest', 'bilinear', got 'cubic'"):
        F.interpolate(x, size=2, mode="cubic")
    with pytest.raises(NotImplementedError, match="mode='bicubic' is not implemented"):
        F.interpolate(x, size=2, mode="bicubic")
    with pytest.raises(ValueError, match="align_corners can only be set"):
        F.interpolate(x, size=2, align_corners=False)
    with pytest.raises(TypeError, match="align_corners must be a bool"):
        F.interpolate(x, size=2, mode="bilinear", align_corners=1)
    with pytest.raises(ValueError, match="recompute_scale_factor=True is not meaningful"):
        F.interpolate(x, size=2, recompute_scale_factor=True)
    with pytest.raises(TypeError, match="size must be an int or a pair"):
        F.interpolate(x, size=(2, 2, 2))
    with pytest.raises(TypeError, match="size must be an int or a pair"):
        F.interpolate(x, size=2.0)
    with pytest.raises(ValueError, match="size must be >= 1"):
        F.interpolate(x, size=(0, 2))
    with pytest.raises(ValueError, match="scale_factor must be positive"):
        F.interpolate(x, scale_factor=-2)
    with pytest.raises(ValueError, match=r"gives an empty output \(0, 0\)"):
        F.interpolate(x, scale_factor=0.2)
    with pytest.raises(NotImplementedError, match="antialias=True"):
        F.interpolate(x, size=2, mode="bilinear", antialias=True)
    with pytest.raises(NotImplementedError, match=r"a 3-D input .* minicnn resizes images, "
                                                  r"\(N, C, H, W\) only .*'resample-1d-3d'"):
        F.interpolate(minicnn.zeros(1, 1, 4), size=2)
    with pytest.raises(ValueError, match=r"input must be 4-D \(N, C, H, W\)"):
        F.interpolate(minicnn.zeros(1, 4), size=2)
    with pytest.raises(TypeError, match="floating-point"):
        F.interpolate(minicnn.tensor(np.zeros((1, 1, 2, 2), dtype=np.int64)), size=2)
    with pytest.raises(ValueError, match="Upsample: mode must be one of"):
        nn.Upsample(scale_factor=2, mode="nearst")
    with pytest.raises(ValueError, match="Upsample: give exactly one"):
        nn.Upsample()
