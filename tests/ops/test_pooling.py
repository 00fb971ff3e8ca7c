"""max_pool2d, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d.

Each is checked against the naive loops in tests/reference/pooling.py (over
drawn kernels, strides, paddings, dilations and ceil_mode), by a float64
gradient check, and against PyTorch in float32.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.testing import compare_with_torch, gradcheck
from tests.reference import pooling as ref


# ---------------------------------------------------------------- strategies
@st.composite
def window_configs(draw, dilated=True, input_in_every_window=False):
    """A valid sliding-window configuration and an input shape it fits (3-D or 4-D).

    A dilated window can straddle a small input and hold padding only
    (``n = 1, k = 2, d = 2, p = 1``); ``input_in_every_window`` rules that out
    by ``n >= d``: a window's positions, ``d`` apart, start before ``n`` and end
    at or after 0, so one lands in ``[0, n)``.
    """
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilated else (1, 1)
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)  # PyTorch: p <= k // 2
    size = []
    for k, d, p in zip(kernel, dilation, padding):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)  # the padded input holds one window
        if input_in_every_window:
            smallest = max(smallest, d)
        size.append(draw(st.integers(smallest, smallest + 6)))
    lead = draw(st.sampled_from([(1, 1), (2, 3), (3,)]))  # (N, C) or (C,) for 3-D input
    return dict(shape=lead + tuple(size), kernel_size=kernel, stride=stride, padding=padding,
                dilation=dilation, ceil_mode=draw(st.booleans()))


def _distinct(shape, seed, scale=0.1):
    """Distinct values (a scaled permutation): no ties, so max pooling's gradient is defined
    and a 1e-6 finite-difference step never changes which element is the maximum."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) - np.prod(shape) / 2) * scale


def _with_ties(shape, seed):
    """Values from {-1, 0, 1, 2}: windows full of ties, to pin down PyTorch's tie rule."""
    return np.random.default_rng(seed).integers(-1, 3, size=shape).astype(np.float64)


def _as4d(x):
    return x if x.ndim == 4 else x[None]


def _max_kwargs(cfg):
    return {k: cfg[k] for k in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")}


def _avg_kwargs(cfg, count_include_pad, divisor_override):
    kw = {k: cfg[k] for k in ("kernel_size", "stride", "padding", "ceil_mode")}
    return dict(kw, count_include_pad=count_include_pad, divisor_override=divisor_override)


# PyTorch parity tolerances (float32). Max pooling selects elements, so the output
# is exact; a gradient entry is a sum of up to k_h*k_w upstream values (overlapping
# windows) whose order may differ: a few ulps of O(1) values -> atol 1e-6.
# Averages sum <= 16 O(1) terms in another order than PyTorch and divide:
# ~16 * 6e-8 ~ 1e-6 absolute.
MAX_TOL = dict(atol=1e-6, rtol=1e-6)
AVG_TOL = dict(atol=2e-6, rtol=1e-5)


# ------------------------------------------------------------------ max_pool2d
@given(window_configs(), st.integers(0, 2**16), st.booleans())
def test_max_pool2d_matches_reference(cfg, seed, ties):
    x = (_with_ties if ties else _distinct)(cfg["shape"], seed)
    out, indices = F.max_pool2d(minicnn.tensor(x), return_indices=True, **_max_kwargs(cfg))
    expected, expected_indices = ref.max_pool2d(_as4d(x), **_max_kwargs(cfg))
    np.testing.assert_array_equal(_as4d(out.numpy()), expected)
    np.testing.assert_array_equal(_as4d(indices.numpy()), expected_indices)
    assert indices.dtype == np.int64


@given(window_configs(), st.integers(0, 2**16))
def test_max_pool2d_gradcheck(cfg, seed):
    x = minicnn.tensor(_distinct(cfg["shape"], seed), requires_grad=True)

    def fn(t):
        out = F.max_pool2d(t, **_max_kwargs(cfg))
        # A dilated window can hold padding only: its output is -inf (no gradient),
        # which would make the checked sum <g, y> infinite. Zero those outputs.
        return F.where(minicnn.tensor(np.isfinite(out.numpy())), out, 0.0)

    gradcheck(fn, [x])


@given(window_configs(), st.integers(0, 2**16))
def test_max_pool2d_gradient_with_ties_matches_reference(cfg, seed):
    """With ties the gradient goes to the first maximum, the position returned as index."""
    x = minicnn.tensor(_with_ties(cfg["shape"], seed), requires_grad=True)
    out = F.max_pool2d(x, **_max_kwargs(cfg))
    grad_out = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(grad_out)
    expected = ref.max_pool2d_grad(_as4d(x.numpy()), _as4d(grad_out), **_max_kwargs(cfg))
    np.testing.assert_allclose(_as4d(x.grad), expected, rtol=0, atol=1e-12)


# PyTorch's backward adds the gradient of a padding-only window at an index
# outside it, or outside the plane (memory it does not own): such windows are
# left out of the parity test (see MaxPool2d; the reference test covers them).
@given(window_configs(input_in_every_window=True), st.integers(0, 2**16), st.booleans())
def test_max_pool2d_matches_torch(cfg, seed, ties):
    x = (_with_ties if ties else _distinct)(cfg["shape"], seed).astype(np.float32)
    kw = _max_kwargs(cfg)
    compare_with_torch(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), [x],
                       **MAX_TOL)
    _, indices = F.max_pool2d(minicnn.tensor(x), return_indices=True, **kw)
    _, torch_indices = TF.max_pool2d(torch.from_numpy(x), return_indices=True, **kw)
    np.testing.assert_array_equal(indices.numpy(), torch_indices.numpy())


@pytest.mark.parametrize("special", ["nan", "-inf"])
def test_max_pool2d_nan_and_all_minus_inf_windows_follow_torch(special):
    """NaN wins (the last one in the window); an all -inf window points at its first
    in-input position, never at the padding."""
    x = _with_ties((2, 2, 7, 6), 0).astype(np.float32)
    rng = np.random.default_rng(1)
    x[rng.random(x.shape) < 0.3] = float(special)
    x[0, 0, :3, :3] = float(special)  # a whole corner window, next to the padding
    for kw in [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
               dict(kernel_size=(2, 3), stride=1, padding=(1, 1), dilation=(2, 1))]:
        out, indices = F.max_pool2d(minicnn.tensor(x), return_indices=True, **kw)
        expected, expected_indices = TF.max_pool2d(torch.from_numpy(x), return_indices=True,
                                                   **kw)
        np.testing.assert_array_equal(out.numpy(), expected.numpy())
        np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
        ref_out, ref_indices = ref.max_pool2d(x.astype(np.float64), **kw)
        np.testing.assert_array_equal(out.numpy(), ref_out)  # NaN == NaN here
        np.testing.assert_array_equal(indices.numpy(), ref_indices)


def test_max_pool2d_argument_forms():
    """Ints and pairs, stride None (and PyTorch's empty list) meaning kernel_size, 3-D input."""
    x = _distinct((2, 3, 9, 8), 0)
    base = F.max_pool2d(minicnn.tensor(x), (3, 3), (3, 3)).numpy()
    for call in (lambda t: F.max_pool2d(t, 3), lambda t: F.max_pool2d(t, [3, 3], stride=[]),
                 lambda t: F.max_pool2d(t, 3, None, 0, 1, False)):
        np.testing.assert_array_equal(call(minicnn.tensor(x)).numpy(), base)
    np.testing.assert_array_equal(F.max_pool2d(minicnn.tensor(x[1]), 3).numpy(), base[1])


def test_max_pool2d_empty_batch_and_float32():
    out = F.max_pool2d(minicnn.zeros(0, 2, 6, 6), 2)
    assert out.shape == (0, 2, 3, 3)
    x = minicnn.tensor(_distinct((1, 2, 6, 6), 0).astype(np.float32))
    assert F.max_pool2d(x, 2).dtype == np.float32


# ------------------------------------------------------------------ avg_pool2d
@given(window_configs(dilated=False), st.integers(0, 2**16), st.booleans(),
       st.sampled_from([None, 1, 3, -2]))
def test_avg_pool2d_matches_reference(cfg, seed, count_include_pad, divisor_override):
    x = np.random.default_rng(seed).standard_normal(cfg["shape"])
    kw = _avg_kwargs(cfg, count_include_pad, divisor_override)
    out = F.avg_pool2d(minicnn.tensor(x), **kw)
    np.testing.assert_allclose(_as4d(out.numpy()), ref.avg_pool2d(_as4d(x), **kw),
                               rtol=1e-12, atol=1e-12)


@given(window_configs(dilated=False), st.integers(0, 2**16), st.booleans(),
       st.sampled_from([None, 3]))
def test_avg_pool2d_gradcheck(cfg, seed, count_include_pad, divisor_override):
    x = minicnn.tensor(np.random.default_rng(seed).standard_normal(cfg["shape"]),
                       requires_grad=True)
    kw = _avg_kwargs(cfg, count_include_pad, divisor_override)
    gradcheck(lambda t: F.avg_pool2d(t, **kw), [x])


@given(window_configs(dilated=False), st.integers(0, 2**16), st.booleans(),
       st.sampled_from([None, 5]))
def test_avg_pool2d_matches_torch(cfg, seed, count_include_pad, divisor_override):
    x = np.random.default_rng(seed).standard_normal(cfg["shape"]).astype(np.float32)
    kw = _avg_kwargs(cfg, count_include_pad, divisor_override)
    compare_with_torch(lambda t: F.avg_pool2d(t, **kw), lambda t: TF.avg_pool2d(t, **kw), [x],
                       **AVG_TOL)


def test_avg_pool2d_ceil_mode_divisor_excludes_the_overhang():
    """4x4 ones, kernel 3, stride 2, padding 1, ceil_mode: 3 windows per axis, covering
    rows [-1, 2), [1, 4) and [3, 6) -> clipped to the padded input [-1, 5): [3, 5).
    Per axis, rows inside the input: 2, 3, 1; rows counted (padding yes, overhang no):
    3, 3, 2. With count_include_pad each output is the product of the per-axis
    ratios (2/3, 1, 1/2); without it, every window of ones averages to 1."""
    ones = minicnn.ones(1, 1, 4, 4, dtype=minicnn.float64)
    ratio = np.array([2 / 3, 1.0, 1 / 2])
    out = F.avg_pool2d(ones, 3, 2, 1, ceil_mode=True)
    np.testing.assert_allclose(out.numpy()[0, 0], ratio[:, None] * ratio[None, :], atol=1e-15)
    out = F.avg_pool2d(ones, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(out.numpy()[0, 0], np.ones((3, 3)), atol=1e-15)


# ------------------------------------------------------------------ adaptive pools
@st.composite
def adaptive_configs(draw):
    lead = draw(st.sampled_from([(1, 1), (2, 2), (3,)]))
    size = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    out = tuple(draw(st.one_of(st.integers(1, 11), st.none())) for _ in size)  # > size allowed
    as_int = out[0] is not None and draw(st.booleans())
    return lead + size, (out[0] if as_int else out)


def _resolved(output_size, shape):
    pair = output_size if isinstance(output_size, tuple) else (output_size, output_size)
    return tuple(shape[-2 + i] if s is None else s for i, s in enumerate(pair))


@given(adaptive_configs(), st.integers(0, 2**16), st.booleans())
def test_adaptive_pools_match_reference(cfg, seed, ties):
    shape, output_size = cfg
    x = (_with_ties if ties else _distinct)(shape, seed)
    size = _resolved(output_size, shape)
    avg = F.adaptive_avg_pool2d(minicnn.tensor(x), output_size)
    np.testing.assert_allclose(_as4d(avg.numpy()), ref.adaptive_avg_pool2d(_as4d(x), size),
                               rtol=1e-12, atol=1e-12)
    out, indices = F.adaptive_max_pool2d(minicnn.tensor(x), output_size, return_indices=True)
    expected, expected_indices = ref.adaptive_max_pool2d(_as4d(x), size)
    np.testing.assert_array_equal(_as4d(out.numpy()), expected)
    np.testing.assert_array_equal(_as4d(indices.numpy()), expected_indices)


@given(adaptive_configs(), st.integers(0, 2**16))
def test_adaptive_pools_gradcheck(cfg, seed):
    shape, output_size = cfg
    x = minicnn.tensor(_distinct(shape, seed), requires_grad=True)
    gradcheck(lambda t: F.adaptive_avg_pool2d(t, output_size), [x])
    gradcheck(lambda t: F.adaptive_max_pool2d(t, output_size), [x])


@given(adaptive_configs(), st.integers(0, 2**16), st.booleans())
def test_adaptive_pools_match_torch(cfg, seed, ties):
    shape, output_size = cfg
    x = (_with_ties if ties else _distinct)(shape, seed).astype(np.float32)
    # The average is two float32 matrix products (weights 1/|bin|) against PyTorch's
    # sum-then-divide: a few ulps of values up to ~|x| = 4 -> atol 2e-6.
    compare_with_torch(lambda t: F.adaptive_avg_pool2d(t, output_size),
                       lambda t: TF.adaptive_avg_pool2d(t, output_size), [x], **AVG_TOL)
    compare_with_torch(lambda t: F.adaptive_max_pool2d(t, output_size),
                       lambda t: TF.adaptive_max_pool2d(t, output_size), [x], **MAX_TOL)
    _, indices = F.adaptive_max_pool2d(minicnn.tensor(x), output_size, return_indices=True)
    _, expected = TF.adaptive_max_pool2d(torch.from_numpy(x), output_size, return_indices=True)
    np.testing.assert_array_equal(indices.numpy(), expected.numpy())


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (3, 4, 6), (1, 2, 1, 1)])
@pytest.mark.parametrize("output_size", [1, (1, 1)])
def test_global_average_pool_matches_the_bin_matrices_and_torch(shape, output_size):
    """Output 1x1 is computed as a plane mean and g / (H W), not the two bin products:
    the same numbers as the general formula (float64), and PyTorch's (float32)."""
    x = _distinct(shape, 5)
    t = minicnn.tensor(x, requires_grad=True)
    y = F.adaptive_avg_pool2d(t, output_size)
    np.testing.assert_allclose(_as4d(y.numpy()), ref.adaptive_avg_pool2d(_as4d(x), (1, 1)),
                               rtol=1e-13, atol=1e-13)
    gradcheck(lambda a: F.adaptive_avg_pool2d(a, output_size), [t])
    compare_with_torch(lambda a: F.adaptive_avg_pool2d(a, output_size),
                       lambda a: TF.adaptive_avg_pool2d(a, output_size),
                       [x.astype(np.float32)], **AVG_TOL)


def test_adaptive_max_pool2d_nan_follows_torch():
    x = _with_ties((2, 3, 7, 5), 3).astype(np.float32)
    x[np.random.default_rng(4).random(x.shape) < 0.2] = np.nan
    for size in [(3, 2), 1, (9, 6)]:
        out, indices = F.adaptive_max_pool2d(minicnn.tensor(x), size, return_indices=True)
        expected, expected_indices = TF.adaptive_max_pool2d(torch.from_numpy(x), size,
                                                            return_indices=True)
        np.testing.assert_array_equal(out.numpy(), expected.numpy())
        np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())


def test_adaptive_global_pooling_is_the_mean_and_the_max():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 7))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(minicnn.tensor(x), 1).numpy(),
                               x.mean(axis=(2, 3), keepdims=True), rtol=1e-13)
    np.testing.assert_array_equal(F.adaptive_max_pool2d(minicnn.tensor(x), (1, 1)).numpy(),
                                  x.max(axis=(2, 3), keepdims=True))


def test_adaptive_zero_output_size_is_empty_as_in_torch():
    x = minicnn.randn(1, 2, 5, 5)
    assert F.adaptive_avg_pool2d(x, (0, 2)).shape == (1, 2, 0, 2)
    out, indices = F.adaptive_max_pool2d(x, (0, 2), return_indices=True)
    assert out.shape == indices.shape == (1, 2, 0, 2)


# ------------------------------------------------------------------ bad input
def _x(*shape, dtype=np.float32):
    return minicnn.tensor(np.zeros(shape, dtype=dtype))


@pytest.mark.parametrize("op", [F.max_pool2d, F.avg_pool2d])
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(kernel_size=3, padding=2), ValueError, "padding"),
    (dict(kernel_size=(2, 4), padding=(1, 3)), ValueError, "padding"),
    (dict(kernel_size=3, padding=-1), ValueError, "padding"),
    (dict(kernel_size=0), ValueError, "kernel_size"),
    (dict(kernel_size=9), ValueError, "kernel_size"),
    (dict(kernel_size=2, stride=0), ValueError, "stride"),
    (dict(kernel_size=2.5), TypeError, "kernel_size"),
    (dict(kernel_size=(2, 2, 2)), TypeError, "kernel_size"),
    (dict(kernel_size=2, ceil_mode=1), TypeError, "ceil_mode"),
])
def test_pool_bad_arguments(op, kwargs, error, match):
    with pytest.raises(error, match=match):
        op(_x(1, 2, 6, 6), **kwargs)


def test_max_pool2d_bad_dilation_and_kernel_larger_than_dilated_input():
    with pytest.raises(ValueError, match="dilation"):
        F.max_pool2d(_x(1, 1, 6, 6), 2, dilation=0)
    with pytest.raises(ValueError, match="kernel_size"):  # span 2*(3-1)+1 = 5 > 4
        F.max_pool2d(_x(1, 1, 4, 4), 3, dilation=2)
    with pytest.raises(TypeError, match="return_indices"):
        F.max_pool2d(_x(1, 1, 4, 4), 2, return_indices="yes")


def test_avg_pool2d_bad_divisor_override():
    with pytest.raises(ValueError, match="divisor_override"):
        F.avg_pool2d(_x(1, 1, 4, 4), 2, divisor_override=0)
    with pytest.raises(TypeError, match="divisor_override"):
        F.avg_pool2d(_x(1, 1, 4, 4), 2, divisor_override=2.5)


@pytest.mark.parametrize("op", [
    lambda t: F.max_pool2d(t, 2), lambda t: F.avg_pool2d(t, 2),
    lambda t: F.adaptive_avg_pool2d(t, 2), lambda t: F.adaptive_max_pool2d(t, 2)])
def test_pool_bad_input(op):
    with pytest.raises(ValueError, match="input"):
        op(_x(4, 4))  # 2-D
    with pytest.raises(ValueError, match="input"):
        op(_x(1, 1, 1, 4, 4))  # 5-D
    with pytest.raises(ValueError, match="input"):
        op(_x(2, 0, 4, 4))  # no channels
    with pytest.raises(TypeError, match="input"):
        op(minicnn.tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)))
    with pytest.raises(TypeError, match="input"):
        op(np.zeros((1, 1, 4, 4)))


@pytest.mark.parametrize("op", [F.adaptive_avg_pool2d, F.adaptive_max_pool2d])
def test_adaptive_bad_output_size(op):
    with pytest.raises(ValueError, match="output_size"):
        op(_x(1, 1, 4, 4), (-1, 2))
    with pytest.raises(ValueError, match="output_size"):
        op(_x(1, 1, 4, 4), (1, 2, 3))
    with pytest.raises(TypeError, match="output_size"):
        op(_x(1, 1, 4, 4), 2.0)
