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
    return max(1, min(n_batch, _CHUNK_BYTES // max(bytes_per_image, 1)))


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

    def to_grid(self, xp, wide, out, bias=None):
        """Copy the valid columns of ``wide`` (nb, M, length) into ``out`` (nb, M, Ho, Wo),
        adding ``bias`` (1, M, 1, 1) on the way when given."""
        grid = _as_strided(xp, wide, out.shape, wide.strides[:2] + (
            self.pitch * wide.itemsize, wide.itemsize))
        if bias is None:
            out[...] = grid
        else:
            xp.add(grid, bias, out=out)

    def from_grid(self, xp, grid, buffer):
        """``grid`` (nb, M, Ho, Wo) in the wide layout of ``buffer`` (nb, M, Ho*pitch), scratch
        columns zero; returns the (nb, M, length) matrix."""
        rows = buffer.reshape(buffer.shape[:2] + (self.out_h, self.pitch))
        rows[:, :, :, :self.out_w] = grid  # scratch columns stay as allocated (zero)
        return buffer[:, :, :self.length]


def im2col_chunks(x, kernel_size, stride, padding, dilation, out_size):
    """First yield the :class:`Columns` layout, then ``(n0, n1, cols)`` per chunk of images:
    ``cols`` ``(n1-n0, C*kH*kW, layout.length)``, the column matrices of images ``n0:n1``.

    Padding may be negative (a crop): the stride-1 input gradient convolves
    ``grad_out`` with a padding of ``d*(k-1) - p``. The yielded buffer is
    reused for the next chunk, so each chunk must be consumed before the next.
    """
    xp = xp_of(x)
    n_batch, channels, height, width = x.shape
    k_h, k_w = kernel_size
    (top, bottom), (left, right) = padding
    out_h, out_w = out_size
    if (k_h, k_w) == (1, 1) and stride == (1, 1) and (out_h, out_w) == (height, width) \
            and top == bottom == left == right == 0:
        # A 1x1 stride-1 kernel reads each pixel once: x itself is the column matrix.
        yield Columns(out_size, out_w)
        yield 0, n_batch, x.reshape(n_batch, channels, height * width)
        return
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
    # The wide layout needs the padded image contiguous (a copy even without padding).
    needs_copy = wide or max(top, bottom, left, right) > 0
    # The border of this buffer is written once (zeros); each chunk fills its interior.
    padded = None
    if needs_copy:
        padded = _scratch(xp, "padded", (images, channels, pad_h, pad_w), x.dtype)
        padded.fill(0)
    cols = _scratch(xp, "cols", (images, channels, k_h, k_w, layout.length), x.dtype)
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
        block = cols[:count].reshape(windows.shape)
        xp.copyto(block, windows)  # the one copy (faster than reshape's copy)
        yield n0, n1, cols[:count].reshape(count, channels * k_h * k_w, layout.length)


def conv_forward(x, weight, bias, stride, padding, dilation, groups, out_size):
    """``y`` (N, Co, Ho, Wo): ``y[n, g] = w[g] @ cols[n, g] + b[g]`` chunk by chunk."""
    xp = xp_of(x, weight)
    n_batch = x.shape[0]
    out_channels, group_channels, k_h, k_w = weight.shape
    k = group_channels * k_h * k_w
    w = weight.reshape(groups, out_channels // groups, k)  # (G, Co/G, K)
    b = None if bias is None else bias.reshape(1, out_channels, 1, 1)
    y = xp.empty((n_batch, out_channels) + tuple(out_size), dtype=x.dtype)
    chunks = im2col_chunks(x, (k_h, k_w), stride, padding, dilation, out_size)
    layout = next(chunks)
    wide = None
    for n0, n1, cols in chunks:
        count = n1 - n0
        cols = cols.reshape(count, groups, k, layout.length)
        if not layout.wide:
            # (G, Co/G, K) @ (nb, G, K, Ho*Wo) -> (nb, G, Co/G, Ho*Wo), straight into y
            xp.matmul(w, cols, out=y[n0:n1].reshape(count, groups, out_channels // groups, -1))
            if b is not None:
                y[n0:n1] += b  # while the chunk is in cache
            continue
        if wide is None:
            wide = _scratch(xp, "wide output",
                            (count, groups, out_channels // groups, layout.length), x.dtype)
        # (G, Co/G, K) @ (nb, G, K, length) -> (nb, G, Co/G, length), then drop scratch columns
        xp.matmul(w, cols, out=wide[:count])
        layout.to_grid(xp, wide[:count].reshape(count, out_channels, layout.length), y[n0:n1],
                       b)
    return y


def fold_images(length, group_out_channels):
    """Sum the weight gradient over images inside one product (True) or per image (False)?

    Per image, the product writes ``K x Co/G`` values per image before the sum;
    folding first copies the ``K x length`` columns per image side by side. The
    copy is the smaller of the two when ``length < Co/G`` (deep layers on small
    images: measured 3x faster on ResNet's 4x4 layer4).
    """
    return length < group_out_channels


def conv_grad_weight(x, grad_out, weight_shape, stride, padding, dilation, groups):
    """``dL/dw[g] = sum_n grad_out[n, g] @ cols[n, g]^T``, shape ``weight_shape``.

    Computed as its transpose, ``cols[n, g] @ grad_out[n, g]^T`` (K, Co/G)
    (measured faster than the other orientation): one batched product per
    chunk summed over its images, or, for small images (:func:`fold_images`),
    one product over ``(n, i, j)`` after copying the columns side by side.
    """
    xp = xp_of(x, grad_out)
    out_channels, group_channels, k_h, k_w = weight_shape
    k = group_channels * k_h * k_w
    out_size = tuple(grad_out.shape[2:])
    grad_out = xp.ascontiguousarray(grad_out)
    grad_w_t = xp.zeros((groups, k, out_channels // groups), dtype=x.dtype)
    chunks = im2col_chunks(x, (k_h, k_w), stride, padding, dilation, out_size)
    layout = next(chunks)
    wide = None
    for n0, n1, cols in chunks:
        count = n1 - n0
        if layout.wide:  # grad_out in the same layout, zero in the scratch columns
            if wide is None:
                wide = _scratch(xp, "wide grad_out",
                                (count, out_channels, out_size[0] * layout.pitch), x.dtype)
                wide.fill(0)  # the scratch columns must be zero
            g = layout.from_grid(xp, grad_out[n0:n1], wide[:count])
        else:
            g = grad_out[n0:n1].reshape(count, out_channels, -1)
        g = g.reshape(count, groups, out_channels // groups, layout.length)
        cols = cols.reshape(count, groups, k, layout.length)
        if fold_images(layout.length, out_channels // groups):
            # Small images: copy the images side by side, (G, K, nb*length) and
            # (G, Co/G, nb*length), and sum over (n, pixel) inside ONE product, instead of
            # writing an (nb, G, K, Co/G) stack that is larger than the columns themselves.
            cols_f = cols.transpose(1, 2, 0, 3).reshape(groups, k, count * layout.length)
            g_f = g.transpose(1, 2, 0, 3).reshape(groups, out_channels // groups, -1)
            # (G, K, nb*length) @ (G, nb*length, Co/G) -> (G, K, Co/G)
            grad_w_t += xp.matmul(cols_f, g_f.transpose(0, 2, 1))
        else:
            # (nb, G, K, length) @ (nb, G, length, Co/G) -> (nb, G, K, Co/G), summed over nb
            grad_w_t += xp.matmul(cols, g.transpose(0, 1, 3, 2)).sum(axis=0)
    # (G, K, Co/G) -> (G, Co/G, K) = (Co, C/G, kH, kW)
    return xp.ascontiguousarray(grad_w_t.transpose(0, 2, 1)).reshape(weight_shape)


def conv_grad_input(grad_out, weight, input_size, stride, padding, dilation, groups):
    """``dL/dx`` (N, C, H, W), ``(H, W) = input_size``: the transposed convolution of grad_out.

    ``input_size`` may exceed what the forward convolution reads (as
    conv_transpose2d's output_padding asks); the rows it never reads get zero.
    """
    if stride == (1, 1):
        return _grad_input_flipped(grad_out, weight, input_size, padding, dilation, groups)
    return _grad_input_col2im(grad_out, weight, input_size, stride, padding, dilation, groups)


def _grad_input_flipped(grad_out, weight, input_size, padding, dilation, groups):
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
    return conv_forward(xp.ascontiguousarray(grad_out), flipped, None, (1, 1), tuple(pads),
                        dilation, groups, tuple(input_size))


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
    g = xp.ascontiguousarray(grad_out).reshape(n_batch, groups, out_channels // groups,
                                                out_h * out_w)
    grad_in = xp.empty((n_batch, channels, height, width), dtype=grad_out.dtype)
    images = _images_per_chunk(n_batch, channels * k_h * k_w * out_h * out_w * grad_out.itemsize)
    dcols = _scratch(xp, "dcols", (images, groups, k, out_h * out_w), grad_out.dtype)
    padded = _scratch(xp, "col2im",
                      (images, channels, height + top + bottom, width + left + right),
                      grad_out.dtype)
    for n0 in range(0, n_batch, images):
        count = min(n_batch, n0 + images) - n0
        # (G, K, Co/G) @ (nb, G, Co/G, Ho*Wo) -> (nb, G, K, Ho*Wo)
        xp.matmul(w_t, g[n0:n0 + count], out=dcols[:count])
        d6 = dcols[:count].reshape(count, channels, k_h, k_w, out_h, out_w)
        acc = padded[:count]
        _col2im_add(acc, d6, stride, dilation)
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
        layout.to_grid(xp, chunk, cols[n0:n1])
    # the length spelled out: -1 cannot be inferred from an empty batch
    return cols.reshape(n_batch, channels * k_h * k_w, out_size[0] * out_size[1])
