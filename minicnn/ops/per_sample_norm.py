"""Per-sample normalisations: layer norm, group norm and instance norm.

All three standardise values *within one sample*, over a group of axes, then
apply a learned affine map. They share one core with batch normalisation:
:class:`~minicnn.ops.norm.BatchNorm` in training mode standardises each
channel ``c`` of an (N, C, L) array over its (n, l) values; on the (1, R, M)
view of an input it standardises each of the R rows over its M values. Each
normalisation is that core on a different view (``L`` = product of the
spatial sizes)::

    batch_norm     (N, C, *)            -> (N, C, L)             statistics per channel, over the batch
    layer_norm     (*, D_1, ..., D_k)   -> (1, prod(*), D_1...D_k)  per sample, over normalized_shape
    group_norm     (N, C, *)            -> (1, N*G, C/G * L)      per sample and group of C/G channels
    instance_norm  (N, C, *)            -> (1, N*C, L)            per sample and channel (G = C)

So ``group_norm`` with ``G = 1`` is ``layer_norm`` over ``(C, *)`` (with a
per-channel instead of a per-element affine map) and with ``G = C`` is
``instance_norm``. The forward of one row of M values ``x_i``::

    mu = mean(x)    sigma2 = mean((x - mu)^2)   (biased)    s = sqrt(sigma2 + eps)
    xhat = (x - mu) / s                         y = w * xhat + b

and the backward, with ``g = dL/dy`` and ``gx = w * g = dL/dxhat``::

    dL/db = sum g        dL/dw = sum g * xhat   (summed over every position sharing w)
    dL/dx = (1 / s) * (gx - mean(gx) - xhat * mean(gx * xhat))   per row

the core's backward (BatchNorm's, with M the row length); the affine map is a
broadcast multiply and add, whose backward sums over the broadcast axes.
Both run on NumPy and CuPy (the core takes minicnn's CUDA kernels there).
"""
import numbers

import numpy as np

from .._validation import as_int, require_bool, require_real
from ..backend import xp_of
from .norm import (BatchNorm, batch_norm, check_channel_vector, check_channel_vectors,
                   check_channels_first, check_parameter)
from ._common import require_float_input


def _standardize_rows(input, rows, eps, running_mean=None, running_var=None, momentum=0.0):
    """``input`` with each of its ``rows`` consecutive runs of M values standardised
    (row-major order): BatchNorm's Function on the (1, R, M) view. ``running_mean`` and
    ``running_var`` (arrays of shape (R,), or None) are updated in place as batch norm does."""
    length = input.data.size // rows if rows else 0
    view = input.reshape(1, rows, length)  # (1, R, M)
    out = BatchNorm.apply(view, None, None, running_mean=running_mean, running_var=running_var,
                          training=True, momentum=momentum, eps=eps)
    return out.reshape(input.shape)


def _affine(out, weight, bias, shape):
    """``out * weight + bias`` with the parameters viewed as ``shape`` (either may be None)."""
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _per_channel_shape(input):
    """(C, 1, ..., 1): a (C,) vector broadcast against (N, C, *)."""
    return (input.shape[1],) + (1,) * (input.ndim - 2)


def check_eps(eps, op, non_negative=False):
    """``eps`` as a float: a real number; the layers also require ``eps >= 0``
    (``non_negative``). The functionals take any, as PyTorch's do (a negative eps
    gives NaN where ``sigma2 + eps < 0``)."""
    require_real(eps, "eps", op)
    if non_negative and not eps >= 0:
        raise ValueError(f"{op}: eps must be >= 0, got {eps!r}")
    return float(eps)


# ------------------------------------------------------------------ layer norm
def normalized_shape_tuple(value, op):
    """``normalized_shape`` (an int or a sequence of ints >= 1) as a tuple."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not value:
        raise TypeError(f"{op}: normalized_shape must be an int or a non-empty sequence of ints, "
                        f"got {value!r}")
    return tuple(as_int(size, "normalized_shape", 1, op) for size in value)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation of ``input`` (*, D_1, ..., D_k) over its last k dimensions.

    ``normalized_shape`` = (D_1, ..., D_k) (an int for k = 1) must equal the
    input's trailing sizes; ``weight`` and ``bias`` (None or that shape) are
    applied elementwise. Every sample (every index of ``*``) is standardised
    over its M = D_1 ... D_k values with the biased variance (see the module
    docstring for the forward and backward); the same in training and
    evaluation: no running statistics.
    """
    op = "layer_norm"
    require_float_input(input, "input", op)
    shape = normalized_shape_tuple(normalized_shape, op)
    if tuple(input.shape[input.ndim - len(shape):]) != shape or input.ndim < len(shape):
        raise ValueError(f"{op}: the input's trailing dimensions must be normalized_shape="
                         f"{shape}, got input of shape {tuple(input.shape)}")
    for name, tensor in (("weight", weight), ("bias", bias)):
        check_parameter(tensor, name, shape, input.dtype, op, f"normalized_shape={shape}")
    eps = check_eps(eps, op)
    rows = int(np.prod(input.shape[:input.ndim - len(shape)], dtype=np.int64))
    # weight (D_1..D_k) broadcasts against the trailing dims as it is.
    return _affine(_standardize_rows(input, rows, eps), weight, bias, shape)


# ------------------------------------------------------------------ group norm
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation of ``input`` (N, C, *): each sample's channels in ``num_groups``
    groups of C/G consecutive channels, each group standardised over its C/G * L values;
    ``weight``, ``bias`` (None or (C,)) per channel. G = 1: layer norm over (C, *) with a
    per-channel affine map; G = C: instance norm. Batch-size independent: the same in
    training and evaluation. (Math: the module docstring.)
    """
    op = "group_norm"
    require_float_input(input, "input", op)
    check_channels_first(input, op)
    num_groups = as_int(num_groups, "num_groups", 1, op)
    batch, channels = input.shape[:2]
    if channels % num_groups:
        raise ValueError(f"{op}: the input's channels must be divisible by num_groups, got "
                         f"C={channels} channels (input shape {tuple(input.shape)}) and "
                         f"num_groups={num_groups}")
    for name, tensor in (("weight", weight), ("bias", bias)):
        check_channel_vector(tensor, name, channels, input.dtype, op)
    eps = check_eps(eps, op)
    # PyTorch's check (F.group_norm): a batch that is one value per group in all is refused.
    if batch * (channels // num_groups) * int(np.prod(input.shape[2:], dtype=np.int64)) == 1:
        raise ValueError(f"{op}: expected more than 1 value per group in the batch, got input "
                         f"of shape {tuple(input.shape)} and num_groups={num_groups}")
    out = _standardize_rows(input, batch * num_groups, eps)  # rows of (C/G) * L values
    return _affine(out, weight, bias, _per_channel_shape(input))


# ------------------------------------------------------------------ instance norm
def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalisation of ``input`` (N, C, *): every (sample, channel) plane
    standardised over its L values; ``weight``, ``bias`` (None or (C,)) per channel.

    * ``use_input_stats=True``: the plane's own mean and biased variance (group
      norm with G = C). With ``running_mean``/``running_var`` (C,) given, they
      are updated in place as batch norm's, with the batch statistic averaged
      over the N samples: ``running_mean <- (1 - m) running_mean + m mean_n(mu_nc)``
      and ``running_var`` likewise with the unbiased plane variances ``L/(L-1) sigma2_nc``.
      Needs more than one value per plane (L > 1).
    * ``use_input_stats=False``: normalise with the running statistics
      (required): batch norm in evaluation mode.

    Every argument is checked before the running statistics change.
    """
    op = "instance_norm"
    require_float_input(input, "input", op)
    check_channels_first(input, op)
    # weight and bias too: they are applied after the running statistics are updated.
    check_channel_vectors(input, op, running_mean, running_var, weight, bias,
                          on_input_device=("running_mean", "running_var", "weight", "bias"))
    use_input_stats = require_bool(use_input_stats, "use_input_stats", op)
    momentum = float(require_real(momentum, "momentum", op))
    eps = check_eps(eps, op)
    if not use_input_stats:
        if running_mean is None:
            raise ValueError(f"{op}: running_mean and running_var must be given when "
                             f"use_input_stats=False, got None")
        return batch_norm(input, running_mean, running_var, weight, bias, training=False,
                          momentum=momentum, eps=eps)
    if int(np.prod(input.shape[2:], dtype=np.int64)) == 1:
        raise ValueError(f"{op}: expected more than 1 spatial element when using input "
                         f"statistics, got input of shape {tuple(input.shape)}")
    batch = input.shape[0]
    rows_mean = rows_var = None
    if running_mean is not None:  # one copy of the (C,) statistics per sample: (N*C,)
        xp = xp_of(running_mean.data)
        rows_mean = xp.tile(running_mean.data, batch)
        rows_var = xp.tile(running_var.data, batch)
    out = _standardize_rows(input, batch * input.shape[1], eps, rows_mean, rows_var, momentum)
    if running_mean is not None and batch:
        # (1 - m) r + m mean_n(stat_n) = mean_n((1 - m) r + m stat_n): average the copies.
        running_mean.data[...] = rows_mean.reshape(batch, -1).mean(axis=0)
        running_var.data[...] = rows_var.reshape(batch, -1).mean(axis=0)
    return _affine(out, weight, bias, _per_channel_shape(input))
