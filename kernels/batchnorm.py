"""Batch normalisation (training): per-channel statistics, normalisation, backward.

NumPy twin: :class:`minicnn.ops.norm.BatchNorm`. ``x`` (N, C, *) is viewed as
(N, C, L); every statistic is per channel ``c`` over its ``M = N*L`` values::

    mu = mean x        sigma2 = mean (x - mu)^2  (biased)     inv_std = 1 / sqrt(sigma2 + eps)
    xhat = (x - mu) * inv_std                     y = w * xhat + b
    dL/db = sum g      dL/dw = sum g * xhat       (g = dL/dy)
    dL/dx = w * inv_std * (g - mean(g) - xhat * mean(g * xhat))

(The running-statistic update and the evaluation mode are per-channel vector
arithmetic on (C,) arrays, left to the caller.)

Statistics, numerically safe and parallel beyond one block per channel:

1. ``bn_partial_stats_kernel``, grid ``(chunks, C)``: block ``(k, c)`` owns
   the chunk ``e in [k*chunk, (k+1)*chunk)`` of channel ``c``'s values, with
   ``e = n*L + l`` (so consecutive threads read consecutive ``l``: coalesced).
   Two passes over its chunk (the second read hits L1/L2): the chunk mean
   by a shared-memory tree sum (:func:`_reduce.block_sum`), then the sum of
   squared deviations from that mean, ``M2``. No ``sum x^2 - M mu^2``
   anywhere, so no cancellation.
2. ``bn_merge_stats_kernel``, one thread per channel: folds the chunks'
   ``(count, mean, M2)`` together with Chan et al.'s pairwise update
   ``delta = mean_b - mean_a``, ``mean += delta * n_b / n``,
   ``M2 += M2_b + delta^2 * n_a * n_b / n``, then writes ``mu``,
   ``sigma2 = M2 / M`` and ``inv_std``.

The chunk partials live in a float64 workspace (2, C, chunks). Backward uses
the same split: ``bn_partial_grad_sums_kernel`` (grid ``(chunks, C)``, two
tree sums at once, :func:`_reduce.block_sum2`: ``g`` and ``g * xhat``, with
``xhat`` recomputed from the centred ``x - mu``), ``bn_merge_sums_kernel``
(one thread per channel adds the chunks), then the elementwise
``bn_grad_input_kernel``.

Normalisation and the input gradient: one thread per element of (N, C, L),
1-D grid; the thread's ``(n, c, l)`` is :func:`_index.ncl_of` of its index
(channel ``(index // L) % C``).
"""
import math

import numpy as np
from numba import cuda, float32, float64, int64

from ._index import ncl_of
from ._launch import ELEMENTWISE_THREADS, as_ncl, blocks_for, check_array, check_arrays, \
    check_shape, check_threads, launch_1d, same_dtype
from ._reduce import REDUCE_THREADS, block_sum, block_sum2

#: Values of one channel per block in the statistics and gradient-sum kernels
#: (64 per thread at 256 threads): enough work per block to amortise its tree
#: sum, and enough blocks (``C * M / chunk``) to fill the GPU when C is small.
DEFAULT_CHUNK = 16384


@cuda.jit
def bn_partial_stats_kernel(x, part_mean, part_m2, chunk):
    """Block (k, c): mean and M2 of chunk k of channel c of ``x`` (N, C, L)."""
    shared = cuda.shared.array(REDUCE_THREADS, float64)
    k, c = cuda.blockIdx.x, cuda.blockIdx.y
    tid, threads = cuda.threadIdx.x, cuda.blockDim.x
    n_batch, channels, length = x.shape
    start = k * chunk
    stop = min(start + chunk, n_batch * length)
    # Pass 1: the chunk's sum -> its mean.
    partial = float64(0.0)
    for e in range(start + tid, stop, threads):
        partial += x[e // length, c, e % length]
    chunk_mean = block_sum(shared, partial) / (stop - start)
    cuda.syncthreads()  # all have read shared[0] before pass 2 overwrites it
    # Pass 2: sum of squared deviations from the chunk mean.
    partial = float64(0.0)
    for e in range(start + tid, stop, threads):
        deviation = x[e // length, c, e % length] - chunk_mean
        partial += deviation * deviation
    m2 = block_sum(shared, partial)
    if tid == 0:
        part_mean[c, k] = chunk_mean
        part_m2[c, k] = m2


@cuda.jit
def bn_merge_stats_kernel(part_mean, part_m2, chunk, total, eps, mean, var, inv_std):
    """Thread c: Chan's merge of channel c's chunk statistics -> mean, var, inv_std."""
    c = cuda.grid(1)
    if c >= mean.shape[0]:
        return
    count = float64(0.0)  # values merged so far, their mean and M2
    running_mean = float64(0.0)
    running_m2 = float64(0.0)
    for k in range(part_mean.shape[1]):
        chunk_count = float64(min(chunk, total - k * chunk))
        merged = count + chunk_count
        delta = part_mean[c, k] - running_mean
        running_mean += delta * (chunk_count / merged)
        running_m2 += part_m2[c, k] + delta * delta * (count * chunk_count / merged)
        count = merged
    variance = running_m2 / total
    mean[c] = running_mean
    var[c] = variance
    inv_std[c] = 1.0 / math.sqrt(variance + eps)


@cuda.jit
def bn_forward_kernel(x, mean, inv_std, weight, bias, y):
    """``y = (x - mu[c]) * inv_std[c] * w[c] + b[c]``; one thread per element of (N, C, L)."""
    index = cuda.grid(1)
    n_batch, channels, length = x.shape
    if index >= n_batch * channels * length:
        return
    n, c, l = ncl_of(index, channels, length)  # noqa: E741
    y[n, c, l] = (x[n, c, l] - mean[c]) * inv_std[c] * weight[c] + bias[c]


@cuda.jit
def bn_partial_grad_sums_kernel(grad_out, x, mean, inv_std, part_g, part_g_xhat, chunk):
    """Block (k, c): sums of ``g`` and ``g * xhat`` over chunk k of channel c."""
    shared_g = cuda.shared.array(REDUCE_THREADS, float64)
    shared_gx = cuda.shared.array(REDUCE_THREADS, float64)
    k, c = cuda.blockIdx.x, cuda.blockIdx.y
    tid, threads = cuda.threadIdx.x, cuda.blockDim.x
    n_batch, channels, length = x.shape
    start = k * chunk
    stop = min(start + chunk, n_batch * length)
    mu, scale = mean[c], inv_std[c]
    sum_g = float64(0.0)
    sum_g_xhat = float64(0.0)
    for e in range(start + tid, stop, threads):
        n, l = e // length, e % length  # noqa: E741
        g = grad_out[n, c, l]
        sum_g += g
        sum_g_xhat += g * ((x[n, c, l] - mu) * scale)
    total_g, total_g_xhat = block_sum2(shared_g, shared_gx, sum_g, sum_g_xhat)
    if tid == 0:
        part_g[c, k] = total_g
        part_g_xhat[c, k] = total_g_xhat


@cuda.jit
def bn_merge_sums_kernel(part_g, part_g_xhat, sum_g, sum_g_xhat):
    """Thread c: add channel c's chunk sums (they are dL/db and dL/dw)."""
    c = cuda.grid(1)
    if c >= sum_g.shape[0]:
        return
    total_g = float64(0.0)
    total_g_xhat = float64(0.0)
    for k in range(part_g.shape[1]):
        total_g += part_g[c, k]
        total_g_xhat += part_g_xhat[c, k]
    sum_g[c] = total_g
    sum_g_xhat[c] = total_g_xhat


@cuda.jit
def bn_grad_input_kernel(grad_out, x, mean, inv_std, weight, sum_g, sum_g_xhat, grad_in):
    """``dx = w inv_std (g - sum g / M - xhat sum(g xhat) / M)``; one thread per element."""
    index = cuda.grid(1)
    n_batch, channels, length = x.shape
    if index >= n_batch * channels * length:
        return
    n, c, l = ncl_of(index, channels, length)  # noqa: E741
    count = float64(n_batch * length)
    xhat = (x[n, c, l] - mean[c]) * inv_std[c]
    grad_in[n, c, l] = weight[c] * inv_std[c] * (
        grad_out[n, c, l] - sum_g[c] / count - xhat * (sum_g_xhat[c] / count))


# ------------------------------------------------------------------ launchers
def chunks_for(x_shape, chunk=DEFAULT_CHUNK):
    """Number of chunks the ``M = N * L`` values of a channel are split into."""
    count = x_shape[0] * int(np.prod(x_shape[2:], dtype=np.int64))
    return max(1, blocks_for(count, int(chunk)))


def workspace_shape(x_shape, chunk=DEFAULT_CHUNK):
    """Shape of the float64 workspace the reduction launchers need: (2, C, chunks)."""
    return (2, x_shape[1], chunks_for(x_shape, chunk))


def _workspace(op, x, workspace, chunk, stream):
    shape = workspace_shape(tuple(x.shape), chunk)
    if workspace is None:
        return cuda.device_array(shape, dtype=np.float64, stream=stream)
    check_array(workspace, "workspace", op, 3, np.float64)
    check_shape(workspace, "workspace", op, shape)
    return workspace


def _check_input(op, x, chunk, threads):
    check_array(x, "x", op)
    if x.ndim < 2:
        raise ValueError(f"{op}: x must have shape (N, C, *), got {tuple(x.shape)}")
    if x.shape[1] == 0:  # no channel: the grids would have no blocks
        raise ValueError(f"{op}: x must have at least one channel, got shape {tuple(x.shape)}")
    if x.shape[0] * int(np.prod(x.shape[2:], dtype=np.int64)) == 0:
        raise ValueError(f"{op}: each channel needs at least one value, got shape "
                         f"{tuple(x.shape)}")
    if int(chunk) < 1:
        raise ValueError(f"{op}: chunk must be >= 1, got {chunk}")
    return check_threads(threads, op, power_of_two=True, maximum=REDUCE_THREADS)


def _check_vectors(op, x, **vectors):
    for name, vector in vectors.items():
        check_array(vector, name, op, 1)
        check_shape(vector, name, op, (x.shape[1],))


def _chunked_sums(op, kernel, arrays, x, sum_a, sum_b, chunk, threads, workspace, stream):
    """Two per-channel sums: ``kernel(*arrays, part_a, part_b, chunk)`` sums each chunk
    (grid ``(chunks, C)``), then :func:`bn_merge_sums_kernel` adds the chunks into
    ``sum_a`` and ``sum_b`` (C,)."""
    part = _workspace(op, x, workspace, chunk, stream)
    channels, chunks = part.shape[1], part.shape[2]
    kernel[(chunks, channels), threads, stream](*arrays, part[0], part[1], int(chunk))
    bn_merge_sums_kernel[blocks_for(channels, 128), 128, stream](part[0], part[1], sum_a, sum_b)


def batchnorm_stats(x, mean, var, inv_std, eps=1e-5, *, chunk=DEFAULT_CHUNK,
                    threads=REDUCE_THREADS, workspace=None, stream=0):
    """Write channel means, biased variances and ``1/sqrt(var + eps)`` of ``x`` (N, C, *).

    ``mean``, ``var``, ``inv_std``: (C,) arrays of x's dtype. ``workspace``: an
    optional float64 array of :func:`workspace_shape` (else one is allocated).
    """
    op = "batchnorm_stats"
    threads = _check_input(op, x, chunk, threads)
    same_dtype(op, x=x, mean=mean, var=var, inv_std=inv_std)
    _check_vectors(op, x, mean=mean, var=var, inv_std=inv_std)
    part = _workspace(op, x, workspace, chunk, stream)
    x3 = as_ncl(x)
    channels, chunks = part.shape[1], part.shape[2]
    bn_partial_stats_kernel[(chunks, channels), threads, stream](x3, part[0], part[1], int(chunk))
    bn_merge_stats_kernel[blocks_for(channels, 128), 128, stream](
        part[0], part[1], int(chunk), x3.shape[0] * x3.shape[2], float(eps), mean, var, inv_std)


def batchnorm_forward(x, mean, inv_std, weight, bias, out, *, threads=ELEMENTWISE_THREADS,
                      stream=0):
    """``out`` = ``(x - mean) * inv_std * weight + bias`` per channel (``x``, ``out``: (N, C, *)).

    Without affine parameters pass ``weight`` = ones, ``bias`` = zeros.
    """
    op = "batchnorm_forward"
    check_array(x, "x", op)
    check_arrays(op, x.shape, out=out)
    same_dtype(op, x=x, mean=mean, inv_std=inv_std, weight=weight, bias=bias, out=out)
    _check_vectors(op, x, mean=mean, inv_std=inv_std, weight=weight, bias=bias)
    launch_1d(bn_forward_kernel, op, x.size, threads, stream,
              as_ncl(x), mean, inv_std, weight, bias, as_ncl(out))


def batchnorm_backward_reduce(grad_out, x, mean, inv_std, sum_g, sum_g_xhat, *,
                              chunk=DEFAULT_CHUNK, threads=REDUCE_THREADS, workspace=None,
                              stream=0):
    """Write ``sum_g`` = dL/db = sum g and ``sum_g_xhat`` = dL/dw = sum g * xhat, per channel."""
    op = "batchnorm_backward_reduce"
    threads = _check_input(op, x, chunk, threads)
    check_arrays(op, x.shape, grad_out=grad_out)
    same_dtype(op, x=x, grad_out=grad_out, mean=mean, inv_std=inv_std, sum_g=sum_g,
               sum_g_xhat=sum_g_xhat)
    _check_vectors(op, x, mean=mean, inv_std=inv_std, sum_g=sum_g, sum_g_xhat=sum_g_xhat)
    _chunked_sums(op, bn_partial_grad_sums_kernel, (as_ncl(grad_out), as_ncl(x), mean, inv_std),
                  x, sum_g, sum_g_xhat, chunk, threads, workspace, stream)


def batchnorm_backward_input(grad_out, x, mean, inv_std, weight, sum_g, sum_g_xhat, grad_in, *,
                             threads=ELEMENTWISE_THREADS, stream=0):
    """``grad_in`` = dL/dx from the per-channel sums of :func:`batchnorm_backward_reduce`."""
    op = "batchnorm_backward_input"
    check_array(x, "x", op)
    check_arrays(op, x.shape, grad_out=grad_out, grad_in=grad_in)
    same_dtype(op, x=x, grad_out=grad_out, mean=mean, inv_std=inv_std, weight=weight,
               sum_g=sum_g, sum_g_xhat=sum_g_xhat, grad_in=grad_in)
    _check_vectors(op, x, mean=mean, inv_std=inv_std, weight=weight, sum_g=sum_g,
                   sum_g_xhat=sum_g_xhat)
    launch_1d(bn_grad_input_kernel, op, x.size, threads, stream,
              as_ncl(grad_out), as_ncl(x), mean, inv_std, weight, sum_g, sum_g_xhat,
              as_ncl(grad_in))


def batchnorm_backward(grad_out, x, mean, inv_std, weight, grad_in, grad_weight, grad_bias, *,
                       chunk=DEFAULT_CHUNK, threads=REDUCE_THREADS, workspace=None, stream=0):
    """The whole training backward: ``grad_bias``, ``grad_weight`` (C,), then ``grad_in``."""
    batchnorm_backward_reduce(grad_out, x, mean, inv_std, grad_bias, grad_weight, chunk=chunk,
                              threads=threads, workspace=workspace, stream=stream)
    batchnorm_backward_input(grad_out, x, mean, inv_std, weight, grad_bias, grad_weight, grad_in,
                             stream=stream)


_A1, _A3 = float32[::1], float32[:, :, ::1]
_D2 = float64[:, ::1]

#: One float32 signature per kernel, for the PTX compile check.
SIGNATURES = [
    (bn_partial_stats_kernel, (_A3, _D2, _D2, int64)),
    (bn_merge_stats_kernel, (_D2, _D2, int64, int64, float64, _A1, _A1, _A1)),
    (bn_forward_kernel, (_A3, _A1, _A1, _A1, _A1, _A3)),
    (bn_partial_grad_sums_kernel, (_A3, _A3, _A1, _A1, _D2, _D2, int64)),
    (bn_merge_sums_kernel, (_D2, _D2, _A1, _A1)),
    (bn_grad_input_kernel, (_A3, _A3, _A1, _A1, _A1, _A1, _A1, _A3)),
]
