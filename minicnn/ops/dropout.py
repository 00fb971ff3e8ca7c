"""Dropout: randomly zero elements while training (inverted dropout)."""
import numbers

import numpy as np

from .._validation import require_bool
from ..backend import xp_of
from ..function import Function
from ..random import default_generator
from ._common import require_float_input


class Dropout(Function):
    """``y = x * m`` with a fixed mask ``m``;  ``dL/dx = g * m``.

    The mask is drawn by :func:`dropout`: ``m = b / (1 - p)`` with
    ``b ~ Bernoulli(1 - p)`` independently per element ("inverted"
    dropout: scaling the kept elements by ``1/(1-p)`` keeps the expectation,
    ``E[y] = x``, so evaluation needs no rescaling). The mask is an input
    without a gradient.

    Shapes: ``y`` has the shape of ``x``.
    """

    @staticmethod
    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad_out):
        (mask,) = ctx.saved_arrays
        return grad_out * mask, None


def _mask(shape, p, dtype, like):
    """``Bernoulli(1 - p) / (1 - p)`` per element, from minicnn's global generator.

    ``u ~ U[0, 1)`` and keep ``u >= p``: ``P(keep) = 1 - p``.
    """
    rng = default_generator()
    draw_dtype = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    keep = rng.random(shape, dtype=draw_dtype) >= p
    mask = keep.astype(dtype)
    mask *= np.asarray(1.0 / (1.0 - p), dtype=dtype)
    return xp_of(like).asarray(mask)  # drawn on the host; a GPU array is copied over


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: zero each element with probability ``p``, scale the rest by ``1/(1-p)``.

    See :class:`Dropout`. ``training=False`` or ``p=0`` returns ``input``
    itself (as PyTorch does); ``p=1`` gives zeros (no mask is drawn). The mask
    comes from ``minicnn.random.default_generator()``, so
    ``minicnn.manual_seed`` makes it repeatable.

    ``inplace`` is accepted for PyTorch compatibility, but the result is
    always a new tensor: minicnn's autograd records no in-place operations.
    """
    op = "dropout"
    require_float_input(input, "input", op)
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{op}: p must be a number in [0, 1], got {p!r}")
    if not 0.0 <= p <= 1.0:  # also rejects nan
        raise ValueError(f"{op}: dropout probability p has to be between 0 and 1, got {p!r}")
    require_bool(training, "training", op)
    require_bool(inplace, "inplace", op)
    if not training or p == 0:
        return input
    xp = xp_of(input.data)
    if p == 1:  # every element dropped; 1/(1-p) would be inf
        mask = xp.zeros(input.shape, dtype=input.dtype)
    else:
        mask = _mask(input.shape, float(p), input.dtype, input.data)
    return Dropout.apply(input, mask)
