"""Max pooling with indices, and its backward.

NumPy twin: :class:`minicnn.ops.pooling.MaxPool2d` (``_window_max`` with
offsets, then ``_flat_indices``). For output ``(n, c, i, j)`` the window
reads input rows ``h = s_h*i + d_h*u - p_t`` and columns
``w = s_w*j + d_w*v - p_l`` (``u < kH``, ``v < kW``); padding is never read::

    y[n, c, i, j]       = max over the window's positions inside x
    indices[n, c, i, j] = h*W + w of that maximum (PyTorch's flat index per plane)

Ties and NaN follow PyTorch's CUDA kernel exactly: the scan starts from
``-inf`` with the index of the window's first row/column ``>= 0``, visits the
in-input positions row-major, and takes a position when its value is
``> max`` or NaN. Hence the first maximum, the last NaN, and the first
in-input position when every value is -inf.

Backward (``g = dL/dy``): ``dL/dx[n, c, h, w] = sum of g[n, c, i, j] over the
windows (i, j) whose argmax is (h, w)``. Scattering ``g`` to the argmax would
need atomic adds (overlapping windows can share an argmax); instead one
thread owns one input pixel and gathers: for each tap ``(u, v)`` it solves
for the window ``(i, j)`` that reads ``(h, w)`` at that tap (the col2im index
solve, :func:`_index.reading_window`: ``h + p_t - d_h*u`` a non-negative
multiple of ``s_h``, ``i < Ho``),
and adds ``g`` if ``indices[n, c, i, j] == h*W + w``. A window contains a
pixel at most once, so nothing is counted twice; no atomics.

Layouts: forward, one thread per output element; backward, one thread per
input element; 1-D grids, consecutive threads on consecutive columns (the
thread's ``(n, c, row, column)`` from :func:`_index.nchw_of`).
The output size (Ho, Wo) comes from ``out``'s shape, so ``ceil_mode`` (a
larger Ho/Wo with windows hanging past the input) needs nothing here.
"""
import numpy as np
from numba import cuda, float32, float64, int64

from ._index import nchw_of, reading_window
from ._launch import ELEMENTWISE_THREADS, check_array, check_shape, launch_1d, pairs, same_dtype

NEG_INF = np.float32(-np.inf)  # a float32 constant: float32 data stays float32


@cuda.jit
def maxpool_forward_kernel(x, y, indices, k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w):
    """``y``, ``indices`` (N, C, Ho, Wo); one thread per output element."""
    index = cuda.grid(1)
    n_batch, channels, out_h, out_w = y.shape
    if index >= n_batch * channels * out_h * out_w:
        return
    height, width = x.shape[2], x.shape[3]
    n, c, i, j = nchw_of(index, channels, out_h, out_w)
    top, left = s_h * i - p_t, s_w * j - p_l
    first_h, first_w = top, left  # the window's first row/column >= 0 (PyTorch's start)
    while first_h < 0:
        first_h += d_h
    while first_w < 0:
        first_w += d_w
    best = NEG_INF
    best_index = first_h * width + first_w
    for u in range(k_h):
        h = top + d_h * u
        if h < 0 or h >= height:
            continue
        for v in range(k_w):
            w = left + d_w * v
            if w < 0 or w >= width:
                continue
            value = x[n, c, h, w]
            if value > best or value != value:  # value != value: NaN
                best = value
                best_index = h * width + w
    y[n, c, i, j] = best
    indices[n, c, i, j] = best_index


@cuda.jit
def maxpool_backward_kernel(grad_out, indices, grad_in, k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w):
    """``grad_in`` (N, C, H, W); one thread per input pixel, gathering (no atomics)."""
    index = cuda.grid(1)
    n_batch, channels, height, width = grad_in.shape
    if index >= n_batch * channels * height * width:
        return
    out_h, out_w = grad_out.shape[2], grad_out.shape[3]
    n, c, h, w = nchw_of(index, channels, height, width)
    flat = h * width + w
    total = float64(0.0)
    for u in range(k_h):
        i = reading_window(h, p_t, d_h, u, s_h, out_h)  # the window row reading row h at tap u
        if i < 0:
            continue
        for v in range(k_w):
            j = reading_window(w, p_l, d_w, v, s_w, out_w)
            if j < 0:
                continue
            if indices[n, c, i, j] == flat:
                total += grad_out[n, c, i, j]
    grad_in[n, c, h, w] = total


def _geometry(op, kernel_size, stride, padding, dilation):
    k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w = pairs(
        op, kernel_size=kernel_size, stride=kernel_size if stride is None else stride,
        padding=padding, dilation=dilation)
    if min(k_h, k_w, s_h, s_w, d_h, d_w) < 1 or min(p_t, p_l) < 0:
        raise ValueError(f"{op}: kernel_size, stride, dilation must be >= 1 and padding >= 0, "
                         f"got {(k_h, k_w)}, {(s_h, s_w)}, {(d_h, d_w)}, {(p_t, p_l)}")
    return k_h, k_w, s_h, s_w, p_t, p_l, d_h, d_w


def maxpool_forward(x, out, indices, kernel_size, stride=None, padding=0, dilation=1, *,
                    threads=ELEMENTWISE_THREADS, stream=0):
    """Write ``out`` (N, C, Ho, Wo) and int64 ``indices`` (flat ``h*W + w``) for ``x``."""
    op = "maxpool_forward"
    geometry = _geometry(op, kernel_size, stride, padding, dilation)
    check_array(x, "x", op, 4)
    check_array(out, "out", op, 4)
    check_array(indices, "indices", op, 4, "int64")
    same_dtype(op, x=x, out=out)
    if tuple(out.shape[:2]) != tuple(x.shape[:2]):
        raise ValueError(f"{op}: out must have shape {tuple(x.shape[:2])} + (Ho, Wo), got "
                         f"{tuple(out.shape)}")
    check_shape(indices, "indices", op, out.shape)
    launch_1d(maxpool_forward_kernel, op, out.size, threads, stream, x, out, indices, *geometry)


def maxpool_backward(grad_out, indices, grad_in, kernel_size, stride=None, padding=0,
                     dilation=1, *, threads=ELEMENTWISE_THREADS, stream=0):
    """Overwrite ``grad_in`` (N, C, H, W) with dL/dx; same pooling parameters as the forward."""
    op = "maxpool_backward"
    geometry = _geometry(op, kernel_size, stride, padding, dilation)
    check_array(grad_out, "grad_out", op, 4)
    check_array(indices, "indices", op, 4, "int64")
    check_array(grad_in, "grad_in", op, 4)
    same_dtype(op, grad_out=grad_out, grad_in=grad_in)
    check_shape(indices, "indices", op, grad_out.shape)
    if tuple(grad_out.shape[:2]) != tuple(grad_in.shape[:2]):
        raise ValueError(f"{op}: grad_out {tuple(grad_out.shape)} and grad_in "
                         f"{tuple(grad_in.shape)} must share (N, C)")
    launch_1d(maxpool_backward_kernel, op, grad_in.size, threads, stream,
              grad_out, indices, grad_in, *geometry)


_A4, _I4 = float32[:, :, :, ::1], int64[:, :, :, ::1]

#: One float32 signature per kernel, for the PTX compile check.
SIGNATURES = [
    (maxpool_forward_kernel, (_A4, _A4, _I4) + (int64,) * 8),
    (maxpool_backward_kernel, (_A4, _I4, _A4) + (int64,) * 8),
]
