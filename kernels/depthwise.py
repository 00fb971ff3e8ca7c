"""Depthwise convolution (``groups == C``, channel multiplier M): forward and both gradients.

NumPy twin: ``minicnn.ops._conv_depthwise`` (``forward_reference``,
``grad_input_reference``, ``grad_weight_reference``): conv2d with
``groups == C`` and weight (C*M, 1, kH, kW), output channel ``o = c*M + m``
reading input channel ``c = o // M``::

    y[n, o, i, j] = sum_{u, v} w[o, 0, u, v] * x[n, o // M, s_h*i + d_h*u - p_t,
                                                          s_w*j + d_w*v - p_l]

(terms outside ``x`` are zero: padding). Its gradients, with ``g = dL/dy``::

    dL/dx[n, c, h, w] = sum_{m, u, v} w[c*M + m, 0, u, v] * g[n, c*M + m, i, j]
                        over the (i, j) with s_h*i + d_h*u - p_t = h, s_w*j + d_w*v - p_l = w
    dL/dw[o, 0, u, v] = sum_{n, i, j} g[n, o, i, j] * x[n, o // M, s_h*i + d_h*u - p_t, ...]

Top/left padding is given; the output size (from ``y``'s shape) fixes the
bottom/right padding, as in :mod:`im2col`.

Thread/block layouts:

* forward: one thread per output element (N*Co*Ho*Wo threads, 1-D grid,
  :func:`_index.nchw_of`); consecutive threads take consecutive ``j``:
  coalesced writes, and the ``kH*kW`` reads of neighbouring threads overlap,
  so they hit L1/L2.
* input gradient: one thread per input pixel, gathering the ``M*kH*kW``
  (output, tap) pairs that read it (the index solve of col2im,
  :func:`_index.reading_window`): no atomics.
* weight gradient: a reduction over ``N*Ho*Wo`` terms for each of the
  ``Co*kH*kW`` weights. One block per (output channel, tap): grid
  ``(kH*kW, Co)``; its threads stride over the ``N*Ho*Wo`` output pixels
  (consecutive threads on consecutive pixels: coalesced reads of ``g``),
  each summing a partial in a register, then one shared-memory tree sum
  (:func:`_reduce.block_sum`). Every weight is written once by one thread: no
  atomics, and the result does not depend on scheduling.
"""
from numba import cuda, float32, float64, int64

from ._index import nchw_of, reading_window
from ._launch import ELEMENTWISE_THREADS, check_array, check_threads, launch_1d, pairs, \
    same_dtype
from ._reduce import REDUCE_THREADS, block_sum


@cuda.jit
def depthwise_forward_kernel(x, weight, y, s_h, s_w, p_t, p_l, d_h, d_w):
    """``y`` (N, C*M, Ho, Wo); one thread per output element."""
    index = cuda.grid(1)
    n_batch, out_channels, out_h, out_w = y.shape
    if index >= n_batch * out_channels * out_h * out_w:
        return
    height, width = x.shape[2], x.shape[3]
    k_h, k_w = weight.shape[2], weight.shape[3]
    multiplier = out_channels // x.shape[1]
    n, o, i, j = nchw_of(index, out_channels, out_h, out_w)
    c = o // multiplier
    total = float64(0.0)
    for u in range(k_h):
        h = s_h * i + d_h * u - p_t
        if h < 0 or h >= height:
            continue
        for v in range(k_w):
            w = s_w * j + d_w * v - p_l
            if 0 <= w and w < width:
                total += weight[o, 0, u, v] * x[n, c, h, w]
    y[n, o, i, j] = total


@cuda.jit
def depthwise_grad_input_kernel(grad_out, weight, grad_in, s_h, s_w, p_t, p_l, d_h, d_w):
    """``grad_in`` (N, C, H, W); one thread per input pixel, gathering (no atomics)."""
    index = cuda.grid(1)
    n_batch, channels, height, width = grad_in.shape
    if index >= n_batch * channels * height * width:
        return
    out_channels, out_h, out_w = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    k_h, k_w = weight.shape[2], weight.shape[3]
    multiplier = out_channels // channels
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
            for m in range(multiplier):
                o = c * multiplier + m
                total += weight[o, 0, u, v] * grad_out[n, o, i, j]
    grad_in[n, c, h, w] = total


@cuda.jit
def depthwise_grad_weight_kernel(x, grad_out, grad_weight, s_h, s_w, p_t, p_l, d_h, d_w):
    """``grad_weight`` (C*M, 1, kH, kW); block (tap, o) reduces over N*Ho*Wo in shared memory."""
    shared = cuda.shared.array(REDUCE_THREADS, float64)
    tap, o = cuda.blockIdx.x, cuda.blockIdx.y
    k_w = grad_weight.shape[3]
    u, v = tap // k_w, tap % k_w
    n_batch, out_channels, out_h, out_w = grad_out.shape
    height, width = x.shape[2], x.shape[3]
    c = o // (out_channels // x.shape[1])
    pixels = out_h * out_w
    partial = float64(0.0)
    for e in range(cuda.threadIdx.x, n_batch * pixels, cuda.blockDim.x):
        n = e // pixels
        i = (e % pixels) // out_w
        j = e % out_w
        h = s_h * i + d_h * u - p_t
        w = s_w * j + d_w * v - p_l
        if 0 <= h and h < height and 0 <= w and w < width:
            partial += grad_out[n, o, i, j] * x[n, c, h, w]
    total = block_sum(shared, partial)
    if cuda.threadIdx.x == 0:
        grad_weight[o, 0, u, v] = total


def _check(op, x_name, x, weight_name, weight, y_name, y, stride, padding, dilation):
    s_h, s_w, p_t, p_l, d_h, d_w = pairs(op, stride=stride, padding=padding, dilation=dilation)
    if min(s_h, s_w, d_h, d_w) < 1:
        raise ValueError(f"{op}: stride and dilation must be >= 1, got {(s_h, s_w)}, "
                         f"{(d_h, d_w)}")
    check_array(x, x_name, op, 4)
    check_array(weight, weight_name, op, 4)
    check_array(y, y_name, op, 4)
    same_dtype(op, **{x_name: x, weight_name: weight, y_name: y})
    n_batch, channels = x.shape[:2]
    out_channels = weight.shape[0]
    if weight.shape[1] != 1 or out_channels % channels:
        raise ValueError(f"{op}: {weight_name} must have shape (C*M, 1, kH, kW) with C={channels}"
                         f" input channels, got {tuple(weight.shape)}")
    if y.shape[:2] != (n_batch, out_channels):
        raise ValueError(f"{op}: {y_name} must have shape ({n_batch}, {out_channels}, Ho, Wo), "
                         f"got {tuple(y.shape)}")
    return s_h, s_w, p_t, p_l, d_h, d_w


def depthwise_forward(x, weight, out, stride=1, padding=0, dilation=1, *,
                      threads=ELEMENTWISE_THREADS, stream=0):
    """``out`` (N, C*M, Ho, Wo): conv of ``x`` (N, C, H, W), ``weight`` (C*M, 1, kH, kW)."""
    op = "depthwise_forward"
    geometry = _check(op, "x", x, "weight", weight, "out", out, stride, padding, dilation)
    launch_1d(depthwise_forward_kernel, op, out.size, threads, stream, x, weight, out, *geometry)


def depthwise_grad_input(grad_out, weight, grad_in, stride=1, padding=0, dilation=1, *,
                         threads=ELEMENTWISE_THREADS, stream=0):
    """Overwrite ``grad_in`` (N, C, H, W) with dL/dx for ``grad_out`` (N, C*M, Ho, Wo)."""
    op = "depthwise_grad_input"
    geometry = _check(op, "grad_in", grad_in, "weight", weight, "grad_out", grad_out, stride,
                      padding, dilation)
    launch_1d(depthwise_grad_input_kernel, op, grad_in.size, threads, stream,
              grad_out, weight, grad_in, *geometry)


def depthwise_grad_weight(x, grad_out, grad_weight, stride=1, padding=0, dilation=1, *,
                          threads=REDUCE_THREADS, stream=0):
    """Overwrite ``grad_weight`` (C*M, 1, kH, kW) with dL/dw.

    ``threads`` (a power of two <= 256) is the block size of the reduction.
    """
    op = "depthwise_grad_weight"
    geometry = _check(op, "x", x, "grad_weight", grad_weight, "grad_out", grad_out, stride,
                      padding, dilation)
    threads = check_threads(threads, op, power_of_two=True, maximum=REDUCE_THREADS)
    out_channels, _, k_h, k_w = grad_weight.shape
    if grad_weight.size:
        depthwise_grad_weight_kernel[(k_h * k_w, out_channels), threads, stream](
            x, grad_out, grad_weight, *geometry)


_A4 = float32[:, :, :, ::1]
_I = int64

#: One float32 signature per kernel, for the PTX compile check.
SIGNATURES = [
    (depthwise_forward_kernel, (_A4, _A4, _A4) + (_I,) * 6),
    (depthwise_grad_input_kernel, (_A4, _A4, _A4) + (_I,) * 6),
    (depthwise_grad_weight_kernel, (_A4, _A4, _A4) + (_I,) * 6),
]
