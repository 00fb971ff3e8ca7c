"""Tests of minicnn.nn: modules, layers, initialisation.

``TorchSqueezeExcitation`` is torchvision.ops.SqueezeExcitation written with
torch.nn (torchvision is not a test dependency), the oracle for minicnn's.
"""
import torch


class SqueezeExcitation(torch.nn.Module):
    """torchvision.ops.SqueezeExcitation (same names and order; repr prints this class name)."""

    def __init__(self, input_channels, squeeze_channels, activation=torch.nn.ReLU,
                 scale_activation=torch.nn.Sigmoid):
        super().__init__()
        self.avgpool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc1 = torch.nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = torch.nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, input):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(input)))))
        return scale * input


TorchSqueezeExcitation = SqueezeExcitation
