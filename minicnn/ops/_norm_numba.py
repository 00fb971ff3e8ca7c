"""Numba fast path for batch normalisation (C-contiguous float32 NumPy arrays).

The readable definition is the NumPy formulation in :mod:`minicnn.ops.norm`;
each kernel here names its NumPy twin there and is tested against it
(``tests/ops/test_batch_norm.py``). Arrays are (N, C, L) views of (N, C, *).

Why kernels: the NumPy formulation makes 5 passes over memory in the forward
and 6 in the backward (NumPy has no fused multiply-add, and every broadcast
product allocates). Here the forward is two passes (statistics and centring
in one, the affine map in the other) and the backward two (the two sums, then
the input gradient). Statistics accumulate in float64.

Single-threaded on purpose (no ``parallel=True``): measured on the 2-core
machine, one pass of these loops took ~0.11 ms against ~0.26 ms for a NumPy
broadcast pass, already below PyTorch's 2-thread batch norm; and after an
OpenMP-parallel Numba region the next multi-threaded OpenBLAS GEMM ran 25x
slower (36 ms instead of 1.4 ms) while Numba's worker threads spun, which a
network alternating batch norm and convolutions would pay every layer. The
other way round costs too: a parallel Numba kernel right after an OpenBLAS
GEMM ran 2x slower while OpenBLAS's workers spun. Re-measured with
``OMP_WAIT_POLICY=PASSIVE`` (2026-12-07): parallel versions of these kernels
made the batch norm itself 1.4x faster, but whole training steps slower
(MobileNetV3-small 0.91 -> 1.08 s, EfficientNet-B0 3.72 -> 4.08 s, medians of
three interleaved processes), so they stay single-threaded.

``fastmath`` allows only reassociation (so the float64 reductions vectorise)
and contraction into FMAs; NaN and inf keep their IEEE meaning.
"""
import numpy as np
from numba import njit

_FASTMATH = {"reassoc", "contract"}


@njit(cache=True, fastmath=_FASTMATH)
def centre_kernel(x, centred):
    """Per channel: mean, biased variance; writes ``centred = x - mean``.

    Twin: ``_channel_sum`` / ``x3 - mean`` / ``_channel_dot(centred, centred)``.
    Two sweeps over a channel (N*L values; the second mostly from cache);
    returns float64 ``(mean, var)`` of shape (C,).
    """
    n, c, length = x.shape
    count = n * length
    mean = np.empty(c)
    var = np.empty(c)
    for ch in range(c):
        total = 0.0
        for b in range(n):
            for i in range(length):
                total += np.float64(x[b, ch, i])
        mu = total / count
        mu32 = np.float32(mu)
        squares = 0.0
        for b in range(n):
            for i in range(length):
                d = x[b, ch, i] - mu32
                centred[b, ch, i] = d
                squares += np.float64(d) * np.float64(d)
        mean[ch] = mu
        var[ch] = squares / count
    return mean, var


@njit(cache=True, fastmath=_FASTMATH)
def affine_kernel(src, scale, shift, out):
    """``out = src * scale[c] + shift[c]`` per channel.  Twin: ``_affine``'s NumPy lines."""
    n, c, length = src.shape
    for b in range(n):
        for ch in range(c):
            s = scale[ch]
            t = shift[ch]
            for i in range(length):
                out[b, ch, i] = src[b, ch, i] * s + t


@njit(cache=True, fastmath=_FASTMATH)
def grad_sums_kernel(grad, x, mean):
    """Per channel ``sum g`` and ``sum g * (x - mean)`` (float64, shape (C,)).

    Twin: ``_channel_sum(grad)``, ``_channel_dot(grad, x - mean)``. With
    ``x`` already centred, ``mean`` is zero.
    """
    n, c, length = grad.shape
    sum_g = np.zeros(c)
    sum_gx = np.zeros(c)
    for b in range(n):
        for ch in range(c):
            mu = mean[ch]
            total = 0.0
            dot = 0.0
            for i in range(length):
                g = np.float64(grad[b, ch, i])
                total += g
                dot += g * np.float64(x[b, ch, i] - mu)
            sum_g[ch] += total
            sum_gx[ch] += dot
    return sum_g, sum_gx


@njit(cache=True, fastmath=_FASTMATH)
def grad_input_kernel(grad, centred, scale, along_centred, mean_grad, out):
    """``out = scale[c] * (g + along_centred[c] * centred - mean_grad[c])``.

    Twin: the four NumPy lines of ``_grad_input`` (the batch-norm input gradient).
    """
    n, c, length = grad.shape
    for b in range(n):
        for ch in range(c):
            s = scale[ch]
            k = along_centred[ch]
            m = mean_grad[ch]
            for i in range(length):
                out[b, ch, i] = s * (grad[b, ch, i] + k * centred[b, ch, i] - m)
