"""Resampling: interpolate (nearest, bilinear) with PyTorch's index arithmetic.

Both modes are separable: each output row reads one or two input rows, each
output column one or two input columns, so resizing an image (N, C, H, W) to
(H_out, W_out) is a linear map applied along W and then along H::

    y = A_H  x  A_W^T          A_H (H_out, H), A_W (W_out, W)

Row ``o`` of ``A`` (one axis: input length ``n_in``, output length ``n_out``):

* nearest: a 1 at ``i0 = min(floor(o * r), n_in - 1)``, ``r = 1/scale_factor``
  when a scale factor is given (and not recomputed), else ``n_in / n_out``, in
  float32 (PyTorch's ``nearest_idx``, including its special cases: ``n_out == n_in``
  copies, ``n_out == 2 n_in`` takes ``o // 2``);
* bilinear: ``l0 = 1 - l1`` at ``i0`` and ``l1`` at ``i1 = min(i0 + 1, n_in - 1)``,
  ``i0 = min(floor(src), n_in - 1)``, ``l1 = clamp(src - i0, 0, 1)``, with the source
  coordinate ``src = o * (n_in - 1)/(n_out - 1)`` for align_corners=True (0 when
  ``n_out == 1``) and ``src = max((o + 1/2) * r - 1/2, 0)`` otherwise (pixel centres
  aligned); computed in the input's precision (float32 for float32) as PyTorch
  does; ``n_out == n_in`` copies.

Forward gathers the (one or two) source rows/columns and blends them
(``l0 * x[i0] + l1 * x[i1]`` along W, then along H: PyTorch's operations in
PyTorch's order, and a copy for nearest, so infinities stay where they were).
Backward is the transposed map, the scatter-add of each output gradient onto the
pixels it was blended from, written as two small matrix products::

    dL/dx = A_H^T  (dL/dy)  A_W         (H, H_out) @ (N, C, H_out, W_out) @ (W_out, W)

GPU: the same array code on CuPy (takes and cuBLAS products; no kernel of its own).
"""
import numbers

import numpy as np

from .._validation import UnsupportedForm, _is_int, require_bool
from ..backend import xp_of
from ..function import Function
from ._common import require_float_input

MODES = ("nearest", "bilinear")
#: PyTorch's other modes: named in the error instead of being mistaken for a typo.
_OTHER_MODES = ("linear", "bicubic", "trilinear", "area", "nearest-exact")


class AxisMap:
    """One axis of the resampling: output ``o`` reads ``index0[o]`` (weight ``weight0[o]``)
    and, for bilinear, ``index1[o]`` (weight ``weight1[o]``). Host arrays; ``weight0`` is
    None for nearest (a copy, no arithmetic)."""

    def __init__(self, in_size, index0, index1=None, weight0=None, weight1=None):
        self.in_size = in_size
        self.index0, self.index1 = index0, index1
        self.weight0, self.weight1 = weight0, weight1

    def apply(self, x, axis):
        """Resample ``x`` along ``axis``: ``take`` (nearest) or ``l0 x[i0] + l1 x[i1]``."""
        xp = xp_of(x)
        picked = xp.take(x, xp.asarray(self.index0), axis=axis)
        if self.weight0 is None:
            return picked
        shape = (-1,) + (1,) * (x.ndim - 1 - axis)  # the weights along ``axis``
        weight0 = xp.asarray(self.weight0.astype(x.dtype)).reshape(shape)
        weight1 = xp.asarray(self.weight1.astype(x.dtype)).reshape(shape)
        return weight0 * picked + weight1 * xp.take(x, xp.asarray(self.index1), axis=axis)

    def matrix(self, xp, dtype):
        """``A`` (n_out, n_in): row ``o`` holds the weights output ``o`` reads (sums where
        ``i0 == i1``)."""
        columns = np.arange(self.in_size)
        if self.weight0 is None:
            matrix = self.index0[:, None] == columns
        else:
            matrix = ((self.index0[:, None] == columns) * self.weight0[:, None]
                      + (self.index1[:, None] == columns) * self.weight1[:, None])
        return xp.asarray(matrix.astype(dtype))


def nearest_map(in_size, out_size, scale):
    """PyTorch's ``nearest_idx``: ``min(floor(o * r), n_in - 1)`` in float32 (see module doc)."""
    outputs = np.arange(out_size)
    if out_size == in_size:
        return AxisMap(in_size, outputs)
    if out_size == 2 * in_size:
        return AxisMap(in_size, outputs // 2)
    ratio = np.float32(1.0 / scale) if scale is not None else \
        np.float32(in_size) / np.float32(out_size)
    source = np.floor(outputs.astype(np.float32) * ratio).astype(np.int64)
    return AxisMap(in_size, np.minimum(source, in_size - 1))


def linear_map(in_size, out_size, scale, align_corners, dtype):
    """Bilinear's two taps per output along one axis, in ``dtype`` arithmetic (module doc)."""
    outputs = np.arange(out_size)
    if out_size == in_size:
        ones = np.ones(out_size, dtype=dtype)
        return AxisMap(in_size, outputs, outputs, ones, np.zeros(out_size, dtype=dtype))
    real = dtype.type
    position = outputs.astype(dtype)
    if align_corners:
        ratio = real(in_size - 1) / real(out_size - 1) if out_size > 1 else real(0)
        source = ratio * position
    else:
        ratio = real(1.0 / scale) if scale is not None else real(in_size) / real(out_size)
        source = np.maximum(ratio * (position + real(0.5)) - real(0.5), real(0))
    index0 = np.minimum(np.floor(source).astype(np.int64), in_size - 1)
    weight1 = np.clip(source - index0.astype(dtype), real(0), real(1))
    index1 = index0 + (index0 < in_size - 1)
    return AxisMap(in_size, index0, index1, real(1) - weight1, weight1)


class Interpolate(Function):
    """Separable resize of (N, C, H, W) to (N, C, H_out, W_out) (see the module docstring)::

        y[n, c, i, j] = sum_{h, w} A_H[i, h] A_W[j, w] x[n, c, h, w]

    Backward: ``dL/dx = A_H^T (dL/dy) A_W``.
    """

    @staticmethod
    def forward(ctx, x, *, rows, cols):
        ctx.rows, ctx.cols = rows, cols
        return rows.apply(cols.apply(x, axis=3), axis=2)

    @staticmethod
    def backward(ctx, grad_out):
        xp = xp_of(grad_out)
        a_h = ctx.rows.matrix(xp, grad_out.dtype)  # (H_out, H)
        a_w = ctx.cols.matrix(xp, grad_out.dtype)  # (W_out, W)
        # (N, C, H_out, W_out) @ (W_out, W) -> (N, C, H_out, W); (H, H_out) @ it -> (N, C, H, W)
        return xp.matmul(a_h.T, xp.matmul(grad_out, a_w))


# ----------------------------------------------------------------------------- arguments
def _pair_of(value, name, op, check, want):
    """``value`` (one or two items passing ``check``) as a pair; TypeError naming ``want``."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(check(v) for v in items):
        raise TypeError(f"{op}: {name} must be {want} or a pair of them (one per spatial axis "
                        f"H, W), got {value!r}")
    return items


def _is_real(value):
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and \
        not isinstance(value, (bool, np.bool_))


def resize_arguments(op, size, scale_factor, mode, align_corners, recompute_scale_factor,
                     antialias=False):
    """Check everything but the input (``nn.Upsample`` does it at construction); returns
    ``(size pair or None, scale pair or None, mode, align_corners)``."""
    if not isinstance(mode, str) or mode not in MODES:
        if mode in _OTHER_MODES:
            raise NotImplementedError(f"{op}: mode={mode!r} is not implemented in minicnn; "
                                      f"the modes are {', '.join(map(repr, MODES))}")
        raise ValueError(f"{op}: mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError(f"{op}: align_corners can only be set with the interpolating mode "
                             f"'bilinear', got align_corners={align_corners!r} with "
                             f"mode='nearest'")
    else:
        align_corners = False if align_corners is None else \
            require_bool(align_corners, "align_corners", op)
    if require_bool(antialias, "antialias", op):
        raise UnsupportedForm(op, "antialias", "antialias=True was given; minicnn resamples "
                                               "without a low-pass filter")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor, got size={size!r} "
                         f"and scale_factor={scale_factor!r}")
    if recompute_scale_factor is not None:
        require_bool(recompute_scale_factor, "recompute_scale_factor", op)
        if recompute_scale_factor and size is not None:
            raise ValueError(f"{op}: recompute_scale_factor=True is not meaningful with an "
                             f"explicit size={size!r}")
    if size is not None:
        size = tuple(int(s) for s in _pair_of(size, "size", op, _is_int, "an int"))
        if min(size) < 1:
            raise ValueError(f"{op}: size must be >= 1, got {size!r}")
        return size, None, mode, align_corners
    scale = tuple(float(s) for s in _pair_of(scale_factor, "scale_factor", op, _is_real,
                                             "a real number"))
    if not all(np.isfinite(s) and s > 0 for s in scale):
        raise ValueError(f"{op}: scale_factor must be positive and finite, got "
                         f"{scale_factor!r}")
    return None, scale, mode, align_corners


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize ``input`` (N, C, H, W) to ``size`` or by ``scale_factor`` (PyTorch's arguments).

    ``size``: int or (H_out, W_out); ``scale_factor``: positive real or pair,
    the output ``H_out = floor(H * scale_factor)``; the index arithmetic then
    uses ``1/scale_factor`` unless ``recompute_scale_factor=True`` (which uses
    ``H / H_out``). ``mode``: ``'nearest'`` or ``'bilinear'``; ``align_corners``
    (bilinear only, default False): map the corner pixels' centres onto each
    other instead of the images' outer edges. Only 4-D inputs (PyTorch also
    takes 3-D/5-D for other modes). See the module docstring for the formulas.
    """
    op = "interpolate"
    require_float_input(input, "input", op)
    if input.ndim in (3, 5):
        raise UnsupportedForm(op, "resample-1d-3d", f"a {input.ndim}-D input (shape "
                              f"{tuple(input.shape)}) was given; minicnn resizes images, "
                              f"(N, C, H, W) only")
    size, scale, mode, align_corners = resize_arguments(
        op, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)
    if input.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W) for mode={mode!r} (minicnn "
                         f"resizes images only), got shape {tuple(input.shape)}")
    in_size = tuple(input.shape[2:])
    if size is None:
        size = tuple(int(n * s) for n, s in zip(in_size, scale))  # PyTorch truncates
        if min(size) < 1:
            raise ValueError(f"{op}: scale_factor={scale_factor!r} gives an empty output "
                             f"{size} for input size {in_size}; input and output sizes must "
                             f"be > 0")
        if recompute_scale_factor:
            scale = None
    if scale is None:
        scale = (None, None)
    if mode == "nearest":
        rows, cols = (nearest_map(n, m, s) for n, m, s in zip(in_size, size, scale))
    else:
        dtype = np.dtype(np.float64 if input.dtype == np.float64 else np.float32)
        rows, cols = (linear_map(n, m, s, align_corners, dtype)
                      for n, m, s in zip(in_size, size, scale))
    return Interpolate.apply(input, rows=rows, cols=cols)
