"""Reductions: sum, mean, var/std, max/min (with indices), amax/amin, argmax/argmin.

Notation: ``x`` has shape ``S``; the reduction runs over the axes ``D`` and
``n = prod(S[d] for d in D)`` elements fall into each output element.
"""
from collections import namedtuple

from .._validation import normalize_dim, normalize_dims
from ..backend import xp_of
from ..function import Function
from ._common import require_float_input

#: What ``max(x, dim)``/``min(x, dim)`` return, as ``torch.return_types.max``.
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _expand(grad_out, axes, keepdims, shape):
    """Broadcast a reduced gradient back over the reduced ``axes`` (a fresh array)."""
    xp = xp_of(grad_out)
    if not keepdims:
        grad_out = xp.expand_dims(grad_out, axes)
    return xp.broadcast_to(grad_out, shape).copy()


class Sum(Function):
    """``y = sum_D x``;  ``dL/dx = g`` broadcast over ``D``."""

    @staticmethod
    def forward(ctx, x, *, axes, keepdims):
        ctx.meta = (axes, keepdims, x.shape)
        return x.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad_out):
        return _expand(grad_out, *ctx.meta)


class Mean(Function):
    """``y = (1/n) sum_D x``;  ``dL/dx = g / n`` broadcast over ``D``."""

    @staticmethod
    def forward(ctx, x, *, axes, keepdims):
        ctx.meta = (axes, keepdims, x.shape)
        return x.mean(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad_out):
        axes, keepdims, shape = ctx.meta
        count = 1
        for axis in axes:
            count *= shape[axis]
        return _expand(grad_out / count, axes, keepdims, shape)


class Var(Function):
    """``y = sum_D (x - mean_D x)^2 / (n - correction)``.

    ``dL/dx = g * 2 (x - mean_D x) / (n - correction)``: the term through
    the mean vanishes because the centred values sum to zero.
    """

    @staticmethod
    def forward(ctx, x, *, axes, keepdims, correction):
        centred = x - x.mean(axis=axes, keepdims=True)
        count = 1
        for axis in axes:
            count *= x.shape[axis]
        divisor = max(count - correction, 0)
        ctx.save_for_backward(centred)
        ctx.meta = (axes, keepdims, divisor)
        squares = (centred * centred).sum(axis=axes, keepdims=keepdims)
        # n <= correction: no estimate exists; nan, as in PyTorch.
        return squares / divisor if divisor > 0 else squares * float("nan")

    @staticmethod
    def backward(ctx, grad_out):
        (centred,) = ctx.saved_arrays
        axes, keepdims, divisor = ctx.meta
        xp = xp_of(grad_out)
        if not keepdims:
            grad_out = xp.expand_dims(grad_out, axes)
        return grad_out * centred * (2.0 / divisor if divisor > 0 else float("nan"))


class AMax(Function):
    """``y = max_D x`` (``amin`` with ``reduce='min'``).

    ``dL/dx = g * [x == y] / count(x == y)``: tied maxima share the gradient
    evenly, as in PyTorch's ``amax`` and full ``max()``.
    """

    @staticmethod
    def forward(ctx, x, *, axes, keepdims, reduce):
        xp = xp_of(x)
        out = (xp.max if reduce == "max" else xp.min)(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.meta = (axes, keepdims)
        return out if keepdims else xp.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_arrays
        axes, keepdims = ctx.meta
        xp = xp_of(grad_out)
        hits = (x == out).astype(grad_out.dtype)
        if not keepdims:
            grad_out = xp.expand_dims(grad_out, axes)
        return grad_out * hits / hits.sum(axis=axes, keepdims=True)


class MaxAlongDim(Function):
    """``y = x[..., argmax_d x, ...]``: the gradient goes to the first arg-extremum only."""

    @staticmethod
    def forward(ctx, x, indices, *, axis, keepdims):
        xp = xp_of(x)
        picked = xp.take_along_axis(x, xp.expand_dims(indices, axis), axis=axis)
        ctx.save_for_backward(indices)
        ctx.meta = (axis, x.shape)
        return picked if keepdims else xp.squeeze(picked, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        (indices,) = ctx.saved_arrays
        axis, shape = ctx.meta
        xp = xp_of(grad_out)
        grad = xp.zeros(shape, dtype=grad_out.dtype)
        values = grad_out if grad_out.ndim == len(shape) else xp.expand_dims(grad_out, axis)
        xp.put_along_axis(grad, xp.expand_dims(indices, axis), values, axis=axis)
        return grad, None


# ------------------------------------------------------------------ functional
def sum(input, dim=None, keepdim=False):
    """Sum over ``dim`` (None: all axes; an int or a tuple)."""
    axes = normalize_dims(dim, input.ndim, "dim", "sum")
    return Sum.apply(input, axes=axes, keepdims=keepdim)


def mean(input, dim=None, keepdim=False):
    """Mean over ``dim``."""
    require_float_input(input, "input", "mean")
    axes = normalize_dims(dim, input.ndim, "dim", "mean")
    return Mean.apply(input, axes=axes, keepdims=keepdim)


def _correction(unbiased, correction, op):
    if unbiased is not None and correction is not None:
        raise ValueError(f"{op}: pass unbiased or correction, not both")
    if correction is None:
        return 1 if unbiased is None or unbiased else 0
    if correction < 0:
        raise ValueError(f"{op}: correction must be >= 0, got {correction}")
    return correction


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim``, dividing by ``n - correction``.

    ``correction=1`` (the default, ``unbiased=True``) is Bessel's unbiased
    estimate; ``correction=0`` (``unbiased=False``) the biased one.
    """
    require_float_input(input, "input", "var")
    axes = normalize_dims(dim, input.ndim, "dim", "var")
    return Var.apply(input, axes=axes, keepdims=keepdim,
                     correction=_correction(unbiased, correction, "var"))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: ``sqrt(var(...))``."""
    from .elementwise import sqrt

    return sqrt(var(input, dim, unbiased, keepdim, correction=correction))


def _extremum(input, dim, keepdim, reduce):
    from ..tensor import Tensor

    if dim is None:
        if input.size == 0:
            raise ValueError(f"{reduce}: input is empty, there is no {reduce}")
        return AMax.apply(input, axes=tuple(range(input.ndim)), keepdims=False, reduce=reduce)
    axis = normalize_dim(dim, input.ndim, "dim", reduce)
    xp = xp_of(input.data)
    indices = (xp.argmax if reduce == "max" else xp.argmin)(input.data, axis=axis)
    values = MaxAlongDim.apply(input, indices, axis=axis, keepdims=keepdim)
    indices = xp.expand_dims(indices, axis) if keepdim else indices
    return ValuesIndices(values, Tensor._wrap(indices))


def max(input, dim=None, keepdim=False):
    """``max(x)``: the largest element; ``max(x, dim)``: ``(values, indices)`` along ``dim``."""
    return _extremum(input, dim, keepdim, "max")


def min(input, dim=None, keepdim=False):
    """``min(x)``: the smallest element; ``min(x, dim)``: ``(values, indices)`` along ``dim``."""
    return _extremum(input, dim, keepdim, "min")


def amax(input, dim=None, keepdim=False):
    """Maximum over ``dim`` (several axes allowed); ties share the gradient."""
    axes = normalize_dims(dim, input.ndim, "dim", "amax")
    return AMax.apply(input, axes=axes, keepdims=keepdim, reduce="max")


def amin(input, dim=None, keepdim=False):
    """Minimum over ``dim`` (several axes allowed); ties share the gradient."""
    axes = normalize_dims(dim, input.ndim, "dim", "amin")
    return AMax.apply(input, axes=axes, keepdims=keepdim, reduce="min")


def _arg(input, dim, keepdim, reduce):
    from ..tensor import Tensor

    xp = xp_of(input.data)
    fn = xp.argmax if reduce == "max" else xp.argmin
    if dim is None:
        out = fn(input.data)
        return Tensor._wrap(xp.asarray(out).reshape((1,) * input.ndim if keepdim else ()))
    axis = normalize_dim(dim, input.ndim, "dim", f"arg{reduce}")
    return Tensor._wrap(fn(input.data, axis=axis, keepdims=keepdim))


def argmax(input, dim=None, keepdim=False):
    """Index of the largest element (flattened when ``dim`` is None); no gradient."""
    return _arg(input, dim, keepdim, "max")


def argmin(input, dim=None, keepdim=False):
    """Index of the smallest element (flattened when ``dim`` is None); no gradient."""
    return _arg(input, dim, keepdim, "min")
