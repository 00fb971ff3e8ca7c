"""Squeeze-and-Excitation (Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018).

torchvision's ``torchvision.ops.SqueezeExcitation``, with its names, so the
blocks of MobileNetV3 and EfficientNet load torchvision weights as they are::

    scale = scale_activation(fc2(activation(fc1(avgpool(x)))))   (N, C, 1, 1)
    y     = x * scale                                            (N, C, H, W)

``avgpool`` is AdaptiveAvgPool2d(1) (the squeeze); ``fc1`` (C -> squeeze
channels) and ``fc2`` (back to C) are 1x1 Conv2d with bias, acting as fully
connected layers on the pooled vector (the excitation); ``activation``
defaults to ReLU and ``scale_activation`` to Sigmoid (MobileNetV3 uses
Hardsigmoid). Parameters: ``2 C S + S + C`` for C channels, S squeeze channels.
"""
from ..ops.channel_scale import channel_scale
from ._layer_helpers import positive_int
from .activation import ReLU, Sigmoid
from .conv import Conv2d
from .module import Module
from .pooling import AdaptiveAvgPool2d

__all__ = ["SqueezeExcitation"]


class SqueezeExcitation(Module):
    """``x * scale_activation(fc2(activation(fc1(avgpool(x)))))`` (see the module docstring).

    ``activation`` and ``scale_activation`` are callables returning a Module
    (a class such as ``nn.ReLU``), as in torchvision.
    """

    def __init__(self, input_channels, squeeze_channels, activation=ReLU, scale_activation=Sigmoid):
        super().__init__()
        layer = type(self).__name__
        input_channels = positive_int(input_channels, "input_channels", layer)
        squeeze_channels = positive_int(squeeze_channels, "squeeze_channels", layer)
        self.avgpool = AdaptiveAvgPool2d(1)
        self.fc1 = Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input):
        scale = self.avgpool(input)                  # (N, C, 1, 1)
        scale = self.activation(self.fc1(scale))     # (N, S, 1, 1)
        return self.scale_activation(self.fc2(scale))  # (N, C, 1, 1)

    def forward(self, input):
        return channel_scale(input, self._scale(input))  # x[n, c] * s[n, c], over (H, W)
