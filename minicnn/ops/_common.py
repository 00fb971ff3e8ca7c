"""Helpers the operator modules share: turning operands into tensors, checks."""
import numpy as np

from .._validation import require_float
from ..backend import is_cupy_array


def as_tensor(value, like=None):
    """``value`` as a Tensor; a Python number takes ``like``'s dtype (as in PyTorch)."""
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray) or is_cupy_array(value):
        return Tensor._wrap(value)
    dtype = like.dtype if like is not None else None
    if like is not None and isinstance(value, float) and not np.issubdtype(dtype, np.floating):
        dtype = None  # int tensor * 0.5 -> float, not truncated
    array = np.asarray(value, dtype=dtype)
    if dtype is None and array.dtype == np.float64:
        from ..tensor import get_default_dtype

        array = array.astype(get_default_dtype())
    if like is not None and is_cupy_array(like.data):
        import cupy

        array = cupy.asarray(array)
    return Tensor._wrap(array)


def as_operand(a, b, op):
    """Both operands of a binary operator as tensors of one dtype family."""
    from ..tensor import Tensor

    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op}: at least one operand must be a Tensor, got "
                        f"{type(a).__name__} and {type(b).__name__}")
    like = a if isinstance(a, Tensor) else b
    return as_tensor(a, like), as_tensor(b, like)


def require_float_input(tensor, name, op):
    """Check before apply(): ``tensor`` must be a floating-point Tensor."""
    from ..tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(tensor).__name__}")
    require_float(tensor, name, op)
