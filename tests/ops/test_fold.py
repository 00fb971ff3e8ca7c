"""unfold (im2col) and fold (col2im): the formulas, their adjointness, the conv identities
the card states, gradients and PyTorch parity."""
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
def fold_geometry(draw, max_side=5):
    """``(N, C, (H, W), kernel, dilation, padding, stride, (H_b, W_b))`` with at least one window."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size, blocks = [], []
    for axis in range(2):
        reach = dilation[axis] * (kernel[axis] - 1) + 1
        side = draw(st.integers(max(1, reach - 2 * padding[axis]), max_side + reach))
        size.append(side)
        blocks.append((side + 2 * padding[axis] - reach) // stride[axis] + 1)
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), tuple(size), kernel, dilation,
            padding, stride, tuple(blocks))


def _unfold_loops(x, kernel, dilation, padding, stride, blocks):
    """The card's formula, one entry at a time:
    cols[n, (c*kH + u)*kW + v, i*W_b + j] = x[n, c, s*i + d*u - p, s*j + d*v - p] (0 outside)."""
    n_batch, channels, height, width = x.shape
    (k_h, k_w), (h_b, w_b) = kernel, blocks
    cols = np.zeros((n_batch, channels * k_h * k_w, h_b * w_b), dtype=x.dtype)
    for c in range(channels):
        for u in range(k_h):
            for v in range(k_w):
                for i in range(h_b):
                    for j in range(w_b):
                        h = stride[0] * i + dilation[0] * u - padding[0]
                        w = stride[1] * j + dilation[1] * v - padding[1]
                        if 0 <= h < height and 0 <= w < width:
                            cols[:, (c * k_h + u) * k_w + v, i * w_b + j] = x[:, c, h, w]
    return cols


def _args(geo):
    _, _, _, kernel, dilation, padding, stride, _ = geo
    return dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)


@given(fold_geometry(), st.integers(0, 2**16))
def test_unfold_matches_the_formula(geo, seed):
    n_batch, channels, size, kernel, dilation, padding, stride, blocks = geo
    x = np.random.default_rng(seed).standard_normal((n_batch, channels) + size)
    out = F.unfold(minicnn.tensor(x), **_args(geo)).numpy()
    np.testing.assert_array_equal(out, _unfold_loops(x, kernel, dilation, padding, stride,
                                                     blocks))


@given(fold_geometry(), st.integers(0, 2**16))
def test_fold_is_the_adjoint_of_unfold(geo, seed):
    n_batch, channels, size, kernel, _, _, _, blocks = geo
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_batch, channels) + size)
    cols = rng.standard_normal((n_batch, channels * kernel[0] * kernel[1],
                                blocks[0] * blocks[1]))
    unfolded = F.unfold(minicnn.tensor(x), **_args(geo)).numpy()
    folded = F.fold(minicnn.tensor(cols), size, **_args(geo)).numpy()
    np.testing.assert_allclose(np.vdot(unfolded, cols), np.vdot(x, folded), rtol=1e-12)


@given(fold_geometry(), st.integers(1, 3), st.integers(0, 2**16))
def test_conv2d_is_a_matrix_product_of_unfold(geo, out_channels, seed):
    """conv2d(x, w) == (w.view(C_out, -1) @ unfold(x)).view(N, C_out, H_out, W_out): output
    and both gradients (the backward of the product and unfold's fold are conv2d's)."""
    n_batch, channels, size, kernel, dilation, padding, stride, blocks = geo
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_batch, channels) + size)
    w = rng.standard_normal((out_channels, channels) + kernel)
    upstream = minicnn.tensor(rng.standard_normal((n_batch, out_channels) + blocks))
    results = []
    for form in ("conv2d", "unfold"):
        tx, tw = minicnn.tensor(x, requires_grad=True), minicnn.tensor(w, requires_grad=True)
        if form == "conv2d":
            y = F.conv2d(tx, tw, stride=stride, padding=padding, dilation=dilation)
        else:
            # (C_out, C*kH*kW) @ (N, C*kH*kW, L) -> (N, C_out, L)
            y = (tw.view(out_channels, -1) @ F.unfold(tx, **_args(geo))).view(
                n_batch, out_channels, *blocks)
        y.backward(upstream)
        results.append((y.numpy(), tx.grad, tw.grad))
    for conv, product in zip(*results):
        np.testing.assert_allclose(product, conv, rtol=1e-10, atol=1e-12)


@given(fold_geometry(), st.integers(1, 3), st.integers(0, 2**16))
def test_conv_transpose2d_is_fold_of_a_matrix_product(geo, out_channels, seed):
    """conv_transpose2d(x, w) == fold(w.view(C, -1)^T @ x.view(N, C, L), (H_out, W_out)):
    x (N, C, H_b, W_b) scatters onto an image of the size the windows were counted on."""
    n_batch, channels, size, kernel, dilation, padding, stride, blocks = geo
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_batch, channels) + blocks)
    w = rng.standard_normal((channels, out_channels) + kernel)
    # the output_padding that makes conv_transpose2d's output exactly `size`
    extra = tuple(size[a] - ((blocks[a] - 1) * stride[a] - 2 * padding[a]
                             + dilation[a] * (kernel[a] - 1) + 1) for a in range(2))
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        return  # conv_transpose2d cannot produce this size (output_padding too large)
    transposed = F.conv_transpose2d(minicnn.tensor(x), minicnn.tensor(w), stride=stride,
                                    padding=padding, output_padding=extra, dilation=dilation)
    # (C_out*kH*kW, C) @ (N, C, L) -> (N, C_out*kH*kW, L)
    columns = minicnn.tensor(w).view(channels, -1).transpose(0, 1) @ \
        minicnn.tensor(x).view(n_batch, channels, -1)
    folded = F.fold(columns, size, **_args(geo))
    np.testing.assert_allclose(folded.numpy(), transposed.numpy(), rtol=1e-10, atol=1e-12)


@given(fold_geometry(), st.integers(0, 2**16))
def test_fold_of_unfold_multiplies_by_the_window_count(geo, seed):
    n_batch, channels, size, kernel, dilation, padding, stride, blocks = geo
    x = np.random.default_rng(seed).standard_normal((n_batch, channels) + size)
    count = np.zeros(size)  # windows reading each pixel, counted from the index formula
    for i in range(blocks[0]):
        for j in range(blocks[1]):
            for u in range(kernel[0]):
                for v in range(kernel[1]):
                    h = stride[0] * i + dilation[0] * u - padding[0]
                    w = stride[1] * j + dilation[1] * v - padding[1]
                    if 0 <= h < size[0] and 0 <= w < size[1]:
                        count[h, w] += 1
    round_trip = F.fold(F.unfold(minicnn.tensor(x), **_args(geo)), size, **_args(geo))
    np.testing.assert_allclose(round_trip.numpy(), count * x, rtol=1e-12, atol=1e-12)


@given(fold_geometry(max_side=3), st.integers(0, 2**16))
def test_unfold_and_fold_gradcheck(geo, seed):
    n_batch, channels, size, kernel, _, _, _, blocks = geo
    rng = np.random.default_rng(seed)
    x = minicnn.tensor(rng.standard_normal((n_batch, channels) + size), requires_grad=True)
    cols = minicnn.tensor(rng.standard_normal((n_batch, channels * kernel[0] * kernel[1],
                                               blocks[0] * blocks[1])), requires_grad=True)
    gradcheck(lambda t: F.unfold(t, **_args(geo)), [x], seed=seed)
    gradcheck(lambda t: F.fold(t, size, **_args(geo)), [cols], seed=seed)


@given(fold_geometry(), st.integers(0, 2**16))
def test_unfold_and_fold_match_torch(geo, seed):
    n_batch, channels, size, kernel, _, _, _, blocks = geo
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_batch, channels) + size).astype(np.float32)
    cols = rng.standard_normal((n_batch, channels * kernel[0] * kernel[1],
                                blocks[0] * blocks[1])).astype(np.float32)
    args = _args(geo)
    # unfold copies (exact); its gradient and fold add at most kH*kW = 9 entries per pixel in
    # another order than PyTorch's: a few float32 ulps of values of size ~3.
    compare_with_torch(lambda t: F.unfold(t, **args), lambda t: TF.unfold(t, **args), [x],
                       atol=2e-6, rtol=1e-6)
    compare_with_torch(lambda t: F.fold(t, size, **args), lambda t: TF.fold(t, size, **args),
                       [cols], atol=2e-6, rtol=1e-6)


def test_unbatched_non_contiguous_and_layers():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 5)).transpose(0, 2, 1)  # (C, H, W), not contiguous
    expected = TF.unfold(torch.tensor(x), 2, padding=1).numpy()
    np.testing.assert_array_equal(F.unfold(minicnn.tensor(x), 2, padding=1).numpy(), expected)
    np.testing.assert_array_equal(nn.Unfold(2, padding=1)(minicnn.tensor(x)).numpy(), expected)
    cols = rng.standard_normal((12, 6))
    expected = TF.fold(torch.tensor(cols), (3, 4), 2).numpy()
    np.testing.assert_allclose(F.fold(minicnn.tensor(cols), (3, 4), 2).numpy(), expected,
                               rtol=1e-15)
    np.testing.assert_allclose(nn.Fold((3, 4), 2)(minicnn.tensor(cols)).numpy(), expected,
                               rtol=1e-15)
    assert repr(nn.Fold((3, 4), 2)) == repr(torch.nn.Fold((3, 4), 2))
    assert repr(nn.Unfold((2, 3), stride=2)) == repr(torch.nn.Unfold((2, 3), stride=2))


def test_unfold_and_fold_bad_input():
    x = minicnn.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        F.unfold(x, 0)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        F.unfold(x, 2, padding=-1)
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        F.unfold(x, 2, stride=1.5)
    with pytest.raises(ValueError, match="more than the padded input"):
        F.unfold(x, 5)
    with pytest.raises(ValueError, match=r"input must be 4-D \(N, C, H, W\) or 3-D"):
        F.unfold(minicnn.zeros(4, 4), 2)
    with pytest.raises(TypeError, match="input must be a floating-point"):
        F.unfold(minicnn.tensor(np.zeros((1, 1, 3, 3), dtype=np.int64)), 2)
    cols = minicnn.zeros(1, 8, 9)  # 2 channels of a 2x2 kernel, 3x3 windows on a 4x4 image
    F.fold(cols, 4, 2)
    with pytest.raises(ValueError, match=r"number of blocks 4 \* 4 = 16, got 9"):
        F.fold(cols, 5, 2)
    with pytest.raises(ValueError, match="divisible by the kernel's kH\\*kW = 4"):
        F.fold(minicnn.zeros(1, 6, 9), 4, 2)
    with pytest.raises(ValueError, match="output_size must be >= 1"):
        F.fold(cols, 0, 2)
    with pytest.raises(ValueError, match=r"input must be 3-D \(N, C\*kH\*kW, L\) or 2-D"):
        F.fold(minicnn.zeros(8, 9, 1, 1), 4, 2)
    with pytest.raises(ValueError, match="dilation must be >= 1"):
        nn.Unfold(2, dilation=0)
    with pytest.raises(TypeError, match="output_size must be an int or a pair"):
        nn.Fold("4", 2)
