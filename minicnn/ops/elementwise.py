"""Elementwise arithmetic and math functions.

Binary operators follow NumPy/PyTorch broadcasting; the gradient of a
broadcast input is summed back to its shape (``unbroadcast``). A Python
number operand keeps the tensor's dtype.
"""
from ..autograd import unbroadcast
from ..backend import xp_of
from ..function import Function
from ._common import as_operand, require_float_input


class Add(Function):
    """``y = a + b``;  ``dL/da = g``, ``dL/db = g`` (each summed to its own shape)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape, b.shape)
        return a + b

    @staticmethod
    def backward(ctx, grad_out):
        shape_a, shape_b = ctx.shapes
        return unbroadcast(grad_out, shape_a), unbroadcast(grad_out, shape_b)


class Sub(Function):
    """``y = a - b``;  ``dL/da = g``, ``dL/db = -g``."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (a.shape, b.shape)
        return a - b

    @staticmethod
    def backward(ctx, grad_out):
        shape_a, shape_b = ctx.shapes
        return unbroadcast(grad_out, shape_a), unbroadcast(-grad_out, shape_b)


class Mul(Function):
    """``y = a * b``;  ``dL/da = g * b``, ``dL/db = g * a``."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_arrays
        xp = xp_of(grad_out)
        grad_a = unbroadcast(grad_out * b, a.shape) if ctx.needs_input_grad[0] else None
        grad_b = unbroadcast(grad_out * a, b.shape) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Div(Function):
    """``y = a / b``;  ``dL/da = g / b``, ``dL/db = -g * a / b^2``."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_arrays
        xp = xp_of(grad_out)
        grad_a = unbroadcast(grad_out / b, a.shape) if ctx.needs_input_grad[0] else None
        grad_b = (unbroadcast(-grad_out * a / (b * b), b.shape)
                  if ctx.needs_input_grad[1] else None)
        return grad_a, grad_b


class Neg(Function):
    """``y = -x``;  ``dL/dx = -g``."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad_out):
        return -grad_out


class Pow(Function):
    """``y = a ** b``;  ``dL/da = g * b * a^(b-1)``, ``dL/db = g * y * log(a)``.

    ``dL/db`` is only computed when ``b`` requires a gradient; there ``a``
    must be positive (PyTorch likewise gives nan for ``a <= 0``).
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
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = unbroadcast(grad_out * b * a ** (b - 1), a.shape)
        if ctx.needs_input_grad[1]:
            grad_b = unbroadcast(grad_out * out * xp.log(a), b.shape)
        return grad_a, grad_b


class Exp(Function):
    """``y = e^x``;  ``dL/dx = g * y``."""

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
    """``y = ln x``;  ``dL/dx = g / x``."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp_of(x).log(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        return grad_out / x


class Sqrt(Function):
    """``y = sqrt(x)``;  ``dL/dx = g / (2 y)``."""

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
    """``y = |x|``;  ``dL/dx = g * sign(x)`` (0 at x = 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp_of(x).abs(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        return grad_out * xp_of(x).sign(x)


class Clamp(Function):
    """``y = min(max(x, lo), hi)``;  ``dL/dx = g`` where ``lo <= x <= hi``, else 0.

    The boundaries are inclusive, as in PyTorch: at ``x == lo`` the gradient
    passes.
    """

    @staticmethod
    def forward(ctx, x, *, min, max):
        ctx.save_for_backward(x)
        ctx.bounds = (min, max)
        return xp_of(x).clip(x, min, max)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        lo, hi = ctx.bounds
        inside = xp_of(x).ones_like(x, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        return grad_out * inside


class _PairwiseExtremum(Function):
    """``maximum``/``minimum``: the gradient goes to the selected input; ties split it in half."""

    ufunc_name = ""
    compare_name = ""

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return getattr(xp_of(a, b), cls.ufunc_name)(a, b)

    @classmethod
    def backward(cls, ctx, grad_out):
        a, b = ctx.saved_arrays
        xp = xp_of(grad_out)
        wins = getattr(xp, cls.compare_name)(a, b).astype(grad_out.dtype)
        share_a = wins + 0.5 * (a == b)
        grad_a = unbroadcast(grad_out * share_a, a.shape) if ctx.needs_input_grad[0] else None
        grad_b = (unbroadcast(grad_out * (1 - share_a), b.shape)
                  if ctx.needs_input_grad[1] else None)
        return grad_a, grad_b


class Maximum(_PairwiseExtremum):
    """``y = max(a, b)`` elementwise;  ``dL/da = g [a > b] + g/2 [a == b]``."""

    ufunc_name, compare_name = "maximum", "greater"


class Minimum(_PairwiseExtremum):
    """``y = min(a, b)`` elementwise;  ``dL/da = g [a < b] + g/2 [a == b]``."""

    ufunc_name, compare_name = "minimum", "less"


class Where(Function):
    """``y = cond ? a : b``;  ``dL/da = g [cond]``, ``dL/db = g [not cond]``."""

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
        grad_a = unbroadcast(xp.where(condition, grad_out, zero), shape_a)
        grad_b = unbroadcast(xp.where(condition, zero, grad_out), shape_b)
        return None, grad_a, grad_b


class Cast(Function):
    """``y = x`` converted to another dtype;  ``dL/dx = g`` converted back."""

    @staticmethod
    def forward(ctx, x, *, dtype):
        ctx.source_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.astype(ctx.source_dtype)


class Clone(Function):
    """``y = x`` (a copy);  ``dL/dx = g``."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out


# ------------------------------------------------------------------ functional
def _binary(function, a, b, name):
    a, b = as_operand(a, b, name)
    return function.apply(a, b)


def add(input, other):
    """``input + other`` with broadcasting."""
    return _binary(Add, input, other, "add")


def sub(input, other):
    """``input - other`` with broadcasting."""
    return _binary(Sub, input, other, "sub")


def mul(input, other):
    """``input * other`` with broadcasting."""
    return _binary(Mul, input, other, "mul")


def div(input, other):
    """``input / other`` with broadcasting (true division)."""
    return _binary(Div, input, other, "div")


def pow(input, exponent):
    """``input ** exponent``; either may be a tensor or a number."""
    return _binary(Pow, input, exponent, "pow")


def maximum(input, other):
    """Elementwise maximum; the gradient is split evenly at ties."""
    return _binary(Maximum, input, other, "maximum")


def minimum(input, other):
    """Elementwise minimum; the gradient is split evenly at ties."""
    return _binary(Minimum, input, other, "minimum")


def neg(input):
    """``-input``."""
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
    return Abs.apply(input)


def clamp(input, min=None, max=None):
    """Clamp into ``[min, max]`` (either bound may be None, not both)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if min is not None and max is not None and min > max:
        raise ValueError(f"clamp: min must be <= max, got min={min}, max={max}")
    return Clamp.apply(input, min=min, max=max)


def where(condition, input, other):
    """``input`` where ``condition`` holds, else ``other`` (all broadcast)."""
    from ..tensor import Tensor

    cond = condition.data if isinstance(condition, Tensor) else condition
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    input, other = as_operand(input, other, "where")
    return Where.apply(cond, input, other)


def cast(input, dtype):
    """``input`` converted to ``dtype`` (differentiable between float dtypes)."""
    return Cast.apply(input, dtype=dtype)


def clone(input):
    """A copy of ``input`` that stays in the graph."""
    return Clone.apply(input)
