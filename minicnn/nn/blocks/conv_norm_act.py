"""Conv -> norm -> activation, and channel rounding: the pieces the mobile families share.

``Conv2dNormActivation`` is torchvision's ``torchvision.ops.Conv2dNormActivation``:
a ``Sequential`` of ``Conv2d`` (index 0), a norm layer (index 1) and an
activation (index 2, when given), so a MobileNet stem's keys read
``features.0.0.weight`` (conv), ``features.0.1.running_mean`` (BN), exactly as
in torchvision. Padding defaults to ``(k - 1) // 2 * dilation``, which keeps the
size at stride 1 and gives ``H_out = floor((H - 1) / s) + 1`` for odd ``k``;
the conv has a bias only when there is no norm layer (a bias before BN is
cancelled by the mean subtraction, so it would be a wasted parameter).

``make_divisible`` is the channel rounding of the MobileNet papers' reference
code (torchvision's ``_make_divisible``): round ``v`` to the nearest multiple of
``divisor`` (at least ``min_value``), and go one multiple up if rounding down
lost more than 10% of ``v``. Every width in MobileNetV2/V3 and EfficientNet
passes through it, which is what makes ``width_mult`` give hardware-friendly
multiples of 8.
"""
from ... import nn
from ..._validation import as_int

__all__ = ["Conv2dNormActivation", "ConvNormActivation", "make_divisible"]


def make_divisible(v, divisor=8, min_value=None):
    """``v`` rounded to a multiple of ``divisor`` (>= ``min_value``, default ``divisor``),
    never more than 10% below ``v``: ``max(m, int(v + d/2) // d * d)``, plus ``d`` if that is
    ``< 0.9 v``. Examples: ``make_divisible(32 * 0.5) = 16``, ``make_divisible(18) = 24``
    (16 would lose 11%)."""
    divisor = as_int(divisor, "divisor", 1, "make_divisible")
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class Conv2dNormActivation(nn.Sequential):
    """``Sequential(Conv2d, norm_layer, activation_layer)``, torchvision's layout and defaults.

    Arguments are torchvision's: ``in_channels, out_channels, kernel_size=3, stride=1,
    padding=None`` (then ``(kernel_size - 1) // 2 * dilation``), ``groups=1``,
    ``norm_layer=BatchNorm2d`` (``None`` for no norm), ``activation_layer=ReLU`` (``None``
    for a linear output), ``dilation=1``, ``inplace=True`` (accepted for compatibility; minicnn
    never computes in place), ``bias=None`` (then ``norm_layer is None``).

    Parameters: ``out * in/groups * k * k`` conv weights (+ ``out`` bias without norm),
    ``2 * out`` BN affine parameters (plus the running-stat buffers).
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None,
                 groups=1, norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1,
                 inplace=True, bias=None):
        op = "Conv2dNormActivation"
        in_channels = as_int(in_channels, "in_channels", 1, op)
        out_channels = as_int(out_channels, "out_channels", 1, op)
        kernel_size = as_int(kernel_size, "kernel_size", 1, op)
        dilation = as_int(dilation, "dilation", 1, op)
        groups = as_int(groups, "groups", 1, op)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{op}: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                            dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer())
        super().__init__(*layers)
        self.out_channels = out_channels


# torchvision's older (deprecated) name for the same module.
ConvNormActivation = Conv2dNormActivation
