"""Grouped convolution's fast path (``1 < groups < C``): the direct Numba forward kernel
(also the stride-1 input gradient) held to the im2col products of ``_conv_im2col`` (the
reference), that reference to the naive loops, and the whole path through ``conv2d`` to a
float64 gradient check.

Configurations are drawn grouped by construction: ``C = G * C/G`` with
``G >= 2`` and ``C/G >= 2``.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.ops import _conv_grouped, _conv_grouped_numba, _conv_im2col
from minicnn.testing import gradcheck
from tests.reference import conv as ref


def _out_size(size, kernel, stride, padding, dilation):
    return tuple((s + sum(p) - d * (k - 1) - 1) // st + 1
                 for s, k, st, p, d in zip(size, kernel, stride, padding, dilation))


@st.composite
def grouped_configs(draw, max_side=7, max_batch=3):
    groups, group_channels = draw(st.integers(2, 3)), draw(st.integers(2, 3))
    out_per_group = draw(st.integers(1, 3))  # odd counts: the kernel pairs the last with itself
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))  # taps not a multiple of 3 too
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # asymmetric padding, as padding='same' produces for an even kernel; larger than d(k-1)
    # makes the stride-1 input gradient crop (a negative padding)
    padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(2))
    size = []
    for axis in range(2):
        reach = dilation[axis] * (kernel[axis] - 1) + 1
        smallest = max(1, reach - sum(padding[axis]))
        size.append(draw(st.integers(smallest, smallest + max_side - 1)))
    # the input gradient may be asked for a taller/wider input (conv_transpose2d's output_padding)
    extra = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    return dict(n_batch=draw(st.integers(1, max_batch)), groups=groups,
                channels=groups * group_channels, out_channels=groups * out_per_group,
                kernel=kernel, stride=stride, dilation=dilation, padding=padding,
                size=tuple(size), extra=extra,
                dtype=draw(st.sampled_from([np.float32, np.float64])))


def _arrays(cfg, seed):
    rng = np.random.default_rng(seed)
    dtype, groups = cfg["dtype"], cfg["groups"]
    out_size = _out_size(cfg["size"], cfg["kernel"], cfg["stride"], cfg["padding"],
                         cfg["dilation"])
    x = rng.standard_normal((cfg["n_batch"], cfg["channels"]) + cfg["size"]).astype(dtype)
    w = rng.standard_normal((cfg["out_channels"], cfg["channels"] // groups)
                            + cfg["kernel"]).astype(dtype)
    b = rng.standard_normal(cfg["out_channels"]).astype(dtype)
    grad_out = rng.standard_normal((cfg["n_batch"], cfg["out_channels"]) + out_size).astype(dtype)
    return x, w, b, grad_out, out_size


def _tolerance(dtype):
    # float32: both sides sum at most C/G*kH*kW (forward), Co/G*kH*kW (input gradient) or
    # N*Ho*Wo (weight gradient) terms of O(1), here <= 81, in different orders: a few
    # hundred eps32 ~ 1e-5 absolute; float64: the same sums to ~1e-15.
    return dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@given(grouped_configs(), st.integers(0, 2**16))
def test_grouped_fast_paths_match_the_batched_reference(cfg, seed):
    x, w, b, grad_out, out_size = _arrays(cfg, seed)
    geometry = (cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"])
    tol = _tolerance(cfg["dtype"])

    for bias in (None, b):
        expected = _conv_im2col.conv_forward(x, w, bias, *geometry, out_size)
        np.testing.assert_allclose(  # the reference itself, against the sum as written
            expected, ref.conv2d(x, w, bias, cfg["stride"], cfg["padding"], cfg["dilation"],
                                 cfg["groups"]), **tol)
        ours = _conv_grouped_numba.forward(x, w, bias, *geometry, out_size)
        assert ours.dtype == cfg["dtype"]
        np.testing.assert_allclose(ours, expected, **tol)

    # stride 1: the kernel on the flipped weight, unless the padding crops
    in_size = tuple(s + e for s, e in zip(cfg["size"], cfg["extra"]))
    ours = _conv_grouped.conv_grad_input(grad_out, w, in_size, *geometry)
    expected = _conv_im2col.conv_grad_input(grad_out, w, in_size, *geometry)
    assert ours.dtype == cfg["dtype"] and ours.shape == x.shape[:2] + in_size
    np.testing.assert_allclose(ours, expected, **tol)


@pytest.mark.parametrize("size,stride,padding,dilation", [
    ((9, 12), (2, 2), ((1, 1), (1, 1)), (1, 1)),  # stride 2, even width: the split staging
    ((9, 11), (2, 2), ((0, 1), (1, 2)), (1, 1)),  # stride 2, odd width: the strided staging
    ((10, 13), (3, 1), ((2, 0), (0, 3)), (2, 3)),  # stride 3, dilation, asymmetric padding
    ((7, 8), (1, 1), ((1, 1), (2, 2)), (1, 2)),  # stride 1: the input gradient is the kernel
])
def test_grouped_kernel_matches_the_reference_on_fixed_geometries(size, stride, padding,
                                                                  dilation):
    """5 output channels per group (the last pairs with itself), float32 against the
    float64 reference."""
    cfg = dict(n_batch=3, groups=3, channels=12, out_channels=15, kernel=(3, 3), stride=stride,
               dilation=dilation, padding=padding, size=size, dtype=np.float32)
    x, w, b, grad_out, out_size = _arrays(cfg, 7)
    wide = [a.astype(np.float64) for a in (x, w, b, grad_out)]
    geometry = (stride, padding, dilation, 3)
    tol = _tolerance(np.float32)
    np.testing.assert_allclose(_conv_grouped_numba.forward(x, w, b, *geometry, out_size),
                               _conv_im2col.conv_forward(*wide[:3], *geometry, out_size), **tol)
    np.testing.assert_allclose(_conv_grouped.conv_grad_input(grad_out, w, size, *geometry),
                               _conv_im2col.conv_grad_input(wide[3], wide[1], size, *geometry),
                               **tol)


@settings(max_examples=8)
@given(grouped_configs(max_side=3, max_batch=2), st.integers(0, 2**16))
def test_grouped_conv2d_gradcheck(cfg, seed):
    x, w, b, _, _ = _arrays(dict(cfg, dtype=np.float64), seed)
    (top, bottom), (left, right) = cfg["padding"]
    inputs = [minicnn.tensor(a, requires_grad=True) for a in (x, w, b)]
    # conv2d pads symmetrically: the larger of each pair
    kwargs = dict(stride=cfg["stride"], padding=(max(top, bottom), max(left, right)),
                  dilation=cfg["dilation"], groups=cfg["groups"])
    gradcheck(lambda *t: F.conv2d(*t, **kwargs), inputs, seed=seed)


def test_conv2d_dispatches_grouped_convolutions_to_the_fast_path(monkeypatch):
    calls = []
    forward = _conv_grouped_numba.forward
    monkeypatch.setattr(_conv_grouped_numba, "forward",
                        lambda *args: calls.append(args[-2]) or forward(*args))
    x = minicnn.randn(2, 4, 5, 5, requires_grad=True)
    w = minicnn.randn(6, 2, 3, 3, requires_grad=True)
    F.conv2d(x, w, padding=1, groups=2).sum().backward()  # forward, then the input gradient
    F.conv2d(x, minicnn.randn(4, 1, 3, 3), padding=1, groups=4)  # depthwise: not this path
    F.conv2d(x, minicnn.randn(3, 4, 3, 3), padding=1)  # dense: not this path
    wide_groups = _conv_grouped._KERNEL_MAX_GROUP_CHANNELS + 1  # the products serve these
    F.conv2d(minicnn.randn(1, 2 * wide_groups, 5, 5), minicnn.randn(4, wide_groups, 3, 3),
             groups=2)
    assert calls == [2, 2]
