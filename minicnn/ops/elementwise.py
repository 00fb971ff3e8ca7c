"""Elementwise arithmetic and math functions.

Shapes: a unary operator's output has its input's shape. A binary operator
broadcasts its operands as NumPy and PyTorch do (align shapes on the right;
a size-1 or missing axis is stretched), so ``y`` has the broadcast shape
``B``; the gradient of an input that was stretched is summed back to that
input's own shape (:func:`~minicnn.autograd.unbroadcast`), because each of
its elements was copied to every output position along the stretched axes.

Notation: ``g = dL/dy`` is the upstream gradient, ``[P]`` is 1 where ``P``
holds and 0 elsewhere. A Python number operand takes the tensor's dtype, and
an integer tensor meeting a floating one takes the floating dtype, as in
PyTorch (see :func:`~minicnn.ops._common.as_operand`).
"""
import numbers

import numpy as np

from .._validation import check_memory_format, is_floating
from ..autograd import unbroadcast
from ..backend import xp_of
from ..function import Function
from ._common import _promote, as_operand, as_tensor, require_float_input, require_tensor


class Add(Function):
    """``y = a + alpha b``, shape ``B = broadcast(a.shape, b.shape)`` (``alpha = 1``
    unless given, as PyTorch's ``add(a, b, alpha=)``).

    ``dL/da = unbroadcast(g, a.shape)``, ``dL/db = unbroadcast(alpha g, b.shape)``.
    """

    @staticmethod
    def forward(ctx, a, b, *, alpha=1):
        ctx.shapes = (a.shape, b.shape)
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + alpha * b

    @staticmethod
    def backward(ctx, grad_out):
        shape_a, shape_b = ctx.shapes
        need_a, need_b = ctx.needs_input_grad
        grad_b = grad_out if ctx.alpha == 1 else ctx.alpha * grad_out
        return (unbroadcast(grad_out, shape_a) if need_a else None,
                unbroadcast(grad_b, shape_b) if need_b else None)


class Sub(Function):
    """``y = a - alpha b``, shape ``B`` (``alpha = 1`` unless given).

    ``dL/da = unbroadcast(g, a.shape)``, ``dL/db = unbroadcast(-alpha g, b.shape)``.
    """

    @staticmethod
    def forward(ctx, a, b, *, alpha=1):
        ctx.shapes = (a.shape, b.shape)
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - alpha * b

    @staticmethod
    def backward(ctx, grad_out):
        shape_a, shape_b = ctx.shapes
        need_a, need_b = ctx.needs_input_grad
        return (unbroadcast(grad_out, shape_a) if need_a else None,
                unbroadcast(-ctx.alpha * grad_out, shape_b) if need_b else None)


class Mul(Function):
    """``y = a * b``, shape ``B``.

    ``dL/da = unbroadcast(g * b, a.shape)``, ``dL/db = unbroadcast(g * a, b.shape)``.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        return (unbroadcast(grad_out * b, a.shape) if need_a else None,
                unbroadcast(grad_out * a, b.shape) if need_b else None)


class Div(Function):
    """``y = a / b`` (true division), shape ``B``.

    ``dL/da = unbroadcast(g / b, a.shape)``,
    ``dL/db = unbroadcast(-g * a / b^2, b.shape)``.
    (``div(a, b, rounding_mode=...)`` is :class:`RoundedDiv`.)
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_arrays
        need_a, need_b = ctx.needs_input_grad
        return (unbroadcast(grad_out / b, a.shape) if need_a else None,
                unbroadcast(-grad_out * a / (b * b), b.shape) if need_b else None)


class RoundedDiv(Function):
    """``y = trunc(a / b)`` (``rounding_mode='trunc'``) or ``y = floor(a / b)``
    (``'floor'``, Python's ``//``), shape ``B``.

    Floats: ``trunc`` rounds the true quotient; ``floor`` is NumPy's
    ``floor_divide``, which computes it from ``fmod`` as PyTorch does
    (``(a - fmod(a, b)) / b``, one less where the remainder's sign differs
    from ``b``'s), so that e.g. ``1 // 0.1 = 9``, not ``floor(10.000000000000002)``.
    Integers stay integers (``trunc`` rounds the floor quotient towards zero);
    an integer division by zero is an error, as in PyTorch.

    The result is piecewise constant: ``dL/da = dL/db = 0`` (PyTorch's too).
    """

    @staticmethod
    def forward(ctx, a, b, *, rounding_mode):
        xp = xp_of(a, b)
        ctx.shapes = (a.shape, b.shape)
        ctx.dtype = np.result_type(a, b)
        if not is_floating(ctx.dtype):
            if (b == 0).any():
                raise ZeroDivisionError("div: integer division by zero")
            quotient = xp.floor_divide(a, b)
            if rounding_mode == "trunc":  # floor -> towards zero where a/b < 0 is inexact
                quotient += (xp.remainder(a, b) != 0) & ((a < 0) != (b < 0))
            return quotient
        with np.errstate(divide="ignore", invalid="ignore"):
            if rounding_mode == "trunc":
                return xp.trunc(a / b)
            # floor_divide(x, 0) is nan in NumPy; PyTorch keeps a / 0 (+-inf, nan for 0/0).
            return xp.where(b == 0, a / b, xp.floor_divide(a, b))

    @staticmethod
    def backward(ctx, grad_out):
        xp = xp_of(grad_out)
        need_a, need_b = ctx.needs_input_grad
        return (xp.zeros(ctx.shapes[0], grad_out.dtype) if need_a else None,
                xp.zeros(ctx.shapes[1], grad_out.dtype) if need_b else None)


class Neg(Function):
    """``y = -x``, shape of ``x``;  ``dL/dx = -g``."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad_out):
        return -grad_out


class Pow(Function):
    """``y = a ** b``, shape ``B``; either operand may be a number.

    ``dL/da = unbroadcast(g * b * a^(b-1), a.shape)``, taken as 0 where
    ``b == 0`` (``a^0 = 1`` is constant, even at ``a = 0`` where
    ``0 * 0^-1`` would be nan);

    ``dL/db = unbroadcast(g * y * ln a, b.shape)``, taken as 0 where
    ``a == 0`` and ``b >= 0`` (``0^b`` is constant there, where ``0 * ln 0``
    would be nan). Both conventions are PyTorch's. For ``a < 0`` ``ln a``
    is nan, as in PyTorch.
    """

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, b, out = ctx.saved_arrays
        xp = xp_of(grad_out)
        zero = grad_out.dtype.type(0)
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.needs_input_grad[0]:
                local = xp.where(b == 0, zero, b * a ** (b - 1))
                grad_a = unbroadcast(grad_out * local, a.shape)
            if ctx.needs_input_grad[1]:
                local = xp.where((a == 0) & (b >= 0), zero, out * xp.log(a))
                grad_b = unbroadcast(grad_out * local, b.shape)
        return grad_a, grad_b


class Exp(Function):
    """``y = e^x``, shape of ``x``;  ``dL/dx = g * y``."""

    @staticmethod
    def forward(ctx, x):
        out = xp_of(x).exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_arrays
        return grad_out * out


class Log(Function):
    """``y = ln x``, shape of ``x``;  ``dL/dx = g / x``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp_of(x).log(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        return grad_out / x


class Sqrt(Function):
    """``y = sqrt(x)``, shape of ``x``;  ``dL/dx = g / (2 y)`` (inf at ``x = 0``)."""

    @staticmethod
    def forward(ctx, x):
        out = xp_of(x).sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_arrays
        return grad_out / (2 * out)


class Abs(Function):
    """``y = |x|``, shape of ``x``;  ``dL/dx = g * sign(x)``, with ``sign = [x > 0] - [x < 0]``:
    0 at ``x = 0`` and at a NaN, as PyTorch (NumPy's ``sign(nan)`` is nan)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp_of(x).abs(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        sign = (x > 0).astype(grad_out.dtype)
        sign -= x < 0
        return grad_out * sign


class Clamp(Function):
    """``y = min(max(x, lo), hi)``, shape ``broadcast(x, lo, hi)``; either bound may
    be None, a number or a tensor.

    ``dL/dx = g * [lo <= x <= hi]``: the boundaries are inclusive, as in
    PyTorch (at ``x == lo`` the gradient passes; at a NaN ``x`` it does not).
    With ``lo > hi`` every element becomes ``hi``; then, as PyTorch rules,
    the gradient goes to ``hi`` only:
    ``dL/dlo = g * [x < lo and lo < hi]``, ``dL/dhi = g * [x > hi or hi < lo]``
    (with one bound: ``g * [x < lo]``, ``g * [x > hi]``), each summed back
    to its bound's shape.
    """

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = xp_of(x, lo, hi)
        ctx.save_for_backward(x, lo, hi)
        out = x if lo is None else xp.maximum(x, lo)
        return out if hi is None else xp.minimum(out, hi)

    @staticmethod
    def backward(ctx, grad_out):
        x, lo, hi = ctx.saved_arrays
        xp = xp_of(grad_out)
        zero = grad_out.dtype.type(0)
        need_x, need_lo, need_hi = ctx.needs_input_grad
        inside = True
        if lo is not None:
            inside = inside & (x >= lo)
        if hi is not None:
            inside = inside & (x <= hi)
        grad_x = grad_lo = grad_hi = None
        if need_x:
            grad_x = unbroadcast(xp.where(inside, grad_out, zero), x.shape)
        if need_lo:
            takes = (x < lo) if hi is None else (x < lo) & (lo < hi)
            grad_lo = unbroadcast(xp.where(takes, grad_out, zero), lo.shape)
        if need_hi:
            takes = (x > hi) if lo is None else (x > hi) | (hi < lo)
            grad_hi = unbroadcast(xp.where(takes, grad_out, zero), hi.shape)
        return grad_x, grad_lo, grad_hi


class _PairwiseExtremum(Function):
    """``maximum``/``minimum``: the gradient goes to the selected input; ties split it in half.

    Written as PyTorch's backward: each input keeps ``g`` except where the
    other one wins (``g = 0``) or ties (``g / 2``), so at a NaN, which neither
    wins nor ties, both inputs get ``g``.
    """

    ufunc_name = ""
    compare_name = ""  # the comparison ``a OP b`` that makes a win

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return getattr(xp_of(a, b), cls.ufunc_name)(a, b)

    @classmethod
    def backward(cls, ctx, grad_out):
        a, b = ctx.saved_arrays
        xp = xp_of(grad_out)
        wins = getattr(xp, cls.compare_name)
        zero, half = grad_out.dtype.type(0), grad_out.dtype.type(0.5)
        # share = 1 - [other wins] - 1/2 [tie], in grad_out's dtype.
        tie_share = xp.where(a == b, half * grad_out, grad_out)
        grad_a = (unbroadcast(xp.where(wins(b, a), zero, tie_share), a.shape)
                  if ctx.needs_input_grad[0] else None)
        grad_b = (unbroadcast(xp.where(wins(a, b), zero, tie_share), b.shape)
                  if ctx.needs_input_grad[1] else None)
        return grad_a, grad_b


class Maximum(_PairwiseExtremum):
    """``y = max(a, b)`` elementwise, shape ``B``.

    ``dL/da = unbroadcast(g * (1 - [a < b] - [a == b] / 2), a.shape)``,
    ``dL/db = unbroadcast(g * (1 - [a > b] - [a == b] / 2), b.shape)``:
    a tie splits the gradient evenly, and at a NaN both get ``g``, as PyTorch.
    """

    ufunc_name, compare_name = "maximum", "greater"


class Minimum(_PairwiseExtremum):
    """``y = min(a, b)`` elementwise, shape ``B``.

    ``dL/da = unbroadcast(g * (1 - [a > b] - [a == b] / 2), a.shape)``,
    ``dL/db = unbroadcast(g * (1 - [a < b] - [a == b] / 2), b.shape)``.
    """

    ufunc_name, compare_name = "minimum", "less"


class Where(Function):
    """``y = cond ? a : b``, shape ``broadcast(cond.shape, a.shape, b.shape)``.

    ``dL/da = unbroadcast(g * [cond], a.shape)``,
    ``dL/db = unbroadcast(g * [not cond], b.shape)``; ``cond`` gets none.
    """

    @staticmethod
    def forward(ctx, condition, a, b):
        xp = xp_of(condition, a, b)
        ctx.save_for_backward(condition)
        ctx.shapes = (a.shape, b.shape)
        return xp.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad_out):
        (condition,) = ctx.saved_arrays
        shape_a, shape_b = ctx.shapes
        zero = grad_out.dtype.type(0)
        xp = xp_of(grad_out)
        _, need_a, need_b = ctx.needs_input_grad
        grad_a = unbroadcast(xp.where(condition, grad_out, zero), shape_a) if need_a else None
        grad_b = unbroadcast(xp.where(condition, zero, grad_out), shape_b) if need_b else None
        return None, grad_a, grad_b


class Cast(Function):
    """``y = x`` converted to ``dtype``, same shape;  ``dL/dx = g`` converted back.

    A cast to an integer type ends the graph (its output is not floating).
    """

    @staticmethod
    def forward(ctx, x, *, dtype):
        ctx.source_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.astype(ctx.source_dtype)


class Clone(Function):
    """``y = x`` (a copy), same shape;  ``dL/dx = g``."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out


# ------------------------------------------------------------------ functional
def _check_broadcast(name, *tensors):
    """Operands must broadcast (nothing is silently tiled); say which shapes clash."""
    try:
        np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        shapes = " and ".join(str(t.shape) for t in tensors)
        raise ValueError(f"{name}: shapes {shapes} do not broadcast (each dimension, aligned "
                         f"from the right, must be equal or 1)") from None


def _binary(function, a, b, name):
    a, b = as_operand(a, b, name)
    if a.shape != b.shape:
        _check_broadcast(name, a, b)
    return function.apply(a, b)


def _alpha(alpha, a, b, op):
    """``alpha`` checked as PyTorch does: a number, not a float for integer operands."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Number):
        raise TypeError(f"{op}: alpha must be a number, got {alpha!r}")
    if isinstance(alpha, complex):
        raise TypeError(f"{op}: alpha must be a real number, got {alpha!r}")
    if not (is_floating(a.dtype) or is_floating(b.dtype)) and not isinstance(
            alpha, (numbers.Integral, np.integer)):
        raise TypeError(f"{op}: for integer tensors alpha must be an integer, got {alpha!r}")
    dtype = np.result_type(a.dtype, b.dtype)
    return dtype.type(alpha).item()  # a Python number of the operands' kind: no promotion


def add(input, other, *, alpha=1):
    """``input + alpha * other`` with broadcasting."""
    a, b = as_operand(input, other, "add")
    alpha = _alpha(alpha, a, b, "add")
    if a.shape != b.shape:
        _check_broadcast("add", a, b)
    return Add.apply(a, b, alpha=alpha)


def sub(input, other, *, alpha=1):
    """``input - alpha * other`` with broadcasting."""
    a, b = as_operand(input, other, "sub")
    if a.dtype == bool and b.dtype == bool:
        raise TypeError("sub: subtracting two bool tensors is not supported (as in PyTorch); "
                        "use logical_xor or ~")
    alpha = _alpha(alpha, a, b, "sub")
    if a.shape != b.shape:
        _check_broadcast("sub", a, b)
    return Sub.apply(a, b, alpha=alpha)


def mul(input, other):
    """``input * other`` with broadcasting."""
    return _binary(Mul, input, other, "mul")


_ROUNDING_MODES = (None, "trunc", "floor")


def div(input, other, *, rounding_mode=None):
    """``input / other`` with broadcasting.

    ``rounding_mode=None``: true division (integers give the default float);
    ``'trunc'``/``'floor'``: the quotient rounded towards zero / down
    (integers stay integers; see :class:`RoundedDiv`).
    """
    from ..tensor import get_default_dtype

    if rounding_mode not in _ROUNDING_MODES:
        raise ValueError(f"div: rounding_mode must be one of {_ROUNDING_MODES}, "
                         f"got {rounding_mode!r}")
    a, b = as_operand(input, other, "div")
    if a.shape != b.shape:
        _check_broadcast("div", a, b)
    if rounding_mode is not None:
        return RoundedDiv.apply(a, b, rounding_mode=rounding_mode)
    if not is_floating(a.dtype):  # then neither is floating (as_operand promoted)
        a, b = _promote(a, get_default_dtype()), _promote(b, get_default_dtype())
    return Div.apply(a, b)


def pow(input, exponent):
    """``input ** exponent``; either may be a tensor or a number, not both (as PyTorch)."""
    from ..tensor import Tensor

    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError(f"pow: input or exponent must be a Tensor, got {type(input).__name__} "
                        f"and {type(exponent).__name__} (use Python's ** for two numbers)")
    return _binary(Pow, input, exponent, "pow")


def maximum(input, other):
    """Elementwise maximum of two tensors (PyTorch takes no number here: use
    ``clamp(input, min=number)``); the gradient is split evenly at ties."""
    require_tensor(input, "input", "maximum")
    require_tensor(other, "other", "maximum")
    return _binary(Maximum, input, other, "maximum")


def minimum(input, other):
    """Elementwise minimum of two tensors; the gradient is split evenly at ties."""
    require_tensor(input, "input", "minimum")
    require_tensor(other, "other", "minimum")
    return _binary(Minimum, input, other, "minimum")


def neg(input):
    """``-input``."""
    require_tensor(input, "input", "neg")
    return Neg.apply(input)


def exp(input):
    """``e ** input``."""
    require_float_input(input, "input", "exp")
    return Exp.apply(input)


def log(input):
    """Natural logarithm."""
    require_float_input(input, "input", "log")
    return Log.apply(input)


def sqrt(input):
    """Square root."""
    require_float_input(input, "input", "sqrt")
    return Sqrt.apply(input)


def abs(input):
    """Absolute value."""
    require_tensor(input, "input", "abs")
    return Abs.apply(input)


def _bound(value, name, input):
    """A clamp bound: None, a tensor (promoted as a binary operand) or a number of
    ``input``'s kind (a NumPy float64 scalar would turn a float32 result into float64)."""
    from ..tensor import Tensor

    if value is None:
        return None
    if isinstance(value, Tensor):
        return as_operand(input, value, "clamp")[1]
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"clamp: {name} must be a number, a Tensor or None, "
                        f"got {type(value).__name__}")
    return float(value) if is_floating(input.dtype) else int(value)


def clamp(input, min=None, max=None):
    """Clamp into ``[min, max]``; either bound may be None (not both), a number or a
    tensor that broadcasts with ``input``.

    As in PyTorch, ``min > max`` is allowed and sets every element to ``max``.
    An integer tensor with a float bound is promoted to the default float dtype.
    """
    from ..tensor import Tensor, get_default_dtype

    require_tensor(input, "input", "clamp")
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given, got both None")
    if not is_floating(input.dtype) and any(
            isinstance(v, (float, np.floating)) or (isinstance(v, Tensor) and is_floating(v.dtype))
            for v in (min, max)):
        input = _promote(input, get_default_dtype())
    lo, hi = _bound(min, "min", input), _bound(max, "max", input)
    bounds = [b for b in (lo, hi) if isinstance(b, Tensor)]
    if bounds:
        _check_broadcast("clamp", input, *bounds)
    return Clamp.apply(input, lo, hi)


def where(condition, input, other):
    """``input`` where ``condition`` holds, else ``other`` (all three broadcast).

    ``condition`` is a bool Tensor or array; ``input``/``other`` Tensors or numbers.
    """
    from ..tensor import Tensor

    cond = condition.data if isinstance(condition, Tensor) else condition
    if isinstance(cond, (list, tuple, bool, np.bool_)):
        cond = np.asarray(cond)
    if getattr(cond, "dtype", None) != bool:
        got = getattr(cond, "dtype", type(cond).__name__)
        raise TypeError(f"where: condition must be a bool tensor, got {got}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = as_tensor(input, None, "where")
    input, other = as_operand(input, other, "where")
    _check_broadcast("where", Tensor._wrap(cond), input, other)
    return Where.apply(cond, input, other)


def cast(input, dtype):
    """``input`` converted to ``dtype`` (differentiable between float dtypes)."""
    require_tensor(input, "input", "cast")
    return Cast.apply(input, dtype=np.dtype(dtype))


def clone(input, *, memory_format="preserve_format"):
    """A copy of ``input`` that stays in the graph (``memory_format``: see
    :func:`~minicnn._validation.check_memory_format`)."""
    require_tensor(input, "input", "clone")
    check_memory_format(memory_format, "clone")
    return Clone.apply(input)
