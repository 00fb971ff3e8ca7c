"""Losses on probabilities: binary_cross_entropy, kl_div.

Notation as in :mod:`minicnn.ops.loss`: ``x`` the input, ``t`` the target (the
input's shape exactly: never broadcast), ``g = dL/dl``; per-element
Functions (the ``reduction='none'`` result) followed by the shared
reduction. Formulas on NumPy and CuPy alike (``xp``): the GPU path.
"""
import warnings

import numpy as np

from .._validation import require_bool
from ..backend import xp_of
from ..function import Function
from ._common import require_float_input
from .loss import _constant_weight, _float_target, _reduce, _reduction

#: PyTorch clamps each log of binary_cross_entropy at -100 (so a confident wrong
#: answer costs at most 100, not inf) ...
LOG_FLOOR = -100.0
#: ... and keeps the backward's denominator x (1 - x) at least this (no division by 0).
BCE_EPSILON = 1e-12


class BinaryCrossEntropy(Function):
    """``l = -w [t max(log x, -100) + (1 - t) max(log(1 - x), -100)]`` for probabilities ``x``.

    ``w``: the element weight (1 when None; a constant broadcast to ``x``'s shape).

    Gradients (PyTorch's, from the unclamped logs):

    * ``dL/dx = g w [-t / x + (1 - t) / (1 - x)] = g w (x - t) / (x (1 - x))``,
      with the denominator kept ``>= 1e-12``: finite (large) at ``x = 0`` or 1;
    * ``dL/dt = g w [log(1 - x) - log x]`` (``l`` is linear in ``t``), unclamped:
      ``+-inf`` at ``x = 0`` or 1, as PyTorch.

    ``log(1 - x)`` is computed as ``log1p(-x)``: exact for small ``x``.
    """

    @staticmethod
    def forward(ctx, x, target, *, weight):
        xp = xp_of(x)
        with _quiet_logs():
            log_x = xp.log(x)
            log_1mx = xp.log1p(-x)
        loss = -(target * xp.maximum(log_x, LOG_FLOOR)
                 + (1 - target) * xp.maximum(log_1mx, LOG_FLOOR))
        if weight is not None:
            loss = loss * weight
        ctx.save_for_backward(x, target, log_x, log_1mx)
        ctx.weight = weight
        return loss

    @staticmethod
    def backward(ctx, grad_out):
        x, target, log_x, log_1mx = ctx.saved_arrays
        xp = xp_of(x)
        scale = grad_out if ctx.weight is None else grad_out * ctx.weight
        grad_x = grad_t = None
        if ctx.needs_input_grad[0]:
            grad_x = scale * (x - target) / xp.maximum(x * (1 - x), BCE_EPSILON)
        if ctx.needs_input_grad[1]:
            grad_t = scale * (log_1mx - log_x)
        return grad_x, grad_t


def _quiet_logs():
    """log(0) = -inf is expected here (clamped, or the documented limit), and a negative
    probability gives nan as in PyTorch: silence NumPy's warnings for both (CuPy has none)."""
    return np.errstate(divide="ignore", invalid="ignore")


class KLDivergence(Function):
    """Pointwise KL divergence ``l = t (log t - x)`` of log-probabilities ``x``.

    ``log_target=False`` (``t`` holds probabilities): ``l = t log t - t x``
    with ``0 log 0 = 0`` (PyTorch's ``xlogy``), so ``l = 0`` where ``t = 0``
    whatever ``x``; ``dL/dx = -g t``; ``dL/dt = g (log t + 1 - x)``, ``-inf`` at
    ``t = 0`` (the limit; PyTorch gives nan there, from ``0/0`` in xlogy's
    backward).

    ``log_target=True`` (``t`` holds log-probabilities, ``p = e^t``):
    ``l = e^t (t - x)``; ``dL/dx = -g e^t``; ``dL/dt = g e^t (t - x + 1)``
    (product rule). Stable where ``p`` would underflow to 0 in the other form.
    """

    @staticmethod
    def forward(ctx, x, target, *, log_target):
        xp = xp_of(x)
        if log_target:
            probability = xp.exp(target)
            loss = probability * (target - x)
        else:
            probability = target
            with _quiet_logs():
                log_t = xp.log(xp.where(target == 0, 1, target))  # t log t = 0 at t = 0
            loss = target * log_t - target * x
        ctx.save_for_backward(x, target, probability)
        ctx.log_target = log_target
        return loss

    @staticmethod
    def backward(ctx, grad_out):
        x, target, probability = ctx.saved_arrays
        xp = xp_of(x)
        grad_x = -grad_out * probability if ctx.needs_input_grad[0] else None
        grad_t = None
        if ctx.needs_input_grad[1]:
            if ctx.log_target:
                grad_t = grad_out * probability * (target - x + 1)
            else:
                with _quiet_logs():
                    grad_t = grad_out * (xp.log(target) + 1 - x)
        return grad_x, grad_t


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` in ``[0, 1]`` against ``target``.

    See :class:`BinaryCrossEntropy` (each log clamped at -100, as PyTorch).
    ``target``: the input's shape exactly; ``weight``: a constant that
    broadcasts to it. An input outside ``[0, 1]`` is a ValueError (checked on
    the values, as PyTorch). For logits use ``binary_cross_entropy_with_logits``:
    stable, and no clamp needed.
    """
    op = "binary_cross_entropy"
    require_float_input(input, "input", op)
    reduction = _reduction(reduction, size_average, reduce, op)
    target = _float_target(input, target, op)
    weight = _constant_weight(weight, "weight", input, op)
    outside = ~((input.data >= 0) & (input.data <= 1))  # nan counts as outside
    if bool(outside.any()):
        first = float(input.data[outside].reshape(-1)[0])
        raise ValueError(f"{op}: all elements of input should be between 0 and 1 (they are "
                         f"probabilities), got {first}; for logits use "
                         f"binary_cross_entropy_with_logits")
    losses = BinaryCrossEntropy.apply(input, target, weight=weight)
    return _reduce(losses, reduction, input.size)


_KL_REDUCTIONS = ("none", "batchmean", "sum", "mean")


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """``KL(target || exp(input))`` pointwise: ``target (log target - input)`` (see :class:`KLDivergence`).

    ``input``: log-probabilities; ``target``: probabilities, or
    log-probabilities with ``log_target=True``; both of one shape.
    ``reduction='batchmean'`` divides the sum by ``input.shape[0]`` (the true
    KL divergence per sample); ``'mean'`` divides by the element count and
    warns, as PyTorch does, that it is not the KL divergence.
    """
    op = "kl_div"
    require_float_input(input, "input", op)
    reduction = _reduction(reduction, size_average, reduce, op, allowed=_KL_REDUCTIONS)
    target = _float_target(input, target, op)
    log_target = require_bool(log_target, "log_target", op)
    if reduction == "mean" and size_average is None and reduce is None:
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    losses = KLDivergence.apply(input, target, log_target=log_target)
    if reduction == "batchmean":
        if input.ndim == 0:
            return _reduce(losses, "sum", 0)
        return _reduce(losses, "mean", input.shape[0])
    return _reduce(losses, reduction, input.size)
