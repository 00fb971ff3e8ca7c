"""Comparisons and logical reductions: ``eq, ne, lt, le, gt, ge``, ``all``, ``any``.

None of these is differentiable: each gives a bool tensor (no gradient, as in
PyTorch). A comparison broadcasts its operands as the arithmetic operators do
(:mod:`minicnn.ops.elementwise`); ``other`` may be a number. ``all``/``any``
reduce over ``dim`` (None: every axis) as the reductions do.
"""
import numbers

import numpy as np

from .._validation import normalize_dims
from ..backend import xp_of
from ._common import as_operand, require_tensor
from .elementwise import _check_broadcast


def _compare(input, other, ufunc, op):
    from ..tensor import Tensor

    require_tensor(input, "input", op)
    if not isinstance(other, (Tensor, np.ndarray, numbers.Real, np.bool_)):
        raise TypeError(f"{op}: other must be a Tensor or a real number, got "
                        f"{type(other).__name__}")
    a, b = as_operand(input, other, op)
    if a.shape != b.shape:
        _check_broadcast(op, a, b)
    return Tensor._wrap(xp_of(a.data, b.data).asarray(getattr(xp_of(a.data, b.data), ufunc)(
        a.data, b.data)))


def eq(input, other):
    """``input == other`` elementwise (bool)."""
    return _compare(input, other, "equal", "eq")


def ne(input, other):
    """``input != other`` elementwise (bool)."""
    return _compare(input, other, "not_equal", "ne")


def lt(input, other):
    """``input < other`` elementwise (bool)."""
    return _compare(input, other, "less", "lt")


def le(input, other):
    """``input <= other`` elementwise (bool)."""
    return _compare(input, other, "less_equal", "le")


def gt(input, other):
    """``input > other`` elementwise (bool)."""
    return _compare(input, other, "greater", "gt")


def ge(input, other):
    """``input >= other`` elementwise (bool)."""
    return _compare(input, other, "greater_equal", "ge")


def _logical(input, dim, keepdim, reduce):
    from ..tensor import Tensor

    require_tensor(input, "input", reduce)
    xp = xp_of(input.data)
    data = input.data if input.ndim else input.data.reshape(1)  # dim 0/-1 of a 0-d tensor
    # dim=() reduces over no axis (an elementwise test), as PyTorch's all/any do.
    axes = normalize_dims(dim, max(input.ndim, 1), "dim", reduce)
    out = getattr(xp, reduce)(data, axis=axes, keepdims=bool(keepdim))
    if not input.ndim:
        out = out.reshape(())
    return Tensor._wrap(xp.asarray(out, dtype=bool))


def all(input, dim=None, keepdim=False):
    """True where every element over ``dim`` (an int or a tuple; None: all) is non-zero."""
    return _logical(input, dim, keepdim, "all")


def any(input, dim=None, keepdim=False):
    """True where some element over ``dim`` (an int or a tuple; None: all) is non-zero."""
    return _logical(input, dim, keepdim, "any")
