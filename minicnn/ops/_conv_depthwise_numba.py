"""Depthwise convolution as direct Numba CPU kernels (NumPy arrays only).

NumPy twin (the readable reference, also the CuPy path):
:mod:`minicnn.ops._conv_depthwise` (``forward_reference``,
``grad_input_reference``, ``grad_weight_reference``); the tests hold these
kernels to it for drawn strides, paddings, dilations and multipliers.

Depthwise means ``groups == C``: output channel ``o = c*M + m`` (``M`` the
channel multiplier) sees only input channel ``c``, through its own
``kH x kW`` filter::

    y[n, o, i, j] = sum_{u,v} w[o, u, v] * x_pad[n, c, s_h*i + d_h*u, s_w*j + d_w*v]

with ``x_pad`` the input framed by ``p_top`` rows and ``p_left`` columns of
zeros (and as many at the bottom/right as the kernel reaches).

How the kernels run
-------------------
The work is one ``(n, c)`` image plane at a time; ``prange`` hands out blocks
of consecutive planes (about 8 per thread), and each block allocates its
scratch buffers once. The ``M`` output planes of channel ``c`` reuse its
staged input.

1. *Stage* the plane, zero-padded, into a flat buffer split into
   ``s_h * s_w`` stride phases: padded position ``(P, Q)`` goes to phase
   ``(P % s_h, Q % s_w)``, at row ``P // s_h`` and column ``Q // s_w`` of a
   phase plane ``q_w`` columns wide. For stride 1 this is just the padded
   plane. Only the image's positions are written, so the zero border is
   written once per block.
2. Tap ``(u, v)`` reads, for every output pixel ``(i, j)``, phase
   ``((d_h*u) % s_h, (d_w*v) % s_w)`` at row ``i + (d_h*u) // s_h`` and column
   ``j + (d_w*v) // s_w``. Laid out with the phase plane's row pitch ``q_w``
   ("wide" rows, ``j < q_w``), that is one contiguous run shifted by a
   constant: ``acc[t] += w[o,u,v] * phase[t + shift]`` for
   ``t < L = (Ho-1)*q_w + Wo``, starting from ``acc = b[o]``. One long,
   branch-free multiply-add per tap (three taps per pass), which LLVM
   vectorises; the ``q_w - Wo`` columns past each row are scratch.
3. Copy the valid ``Wo`` columns of each wide row out.

The input gradient runs these steps backwards: the upstream gradient is
copied into wide rows whose scratch columns are zero, scattered with the
same shifts into a zeroed stage, which is un-staged into the image. The
weight gradient is, per tap, the dot product of the wide upstream gradient
with the shifted run of the staged input; a running sum would be a serial
chain (LLVM vectorises a reduction only under fastmath), so the terms are
summed in 128 independent lanes and the lanes by halves (``_dots3``).
Per-sample partial sums are added over the batch by the caller.
``fastmath=False`` throughout: IEEE arithmetic in a fixed order, so results
are deterministic and independent of the thread count.

Integer bookkeeping (phase sizes, where each column phase starts, each tap's
phase and shift) is done once in Python (``_plan``): integer division by a
run-time stride inside the loops was measured to dominate the staging.
Small helpers are inlined into the kernels (``inline="always"``): an
out-of-line call that takes array views costs reference counting per call.

Numba compiles one version per dtype (float32, float64) on first use;
``cache=True`` keeps it for later processes.
"""
import numba
import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _copy_strided(dst, src, count, stride):
    """``dst[q] = src[stride*q]`` for ``q < count`` (strides 1 and 2 spelled out: literal
    strides vectorise)."""
    if stride == 1:
        for q in range(count):
            dst[q] = src[q]
    elif stride == 2:
        for q in range(count):
            dst[q] = src[2 * q]
    else:
        for q in range(count):
            dst[q] = src[stride * q]


@njit(cache=True, inline="always")
def _scatter_strided(dst, src, count, stride):
    """``dst[stride*q] = src[q]`` for ``q < count``."""
    if stride == 1:
        for q in range(count):
            dst[q] = src[q]
    elif stride == 2:
        for q in range(count):
            dst[2 * q] = src[q]
    else:
        for q in range(count):
            dst[stride * q] = src[q]


@njit(cache=True)
def _stage(plane, stage, stride_h, stride_w, pad_top, phase_w, col_plan, streams):
    """Split ``plane`` (H, W) into the stride phases of its padded frame, ``stage``
    (s_h*s_w, q_h*q_w). Only the image's positions are written: the caller zeroes
    ``stage`` once, and every plane of one geometry leaves the same zero border.

    ``col_plan[b] = (first column, its phase column, count)`` for column phase ``b``
    (precomputed: integer division by a run-time stride is slow in a loop).
    """
    height, width = plane.shape
    split = stride_w == 2 and width % 2 == 0
    if split:
        # Stride 2: deinterleave the whole plane into even and odd columns first, as
        # two long runs (a row's 28-odd strided elements are too few to vectorise).
        flat = plane.reshape(height * width)
        evens, odds = streams[0], streams[1]
        for q in range(height * width // 2):  # both in one loop: measured 5x faster than two
            evens[q] = flat[2 * q]
            odds[q] = flat[2 * q + 1]
    row_phase, phase_row = pad_top % stride_h, pad_top // stride_h
    for h in range(height):
        base = phase_row * phase_w
        for b in range(stride_w):
            first, dest, count = col_plan[b, 0], col_plan[b, 1], col_plan[b, 2]
            target = stage[row_phase * stride_w + b, base + dest:]
            if split:  # column phase b holds the columns of parity `first`
                _copy_strided(target, streams[first, h * (width // 2):], count, 1)
            else:
                _copy_strided(target, plane[h, first:], count, stride_w)
        row_phase += 1  # (h + pad_top) % s_h and // s_h, incrementally
        if row_phase == stride_h:
            row_phase = 0
            phase_row += 1


@njit(cache=True)
def _unstage(stage, plane, stride_h, stride_w, pad_top, phase_w, col_plan, streams):
    """The inverse of ``_stage`` on the image: ``plane[h, w] = stage[phase, row, column]``."""
    height, width = plane.shape
    split = stride_w == 2 and width % 2 == 0
    row_phase, phase_row = pad_top % stride_h, pad_top // stride_h
    for h in range(height):
        base = phase_row * phase_w
        for b in range(stride_w):
            first, dest, count = col_plan[b, 0], col_plan[b, 1], col_plan[b, 2]
            source = stage[row_phase * stride_w + b, base + dest:]
            if split:
                _copy_strided(streams[first, h * (width // 2):], source, count, 1)
            else:
                _scatter_strided(plane[h, first:], source, count, stride_w)
        row_phase += 1
        if row_phase == stride_h:
            row_phase = 0
            phase_row += 1
    if split:  # interleave the even and odd columns back, as two long runs
        flat = plane.reshape(height * width)
        evens, odds = streams[0], streams[1]
        for q in range(height * width // 2):
            flat[2 * q] = evens[q]
            flat[2 * q + 1] = odds[q]


@njit(cache=True)
def _to_wide(rows, wide, phase_w):
    """``rows`` (Ho, Wo) into the valid columns of wide rows of pitch ``phase_w`` (the
    caller zeroes ``wide`` once: its scratch columns are never written)."""
    out_h, out_w = rows.shape
    for i in range(out_h):
        dst = wide[i * phase_w:]  # slices: loop indices start at 0, so Numba drops its
        src = rows[i]             # negative-index wraparound and LLVM vectorises
        for j in range(out_w):
            dst[j] = src[j]


@njit(cache=True)
def _sum_by_halves(buf, n):
    """``sum(buf[:n])`` by repeatedly adding the top half onto the bottom half (destroys buf)."""
    while n > 16:
        half = n // 2
        odd = n - 2 * half  # an odd middle element stays in place
        low = buf[:half]
        high = buf[half + odd:n]  # two slices: LLVM sees two runs and vectorises
        for t in range(half):
            low[t] += high[t]
        n = half + odd
    total = buf[0] * 0
    for t in range(n):
        total += buf[t]
    return total


_LANES = 128  # partial sums of a dot product: one per lane, summed by halves at the end


@njit(cache=True)
def _dots3(a, b0, b1, b2, length, lanes):
    """``(sum_t a[t]*b0[t], sum_t a[t]*b1[t], sum_t a[t]*b2[t])`` for ``t < length``.

    A plain running sum cannot be vectorised without fastmath (it fixes the order
    of additions), so each sum is kept in lanes: ``lanes[r, q]`` sums the terms
    ``t = q (mod width)``, one vectorised multiply-add per block of ``width``
    terms; the lanes are then summed by halves. The order is fixed, the result
    deterministic. Three products share each load of ``a``.
    """
    width = lanes.shape[1]
    lanes[:, :] = 0
    lane0, lane1, lane2 = lanes[0], lanes[1], lanes[2]
    start = 0
    while start < length:
        count = min(width, length - start)
        a_block = a[start:start + count]
        c0, c1, c2 = b0[start:start + count], b1[start:start + count], b2[start:start + count]
        for q in range(count):
            value = a_block[q]
            lane0[q] += value * c0[q]
            lane1[q] += value * c1[q]
            lane2[q] += value * c2[q]
        start += width
    return (_sum_by_halves(lane0, width), _sum_by_halves(lane1, width),
            _sum_by_halves(lane2, width))


# ---------------------------------------------------------------- one (n, c) plane each
# Each takes its scratch buffers from the caller, which reuses them across the planes
# of one parallel block (the zero borders of ``stage``/``wide`` are written once).

@njit(cache=True, fastmath=False)
def _forward_plane(plane, weights, biases, out, stride_h, stride_w, pad_top, phase_w, col_plan,
                   tap_plan, stage, acc, streams):
    # plane (H, W) of channel c, weights (M, kH*kW), biases (M,) and out (M, Ho, Wo) of its
    # M outputs;
    # tap_plan[u*kW + v] = (phase, shift): where tap (u, v)'s run starts in stage.
    multiplier, taps = weights.shape
    out_h, out_w = out.shape[1], out.shape[2]
    length = acc.shape[0]  # (Ho-1)*q_w + Wo: the wide run covering every output pixel
    _stage(plane, stage, stride_h, stride_w, pad_top, phase_w, col_plan, streams)
    for m in range(multiplier):
        acc[:] = biases[m]  # y = b + sum of the taps
        k = 0
        while k + 3 <= taps:  # three taps per pass: one load/store of acc, not three
            s0 = stage[tap_plan[k, 0], tap_plan[k, 1]:]
            s1 = stage[tap_plan[k + 1, 0], tap_plan[k + 1, 1]:]
            s2 = stage[tap_plan[k + 2, 0], tap_plan[k + 2, 1]:]
            w0, w1, w2 = weights[m, k], weights[m, k + 1], weights[m, k + 2]
            for t in range(length):
                total = acc[t]  # the same order of additions as one tap per pass
                total += w0 * s0[t]
                total += w1 * s1[t]
                total += w2 * s2[t]
                acc[t] = total
            k += 3
        while k < taps:
            src = stage[tap_plan[k, 0], tap_plan[k, 1]:]
            tap = weights[m, k]
            for t in range(length):
                acc[t] += tap * src[t]
            k += 1
        for i in range(out_h):  # the valid Wo columns of each wide row
            row = out[m, i]
            src = acc[i * phase_w:]
            for j in range(out_w):
                row[j] = src[j]


@njit(cache=True, fastmath=False)
def _grad_input_plane(grad_out, weights, grad_in, stride_h, stride_w, pad_top, phase_w, col_plan,
                      tap_plan, stage, wide, streams):
    # grad_out (M, Ho, Wo) and weights (M, kH*kW) of channel c's outputs, grad_in (H, W).
    # The scatter form: x_pad[s*i + d*u, s*j + d*v] += w[m, u, v] * grad_out[m, i, j].
    multiplier, taps = weights.shape
    length = wide.shape[0]
    stage[:, :] = 0  # the accumulator: zeroed for every plane
    for m in range(multiplier):
        _to_wide(grad_out[m], wide, phase_w)  # zero scratch columns scatter nothing
        for k in range(taps):
            dst = stage[tap_plan[k, 0], tap_plan[k, 1]:]
            tap = weights[m, k]
            for t in range(length):
                dst[t] += tap * wide[t]
    _unstage(stage, grad_in, stride_h, stride_w, pad_top, phase_w, col_plan, streams)


@njit(cache=True, fastmath=False)
def _grad_weight_plane(plane, grad_out, partial, stride_h, stride_w, pad_top, phase_w, col_plan,
                       tap_plan, stage, wide, lanes, streams):
    # plane (H, W), grad_out (M, Ho, Wo) of channel c's outputs, partial (M, kH*kW):
    # partial[m, (u, v)] = sum_{i,j} grad_out[m, i, j] * x_pad[s*i + d*u, s*j + d*v].
    multiplier, taps = partial.shape
    length = wide.shape[0]
    _stage(plane, stage, stride_h, stride_w, pad_top, phase_w, col_plan, streams)
    for m in range(multiplier):
        _to_wide(grad_out[m], wide, phase_w)  # zero scratch columns add nothing
        for k in range(0, taps, 3):  # three taps per pass (a missing third repeats tap k)
            k1, k2 = min(k + 1, taps - 1), min(k + 2, taps - 1)
            dot0, dot1, dot2 = _dots3(wide, stage[tap_plan[k, 0], tap_plan[k, 1]:],
                                      stage[tap_plan[k1, 0], tap_plan[k1, 1]:],
                                      stage[tap_plan[k2, 0], tap_plan[k2, 1]:], length, lanes)
            partial[m, k] = dot0
            partial[m, k1] = dot1
            partial[m, k2] = dot2


# ---------------------------------------------------------------- parallel over the N*C planes
# prange over blocks of consecutive (n, c) planes, a few blocks per thread (load balance);
# each block allocates and zeroes its scratch buffers once.

# Runs are rounded up to whole multiples of this many elements: LLVM's vectorised loop
# handles 4 x 16 float32 per iteration and leaves the rest to a scalar loop, which on small
# planes (a 92-element run for an 8x8 image and a 5x5 kernel) took most of the time.
_VECTOR_RUN = 64


@njit(cache=True, inline="always")
def _whole_vectors(length):
    return -(-length // _VECTOR_RUN) * _VECTOR_RUN


@njit(cache=True, inline="always")
def _block(block, blocks, total):
    return block * total // blocks, (block + 1) * total // blocks


@njit(parallel=True, cache=True, fastmath=False)
def _forward_kernel(x, weight, bias, stride_h, stride_w, pad_top, phase_h, phase_w, col_plan,
                    tap_plan, blocks, out):
    # x (N, C, H, W), weight (C*M, kH*kW), bias (C*M,), out (N, C*M, Ho, Wo), C-contiguous.
    n_batch, channels = x.shape[0], x.shape[1]
    multiplier = weight.shape[0] // channels
    length = _whole_vectors((out.shape[2] - 1) * phase_w + out.shape[3])
    for block in prange(blocks):
        first, last = _block(block, blocks, n_batch * channels)
        # a tail of zeros past the last phase row: the rounded-up runs read into it
        stage = np.zeros((stride_h * stride_w, phase_h * phase_w + _VECTOR_RUN), dtype=x.dtype)
        acc = np.empty(length, dtype=x.dtype)
        streams = np.empty((2, x.shape[2] * x.shape[3] // 2), dtype=x.dtype)
        for task in range(first, last):
            n, c = task // channels, task % channels
            outputs = slice(c * multiplier, (c + 1) * multiplier)
            _forward_plane(x[n, c], weight[outputs], bias[outputs], out[n, outputs], stride_h,
                           stride_w, pad_top, phase_w, col_plan, tap_plan, stage, acc, streams)


@njit(parallel=True, cache=True, fastmath=False)
def _grad_input_kernel(grad_out, weight, stride_h, stride_w, pad_top, phase_h, phase_w, col_plan,
                       tap_plan, blocks, grad_in):
    # grad_out (N, C*M, Ho, Wo), weight (C*M, kH*kW), grad_in (N, C, H, W); a task owns one
    # input plane, so no two tasks write the same element.
    n_batch, channels = grad_in.shape[0], grad_in.shape[1]
    multiplier = weight.shape[0] // channels
    length = _whole_vectors((grad_out.shape[2] - 1) * phase_w + grad_out.shape[3])
    for block in prange(blocks):
        first, last = _block(block, blocks, n_batch * channels)
        stage = np.empty((stride_h * stride_w, phase_h * phase_w + _VECTOR_RUN),
                         dtype=grad_in.dtype)
        wide = np.zeros(length, dtype=grad_in.dtype)  # its rounded-up tail stays zero
        streams = np.empty((2, grad_in.shape[2] * grad_in.shape[3] // 2), dtype=grad_in.dtype)
        for task in range(first, last):
            n, c = task // channels, task % channels
            outputs = slice(c * multiplier, (c + 1) * multiplier)
            _grad_input_plane(grad_out[n, outputs], weight[outputs], grad_in[n, c], stride_h,
                              stride_w, pad_top, phase_w, col_plan, tap_plan, stage, wide,
                              streams)


@njit(parallel=True, cache=True, fastmath=False)
def _grad_weight_kernel(x, grad_out, stride_h, stride_w, pad_top, phase_h, phase_w, col_plan,
                        tap_plan, blocks, partial):
    # x (N, C, H, W), grad_out (N, C*M, Ho, Wo), partial (N, C*M, kH*kW): the terms of
    # grad_w[o, u, v] = sum_{n,i,j} grad_out[n, o, i, j] * x_pad[n, c, s*i + d*u, s*j + d*v]
    # for one n each (the caller sums over n).
    n_batch, channels = x.shape[0], x.shape[1]
    multiplier = partial.shape[1] // channels
    length = _whole_vectors((grad_out.shape[2] - 1) * phase_w + grad_out.shape[3])
    for block in prange(blocks):
        first, last = _block(block, blocks, n_batch * channels)
        stage = np.zeros((stride_h * stride_w, phase_h * phase_w + _VECTOR_RUN), dtype=x.dtype)
        wide = np.zeros(length, dtype=x.dtype)  # its rounded-up tail stays zero
        lanes = np.empty((3, _LANES), dtype=x.dtype)
        streams = np.empty((2, x.shape[2] * x.shape[3] // 2), dtype=x.dtype)
        for task in range(first, last):
            n, c = task // channels, task % channels
            outputs = slice(c * multiplier, (c + 1) * multiplier)
            _grad_weight_plane(x[n, c], grad_out[n, outputs], partial[n, outputs], stride_h,
                               stride_w, pad_top, phase_w, col_plan, tap_plan, stage, wide, lanes,
                               streams)


def _blocks(tasks):
    """How many blocks of planes to hand out: about 8 per Numba thread."""
    return max(1, min(tasks, 8 * numba.get_num_threads()))


def _plan(size, out_size, kernel, stride, padding, dilation):
    """The integer bookkeeping of the kernels, done once here in Python.

    Returns ``(stride_h, stride_w, pad_top, phase_h, phase_w, col_plan, tap_plan)``:
    phase planes of ``phase_h x phase_w`` covering the padded image and every tap's
    reach; ``col_plan[b] = (first input column in column phase b, its phase column,
    how many)``; ``tap_plan[u*kW + v] = (phase, flat shift)`` of tap ``(u, v)``.
    """
    phases = []
    for axis in range(2):
        reach = (out_size[axis] - 1) * stride[axis] + (kernel[axis] - 1) * dilation[axis] + 1
        span = max(size[axis] + padding[axis][0], reach)
        phases.append(-(-span // stride[axis]))  # ceil(span / stride)
    phase_h, phase_w = phases
    (s_h, s_w), pad_left = stride, padding[1][0]
    col_plan = np.zeros((s_w, 3), dtype=np.int64)
    for b in range(s_w):
        first = (b - pad_left) % s_w  # first input column whose padded position is b mod s_w
        if first < size[1]:
            col_plan[b] = (first, (first + pad_left) // s_w, -(-(size[1] - first) // s_w))
    tap_plan = np.empty((kernel[0] * kernel[1], 2), dtype=np.int64)
    for u in range(kernel[0]):
        for v in range(kernel[1]):
            reach_h, reach_w = u * dilation[0], v * dilation[1]
            tap_plan[u * kernel[1] + v] = ((reach_h % s_h) * s_w + reach_w % s_w,
                                           (reach_h // s_h) * phase_w + reach_w // s_w)
    return s_h, s_w, padding[0][0], phase_h, phase_w, col_plan, tap_plan


def _taps(weight):
    """(C*M, 1, kH, kW) -> contiguous (C*M, kH*kW)."""
    return np.ascontiguousarray(weight.reshape(weight.shape[0], -1))


def forward(x, weight, bias, stride, padding, dilation, out_size):
    """``y`` (N, C*M, Ho, Wo) for ``x`` (N, C, H, W), ``weight`` (C*M, 1, kH, kW), ``bias``
    (C*M,) or None."""
    x = np.ascontiguousarray(x)
    out = np.empty((x.shape[0], weight.shape[0]) + tuple(out_size), dtype=x.dtype)
    bias = np.zeros(weight.shape[0], dtype=x.dtype) if bias is None else np.ascontiguousarray(bias)
    plan = _plan(x.shape[2:], out_size, weight.shape[2:], stride, padding, dilation)
    _forward_kernel(x, _taps(weight), bias, *plan, _blocks(x.shape[0] * x.shape[1]), out)
    return out


def grad_input(grad_out, weight, channels, input_size, stride, padding, dilation):
    """``dL/dx`` (N, C, H, W), ``C = channels``, ``(H, W) = input_size``."""
    grad_out = np.ascontiguousarray(grad_out)
    grad_in = np.empty((grad_out.shape[0], channels) + tuple(input_size), dtype=grad_out.dtype)
    plan = _plan(input_size, grad_out.shape[2:], weight.shape[2:], stride, padding, dilation)
    _grad_input_kernel(grad_out, _taps(weight), *plan, _blocks(grad_out.shape[0] * channels),
                       grad_in)
    return grad_in


def grad_weight(x, grad_out, weight_shape, stride, padding, dilation):
    """``dL/dw`` with ``weight_shape`` (C*M, 1, kH, kW)."""
    x = np.ascontiguousarray(x)
    grad_out = np.ascontiguousarray(grad_out)
    partial = np.empty((x.shape[0], weight_shape[0], weight_shape[2] * weight_shape[3]),
                       dtype=x.dtype)
    plan = _plan(x.shape[2:], grad_out.shape[2:], weight_shape[2:], stride, padding, dilation)
    _grad_weight_kernel(x, grad_out, *plan, _blocks(x.shape[0] * x.shape[1]), partial)
    return partial.sum(axis=0).reshape(weight_shape)
