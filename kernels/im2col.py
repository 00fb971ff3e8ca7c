"""im2col and col2im for conv2d on NCHW arrays.

NumPy twin: ``minicnn.ops._conv_im2col`` (``im2col_chunks`` in its exact
layout, ``Columns.pitch == Wo``; the strided ``+=`` col2im inside
``conv_grad_input``), whose column layout this follows::

    cols[n, (c*kH + u)*kW + v, i*Wo + j] = x[n, c, s_h*i + d_h*u - p_t, s_w*j + d_w*v - p_l]

(zero where the row or column falls outside ``x``). Convolution is then one
batched matrix product per group, ``y[n] = w @ cols[n]``, done by cuBLAS via
CuPy; these kernels only move data.

Notation: ``x`` (N, C, H, W), kernel (kH, kW), stride (s_h, s_w), dilation
(d_h, d_w), top/left padding (p_t, p_l); the output size (Ho, Wo) is given by
the caller, which fixes the bottom/right padding (asymmetric 'same' padding,
and negative padding, i.e. a crop, need no special case).

im2col: one thread per element of ``cols`` (N * C*kH*kW * Ho*Wo threads, 1-D
grid of ``ELEMENTWISE_THREADS``-thread blocks). Consecutive threads take
consecutive ``j``, so writes are coalesced and reads are strided by ``s_w``.

col2im is the adjoint: ``x_grad[n, c, h, w] = sum`` of every column entry that
im2col copied from ``(h, w)``. Scattering from the columns would need atomic
adds (several taps hit one pixel); instead one thread owns one input pixel
and gathers: for each tap ``(u, v)`` it solves ``h = s_h*i + d_h*u - p_t`` for
an integer ``0 <= i < Ho`` (``(h + p_t - d_h*u)`` must be a non-negative
multiple of ``s_h``), likewise ``j``, and adds ``cols[n, (c*kH+u)*kW+v,
i*Wo+j]``. No two threads write the same pixel, so there are no atomics and
the result does not depend on scheduling.
"""
from numba import cuda, float32, float64, int64

from ._launch import ELEMENTWISE_THREADS, blocks_for, check_array, check_shape, check_threads, \
    pair, same_dtype


@cuda.jit
def im2col_kernel(x, cols, k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w, out_w):
    """``cols`` (N, C*kH*kW, Ho*Wo) from ``x`` (N, C, H, W); one thread per ``cols`` element."""
    index = cuda.grid(1)
    n_batch, rows, length = cols.shape
    if index >= n_batch * rows * length:
        return
    height, width = x.shape[2], x.shape[3]
    col = index % length  # output pixel i*Wo + j
    row = (index // length) % rows  # (c*kH + u)*kW + v
    n = index // (length * rows)
    i, j = col // out_w, col % out_w
    v = row % k_w
    u = (row // k_w) % k_h
    c = row // (k_w * k_h)
    h = s_h * i + d_h * u - p_t
    w = s_w * j + d_w * v - p_l
    if 0 <= h and h < height and 0 <= w and w < width:
        cols[n, row, col] = x[n, c, h, w]
    else:
        cols[n, row, col] = 0


@cuda.jit
def col2im_kernel(cols, x_grad, k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w, out_h, out_w):
    """``x_grad`` (N, C, H, W) = the adjoint of im2col; one thread per input pixel (gather)."""
    index = cuda.grid(1)
    n_batch, channels, height, width = x_grad.shape
    if index >= n_batch * channels * height * width:
        return
    w = index % width
    h = (index // width) % height
    c = (index // (width * height)) % channels
    n = index // (width * height * channels)
    total = float64(0.0)
    for u in range(k_h):
        top = h + p_t - d_h * u  # = s_h * i if tap u of output row i reads row h
        if top < 0 or top % s_h != 0:
            continue
        i = top // s_h
        if i >= out_h:
            continue
        for v in range(k_w):
            left = w + p_l - d_w * v
            if left < 0 or left % s_w != 0:
                continue
            j = left // s_w
            if j >= out_w:
                continue
            total += cols[n, (c * k_h + u) * k_w + v, i * out_w + j]
    x_grad[n, c, h, w] = total


def _geometry(op, kernel_size, stride, padding, dilation):
    k_h, k_w = pair(kernel_size, "kernel_size", op)
    s_h, s_w = pair(stride, "stride", op)
    p_t, p_l = pair(padding, "padding", op)
    d_h, d_w = pair(dilation, "dilation", op)
    if min(k_h, k_w, s_h, s_w, d_h, d_w) < 1:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be >= 1, got "
                         f"{(k_h, k_w)}, {(s_h, s_w)}, {(d_h, d_w)}")
    return k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w


def im2col(x, cols, kernel_size, stride, padding, dilation, out_size, *,
           threads=ELEMENTWISE_THREADS, stream=0):
    """Fill ``cols`` (N, C*kH*kW, Ho*Wo) with the columns of ``x`` (N, C, H, W).

    ``padding`` is the (top, left) padding; ``out_size`` = (Ho, Wo).
    """
    op = "im2col"
    k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w = _geometry(op, kernel_size, stride, padding,
                                                       dilation)
    out_h, out_w = pair(out_size, "out_size", op)
    check_array(x, "x", op, 4)
    check_array(cols, "cols", op, 3)
    same_dtype(op, x=x, cols=cols)
    n_batch, channels = x.shape[:2]
    check_shape(cols, "cols", op, (n_batch, channels * k_h * k_w, out_h * out_w))
    threads = check_threads(threads, op)
    count = cols.size
    if count:
        im2col_kernel[blocks_for(count, threads), threads, stream](
            x, cols, k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w, out_w)


def col2im(cols, x_grad, kernel_size, stride, padding, dilation, out_size, *,
           threads=ELEMENTWISE_THREADS, stream=0):
    """Overwrite ``x_grad`` (N, C, H, W) with the adjoint of :func:`im2col` applied to ``cols``."""
    op = "col2im"
    k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w = _geometry(op, kernel_size, stride, padding,
                                                       dilation)
    out_h, out_w = pair(out_size, "out_size", op)
    check_array(cols, "cols", op, 3)
    check_array(x_grad, "x_grad", op, 4)
    same_dtype(op, cols=cols, x_grad=x_grad)
    n_batch, channels = x_grad.shape[:2]
    check_shape(cols, "cols", op, (n_batch, channels * k_h * k_w, out_h * out_w))
    threads = check_threads(threads, op)
    count = x_grad.size
    if count:
        col2im_kernel[blocks_for(count, threads), threads, stream](
            cols, x_grad, k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w, out_h, out_w)


_A3, _A4 = float32[:, :, ::1], float32[:, :, :, ::1]
_I = int64

#: One float32 signature per kernel, for the PTX compile check.
SIGNATURES = [
    (im2col_kernel, (_A4, _A3) + (_I,) * 9),
    (col2im_kernel, (_A3, _A4) + (_I,) * 10),
]
