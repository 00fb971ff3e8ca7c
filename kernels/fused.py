"""Batch norm followed by hardswish, fused (MobileNetV3's Conv-BN-Hardswish tail).

Reference (unfused) path: :mod:`batchnorm` then :mod:`activation`, i.e. the
NumPy twins ``BatchNorm`` then ``Hardswish`` of :mod:`minicnn.ops`::

    z = (x - mu[c]) * inv_std[c] * w[c] + b[c]         y = hardswish(z)

The unfused forward writes ``z`` and reads it back (4 array passes: read x,
write z, read z, write y); fused, each thread computes ``z`` in a register
(2 passes). The backward recomputes ``z`` from ``x`` instead of saving it::

    dz = g * hardswish'(z)                              (g = dL/dy)
    dL/db = sum dz      dL/dw = sum dz * xhat
    dL/dx = w inv_std (dz - mean(dz) - xhat mean(dz * xhat))

so the unfused backward's 8 array passes (hardswish backward: read z and g,
write dz; batch-norm sums: read dz and x; dx: read dz and x, write dx) become
5 (sums: read g and x; dx: read g and x, write dx), and neither ``z`` nor
``dz`` is ever stored.

Layouts as in :mod:`batchnorm`: the forward and the input gradient, one thread
per element (:func:`_index.ncl_of`); the sums, grid ``(chunks, C)`` with two
shared-memory tree sums per block (:func:`_reduce.block_sum2`), then
:func:`batchnorm.bn_merge_sums_kernel` (one thread per channel). Hardswish is
:func:`activation.hardswish` (a device function); its gradient, with PyTorch's
kink convention (0 for z <= -3, z/3 + 1/2 inside, 1 for z >= 3), is
:func:`hardswish_grad` here, which gives ``g * 0`` for z <= -3 where
:mod:`activation`'s backward kernel writes 0 (a NaN rather than 0 for an
infinite or NaN ``g``).
"""
import numpy as np
from numba import cuda, float32, float64, int64

from ._index import ncl_of
from ._launch import ELEMENTWISE_THREADS, as_ncl, check_array, check_arrays, launch_1d, \
    same_dtype
from ._reduce import REDUCE_THREADS, block_sum2
from .activation import hardswish
from .batchnorm import DEFAULT_CHUNK, _check_input, _check_vectors, _chunked_sums

ZERO, HALF, THREE = np.float32(0.0), np.float32(0.5), np.float32(3.0)


@cuda.jit(device=True)
def hardswish_grad(g, z):
    """``g * hardswish'(z)``: ``g * 0`` for z <= -3, ``g (z/3 + 1/2)`` for -3 < z < 3, ``g``
    otherwise (z >= 3, and NaN, as PyTorch).

    Float32 constants: float32 data stays float32 (see :mod:`activation`).
    """
    if z <= -THREE:
        return g * ZERO
    if z < THREE:
        return g * (z / THREE + HALF)
    return g


@cuda.jit
def bn_hardswish_forward_kernel(x, mean, inv_std, weight, bias, y):
    """``y = hardswish((x - mu) inv_std w + b)``; one thread per element of (N, C, L)."""
    index = cuda.grid(1)
    n_batch, channels, length = x.shape
    if index >= n_batch * channels * length:
        return
    n, c, l = ncl_of(index, channels, length)  # noqa: E741
    z = (x[n, c, l] - mean[c]) * inv_std[c] * weight[c] + bias[c]
    y[n, c, l] = hardswish(z)


@cuda.jit
def bn_hardswish_partial_grad_sums_kernel(grad_out, x, mean, inv_std, weight, bias, part_dz,
                                          part_dz_xhat, chunk):
    """Block (k, c): sums of ``dz`` and ``dz * xhat`` over chunk k of channel c."""
    shared_dz = cuda.shared.array(REDUCE_THREADS, float64)
    shared_dzx = cuda.shared.array(REDUCE_THREADS, float64)
    k, c = cuda.blockIdx.x, cuda.blockIdx.y
    tid, threads = cuda.threadIdx.x, cuda.blockDim.x
    n_batch, channels, length = x.shape
    start = k * chunk
    stop = min(start + chunk, n_batch * length)
    mu, scale, w, b = mean[c], inv_std[c], weight[c], bias[c]
    sum_dz = float64(0.0)
    sum_dz_xhat = float64(0.0)
    for e in range(start + tid, stop, threads):
        n, l = e // length, e % length  # noqa: E741
        xhat = (x[n, c, l] - mu) * scale
        dz = hardswish_grad(grad_out[n, c, l], xhat * w + b)
        sum_dz += dz
        sum_dz_xhat += dz * xhat
    total_dz, total_dz_xhat = block_sum2(shared_dz, shared_dzx, sum_dz, sum_dz_xhat)
    if tid == 0:
        part_dz[c, k] = total_dz
        part_dz_xhat[c, k] = total_dz_xhat


@cuda.jit
def bn_hardswish_grad_input_kernel(grad_out, x, mean, inv_std, weight, bias, sum_dz, sum_dz_xhat,
                                   grad_in):
    """``dx = w inv_std (dz - sum dz / M - xhat sum(dz xhat) / M)``; one thread per element."""
    index = cuda.grid(1)
    n_batch, channels, length = x.shape
    if index >= n_batch * channels * length:
        return
    n, c, l = ncl_of(index, channels, length)  # noqa: E741
    count = float64(n_batch * length)
    xhat = (x[n, c, l] - mean[c]) * inv_std[c]
    dz = hardswish_grad(grad_out[n, c, l], xhat * weight[c] + bias[c])
    grad_in[n, c, l] = weight[c] * inv_std[c] * (
        dz - sum_dz[c] / count - xhat * (sum_dz_xhat[c] / count))


def bn_hardswish_forward(x, mean, inv_std, weight, bias, out, *, threads=ELEMENTWISE_THREADS,
                         stream=0):
    """``out = hardswish(batchnorm(x))`` with given per-channel ``mean``, ``inv_std`` (C,)."""
    op = "bn_hardswish_forward"
    check_array(x, "x", op)
    check_arrays(op, x.shape, out=out)
    same_dtype(op, x=x, mean=mean, inv_std=inv_std, weight=weight, bias=bias, out=out)
    _check_vectors(op, x, mean=mean, inv_std=inv_std, weight=weight, bias=bias)
    launch_1d(bn_hardswish_forward_kernel, op, x.size, threads, stream,
              as_ncl(x), mean, inv_std, weight, bias, as_ncl(out))


def bn_hardswish_backward(grad_out, x, mean, inv_std, weight, bias, grad_in, grad_weight,
                          grad_bias, *, chunk=DEFAULT_CHUNK, threads=REDUCE_THREADS,
                          workspace=None, stream=0):
    """Training backward of ``hardswish(batchnorm(x))``: grad_bias, grad_weight, grad_in."""
    op = "bn_hardswish_backward"
    threads = _check_input(op, x, chunk, threads)
    check_arrays(op, x.shape, grad_out=grad_out, grad_in=grad_in)
    same_dtype(op, x=x, grad_out=grad_out, mean=mean, inv_std=inv_std, weight=weight, bias=bias,
               grad_in=grad_in, grad_weight=grad_weight, grad_bias=grad_bias)
    _check_vectors(op, x, mean=mean, inv_std=inv_std, weight=weight, bias=bias,
                   grad_weight=grad_weight, grad_bias=grad_bias)
    g3, x3 = as_ncl(grad_out), as_ncl(x)
    _chunked_sums(op, bn_hardswish_partial_grad_sums_kernel, (g3, x3, mean, inv_std, weight, bias),
                  x, grad_bias, grad_weight, chunk, threads, workspace, stream)
    launch_1d(bn_hardswish_grad_input_kernel, op, x.size, ELEMENTWISE_THREADS, stream,
              g3, x3, mean, inv_std, weight, bias, grad_bias, grad_weight, as_ncl(grad_in))


_A1, _A3 = float32[::1], float32[:, :, ::1]
_D2 = float64[:, ::1]

#: One float32 signature per kernel, for the PTX compile check.
SIGNATURES = [
    (bn_hardswish_forward_kernel, (_A3, _A1, _A1, _A1, _A1, _A3)),
    (bn_hardswish_partial_grad_sums_kernel, (_A3, _A3, _A1, _A1, _A1, _A1, _D2, _D2, int64)),
    (bn_hardswish_grad_input_kernel, (_A3, _A3, _A1, _A1, _A1, _A1, _A1, _A1, _A3)),
]
