"""Convolution layers: ``Conv2d`` and ``ConvTranspose2d`` (torch.nn's arguments, names and init).

The math (im2col, the gradient identities, the output-size formula) lives
with the operators in :mod:`minicnn.ops.conv`; a layer owns the weight and
bias, checks its configuration when it is built and its input when called.

Default initialisation (PyTorch's ``reset_parameters``)::

    weight ~ kaiming_uniform_(a=sqrt(5))  =  U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    bias   ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))

with ``fan_in = weight.shape[1] * kh * kw``: ``in_channels/groups * kh * kw``
for Conv2d, ``out_channels/groups * kh * kw`` for ConvTranspose2d (its
weight is ``(in, out/groups, kh, kw)``, and PyTorch computes the fan from
that shape). kaiming_uniform_ with ``a = sqrt(5)`` has gain
``sqrt(2 / (1 + 5)) = 1/sqrt(3)`` and bound ``gain * sqrt(3 / fan_in)``.
"""
import math

from .._validation import as_pair
from . import functional as F
from . import init
from ._layer_helpers import (check_channels, check_input, empty_parameter, factory_dtype,
                             move_to_device, positive_int, require_bool)
from .module import Module

__all__ = ["Conv2d", "ConvTranspose2d"]

_PYTORCH_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share: checks, parameters, init, repr."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device, dtype):
        super().__init__()
        layer = type(self).__name__
        in_channels = positive_int(in_channels, "in_channels", layer)
        out_channels = positive_int(out_channels, "out_channels", layer)
        groups = positive_int(groups, "groups", layer)
        if in_channels % groups:
            raise ValueError(f"{layer}: in_channels ({in_channels}) must be divisible by "
                             f"groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{layer}: out_channels ({out_channels}) must be divisible by "
                             f"groups ({groups})")
        kernel_size = as_pair(kernel_size, "kernel_size", 1, layer)
        stride = as_pair(stride, "stride", 1, layer)
        dilation = as_pair(dilation, "dilation", 1, layer)
        if isinstance(padding, str):
            if transposed or padding not in ("same", "valid"):
                allowed = "an int or a pair of ints" if transposed else \
                    "an int, a pair of ints, 'same' or 'valid'"
                raise ValueError(f"{layer}: padding must be {allowed}, got {padding!r}")
            if padding == "same" and stride != (1, 1):
                raise ValueError(f"{layer}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
        else:
            padding = as_pair(padding, "padding", 0, layer)
        output_padding = as_pair(output_padding, "output_padding", 0, layer)
        if transposed and any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
            raise ValueError(f"{layer}: output_padding must be smaller than either stride or "
                             f"dilation, got output_padding={output_padding}, stride={stride}, "
                             f"dilation={dilation}")
        if padding_mode != "zeros":
            other = (f" ({padding_mode!r} is a PyTorch mode minicnn does not implement)"
                     if padding_mode in _PYTORCH_PADDING_MODES else "")
            raise ValueError(f"{layer}: padding_mode must be 'zeros', the one mode implemented, "
                             f"got {padding_mode!r}{other}")
        bias = require_bool(bias, "bias", layer)
        dtype = factory_dtype(dtype, layer)

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        if transposed:
            shape = (in_channels, out_channels // groups) + kernel_size
        else:
            shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = empty_parameter(shape, dtype)
        if bias:
            self.bias = empty_parameter((out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        move_to_device(self, device)

    def reset_parameters(self) -> None:
        """PyTorch's default: weight by kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in),
        1/sqrt(fan_in)); bias from the same interval."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _check_input(self, input) -> None:
        layer = f"{type(self).__name__}({self.extra_repr()})"  # which layer, in a big model
        check_input(input, layer, (3, 4), "(N, C, H, W) or unbatched (C, H, W)")
        check_channels(input, self.in_channels, layer)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) of an (N, C_in, H, W) input with ``weight``
    (C_out, C_in/groups, kh, kw), plus ``bias`` (C_out,).

    ``H_out = floor((H + 2 p - d (k - 1) - 1) / s) + 1`` (likewise W).
    ``padding`` may be an int, a pair, ``'valid'`` (0) or ``'same'`` (stride 1:
    total padding ``d (k - 1)`` per axis, the odd pixel at the end, as PyTorch).
    Only ``padding_mode='zeros'`` is implemented.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        self._check_input(input)
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution: the gradient of Conv2d with respect to its input, as a layer.

    ``weight`` is (C_in, C_out/groups, kh, kw), as in PyTorch.
    ``H_out = (H - 1) s - 2 p + d (k - 1) + output_padding + 1``.
    ``forward(input, output_size=None)``: ``output_size`` picks the
    output_padding that gives that size (it must lie in the ``s`` sizes
    reachable from the input).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        output_size = list(output_size)
        if len(output_size) == input.ndim:
            output_size = output_size[-2:]
        if len(output_size) != 2:
            raise ValueError(f"ConvTranspose2d: for a {input.ndim}-D input, output_size must have "
                             f"2 or {input.ndim} elements (got {len(output_size)})")
        spatial = input.shape[-2:]
        min_sizes = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                     zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size)]
        max_sizes = [m + s - 1 for m, s in zip(min_sizes, self.stride)]
        for size, low, high in zip(output_size, min_sizes, max_sizes):
            if not low <= size <= high:
                raise ValueError(f"ConvTranspose2d: requested an output size of {output_size}, but "
                                 f"valid sizes range from {min_sizes} to {max_sizes} (for an input "
                                 f"of {spatial})")
        return tuple(size - low for size, low in zip(output_size, min_sizes))

    def forward(self, input, output_size=None):
        self._check_input(input)
        output_padding = self._output_padding(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)
