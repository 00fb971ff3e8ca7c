"""unfold and fold: the im2col that conv2d runs on, exposed, and its adjoint col2im.

Notation as in :mod:`minicnn.ops.conv`: ``x`` (N, C, H, W), kernel
``k = (kH, kW)``, stride ``s``, padding ``p`` (symmetric), dilation ``d``;
``L = H_out * W_out`` window positions (blocks),
``H_out = floor((H + 2p - d(k-1) - 1) / s) + 1``.

unfold (im2col)::

    cols[n, (c*kH + u)*kW + v, i*W_out + j] = x[n, c, s*i + d*u - p, s*j + d*v - p]

(zero where the index falls on the padding): column ``l = (i, j)`` holds the
``C kH kW`` values window ``(i, j)`` reads. conv2d is then one product per
image, ``conv2d(x, w) = (w.view(C_out, -1) @ unfold(x)).view(N, C_out, H_out, W_out)``.

fold (col2im) is unfold's adjoint: every column entry is added to the pixel it
stands for, entries on the padding dropped::

    y[n, c, h, w] = sum over (u, v, i, j) with s*i + d*u - p = h, s*j + d*v - p = w of
                    cols[n, (c*kH + u)*kW + v, i*W_out + j]

Both are linear, and each is the other's transpose, so the backward of one is
the other: ``dL/dx = fold(dL/dcols)`` and ``dL/dcols = unfold(dL/dy)``.
(fold(unfold(x)) is not x: each pixel comes back multiplied by the number of
windows that read it.)

GPU: float CuPy arrays go through ``kernels/im2col.py`` (the kernels conv2d
uses) via :mod:`minicnn.ops._gpu`; other dtypes take the NumPy formulation on CuPy.
"""
from .._validation import as_pair
from ..backend import is_cupy_array, xp_of
from ..function import Function
from . import _conv_im2col, _gpu
from ._common import require_float_input
from .conv import sliding_blocks


def _im2col(x, geometry):
    kernel_size, stride, padding, dilation, out_size = geometry
    if is_cupy_array(x) and _gpu.serves(x):  # GPU dispatch: kernels/im2col.py
        return _gpu.unfold_forward(xp_of(x), x, kernel_size, stride, padding, dilation, out_size)
    return _conv_im2col.im2col(x, kernel_size, stride, padding, dilation, out_size)


def _col2im(cols, image_size, geometry):
    kernel_size, stride, padding, dilation, out_size = geometry
    if is_cupy_array(cols) and _gpu.serves(cols):  # GPU dispatch: kernels/im2col.py
        return _gpu.fold_forward(xp_of(cols), cols, image_size, kernel_size, stride, padding,
                                 dilation, out_size)
    return _conv_im2col.col2im(cols, image_size, kernel_size, stride, padding, dilation,
                               out_size)


class Unfold(Function):
    """im2col: ``x`` (N, C, H, W) -> ``cols`` (N, C*kH*kW, L)::

        cols[n, (c*kH + u)*kW + v, i*W_out + j] = x[n, c, s*i + d*u - p, s*j + d*v - p]

    Backward: the adjoint, ``dL/dx = fold(dL/dcols)`` (col2im: each column
    entry's gradient added to the pixel it was copied from).
    """

    @staticmethod
    def forward(ctx, x, *, geometry):
        ctx.geometry, ctx.image_size = geometry, x.shape[2:]
        return _im2col(x, geometry)

    @staticmethod
    def backward(ctx, grad_out):
        return _col2im(grad_out, ctx.image_size, ctx.geometry)


class Fold(Function):
    """col2im: ``cols`` (N, C*kH*kW, L) -> ``y`` (N, C, H, W) (``(H, W)`` = output_size)::

        y[n, c, s*i + d*u - p, s*j + d*v - p] += cols[n, (c*kH + u)*kW + v, i*W_out + j]

    Backward: ``dL/dcols = unfold(dL/dy)`` (each entry read back from its pixel).
    """

    @staticmethod
    def forward(ctx, cols, *, image_size, geometry):
        ctx.geometry = geometry
        return _col2im(cols, image_size, geometry)

    @staticmethod
    def backward(ctx, grad_out):
        return _im2col(grad_out, ctx.geometry)


def _geometry(op, image_shape, kernel_size, dilation, padding, stride):
    """The checked arguments as ``(kernel, stride, ((p_h, p_h), (p_w, p_w)), dilation,
    (H_out, W_out))``; raises before any work."""
    kernel_size = as_pair(kernel_size, "kernel_size", 1, op)
    dilation = as_pair(dilation, "dilation", 1, op)
    pad_h, pad_w = as_pair(padding, "padding", 0, op)
    stride = as_pair(stride, "stride", 1, op)
    pads = ((pad_h, pad_h), (pad_w, pad_w))
    out_size = sliding_blocks(op, image_shape, kernel_size, stride, pads, dilation, padding)
    return kernel_size, stride, pads, dilation, out_size


def _batched(op, input, ndims, layout):
    """``input`` with a batch axis (PyTorch takes unbatched inputs too) and whether one was added."""
    if input.ndim not in ndims:
        raise ValueError(f"{op}: input must be {ndims[1]}-D {layout} or {ndims[0]}-D without "
                         f"the batch axis, got shape {tuple(input.shape)}")
    if input.ndim == ndims[0]:
        from .shape import unsqueeze

        return unsqueeze(input, 0), True
    return input, False


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks: (N, C, H, W) -> (N, C*kH*kW, L) (unbatched (C, H, W) too).

    ``kernel_size``, ``dilation``, ``stride``: int or pair >= 1; ``padding``:
    int or pair >= 0 (zeros on both sides). See :class:`Unfold` and the module docstring.
    """
    op = "unfold"
    require_float_input(input, "input", op)
    geometry = _geometry(op, input.shape, kernel_size, dilation, padding, stride)
    batch, unbatched = _batched(op, input, (3, 4), "(N, C, H, W)")
    out = Unfold.apply(batch, geometry=geometry)
    return out.squeeze(0) if unbatched else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks back into images: (N, C*kH*kW, L) -> (N, C, *output_size)
    (unbatched (C*kH*kW, L) too).

    ``L`` must be the number of windows that fit ``output_size`` with this
    kernel, dilation, padding and stride; ``C*kH*kW`` must be divisible by
    ``kH*kW``. See :class:`Fold` and the module docstring.
    """
    op = "fold"
    require_float_input(input, "input", op)
    output_size = as_pair(output_size, "output_size", 1, op)
    geometry = _geometry(op, output_size, kernel_size, dilation, padding, stride)
    batch, unbatched = _batched(op, input, (2, 3), "(N, C*kH*kW, L)")
    (k_h, k_w), out_size = geometry[0], geometry[4]
    rows, blocks = batch.shape[1:]
    if rows % (k_h * k_w):
        raise ValueError(f"{op}: input's dimension {batch.ndim - 2 - unbatched} has size {rows}, "
                         f"which must be divisible by the kernel's kH*kW = {k_h * k_w} "
                         f"(input shape {tuple(input.shape)}, kernel_size {(k_h, k_w)})")
    if blocks != out_size[0] * out_size[1]:
        raise ValueError(f"{op}: given output_size={output_size}, kernel_size={(k_h, k_w)}, "
                         f"dilation={geometry[3]}, padding={padding!r}, stride={geometry[1]}, "
                         f"the input's last dimension must be the number of blocks "
                         f"{out_size[0]} * {out_size[1]} = {out_size[0] * out_size[1]}, got "
                         f"{blocks} (input shape {tuple(input.shape)})")
    out = Fold.apply(batch, image_size=output_size, geometry=geometry)
    return out.squeeze(0) if unbatched else out
