"""The NumPy twins in tests/reference/kernels.py agree with PyTorch (float64, CPU).

The CUDA kernels are tested against these twins (under the simulator in
CI, on a real GPU where there is one), so the twins themselves must be
right: each is compared here with PyTorch's operator and its autograd
gradients. Everything is float64 and the twins are exact formulas, so the
tolerance is 1e-10 (summation order only).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from tests.kernels.cases import POOL_CASES, POOL_INPUT_KINDS, pool_input, pool_out_size
from tests.reference import kernels as ref

TOL = dict(rtol=1e-10, atol=1e-10)


def _rng(seed):
    return np.random.default_rng(seed)


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


# (N, C, H, W), kernel, stride, padding, dilation: strides, paddings, dilations, non-square
CONV_CASES = [
    ((2, 2, 5, 6), (3, 2), (2, 1), (1, 0), (1, 2)),
    ((1, 3, 7, 5), (3, 3), (1, 1), (1, 1), (1, 1)),
    ((2, 2, 9, 9), (5, 5), (2, 2), (2, 2), (1, 1)),
    ((1, 2, 6, 7), (3, 3), (1, 2), (2, 2), (2, 2)),
]


def _out_size(shape, kernel, stride, padding, dilation):
    return tuple(ref.output_size(shape[2 + a], kernel[a], stride[a], padding[a], dilation[a])
                 for a in range(2))


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", CONV_CASES)
def test_im2col_col2im_match_unfold_fold(shape, kernel, stride, padding, dilation):
    x = _rng(0).standard_normal(shape)
    out_size = _out_size(shape, kernel, stride, padding, dilation)
    cols = ref.im2col(x, kernel, stride, padding, dilation, out_size)
    expected = TF.unfold(_t(x), kernel, dilation=dilation, padding=padding, stride=stride)
    np.testing.assert_allclose(cols, expected.numpy(), **TOL)
    g = _rng(1).standard_normal(cols.shape)
    back = ref.col2im(g, shape, kernel, stride, padding, dilation, out_size)
    expected = TF.fold(_t(g), shape[2:], kernel, dilation=dilation, padding=padding, stride=stride)
    np.testing.assert_allclose(back, expected.numpy(), **TOL)


@pytest.mark.parametrize("multiplier", [1, 2])
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", CONV_CASES)
def test_depthwise_matches_torch(shape, kernel, stride, padding, dilation, multiplier):
    rng = _rng(2)
    channels = shape[1]
    x = rng.standard_normal(shape)
    w = rng.standard_normal((channels * multiplier, 1) + kernel)
    out_size = _out_size(shape, kernel, stride, padding, dilation)
    xt, wt = _t(x, True), _t(w, True)
    y = TF.conv2d(xt, wt, stride=stride, padding=padding, dilation=dilation, groups=channels)
    g = rng.standard_normal(tuple(y.shape))
    y.backward(_t(g))
    np.testing.assert_allclose(ref.depthwise_forward(x, w, stride, padding, dilation, out_size),
                               y.detach().numpy(), **TOL)
    np.testing.assert_allclose(ref.depthwise_grad_input(g, w, shape, stride, padding, dilation),
                               xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(ref.depthwise_grad_weight(x, g, w.shape, stride, padding, dilation),
                               wt.grad.numpy(), **TOL)


@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 4), 2), ((2, 6, 3, 4), 3), ((1, 12, 5), 4)])
def test_channel_shuffle_matches_torch(shape, groups):
    x = _rng(3).standard_normal(shape)
    expected = torch.nn.ChannelShuffle(groups)(_t(x)).numpy()
    np.testing.assert_array_equal(ref.channel_shuffle(x, groups), expected)
    # The inverse is the shuffle with C / groups groups.
    np.testing.assert_array_equal(ref.channel_shuffle(expected, shape[1] // groups), x)


@pytest.mark.parametrize("shape", [(3, 4, 5, 7), (6, 3), (2, 5, 9)])
def test_batchnorm_matches_torch(shape):
    rng = _rng(4)
    channels = shape[1]
    x = rng.standard_normal(shape) * 3 + 2
    w, b = rng.standard_normal(channels), rng.standard_normal(channels)
    eps = 1e-3
    mean, var, inv_std = ref.batchnorm_stats(x, eps)
    axes = (0,) + tuple(range(2, len(shape)))
    torch_var, torch_mean = torch.var_mean(_t(x), dim=axes, unbiased=False)
    np.testing.assert_allclose(mean, torch_mean.numpy(), **TOL)
    np.testing.assert_allclose(var, torch_var.numpy(), **TOL)
    xt, wt, bt = _t(x, True), _t(w, True), _t(b, True)
    y = TF.batch_norm(xt, None, None, wt, bt, training=True, eps=eps)
    g = rng.standard_normal(shape)
    y.backward(_t(g))
    np.testing.assert_allclose(ref.batchnorm_forward(x, mean, inv_std, w, b), y.detach().numpy(),
                               **TOL)
    grad_in, grad_w, grad_b = ref.batchnorm_backward(g, x, mean, inv_std, w)
    np.testing.assert_allclose(grad_in, xt.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(grad_w, wt.grad.numpy(), **TOL)
    np.testing.assert_allclose(grad_b, bt.grad.numpy(), **TOL)


def _activation_inputs():
    # The kinks exactly, points beside them, saturated regions, random values.
    special = np.array([-3.0, 3.0, -3.0 - 1e-9, -3.0 + 1e-9, 3.0 - 1e-9, 3.0 + 1e-9, 0.0,
                        -50.0, 50.0])
    return np.concatenate([special, _rng(5).uniform(-5, 5, 91)])


@pytest.mark.parametrize("name", ["hardswish", "hardsigmoid"])
def test_activations_match_torch(name):
    x = _activation_inputs()
    g = _rng(6).standard_normal(x.shape)
    xt = _t(x, True)
    y = getattr(TF, name)(xt)
    y.backward(_t(g))
    np.testing.assert_allclose(getattr(ref, name)(x), y.detach().numpy(), **TOL)
    # PyTorch's CPU hardsigmoid backward multiplies by 1.0f/6.0f, a float32
    # constant, even in float64: a relative difference of 3e-8.
    np.testing.assert_allclose(getattr(ref, name + "_grad")(x, g), xt.grad.numpy(), rtol=1e-7,
                               atol=1e-10)


def test_se_scale_matches_torch():
    rng = _rng(7)
    x, s = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3))
    xt, st = _t(x, True), _t(s, True)
    y = xt * st[:, :, None, None]
    g = rng.standard_normal(x.shape)
    y.backward(_t(g))
    np.testing.assert_allclose(ref.se_scale(x, s), y.detach().numpy(), **TOL)
    np.testing.assert_allclose(ref.se_scale(g, s), xt.grad.numpy(), **TOL)
    np.testing.assert_allclose(ref.se_grad_scale(g, x), st.grad.numpy(), **TOL)


@pytest.mark.parametrize("kind", POOL_INPUT_KINDS)
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, ceil_mode", POOL_CASES)
def test_maxpool_matches_torch(shape, kernel, stride, padding, dilation, ceil_mode, kind):
    rng = _rng(8)
    x = pool_input(shape, rng, kind)
    out_size = pool_out_size(shape, kernel, stride, padding, dilation, ceil_mode)
    xt = _t(x, True)
    y, idx = TF.max_pool2d(xt, kernel, stride, padding, dilation, ceil_mode=ceil_mode,
                           return_indices=True)
    assert tuple(y.shape[2:]) == out_size
    values, indices = ref.maxpool_forward(x, kernel, stride, padding, dilation, out_size)
    np.testing.assert_array_equal(values, y.detach().numpy())
    np.testing.assert_array_equal(indices, idx.numpy())
    g = rng.standard_normal(tuple(y.shape))
    y.backward(_t(g))
    np.testing.assert_allclose(ref.maxpool_backward(g, indices, shape), xt.grad.numpy(), **TOL)


def test_maxpool_all_padding_window_index():
    """A dilated window that holds padding only: PyTorch's index is its first row/col >= 0."""
    x = _rng(9).standard_normal((1, 1, 1, 4))
    # H = 1, kernel 2, dilation 2, padding 1: window rows -1 and 1, neither in [0, 1).
    y, idx = TF.max_pool2d(_t(x), (2, 1), 1, (1, 0), (2, 1), return_indices=True)
    assert np.isneginf(y.numpy()).all()
    values, indices = ref.maxpool_forward(x, (2, 1), 1, (1, 0), (2, 1), tuple(y.shape[2:]))
    np.testing.assert_array_equal(values, y.numpy())
    np.testing.assert_array_equal(indices, idx.numpy())
