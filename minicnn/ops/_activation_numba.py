"""Numba fast paths for the piecewise-linear activations (NumPy float32 arrays only).

The readable definition of every operator is its NumPy formula in
:mod:`minicnn.ops.activation`; each kernel here is the same formula written
as one fused loop over the flattened array, named after its NumPy twin and
tested against it element by element, kink points included
(``tests/ops/test_activation.py``).

Why a kernel at all: the NumPy formulas make 3-6 passes over memory, each
allocating a temporary, on one thread. One ``prange`` loop makes a single
pass on all cores and is about as fast as PyTorch's vectorised kernels
(hardswish forward+backward, N=8 C=116 28x28, 2 threads: NumPy 3.4x
PyTorch's time, these kernels about 1.2x, most of the rest being Python
and autograd overhead).

Scope, deliberately narrow:

* float32 only: the training dtype, and one compiled specialisation per
  kernel keeps the first-call compile short (float64 uses NumPy);
* C-contiguous NumPy arrays of at least ``activation.NUMBA_MIN_SIZE``
  elements (``activation._fast`` decides): below that the gain is a few
  microseconds, not worth a parallel region;
* the exp-based activations (sigmoid, silu, ...) stay on NumPy: without
  Intel's SVML Numba evaluates ``exp`` one element at a time, about 3x
  slower than NumPy's SIMD ``exp`` (measured).

Kernels compile lazily on first use (``cache=True`` keeps the machine code
in ``__pycache__`` for later processes). Constants are float32 literals so
that no float64 arithmetic sneaks into the loops.
"""
import numpy as np
from numba import njit, prange

_ZERO = np.float32(0.0)
_HALF = np.float32(0.5)
_THREE = np.float32(3.0)
_SIX = np.float32(6.0)
_ONE_SIXTH = np.float32(1.0 / 6.0)


# --------------------------------------------------------------------- kernels
# Every kernel reads 1-D views and writes ``out`` (same length). NaN
# propagates as in the NumPy twin: comparisons with NaN are false, so a NaN
# input falls through to the branch that returns (a multiple of) itself, and
# a backward's NaN input to the branch that passes the gradient (PyTorch's).

@njit(parallel=True, cache=True)
def relu_forward_kernel(x, out):  # twin: maximum(x, 0)
    for i in prange(x.size):
        v = x[i]
        out[i] = _ZERO if v < _ZERO else v


@njit(parallel=True, cache=True)
def relu_backward_kernel(y, grad_out, out):  # twin: where(y <= 0, 0, grad_out), y = relu(x)
    for i in prange(y.size):
        out[i] = _ZERO if y[i] <= _ZERO else grad_out[i]


@njit(parallel=True, cache=True)
def relu6_forward_kernel(x, out):  # twin: clip(x, 0, 6)
    for i in prange(x.size):
        v = x[i]
        v = _ZERO if v < _ZERO else v
        out[i] = _SIX if v > _SIX else v


@njit(parallel=True, cache=True)
def relu6_backward_kernel(x, grad_out, out):  # twin: where((x <= 0) | (x >= 6), 0, grad_out)
    for i in prange(x.size):
        v = x[i]
        out[i] = _ZERO if (v <= _ZERO or v >= _SIX) else grad_out[i]


@njit(parallel=True, cache=True)
def hardsigmoid_forward_kernel(x, out):  # twin: clip(x + 3, 0, 6) / 6
    for i in prange(x.size):
        r = x[i] + _THREE
        r = _ZERO if r < _ZERO else r
        r = _SIX if r > _SIX else r
        out[i] = r / _SIX


@njit(parallel=True, cache=True)
def hardsigmoid_backward_kernel(x, grad_out, out):  # twin: grad_out * ((x > -3) & (x < 3)) * (1/6)
    for i in prange(x.size):
        v = x[i]
        out[i] = grad_out[i] * _ONE_SIXTH if (v > -_THREE and v < _THREE) else _ZERO


@njit(parallel=True, cache=True)
def hardswish_forward_kernel(x, out):  # twin: x * clip(x + 3, 0, 6) / 6
    for i in prange(x.size):
        v = x[i]
        r = v + _THREE
        r = _ZERO if r < _ZERO else r
        r = _SIX if r > _SIX else r
        out[i] = v * r / _SIX


@njit(parallel=True, cache=True)
def hardswish_backward_kernel(x, grad_out, out):  # twin: grad_out * hardswish_slope(x)
    for i in prange(x.size):
        v = x[i]
        if v <= -_THREE:
            out[i] = _ZERO
        elif v < _THREE:
            out[i] = grad_out[i] * (v / _THREE + _HALF)
        else:  # x >= 3, and NaN (which fails both tests above)
            out[i] = grad_out[i]


# -------------------------------------------------------------------- wrappers
def unary(kernel, x):
    """``kernel`` applied to ``x`` (see :func:`usable`); a new array of x's shape."""
    out = np.empty_like(x)
    kernel(x.reshape(-1), out.reshape(-1))
    return out


def binary(kernel, saved, grad_out):
    """``kernel(saved, grad_out)``, the backward form; a new array of saved's shape."""
    out = np.empty_like(saved)
    kernel(saved.reshape(-1), grad_out.reshape(-1), out.reshape(-1))
    return out


#: Kernels by operator name: (forward, backward); what the tests iterate over.
KERNELS = {
    "relu": (relu_forward_kernel, relu_backward_kernel),
    "relu6": (relu6_forward_kernel, relu6_backward_kernel),
    "hardsigmoid": (hardsigmoid_forward_kernel, hardsigmoid_backward_kernel),
    "hardswish": (hardswish_forward_kernel, hardswish_backward_kernel),
}
