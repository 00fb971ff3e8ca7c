"""Softplus and Mish: the smooth rectifier and the activation built on it.

``softplus(x) = log(1 + e^x)`` is the smooth ReLU (its derivative is the
sigmoid); Mish is ``x tanh(softplus(x))``. Both are elementwise, ``y = f(x)``,
``dL/dx = g f'(x)`` with ``g = dL/dy``; the output has the input's shape.
Formulas work on NumPy and CuPy arrays alike (``xp``), so this is the GPU path.

Stable form: ``log(1 + e^z) = max(z, 0) + log1p(e^{-|z|})`` exponentiates only
non-positive numbers, so it neither overflows (``z = 100``) nor loses the tail
(``z = -100`` gives ``e^-100``, not 0).
"""
from .._validation import require_real
from ..backend import xp_of
from ..function import Function
from .activation import _check, _sigmoid


def _softplus(z):
    """``log(1 + e^z)`` in the stable form (see the module docstring)."""
    xp = xp_of(z)
    return xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))


class Softplus(Function):
    """``y = log(1 + e^{beta x}) / beta``, or ``y = x`` where ``beta x > threshold``.

    ``dy/dx = s(beta x)`` (the sigmoid: ``d/dz log(1 + e^z) = e^z / (1 + e^z)``,
    and the chain rule's ``beta`` cancels the ``1/beta``), and ``1`` where
    ``beta x > threshold`` (the linear piece PyTorch switches to; the switch is
    a jump of at most ``log1p(e^{-threshold}) / beta``, 2e-9 for the default 20).
    """

    @staticmethod
    def forward(ctx, x, *, beta, threshold):
        xp = xp_of(x)
        scaled = xp.multiply(x, beta, out=xp.empty_like(x))  # an array even for 0-d x
        linear = scaled > threshold
        ctx.save_for_backward(scaled, linear)
        return xp.where(linear, x, _softplus(scaled) / beta)

    @staticmethod
    def backward(ctx, grad_out):
        scaled, linear = ctx.saved_arrays
        return grad_out * xp_of(scaled).where(linear, 1, _sigmoid(scaled))


class Mish(Function):
    """``y = x tanh(softplus(x))`` (Misra 2019), with ``softplus(x) = log(1 + e^x)``.

    With ``t = tanh(softplus(x))`` and ``softplus' = s`` (the sigmoid):
    ``dy/dx = t + x (1 - t^2) s(x)`` (product rule, then ``tanh' = 1 - tanh^2``).
    """

    @staticmethod
    def forward(ctx, x):
        tanh_softplus = xp_of(x).tanh(_softplus(x))
        ctx.save_for_backward(x, tanh_softplus)
        return x * tanh_softplus

    @staticmethod
    def backward(ctx, grad_out):
        x, tanh_softplus = ctx.saved_arrays
        slope = x * (1 - tanh_softplus * tanh_softplus) * _sigmoid(x)
        slope += tanh_softplus
        slope *= grad_out
        return slope


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * input)) / beta``; ``input`` itself where ``beta * input > threshold``."""
    op = "softplus"
    _check(input, op)
    beta = float(require_real(beta, "beta", op))
    threshold = float(require_real(threshold, "threshold", op))
    if beta == 0:
        raise ValueError(f"{op}: beta must be non-zero (the output divides by it), got {beta}")
    return Softplus.apply(input, beta=beta, threshold=threshold)


def mish(input, inplace=False):
    """``input * tanh(softplus(input))``; ``inplace`` is accepted and ignored (a new tensor)."""
    _check(input, "mish", inplace)
    return Mish.apply(input)
