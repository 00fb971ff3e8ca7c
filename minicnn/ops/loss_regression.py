"""Robust regression losses: l1_loss, smooth_l1_loss, huber_loss.

Notation as in :mod:`minicnn.ops.loss`: ``x`` the input, ``t`` the target (the
input's shape exactly: never broadcast), ``d = x - t``, ``g = dL/dl``. Each
loss is a per-element Function (the ``reduction='none'`` result) followed by
the shared reduction of :mod:`minicnn.ops.loss` (``'mean'`` divides by the
element count). Formulas on NumPy and CuPy alike (``xp``): the GPU path.

The three are one family: with the Huber function

    ``h_delta(d) = d^2 / 2`` for ``|d| < delta``, ``delta (|d| - delta / 2)`` otherwise,

``huber_loss(delta) = h_delta``, ``smooth_l1_loss(beta) = h_beta / beta``
(``beta = 0``: ``l1_loss``, PyTorch's choice), and ``l1_loss = |d|``, the
limit of both as ``delta, beta -> 0`` after the scaling. ``h_delta'(d) =
clip(d, -delta, delta)``: quadratic near 0 (gradients shrink with the
error, like MSE), linear outside (bounded gradients, robust to outliers).
"""
from .._validation import require_real
from ..backend import xp_of
from ..function import Function
from ._common import require_float_input
from .loss import _elementwise_weight, _float_target, _reduce, _reduction, _weighted_reduce


class AbsoluteError(Function):
    """``l = |x - t|``;  ``dL/dx = g sign(x - t)``, ``dL/dt = -g sign(x - t)``.

    ``sign(0) = 0``: at ``x = t`` (the kink) the gradient is 0, as PyTorch's.
    """

    @staticmethod
    def forward(ctx, x, target):
        difference = x - target
        ctx.save_for_backward(difference)
        return xp_of(x).abs(difference)

    @staticmethod
    def backward(ctx, grad_out):
        (difference,) = ctx.saved_arrays
        grad = xp_of(difference).sign(difference) * grad_out
        return (grad if ctx.needs_input_grad[0] else None,
                -grad if ctx.needs_input_grad[1] else None)


class Huber(Function):
    """``l = scale * h_delta(x - t)`` with the Huber function ``h_delta`` (module docstring).

    ``huber_loss``: ``scale = 1``; ``smooth_l1_loss(beta)``: ``delta = beta``,
    ``scale = 1 / beta``. Pieces: ``|d| < delta`` is quadratic, as PyTorch
    (at ``|d| = delta`` both pieces give ``delta^2 / 2``, so the choice does
    not change the value).

    ``dL/dx = g scale clip(d, -delta, delta)``: ``d`` on the quadratic piece,
    ``+-delta`` on the linear ones; the two agree at ``|d| = delta``, so ``h``
    is continuously differentiable and no kink convention is needed.
    ``dL/dt = -dL/dx``.
    """

    @staticmethod
    def forward(ctx, x, target, *, delta, scale):
        xp = xp_of(x)
        difference = x - target
        magnitude = xp.abs(difference)
        quadratic = 0.5 * difference * difference
        linear = delta * (magnitude - 0.5 * delta)
        ctx.save_for_backward(difference)
        ctx.meta = (delta, scale)
        return scale * xp.where(magnitude < delta, quadratic, linear)

    @staticmethod
    def backward(ctx, grad_out):
        (difference,) = ctx.saved_arrays
        delta, scale = ctx.meta
        grad = xp_of(difference).clip(difference, -delta, delta) * (scale * grad_out)
        return (grad if ctx.needs_input_grad[0] else None,
                -grad if ctx.needs_input_grad[1] else None)


def _checked_pair(input, target, size_average, reduce, reduction, op):
    require_float_input(input, "input", op)
    reduction = _reduction(reduction, size_average, reduce, op)
    return _float_target(input, target, op), reduction


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error ``|input - target|`` (see :class:`AbsoluteError`).

    ``weight`` (the input's shape, differentiable) multiplies each error;
    ``'mean'`` then divides by ``sum(weight)``, as in PyTorch 2.13.
    """
    op = "l1_loss"
    target, reduction = _checked_pair(input, target, size_average, reduce, reduction, op)
    weight = _elementwise_weight(weight, input, op)
    return _weighted_reduce(AbsoluteError.apply(input, target), weight, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` for ``|d| < beta``, ``|d| - beta / 2`` otherwise (``d = input - target``).

    ``beta >= 0``; ``beta = 0`` is exactly ``l1_loss`` (as PyTorch). See :class:`Huber`.
    """
    op = "smooth_l1_loss"
    target, reduction = _checked_pair(input, target, size_average, reduce, reduction, op)
    beta = float(require_real(beta, "beta", op))
    if not beta >= 0:
        raise ValueError(f"{op}: beta must be >= 0, got {beta}")
    if beta == 0:
        losses = AbsoluteError.apply(input, target)
    else:
        losses = Huber.apply(input, target, delta=beta, scale=1.0 / beta)
    return _reduce(losses, reduction, input.size)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` for ``|d| < delta``, ``delta (|d| - delta / 2)`` otherwise (``d = input - target``).

    ``delta > 0``. ``weight`` (the input's shape, differentiable) multiplies
    each loss; unlike ``l1_loss``, PyTorch 2.13's ``'mean'`` then still divides
    by the element count, and so does minicnn. See :class:`Huber`.
    """
    op = "huber_loss"
    target, reduction = _checked_pair(input, target, None, None, reduction, op)
    delta = float(require_real(delta, "delta", op))
    if not delta > 0:
        raise ValueError(f"{op}: delta must be > 0, got {delta}")
    weight = _elementwise_weight(weight, input, op)
    losses = Huber.apply(input, target, delta=delta, scale=1.0)
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction, input.size)
