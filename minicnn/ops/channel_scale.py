"""Channel scaling: each channel of each sample multiplied by its own factor.

The last step of squeeze-and-excitation (``x * gate``, the gate (N, C, 1, 1)
from the excitation), as one operator: the same numbers as the broadcast
``x * scale``, with a backward that needs no unbroadcasting and, on a GPU,
minicnn's CUDA kernels (``kernels/se.py``).
"""
import math

from ..backend import is_cupy_array, xp_of
from ..function import Function
from . import _gpu
from ._common import require_float_input


def _per_channel(scale, ndim):
    """``scale`` (N, C) or (N, C, 1, ..., 1) as (N, C, 1, ..., 1) with ``ndim`` dims."""
    return scale.reshape(tuple(scale.shape[:2]) + (1,) * (ndim - 2))


class ChannelScale(Function):
    """``y[n, c, *] = x[n, c, *] * s[n, c]`` for ``x`` (N, C, *) and ``s`` (N, C).

    ``s`` may also be given as (N, C, 1, ..., 1), the shape a pooled gate
    has; it is read as (N, C) either way.

    Gradient, with ``g = dL/dy``::

        dL/dx[n, c, *] = g[n, c, *] * s[n, c]
        dL/ds[n, c]    = sum_* g[n, c, *] * x[n, c, *]     (over the spatial positions)

    Shapes: ``y`` and ``dL/dx`` like ``x``; ``dL/ds`` like ``s``.
    """

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x, scale)
        if is_cupy_array(x) and _gpu.serves(x, scale):  # GPU dispatch: kernels/se.py
            return _gpu.channel_scale_forward(xp_of(x), x, scale)
        return x * _per_channel(scale, x.ndim)  # (N, C, *) * (N, C, 1, ..., 1)

    @staticmethod
    def backward(ctx, grad_out):
        x, scale = ctx.saved_arrays
        if is_cupy_array(x) and _gpu.serves(x, scale, grad_out):  # GPU: kernels/se.py
            return _gpu.channel_scale_backward(xp_of(x), grad_out, x, scale,
                                               ctx.needs_input_grad)
        needs_x, needs_scale = ctx.needs_input_grad
        grad_x = grad_scale = None
        if needs_x:
            grad_x = grad_out * _per_channel(scale, x.ndim)
        if needs_scale:
            batch, channels = x.shape[:2]
            length = math.prod(x.shape[2:])  # not -1: ambiguous for an empty batch
            # one dot product per (n, c): (N, C, 1, L) @ (N, C, L, 1) -> (N, C, 1, 1), then
            # scale's own shape (measured 2.5x faster than the product array and its sum,
            # and as accurate: BLAS's dot products accumulate in blocks too)
            grad_scale = xp_of(x).matmul(grad_out.reshape(batch, channels, 1, length),
                                         x.reshape(batch, channels, length, 1)).reshape(scale.shape)
        return grad_x, grad_scale


def channel_scale(input, scale):
    """``input[n, c, *] * scale[n, c]``: per-sample, per-channel scaling (:class:`ChannelScale`).

    ``input`` (N, C, *) with at least 2 dimensions; ``scale`` (N, C) or
    (N, C, 1, ..., 1) with ``input``'s number of dimensions, of ``input``'s
    floating dtype. Equal to ``input * scale`` (broadcast) for a 4-D scale.
    """
    op = "channel_scale"
    require_float_input(input, "input", op)
    require_float_input(scale, "scale", op)
    if input.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C, *) with at least 2 dimensions, got shape "
                         f"{tuple(input.shape)}")
    lead = tuple(input.shape[:2])
    allowed = (lead, lead + (1,) * (input.ndim - 2))
    if tuple(scale.shape) not in allowed:
        raise ValueError(f"{op}: scale must have shape (N, C) = {lead} or {allowed[1]} for an "
                         f"input of shape {tuple(input.shape)}, got {tuple(scale.shape)}")
    if scale.dtype != input.dtype:
        raise TypeError(f"{op}: scale must have the input's dtype {input.dtype.name}, got "
                        f"{scale.dtype.name}")
    return ChannelScale.apply(input, scale)
