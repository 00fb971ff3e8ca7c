"""Array backends: NumPy on the CPU, CuPy on an NVIDIA GPU.

Every operator is written once against an array module ``xp`` (``numpy`` or
``cupy``); ``xp_of`` picks it from the arrays an operator receives, as
Chainer's ``get_array_module`` does. CuPy is imported only when a CuPy array
is actually seen, so the engine never requires it.
"""
import numpy as np


def is_cupy_array(array) -> bool:
    """True for a ``cupy.ndarray``, without importing CuPy."""
    return type(array).__module__.split(".", 1)[0] == "cupy"


def as_array(value):
    """``value`` as an array: NumPy returns a scalar (``np.float32``) for a ufunc
    or reduction on 0-d arrays.

    Every array an operator hands on passes through it (``Function.apply``
    for outputs, the backward pass for gradients), and so does every fresh
    result an operator goes on to write into with ``out=``: ``exp(s, out=s)``
    fails on a scalar ``s`` (a 0-d tensor through sigmoid, tanh, silu,
    log_softmax's backward).
    """
    if isinstance(value, np.ndarray) or is_cupy_array(value):
        return value
    return np.asarray(value)


def xp_of(*arrays):
    """The array module (numpy or cupy) that holds ``arrays``."""
    for array in arrays:
        if is_cupy_array(array):
            import cupy

            return cupy
    return np
