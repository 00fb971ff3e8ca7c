"""Pooling layers over (N, C, H, W): MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d.

The window arithmetic and gradients are in :mod:`minicnn.ops.pooling`. As in
PyTorch the layers keep their arguments as given (an int stays an int), and
``stride=None`` means ``stride = kernel_size``.
"""
from .._validation import as_pair
from . import functional as F
from ._layer_helpers import require_bool
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d"]


def _check_window(layer, kernel_size, stride, padding, dilation=1):
    """PyTorch checks these when called; minicnn rejects a bad layer when it is built."""
    kernel = as_pair(kernel_size, "kernel_size", 1, layer)
    if stride is not None:
        as_pair(stride, "stride", 1, layer)
    pad = as_pair(padding, "padding", 0, layer)
    as_pair(dilation, "dilation", 1, layer)
    if any(p > k // 2 for p, k in zip(pad, kernel)):
        raise ValueError(f"{layer}: padding must be at most half the kernel size "
                         f"(padding <= kernel_size // 2), got padding={padding} with "
                         f"kernel_size={kernel_size}")


class MaxPool2d(Module):
    """The maximum over each ``kernel_size`` window (padding counts as -inf)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        _check_window("MaxPool2d", kernel_size, stride, padding, dilation)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = require_bool(return_indices, "return_indices", "MaxPool2d")
        self.ceil_mode = require_bool(ceil_mode, "ceil_mode", "MaxPool2d")

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool2d(Module):
    """The mean over each ``kernel_size`` window (see ``count_include_pad``, ``divisor_override``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        _check_window("AvgPool2d", kernel_size, stride, padding)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = require_bool(ceil_mode, "ceil_mode", "AvgPool2d")
        self.count_include_pad = require_bool(count_include_pad, "count_include_pad", "AvgPool2d")
        if divisor_override is not None and (isinstance(divisor_override, bool) or
                                             not isinstance(divisor_override, int) or
                                             divisor_override == 0):
            raise ValueError(f"AvgPool2d: divisor_override must be a non-zero int or None, "
                             f"got {divisor_override!r}")
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


def _check_output_size(layer, output_size):
    pair = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(pair) != 2 or any(s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 0)
                             for s in pair):
        raise ValueError(f"{layer}: output_size must be an int >= 0 or a pair of such ints "
                         f"(None keeps the input size), got {output_size!r}")


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` whatever the input size."""

    def __init__(self, output_size):
        super().__init__()
        _check_output_size("AdaptiveAvgPool2d", output_size)
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed ``output_size`` whatever the input size."""

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        _check_output_size("AdaptiveMaxPool2d", output_size)
        self.output_size = output_size
        self.return_indices = require_bool(return_indices, "return_indices", "AdaptiveMaxPool2d")

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)
