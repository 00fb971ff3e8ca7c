"""Dense and grouped convolution as im2col + batched matrix products (NumPy or CuPy).

Notation as in :mod:`minicnn.ops.conv`: ``x`` (N, C, H, W), ``weight``
(Co, C/G, kH, kW), ``K = C/G * kH * kW`` (one group's column length),
padding as ``((top, bottom), (left, right))``.

im2col lays out, for every output pixel ``(i, j)``, the ``K`` input values
its dot product reads: ``cols[n, (c, u, v), (i, j)] = x_pad[n, c, s*i + d*u,
s*j + d*v]``. Convolution is then a matrix product per group::

    y[n, g] = w[g] @ cols[n, g]        (Co/G, K) @ (K, Ho*Wo)

The column matrix of the whole batch is ``kH*kW`` times larger than the
input (58 MB for 8 x 64 x 56 x 56 with a 3x3 kernel), so it is built and
consumed in chunks of whole images (``_CHUNK_BYTES``): the peak memory stays
a few MB above PyTorch's, and a chunk that stays in the L3 cache between
being written and being multiplied makes the product faster, not slower
(measured: 8 images at once 14 ms, one at a time 10.6 ms on this
convolution). Within a chunk the batch is outermost, ``(n, G, K, Ho*Wo)``,
so the product writes straight into the output layout ``(N, Co, Ho, Wo)``.

The backward pass reuses the same two pieces:

* ``grad_weight``: ``dL/dw[g] = sum_n grad_out[n, g] @ cols[n, g]^T``, the
  columns rebuilt from ``x`` chunk by chunk (rebuilding is cheaper than
  keeping 58 MB alive between forward and backward);
* ``grad_input``: for stride 1, a forward convolution of ``grad_out`` with
  the flipped, transposed kernel (same im2col + product); for stride > 1,
  ``w^T @ grad_out`` gives the column gradient and col2im adds it back with
  one strided ``+=`` per kernel offset (faster than ``np.add.at``).
"""
import threading

import numpy as np

from ..backend import xp_of

# Bytes of column matrix built per chunk: a few images of a typical layer;
# small enough to stay in the 32 MB L3 cache with the product's other operands.
_CHUNK_BYTES = 8 * 2**20
# Scratch buffers up to this size are kept between calls (see _scratch).
_SCRATCH_KEEP_BYTES = 64 * 2**20
_scratch_buffers = threading.local()


def _scratch(xp, tag, shape, dtype):
    """A buffer for temporaries that do not outlive the call, reused across calls.

    A fresh multi-MB NumPy array is page-faulted in on first touch, on every
    call; on this machine that cost the dense 3x3 case several ms per
    forward+backward. Reused buffers stay resident. One buffer per thread
    and tag (no two live temporaries share a tag); it only grows, and
    buffers above ``_SCRATCH_KEEP_BYTES`` are not kept. CuPy has its own
    memory pool, so it gets a plain allocation.
    """
    size = int(np.prod(shape))
    if xp is not np or size * np.dtype(dtype).itemsize > _SCRATCH_KEEP_BYTES:
        return xp.empty(shape, dtype=dtype)
    buffers = getattr(_scratch_buffers, "by_tag", None)
    if buffers is None:
        buffers = _scratch_buffers.by_tag = {}
    key = (tag, np.dtype(dtype).str)
    buffer = buffers.get(key)
    if buffer is None or buffer.size < size:
        buffer = buffers[key] = np.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)


def _as_strided(xp, array, shape, strides):
    return xp.lib.stride_tricks.as_strided(array, shape=shape, strides=strides)


def _images_per_chunk(n_batch, bytes_per_image):
    """Images per chunk: as many as fit in ``_CHUNK_BYTES``, spread evenly over the chunks
    (32 images at 28 per chunk become 16 + 16, not 28 + a narrow, slow product of 4)."""
    most = max(1, min(n_batch, _CHUNK_BYTES // max(bytes_per_image, 1)))
    chunks = max(1, -(-n_batch // most))  # an empty batch is one (empty) chunk
    return max(1, -(-n_batch // chunks))


class Columns:
    """How :func:`im2col_chunks` lays out the spatial axis of its column matrices.

    ``pitch == Wo``: exact, column ``i*Wo + j`` is output pixel ``(i, j)``.
    ``pitch > Wo`` ("wide", stride 1 only): column ``i*pitch + j`` is pixel
    ``(i, j)`` for ``j < Wo``; columns with ``j >= Wo`` are scratch. Then every
    ``(c, u, v)`` row of the matrix is ONE contiguous run of the flattened
    padded image, ``x_pad.flat[c, d*u*pitch + d*v : ... + length]``, so im2col
    copies a few long runs instead of many rows of ``Wo`` (measured 3x faster
    on 28x28 images); the product then computes ``pitch - Wo`` scratch columns
    per row (3-7% more work on 56x56 / 28x28 images) that are dropped.
    """

    def __init__(self, out_size, pitch):
        self.out_h, self.out_w = out_size
        self.pitch = pitch
        self.length = (self.out_h - 1) * pitch + self.out_w  # columns per matrix

    @property
    def wide(self):
        return self.pitch != self.out_w

    def _grid_view(self, xp, matrix, shape):
        """The valid columns of ``matrix`` (nb, M, length), any strides, as an (nb, M, Ho, Wo)
        view: column ``i*pitch + j`` is pixel ``(i, j)``."""
        s_n, s_m, s_t = matrix.strides
        return _as_strided(xp, matrix, shape, (s_n, s_m, self.pitch * s_t, s_t))

    def to_grid(self, xp, matrix, out, bias=None):
        """Copy the valid columns of ``matrix`` (nb, M, length) into ``out`` (nb, M, Ho, Wo),
        adding ``bias`` (1, M, 1, 1) on the way when given."""
        grid = self._grid_view(xp, matrix, out.shape)
        if bias is None:
            out[...] = grid
        else:
            xp.add(grid, bias, out=out)

    def from_grid(self, xp, grid, matrix):
        """Copy ``grid`` (nb, M, Ho, Wo) into the valid columns of ``matrix`` (nb, M, length);
        its scratch columns are left as they are."""
        self._grid_view(xp, matrix, grid.shape)[...] = grid


def per_image_product(kernel_size, stride, padding, out_size):
    """Multiply image by image, with ``x`` itself as the column matrix (True), or build
    folded columns (False)?

    A 1x1 stride-1 unpadded kernel reads each pixel once: image ``n``'s column
    matrix is ``x[n]`` (C, H*W), and one product per image needs no copy at
    all. Folding copies the input in and the output back out, which pays off
    only when each image's product is too narrow to be efficient (measured,
    batch 32: 576 -> 96 channels on 4x4 images 0.92 ms per image, 0.65 ms
    folded; 96 -> 576 on 8x8 images 1.43 ms per image, 3.40 ms folded).
    """
    return tuple(kernel_size) == (1, 1) and tuple(stride) == (1, 1) \
        and not any(any(side) for side in padding) and out_size[0] * out_size[1] >= 64


def _image_columns(xp, x, groups):
    """For :func:`per_image_product` convolutions: ``x`` (N, C, H, W) as its own column
    matrices, (N, G, C/G, H*W)."""
    n_batch, channels, height, width = x.shape  # not -1: ambiguous for an empty batch
    return xp.ascontiguousarray(x).reshape(n_batch, groups, channels // groups, height * width)


def im2col_chunks(x, kernel_size, stride, padding, dilation, out_size):
    """First yield the :class:`Columns` layout, then ``(n0, n1, cols)`` per chunk of images:
    ``cols`` ``(C*kH*kW, (n1-n0) * layout.length)``, the column matrices of images ``n0:n1``
    side by side ("folded": ``cols[(c, u, v), n * length + t]``), so that ONE product
    per group covers the whole chunk. (One product per image is as fast on large images
    and up to 2.3x slower on small ones, where each has only ``Ho*Wo`` columns.)

    Padding may be negative (a crop): the stride-1 input gradient convolves
    ``grad_out`` with a padding of ``d*(k-1) - p``. The yielded buffer is
    reused for the next chunk, so each chunk must be consumed before the next.
    """
    xp = xp_of(x)
    n_batch, channels, height, width = x.shape
    k_h, k_w = kernel_size
    (top, bottom), (left, right) = padding
    out_h, out_w = out_size
    # The padded image the columns read: rows [-top, H + bottom) of x, zero outside.
    pad_h, pad_w = height + top + bottom, width + left + right
    src_rows = slice(max(0, -top), height - max(0, -bottom))
    src_cols = slice(max(0, -left), width - max(0, -right))
    dst_rows = slice(max(0, top), max(0, top) + src_rows.stop - src_rows.start)
    dst_cols = slice(max(0, left), max(0, left) + src_cols.stop - src_cols.start)
    # Wide layout when the scratch columns cost little (<= 25% more product work).
    wide = stride == (1, 1) and 4 * (pad_w - out_w) <= out_w
    layout = Columns(out_size, pad_w if wide else out_w)
    yield layout
    images = _images_per_chunk(n_batch, channels * k_h * k_w * layout.length * x.itemsize)
    # The wide layout reads each (c, u, v) row as one run of the flattened image: x itself
    # when it is unpadded with whole, contiguous rows; else a padded copy.
    needs_copy = max(top, bottom, left, right) > 0 or (wide and (
        min(left, right) < 0 or x.strides[3] != x.itemsize or x.strides[2] != width * x.itemsize))
    # The border of this buffer is written once (zeros); each chunk fills its interior.
    padded = None
    if needs_copy:
        padded = _scratch(xp, "padded", (images, channels, pad_h, pad_w), x.dtype)
        padded.fill(0)
    for n0 in range(0, n_batch, images):
        n1 = min(n_batch, n0 + images)
        count = n1 - n0
        if padded is not None:
            source = padded[:count]
            source[:, :, dst_rows, dst_cols] = x[n0:n1, :, src_rows, src_cols]
        else:
            source = x[n0:n1, :, src_rows, src_cols]
        s_n, s_c, s_h, s_w = source.strides
        if wide:
            # [n, c, u, v, t] -> source.flat[n, c, d*u*pitch + d*v + t]
            windows = _as_strided(xp, source, (count, channels, k_h, k_w, layout.length),
                                  (s_n, s_c, dilation[0] * s_h, dilation[1] * s_w, s_w))
        else:
            # [n, c, u, v, i, j] -> source[n, c, s*i + d*u, s*j + d*v]
            windows = _as_strided(xp, source, (count, channels, k_h, k_w, out_h, out_w),
                                  (s_n, s_c, dilation[0] * s_h, dilation[1] * s_w,
                                   stride[0] * s_h, stride[1] * s_w))
        # (C, kH, kW, nb, length): the image axis moves inside each row
        cols = _scratch(xp, "cols", (channels, k_h, k_w, count, layout.length), x.dtype)
        xp.copyto(cols.reshape((channels, k_h, k_w, count) + windows.shape[4:])
                  .transpose(3, 0, 1, 2, *range(4, windows.ndim)), windows)
        yield n0, n1, cols.reshape(channels * k_h * k_w, count * layout.length)


def _unfolded(folded, count, layout):
    """``folded`` (M, nb*length) as an (nb, M, length) view (no copy)."""
    return folded.reshape(-1, count, layout.length).transpose(1, 0, 2)


def conv_forward(x, weight, bias, stride, padding, dilation, groups, out_size):
    """``y`` (N, Co, Ho, Wo): ``y[n, g] = w[g] @ cols[n, g] + b[g]``, one product per group
    and chunk of images (folded columns), or per image (:func:`per_image_product`)."""
    xp = xp_of(x, weight)
    n_batch = x.shape[0]
    out_channels, group_channels, k_h, k_w = weight.shape
    k = group_channels * k_h * k_w
    w = weight.reshape(groups, out_channels // groups, k)  # (G, Co/G, K)
    b = None if bias is None else bias.reshape(1, out_channels, 1, 1)
    y = xp.empty((n_batch, out_channels) + tuple(out_size), dtype=x.dtype)
    if per_image_product((k_h, k_w), stride, padding, out_size):
        # (G, Co/G, K) @ (N, G, K, H*W) -> (N, G, Co/G, H*W), straight into y
        pixels = out_size[0] * out_size[1]  # not -1: ambiguous for an empty batch
        xp.matmul(w, _image_columns(xp, x, groups),
                  out=y.reshape(n_batch, groups, out_channels // groups, pixels))
        if b is not None:
            y += b
        return y
    chunks = im2col_chunks(x, (k_h, k_w), stride, padding, dilation, out_size)
    layout = next(chunks)
    for n0, n1, cols in chunks:
        count = n1 - n0
        out = _scratch(xp, "folded output", (groups, out_channels // groups, count * layout.length),
                       x.dtype)
        # (G, Co/G, K) @ (G, K, nb*length) -> (G, Co/G, nb*length)
        xp.matmul(w, cols.reshape(groups, k, -1), out=out)
        # back to (nb, Co, Ho, Wo), dropping the scratch columns, adding the bias
        layout.to_grid(xp, _unfolded(out, count, layout), y[n0:n1], b)
    return y


def conv_grad_weight(x, grad_out, weight_shape, stride, padding, dilation, groups):
    """``dL/dw[g] = sum_n grad_out[n, g] @ cols[n, g]^T``, shape ``weight_shape``.

    Computed as its transpose, ``cols[g] @ grad_out[g]^T`` (K, Co/G) (measured
    faster than the other orientation), one product per group and chunk whose
    inner dimension runs over ``(n, i, j)``: the sum over images happens inside
    the product. ``grad_out`` is copied into the columns' folded layout (zero
    in the wide layout's scratch columns); it is ``K / (Co/G)`` times smaller
    than the columns. For :func:`per_image_product` convolutions, one product
    per image, summed.
    """
    xp = xp_of(x, grad_out)
    out_channels, group_channels, k_h, k_w = weight_shape
    k = group_channels * k_h * k_w
    out_size = tuple(grad_out.shape[2:])
    grad_out = xp.ascontiguousarray(grad_out)
    if per_image_product((k_h, k_w), stride, padding, out_size):
        pixels = out_size[0] * out_size[1]  # not -1: ambiguous for an empty batch
        g = grad_out.reshape(x.shape[0], groups, out_channels // groups, pixels)
        # (N, G, K, H*W) @ (N, G, H*W, Co/G) -> (N, G, K, Co/G), summed over N
        grad_w_t = xp.matmul(_image_columns(xp, x, groups), g.transpose(0, 1, 3, 2)).sum(axis=0)
        return xp.ascontiguousarray(grad_w_t.transpose(0, 2, 1)).reshape(weight_shape)
    grad_w_t = xp.zeros((groups, k, out_channels // groups), dtype=x.dtype)
    chunks = im2col_chunks(x, (k_h, k_w), stride, padding, dilation, out_size)
    layout = next(chunks)
    for n0, n1, cols in chunks:
        count = n1 - n0
        g = _scratch(xp, "folded grad_out", (out_channels, count * layout.length), x.dtype)
        if layout.wide:
            g.fill(0)  # the scratch columns must be zero
        layout.from_grid(xp, grad_out[n0:n1], _unfolded(g, count, layout))
        # (G, K, nb*length) @ (G, nb*length, Co/G) -> (G, K, Co/G)
        grad_w_t += xp.matmul(cols.reshape(groups, k, -1),
                              g.reshape(groups, out_channels // groups, -1).transpose(0, 2, 1))
    # (G, K, Co/G) -> (G, Co/G, K) = (Co, C/G, kH, kW)
    return xp.ascontiguousarray(grad_w_t.transpose(0, 2, 1)).reshape(weight_shape)


def conv_grad_input(grad_out, weight, input_size, stride, padding, dilation, groups,
                    forward=conv_forward):
    """``dL/dx`` (N, C, H, W), ``(H, W) = input_size``: the transposed convolution of grad_out.

    ``input_size`` may exceed what the forward convolution reads (as
    conv_transpose2d's output_padding asks); the rows it never reads get zero.
    ``forward`` computes the stride-1 case, a convolution (the grouped path passes its own).
    """
    if stride == (1, 1):
        return _grad_input_flipped(grad_out, weight, input_size, padding, dilation, groups,
                                   forward)
    return _grad_input_col2im(grad_out, weight, input_size, stride, padding, dilation, groups)


def _grad_input_flipped(grad_out, weight, input_size, padding, dilation, groups, forward):
    """Stride 1: ``dL/dx[n, c, h] = sum_{o, u} grad_out[n, o, h + p - d*u] w[o, c, u]``
    (per axis), a correlation of ``grad_out`` with the kernel flipped in ``(u, v)`` and
    transposed in ``(o, c)``, padded by ``d*(k-1) - p`` (negative: cropped) in front.
    """
    xp = xp_of(grad_out, weight)
    out_channels, group_channels, k_h, k_w = weight.shape
    # (Co, C/G, kH, kW) -> (G, Co/G, C/G, kH, kW) -> (G, C/G, Co/G, kH, kW), flipped in (u, v)
    # -> (C, Co/G, kH, kW)
    flipped = weight.reshape(groups, out_channels // groups, group_channels, k_h, k_w)
    flipped = flipped.transpose(0, 2, 1, 3, 4)[:, :, :, ::-1, ::-1]
    flipped = xp.ascontiguousarray(flipped).reshape(groups * group_channels,
                                                     out_channels // groups, k_h, k_w)
    pads = []
    for axis, k in enumerate((k_h, k_w)):
        reach = dilation[axis] * (k - 1)
        front = reach - padding[axis][0]
        # the back padding that makes the output exactly input_size[axis] long
        back = input_size[axis] + reach - grad_out.shape[2 + axis] - front
        pads.append((front, back))
    return forward(xp.ascontiguousarray(grad_out), flipped, None, (1, 1), tuple(pads), dilation,
                   groups, tuple(input_size))


def _grad_input_col2im(grad_out, weight, input_size, stride, padding, dilation, groups):
    """``dcols[n, g] = w[g]^T @ grad_out[n, g]``, then col2im: every kernel offset
    ``(u, v)`` adds its ``(Ho, Wo)`` slice onto the padded input rows ``d*u + s*i``.
    """
    xp = xp_of(grad_out, weight)
    n_batch, out_channels, out_h, out_w = grad_out.shape
    _, group_channels, k_h, k_w = weight.shape
    channels = groups * group_channels
    k = group_channels * k_h * k_w
    height, width = input_size
    (top, bottom), (left, right) = padding
    w_t = weight.reshape(groups, out_channels // groups, k).transpose(0, 2, 1)  # (G, K, Co/G)
    g = xp.ascontiguousarray(grad_out).reshape(n_batch, out_channels, out_h * out_w)
    grad_in = xp.empty((n_batch, channels, height, width), dtype=grad_out.dtype)
    images = _images_per_chunk(n_batch, channels * k_h * k_w * out_h * out_w * grad_out.itemsize)
    padded = _scratch(xp, "col2im",
                      (images, channels, height + top + bottom, width + left + right),
                      grad_out.dtype)
    for n0 in range(0, n_batch, images):
        count = min(n_batch, n0 + images) - n0
        # grad_out folded like the columns: (Co, nb*Ho*Wo), images side by side
        g_f = _scratch(xp, "folded grad_out", (out_channels, count, out_h * out_w), grad_out.dtype)
        g_f[...] = g[n0:n0 + count].transpose(1, 0, 2)
        dcols = _scratch(xp, "dcols", (groups, k, count * out_h * out_w), grad_out.dtype)
        # (G, K, Co/G) @ (G, Co/G, nb*Ho*Wo) -> (G, K, nb*Ho*Wo)
        xp.matmul(w_t, g_f.reshape(groups, out_channels // groups, -1), out=dcols)
        blocks = dcols.reshape(channels, k_h, k_w, count, out_h, out_w).transpose(3, 0, 1, 2, 4, 5)
        acc = padded[:count]
        _col2im_add(acc, blocks, stride, dilation)
        grad_in[n0:n0 + count] = acc[:, :, top:top + height, left:left + width]
    return grad_in


def _col2im_add(padded, blocks, stride, dilation):
    """Zero ``padded`` (nb, C, Hp, Wp), then add every column entry of ``blocks``
    (nb, C, kH, kW, Ho, Wo) back onto the padded pixel it was copied from:
    kernel offset ``(u, v)`` adds its ``(Ho, Wo)`` slice onto rows ``d*u + s*i``,
    columns ``d*v + s*j`` (one strided ``+=`` per offset, faster than ``np.add.at``)."""
    _, _, k_h, k_w, out_h, out_w = blocks.shape
    padded.fill(0)
    for u in range(k_h):
        rows = slice(dilation[0] * u, dilation[0] * u + stride[0] * (out_h - 1) + 1, stride[0])
        for v in range(k_w):
            cols = slice(dilation[1] * v, dilation[1] * v + stride[1] * (out_w - 1) + 1,
                         stride[1])
            padded[:, :, rows, cols] += blocks[:, :, u, v]


def col2im(cols, image_size, kernel_size, stride, padding, dilation, out_size):
    """The adjoint of im2col (F.fold): ``cols`` (N, C*kH*kW, Ho*Wo) -> (N, C, *image_size),
    each column entry added to the pixel ``(s*i + d*u - p_top, s*j + d*v - p_left)`` it
    stands for; entries that fall on the padding are dropped."""
    xp = xp_of(cols)
    n_batch = cols.shape[0]
    k_h, k_w = kernel_size
    channels = cols.shape[1] // (k_h * k_w)
    height, width = image_size
    (top, bottom), (left, right) = padding
    padded = xp.empty((n_batch, channels, height + top + bottom, width + left + right),
                      dtype=cols.dtype)
    _col2im_add(padded, cols.reshape((n_batch, channels, k_h, k_w) + tuple(out_size)), stride,
                dilation)
    return xp.ascontiguousarray(padded[:, :, top:top + height, left:left + width])


def im2col(x, kernel_size, stride, padding, dilation, out_size):
    """The column matrix of the whole batch (F.unfold): ``x`` (N, C, H, W) ->
    ``cols`` (N, C*kH*kW, Ho*Wo), ``cols[n, (c, u, v), (i, j)] = x_pad[n, c, s*i + d*u, s*j + d*v]``,
    built chunk by chunk by :func:`im2col_chunks` (the wide layout copied to the exact one)."""
    xp = xp_of(x)
    n_batch, channels = x.shape[:2]
    k_h, k_w = kernel_size
    cols = xp.empty((n_batch, channels * k_h * k_w) + tuple(out_size), dtype=x.dtype)
    chunks = im2col_chunks(xp.ascontiguousarray(x), kernel_size, stride, padding, dilation,
                           out_size)
    layout = next(chunks)
    for n0, n1, chunk in chunks:
        layout.to_grid(xp, _unfolded(chunk, n1 - n0, layout), cols[n0:n1])
    # the length spelled out: -1 cannot be inferred from an empty batch
    return cols.reshape(n_batch, channels * k_h * k_w, out_size[0] * out_size[1])
