"""``normalize``: divide each vector along ``dim`` by its p-norm (at least ``eps``).

Notation: ``v`` one vector along the reduced dim(s), ``n = ||v||_p``,
``d = max(n, eps)``, ``y = v / d``. Formulas on NumPy and CuPy alike (``xp``).
"""
import math

import numpy as np

from .._validation import normalize_dims, require_real
from ..backend import xp_of
from ..function import Function
from ._common import require_float_input


def _p_norm(x, p, axes):
    """``||v||_p`` along ``axes`` (kept as size-1 dims): the sum of ``|v|^p`` to the 1/p,
    the largest ``|v_i|`` for p = inf (the smallest for -inf), the count of non-zeros for
    p = 0. For p < 0 (not a norm; PyTorch allows it) a zero entry makes the sum infinite
    and the result 0."""
    xp = xp_of(x)
    magnitude = xp.abs(x)
    if math.isinf(p):
        extreme = magnitude.max if p > 0 else magnitude.min
        return extreme(axis=axes, keepdims=True)
    if p == 0:
        return (x != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
    if p == 1:
        return magnitude.sum(axis=axes, keepdims=True)
    if p == 2:
        return xp.sqrt((x * x).sum(axis=axes, keepdims=True))
    with np.errstate(divide="ignore"):  # 0 ** (p < 0) = inf, as intended
        return (magnitude ** p).sum(axis=axes, keepdims=True) ** (1 / p)


def _norm_gradient(x, norm, p, axes):
    """``dn/dv_i`` for ``n = ||v||_p`` (broadcast to x's shape).

    * finite ``p != 0`` (negative too): ``d/dv_i (sum_j |v_j|^p)^{1/p} = sign(v_i) |v_i|^{p-1} / n^{p-1}``
      (``v_i / n`` for p = 2, ``sign(v_i)`` for p = 1); 0 where ``v_i = 0`` (where
      ``|v_i|^{p-1}`` is infinite for p < 1, as PyTorch's norm backward) or ``n = 0``;
    * p = +-inf: ``sign(v_i)`` shared evenly among the entries where ``|v_i| = n``
      (PyTorch's choice among the subgradients at a tie);
    * p = 0: 0 (the count of non-zeros is piecewise constant).
    """
    xp = xp_of(x)
    if p == 0:
        return xp.zeros_like(x)
    sign = xp.sign(x)
    if math.isinf(p):
        at_extreme = (xp.abs(x) == norm).astype(x.dtype)
        return sign * at_extreme / at_extreme.sum(axis=axes, keepdims=True)
    if p == 1:
        return sign
    safe_norm = xp.where(norm > 0, norm, 1)
    if p == 2:
        return x / safe_norm
    magnitude = xp.abs(x)
    safe_magnitude = xp.where(magnitude > 0, magnitude, 1)
    return xp.where(magnitude > 0, sign * (safe_magnitude / safe_norm) ** (p - 1), 0)


class Normalize(Function):
    """``y = v / max(||v||_p, eps)`` for every vector ``v`` along ``axes``.

    Gradient, with ``d = max(n, eps)`` and ``g = dL/dy``: by the quotient rule
    ``dy_i/dv_j = delta_ij / d - v_i / d^2 * dd/dv_j``, so

    ``dL/dv_j = g_j / d - (sum_i g_i v_i) / d^2 * [n >= eps] dn/dv_j``

    (``dd/dv_j`` is ``dn/dv_j`` while the norm is above ``eps``, 0 once clamped;
    ``dn/dv_j`` per ``p`` in :func:`_norm_gradient`). For p = 2 this is
    ``(g - y (g . y)) / d``: the part of ``g`` along ``y`` is removed, since
    moving ``v`` along itself does not change ``y``.
    Shapes: ``y`` has ``x``'s shape.
    """

    @staticmethod
    def forward(ctx, x, *, p, axes, eps):
        xp = xp_of(x)
        norm = _p_norm(x, p, axes)
        denominator = xp.maximum(norm, eps)
        ctx.save_for_backward(x, norm, denominator)
        ctx.meta = (p, axes, eps)
        return x / denominator

    @staticmethod
    def backward(ctx, grad_out):
        x, norm, denominator = ctx.saved_arrays
        p, axes, eps = ctx.meta
        along = (grad_out * x).sum(axis=axes, keepdims=True)  # sum_i g_i v_i, per vector
        unclamped = (norm >= eps).astype(x.dtype)
        grad = grad_out / denominator
        grad -= (along * unclamped / (denominator * denominator)) * _norm_gradient(x, norm, p, axes)
        return grad


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(||input||_p along dim, eps)``: unit vectors along ``dim`` (see :class:`Normalize`).

    ``p``: any real number or ``+-inf`` (``p < 0`` is no norm, but PyTorch takes
    it and so does minicnn); ``dim``: an int or a tuple of ints. ``out`` (PyTorch's non-differentiable output argument) is
    not supported: use the return value.
    """
    op = "normalize"
    require_float_input(input, "input", op)
    p = float(require_real(p, "p", op))
    if math.isnan(p):
        raise ValueError(f"{op}: p must be a number (or +-inf), got nan")
    eps = float(require_real(eps, "eps", op))
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (minicnn never writes into a given "
                        f"tensor); use the returned tensor")
    axes = normalize_dims(dim, input.ndim, "dim", op)
    if input.ndim == 0:
        axes = None  # dim 0 / -1 of a 0-d tensor: the one element is the vector
    return Normalize.apply(input, p=p, axes=axes, eps=eps)
