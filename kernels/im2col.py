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
grid of ``ELEMENTWISE_THREADS``-thread blocks; the thread's ``(n, row, col)``
and the row's ``(c, u, v)`` from :func:`_index.ncl_of`). Consecutive threads
take consecutive ``j``, so writes are coalesced and reads are strided by
``s_w``.

col2im is the adjoint: ``x_grad[n, c, h, w] = sum`` of every column entry that
im2col copied from ``(h, w)``. Scattering from the columns would need atomic
adds (several taps hit one pixel); instead one thread owns one input pixel
(its ``(n, c, h, w)`` from :func:`_index.nchw_of`) and gathers: for each tap
``(u, v)`` it solves ``h = s_h*i + d_h*u - p_t`` for an integer ``0 <= i < Ho``
(``(h + p_t - d_h*u)`` must be a non-negative multiple of ``s_h``;
:func:`_index.reading_window`), likewise ``j``, and adds
``cols[n, (c*kH+u)*kW+v, i*Wo+j]``. No two threads write the same pixel, so
there are no atomics and the result does not depend on scheduling.
"""
from numba import cuda, float32, float64, int64

from ._index import nchw_of, ncl_of, reading_window
from ._launch import ELEMENTWISE_THREADS, check_array, check_shape, launch_1d, pair, pairs, \
    same_dtype


@cuda.jit
def im2col_kernel(x, cols, k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w, out_w):
    """``cols`` (N, C*kH*kW, Ho*Wo) from ``x`` (N, C, H, W); one thread per ``cols`` element."""
    index = cuda.grid(1)
    n_batch, rows, length = cols.shape
    if index >= n_batch * rows * length:
        return
    height, width = x.shape[2], x.shape[3]
    n, row, col = ncl_of(index, rows, length)  # col = i*Wo + j, row = (c*kH + u)*kW + v
    i, j = col // out_w, col % out_w
    c, u, v = ncl_of(row, k_h, k_w)
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
    n, c, h, w = nchw_of(index, channels, height, width)
    total = float64(0.0)
    for u in range(k_h):
        i = reading_window(h, p_t, d_h, u, s_h, out_h)  # the output row reading row h at tap u
        if i < 0:
            continue
        for v in range(k_w):
            j = reading_window(w, p_l, d_w, v, s_w, out_w)
            if j < 0:
                continue
            total += cols[n, (c * k_h + u) * k_w + v, i * out_w + j]
    x_grad[n, c, h, w] = total


def _geometry(op, kernel_size, stride, padding, dilation):
    k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w = pairs(
        op, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    if min(k_h, k_w, s_h, s_w, d_h, d_w) < 1:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be >= 1, got "
                         f"{(k_h, k_w)}, {(s_h, s_w)}, {(d_h, d_w)}")
    return k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w


def _check(op, kernel_size, stride, padding, dilation, out_size, **arrays):
    """Both launchers' checks of the geometry and of ``arrays``: the image (N, C, H, W) and
    ``cols``, checked in the order given. Returns (the :func:`_geometry`, Ho, Wo)."""
    geometry = _geometry(op, kernel_size, stride, padding, dilation)
    out_h, out_w = pair(out_size, "out_size", op)
    for name, array in arrays.items():
        check_array(array, name, op, 3 if name == "cols" else 4)
    same_dtype(op, **arrays)
    n_batch, channels = next(a for name, a in arrays.items() if name != "cols").shape[:2]
    k_h, k_w = geometry[:2]
    check_shape(arrays["cols"], "cols", op, (n_batch, channels * k_h * k_w, out_h * out_w))
    return geometry, out_h, out_w


def im2col(x, cols, kernel_size, stride, padding, dilation, out_size, *,
           threads=ELEMENTWISE_THREADS, stream=0):
    """Fill ``cols`` (N, C*kH*kW, Ho*Wo) with the columns of ``x`` (N, C, H, W).

    ``padding`` is the (top, left) padding; ``out_size`` = (Ho, Wo).
    """
    op = "im2col"
    geometry, _, out_w = _check(op, kernel_size, stride, padding, dilation, out_size, x=x,
                                cols=cols)
    launch_1d(im2col_kernel, op, cols.size, threads, stream, x, cols, *geometry, out_w)


def col2im(cols, x_grad, kernel_size, stride, padding, dilation, out_size, *,
           threads=ELEMENTWISE_THREADS, stream=0):
    """Overwrite ``x_grad`` (N, C, H, W) with the adjoint of :func:`im2col` applied to ``cols``."""
    op = "col2im"
    geometry, out_h, out_w = _check(op, kernel_size, stride, padding, dilation, out_size,
                                    cols=cols, x_grad=x_grad)
    launch_1d(col2im_kernel, op, x_grad.size, threads, stream, cols, x_grad, *geometry, out_h,
              out_w)


_A3, _A4 = float32[:, :, ::1], float32[:, :, :, ::1]
_I = int64

#: One float32 signature per kernel, for the PTX compile check.
SIGNATURES = [
    (im2col_kernel, (_A4, _A3) + (_I,) * 9),
    (col2im_kernel, (_A3, _A4) + (_I,) * 10),
]
