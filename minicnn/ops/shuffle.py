"""Channel shuffle (ShuffleNet): mixes information between channel groups.

GPU: float CuPy arrays are shuffled by minicnn's CUDA kernel (``kernels/shuffle.py``
through ``_gpu.py``); other dtypes by the reshape-transpose below, on CuPy.
"""
import math

from .._validation import as_int
from ..backend import is_cupy_array, xp_of
from ..function import Function
from . import _gpu


def _shuffle(x, groups):
    """Channel ``q * (C/g) + r`` moves to slot ``r * g + q``: a (g, C/g) -> (C/g, g) transpose.

    (N, C, *) -> (N, g, C/g, L) -> (N, C/g, g, L) -> (N, C, *), L = prod(*).
    One copy, of rows of L contiguous values: as fast as ``take`` along the
    channel axis, and bound by one core's memory bandwidth (PyTorch copies on
    two threads; a Numba ``prange`` copy matched it, but its spinning OpenMP
    workers then slowed the next OpenBLAS GEMM many times over).
    """
    batch, channels = x.shape[:2]
    length = math.prod(x.shape[2:])
    split = x.reshape(batch, groups, channels // groups, length)  # (N, g, C/g, L)
    return split.transpose(0, 2, 1, 3).reshape(x.shape)  # (N, C/g, g, L) -> (N, C, *)


class ChannelShuffle(Function):
    """``y[:, r*g + q] = x[:, q*(C/g) + r]`` for ``q < g``, ``r < C/g`` (g = groups).

    View the channels as a (g, C/g) matrix (group, index within group) and
    transpose it: output channel ``r*g + q`` is channel ``r`` of group ``q``,
    so consecutive output channels come from different groups.

    Gradient: ``y = x[:, perm]`` is a permutation, so ``dL/dx = g[:, perm^-1]``,
    and the inverse of transposing a (g, C/g) matrix is transposing the
    (C/g, g) one: the gradient is channel_shuffle(g, C/g). (The same fact
    says shuffling by ``g`` then by ``C/g`` restores the input.)

    Shapes: ``(N, C, *) -> (N, C, *)``.
    """

    @staticmethod
    def forward(ctx, x, *, groups):
        ctx.groups = groups
        if is_cupy_array(x) and _gpu.serves(x):  # GPU dispatch: kernels/shuffle.py
            return _gpu.channel_shuffle_forward(xp_of(x), x, groups)
        return _shuffle(x, groups)

    @staticmethod
    def backward(ctx, grad_out):
        if is_cupy_array(grad_out) and _gpu.serves(grad_out):  # GPU dispatch: kernels/shuffle.py
            return _gpu.channel_shuffle_backward(xp_of(grad_out), grad_out, ctx.groups)
        return _shuffle(grad_out, grad_out.shape[1] // ctx.groups)


def channel_shuffle(input, groups):
    """Shuffle the channels of ``input`` (N, C, *) between ``groups`` groups.

    ``groups`` must divide C (see :class:`ChannelShuffle`); as in PyTorch, the
    input needs at least 3 dimensions.
    """
    from ..tensor import Tensor

    op = "channel_shuffle"
    if not isinstance(input, Tensor):  # any dtype: a permutation computes nothing
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 3:
        raise ValueError(f"{op}: input must have at least 3 dimensions (N, C, *), "
                         f"got shape {tuple(input.shape)}")
    groups = as_int(groups, "groups", 1, op)
    channels = input.shape[1]
    if channels % groups:
        raise ValueError(f"{op}: groups={groups} must divide the number of channels "
                         f"C={channels} (input shape {tuple(input.shape)})")
    return ChannelShuffle.apply(input, groups=groups)
