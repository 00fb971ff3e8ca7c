"""Grouped convolution (``1 < G < C``): which implementation computes each of its sums.

The reference is :mod:`minicnn.ops._conv_im2col`: im2col, then matrix
products per group, ``(Co/G, K) @ (K, columns)``; for small groups these are
thin products, and the column matrix is ``kH*kW`` times the input. For NumPy
arrays and groups of at most ``_KERNEL_MAX_GROUP_CHANNELS`` input
channels, the forward and the stride-1 input gradient (a forward convolution
with the flipped kernel) run instead the direct Numba kernel of
:mod:`minicnn.ops._conv_grouped_numba`, which reads the zero-padded input
planes in place. The weight gradient (``conv.py`` calls the reference
directly), the input gradient for strides > 1 and a padding larger than
``d*(k-1)`` (the flipped convolution crops) stay on the reference.
"""
from ..backend import xp_of
from . import _conv_im2col

# The kernel does C/G*kH*kW passes over each output plane; the products get
# faster as C/G grows. Measured (N=8, float32, 2 threads, against products
# folded over the images): C/G = 4, 8, 16 with 3x3 kernels 1.4-4x faster,
# 1x1 kernels at C/G = 16 on par; C/G = 32 (3x3) 0.7-1.1x and C/G = 60 (1x1)
# 0.5x, so those keep the products.
_KERNEL_MAX_GROUP_CHANNELS = 16


def _kernels(array, weight, padding):
    """The Numba module when it serves: a NumPy array, at most
    ``_KERNEL_MAX_GROUP_CHANNELS`` input channels per group and a non-negative padding
    (its staging writes the padded frame). Imported lazily: Numba loads slowly."""
    if (xp_of(array).__name__ != "numpy" or weight.shape[1] > _KERNEL_MAX_GROUP_CHANNELS
            or min(min(pads) for pads in padding) < 0):
        return None
    from . import _conv_grouped_numba

    return _conv_grouped_numba


def conv_forward(x, weight, bias, stride, padding, dilation, groups, out_size):
    kernels = _kernels(x, weight, padding)
    impl = kernels.forward if kernels else _conv_im2col.conv_forward
    return impl(x, weight, bias, stride, padding, dilation, groups, out_size)


def conv_grad_input(grad_out, weight, input_size, stride, padding, dilation, groups):
    # stride 1: a forward convolution of grad_out, through conv_forward above
    return _conv_im2col.conv_grad_input(grad_out, weight, input_size, stride, padding, dilation,
                                        groups, forward=conv_forward)

