"""Activation functions and softmax.

Every activation here except softmax/log_softmax acts elementwise: ``y = f(x)``,
``dL/dx = g * f'(x)`` with ``g = dL/dy``, and the output has the input's shape.
Each Function's docstring states ``f``, ``f'`` and the value ``f'`` takes at
the kinks, where ``f`` has no derivative and a convention has to be chosen;
minicnn takes PyTorch's (checked against PyTorch at the kinks in the tests):

==============  =======================  ===============================
function        kinks                    gradient used at the kink
==============  =======================  ===============================
relu            x = 0                    0
relu6           x = 0, x = 6             0 at both
leaky_relu      x = 0                    negative_slope
elu             x = 0 (alpha != 1)       alpha
hardsigmoid     x = -3, x = 3            0 at both (1/6 on (-3, 3) only)
hardswish       x = -3, x = 3            0 at -3, 1 at 3
==============  =======================  ===============================

NaN in, NaN out. The gradient *at* a NaN input is PyTorch's: each backward
tests for the branches that stop or scale the gradient (``x <= 0`` for relu),
and a NaN, failing every comparison, takes the branch that passes it (relu,
relu6, elu, hardswish pass ``g``, leaky_relu ``negative_slope * g``,
hardsigmoid 0). The smooth functions (sigmoid, tanh, silu, gelu) give NaN.

``inplace=True`` is accepted for PyTorch compatibility but the result is
always a new tensor and the input is left unchanged; use the return value
(``x = relu(x, inplace=True)``). Overwriting an input is only safe when the
autograd engine can tell that a saved array was modified afterwards, which
PyTorch does with per-tensor version counters; minicnn has none, so an
in-place activation could silently corrupt the gradient of whatever saved
that input for its backward (a convolution saves its input, for example).

Fast path: for C-contiguous float32 NumPy arrays of at least
``NUMBA_MIN_SIZE`` elements, relu, relu6, hardsigmoid and hardswish run
fused, multi-threaded Numba loops (``_activation_numba.py``); the NumPy
formulas in this file are the definitions, used for everything else
(float64, small arrays) and tested against the kernels bit for bit.

GPU: on CuPy arrays hardsigmoid and hardswish run minicnn's CUDA kernels
(``kernels/activation.py`` through ``_gpu.py``); the other activations run
the formulas below on CuPy.
"""
import math
import warnings

import numpy as np

from .._validation import normalize_dim, require_bool, require_real
from ..backend import as_array, is_cupy_array, xp_of
from ..function import Function
from . import _gpu
from ._blocked import elementwise
from ._common import require_float_input

#: Smallest array (in elements) served by the Numba kernels. Measured for
#: hardswish forward+backward (2 threads): Numba 17 us vs NumPy 26 us at 4096
#: elements (mostly Python overhead), 29 vs 109 us at 65536; below 8192 the
#: gain is a few microseconds, not worth waking a thread pool for. Tests set
#: it to 0 to send small arrays through the kernels.
NUMBA_MIN_SIZE = 1 << 13


def _fast(*arrays):
    """The Numba kernel module when it may serve ``arrays``, else None.

    It serves C-contiguous float32 NumPy arrays of at least NUMBA_MIN_SIZE
    elements; the module (and Numba, ~0.3 s to import) loads on first use.
    """
    for a in arrays:
        if not (type(a) is np.ndarray and a.dtype == np.float32 and a.flags.c_contiguous
                and a.size >= NUMBA_MIN_SIZE):
            return None
    from . import _activation_numba

    return _activation_numba


# ------------------------------------------------------------ rectifiers
class ReLU(Function):
    """``y = max(x, 0)``.

    ``dy/dx = 1`` for ``x > 0`` and ``0`` for ``x <= 0`` (0 at the kink, as
    PyTorch; at a NaN the gradient passes, as PyTorch's ``y <= 0 ? 0 : g``).
    The backward reads the saved output: ``y <= 0`` exactly where ``x <= 0``,
    and the output is the array the next layer keeps alive anyway.
    """

    @staticmethod
    def forward(ctx, x):
        fast = _fast(x)
        out = (fast.unary(fast.relu_forward_kernel, x) if fast
               else xp_of(x).maximum(x, 0))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_arrays
        fast = _fast(out, grad_out)
        if fast:
            return fast.binary(fast.relu_backward_kernel, out, grad_out)
        return xp_of(out).where(out <= 0, grad_out.dtype.type(0), grad_out)


class ReLU6(Function):
    """``y = min(max(x, 0), 6)``.

    ``dy/dx = 1`` on the open interval ``0 < x < 6``, else 0: PyTorch computes
    relu6 as ``hardtanh(x, 0, 6)``, whose backward stops the gradient where
    ``x <= 0 or x >= 6``, so it is 0 at both kinks (and passes at a NaN).
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        fast = _fast(x)
        if fast:
            return fast.unary(fast.relu6_forward_kernel, x)
        return xp_of(x).clip(x, 0, 6)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        fast = _fast(x, grad_out)
        if fast:
            return fast.binary(fast.relu6_backward_kernel, x, grad_out)
        return xp_of(x).where((x <= 0) | (x >= 6), grad_out.dtype.type(0), grad_out)


class LeakyReLU(Function):
    """``y = x`` for ``x > 0``, ``y = a x`` otherwise (``a = negative_slope``).

    ``dy/dx = 1`` for ``x > 0`` and ``a`` for ``x <= 0`` (``a`` at the kink,
    as PyTorch).

    Both are ``x * s`` and ``g * s`` with the slope ``s = m + a (1 - m)``,
    ``m = [x > 0]`` as 0/1 floats: exact (``s`` is exactly 1 or ``a``) and
    branch-free (``where`` on random signs is ~20x slower, from branch
    mispredictions). ``s`` is saved for the backward.
    """

    @staticmethod
    def forward(ctx, x, *, negative_slope):
        positive = (x > 0).astype(x.dtype)
        slope = positive + negative_slope * (1 - positive)
        ctx.save_for_backward(slope)
        return x * slope

    @staticmethod
    def backward(ctx, grad_out):
        (slope,) = ctx.saved_arrays
        return grad_out * slope


class ELU(Function):
    """``y = x`` for ``x > 0``, ``y = alpha (e^x - 1)`` otherwise.

    ``dy/dx = 1`` for ``x > 0`` and ``alpha e^x`` for ``x <= 0``; at the kink
    this is ``alpha`` (PyTorch's choice; ``y`` is smooth there only when
    ``alpha = 1``).

    Computed branch-free as ``y = max(x, 0) + alpha expm1(min(x, 0))`` (one
    of the two terms is exactly 0; ``expm1`` is accurate near 0 and never
    sees a positive argument, so nothing overflows) and
    ``dy/dx = alpha e^{min(x, 0)}`` where ``x <= 0``, else 1 (so 1 at a NaN,
    as PyTorch; a product with a 0/1 mask would give NaN there).
    """

    @staticmethod
    def forward(ctx, x, *, alpha):
        xp = xp_of(x)
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return xp.maximum(x, 0) + alpha * xp.expm1(xp.minimum(x, 0))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        xp = xp_of(x)
        slope = xp.where(x <= 0, ctx.alpha * xp.exp(xp.minimum(x, 0)), x.dtype.type(1))
        return grad_out * slope


# ------------------------------------------------------------ smooth squashes
def _sigmoid_into(out, x):
    """``out = 1 / (1 + e^-x)`` in four in-place passes.

    For ``x < -88`` (float32) ``e^-x`` overflows to inf and the result is
    the correct limit 0, so the overflow warning is silenced (here, inside
    the formula: NumPy's error state is per thread); unlike
    ``0.5 (1 + tanh(x/2))`` this keeps full relative accuracy in the tail.
    """
    xp = xp_of(x)
    xp.negative(x, out=out)
    with np.errstate(over="ignore"):  # CuPy never warns; this is for NumPy
        xp.exp(out, out=out)
    out += 1
    xp.reciprocal(out, out=out)


def _sigmoid(x):
    """``1 / (1 + e^-x)`` as a new array (on all cores for large NumPy arrays: _blocked)."""
    # empty_like: an array even for 0-d x (NumPy gives a scalar)
    return elementwise(_sigmoid_into, xp_of(x).empty_like(x), x)


def _silu_into(out, x):
    """``out = x s(x)``."""
    _sigmoid_into(out, x)
    out *= x


def _silu_grad_into(out, x, grad_out):
    """``out = grad_out s(x) (1 + x (1 - s(x)))``, ``s(x)`` recomputed."""
    xp = xp_of(x)
    sig = xp.empty_like(x)  # one block's worth under _blocked
    _sigmoid_into(sig, x)
    xp.subtract(1, sig, out=out)
    out *= x
    out += 1
    out *= sig
    out *= grad_out


class Sigmoid(Function):
    """``y = s(x) = 1 / (1 + e^-x)``;  ``dy/dx = y (1 - y)``."""

    @staticmethod
    def forward(ctx, x):
        out = _sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_arrays
        grad = as_array(1 - out)
        grad *= out
        grad *= grad_out
        return grad


class Tanh(Function):
    """``y = tanh(x)``;  ``dy/dx = 1 - y^2``."""

    @staticmethod
    def forward(ctx, x):
        out = xp_of(x).tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_arrays
        grad = as_array(out * out)
        xp_of(out).subtract(1, grad, out=grad)
        grad *= grad_out
        return grad


class SiLU(Function):
    """``y = x s(x)`` with ``s(x) = 1 / (1 + e^-x)`` (also called swish).

    ``dy/dx = s(x) + x s(x) (1 - s(x)) = s(x) (1 + x (1 - s(x)))``. Like
    PyTorch, the backward recomputes ``s(x)`` from the saved ``x`` rather than
    keeping it: one activation-sized array less per SiLU (EfficientNet-B0's
    training step peaked 15% above PyTorch's when it was kept), for one more
    ``exp`` pass, run block by block in cache (:mod:`._blocked`).
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return elementwise(_silu_into, xp_of(x).empty_like(x), x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        return elementwise(_silu_grad_into, xp_of(x).empty_like(x), x, as_array(grad_out))


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_KAPPA = 0.044715


def _erf(x):
    """The error function, elementwise: CuPy's, else a Numba ufunc over C's ``erf``.

    NumPy has no ``erf``; SciPy is not a dependency of minicnn, Numba is,
    and its ``math.erf`` compiles to the C library's (accurate to about an
    ulp). It runs one element at a time, so GELU is ~20x slower than
    PyTorch's vectorised kernel (see ``_activation_erf.py``).
    """
    if xp_of(x) is not np:
        import cupyx.scipy.special

        return cupyx.scipy.special.erf(x)
    from ._activation_erf import erf

    return erf(x)


class GELU(Function):
    """Gaussian error linear unit, ``y = x Phi(x)``.

    ``approximate='none'``: ``Phi(x) = (1 + erf(x / sqrt 2)) / 2`` is the
    standard normal CDF and ``dy/dx = Phi(x) + x phi(x)`` with the density
    ``phi(x) = e^{-x^2/2} / sqrt(2 pi)``.

    ``approximate='tanh'``: ``y = x (1 + tanh(u)) / 2`` with
    ``u = sqrt(2/pi) (x + 0.044715 x^3)``, and
    ``dy/dx = (1 + tanh(u)) / 2 + x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2``.
    """

    @staticmethod
    def forward(ctx, x, *, approximate):
        xp = xp_of(x)
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            inner = xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_KAPPA * x * x * x))
            return 0.5 * x * (1 + inner)
        return 0.5 * x * (1 + _erf(x * _SQRT_HALF))

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        xp = xp_of(x)
        if ctx.approximate == "tanh":
            # The terms in PyTorch's order, so that float32 rounding agrees too.
            x_sq = x * x
            inner = xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_KAPPA * x_sq * x))
            left_derivative = 0.5 * (1 + inner)
            right_derivative = ((0.5 * x) * (1 - inner * inner)
                                * (_SQRT_2_OVER_PI * (1 + 3 * _GELU_KAPPA * x_sq)))
            slope = left_derivative + right_derivative
        else:
            cdf = 0.5 * (1 + _erf(x * _SQRT_HALF))
            slope = cdf + x * _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
        return grad_out * slope


# ------------------------------------------------------------ hard squashes
class Hardsigmoid(Function):
    """``y = relu6(x + 3) / 6 = min(max(x + 3, 0), 6) / 6`` (PyTorch's definition).

    ``dy/dx = 1/6`` on the open interval ``-3 < x < 3``, else 0 (0 at both
    kinks, as PyTorch).

    Two definitions are in use: this one (MobileNetV3, PyTorch, ONNX
    HardSigmoid with alpha=1/6) and Keras' ``clip(0.2 x + 0.5, 0, 1)``
    (slope 1/5, saturating at +-2.5). Weights trained with one do not
    transfer exactly to the other.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        if is_cupy_array(x) and _gpu.serves(x):  # GPU dispatch: kernels/activation.py
            return _gpu.hardsigmoid_forward(xp_of(x), x)
        fast = _fast(x)
        if fast:
            return fast.unary(fast.hardsigmoid_forward_kernel, x)
        return xp_of(x).clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        if is_cupy_array(x) and _gpu.serves(x, grad_out):  # GPU dispatch: kernels/activation.py
            return _gpu.hardsigmoid_backward(xp_of(x), x, grad_out)
        fast = _fast(x, grad_out)
        if fast:
            return fast.binary(fast.hardsigmoid_backward_kernel, x, grad_out)
        return grad_out * ((x > -3) & (x < 3)) * (1 / 6)


def _hardswish_slope(x):
    """``d hardswish / dx``: 0 for ``x <= -3``, ``x/3 + 1/2`` on ``(-3, 3)``, 1 otherwise
    (``x >= 3`` and NaN, as PyTorch)."""
    xp = xp_of(x)
    one, zero = x.dtype.type(1), x.dtype.type(0)
    return xp.where(x <= -3, zero, xp.where(x < 3, x / 3 + x.dtype.type(0.5), one))


class Hardswish(Function):
    """``y = x relu6(x + 3) / 6 = x * hardsigmoid(x)`` (MobileNetV3).

    ``dy/dx = 0`` for ``x <= -3``, ``(2x + 3) / 6 = x/3 + 1/2`` for
    ``-3 < x < 3`` and ``1`` for ``x >= 3`` (and at a NaN). At the kinks PyTorch 2.13 takes
    the outer pieces: 0 at ``x = -3`` (the middle formula would give -1/2)
    and 1 at ``x = 3`` (the middle formula would give 3/2); minicnn does the
    same, and the tests check it against PyTorch at exactly -3 and 3.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        if is_cupy_array(x) and _gpu.serves(x):  # GPU dispatch: kernels/activation.py
            return _gpu.hardswish_forward(xp_of(x), x)
        fast = _fast(x)
        if fast:
            return fast.unary(fast.hardswish_forward_kernel, x)
        return x * xp_of(x).clip(x + 3, 0, 6) / 6

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        if is_cupy_array(x) and _gpu.serves(x, grad_out):  # GPU dispatch: kernels/activation.py
            return _gpu.hardswish_backward(xp_of(x), x, grad_out)
        fast = _fast(x, grad_out)
        if fast:
            return fast.binary(fast.hardswish_backward_kernel, x, grad_out)
        return grad_out * _hardswish_slope(x)


# ------------------------------------------------------------ softmax
def _shifted(x, axis):
    """``x - max_axis x``: every exponent <= 0, so ``exp`` cannot overflow."""
    return x - x.max(axis=axis, keepdims=True)


class Softmax(Function):
    """``y_i = e^{x_i - m} / sum_j e^{x_j - m}`` along ``dim``, ``m = max_j x_j``.

    Subtracting ``m`` changes nothing mathematically (it cancels) and keeps
    every exponent <= 0, so ``softmax([1000, 1000])`` is ``[0.5, 0.5]``, not
    nan. Output shape: the input's.

    Gradient (Jacobian ``dy_i/dx_j = y_i (delta_ij - y_j)``):
    ``dL/dx = y * (g - sum_dim(g * y))``.
    """

    @staticmethod
    def forward(ctx, x, *, axis):
        xp = xp_of(x)
        if x.ndim and x.shape[axis] == 0:
            out = x.copy()
        else:
            out = xp.exp(_shifted(x, axis))
            out /= out.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_arrays
        weighted = grad_out * out
        weighted_sum = weighted.sum(axis=ctx.axis, keepdims=True)
        weighted -= out * weighted_sum
        return weighted


class LogSoftmax(Function):
    """``y_i = x_i - m - log sum_j e^{x_j - m}`` along ``dim``, ``m = max_j x_j``.

    The log-sum-exp is taken of shifted values (every exponent <= 0, and the
    largest term is ``e^0 = 1``, so the log never sees 0): stable for inputs
    like 1000 or -1000. Output shape: the input's.

    Gradient: ``dL/dx = g - softmax(x) * sum_dim g`` with ``softmax(x) = e^y``.
    """

    @staticmethod
    def forward(ctx, x, *, axis):
        xp = xp_of(x)
        if x.ndim and x.shape[axis] == 0:
            out = x.copy()
        else:
            out = _shifted(x, axis)
            out -= xp.log(xp.exp(out).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_arrays
        xp = xp_of(out)
        grad = as_array(xp.exp(out))
        grad *= grad_out.sum(axis=ctx.axis, keepdims=True)
        xp.subtract(grad_out, grad, out=grad)
        return grad


# ------------------------------------------------------------ functional
def _check(input, op, inplace=False):
    """A floating-point tensor input, and the ``inplace`` flag PyTorch's functionals take."""
    require_float_input(input, "input", op)
    require_bool(inplace, "inplace", op)


def _check_real(value, name, op):
    return float(require_real(value, name, op))


def relu(input, inplace=False):
    """``max(input, 0)``; ``inplace`` is accepted and ignored (see the module docstring)."""
    _check(input, "relu", inplace)
    return ReLU.apply(input)


def relu6(input, inplace=False):
    """``min(max(input, 0), 6)``; gradient 0 at both kinks (see :class:`ReLU6`)."""
    _check(input, "relu6", inplace)
    return ReLU6.apply(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input`` where positive, ``negative_slope * input`` elsewhere."""
    _check(input, "leaky_relu", inplace)
    slope = _check_real(negative_slope, "negative_slope", "leaky_relu")
    return LeakyReLU.apply(input, negative_slope=slope)


def elu(input, alpha=1.0, inplace=False):
    """``input`` where positive, ``alpha * (exp(input) - 1)`` elsewhere."""
    _check(input, "elu", inplace)
    alpha = _check_real(alpha, "alpha", "elu")
    return ELU.apply(input, alpha=alpha)


def sigmoid(input):
    """``1 / (1 + exp(-input))``."""
    _check(input, "sigmoid")
    return Sigmoid.apply(input)


def tanh(input):
    """Hyperbolic tangent."""
    _check(input, "tanh")
    return Tanh.apply(input)


def hardsigmoid(input, inplace=False):
    """``relu6(input + 3) / 6`` (PyTorch's definition; see :class:`Hardsigmoid`)."""
    _check(input, "hardsigmoid", inplace)
    return Hardsigmoid.apply(input)


def hardswish(input, inplace=False):
    """``input * relu6(input + 3) / 6`` (see :class:`Hardswish` for the kink gradients)."""
    _check(input, "hardswish", inplace)
    return Hardswish.apply(input)


def silu(input, inplace=False):
    """``input * sigmoid(input)``."""
    _check(input, "silu", inplace)
    return SiLU.apply(input)


_GELU_APPROXIMATIONS = ("none", "tanh")


def gelu(input, approximate="none"):
    """``input * Phi(input)``, exact (``'none'``) or with the tanh approximation."""
    _check(input, "gelu")
    if approximate not in _GELU_APPROXIMATIONS:
        raise ValueError(f"gelu: approximate must be one of {_GELU_APPROXIMATIONS}, "
                         f"got {approximate!r}")
    return GELU.apply(input, approximate=approximate)


def _softmax_dim(input, dim, dtype, op, stacklevel):
    """Validate ``input``/``dim``/``dtype``; return ``(input, axis)`` ready for the Function.

    ``dim=None`` reproduces PyTorch's deprecated implicit choice (0 for 0-,
    1- and 3-D inputs, else 1) with the same warning.
    """
    from .elementwise import cast

    _check(input, op)
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated. "
                      f"Change the call to include dim=X as an argument.", UserWarning,
                      stacklevel=stacklevel)
    axis = normalize_dim(dim, input.ndim, "dim", op)
    if dtype is not None:
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise TypeError(f"{op}: dtype must be a floating-point dtype, got {dtype!r}")
        if np.dtype(dtype) != input.dtype:
            input = cast(input, np.dtype(dtype))
    # A 0-d tensor has one element and one "dimension" (dim 0 or -1): reduce over all.
    return input, (axis if input.ndim else None)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(input) / sum(exp(input), dim)``, computed stably (see :class:`Softmax`).

    ``dtype``: cast the input to this float dtype first (as PyTorch).
    """
    input, axis = _softmax_dim(input, dim, dtype, "softmax", _stacklevel)
    return Softmax.apply(input, axis=axis)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``input - logsumexp(input, dim)``, computed stably (see :class:`LogSoftmax`)."""
    input, axis = _softmax_dim(input, dim, dtype, "log_softmax", _stacklevel)
    return LogSoftmax.apply(input, axis=axis)
