"""Rung 2: the textbook im2col: copy every window into a column, then one matrix product.

``cols[n, (c, u, v), (i, j)] = x_pad[n, c, s_h i + d_h u, s_w j + d_w v]`` holds, for each
output pixel, the ``K = C k_h k_w`` inputs its sum reads; the convolution of each group
is then ``Y[n, g] = W[g] @ cols[n, g]`` with ``W[g]`` of shape ``(C_out/G, K)``. The
``k_h k_w`` copies are one strided slice each (``tap``); the product runs in BLAS.

Why it is faster than the loops: the interpreter touches each kernel offset once, not
each multiply-add; the arithmetic runs in compiled, vectorised, cache-blocked GEMM code.

What it costs: the column matrix of the whole batch, ``N * K * H_out * W_out`` numbers,
``k_h k_w`` times the input (9x for 3x3), built here in one piece; the backward builds
it again for the weight gradient, and its transpose product ``dcols = W^T @ gy`` is
just as large before ``col2im`` folds it back. minicnn's own path (rung 3) builds it a
few images at a time.

Backward, from the matrix form: ``dL/dW[g] = sum_n gy[n, g] @ cols[n, g]^T`` and
``dcols[n, g] = W[g]^T @ gy[n, g]``, then ``col2im`` adds every entry back to the input
pixel it was copied from (the adjoint of the copy).

minicnn exposes both halves with PyTorch's names: ``F.unfold`` is im2col and ``F.fold``
is col2im (``docs/ops/fold.md``), so ``conv2d(x, w) == (w.view(C_out, -1) @ unfold(x))
.view(N, C_out, H_out, W_out)``.
"""
import numpy as np

from .naive import out_size


def tap(offset, dilation, stride, count):
    """The padded rows (or columns) kernel offset ``offset`` reads for all outputs of one axis."""
    start = offset * dilation
    return slice(start, start + stride * (count - 1) + 1, stride)


def im2col(x, kernel, stride, padding, dilation):
    """``cols`` (N, C*k_h*k_w, H_out*W_out) and the output size."""
    n_batch, channels, height, width = x.shape
    (k_h, k_w), out_hw = kernel, out_size((height, width), kernel, stride, padding, dilation)
    x_pad = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    cols = np.empty((n_batch, channels, k_h, k_w) + out_hw, dtype=x.dtype)
    for u in range(k_h):
        rows = tap(u, dilation[0], stride[0], out_hw[0])
        for v in range(k_w):
            # (N, C, H_out, W_out): what offset (u, v) reads for every output pixel
            cols[:, :, u, v] = x_pad[:, :, rows, tap(v, dilation[1], stride[1], out_hw[1])]
    return cols.reshape(n_batch, channels * k_h * k_w, out_hw[0] * out_hw[1]), out_hw


def col2im(cols, input_shape, kernel, stride, padding, dilation, out_hw):
    """The adjoint of :func:`im2col`: every column entry added back to its input pixel."""
    n_batch, channels, height, width = input_shape
    k_h, k_w = kernel
    (top, bottom), (left, right) = padding
    blocks = cols.reshape((n_batch, channels, k_h, k_w) + tuple(out_hw))
    grad_pad = np.zeros((n_batch, channels, height + top + bottom, width + left + right),
                        dtype=cols.dtype)
    for u in range(k_h):
        rows = tap(u, dilation[0], stride[0], out_hw[0])
        for v in range(k_w):
            grad_pad[:, :, rows, tap(v, dilation[1], stride[1], out_hw[1])] += blocks[:, :, u, v]
    return grad_pad[:, :, top:top + height, left:left + width]


def conv2d_forward(x, weight, stride, padding, dilation, groups):
    n_batch = x.shape[0]
    out_channels, group_channels, k_h, k_w = weight.shape
    cols, out_hw = im2col(x, (k_h, k_w), stride, padding, dilation)
    k = group_channels * k_h * k_w
    w = weight.reshape(groups, out_channels // groups, k)  # (G, C_out/G, K)
    # (G, C_out/G, K) @ (N, G, K, HW) -> (N, G, C_out/G, HW)
    y = np.matmul(w, cols.reshape(n_batch, groups, k, -1))
    return y.reshape((n_batch, out_channels) + out_hw)


def conv2d_grad_weight(x, grad_out, weight_shape, stride, padding, dilation, groups):
    n_batch = x.shape[0]
    out_channels, group_channels, k_h, k_w = weight_shape
    cols, _ = im2col(x, (k_h, k_w), stride, padding, dilation)
    k = group_channels * k_h * k_w
    g = grad_out.reshape(n_batch, groups, out_channels // groups, -1)  # (N, G, C_out/G, HW)
    # sum_n (N, G, C_out/G, HW) @ (N, G, HW, K) -> (G, C_out/G, K)
    grad = np.matmul(g, cols.reshape(n_batch, groups, k, -1).transpose(0, 1, 3, 2)).sum(axis=0)
    return grad.reshape(weight_shape)


def conv2d_grad_input(grad_out, weight, input_shape, stride, padding, dilation, groups):
    n_batch = grad_out.shape[0]
    out_channels, group_channels, k_h, k_w = weight.shape
    k = group_channels * k_h * k_w
    w_t = weight.reshape(groups, out_channels // groups, k).transpose(0, 2, 1)  # (G, K, C_out/G)
    g = grad_out.reshape(n_batch, groups, out_channels // groups, -1)
    dcols = np.matmul(w_t, g)  # (G, K, C_out/G) @ (N, G, C_out/G, HW) -> (N, G, K, HW)
    return col2im(dcols.reshape(n_batch, groups * k, -1), input_shape, (k_h, k_w), stride,
                  padding, dilation, tuple(grad_out.shape[2:]))
