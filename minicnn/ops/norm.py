"""Batch normalisation.

Notation: input ``x`` of shape ``(N, C, *)`` viewed as ``(N, C, L)`` with
``L = prod(*)`` (``L = 1`` for a 2-D ``(N, C)`` input); every statistic is per
channel ``c`` over the ``M = N * L`` values ``x[:, c, :]``.

GPU: in training, CuPy inputs run minicnn's CUDA kernels (``kernels/batchnorm.py``
through ``_gpu.py``: chunked two-pass statistics, then the normalisation; the
backward's per-channel sums, then ``dL/dx``); evaluation mode, a per-channel
affine map, runs the formulas below on CuPy.
"""
import numbers

import numpy as np

from .._validation import is_floating
from ..backend import is_cupy_array, xp_of
from ..function import Function
from . import _gpu
from ._common import require_float_input

# Rows of at least this many values are reduced by BLAS dot products, one per
# (n, c) row, through a batched matmul (3-4x faster than NumPy's pairwise sum on
# 56x56 planes); shorter ones (e.g. a 2-D (N, C) input, L = 1) by a plain
# reduction. The batched matmul calls a single-threaded dot per row: a
# multi-threaded GEMV ((N*C, L) @ (L,)) was as fast on an idle machine but
# 100x slower when other processes held the cores.
_BLAS_MIN_ROW = 16


def _row_dots(a3, b):
    """``sum_l a[n, c, l] * b[n, c, l]`` per (n, c), summed over n: (C,).

    ``b`` is (N, C, L) or, for plain sums, a (L, 1) column of ones.
    """
    n, c, length = a3.shape
    rows = a3.reshape(n * c, 1, length)
    column = b if b.ndim == 2 else b.reshape(n * c, length, 1)
    # (N*C, 1, L) @ (N*C, L, 1) or (L, 1) -> (N*C, 1, 1)
    return xp_of(a3).matmul(rows, column).reshape(n, c).sum(axis=0)


def _channel_sum(a3):
    """``sum_{n, l} a[n, c, l]`` for each ``c``: (N, C, L) -> (C,)."""
    if a3.shape[2] < _BLAS_MIN_ROW:
        return a3.sum(axis=(0, 2))
    return _row_dots(a3, xp_of(a3).ones((a3.shape[2], 1), dtype=a3.dtype))


def _channel_dot(a3, b3):
    """``sum_{n, l} a[n, c, l] * b[n, c, l]`` for each ``c``: (N, C, L) x 2 -> (C,)."""
    if a3.shape[2] < _BLAS_MIN_ROW:
        return (a3 * b3).sum(axis=(0, 2))
    return _row_dots(a3, b3)


def _as_ncl(a):
    """(N, C, *) as (N, C, L), L = prod(*) (1 for a 2-D input)."""
    return a.reshape(a.shape[:2] + (int(np.prod(a.shape[2:], dtype=np.int64)),))


def _per_channel(v):
    """A (C,) vector broadcast against (N, C, L)."""
    return v[:, None]


#: Smallest input (in elements) served by the Numba kernels (``_norm_numba``);
#: below it a few NumPy passes cost microseconds. Tests set it to 0 (or to a
#: huge value) to choose the path.
NUMBA_MIN_SIZE = 1 << 14


def _fast(*arrays):
    """The Numba kernel module when it may serve ``arrays``, else None.

    It serves C-contiguous float32 NumPy arrays of at least NUMBA_MIN_SIZE
    elements (float64, the gradient-check dtype, always takes the NumPy
    formulation below: one compiled specialisation keeps the first call short).
    """
    for a in arrays:
        if not (type(a) is np.ndarray and a.dtype == np.float32 and a.flags.c_contiguous
                and a.size >= NUMBA_MIN_SIZE):
            return None
    from . import _norm_numba

    return _norm_numba


def _batch_stats(x3):
    """``(mean, biased var, x - mean)`` per channel of ``x3`` (N, C, L)."""
    fast = _fast(x3)
    if fast:
        centred = np.empty_like(x3)
        mean, var = fast.centre_kernel(x3, centred)
        return mean.astype(x3.dtype), var.astype(x3.dtype), centred
    count = x3.shape[0] * x3.shape[2]
    mean = _channel_sum(x3) / count  # (C,)
    centred = x3 - _per_channel(mean)  # (N, C, L)
    return mean, _channel_dot(centred, centred) / count, centred


def _affine(src3, scale, shift):
    """``src * scale[c] + shift[c]`` (``shift`` may be None) as a new (N, C, L) array."""
    fast = _fast(src3)
    if fast:
        out = np.empty_like(src3)
        shift = np.zeros_like(scale) if shift is None else shift
        fast.affine_kernel(src3, scale.astype(src3.dtype), shift.astype(src3.dtype), out)
        return out
    out = src3 * _per_channel(scale)
    if shift is not None:
        out += _per_channel(shift)
    return out


def _grad_sums(grad3, x3, mean=None):
    """``(sum g, sum g * (x - mean))`` per channel; ``mean=None``: ``x3`` is centred."""
    fast = _fast(grad3, x3)
    if fast:
        zero = np.zeros(x3.shape[1], dtype=x3.dtype)
        sum_g, sum_gx = fast.grad_sums_kernel(grad3, x3, zero if mean is None else mean)
        return sum_g.astype(grad3.dtype), sum_gx.astype(grad3.dtype)
    centred = x3 if mean is None else x3 - _per_channel(mean)
    return _channel_sum(grad3), _channel_dot(grad3, centred)


def _grad_input(grad3, centred, scale, along_centred, mean_grad):
    """``scale[c] * (g + along_centred[c] * centred - mean_grad[c])``, a new (N, C, L) array."""
    fast = _fast(grad3, centred)
    if fast:
        out = np.empty_like(grad3)
        dtype = grad3.dtype
        fast.grad_input_kernel(grad3, centred, scale.astype(dtype), along_centred.astype(dtype),
                               mean_grad.astype(dtype), out)
        return out
    out = centred * _per_channel(along_centred)  # four passes, one allocation
    out += grad3
    out -= _per_channel(mean_grad)
    out *= _per_channel(scale)
    return out


class BatchNorm(Function):
    """Batch normalisation over ``(N, C, *)``, per channel ``c``.

    Training (batch statistics)::

        mu     = (1/M) sum x                         mean over the M values of channel c
        sigma2 = (1/M) sum (x - mu)^2                biased variance
        sigma  = sqrt(sigma2 + eps)
        xhat   = (x - mu) / sigma
        y      = w * xhat + b                        (w = 1, b = 0 when not given)

    Evaluation: the same with ``mu, sigma2`` = the running statistics.

    Gradient, with ``g = dL/dy`` and ``mean(.)`` the per-channel mean over M::

        dL/db = sum g        dL/dw = sum g * xhat

    Evaluation (``mu``, ``sigma`` constants): ``dL/dx = (w / sigma) g``.
    Training: ``x`` also moves ``mu`` and ``sigma``. With ``d xhat_j/d x_i =
    (delta_ij - 1/M - xhat_i xhat_j / M) / sigma`` (from ``d mu/d x_i = 1/M``
    and ``d sigma/d x_i = (x_i - mu) / (M sigma)``)::

        dL/dx = (w / sigma) * (g - mean(g) - xhat * mean(g * xhat))

    i.e. the upstream gradient with its components along ``1`` and along
    ``xhat`` projected out (y cannot change through a shift or a scaling of
    x). Computed on the centred input ``x - mu`` (kept from the forward):
    ``sum(g * x) - mu * sum(g)`` would cancel badly in float32.

    Running statistics (training, when given), updated in place::

        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * sigma2 * M / (M - 1)

    (the unbiased variance, as PyTorch stores it).

    An empty input (``M = 0``, e.g. a batch of 0 images) gives an empty
    output, leaves the running statistics as they are and gives zero
    gradients to ``w`` and ``b``, as in PyTorch.

    Shapes: ``y`` like ``x``; ``w``, ``b``, running statistics ``(C,)``.

    Layer, group and instance norm (:mod:`minicnn.ops.per_sample_norm`) run
    this Function in training mode on a (1, R, M) view of their input: each
    of the R rows standardised over its M values.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, running_mean, running_var, training, momentum, eps):
        xp = xp_of(x)
        if x.size == 0:  # no values to normalise: nothing to learn from, nothing to update
            ctx.empty = True
            return x.copy()
        x3 = _as_ncl(x)  # (N, C, L)
        count = x3.shape[0] * x3.shape[2]  # M values per channel
        if training:
            if is_cupy_array(x) and _gpu.serves(x):  # GPU dispatch: kernels/batchnorm.py
                out, mean, var, inv_std = _gpu.batch_norm_forward(xp, x, weight, bias, eps)
                ctx.save_for_backward(x, mean, inv_std, weight)
                ctx.gpu_kernels = True
            else:
                mean, var, centred = _batch_stats(x3)  # (C,), (C,) biased, (N, C, L)
                inv_std = 1.0 / xp.sqrt(var + eps)
                out = _affine(centred, inv_std if weight is None else weight * inv_std, bias)
                ctx.save_for_backward(centred, inv_std, weight)
            if running_mean is not None:
                running_mean *= 1.0 - momentum
                running_mean += momentum * mean
                running_var *= 1.0 - momentum
                running_var += (momentum * count / (count - 1)) * var  # unbiased
        else:
            # y = x * scale + shift with scale = w / sigma, shift = b - mu * scale.
            mean = running_mean.copy()  # copies: the buffers may change before backward
            inv_std = 1.0 / xp.sqrt(running_var + eps)
            scale = inv_std if weight is None else weight * inv_std
            out = _affine(x3, scale, -mean * scale if bias is None else bias - mean * scale)
            ctx.save_for_backward(x3, mean, inv_std, weight)
        ctx.training = training
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad_out):
        if getattr(ctx, "empty", False):
            xp = xp_of(grad_out)
            channels = (grad_out.shape[1] if grad_out.ndim > 1 else 0,)
            needs_x, needs_w, needs_b = ctx.needs_input_grad
            return (grad_out.copy() if needs_x else None,
                    xp.zeros(channels, grad_out.dtype) if needs_w else None,
                    xp.zeros(channels, grad_out.dtype) if needs_b else None)
        if getattr(ctx, "gpu_kernels", False):  # GPU dispatch: kernels/batchnorm.py
            x, mean, inv_std, weight = ctx.saved_arrays
            return _gpu.batch_norm_backward(xp_of(x), grad_out, x, mean, inv_std, weight,
                                            ctx.needs_input_grad)
        grad3 = _as_ncl(grad_out)  # (N, C, L)
        needs_x, needs_w, needs_b = ctx.needs_input_grad
        grad_x = grad_w = None
        if ctx.training:
            centred, inv_std, weight = ctx.saved_arrays
            count = grad3.shape[0] * grad3.shape[2]
            # sum g and sum g (x - mu) = sigma sum g xhat, over each channel
            grad_b, sum_g_centred = _grad_sums(grad3, centred)
            if needs_w:
                grad_w = sum_g_centred * inv_std
            if needs_x:
                # (w/sigma) (g - mean(g) - xhat mean(g xhat)) with xhat = (x - mu)/sigma:
                # (w/sigma) (g + k (x - mu) - mean(g)), k = -sum g (x - mu) / (M sigma^2),
                # on the centred input (no cancellation).
                grad_x = _grad_input(grad3, centred,
                                     inv_std if weight is None else weight * inv_std,
                                     -(inv_std * inv_std) * sum_g_centred / count,
                                     grad_b / count)
        else:
            x3, mean, inv_std, weight = ctx.saved_arrays
            if needs_x:  # (w / sigma) g
                grad_x = _affine(grad3, inv_std if weight is None else weight * inv_std, None)
            grad_b = None
            if needs_w:
                grad_b, sum_g_centred = _grad_sums(grad3, x3, mean)
                grad_w = sum_g_centred * inv_std
            elif needs_b:
                grad_b = _channel_sum(grad3)
        if grad_x is not None:
            grad_x = grad_x.reshape(grad_out.shape)
        return grad_x, grad_w, grad_b if needs_b else None


# ------------------------------------------------------------------ functional
def check_parameter(tensor, name, shape, dtype, op, meaning):
    """``tensor`` is None or a Tensor of ``shape`` and the input's ``dtype``;
    ``meaning`` says where the shape comes from (for the message)."""
    from ..tensor import Tensor

    if tensor is None:
        return
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(tensor).__name__}")
    if tuple(tensor.shape) != tuple(shape):
        raise ValueError(f"{op}: {name} must have shape {meaning}, got shape "
                         f"{tuple(tensor.shape)}")
    if not is_floating(tensor.dtype) or np.dtype(tensor.dtype) != np.dtype(dtype):
        raise TypeError(f"{op}: {name} must have the input's dtype {np.dtype(dtype).name}, got "
                        f"{np.dtype(tensor.dtype).name}")


def check_channel_vector(tensor, name, channels, dtype, op):
    """``tensor`` is None or a (C,) Tensor of the input's dtype."""
    check_parameter(tensor, name, (channels,), dtype, op,
                    f"(C,) = ({channels},) for an input with C={channels} channels")


def check_channels_first(input, op):
    """``input`` is (N, C) or (N, C, *)."""
    if input.ndim < 2:
        raise ValueError(f"{op}: input must be (N, C) or (N, C, *) with at least 2 dimensions, "
                         f"got shape {tuple(input.shape)}")


def check_channel_vectors(input, op, running_mean, running_var, weight, bias,
                          on_input_device=("running_mean", "running_var")):
    """The per-channel vectors of ``input`` (N, C, *): each None or (C,) of its dtype, the
    running statistics both given or both None, and those named in ``on_input_device`` on
    the input's device (batch norm and instance norm)."""
    channels = input.shape[1] if input.ndim > 1 else 0  # PyTorch's C for an empty 1-D input
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var),
                         ("weight", weight), ("bias", bias)):
        check_channel_vector(tensor, name, channels, input.dtype, op)
        # running stats reach forward as arrays (updated in place), so apply()'s device
        # check does not see them: check here, before anything is updated.
        if name in on_input_device and tensor is not None and tensor.device != input.device:
            raise RuntimeError(f"{op}: {name} is on {tensor.device} but input is on "
                               f"{input.device}; move both to one device")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: running_mean and running_var must both be None or both be "
                         f"given, got running_mean={'None' if running_mean is None else 'a Tensor'}"
                         f" and running_var={'None' if running_var is None else 'a Tensor'}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation of ``input`` (N, C, *) (see :class:`BatchNorm` for the math).

    * ``training=True``: normalise with the batch mean and biased variance;
      when ``running_mean``/``running_var`` are given (both or neither),
      update them in place (their ``.data``) with ``momentum`` and the
      *unbiased* batch variance. Needs more than one value per channel, or
      none: an empty input gives an empty output and changes nothing.
    * ``training=False``: normalise with ``running_mean``/``running_var``
      (required); the gradient flows through the fixed affine map.

    ``momentum`` must be a number, as in PyTorch's functional: a cumulative
    moving average (the module's ``momentum=None``) is
    ``momentum = 1 / num_batches_tracked``, which the BatchNorm module computes
    from its batch counter and passes in.

    Every argument is checked before the running statistics change.
    """
    check_batch_norm_args(input, running_mean, running_var, weight, bias, training, momentum, eps,
                          "batch_norm")
    return BatchNorm.apply(
        input, weight, bias,
        running_mean=None if running_mean is None else running_mean.data,
        running_var=None if running_var is None else running_var.data,
        training=bool(training), momentum=float(momentum), eps=float(eps))


def check_batch_norm_args(input, running_mean, running_var, weight, bias, training, momentum, eps,
                          op):
    """``batch_norm``'s argument rules (``sync_batch_norm``'s too), raising for ``op``."""
    require_float_input(input, "input", op)
    if input.shape != (0,):  # PyTorch takes an empty 1-D input as C = 0: an empty output
        check_channels_first(input, op)
    check_channel_vectors(input, op, running_mean, running_var, weight, bias)
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"{op}: training must be a bool, got {training!r}")
    if momentum is None:
        raise TypeError(f"{op}: momentum must be a float, got None; PyTorch's functional "
                        f"takes no None either: for a cumulative moving average pass "
                        f"momentum=1/num_batches_tracked (the BatchNorm module does this "
                        f"when its momentum is None)")
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
        raise TypeError(f"{op}: momentum must be a float, got {momentum!r}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{op}: eps must be a float, got {eps!r}")
    if training:
        if not eps > 0:
            raise ValueError(f"{op}: eps must be positive in training, got {eps!r}")
        per_channel = input.shape[0] * int(np.prod(input.shape[2:], dtype=np.int64))
        if per_channel == 1:  # 0 values (an empty batch) give an empty output, as PyTorch
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                             f"input of shape {tuple(input.shape)} ({per_channel} per channel)")
    else:
        if running_mean is None:
            raise ValueError(f"{op}: running_mean and running_var must be given in evaluation "
                             f"mode (training=False), got None")
        if not eps >= 0:
            raise ValueError(f"{op}: eps must be non-negative, got {eps!r}")
