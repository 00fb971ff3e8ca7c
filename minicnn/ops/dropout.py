"""Dropout: randomly zero elements (``dropout``) or whole channels (``dropout2d``) while training.

Both are inverted dropout, ``y = x * m`` with one Function (:class:`Dropout`);
they differ only in the mask's shape: one draw per element, or one per
``(n, c)`` broadcast over the feature map. The mask is drawn on the host from
minicnn's generator and copied to the input's device, so the GPU path is the
same multiplication on CuPy arrays.
"""
import numbers
import warnings

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

    Shapes: ``y`` has the shape of ``x``; ``m`` has it too, or (dropout2d)
    ``(N, C, 1, ...)``, broadcast over the trailing dims, in which case
    ``g * m`` is still of ``x``'s shape and every element of a dropped channel
    gets gradient 0.
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


def _check_dropout_args(input, p, training, inplace, op):
    require_float_input(input, "input", op)
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{op}: p must be a number in [0, 1], got {p!r}")
    if not 0.0 <= p <= 1.0:  # also rejects nan
        raise ValueError(f"{op}: dropout probability p has to be between 0 and 1, got {p!r}")
    require_bool(training, "training", op)
    require_bool(inplace, "inplace", op)


def _apply_mask(input, p, mask_shape):
    """``Dropout`` with a mask of ``mask_shape`` (zeros for p = 1, where 1/(1-p) would be inf)."""
    if p == 1:
        mask = xp_of(input.data).zeros(mask_shape, dtype=input.dtype)
    else:
        mask = _mask(mask_shape, float(p), input.dtype, input.data)
    return Dropout.apply(input, mask)


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout: zero each element with probability ``p``, scale the rest by ``1/(1-p)``.

    See :class:`Dropout`. ``training=False`` or ``p=0`` returns ``input``
    itself (as PyTorch does); ``p=1`` gives zeros (no mask is drawn). The mask
    comes from ``minicnn.random.default_generator()``, so
    ``minicnn.manual_seed`` makes it repeatable.

    ``inplace`` is accepted for PyTorch compatibility, but the result is
    always a new tensor: minicnn's autograd records no in-place operations.
    """
    _check_dropout_args(input, p, training, inplace, "dropout")
    if not training or p == 0:
        return input
    return _apply_mask(input, p, input.shape)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Channel dropout: zero each whole channel ``input[n, c]`` with probability ``p``, scale the
    kept channels by ``1/(1-p)`` (see :class:`Dropout`; one draw per ``(n, c)``).

    Meant for ``(N, C, H, W)`` input. As in PyTorch 2.13:

    * a 3-D input is taken as ``(N, C, L)`` (channel-wise 1-D dropout, one draw
      per ``(n, c)``), *not* as an unbatched ``(C, H, W)``, with PyTorch's
      warning that this will change;
    * other ranks warn that they are deprecated; 2-D ``(N, C)`` then drops
      single elements, and fewer than 2 dims is a ValueError (raised before
      anything is drawn, in training and evaluation alike).

    ``training=False`` or ``p=0`` returns ``input`` itself; ``p=1`` gives
    zeros; ``inplace`` is accepted, the result is always a new tensor.
    """
    op = "dropout2d"
    _check_dropout_args(input, p, training, inplace, op)
    if input.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dims (N, C, ...), got shape "
                         f"{tuple(input.shape)}; use dropout for single elements")
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      f"deprecated and will result in an error in a future release. To retain "
                      f"the behavior and silence this warning, please use dropout instead. Note "
                      f"that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      f"spatial dimensions, a channel dimension, and an optional batch dimension "
                      f"(i.e. 3D or 4D inputs).", UserWarning, stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape "
                      "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch "
                      "to using dropout1d instead.", UserWarning, stacklevel=2)
    if not training or p == 0:
        return input
    # one draw per (n, c), broadcast over the feature map
    return _apply_mask(input, p, tuple(input.shape[:2]) + (1,) * (input.ndim - 2))
