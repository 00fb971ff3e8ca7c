"""conv2d: against the naive loops of tests/reference/conv.py, a float64 gradient
check, PyTorch in float32, the Numba depthwise kernels against their NumPy
reference, and bad input.

Configurations are drawn valid by construction: the channel count first, the
groups as one of its divisors, the output channels as a multiple of the
groups, and the image at least as large as the dilated kernel minus the padding.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.ops import _conv_depthwise, _conv_depthwise_numba
from minicnn.testing import compare_with_torch, gradcheck
from tests.reference import conv as ref

EPS32 = float(np.finfo(np.float32).eps)


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def conv_configs(draw, max_channels=6, max_side=5, max_batch=2):
    """A valid conv2d call: shapes of x, w, b and the keyword arguments."""
    channels = draw(st.integers(1, max_channels))
    groups = draw(st.sampled_from(_divisors(channels)))
    out_channels = groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    kind = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    stride = (1, 1) if kind == "same" else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if kind == "int":
        padding = draw(st.integers(0, 2))
        pads = (padding, padding)
    elif kind == "pair":
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        pads = padding
    else:
        padding = kind
        pads = (0, 0)  # 'same' never needs a larger input than the kernel's reach
    size = []
    for k, d, p in zip(kernel, dilation, pads):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        size.append(draw(st.integers(smallest, smallest + max_side - 1)))
    n_batch = draw(st.integers(1, max_batch))
    x_shape = (n_batch, channels) + tuple(size)
    w_shape = (out_channels, channels // groups) + kernel
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return x_shape, w_shape, draw(st.booleans()), kwargs


def _arrays(seed, x_shape, w_shape, with_bias, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if with_bias else None
    return x, w, b


# ------------------------------------------------------------------ forward vs naive loops
@given(conv_configs(), st.integers(0, 2**16))
def test_conv2d_matches_reference(config, seed):
    x_shape, w_shape, with_bias, kwargs = config
    x, w, b = _arrays(seed, x_shape, w_shape, with_bias)
    out = F.conv2d(minicnn.tensor(x), minicnn.tensor(w),
                   None if b is None else minicnn.tensor(b), **kwargs)
    expected = ref.conv2d(x, w, b, **kwargs)
    assert out.shape == expected.shape
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_conv2d_output_size_formula():
    # H_out = floor((H + 2p - d(k-1) - 1) / s) + 1, per axis
    x = minicnn.zeros((1, 2, 11, 9))
    w = minicnn.zeros((3, 2, 3, 2))
    out = F.conv2d(x, w, stride=(2, 3), padding=(1, 2), dilation=(2, 1))
    assert out.shape == (1, 3, (11 + 2 - 2 * 2 - 1) // 2 + 1, (9 + 4 - 1 - 1) // 3 + 1)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on its own copy
def test_conv2d_same_padding_even_kernel_is_asymmetric_like_pytorch():
    # d(k-1) = 3 rows: 1 on top, 2 at the bottom; 1 column: 0 left, 1 right.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 4, 2))
    out = F.conv2d(minicnn.tensor(x), minicnn.tensor(w), padding="same")
    assert out.shape == (2, 4, 6, 5)
    expected = ref.conv2d(x, w, padding=((1, 2), (0, 1)))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    theirs = TF.conv2d(torch.tensor(x), torch.tensor(w), padding="same").numpy()
    np.testing.assert_allclose(out.numpy(), theirs, rtol=1e-12, atol=1e-12)


def test_conv2d_unbatched_input_like_pytorch():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 5, 5)), rng.standard_normal((2, 3, 3, 3))
    out = F.conv2d(minicnn.tensor(x), minicnn.tensor(w), padding=1)
    theirs = TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    assert out.shape == (2, 5, 5)
    np.testing.assert_allclose(out.numpy(), theirs, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ float64 gradient check
@settings(max_examples=8)
@given(conv_configs(max_channels=4, max_side=3), st.integers(0, 2**16))
def test_conv2d_gradcheck(config, seed):
    x_shape, w_shape, with_bias, kwargs = config
    x, w, b = _arrays(seed, x_shape, w_shape, with_bias)
    inputs = [minicnn.tensor(x, requires_grad=True), minicnn.tensor(w, requires_grad=True)]
    if b is not None:
        inputs.append(minicnn.tensor(b, requires_grad=True))
    gradcheck(lambda *t: F.conv2d(*t, **kwargs), inputs, seed=seed)


# ------------------------------------------------------------------ PyTorch parity, float32
def _float32_tolerance(x_shape, w_shape, out_shape):
    """Each output or gradient entry is a float32 sum of K products of O(1) values, in
    another order than PyTorch's. Rounding grows like sqrt(K) * eps * |partial sums|,
    and the partial sums grow like sqrt(K): about K * eps. The largest K is the weight
    gradient's N*Ho*Wo or the forward's C/G*kH*kW (or the input gradient's Co/G*kH*kW)."""
    n_batch, out_channels, out_h, out_w = out_shape
    k_h, k_w = w_shape[2:]
    k = max(w_shape[1] * k_h * k_w, n_batch * out_h * out_w, out_channels * k_h * k_w)
    return dict(atol=4 * k * EPS32, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@given(conv_configs(max_channels=8, max_side=8, max_batch=3), st.integers(0, 2**16))
def test_conv2d_matches_torch(config, seed):
    x_shape, w_shape, with_bias, kwargs = config
    x, w, b = _arrays(seed, x_shape, w_shape, with_bias, np.float32)
    out_shape = ref.conv2d(x, w, None, **kwargs).shape
    inputs = [x, w] + ([b] if b is not None else [])
    compare_with_torch(lambda *t: F.conv2d(*t, **kwargs), lambda *t: TF.conv2d(*t, **kwargs),
                       inputs, seed=seed, **_float32_tolerance(x_shape, w_shape, out_shape))


def test_conv2d_matches_torch_on_a_layer_sized_case():
    # a stride-2 grouped layer big enough to take several im2col chunks per call
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 12, 33, 31)).astype(np.float32)
    w = rng.standard_normal((18, 4, 3, 3)).astype(np.float32)
    b = rng.standard_normal(18).astype(np.float32)
    kwargs = dict(stride=2, padding=1, groups=3)
    compare_with_torch(lambda *t: F.conv2d(*t, **kwargs), lambda *t: TF.conv2d(*t, **kwargs),
                       [x, w, b], **_float32_tolerance(x.shape, w.shape, (5, 18, 17, 16)))


def test_conv2d_float64_end_to_end():
    rng = np.random.default_rng(4)
    x = minicnn.tensor(rng.standard_normal((2, 4, 6, 6)), requires_grad=True)
    w = minicnn.tensor(rng.standard_normal((8, 1, 3, 3)), requires_grad=True)  # depthwise, M=2
    out = F.conv2d(x, w, padding=1, groups=4)
    out.sum().backward()
    assert out.dtype == x.grad.dtype == w.grad.dtype == np.float64


# ------------------------------------------------------------------ Numba depthwise vs NumPy
@st.composite
def depthwise_configs(draw):
    channels, multiplier = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    # asymmetric padding, as padding='same' produces for an even kernel
    padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(2))
    size, out_size = [], []
    for axis in range(2):
        reach = dilation[axis] * (kernel[axis] - 1) + 1
        smallest = max(1, reach - sum(padding[axis]))
        side = draw(st.integers(smallest, smallest + 7))
        size.append(side)
        out_size.append((side + sum(padding[axis]) - reach) // stride[axis] + 1)
    # the input gradient may be asked for a taller/wider input (conv_transpose2d's output_padding)
    extra = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    return dict(n_batch=draw(st.integers(1, 3)), channels=channels, multiplier=multiplier,
                kernel=kernel, stride=stride, dilation=dilation, padding=padding,
                size=tuple(size), out_size=tuple(out_size), extra=extra,
                dtype=draw(st.sampled_from([np.float32, np.float64])))


@given(depthwise_configs(), st.integers(0, 2**16))
def test_depthwise_numba_kernels_match_numpy_reference(cfg, seed):
    rng = np.random.default_rng(seed)
    dtype = cfg["dtype"]
    n, c, m = cfg["n_batch"], cfg["channels"], cfg["multiplier"]
    x = rng.standard_normal((n, c) + cfg["size"]).astype(dtype)
    w = rng.standard_normal((c * m, 1) + cfg["kernel"]).astype(dtype)
    b = rng.standard_normal(c * m).astype(dtype)
    grad_out = rng.standard_normal((n, c * m) + cfg["out_size"]).astype(dtype)
    geometry = (cfg["stride"], cfg["padding"], cfg["dilation"])
    # float32: both sum at most kH*kW (forward) or N*Ho*Wo (weight gradient) terms in
    # different orders; float64: the same sums to ~1e-15.
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)

    for bias in (None, b):
        ours = _conv_depthwise_numba.forward(x, w, bias, *geometry, cfg["out_size"])
        expected = _conv_depthwise.forward_reference(x, w, bias, *geometry, cfg["out_size"])
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, expected, **tol)

    in_size = tuple(s + e for s, e in zip(cfg["size"], cfg["extra"]))
    ours = _conv_depthwise_numba.grad_input(grad_out, w, c, in_size, *geometry)
    expected = _conv_depthwise.grad_input_reference(grad_out, w, c, in_size, *geometry)
    assert ours.dtype == dtype and ours.shape == (n, c) + in_size
    np.testing.assert_allclose(ours, expected, **tol)

    ours = _conv_depthwise_numba.grad_weight(x, grad_out, w.shape, *geometry)
    expected = _conv_depthwise.grad_weight_reference(x, grad_out, w.shape, *geometry)
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours, expected, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size,stride,padding,dilation", [
    ((9, 12), (2, 2), ((1, 1), (1, 1)), (1, 1)),  # stride 2, even width: the split staging
    ((9, 11), (2, 2), ((0, 1), (1, 2)), (1, 1)),  # stride 2, odd width: the strided staging
    ((10, 13), (3, 1), ((2, 0), (0, 3)), (2, 3)),  # stride 3, dilation, asymmetric padding
    ((7, 8), (1, 2), ((1, 1), (2, 2)), (1, 2)),
])
def test_depthwise_numba_kernels_match_numpy_reference_on_fixed_geometries(
        dtype, size, stride, padding, dilation):
    rng = np.random.default_rng(7)
    n, c, m, kernel = 3, 4, 2, (3, 3)
    out_size = tuple((s + sum(p) - d * (k - 1) - 1) // st + 1
                     for s, p, d, k, st in zip(size, padding, dilation, kernel, stride))
    x = rng.standard_normal((n, c) + size).astype(dtype)
    w = rng.standard_normal((c * m, 1) + kernel).astype(dtype)
    b = rng.standard_normal(c * m).astype(dtype)
    grad_out = rng.standard_normal((n, c * m) + out_size).astype(dtype)
    geometry = (stride, padding, dilation)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        _conv_depthwise_numba.forward(x, w, b, *geometry, out_size),
        _conv_depthwise.forward_reference(x, w, b, *geometry, out_size), **tol)
    np.testing.assert_allclose(
        _conv_depthwise_numba.grad_input(grad_out, w, c, size, *geometry),
        _conv_depthwise.grad_input_reference(grad_out, w, c, size, *geometry), **tol)
    np.testing.assert_allclose(
        _conv_depthwise_numba.grad_weight(x, grad_out, w.shape, *geometry),
        _conv_depthwise.grad_weight_reference(x, grad_out, w.shape, *geometry), **tol)


def test_depthwise_numpy_reference_matches_naive_loops():
    # the reference the Numba kernels are held to is itself held to the docstring sum
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((6, 1, 3, 2))
    pads = ((1, 2), (0, 1))
    b = rng.standard_normal(6)
    out = _conv_depthwise.forward_reference(x, w, b, (2, 1), pads, (1, 2), (4, 5))
    np.testing.assert_allclose(out, ref.conv2d(x, w, b, (2, 1), pads, (1, 2), groups=3),
                               rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ bad input
def _t(shape, dtype=np.float32):
    return minicnn.tensor(np.zeros(shape, dtype=dtype))


BAD_INPUTS = [
    # (description, args, kwargs, exception, message fragment naming the argument)
    ("rank", (_t((5, 5)), _t((2, 1, 3, 3))), {}, ValueError, "input"),
    ("weight rank", (_t((1, 3, 5, 5)), _t((2, 3, 3))), {}, ValueError, "weight"),
    ("channels", (_t((1, 3, 5, 5)), _t((2, 2, 3, 3))), {}, ValueError, "input channels"),
    ("groups C_in", (_t((1, 3, 5, 5)), _t((2, 1, 3, 3))), {"groups": 2}, ValueError, "groups"),
    ("groups C_out", (_t((1, 4, 5, 5)), _t((3, 2, 3, 3))), {"groups": 2}, ValueError, "groups"),
    ("groups zero", (_t((1, 4, 5, 5)), _t((3, 2, 3, 3))), {"groups": 0}, ValueError, "groups"),
    ("kernel", (_t((1, 3, 2, 5)), _t((2, 3, 3, 3))), {}, ValueError, "kernel"),
    ("dilated kernel", (_t((1, 3, 5, 5)), _t((2, 3, 3, 3))), {"dilation": 3}, ValueError,
     "kernel"),
    ("stride", (_t((1, 3, 5, 5)), _t((2, 3, 3, 3))), {"stride": 0}, ValueError, "stride"),
    ("dilation", (_t((1, 3, 5, 5)), _t((2, 3, 3, 3))), {"dilation": (1, 0)}, ValueError,
     "dilation"),
    ("padding", (_t((1, 3, 5, 5)), _t((2, 3, 3, 3))), {"padding": -1}, ValueError, "padding"),
    ("padding string", (_t((1, 3, 5, 5)), _t((2, 3, 3, 3))), {"padding": "full"}, ValueError,
     "padding"),
    ("same strided", (_t((1, 3, 5, 5)), _t((2, 3, 3, 3))), {"padding": "same", "stride": 2},
     ValueError, "same"),
    ("stride type", (_t((1, 3, 5, 5)), _t((2, 3, 3, 3))), {"stride": 1.5}, TypeError, "stride"),
    ("int input", (_t((1, 3, 5, 5), np.int64), _t((2, 3, 3, 3))), {}, TypeError, "input"),
    ("dtype mix", (_t((1, 3, 5, 5)), _t((2, 3, 3, 3), np.float64)), {}, TypeError, "weight"),
    ("bias dtype", (_t((1, 3, 5, 5)), _t((2, 3, 3, 3)), _t((2,), np.float64)), {}, TypeError,
     "bias"),
    ("bias shape", (_t((1, 3, 5, 5)), _t((2, 3, 3, 3)), _t((3,))), {}, ValueError, "bias"),
    ("not a tensor", (np.zeros((1, 3, 5, 5), np.float32), _t((2, 3, 3, 3))), {}, TypeError,
     "input"),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_conv2d_rejects_bad_input(case):
    _, args, kwargs, exception, fragment = case
    tensors = [a for a in args if isinstance(a, minicnn.Tensor) and a.dtype.kind == "f"]
    for t in tensors:
        t.requires_grad = True
    with pytest.raises(exception, match=fragment):
        F.conv2d(*args, **kwargs)
    assert all(t.grad is None for t in tensors)  # nothing ran, nothing recorded


def test_conv2d_error_names_the_value_and_expectation():
    with pytest.raises(ValueError) as info:
        F.conv2d(_t((1, 3, 5, 5)), _t((2, 1, 3, 3)), groups=2)
    assert "groups=2" in str(info.value) and "3 channels" in str(info.value)
    with pytest.raises(ValueError) as info:
        F.conv2d(_t((1, 3, 2, 5)), _t((2, 3, 3, 3)))
    assert "(3, 3)" in str(info.value) and "padded input" in str(info.value)


# ------------------------------------------------------------------ im2col in chunks of images
@pytest.mark.parametrize("chunk_images", [1, 2])
@pytest.mark.parametrize("kwargs", [
    dict(padding=1),                                 # stride 1: wide (flat-run) columns
    dict(stride=2, padding=(1, 0), dilation=(1, 2)),  # exact columns; col2im input gradient
    dict(padding=3, groups=2),                       # p > d(k-1): the input gradient crops
])
def test_conv2d_chunked_im2col_matches_reference(monkeypatch, chunk_images, kwargs):
    """Force the column matrix into chunks of 1 or 2 images (the last chunk shorter)."""
    from minicnn.ops import _conv_im2col

    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 4, 9, 8))
    w = rng.standard_normal((6, 4 // kwargs.get("groups", 1), 3, 3))
    monkeypatch.setattr(_conv_im2col, "_images_per_chunk",
                        lambda n_batch, bytes_per_image: min(n_batch, chunk_images))
    xt, wt = minicnn.tensor(x, requires_grad=True), minicnn.tensor(w, requires_grad=True)
    out = F.conv2d(xt, wt, **kwargs)
    np.testing.assert_allclose(out.numpy(), ref.conv2d(x, w, **kwargs), rtol=1e-12, atol=1e-12)
    grad = rng.standard_normal(out.shape)
    out.backward(grad)
    theirs_x = torch.tensor(x, requires_grad=True)
    theirs_w = torch.tensor(w, requires_grad=True)
    TF.conv2d(theirs_x, theirs_w, **kwargs).backward(torch.tensor(grad))
    np.testing.assert_allclose(xt.grad, theirs_x.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wt.grad, theirs_w.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("groups", [1, 2])
def test_1x1_conv_is_the_same_per_image_or_folded(monkeypatch, per_image, groups):
    """A 1x1 stride-1 convolution multiplies image by image (x as its own column matrix)
    on large images and through folded columns on small ones: both agree with PyTorch,
    forward and backward."""
    import torch

    from minicnn.ops import _conv_im2col

    monkeypatch.setattr(_conv_im2col, "per_image_product", lambda *args: per_image)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4, 7, 6))
    w = rng.standard_normal((6, 4 // groups, 1, 1))
    g = rng.standard_normal((3, 6, 7, 6))
    ours_x, ours_w = minicnn.tensor(x, requires_grad=True), minicnn.tensor(w, requires_grad=True)
    out = F.conv2d(ours_x, ours_w, groups=groups)
    out.backward(g)
    theirs_x, theirs_w = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    expected = torch.nn.functional.conv2d(theirs_x, theirs_w, groups=groups)
    expected.backward(torch.tensor(g))
    # float64: only summation-order rounding separates the two engines
    for ours, theirs in [(out, expected), (ours_x.grad, theirs_x.grad), (ours_w.grad, theirs_w.grad)]:
        np.testing.assert_allclose(np.asarray(ours), theirs.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


@pytest.mark.parametrize("size", [4, 8])  # folded columns / x as its own columns (64+ pixels)
def test_1x1_conv_of_an_empty_batch(size):
    """An empty batch gives an empty output and zero weight gradient, as in PyTorch, on both
    1x1 paths (their reshapes spell every size out: -1 is ambiguous at size 0)."""
    import torch

    x = np.zeros((0, 4, size, size))
    w = np.random.default_rng(8).standard_normal((6, 4, 1, 1))
    ours_w = minicnn.tensor(w, requires_grad=True)
    out = F.conv2d(minicnn.tensor(x, requires_grad=True), ours_w)
    out.backward(np.zeros(out.shape))
    theirs_w = torch.tensor(w, requires_grad=True)
    expected = torch.nn.functional.conv2d(torch.tensor(x), theirs_w)
    expected.backward(torch.zeros(expected.shape, dtype=torch.float64))
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(ours_w.grad, theirs_w.grad.numpy())
