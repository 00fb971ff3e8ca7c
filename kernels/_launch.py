"""Helpers shared by the launchers: argument checks and launch geometry.

Nothing here runs on the device. Arrays are anything with a ``shape``, a
``dtype`` and ``__cuda_array_interface__`` (CuPy, Numba device arrays) or
``__array_interface__`` (NumPy, accepted by the simulator).
"""
import math

import numpy as np

#: Threads per block for elementwise kernels: a multiple of the 32-thread warp,
#: large enough to hide memory latency, small enough for several resident
#: blocks per SM.
ELEMENTWISE_THREADS = 256


def pair(value, name, op):
    """``value`` as a pair of ints (an int ``k`` means ``(k, k)``)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{op}: {name} must be an int or a pair, got {value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def pairs(op, **values):
    """The named ``values`` as pairs of ints (see :func:`pair`), flattened, in the given order.

    ``pairs(op, stride=2, padding=(1, 0))`` is ``(2, 2, 1, 0)``.
    """
    return tuple(number for name, value in values.items() for number in pair(value, name, op))


def _interface(array):
    interface = getattr(array, "__cuda_array_interface__", None)
    if interface is None:
        interface = getattr(array, "__array_interface__", None)
    return interface


def check_array(array, name, op, ndim=None, dtype=None):
    """Raise unless ``array`` is a C-contiguous array (of ``ndim`` dims and ``dtype`` if given).

    The kernels index with ``shape``-derived C strides, and the PTX compiled
    in CI is for C-contiguous arrays (Numba type ``float32[:, ..., ::1]``).
    """
    interface = _interface(array)
    if interface is None:
        raise TypeError(f"{op}: {name} must be a device array (with __cuda_array_interface__), "
                        f"got {type(array).__name__}")
    shape = tuple(interface["shape"])
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{op}: {name} must have {ndim} dimensions, got shape {shape}")
    if dtype is not None and np.dtype(array.dtype) != np.dtype(dtype):
        raise TypeError(f"{op}: {name} must have dtype {np.dtype(dtype)}, got {array.dtype}")
    strides = interface.get("strides")
    if strides is not None:
        itemsize = np.dtype(interface["typestr"]).itemsize
        expected = itemsize
        for size, stride in zip(reversed(shape), reversed(strides)):
            if size > 1 and stride != expected:
                raise ValueError(f"{op}: {name} must be C-contiguous, got strides {strides} "
                                 f"for shape {shape}")
            expected *= size


def check_shape(array, name, op, expected):
    if tuple(array.shape) != tuple(expected):
        raise ValueError(f"{op}: {name} must have shape {tuple(expected)}, "
                         f"got {tuple(array.shape)}")


def check_arrays(op, shape, **arrays):
    """Each of ``arrays`` (name=array) is a C-contiguous array of ``shape``."""
    for name, array in arrays.items():
        check_array(array, name, op)
        check_shape(array, name, op, shape)


def check_float(array, name, op):
    if np.dtype(array.dtype) not in (np.float32, np.float64):
        raise TypeError(f"{op}: {name} must be float32 or float64, got {array.dtype}")


def same_dtype(op, **arrays):
    """All ``arrays`` (name=array) share one floating dtype; returns it."""
    items = list(arrays.items())
    first_name, first = items[0]
    check_float(first, first_name, op)
    for name, array in items[1:]:
        if np.dtype(array.dtype) != np.dtype(first.dtype):
            raise TypeError(f"{op}: {name} has dtype {array.dtype} but {first_name} has "
                            f"{first.dtype}; all must match")
    return np.dtype(first.dtype)


def as_ncl(array):
    """(N, C, *) -> (N, C, L), ``L`` the product of the trailing dims (a C-contiguous view).

    ``L`` is computed, not ``-1``: an empty array (N or C zero) reshapes too,
    since :func:`launch_1d` gets its arguments before it sees a zero ``count``.
    """
    return array.reshape(array.shape[0], array.shape[1], math.prod(array.shape[2:]))


def blocks_for(count, threads):
    """Blocks of ``threads`` covering ``count`` items (the last one partial)."""
    return (count + threads - 1) // threads


def check_threads(threads, op, power_of_two=False, maximum=1024):
    threads = int(threads)
    if not 1 <= threads <= maximum or (power_of_two and threads & (threads - 1)):
        kind = "a power of two" if power_of_two else "an int"
        raise ValueError(f"{op}: threads must be {kind} in [1, {maximum}], got {threads}")
    return threads


def launch_1d(kernel, op, count, threads, stream, *args):
    """``kernel(*args)`` with one thread per item of ``count``, after checking ``threads``.

    A 1-D grid of ``threads``-thread blocks (the last one partial; the kernel
    skips the threads past ``count``); nothing is launched when ``count`` is 0.
    """
    threads = check_threads(threads, op)
    if count:
        kernel[blocks_for(count, threads), threads, stream](*args)
