"""Reductions: sum, mean, var/std, norm, max/min (with indices), amax/amin, argmax/argmin.

Notation: ``x`` has shape ``S``; the reduction runs over the axes ``D`` and
``n = prod(S[d] for d in D)`` elements fall into each output element. The
output has shape ``S`` without the axes ``D`` (``keepdim=False``) or with
them set to 1 (``keepdim=True``). ``g = dL/dy``; "``g`` broadcast over
``D``" means ``g`` with the reduced axes re-inserted as size 1, then
stretched back to ``S``. As in PyTorch, ``dim=None`` and ``dim=()`` both
reduce over every axis.
"""
from collections import namedtuple

import numpy as np

from .._validation import UnsupportedForm, normalize_dim, normalize_dims
from ..backend import xp_of
from ..function import Function
from ._common import require_float_input, require_tensor
# The p-norm and its gradient are F.normalize's; norm() is that reduction on its own.
from .normalize import _norm_gradient, _p_norm

#: What ``max(x, dim)``/``min(x, dim)`` return, as ``torch.return_types.max``.
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _expand(grad_out, axes, keepdims, shape):
    """Broadcast a reduced gradient back over the reduced ``axes`` (a fresh array)."""
    xp = xp_of(grad_out)
    if not keepdims:
        grad_out = xp.expand_dims(grad_out, axes)
    return xp.broadcast_to(grad_out, shape).copy()


def _count(shape, axes) -> int:
    count = 1
    for axis in axes:
        count *= shape[axis]
    return count


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
        return _expand(grad_out / _count(shape, axes), axes, keepdims, shape)


class Var(Function):
    """``y = sum_D (x - m)^2 / (n - c)`` with ``m = mean_D x`` and ``c = correction``.

    ``dL/dx = g * 2 (x - m) / (n - c)`` (``g`` broadcast over ``D``): the
    path through ``m`` contributes ``-2/(n-c) * sum_D (x - m) * g/n = 0``,
    because centred values sum to zero. ``c = 1`` is Bessel's unbiased
    estimate, ``c = 0`` the biased one; ``n - c <= 0`` divides by zero
    (inf, or nan for ``0/0``), as in PyTorch.
    """

    @staticmethod
    def forward(ctx, x, *, axes, keepdims, correction):
        # Two passes (centre, then square) rather than E[x^2] - E[x]^2, which
        # cancels catastrophically in float32.
        centred = x - x.mean(axis=axes, keepdims=True)
        divisor = _count(x.shape, axes) - correction
        divisor = divisor if divisor > 0 else 0  # (builtin max is shadowed in this module)
        ctx.save_for_backward(centred)
        ctx.meta = (axes, keepdims, divisor)
        squares = (centred * centred).sum(axis=axes, keepdims=keepdims)
        with np.errstate(divide="ignore", invalid="ignore"):
            return squares / x.dtype.type(divisor)

    @staticmethod
    def backward(ctx, grad_out):
        (centred,) = ctx.saved_arrays
        axes, keepdims, divisor = ctx.meta
        xp = xp_of(grad_out)
        if not keepdims:
            grad_out = xp.expand_dims(grad_out, axes)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = grad_out.dtype.type(2) / grad_out.dtype.type(divisor)
        return grad_out * centred * scale


class AMax(Function):
    """``y = max_D x`` (``amin``: ``reduce='min'``, ``min_D x``).

    ``dL/dx = g * [x == y] / count_D(x == y)`` (``g`` and ``y`` broadcast
    over ``D``): tied extrema share the gradient evenly, as in PyTorch's
    ``amax`` and full ``max()``.

    A NaN wins (``y`` is NaN). Then ``amax`` hits nothing and its gradient
    is NaN everywhere (0/0, as PyTorch's); the full ``max()``
    (``nan_wins_gradient=True``) shares ``g`` among the NaN elements, as
    PyTorch's ``evenly_distribute_backward``.
    """

    @staticmethod
    def forward(ctx, x, *, axes, keepdims, reduce, nan_wins_gradient=False):
        xp = xp_of(x)
        out = (xp.max if reduce == "max" else xp.min)(x, axis=axes, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.meta = (axes, keepdims, nan_wins_gradient)
        return out if keepdims else xp.squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_arrays
        axes, keepdims, nan_wins_gradient = ctx.meta
        xp = xp_of(grad_out)
        hits = x == out
        if nan_wins_gradient:
            hits |= xp.isnan(x) & xp.isnan(out)
        hits = hits.astype(grad_out.dtype)
        if not keepdims:
            grad_out = xp.expand_dims(grad_out, axes)
        return grad_out * hits / hits.sum(axis=axes, keepdims=True)


class MaxAlongDim(Function):
    """``y = x[..., i, ...]`` along ``axis`` at the given arg-extremum ``i`` (``indices``).

    ``x``: ``S``; ``indices``: ``S`` without ``axis``; ``y``: the shape of
    ``indices`` (``keepdim``: with ``axis`` as size 1).
    ``dL/dx[..., k, ...] = g * [k == i]``: the whole gradient goes to the one
    selected element (the first extremum, as ``argmax``), as in PyTorch's
    ``max(x, dim)``. ``indices`` gets no gradient.
    """

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


class Norm(Function):
    """``y = (sum_D |x|^p)^(1/p)``, the vector p-norm over ``D`` (``p = inf``: ``max_D |x|``,
    ``-inf``: ``min_D |x|``; ``p = 0``: the count of non-zeros).

    ``dL/dx = g * sign(x) |x|^(p-1) / y^(p-1)`` (``g``, ``y`` broadcast over
    ``D``); for ``p = 2``: ``g x / y``, for ``p = 1``: ``g sign(x)``; ``p = +-inf``:
    ``g sign(x)`` shared evenly among the entries where ``|x| = y``; ``p = 0``:
    0. Where ``y = 0`` (or ``x = 0`` with ``p < 1``) the gradient is taken as
    0, the subgradient PyTorch uses. The formulas are :func:`F.normalize
    <minicnn.ops.normalize.normalize>`'s (one implementation for both).
    """

    @staticmethod
    def forward(ctx, x, *, p, axes, keepdims):
        out = _p_norm(x, p, axes)  # keeps the reduced axes
        ctx.save_for_backward(x, out)
        ctx.meta = (p, axes, keepdims)
        return out if keepdims else xp_of(x).squeeze(out, axis=axes)

    @staticmethod
    def backward(ctx, grad_out):
        x, out = ctx.saved_arrays
        p, axes, keepdims = ctx.meta
        if p == 0:
            return None
        if not keepdims:
            grad_out = xp_of(grad_out).expand_dims(grad_out, axes)
        return grad_out * _norm_gradient(x, out, p, axes)


# ------------------------------------------------------------------ functional
def _axes(input, dim, op):
    """The reduced axes: None or () -> all; ints checked against ``input.ndim``."""
    require_tensor(input, "input", op)
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    axes = normalize_dims(dim, input.ndim, "dim", op)
    return axes if input.ndim else ()  # a 0-d tensor accepts dim 0/-1 and stays as it is


def _require_nonempty(input, axes, op):
    for axis in axes:
        if input.shape[axis] == 0:
            raise ValueError(f"{op}: cannot reduce over dim {axis} of size 0 (input shape "
                             f"{input.shape}): an empty set has no extremum")


def sum(input, dim=None, keepdim=False):
    """Sum over ``dim`` (None: all axes; an int or a tuple). Integers sum to int64."""
    axes = _axes(input, dim, "sum")
    return Sum.apply(input, axes=axes, keepdims=keepdim)


def mean(input, dim=None, keepdim=False):
    """Mean over ``dim``."""
    require_float_input(input, "input", "mean")
    axes = _axes(input, dim, "mean")
    return Mean.apply(input, axes=axes, keepdims=keepdim)


def _correction(unbiased, correction, op):
    if unbiased is not None and correction is not None:
        raise ValueError(f"{op}: pass unbiased or correction, not both "
                         f"(got unbiased={unbiased!r}, correction={correction!r})")
    if correction is None:
        return 1 if unbiased is None or unbiased else 0
    if isinstance(correction, bool) or not isinstance(correction, (int, float, np.number)):
        raise TypeError(f"{op}: correction must be a number, got {correction!r}")
    return correction  # any real number, as in PyTorch (n - c <= 0 gives inf or nan)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim``, dividing by ``n - correction``.

    ``correction=1`` (the default, ``unbiased=True``) is Bessel's unbiased
    estimate; ``correction=0`` (``unbiased=False``) the biased one. As in
    PyTorch, ``var(x, False)`` means ``unbiased=False`` over all axes.
    """
    if isinstance(dim, bool):  # torch.var(input, unbiased)
        dim, unbiased = None, dim
    require_float_input(input, "input", "var")
    axes = _axes(input, dim, "var")
    return Var.apply(input, axes=axes, keepdims=keepdim,
                     correction=_correction(unbiased, correction, "var"))


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: ``sqrt(var(...))`` (its gradient is nan where the variance is 0,
    as in PyTorch)."""
    from .elementwise import sqrt

    if isinstance(dim, bool):
        dim, unbiased = None, dim
    require_float_input(input, "input", "std")
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction))


def _extremum(input, dim, keepdim, reduce):
    from ..tensor import Tensor
    from .elementwise import maximum, minimum

    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return (maximum if reduce == "max" else minimum)(input, dim)
    require_tensor(input, "input", reduce)
    if dim is None:
        if input.size == 0:
            raise ValueError(f"{reduce}: input is empty (shape {input.shape}), there is "
                             f"no {reduce}; give a dim to reduce over a non-empty one")
        return AMax.apply(input, axes=tuple(range(input.ndim)), keepdims=False, reduce=reduce,
                          nan_wins_gradient=True)
    axis = normalize_dim(dim, input.ndim, "dim", reduce)
    if input.ndim == 0:  # torch allows dim 0/-1 on a 0-d tensor
        from .shape import reshape

        values, indices = _extremum(reshape(input, (1,)), 0, False, reduce)
        return ValuesIndices(values, indices)
    _require_nonempty(input, (axis,), reduce)
    xp = xp_of(input.data)
    indices = (xp.argmax if reduce == "max" else xp.argmin)(input.data, axis=axis)
    values = MaxAlongDim.apply(input, indices, axis=axis, keepdims=keepdim)
    indices = xp.expand_dims(indices, axis) if keepdim else indices
    return ValuesIndices(values, Tensor._wrap(xp.asarray(indices)))


def max(input, dim=None, keepdim=False):
    """``max(x)``: the largest element (ties share the gradient);
    ``max(x, dim)``: ``(values, indices)`` along ``dim`` (the gradient goes to the index);
    ``max(x, other)``: the elementwise :func:`maximum`."""
    return _extremum(input, dim, keepdim, "max")


def min(input, dim=None, keepdim=False):
    """``min(x)``, ``min(x, dim) -> (values, indices)`` or ``min(x, other)``; see :func:`max`."""
    return _extremum(input, dim, keepdim, "min")


def amax(input, dim=None, keepdim=False):
    """Maximum over ``dim`` (several axes allowed); ties share the gradient evenly."""
    axes = _axes(input, dim, "amax")
    _require_nonempty(input, axes, "amax")
    return AMax.apply(input, axes=axes, keepdims=keepdim, reduce="max")


def amin(input, dim=None, keepdim=False):
    """Minimum over ``dim`` (several axes allowed); ties share the gradient evenly."""
    axes = _axes(input, dim, "amin")
    _require_nonempty(input, axes, "amin")
    return AMax.apply(input, axes=axes, keepdims=keepdim, reduce="min")


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector ``p``-norm of ``input`` over ``dim`` (None: all elements), as ``torch.norm``.

    ``p``: a number (negative ones too, as PyTorch), ``'fro'`` (= 2), ``inf`` (the
    largest ``|x|``), ``-inf`` (the smallest) or 0 (the count of non-zeros, no
    gradient). ``dtype`` casts
    the input first.
    """
    from .elementwise import cast

    require_tensor(input, "input", "norm")
    if dtype is not None:
        input = cast(input, dtype)
    require_float_input(input, "input", "norm")
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        raise UnsupportedForm("norm", "nuclear-norm", "p='nuc' (the nuclear norm) needs an SVD; "
                              "vector p-norms and 'fro' are implemented")
    if isinstance(p, (str, bool)) or not isinstance(p, (int, float, np.number)) or np.isnan(p):
        raise ValueError(f"norm: p must be a number, 'fro', inf or -inf, got {p!r}")
    axes = _axes(input, dim, "norm")
    return Norm.apply(input, p=float(p), axes=axes, keepdims=keepdim)


def _arg(input, dim, keepdim, reduce):
    from ..tensor import Tensor

    op = f"arg{reduce}"
    require_tensor(input, "input", op)
    xp = xp_of(input.data)
    fn = xp.argmax if reduce == "max" else xp.argmin
    if dim is None:
        if input.size == 0:
            raise ValueError(f"{op}: input is empty (shape {input.shape})")
        out = xp.asarray(fn(input.data))
        return Tensor._wrap(out.reshape((1,) * input.ndim if keepdim else ()))
    axis = normalize_dim(dim, input.ndim, "dim", op)
    if input.ndim == 0:
        return Tensor._wrap(xp.zeros((), dtype=np.int64))
    _require_nonempty(input, (axis,), op)
    return Tensor._wrap(xp.asarray(fn(input.data, axis=axis, keepdims=keepdim)))


def argmax(input, dim=None, keepdim=False):
    """Index of the largest element (of the flattened input when ``dim`` is None;
    the first one at ties); no gradient."""
    return _arg(input, dim, keepdim, "max")


def argmin(input, dim=None, keepdim=False):
    """Index of the smallest element (the first one at ties); no gradient."""
    return _arg(input, dim, keepdim, "min")
