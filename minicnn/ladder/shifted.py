"""Rung 2b (depthwise only): one vectorised multiply-add per kernel tap, no column matrix.

minicnn's own readable depthwise formulation, :mod:`minicnn.ops._conv_depthwise`
(``forward_reference``, ``grad_input_reference``, ``grad_weight_reference``; also the
CuPy path). Output channel ``o = cM + m`` only reads input channel ``c``, so there is
no sum over channels to hand to BLAS: im2col would multiply ``(1, k_h k_w)`` by
``(k_h k_w, H_out W_out)`` per channel, a matrix product with one row. Instead each tap
``(u, v)`` adds ``w[o, u, v]`` times the strided slice of the padded input it reads::

    y[n, c, m] += w[c, m, u, v] * x_pad[n, c, d_h u : ... : s_h, d_w v : ... : s_w]

``k_h k_w`` whole-array operations and no ``k_h k_w``-fold copy of the input; each still
streams the whole output through memory once per tap.
"""
from ..ops import _conv_depthwise


def depthwise_forward(x, weight, bias, stride, padding, dilation, out_hw):
    return _conv_depthwise.forward_reference(x, weight, bias=bias, stride=stride, padding=padding,
                                             dilation=dilation, out_size=out_hw)


def depthwise_grad_input(grad_out, weight, input_shape, stride, padding, dilation):
    return _conv_depthwise.grad_input_reference(grad_out, weight, input_shape[1], input_shape[2:],
                                                stride, padding, dilation)


def depthwise_grad_weight(x, grad_out, weight_shape, stride, padding, dilation):
    return _conv_depthwise.grad_weight_reference(x, grad_out, weight_shape, stride, padding,
                                                 dilation)
