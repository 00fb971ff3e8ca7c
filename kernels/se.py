"""Squeeze-and-excitation channel scaling and its backward.

NumPy twin: the last step of :class:`minicnn.nn.SqueezeExcitation`
(``minicnn/nn/squeeze_excitation.py``): ``x * s`` with ``s`` of shape
(N, C, 1, 1), a broadcast multiply, whose gradient for ``s``
(:mod:`minicnn.ops.elementwise`) sums over the broadcast axes::

    y[n, c, h, w] = x[n, c, h, w] * s[n, c]
    dL/dx[n, c, h, w] = g[n, c, h, w] * s[n, c]          (g = dL/dy)
    dL/ds[n, c]       = sum_{h, w} g[n, c, h, w] * x[n, c, h, w]

Layouts, with ``x`` viewed as (N, C, L), ``L = H*W``:

* scaling (forward, and the input gradient, which is the same kernel applied
  to ``g``): one thread per element, 1-D grid; its row is ``index // L``
  (:func:`_index.ncl_of`).
* scale gradient: one block per row ``(n, c)`` (grid ``(C, N)``); its threads
  stride over the row's ``L`` contiguous values (coalesced), sum
  ``g * x`` in registers, then a shared-memory tree sum
  (:func:`_reduce.block_sum`); one thread writes ``ds[n, c]``. No atomics.
"""
from numba import cuda, float32, float64

from ._index import ncl_of
from ._launch import ELEMENTWISE_THREADS, as_ncl, check_array, check_arrays, check_threads, \
    launch_1d, same_dtype
from ._reduce import REDUCE_THREADS, block_sum


@cuda.jit
def se_scale_kernel(x, scale, y):
    """``y[n, c, l] = x[n, c, l] * scale[n, c]``; one thread per element."""
    index = cuda.grid(1)
    n_batch, channels, length = x.shape
    if index >= n_batch * channels * length:
        return
    n, c, l = ncl_of(index, channels, length)  # noqa: E741
    y[n, c, l] = x[n, c, l] * scale[n, c]


@cuda.jit
def se_grad_scale_kernel(grad_out, x, grad_scale):
    """Block (c, n): ``grad_scale[n, c] = sum_l g[n, c, l] * x[n, c, l]``."""
    shared = cuda.shared.array(REDUCE_THREADS, float64)
    c, n = cuda.blockIdx.x, cuda.blockIdx.y
    tid, threads = cuda.threadIdx.x, cuda.blockDim.x
    partial = float64(0.0)
    for l in range(tid, x.shape[2], threads):  # noqa: E741
        partial += grad_out[n, c, l] * x[n, c, l]
    total = block_sum(shared, partial)
    if tid == 0:
        grad_scale[n, c] = total


def _as_nc(array):
    """(N, C) or (N, C, 1, 1) -> (N, C)."""
    return array.reshape(array.shape[0], array.shape[1])


def _check(op, x_name, x, scale_name, scale, others):
    check_array(x, x_name, op)
    check_array(scale, scale_name, op)
    if x.ndim < 2:
        raise ValueError(f"{op}: {x_name} must have shape (N, C, *), got {tuple(x.shape)}")
    if scale.size != x.shape[0] * x.shape[1] or tuple(scale.shape[:2]) != tuple(x.shape[:2]):
        raise ValueError(f"{op}: {scale_name} must have shape (N, C) or (N, C, 1, 1) with "
                         f"(N, C) = {tuple(x.shape[:2])}, got {tuple(scale.shape)}")
    check_arrays(op, x.shape, **others)
    same_dtype(op, **{x_name: x, scale_name: scale}, **others)


def se_scale(x, scale, out, *, threads=ELEMENTWISE_THREADS, stream=0):
    """``out = x * scale`` with ``x`` (N, C, *) and ``scale`` (N, C) or (N, C, 1, 1).

    Also the input gradient: ``se_scale(grad_out, scale, grad_in)``.
    """
    op = "se_scale"
    _check(op, "x", x, "scale", scale, {"out": out})
    launch_1d(se_scale_kernel, op, x.size, threads, stream, as_ncl(x), _as_nc(scale), as_ncl(out))


def se_grad_scale(grad_out, x, grad_scale, *, threads=REDUCE_THREADS, stream=0):
    """Overwrite ``grad_scale`` (N, C) or (N, C, 1, 1) with ``sum_hw grad_out * x``."""
    op = "se_grad_scale"
    _check(op, "x", x, "grad_scale", grad_scale, {"grad_out": grad_out})
    threads = check_threads(threads, op, power_of_two=True, maximum=REDUCE_THREADS)
    n_batch, channels = x.shape[:2]
    if n_batch * channels:
        se_grad_scale_kernel[(channels, n_batch), threads, stream](
            as_ncl(grad_out), as_ncl(x), _as_nc(grad_scale))


_A2, _A3 = float32[:, ::1], float32[:, :, ::1]

#: One float32 signature per kernel, for the PTX compile check.
SIGNATURES = [
    (se_scale_kernel, (_A3, _A2, _A3)),
    (se_grad_scale_kernel, (_A3, _A3, _A2)),
]
