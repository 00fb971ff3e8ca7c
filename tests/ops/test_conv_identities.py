"""Identities of convolution, as property tests.

* Depthwise conv (groups == C) computed by the direct kernels equals the
  general grouped im2col path with groups=C: forward and both gradients.
* conv_transpose2d is the adjoint of conv2d: <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>.
* The seed article's separable-convolution example: 1792 parameters for a
  regular 3x3 conv 3->64, 283 for depthwise 3x3 + pointwise 1x1.
"""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.ops import _conv_depthwise, _conv_im2col


@st.composite
def geometry(draw, max_side=6):
    """Kernel, stride, padding (asymmetric allowed), dilation and an input size that fits."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    size, out_size = [], []
    for axis in range(2):
        reach = dilation[axis] * (kernel[axis] - 1) + 1
        smallest = max(1, reach - sum(padding[axis]))
        side = draw(st.integers(smallest, smallest + max_side))
        size.append(side)
        out_size.append((side + sum(padding[axis]) - reach) // stride[axis] + 1)
    return kernel, stride, padding, dilation, tuple(size), tuple(out_size)


@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), geometry(),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**16))
def test_depthwise_kernels_equal_grouped_im2col(n_batch, channels, multiplier, geo, dtype, seed):
    kernel, stride, padding, dilation, size, out_size = geo
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_batch, channels) + size).astype(dtype)
    w = rng.standard_normal((channels * multiplier, 1) + kernel).astype(dtype)
    grad_out = rng.standard_normal((n_batch, channels * multiplier) + out_size).astype(dtype)
    args = (stride, padding, dilation)
    # float32: the two paths sum the same <= N*Ho*Wo products in different orders
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)

    b = rng.standard_normal(channels * multiplier).astype(dtype)
    direct = _conv_depthwise.forward(x, w, b, *args, out_size)
    grouped = _conv_im2col.conv_forward(x, w, b, *args, channels, out_size)
    np.testing.assert_allclose(direct, grouped, **tol)

    direct = _conv_depthwise.grad_input(grad_out, w, channels, size, *args)
    grouped = _conv_im2col.conv_grad_input(grad_out, w, size, *args, channels)
    np.testing.assert_allclose(direct, grouped, **tol)

    direct = _conv_depthwise.grad_weight(x, grad_out, w.shape, *args)
    grouped = _conv_im2col.conv_grad_weight(x, grad_out, w.shape, *args, channels)
    np.testing.assert_allclose(direct, grouped, **tol)


@st.composite
def adjoint_configs(draw):
    channels_per_group, out_per_group = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = []
    for k, d, p in zip(kernel, dilation, padding):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        size.append(draw(st.integers(smallest, smallest + 6)))
    x_shape = (draw(st.integers(1, 2)), groups * channels_per_group) + tuple(size)
    w_shape = (groups * out_per_group, channels_per_group) + kernel
    return x_shape, w_shape, dict(stride=stride, padding=padding, dilation=dilation,
                                  groups=groups)


@given(adjoint_configs(), st.integers(0, 2**16))
def test_conv_transpose2d_is_the_adjoint_of_conv2d(config, seed):
    x_shape, w_shape, kwargs = config
    rng = np.random.default_rng(seed)
    x = minicnn.tensor(rng.standard_normal(x_shape))
    w = minicnn.tensor(rng.standard_normal(w_shape))
    conv_x = F.conv2d(x, w, **kwargs)
    y = minicnn.tensor(rng.standard_normal(conv_x.shape))
    # conv2d maps size H to floor((H + 2p - d(k-1) - 1)/s) + 1; the transpose maps it back to
    # (Ho-1)s - 2p + d(k-1) + 1 + output_padding, so output_padding is what the floor dropped
    # (always < s).
    output_padding = tuple(
        (h + 2 * p - d * (k - 1) - 1) % s
        for h, p, d, k, s in zip(x_shape[2:], kwargs["padding"], kwargs["dilation"], w_shape[2:],
                                 kwargs["stride"]))
    transposed_y = F.conv_transpose2d(y, w, output_padding=output_padding, **kwargs)
    assert transposed_y.shape == x.shape
    left = float(np.sum(conv_x.numpy() * y.numpy()))
    right = float(np.sum(x.numpy() * transposed_y.numpy()))
    # both sides sum the same products x*w*y (a few hundred O(1) terms) in float64
    assert abs(left - right) <= 1e-10 * max(1.0, abs(left))


def test_separable_convolution_parameter_count():
    """The seed article: a regular 3x3 conv 3->64 with bias against depthwise 3x3 (no bias)
    followed by pointwise 1x1 3->64 with bias; counted from weights the convs accept."""
    c_in, c_out, k = 3, 64, 3
    x = minicnn.randn(2, c_in, 8, 8)
    regular_w, regular_b = minicnn.randn(c_out, c_in, k, k), minicnn.randn(c_out)
    depthwise_w = minicnn.randn(c_in, 1, k, k)
    pointwise_w, pointwise_b = minicnn.randn(c_out, c_in, 1, 1), minicnn.randn(c_out)

    regular = F.conv2d(x, regular_w, regular_b, padding=1)
    separable = F.conv2d(F.conv2d(x, depthwise_w, padding=1, groups=c_in), pointwise_w,
                         pointwise_b)
    assert regular.shape == separable.shape == (2, c_out, 8, 8)

    regular_params = regular_w.size + regular_b.size
    separable_params = depthwise_w.size + pointwise_w.size + pointwise_b.size
    assert regular_params == k * k * c_in * c_out + c_out == 1792
    assert separable_params == k * k * c_in + c_in * c_out + c_out == 27 + 192 + 64 == 283
