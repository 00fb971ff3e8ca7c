"""Pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d.

Notation (per spatial axis; the same rules hold for H and W):

* ``n`` input size, ``k`` kernel size, ``s`` stride, ``p`` padding, ``d`` dilation
  (max pooling only; 1 for average pooling);
* the window of output position ``i`` reads the padded positions
  ``i*s + u*d`` for ``u = 0..k-1``, i.e. the input positions ``i*s + u*d - p``;
* output size (PyTorch's ``pooling_output_shape``)::

      n_out = floor((n + 2p - d(k-1) - 1 + (s-1 if ceil_mode else 0)) / s) + 1
      with ceil_mode, n_out -= 1 if (n_out - 1) * s >= n + p

  (ceil_mode rounds up, but the last window must start inside the input or
  the left padding). ``p <= k // 2`` is required, as in PyTorch.

Inputs are ``(N, C, H, W)`` or ``(C, H, W)``; every channel plane is pooled
on its own, so the operators flatten the leading axes to one batch axis
``B`` and work on ``(B, H, W)`` arrays.

Implementation: the (padded) input is read through ``k_h * k_w`` strided
views, one per kernel offset ``(u, v)``; view ``(u, v)`` holds, for every
output position, the element at that offset of its window (shape
``(B, H_out, W_out)``). A pooling is then a loop of ``k_h * k_w`` whole-array
operations, and its backward scatters the gradient back through the same
views (overlapping windows accumulate). The padded input is kept as its
column phases (see ``_padded_phases``) so that each view is contiguous
along W.

GPU: max pooling of CuPy arrays runs minicnn's CUDA kernels
(``kernels/maxpool.py`` through ``_gpu.py``: forward with flat indices, and a
gathering backward); the other poolings run the formulas below on CuPy.
"""
from collections import namedtuple

import numpy as np

from .._validation import as_pair, require_ndim
from ..backend import is_cupy_array, xp_of
from ..function import Function
from . import _gpu
from ._common import require_float_input


# ----------------------------------------------------------------- geometry
class _Axis(namedtuple("_Axis", "size kernel stride padding dilation out")):
    """One spatial axis of a sliding-window pooling."""

    __slots__ = ()

    @property
    def span(self) -> int:
        """Extent of one (dilated) window: ``d (k - 1) + 1``."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def extent(self) -> int:
        """Length of the padded axis: the left padding, the input, and as much right
        padding as the windows reach (with ceil_mode the last window may overhang
        the right padding; the overhang is padded too, and excluded from averages)."""
        last_end = (self.out - 1) * self.stride + self.span if self.out > 0 else 0
        return max(self.padding + self.size, last_end)

    @property
    def padded(self) -> bool:
        return self.extent != self.size

    def window(self, offset: int) -> slice:
        """Padded positions ``i*s + offset*d`` for ``i = 0..n_out-1``."""
        start = offset * self.dilation
        return slice(start, start + (self.out - 1) * self.stride + 1, self.stride)

    def first_offset(self):
        """Per output position, the first kernel offset at or past input position 0:
        the smallest ``u`` with ``i*s + u*d - p >= 0`` (it exists, as ``p <= k // 2``).
        PyTorch's max pooling starts its index there."""
        start = np.arange(self.out) * self.stride - self.padding
        return np.maximum(0, -(start // self.dilation))  # ceil(-start / d) when start < 0


def _output_size(size, kernel, stride, padding, dilation, ceil_mode) -> int:
    """PyTorch's ``pooling_output_shape`` (see the module docstring)."""
    span = dilation * (kernel - 1) + 1
    out = (size + 2 * padding - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # the last window would start in the right padding: drop it
    return out


def _kernel_geometry(rows, cols):
    """(kernel, stride, padding, dilation) pairs, as the GPU kernels take them."""
    return tuple((getattr(rows, name), getattr(cols, name))
                 for name in ("kernel", "stride", "padding", "dilation"))


def _offsets(rows, cols):
    """Kernel offsets ``(k, u, v)`` in PyTorch's scan order (row-major, ``k = u*k_w + v``)."""
    return [(u * cols.kernel + v, u, v) for u in range(rows.kernel) for v in range(cols.kernel)]


# The padded input is held as its column phases: phase ``b`` (0 <= b < s_w)
# holds the padded columns b, b + s_w, b + 2 s_w, ... contiguously. Window
# element (u, v) of output column j sits in padded column
# ``j*s + v*d = (j + r)*s + b`` with ``(r, b) = divmod(v*d, s)``: column j + r of
# phase b. So every kernel offset's view is unit-stride along W, where NumPy's
# loops vectorise; a view with stride 2 along W ran ~15x slower per element.
# Building the phases costs one strided pass over the input (fused with the
# padding), which pays off as every phase serves k_h >= 1 offsets per column
# offset. With s_w = 1 there is one phase, the padded input itself (no copy
# at all when there is no padding either).
def _used_phases(cols):
    """The column phases ``(v * d) mod s`` that some kernel offset reads."""
    return sorted({(v * cols.dilation) % cols.stride for v in range(cols.kernel)})


def _phase_shapes(batch, rows, cols):
    """``{b: shape}`` of the used phases: (B, H_pad, #padded columns b + j*s_w)."""
    return {b: (batch, rows.extent, -(-(cols.extent - b) // cols.stride))
            for b in _used_phases(cols)}


def _phase_interior(cols, phase, width):
    """``(first, stop, column)``: phase columns ``[first, stop)`` hold input columns
    ``column, column + s, ...`` (padded column ``b + j*s`` is input column ``b + j*s - p``)."""
    first = max(0, -(-(cols.padding - phase) // cols.stride))  # ceil((p - b) / s)
    stop = max(first, min(width, -(-(cols.padding + cols.size - phase) // cols.stride)))
    return first, stop, phase + first * cols.stride - cols.padding


def _unpadded(rows, cols):
    return not rows.padded and not cols.padded and cols.stride == 1


def _padded_phases(x3, rows, cols, fill):
    """The column phases of ``x3`` (B, H, W) padded with ``fill``: ``{b: (B, H_pad, W_b)}``."""
    if _unpadded(rows, cols):
        return {0: x3}
    xp = xp_of(x3)
    top, bottom = rows.padding, rows.padding + rows.size
    phases = {}
    for b, shape in _phase_shapes(x3.shape[0], rows, cols).items():
        phase = xp.empty(shape, dtype=x3.dtype)
        first, stop, column = _phase_interior(cols, b, shape[2])
        # The border gets ``fill`` (thin slabs), the interior one strided copy.
        phase[:, :top, :] = fill
        phase[:, bottom:, :] = fill
        phase[:, top:bottom, :first] = fill
        phase[:, top:bottom, stop:] = fill
        if stop > first:
            phase[:, top:bottom, first:stop] = x3[:, :, column::cols.stride][:, :, :stop - first]
        phases[b] = phase
    return phases


def _unpad_phases(phases, shape, rows, cols):
    """The inverse of ``_padded_phases``: the input region (B, H, W) of the interleaved
    phases (the padding's entries are dropped)."""
    if _unpadded(rows, cols):
        return phases[0]
    xp = xp_of(phases[0])
    top, bottom = rows.padding, rows.padding + rows.size
    # Columns of an unused phase are read by no window: their gradient is zero.
    grad = (xp.empty if len(phases) == cols.stride else xp.zeros)(shape, dtype=phases[0].dtype)
    for b, phase in phases.items():
        first, stop, column = _phase_interior(cols, b, phase.shape[2])
        if stop > first:
            grad[:, :, column::cols.stride][:, :, :stop - first] = phase[:, top:bottom, first:stop]
    return grad


def _as_batch(x):
    """(N, C, H, W) or (C, H, W) as (B, H, W), B = N*C (or C): each plane is pooled alone."""
    return x.reshape((-1,) + x.shape[-2:])


def _windows(phases, rows, cols):
    """``(k, view)`` per kernel offset ``(u, v)`` in PyTorch's scan order.

    ``view`` (B, H_out, W_out) holds element ``(u, v)`` of every window:
    rows ``i*s_h + u*d_h`` (a row stride, harmless), columns from the phase
    of ``v`` (contiguous, see ``_padded_phases``).
    """
    for k, u, v in _offsets(rows, cols):
        shift, phase = divmod(v * cols.dilation, cols.stride)
        yield k, phases[phase][:, rows.window(u), shift:shift + cols.out]


def _offset_dtype(rows, cols):
    """The smallest integer type that holds a kernel offset ``k < k_h * k_w``."""
    count = rows.kernel * cols.kernel
    return np.int8 if count <= 127 else (np.int16 if count <= 32767 else np.int32)


def _window_max(phases, rows, cols, with_offsets):
    """Window maxima (B, H_out, W_out) and, if asked, the kernel offset PyTorch picks.

    The offset is ``k = u*k_w + v`` of the element PyTorch's max pooling
    selects: it scans a window row-major over the *valid* (non-padding)
    positions from ``max = -inf`` with the first valid position as the index,
    and takes a position when ``value > max`` or ``value`` is NaN. Hence the
    first maximum; the last NaN if the window holds one; the first valid
    position if every valid value is -inf (see below for windows of padding only).

    Scanning the offsets in order, a strictly greater value moves the
    offset to the current ``k``; as ``k`` only grows, that is
    ``offset = max(offset, k * [view > best])``: integer arithmetic instead of
    masked assignment (``copyto(where=...)`` ran ~50x slower than a plain pass).
    NaN and all -inf windows are rare and fixed up afterwards.
    """
    xp = xp_of(phases[0])
    best = offsets = None
    for k, view in _windows(phases, rows, cols):  # view: (B, H_out, W_out)
        if best is None:
            best = view.copy()
            if with_offsets:
                offsets = xp.zeros(best.shape, dtype=_offset_dtype(rows, cols))
            continue
        if with_offsets:
            greater = view > best
            xp.maximum(offsets, xp.multiply(greater, k, dtype=offsets.dtype), out=offsets)
        xp.maximum(best, view, out=best)  # NaN propagates, as in PyTorch
    if not with_offsets:
        return best, None
    nan = xp.isnan(best)
    if bool(nan.any()):  # PyTorch keeps the last NaN of the window
        last_nan = xp.zeros_like(offsets)
        for k, view in _windows(phases, rows, cols):
            is_nan = xp.isnan(view)
            xp.maximum(last_nan, xp.multiply(is_nan, k, dtype=offsets.dtype), out=last_nan)
        offsets = xp.where(nan, last_nan, offsets)
    if rows.padded or cols.padded:
        all_inf = best == -np.inf
        if bool(all_inf.any()):
            # No value beat -inf, so the offset is still 0, which may be padding.
            # PyTorch's index starts at the first row and column >= 0 of the
            # window (the first input position when the window holds one; past
            # the plane's end, with the value -inf, when a dilated window holds
            # none) and is never moved in such a window.
            first = (rows.first_offset()[:, None] * cols.kernel
                     + cols.first_offset()[None, :])  # (H_out, W_out)
            offsets = xp.where(all_inf, xp.asarray(first, dtype=offsets.dtype), offsets)
    return best, offsets


def _flat_indices(offsets, rows, cols):
    """Kernel offsets as PyTorch's indices: ``h * W + w`` in the input plane (int64)."""
    xp = xp_of(offsets)
    offsets = offsets.astype(np.int64)
    u, v = offsets // cols.kernel, offsets % cols.kernel
    h = xp.arange(rows.out)[:, None] * rows.stride + u * rows.dilation - rows.padding
    w = xp.arange(cols.out)[None, :] * cols.stride + v * cols.dilation - cols.padding
    return h * cols.size + w


# ---------------------------------------------------------------- functions
class MaxPool2d(Function):
    """Max pooling over (dilated) windows, padding counting as ``-inf``.

    Forward, for each plane and output position ``(i, j)``::

        y[i, j] = max_{u < k_h, v < k_w} x_pad[i*s_h + u*d_h, j*s_w + v*d_w]

    Gradient: the whole of ``g[i, j]`` goes to the position ``(u*, v*)``
    that attains the maximum (the first in row-major order on ties, the last
    NaN if there is one: PyTorch's choice); where windows overlap, the
    contributions add::

        dL/dx[h, w] = sum_{(i, j): argmax of window (i, j) is (h, w)} g[i, j]

    A dilated window can hold padding only (e.g. ``H = 1``, ``k = 2``, ``d = 2``,
    ``p = 1``): its output is the constant ``-inf`` and it passes no gradient
    back. (PyTorch returns the same value and index, but its backward adds
    such a window's gradient at that nominal index, which can be another
    row's element.)

    Shapes: ``(*, H, W) -> (*, H_out, W_out)``.
    """

    @staticmethod
    def forward(ctx, x, *, rows, cols):
        if is_cupy_array(x) and _gpu.serves(x):  # GPU dispatch: kernels/maxpool.py
            geometry = _kernel_geometry(rows, cols)
            out, indices = _gpu.max_pool2d_forward(xp_of(x), x, *geometry,
                                                   (rows.out, cols.out))
            if ctx.needs_input_grad[0]:
                ctx.gpu_indices = indices
                ctx.meta = (x.shape, geometry)
            return out
        x3 = _as_batch(x)
        phases = _padded_phases(x3, rows, cols, -np.inf)
        out, offsets = _window_max(phases, rows, cols, with_offsets=ctx.needs_input_grad[0])
        if offsets is not None:
            ctx.offsets = offsets
            ctx.meta = (x.shape, x3.shape, rows, cols)
        return out.reshape(x.shape[:-2] + out.shape[1:])

    @staticmethod
    def backward(ctx, grad_out):
        if getattr(ctx, "gpu_indices", None) is not None:  # GPU dispatch: kernels/maxpool.py
            shape, geometry = ctx.meta
            return _gpu.max_pool2d_backward(xp_of(grad_out), grad_out, ctx.gpu_indices, shape,
                                            *geometry)
        shape, batch_shape, rows, cols = ctx.meta
        xp = xp_of(grad_out)
        grad3 = _as_batch(grad_out)  # (B, H_out, W_out)
        phases = {b: xp.zeros(s, dtype=grad_out.dtype)
                  for b, s in _phase_shapes(batch_shape[0], rows, cols).items()}
        for k, view in _windows(phases, rows, cols):
            # Each window's gradient where offset k won it: a product with the
            # mask beats a masked add (``where=``) many times over.
            view += grad3 * (ctx.offsets == k)
        return _unpad_phases(phases, batch_shape, rows, cols).reshape(shape)


class AvgPool2d(Function):
    """Average pooling over windows of zero padding.

    Forward, for each plane and output position ``(i, j)``::

        y[i, j] = (1 / D[i, j]) sum_{u < k_h, v < k_w} x_pad[i*s_h + u, j*s_w + v]

    with the divisor ``D`` (PyTorch's rules): along each axis, the window
    ``[i*s - p, min(i*s - p + k, n + p))`` is clipped to the padded input
    (with ceil_mode the last one may overhang it); then

    * ``D = divisor_override`` if given;
    * else with ``count_include_pad``: the clipped window's area (padding
      counts, the ceil_mode overhang does not);
    * else: the area of the window's intersection with the input.

    Gradient: ``dL/dx_pad[i*s_h + u, j*s_w + v] += g[i, j] / D[i, j]`` for every
    offset ``(u, v)``; the padding's share is dropped.

    Shapes: ``(*, H, W) -> (*, H_out, W_out)``.
    """

    @staticmethod
    def forward(ctx, x, *, rows, cols, divisor):
        xp = xp_of(x)
        x3 = _as_batch(x)
        out = None
        for _, view in _windows(_padded_phases(x3, rows, cols, 0), rows, cols):
            if out is None:  # view: (B, H_out, W_out)
                out = view.copy()
            else:
                out += view
        divisor = xp.asarray(divisor, dtype=x.dtype)  # (H_out, W_out) or a scalar
        out /= divisor
        ctx.meta = (x.shape, x3.shape, rows, cols, divisor)
        return out.reshape(x.shape[:-2] + out.shape[1:])

    @staticmethod
    def backward(ctx, grad_out):
        shape, batch_shape, rows, cols, divisor = ctx.meta
        xp = xp_of(grad_out)
        share = _as_batch(grad_out) / divisor  # (B, H_out, W_out): each window's g / D
        phases = {b: xp.zeros(s, dtype=grad_out.dtype)
                  for b, s in _phase_shapes(batch_shape[0], rows, cols).items()}
        for _, view in _windows(phases, rows, cols):
            view += share
        return _unpad_phases(phases, batch_shape, rows, cols).reshape(shape)


def _avg_divisor(rows, cols, count_include_pad, divisor_override):
    """PyTorch's average-pooling divisor ``D`` (see AvgPool2d), shape (H_out, W_out)."""
    if divisor_override is not None:
        return float(divisor_override)

    def counts(axis):
        start = np.arange(axis.out) * axis.stride - axis.padding
        end = np.minimum(start + axis.kernel, axis.size + axis.padding)  # clip the overhang
        if count_include_pad:
            return end - start
        return np.minimum(end, axis.size) - np.maximum(start, 0)  # the input part only

    return (counts(rows)[:, None] * counts(cols)[None, :]).astype(np.float64)


def _adaptive_bins(size, out):
    """PyTorch's adaptive bins: ``start_i = floor(i n / m)``, ``end_i = ceil((i+1) n / m)``."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _bin_matrix(size, out, dtype):
    """``P`` (out, size) with ``P[i, h] = 1 / (end_i - start_i)`` inside bin ``i``, else 0."""
    start, end = _adaptive_bins(size, out)
    h = np.arange(size)
    inside = (h[None, :] >= start[:, None]) & (h[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _matmul_axis(xp, a, matrix, axis):
    """``matrix @ a`` along ``axis`` (1 or 2) of a 3-D array ``a``: one 2-D GEMM."""
    batch = a.shape[0]
    if axis == 2:  # (B*H, W) @ (W, W') -> (B, H, W')
        return (a.reshape(-1, a.shape[2]) @ matrix.T).reshape(batch, a.shape[1], -1)
    # Move the axis last so that a single GEMM covers every plane:
    # (B, H, W) -> (B*W, H) @ (H, H') -> (B, W, H') -> (B, H', W)
    moved = a.transpose(0, 2, 1).reshape(-1, a.shape[1])
    result = (moved @ matrix.T).reshape(batch, a.shape[2], -1)
    return xp.ascontiguousarray(result.transpose(0, 2, 1))


class AdaptiveAvgPool2d(Function):
    """Adaptive average pooling to an output size ``(H_out, W_out)``.

    Bins (PyTorch's): ``[floor(i H / H_out), ceil((i+1) H / H_out))`` along H,
    likewise along W; bins may overlap, and ``H_out > H`` repeats rows.
    The mean over a rectangle is the mean along H of the means along W, so
    with ``P_H`` (H_out, H), ``P_H[i, h] = 1 / |bin i|`` for ``h`` in bin ``i``
    (else 0), and ``P_W`` likewise, each plane is::

        y = P_H x P_W^T                 (H_out, H) (H, W) (W, W_out)

    Gradient: ``dL/dx = P_H^T g P_W``.

    Global pooling (``output_size`` 1x1, the SE blocks' squeeze and the
    classifier's pool) is ``P_H = 1/H``, ``P_W = 1/W``: ``y = mean(x)`` per
    plane and ``dL/dx = g / (H W)`` everywhere, computed as such (the two
    products with one-row matrices took most of EfficientNet's pooling time).

    Shapes: ``(*, H, W) -> (*, H_out, W_out)``.
    """

    @staticmethod
    def forward(ctx, x, *, output_size):
        xp = xp_of(x)
        (height, width), (out_h, out_w) = x.shape[-2:], output_size
        if (out_h, out_w) == (1, 1):
            ctx.meta = (x.shape, None, None)
            return _as_batch(x).mean(axis=(1, 2)).reshape(x.shape[:-2] + (1, 1))
        rows = xp.asarray(_bin_matrix(height, out_h, x.dtype))  # P_H (H_out, H)
        cols = xp.asarray(_bin_matrix(width, out_w, x.dtype))  # P_W (W_out, W)
        x3 = _as_batch(x)
        out = _matmul_axis(xp, _matmul_axis(xp, x3, cols, 2), rows, 1)  # (B, H_out, W_out)
        ctx.meta = (x.shape, rows, cols)
        return out.reshape(x.shape[:-2] + out.shape[1:])

    @staticmethod
    def backward(ctx, grad_out):
        shape, rows, cols = ctx.meta
        xp = xp_of(grad_out)
        grad3 = _as_batch(grad_out)  # (B, H_out, W_out)
        if rows is None:  # global pooling: g / (H W) on every pixel of its plane
            grad = xp.empty(shape, dtype=grad_out.dtype)
            _as_batch(grad)[...] = grad3 / (shape[-2] * shape[-1])
            return grad
        # P_H^T g P_W: (B, H_out, W_out) -> (B, H_out, W) -> (B, H, W)
        grad = _matmul_axis(xp, _matmul_axis(xp, grad3, cols.T, 2), rows.T, 1)
        return grad.reshape(shape)


def _adaptive_argmax_axis(xp, a, axis, out):
    """Max of ``a`` (B, H, W) over the adaptive bins along ``axis`` (1 or 2), with the index.

    Scans each bin in order with PyTorch's rule (take a value when it is
    ``> max`` or NaN), starting from the bin's first element. A bin shorter
    than the longest is padded by repeating its last index, which never
    changes the result. Returns the maxima and the winning index along
    ``axis`` (each shaped like ``a`` with ``axis`` resized to ``out``).
    """
    start, end = _adaptive_bins(a.shape[axis], out)
    length = int((end - start).max()) if out > 0 else 0
    shape = (1, -1, 1) if axis == 1 else (1, 1, -1)
    best = index = None
    for step in range(length):
        at = np.minimum(start + step, end - 1)  # (out,) this step's index in each bin
        candidate = xp.take(a, xp.asarray(at), axis=axis)
        at = xp.asarray(at.reshape(shape))
        if best is None:
            best, index = candidate, xp.broadcast_to(at, candidate.shape).copy()
            continue
        # ``at`` never decreases with ``step``, so "move the index to ``at``
        # where taken" is a maximum; and the new best, ``candidate`` where
        # taken, is ``maximum(best, candidate)`` (NaN wins either way).
        taken = (candidate > best) | xp.isnan(candidate)
        xp.maximum(index, taken * at, out=index)
        xp.maximum(best, candidate, out=best)
    if best is None:  # an empty output (out == 0)
        shape = list(a.shape)
        shape[axis] = 0
        best, index = xp.empty(shape, dtype=a.dtype), xp.empty(shape, dtype=np.int64)
    return best, index


def _adaptive_max(x3, output_size):
    """Maxima (B, H_out, W_out) and PyTorch's flat indices ``h*W + w`` of adaptive max pooling.

    The max over a rectangle is the max over its rows of each row's max, and
    PyTorch's choice (the first maximum in row-major order, or the last NaN)
    composes the same way: within each row the first maximum (last NaN), then
    the first row whose winner is the maximum (the last row with a NaN).
    """
    xp = xp_of(x3)
    width = x3.shape[2]
    row_best, col_index = _adaptive_argmax_axis(xp, x3, 2, output_size[1])  # (B, H, W_out)
    best, row_index = _adaptive_argmax_axis(xp, row_best, 1, output_size[0])  # (B, H_out, W_out)
    # The column that won in the winning row: col_index[b, row_index[b, i, j], j].
    col = xp.take_along_axis(col_index, row_index, axis=1)
    return best, row_index * width + col


class AdaptiveMaxPool2d(Function):
    """Adaptive max pooling to ``(H_out, W_out)`` over PyTorch's bins (see AdaptiveAvgPool2d).

    Forward: ``y[i, j] = max_{h in bin_H(i), w in bin_W(j)} x[h, w]``, computed
    separably (a row maximum per bin of columns, then a maximum over each bin
    of rows). ``indices`` holds the flat position ``h*W + w`` of the chosen
    element (the first maximum in row-major order; the last NaN if any).

    Gradient: ``dL/dx[h, w] = sum_{(i, j): index(i, j) = h*W + w} g[i, j]``
    (bins overlap when H_out does not divide H, so positions can collect
    several contributions).

    Shapes: ``(*, H, W) -> (*, H_out, W_out)``.
    """

    @staticmethod
    def forward(ctx, x, *, output_size):
        best, indices = _adaptive_max(_as_batch(x), output_size)
        ctx.meta = (x.shape, indices)
        return best.reshape(x.shape[:-2] + best.shape[1:])

    @staticmethod
    def backward(ctx, grad_out):
        shape, indices = ctx.meta
        xp = xp_of(grad_out)
        batch, plane = indices.shape[0], shape[-2] * shape[-1]
        # Scatter-add into each plane: plane b owns the flat range [b*plane, (b+1)*plane).
        # bincount sums repeated targets (overlapping bins) in one pass.
        flat = (indices + xp.arange(batch)[:, None, None] * plane).reshape(-1)
        grad = xp.bincount(flat, weights=_as_batch(grad_out).reshape(-1),
                           minlength=batch * plane)
        return grad.astype(grad_out.dtype, copy=False).reshape(shape)


# ------------------------------------------------------------------ functional
def _check_input(input, op):
    require_float_input(input, "input", op)
    require_ndim(input, "input", (3, 4), op, "(N, C, H, W) or (C, H, W)")
    planes = input.shape[1:] if input.ndim == 4 else input.shape
    if 0 in planes:  # PyTorch allows only the batch axis to be empty
        raise ValueError(f"{op}: input must have non-zero channel and spatial sizes "
                         f"(only N may be 0), got shape {tuple(input.shape)}")


def _check_bool(value, name, op):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be a bool, got {value!r}")


def _window_geometry(input, op, kernel_size, stride, padding, dilation, ceil_mode):
    """The two ``_Axis`` of a sliding-window pooling, after PyTorch's checks."""
    kernel = as_pair(kernel_size, "kernel_size", 1, op)
    # stride=None (or PyTorch's empty list) means stride = kernel_size.
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else as_pair(stride, "stride", 1, op)
    padding = as_pair(padding, "padding", 0, op)
    dilation = as_pair(dilation, "dilation", 1, op)
    _check_bool(ceil_mode, "ceil_mode", op)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding must be at most half the kernel size "
                         f"(padding <= kernel_size // 2), got padding={padding} "
                         f"with kernel_size={kernel}")
    size = tuple(input.shape[-2:])
    out = tuple(_output_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(size, kernel, stride, padding, dilation))
    if min(out) < 1:
        raise ValueError(f"{op}: kernel_size={kernel} (dilation={dilation}) is larger than the "
                         f"padded input: input size {size} with padding={padding} gives output "
                         f"size {out}; the output must be at least 1x1")
    return tuple(_Axis(n, k, s, p, d, o)
                 for n, k, s, p, d, o in zip(size, kernel, stride, padding, dilation, out))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling (see :class:`MaxPool2d` for the formulas).

    ``input`` (N, C, H, W) or (C, H, W); ``kernel_size``, ``stride`` (default
    ``kernel_size``), ``padding`` (at most ``kernel_size // 2``, filled with
    ``-inf``) and ``dilation`` are ints or pairs. With ``return_indices`` also
    returns the int64 position ``h*W + w`` of each maximum within its input
    plane (PyTorch's convention; the indices carry no gradient).
    """
    op = "max_pool2d"
    _check_input(input, op)
    rows, cols = _window_geometry(input, op, kernel_size, stride, padding, dilation, ceil_mode)
    _check_bool(return_indices, "return_indices", op)
    out = MaxPool2d.apply(input, rows=rows, cols=cols)
    if not return_indices:
        return out
    from ..tensor import Tensor

    phases = _padded_phases(_as_batch(input.data), rows, cols, -np.inf)
    _, offsets = _window_max(phases, rows, cols, with_offsets=True)
    indices = _flat_indices(offsets, rows, cols).reshape(out.shape)
    return out, Tensor._wrap(indices)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling (see :class:`AvgPool2d` for the formulas and divisor rules).

    ``input`` (N, C, H, W) or (C, H, W); ``kernel_size``, ``stride`` (default
    ``kernel_size``) and ``padding`` (at most ``kernel_size // 2``, zeros) are
    ints or pairs; ``divisor_override`` a non-zero int.
    """
    op = "avg_pool2d"
    _check_input(input, op)
    rows, cols = _window_geometry(input, op, kernel_size, stride, padding, 1, ceil_mode)
    _check_bool(count_include_pad, "count_include_pad", op)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override,
                                                                 (int, np.integer)):
            raise TypeError(f"{op}: divisor_override must be an int or None, "
                            f"got {divisor_override!r}")
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must not be zero, got 0")
    divisor = _avg_divisor(rows, cols, count_include_pad, divisor_override)
    return AvgPool2d.apply(input, rows=rows, cols=cols, divisor=divisor)


def _adaptive_size(input, output_size, op):
    """``output_size`` (int, or pair of int/None: None keeps that input size) as a pair."""
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 2:
            raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
        pair = tuple(input.shape[-2 + i] if s is None else s for i, s in enumerate(output_size))
    else:
        pair = (output_size, output_size)
    for s in pair:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"{op}: output_size must be an int or a pair of ints/None, "
                            f"got {output_size!r}")
        if s < 0:
            raise ValueError(f"{op}: output_size must be >= 0, got {output_size!r}")
    return int(pair[0]), int(pair[1])


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed ``output_size`` (see :class:`AdaptiveAvgPool2d`).

    ``output_size``: an int, or a pair whose None entries keep the input size.
    Any size works, including one larger than the input.
    """
    op = "adaptive_avg_pool2d"
    _check_input(input, op)
    return AdaptiveAvgPool2d.apply(input, output_size=_adaptive_size(input, output_size, op))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed ``output_size`` (see :class:`AdaptiveMaxPool2d`).

    With ``return_indices`` also returns the int64 flat positions ``h*W + w``
    of the maxima within their input planes.
    """
    op = "adaptive_max_pool2d"
    _check_input(input, op)
    size = _adaptive_size(input, output_size, op)
    _check_bool(return_indices, "return_indices", op)
    if not return_indices:
        return AdaptiveMaxPool2d.apply(input, output_size=size)
    from ..tensor import Tensor

    out = AdaptiveMaxPool2d.apply(input, output_size=size)
    _, indices = _adaptive_max(_as_batch(input.data), size)
    return out, Tensor._wrap(indices.reshape(out.shape))
