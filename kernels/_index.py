"""Index arithmetic shared by the kernels: ``@cuda.jit(device=True, inline="always")`` functions.

Integer arithmetic only (no float literal), so they add no float64
instruction to a float32 kernel. ``inline="always"``: Numba inlines them
into the kernel before compiling it, so the kernel optimises them with the
rest of its index arithmetic (the PTX of the unravelling is the same as with
the arithmetic written out in the kernel). They work under the simulator too
(as plain Python calls; the simulator ignores ``inline``).

* :func:`ncl_of`, :func:`nchw_of`: a thread's flat index in a C-order
  (N, C, L) or (N, C, H, W) array -> its coordinates (the last one varies
  fastest, so consecutive threads take consecutive elements: coalesced).
* :func:`reading_window`: the "gather" index solve of col2im, the depthwise
  input gradient and the max-pool backward. Along one axis, output position
  ``i`` reads, at tap ``u``, input position ``s*i + d*u - p`` (stride ``s``,
  dilation ``d``, padding ``p``); a thread that owns input position ``h``
  finds, for each tap ``u``, the one ``i`` that reads it, if any.

Compiling a kernel that calls them needs a compute capability (see
:mod:`_reduce`).
"""
from numba import cuda


@cuda.jit(device=True, inline="always")
def ncl_of(index, channels, length):
    """``(n, c, l)`` of the flat ``index`` into a C-order (N, ``channels``, ``length``) array."""
    l = index % length  # noqa: E741
    c = (index // length) % channels
    n = index // (length * channels)
    return n, c, l


@cuda.jit(device=True, inline="always")
def nchw_of(index, channels, height, width):
    """``(n, c, h, w)`` of the flat ``index`` into a C-order (N, channels, height, width) array."""
    w = index % width
    h = (index // width) % height
    c = (index // (width * height)) % channels
    n = index // (width * height * channels)
    return n, c, h, w


@cuda.jit(device=True, inline="always")
def reading_window(position, pad, dilation, tap, stride, out_size):
    """The output index ``i < out_size`` whose window reads ``position`` at ``tap``, else -1.

    Solves ``position = stride*i + dilation*tap - pad`` for an integer ``i``:
    ``position + pad - dilation*tap`` must be a non-negative multiple of
    ``stride`` (>= 1), and ``i`` below ``out_size``. At most one ``i`` exists.
    """
    offset = position + pad - dilation * tap  # = stride * i when output i reads position
    if offset < 0 or offset % stride != 0:
        return -1
    i = offset // stride
    if i >= out_size:
        return -1
    return i
