"""Hardswish and hardsigmoid (MobileNetV3), forward and backward.

NumPy twins: :class:`minicnn.ops.activation.Hardsigmoid` and
:class:`minicnn.ops.activation.Hardswish` (PyTorch's definitions and kink
conventions, which the minicnn tests check against PyTorch at exactly -3, 3)::

    hardsigmoid(x) = min(max(x + 3, 0), 6) / 6
    d/dx           = 1/6 on the open interval -3 < x < 3, else 0 (0 at both kinks)
    hardswish(x)   = x * min(max(x + 3, 0), 6) / 6
    d/dx           = 0 for x <= -3,  (2x + 3)/6 = x/3 + 1/2 for -3 < x < 3,  1 for x >= 3

A NaN input gives a NaN output; the hardswish gradient passes at a NaN and the
hardsigmoid gradient is 0 there, as in the twins and PyTorch.

Layout: the arrays are flattened (any shape, C-contiguous); one thread per
element, 1-D grid of ``ELEMENTWISE_THREADS``-thread blocks; consecutive
threads touch consecutive elements, so every access is coalesced. The
hardswish formula is the device function :func:`hardswish` (inlined), which
:mod:`fused` calls too.

The constants are ``np.float32`` globals: Numba freezes them as float32
constants, so float32 data is computed in float32 (a Python ``3.0`` literal
would promote every operation to float64) while float64 data stays float64.
They are exact in float32 (3, 6, 0, 1/2, 1), so float64 loses nothing; the
1/6 slope is written as a division by 6 for the same reason.
"""
import numpy as np
from numba import cuda, float32

from ._launch import ELEMENTWISE_THREADS, check_array, check_shape, launch_1d, same_dtype

ZERO, HALF, ONE = np.float32(0.0), np.float32(0.5), np.float32(1.0)
THREE, SIX = np.float32(3.0), np.float32(6.0)


@cuda.jit(device=True)
def hardswish(value):
    """``value * min(max(value + 3, 0), 6) / 6`` in ``value``'s precision (also in :mod:`fused`)."""
    return value * min(max(value + THREE, ZERO), SIX) / SIX


@cuda.jit
def hardsigmoid_forward_kernel(x, y):
    index = cuda.grid(1)
    if index < x.size:
        y[index] = min(max(x[index] + THREE, ZERO), SIX) / SIX


@cuda.jit
def hardsigmoid_backward_kernel(x, grad_out, grad_in):
    index = cuda.grid(1)
    if index < x.size:
        value = x[index]
        if -THREE < value and value < THREE:
            grad_in[index] = grad_out[index] / SIX
        else:
            grad_in[index] = ZERO


@cuda.jit
def hardswish_forward_kernel(x, y):
    index = cuda.grid(1)
    if index < x.size:
        y[index] = hardswish(x[index])


@cuda.jit
def hardswish_backward_kernel(x, grad_out, grad_in):
    index = cuda.grid(1)
    if index < x.size:
        value = x[index]
        if value <= -THREE:
            grad_in[index] = ZERO
        elif value < THREE:
            grad_in[index] = grad_out[index] * (value / THREE + HALF)
        else:  # x >= 3, and NaN (which fails both tests above): PyTorch passes g
            grad_in[index] = grad_out[index]


def _flat(array):
    return array.reshape(-1)


def _launch(kernel, op, names, arrays, threads, stream):
    first = arrays[0]
    for name, array in zip(names, arrays):
        check_array(array, name, op)
        check_shape(array, name, op, first.shape)
    same_dtype(op, **dict(zip(names, arrays)))
    launch_1d(kernel, op, first.size, threads, stream, *[_flat(a) for a in arrays])


def hardsigmoid_forward(x, out, *, threads=ELEMENTWISE_THREADS, stream=0):
    """``out = hardsigmoid(x)`` elementwise (any shape)."""
    _launch(hardsigmoid_forward_kernel, "hardsigmoid_forward", ("x", "out"), (x, out), threads,
            stream)


def hardsigmoid_backward(x, grad_out, grad_in, *, threads=ELEMENTWISE_THREADS, stream=0):
    """``grad_in = grad_out * hardsigmoid'(x)``."""
    _launch(hardsigmoid_backward_kernel, "hardsigmoid_backward", ("x", "grad_out", "grad_in"),
            (x, grad_out, grad_in), threads, stream)


def hardswish_forward(x, out, *, threads=ELEMENTWISE_THREADS, stream=0):
    """``out = hardswish(x)`` elementwise (any shape)."""
    _launch(hardswish_forward_kernel, "hardswish_forward", ("x", "out"), (x, out), threads,
            stream)


def hardswish_backward(x, grad_out, grad_in, *, threads=ELEMENTWISE_THREADS, stream=0):
    """``grad_in = grad_out * hardswish'(x)``."""
    _launch(hardswish_backward_kernel, "hardswish_backward", ("x", "grad_out", "grad_in"),
            (x, grad_out, grad_in), threads, stream)


_A1 = float32[::1]

#: One float32 signature per kernel, for the PTX compile check.
SIGNATURES = [
    (hardsigmoid_forward_kernel, (_A1, _A1)),
    (hardsigmoid_backward_kernel, (_A1, _A1, _A1)),
    (hardswish_forward_kernel, (_A1, _A1)),
    (hardswish_backward_kernel, (_A1, _A1, _A1)),
]
