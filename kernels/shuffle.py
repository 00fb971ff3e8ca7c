"""Channel shuffle (ShuffleNet) and its inverse.

NumPy twin: ``minicnn.ops.shuffle._shuffle`` (:class:`minicnn.ops.shuffle.ChannelShuffle`)::

    y[n, r*g + q, l] = x[n, q*(C/g) + r, l]        q < g, r < C/g  (g = groups)

i.e. the channels, viewed as a (g, C/g) matrix, are transposed. The inverse
permutation (the backward pass) is the same shuffle with ``C/g`` groups.

Layout: ``x`` and ``y`` viewed as (N, C, L), ``L`` = the product of the
spatial dims. One thread per output element (N*C*L threads, 1-D grid; its
``(n, c, l)`` from :func:`_index.ncl_of`); it computes its source channel and
copies one value. Consecutive threads take consecutive ``l``, so both the
read and the write are coalesced runs of ``L`` elements (only the channel
order changes).
"""
from numba import cuda, float32, int64

from ._index import ncl_of
from ._launch import ELEMENTWISE_THREADS, as_ncl, check_array, launch_1d, same_dtype


@cuda.jit
def channel_shuffle_kernel(x, y, groups):
    """``y`` (N, C, L) = ``x`` with channel ``q*(C/g) + r`` moved to ``r*g + q``."""
    index = cuda.grid(1)
    n_batch, channels, length = y.shape
    if index >= n_batch * channels * length:
        return
    n, out_c, l = ncl_of(index, channels, length)  # noqa: E741 (l: the docstring's)
    r, q = out_c // groups, out_c % groups
    y[n, out_c, l] = x[n, q * (channels // groups) + r, l]


def channel_shuffle(x, out, groups, *, threads=ELEMENTWISE_THREADS, stream=0):
    """``out`` (N, C, *) = ``x`` (N, C, *) with its channels shuffled between ``groups`` groups."""
    op = "channel_shuffle"
    check_array(x, "x", op)
    check_array(out, "out", op)
    if x.ndim < 3:
        raise ValueError(f"{op}: x must have at least 3 dimensions (N, C, *), got shape "
                         f"{tuple(x.shape)}")
    if tuple(out.shape) != tuple(x.shape):
        raise ValueError(f"{op}: out must have x's shape {tuple(x.shape)}, got {tuple(out.shape)}")
    groups = int(groups)
    channels = x.shape[1]
    if groups < 1 or channels % groups:
        raise ValueError(f"{op}: groups={groups} must divide the number of channels C={channels}")
    same_dtype(op, x=x, out=out)
    launch_1d(channel_shuffle_kernel, op, x.size, threads, stream, as_ncl(x), as_ncl(out), groups)


def channel_shuffle_backward(grad_out, grad_in, groups, *, threads=ELEMENTWISE_THREADS,
                             stream=0):
    """``grad_in`` = the inverse shuffle of ``grad_out``: a shuffle with ``C / groups`` groups."""
    check_array(grad_out, "grad_out", "channel_shuffle_backward")
    channels = grad_out.shape[1]
    if int(groups) < 1 or channels % int(groups):
        raise ValueError(f"channel_shuffle_backward: groups={groups} must divide the number of "
                         f"channels C={channels}")
    channel_shuffle(grad_out, grad_in, channels // int(groups), threads=threads, stream=stream)


_A3 = float32[:, :, ::1]

#: One float32 signature per kernel, for the PTX compile check.
SIGNATURES = [
    (channel_shuffle_kernel, (_A3, _A3, int64)),
]
