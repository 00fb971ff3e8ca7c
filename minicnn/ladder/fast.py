"""Rung 3: the fast CPU kernels minicnn itself runs (``F.conv2d`` on NumPy arrays).

Nothing is re-implemented here: these call minicnn's own fast paths, so the ladder
measures the code the engine runs.

* dense and grouped: :mod:`minicnn.ops._conv_im2col` (``conv_forward``,
  ``conv_grad_input``, ``conv_grad_weight``). The same im2col + product as rung 2, but
  the column matrix is built a few images at a time (``_CHUNK_BYTES``, 8 MB), so it
  stays in the L3 cache between being written and being multiplied, and peak memory
  grows by one chunk instead of ``k_h k_w`` copies of the batch; for stride 1 the
  columns use a "wide" layout in which every ``(c, u, v)`` row is one contiguous run of
  the padded image (3x faster copies); a 1x1 stride-1 kernel skips im2col; the stride-1
  input gradient is a forward convolution with the flipped kernel (no col2im).
* depthwise: :mod:`minicnn.ops._conv_depthwise_numba`, direct Numba kernels: one task
  per ``(n, c)`` plane, the plane staged once (padded, split into stride phases), then
  one branch-free vectorised multiply-add per tap over the plane's contiguous rows,
  all threads in parallel: no column matrix, and the plane stays in L1/L2 for all taps.

Both add the bias inside their loops, while the output chunk or plane is still in
cache, instead of in a separate pass over the output.
"""
from ..ops import _conv_depthwise_numba, _conv_im2col


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups, out_hw):
    # keywords: a change of minicnn's signatures fails loudly here, not silently
    return _conv_im2col.conv_forward(x, weight, bias=bias, stride=stride, padding=padding,
                                     dilation=dilation, groups=groups, out_size=out_hw)


def conv2d_grad_input(grad_out, weight, input_shape, stride, padding, dilation, groups):
    return _conv_im2col.conv_grad_input(grad_out, weight, tuple(input_shape[2:]), stride, padding,
                                        dilation, groups)


def conv2d_grad_weight(x, grad_out, weight_shape, stride, padding, dilation, groups):
    return _conv_im2col.conv_grad_weight(x, grad_out, weight_shape, stride, padding, dilation,
                                         groups)


def depthwise_forward(x, weight, bias, stride, padding, dilation, out_hw):
    return _conv_depthwise_numba.forward(x, weight, bias=bias, stride=stride, padding=padding,
                                         dilation=dilation, out_size=out_hw)


def depthwise_grad_input(grad_out, weight, input_shape, stride, padding, dilation):
    return _conv_depthwise_numba.grad_input(grad_out, weight, input_shape[1],
                                            tuple(input_shape[2:]), stride, padding, dilation)


def depthwise_grad_weight(x, grad_out, weight_shape, stride, padding, dilation):
    return _conv_depthwise_numba.grad_weight(x, grad_out, weight_shape, stride, padding, dilation)
