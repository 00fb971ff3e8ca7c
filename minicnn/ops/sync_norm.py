"""Batch normalisation with statistics over the batches of every rank (``SyncBatchNorm``).

The per-rank pieces (channel sums, the centred affine map, the gradient sums
and ``dL/dx``) are :mod:`minicnn.ops.norm`'s; this module adds the two
all-reduces that make them global. Notation as there: input ``(N_r, C, *)``
on rank ``r`` viewed as ``(N_r, C, L)``; ``M = sum_r N_r L`` values per channel
over the whole job.
"""

from .. import distributed
from ..backend import xp_of
from ..function import Function
from .norm import (_affine, _as_ncl, _channel_dot, _channel_sum, _grad_input, _grad_sums,
                   _per_channel, batch_norm, check_batch_norm_args)

def _all_reduce_sum(array):
    distributed.all_reduce(array, distributed.ReduceOp.SUM)
    return array

class SyncBatchNorm(Function):
    """Training-mode batch normalisation over the global batch (all ranks), per channel ``c``.

    Forward, one all-reduce of ``(S1, S2, M)`` = (sum x, sum x^2, count) over
    every rank's values of channel ``c``::

        mu     = S1 / M
        sigma2 = S2 / M - mu^2                    biased variance of the global batch
        y      = w * (x - mu) / sqrt(sigma2 + eps) + b

    Backward, with ``g = dL_r/dy`` on rank ``r`` and one all-reduce of the two sums
    ``G1 = sum g``, ``G2 = sum g * (x - mu)`` over every rank::

        dL/dx = (w / sigma) * (g - G1 / M - (x - mu) * G2 / (M sigma^2))

    which is :class:`~minicnn.ops.norm.BatchNorm`'s formula with its means taken
    over the global batch. ``dL/dw = sum g * xhat`` and ``dL/db = sum g`` stay
    per rank: DistributedDataParallel averages them as it does every parameter's
    gradient. (Each rank's loss is the mean over its own batch, so its ``g`` is N
    times the global loss's; the sums over ranks then give N times the global
    ``dL/dx`` and the average over the N ranks removes the factor: see
    docs/distributed.md.)

    ``S2 / M - mu^2`` cancels when ``|mu| >> sigma``; in float64 (the equivalence
    test) that is round-off, in float32 it loses ``log10(mu^2 / sigma^2)`` of its
    7 digits. One all-reduce per layer is the reason for the form.

    Running statistics (when given) as BatchNorm's, with the unbiased variance
    ``sigma2 * M / (M - 1)`` of the global batch.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, running_mean, running_var, momentum, eps):
        xp = xp_of(x)
        x3 = _as_ncl(x)  # (N_r, C, L)
        channels = x3.shape[1]
        # [S1 (C,), S2 (C,), M (1,)] in one buffer: one all-reduce.
        stats = xp.concatenate([_channel_sum(x3), _channel_dot(x3, x3),
                                xp.asarray([x3.shape[0] * x3.shape[2]], dtype=x.dtype)])
        _all_reduce_sum(stats)
        count = int(round(float(stats[-1])))
        if count <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all "
                             f"ranks when training, got {count}")
        mean = stats[:channels] / count
        var = xp.maximum(stats[channels:2 * channels] / count - mean * mean, 0)  # (C,) biased
        inv_std = 1.0 / xp.sqrt(var + eps)
        centred = x3 - _per_channel(mean)  # (N_r, C, L)
        out = _affine(centred, inv_std if weight is None else weight * inv_std, bias)
        if running_mean is not None:
            running_mean *= 1.0 - momentum
            running_mean += momentum * mean
            running_var *= 1.0 - momentum
            running_var += (momentum * count / (count - 1)) * var  # unbiased
        ctx.save_for_backward(centred, inv_std, weight)
        ctx.count = count
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad_out):
        centred, inv_std, weight = ctx.saved_arrays
        needs_x, needs_w, needs_b = ctx.needs_input_grad
        grad3 = _as_ncl(grad_out)  # (N_r, C, L)
        sum_g, sum_g_centred = _grad_sums(grad3, centred)  # this rank's, (C,) each
        grad_w = sum_g_centred * inv_std if needs_w else None
        grad_b = sum_g if needs_b else None
        grad_x = None
        if needs_x:
            xp = xp_of(grad3)
            sums = _all_reduce_sum(xp.concatenate([sum_g, sum_g_centred]))  # [G1, G2]
            channels = sum_g.shape[0]
            grad_x = _grad_input(grad3, centred, inv_std if weight is None else weight * inv_std,
                                 -(inv_std * inv_std) * sums[channels:] / ctx.count,
                                 sums[:channels] / ctx.count).reshape(grad_out.shape)
        return grad_x, grad_w, grad_b

def sync_batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
                    momentum=0.1, eps=1e-5):
    """:func:`~minicnn.ops.norm.batch_norm` with the batch statistics of every rank.

    Synchronises only in training with more than one rank; otherwise (evaluation,
    or a single process, as PyTorch's SyncBatchNorm) it is ``batch_norm``. The
    arguments are checked by ``batch_norm``'s rules before anything changes.
    """
    if not (training and distributed.is_initialized() and distributed.get_world_size() > 1):
        return batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    check_batch_norm_args(input, running_mean, running_var, weight, bias, training, momentum,
                          eps, "sync_batch_norm")
    return SyncBatchNorm.apply(
        input, weight, bias,
        running_mean=None if running_mean is None else running_mean.data,
        running_var=None if running_var is None else running_var.data,
        momentum=float(momentum), eps=float(eps))

__all__ = ["SyncBatchNorm", "sync_batch_norm"]

