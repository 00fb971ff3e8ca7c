"""``minicnn.nn.blocks``: the building blocks of the seed article, as the papers define them.

Each block's docstring cites its paper and lists where the article's code departs from it.

==================  ==========================================================
module              blocks
==================  ==========================================================
``resnet``          BasicBlock, Bottleneck (ResNet v1), PreActBasicBlock,
                    PreActBottleneck (ResNet v2, pre-activation)
``inception``       Inception (GoogLeNet), InceptionResNetA
``densenet``        DenseLayer, DenseBlock, Transition (DenseNet-BC), SeparableConv2d
``shufflenet``      ShuffleV2Block
``mobilenet``       InvertedResidual (MobileNetV2), MobileNetV3Bottleneck
``efficientnet``    MBConv (with SE and stochastic depth), StochasticDepth
``conv_norm_act``   Conv2dNormActivation (conv -> BN -> activation)
==================  ==========================================================
"""
from .conv_norm_act import Conv2dNormActivation, ConvNormActivation, make_divisible
from .densenet import DenseBlock, DenseLayer, SeparableConv2d, Transition
from .efficientnet import MBConv, StochasticDepth, stochastic_depth
from .inception import BasicConv2d, Inception, InceptionResNetA
from .mobilenet import InvertedResidual, InvertedResidualConfig, MobileNetV3Bottleneck
from .resnet import BasicBlock, Bottleneck, PreActBasicBlock, PreActBottleneck, conv1x1, conv3x3
from .shufflenet import ShuffleV2Block

__all__ = ["Conv2dNormActivation", "ConvNormActivation", "make_divisible", "DenseBlock",
           "DenseLayer", "SeparableConv2d", "Transition", "MBConv", "StochasticDepth",
           "stochastic_depth", "BasicConv2d", "Inception", "InceptionResNetA", "InvertedResidual",
           "InvertedResidualConfig", "MobileNetV3Bottleneck", "BasicBlock", "Bottleneck",
           "PreActBasicBlock", "PreActBottleneck", "conv1x1", "conv3x3", "ShuffleV2Block"]
