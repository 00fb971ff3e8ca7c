"""conv_transpose2d: against the scatter-form loops of tests/reference/conv.py
(cropping by padding, extending by output_padding), a float64 gradient check,
PyTorch in float32, and bad input.

output_padding is drawn below max(stride, dilation) per axis (PyTorch's rule),
the padding small enough that the output keeps at least one pixel.
"""
import numpy as np
import pytest
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.testing import compare_with_torch, gradcheck
from tests.reference import conv as ref

EPS32 = float(np.finfo(np.float32).eps)


@st.composite
def transpose_configs(draw, max_channels=3, max_side=4, max_batch=2):
    """A valid conv_transpose2d call: shapes of x, w, b and the keyword arguments."""
    groups = draw(st.integers(1, 3))
    in_channels = groups * draw(st.integers(1, max_channels))
    out_per_group = draw(st.integers(1, max_channels))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size, padding = [], []
    for axis in range(2):
        side = draw(st.integers(1, max_side))
        # (side-1)*s - 2p + d(k-1) + op + 1 >= 1
        reach = ((side - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1)
                 + output_padding[axis])
        size.append(side)
        padding.append(draw(st.integers(0, min(2, reach // 2))))
    x_shape = (draw(st.integers(1, max_batch)), in_channels) + tuple(size)
    w_shape = (in_channels, out_per_group) + kernel
    kwargs = dict(stride=stride, padding=tuple(padding), output_padding=output_padding,
                  groups=groups, dilation=dilation)
    return x_shape, w_shape, draw(st.booleans()), kwargs


def _arrays(seed, x_shape, w_shape, with_bias, groups, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[1] * groups).astype(dtype) if with_bias else None
    return x, w, b


@given(transpose_configs(), st.integers(0, 2**16))
def test_conv_transpose2d_matches_reference(config, seed):
    x_shape, w_shape, with_bias, kwargs = config
    x, w, b = _arrays(seed, x_shape, w_shape, with_bias, kwargs["groups"])
    out = F.conv_transpose2d(minicnn.tensor(x), minicnn.tensor(w),
                             None if b is None else minicnn.tensor(b), **kwargs)
    expected = ref.conv_transpose2d(x, w, b, **kwargs)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_conv_transpose2d_output_size_formula():
    # H_out = (H - 1)*s - 2p + d(k-1) + output_padding + 1
    out = F.conv_transpose2d(minicnn.zeros((1, 2, 5, 4)), minicnn.zeros((2, 3, 3, 2)),
                             stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                             dilation=(1, 2))
    assert out.shape == (1, 3, 4 * 2 - 2 + 2 + 1 + 1, 3 * 3 - 0 + 2 + 2 + 1)


def test_conv_transpose2d_unbatched_input_like_pytorch():
    import torch

    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((4, 3, 3)), rng.standard_normal((4, 2, 3, 3))
    out = F.conv_transpose2d(minicnn.tensor(x), minicnn.tensor(w), stride=2, output_padding=1)
    theirs = TF.conv_transpose2d(torch.tensor(x), torch.tensor(w), stride=2,
                                 output_padding=1).numpy()
    assert out.shape == theirs.shape == (2, 8, 8)
    np.testing.assert_allclose(out.numpy(), theirs, rtol=1e-12, atol=1e-12)


@settings(max_examples=8)
@given(transpose_configs(max_channels=2, max_side=3), st.integers(0, 2**16))
def test_conv_transpose2d_gradcheck(config, seed):
    x_shape, w_shape, with_bias, kwargs = config
    x, w, b = _arrays(seed, x_shape, w_shape, with_bias, kwargs["groups"])
    inputs = [minicnn.tensor(x, requires_grad=True), minicnn.tensor(w, requires_grad=True)]
    if b is not None:
        inputs.append(minicnn.tensor(b, requires_grad=True))
    gradcheck(lambda *t: F.conv_transpose2d(*t, **kwargs), inputs, seed=seed)


@given(transpose_configs(max_channels=4, max_side=6, max_batch=3), st.integers(0, 2**16))
def test_conv_transpose2d_matches_torch(config, seed):
    x_shape, w_shape, with_bias, kwargs = config
    x, w, b = _arrays(seed, x_shape, w_shape, with_bias, kwargs["groups"], np.float32)
    out_shape = ref.conv_transpose2d(x, w, None, **kwargs).shape
    # Each entry is a float32 sum of K products of O(1) values in another order than
    # PyTorch's: error about K * eps (sqrt(K) * eps * partial sums of size sqrt(K)).
    # K: output entries sum C/G*kH*kW terms at most, input-gradient entries Co/G*kH*kW,
    # weight-gradient entries N*H*W.
    k_h, k_w = w_shape[2:]
    k = max(x_shape[1] * k_h * k_w, out_shape[1] * k_h * k_w, x_shape[0] * x_shape[2] * x_shape[3])
    inputs = [x, w] + ([b] if b is not None else [])
    compare_with_torch(lambda *t: F.conv_transpose2d(*t, **kwargs),
                       lambda *t: TF.conv_transpose2d(*t, **kwargs),
                       inputs, seed=seed, atol=4 * k * EPS32, rtol=1e-5)


@pytest.mark.parametrize("groups,out_per_group", [(1, 6), (3, 2), (6, 1)])
def test_conv_transpose2d_matches_torch_on_a_layer_sized_case(groups, out_per_group):
    # stride 2 + output_padding, the decoder/upsampling use, big enough for several chunks;
    # (6, 1) is depthwise in conv2d's terms and runs the direct kernels.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6, 17, 15)).astype(np.float32)
    w = rng.standard_normal((6, out_per_group, 3, 3)).astype(np.float32)
    b = rng.standard_normal(out_per_group * groups).astype(np.float32)
    kwargs = dict(stride=2, padding=1, output_padding=1, groups=groups)
    k = max(6 * 9, 4 * 17 * 15)  # see test_conv_transpose2d_matches_torch
    compare_with_torch(lambda *t: F.conv_transpose2d(*t, **kwargs),
                       lambda *t: TF.conv_transpose2d(*t, **kwargs), [x, w, b],
                       atol=4 * k * EPS32, rtol=1e-5)


def _t(shape, dtype=np.float32):
    return minicnn.tensor(np.zeros(shape, dtype=dtype))


BAD_INPUTS = [
    ("rank", (_t((5, 5)), _t((2, 1, 3, 3))), {}, ValueError, "input"),
    ("weight rank", (_t((1, 2, 5, 5)), _t((2, 3, 3))), {}, ValueError, "weight"),
    ("channels", (_t((1, 3, 5, 5)), _t((2, 2, 3, 3))), {}, ValueError, "input channels"),
    ("groups C_in", (_t((1, 3, 5, 5)), _t((3, 1, 3, 3))), {"groups": 2}, ValueError, "groups"),
    ("stride", (_t((1, 2, 5, 5)), _t((2, 3, 3, 3))), {"stride": 0}, ValueError, "stride"),
    ("dilation", (_t((1, 2, 5, 5)), _t((2, 3, 3, 3))), {"dilation": -1}, ValueError,
     "dilation"),
    ("padding", (_t((1, 2, 5, 5)), _t((2, 3, 3, 3))), {"padding": (0, -1)}, ValueError,
     "padding"),
    ("padding string", (_t((1, 2, 5, 5)), _t((2, 3, 3, 3))), {"padding": "same"}, TypeError,
     "padding"),
    ("output_padding", (_t((1, 2, 5, 5)), _t((2, 3, 3, 3))),
     {"stride": 2, "output_padding": 2}, ValueError, "output_padding"),
    ("output_padding stride 1", (_t((1, 2, 5, 5)), _t((2, 3, 3, 3))), {"output_padding": 1},
     ValueError, "output_padding"),
    ("output too small", (_t((1, 2, 1, 1)), _t((2, 3, 1, 1))), {"padding": 1}, ValueError,
     "padding"),
    ("int input", (_t((1, 2, 5, 5), np.int32), _t((2, 3, 3, 3))), {}, TypeError, "input"),
    ("dtype mix", (_t((1, 2, 5, 5), np.float64), _t((2, 3, 3, 3))), {}, TypeError, "weight"),
    ("bias shape", (_t((1, 2, 5, 5)), _t((2, 3, 3, 3)), _t((2,))), {}, ValueError, "bias"),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_conv_transpose2d_rejects_bad_input(case):
    _, args, kwargs, exception, fragment = case
    with pytest.raises(exception, match=fragment):
        F.conv_transpose2d(*args, **kwargs)
