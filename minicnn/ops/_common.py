"""Helpers the operator modules share: turning operands into tensors, checks."""
import numbers

import numpy as np

from .._validation import UnsupportedForm, is_floating, require_float
from ..backend import is_cupy_array


def as_tensor(value, like=None, op: str = ""):
    """``value`` (a Tensor, an array or a number) as a Tensor.

    A number takes ``like``'s dtype, as a Python scalar does in PyTorch, so
    ``x * 2`` keeps float64 or float32; a float meeting an integer tensor
    becomes the default float dtype instead of being truncated. Arrays keep
    their dtype (a float64 array meeting a float32 tensor is then an error in
    ``Function.apply``, not a silent cast). Anything else is a TypeError.
    """
    from ..tensor import Tensor, get_default_dtype

    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray) or is_cupy_array(value):
        return Tensor._wrap(value)
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        raise UnsupportedForm(op, "complex", f"got the complex number {value!r}; "
                                             f"minicnn tensors hold real numbers")
    if not isinstance(value, (numbers.Real, np.bool_)):
        where = f"{op}: " if op else ""
        raise TypeError(f"{where}operands must be Tensors, arrays or real numbers, "
                        f"got {type(value).__name__}")
    is_float = isinstance(value, (float, np.floating))
    is_bool = isinstance(value, (bool, np.bool_))
    if like is not None and is_floating(like.dtype):
        dtype = like.dtype
    elif is_float:
        dtype = get_default_dtype()
    elif like is not None and not (like.dtype == bool and not is_bool):
        dtype = like.dtype
    else:
        dtype = np.dtype(bool) if is_bool else np.dtype(np.int64)
    array = np.asarray(value, dtype=dtype)
    if like is not None and is_cupy_array(like.data):
        import cupy

        array = cupy.asarray(array)
    return Tensor._wrap(array)


def _promote(tensor, dtype):
    """An integer/bool tensor as ``dtype`` (it carries no gradient, so no graph is lost)."""
    from ..tensor import Tensor

    return tensor if tensor.dtype == dtype else Tensor._wrap(tensor.data.astype(dtype))


def as_operand(a, b, op):
    """Both operands of a binary operator as tensors, promoted as PyTorch does.

    A number takes the tensor's dtype; an integer or bool tensor meeting a
    floating one takes the floating dtype (NumPy would give float64 for
    int64 with float32). Two floating dtypes that differ are left for
    ``Function.apply`` to reject. Two numbers give a 0-d tensor, as
    ``torch.add(2.0, 3.0)`` does.
    """
    from ..tensor import Tensor

    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = as_tensor(a, None, op)
    like = a if isinstance(a, Tensor) else b
    a, b = as_tensor(a, like, op), as_tensor(b, like, op)
    if is_floating(a.dtype) and not is_floating(b.dtype):
        b = _promote(b, a.dtype)
    elif is_floating(b.dtype) and not is_floating(a.dtype):
        a = _promote(a, b.dtype)
    return a, b


def require_tensor(value, name, op):
    """Check before apply(): ``value`` must be a Tensor."""
    from ..tensor import Tensor

    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")


def require_same_device(input, other, name, op):
    """Check before apply(): ``other`` (an index or mask tensor, passed to the operator as an
    array) lives on ``input``'s device, as PyTorch requires; never a silent host/GPU mix."""
    if other.device != input.device:
        raise RuntimeError(f"{op}: {name} is on {other.device} but input is on {input.device}; "
                           f"expected both on one device (move {name} with "
                           f".to('{input.device}'))")


def require_float_input(tensor, name, op):
    """Check before apply(): ``tensor`` must be a floating-point Tensor."""
    require_tensor(tensor, name, op)
    require_float(tensor, name, op)


def broadcasts_to(shape, target) -> bool:
    """Does ``shape`` broadcast to exactly ``target`` (without enlarging it)?"""
    try:
        return np.broadcast_shapes(tuple(shape), tuple(target)) == tuple(target)
    except ValueError:
        return False
