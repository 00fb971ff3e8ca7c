"""Grouped convolution (``1 < G < C``): which implementation computes each of its sums.

The reference is :mod:`minicnn.ops._conv_im2col`: im2col, then one product
per image and group, ``(Co/G, K) @ (K, Ho*Wo)``. With ``Co/G = 16`` these are
``N * G`` small products, and the column matrix is ``kH*kW`` times the input.
For NumPy arrays the forward and the stride-1 input gradient (a forward
convolution with the flipped kernel) run instead the direct Numba kernel of
:mod:`minicnn.ops._conv_grouped_numba`, which reads the zero-padded input
planes in place: measured in CPU time on one thread (N=8, 28x28, 3x3), 1.6-2x
less than the reference for 64->64 g=4 and 128->128 g=8, 1.1-1.3x for 64->64
g=2. The weight gradient (``conv.py`` calls the reference directly), the input
gradient for strides > 1 and a padding larger than ``d*(k-1)`` (the flipped
convolution crops) stay on the reference.
"""
from ..backend import xp_of
from . import _conv_im2col


def _kernels(array, padding):
    """The Numba module when it serves: a NumPy array and a non-negative padding (its
    staging writes the padded frame; imported lazily: Numba loads slowly)."""
    if xp_of(array).__name__ != "numpy" or min(min(pads) for pads in padding) < 0:
        return None
    from . import _conv_grouped_numba

    return _conv_grouped_numba


def conv_forward(x, weight, bias, stride, padding, dilation, groups, out_size):
    kernels = _kernels(x, padding)
    impl = kernels.forward if kernels else _conv_im2col.conv_forward
    return impl(x, weight, bias, stride, padding, dilation, groups, out_size)


def conv_grad_input(grad_out, weight, input_size, stride, padding, dilation, groups):
    # stride 1: a forward convolution of grad_out, through conv_forward above
    return _conv_im2col.conv_grad_input(grad_out, weight, input_size, stride, padding, dilation,
                                        groups, forward=conv_forward)

