"""PReLU: a leaky ReLU whose negative slope is learned, one per channel or one shared.

``y = max(x, 0) + a[c] min(x, 0)`` with ``a`` the weight, of ``C`` entries (the
channel dim 1 of an input of 2 or more dims) or of one entry shared by every
element (any input). Formulas on NumPy and CuPy alike (``xp``): the GPU path.
"""
from ..backend import xp_of
from ..function import Function
from ._common import require_float_input


def _channel_view(weight, ndim):
    """``weight`` (C,) shaped to broadcast along dim 1 of an ``ndim``-D input: (1, C, 1, ...)."""
    if weight.size == 1 or ndim < 2:
        return weight.reshape(())
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


class PReLU(Function):
    """``y = x`` for ``x > 0``, ``y = a_c x`` otherwise (``a_c`` the slope of x's channel).

    Gradients, with ``m = [x > 0]`` (0 at the kink ``x = 0``, where the slope
    ``a_c`` is used, as PyTorch and as leaky_relu):

    * ``dL/dx = g (m + a_c (1 - m))``;
    * ``dL/da_c = sum over every element of channel c of g min(x, 0)``: ``a_c``
      multiplies ``min(x, 0)`` only, so each element contributes ``g x`` where
      ``x <= 0`` and 0 elsewhere; a single shared ``a`` sums over all elements.

    Shapes: ``x`` any, ``a`` ``(C,)`` or ``(1,)``; ``y`` has ``x``'s shape.
    """

    @staticmethod
    def forward(ctx, x, weight):
        xp = xp_of(x)
        slope = _channel_view(weight, x.ndim)
        negative_part = xp.minimum(x, 0)
        ctx.save_for_backward(x, negative_part, slope)
        ctx.weight_shape = weight.shape
        return xp.maximum(x, 0) + slope * negative_part

    @staticmethod
    def backward(ctx, grad_out):
        x, negative_part, slope = ctx.saved_arrays
        xp = xp_of(x)
        grad_x = grad_weight = None
        if ctx.needs_input_grad[0]:
            positive = (x > 0).astype(x.dtype)
            grad_x = grad_out * (positive + slope * (1 - positive))
        if ctx.needs_input_grad[1]:
            per_element = grad_out * negative_part
            if slope.ndim:  # one slope per channel: sum all dims but 1
                axes = (0,) + tuple(range(2, x.ndim))
                grad_weight = per_element.sum(axis=axes)
            else:
                grad_weight = xp.asarray(per_element.sum(), dtype=x.dtype)
            grad_weight = grad_weight.reshape(ctx.weight_shape)
        return grad_x, grad_weight


def prelu(input, weight):
    """``max(input, 0) + weight * min(input, 0)``, ``weight`` per channel (dim 1) or shared.

    ``weight``: a 0-d or 1-D float tensor of the input's dtype with 1 entry
    or ``input.shape[1]`` entries (inputs of fewer than 2 dims have 1 channel).
    """
    op = "prelu"
    require_float_input(input, "input", op)
    require_float_input(weight, "weight", op)
    if weight.ndim > 1:
        raise ValueError(f"{op}: weight must be a scalar or 1-D tensor, got shape "
                         f"{tuple(weight.shape)}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.size not in (1, channels):
        raise ValueError(f"{op}: weight has {weight.size} entries; expected 1 (shared) or "
                         f"{channels} (one per channel of input shape {tuple(input.shape)})")
    return PReLU.apply(input, weight)
