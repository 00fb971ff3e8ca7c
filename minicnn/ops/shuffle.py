"""Channel shuffle (ShuffleNet) and pixel shuffle (ESPCN): permutations that view an
axis as a matrix and transpose it.

Channel shuffle views the channels as (g, C/g) and transposes them: channels
move between groups. Pixel shuffle views the channels as (C, r, r) and moves the
two factors r next to H and W: channels move into space, (N, C r^2, H, W) ->
(N, C, H r, W r); pixel unshuffle is its inverse (and its gradient).

GPU: float CuPy arrays are channel-shuffled by minicnn's CUDA kernel
(``kernels/shuffle.py`` through ``_gpu.py``); everything else is the
reshape-transpose below, on CuPy.
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


def _pixel_shuffle(x, factor):
    """``(*, C r^2, H, W) -> (*, C, r_i, r_j, H, W) -> (*, C, H, r_i, W, r_j) -> (*, C, H r, W r)``."""
    *batch, channels, height, width = x.shape
    lead = len(batch)
    split = x.reshape(*batch, channels // factor**2, factor, factor, height, width)
    moved = split.transpose(*range(lead), lead, lead + 3, lead + 1, lead + 4, lead + 2)
    return moved.reshape(*batch, channels // factor**2, height * factor, width * factor)


def _pixel_unshuffle(x, factor):
    """``(*, C, H r, W r) -> (*, C, H, r_i, W, r_j) -> (*, C, r_i, r_j, H, W) -> (*, C r^2, H, W)``."""
    *batch, channels, height, width = x.shape
    lead = len(batch)
    split = x.reshape(*batch, channels, height // factor, factor, width // factor, factor)
    moved = split.transpose(*range(lead), lead, lead + 2, lead + 4, lead + 1, lead + 3)
    return moved.reshape(*batch, channels * factor**2, height // factor, width // factor)


class PixelShuffle(Function):
    """``y[..., c, h*r + i, w*r + j] = x[..., c*r^2 + i*r + j, h, w]`` (r = upscale_factor).

    Shapes ``(*, C r^2, H, W) -> (*, C, H r, W r)``. A permutation: every input
    lands in exactly one output, so ``dL/dx = pixel_unshuffle(dL/dy, r)``.
    """

    @staticmethod
    def forward(ctx, x, *, factor):
        ctx.factor = factor
        return _pixel_shuffle(x, factor)

    @staticmethod
    def backward(ctx, grad_out):
        return _pixel_unshuffle(grad_out, ctx.factor)


class PixelUnshuffle(Function):
    """``y[..., c*r^2 + i*r + j, h, w] = x[..., c, h*r + i, w*r + j]`` (r = downscale_factor).

    Shapes ``(*, C, H r, W r) -> (*, C r^2, H, W)``, the inverse permutation of
    :class:`PixelShuffle`: ``dL/dx = pixel_shuffle(dL/dy, r)``.
    """

    @staticmethod
    def forward(ctx, x, *, factor):
        ctx.factor = factor
        return _pixel_unshuffle(x, factor)

    @staticmethod
    def backward(ctx, grad_out):
        return _pixel_shuffle(grad_out, ctx.factor)


def _check_image(op, input, name, factor):
    from ..tensor import Tensor

    if not isinstance(input, Tensor):  # any dtype: a permutation computes nothing
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 3:
        raise ValueError(f"{op}: input must have at least 3 dimensions (*, C, H, W), "
                         f"got shape {tuple(input.shape)}")
    return as_int(factor, name, 1, op)


def pixel_shuffle(input, upscale_factor):
    """Channels to space: (*, C r^2, H, W) -> (*, C, H r, W r), r = ``upscale_factor``
    (see :class:`PixelShuffle`)."""
    op = "pixel_shuffle"
    factor = _check_image(op, input, "upscale_factor", upscale_factor)
    if input.shape[-3] % factor**2:
        raise ValueError(f"{op}: the channel dimension (dim -3) must be divisible by "
                         f"upscale_factor**2 = {factor**2}, got {input.shape[-3]} channels "
                         f"(input shape {tuple(input.shape)})")
    return PixelShuffle.apply(input, factor=factor)


def pixel_unshuffle(input, downscale_factor):
    """Space to channels: (*, C, H r, W r) -> (*, C r^2, H, W), r = ``downscale_factor``
    (see :class:`PixelUnshuffle`)."""
    op = "pixel_unshuffle"
    factor = _check_image(op, input, "downscale_factor", downscale_factor)
    height, width = input.shape[-2:]
    if height % factor or width % factor:
        raise ValueError(f"{op}: height and width (dims -2, -1) must be divisible by "
                         f"downscale_factor={factor}, got {height} x {width} "
                         f"(input shape {tuple(input.shape)})")
    return PixelUnshuffle.apply(input, factor=factor)
