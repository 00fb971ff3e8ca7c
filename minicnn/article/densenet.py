"""The article's DenseNet stage, as its code computes it.

Article section "DenseNet"; the paper-correct block is
:class:`minicnn.nn.blocks.DenseBlock` (``PaperDenseBlock``, DenseNet-BC; with
``separable=True`` it is the paper's layer with the article's own change, a separable
3x3 conv).
"""
from .. import nn
from ..nn import functional as F
from ..nn.blocks import DenseBlock as PaperDenseBlock
from ._tf import TFConv2d, batch_norm, leaky_relu
from .separable import ArticleSeparableConv2d

__all__ = ["ArticleDenseStage", "PaperDenseBlock"]


class _ArticleDenseLayer(nn.Module):
    def __init__(self, in_channels, depth):
        super().__init__()
        self.conv = TFConv2d(in_channels, depth, 1)      # activation=tf.nn.leaky_relu
        self.act1 = leaky_relu()
        self.bn1 = batch_norm(depth)
        self.separable = ArticleSeparableConv2d(depth, depth, 3, padding="same")
        self.act2 = leaky_relu()
        self.bn2 = batch_norm(depth)

    def forward(self, x):
        new = self.bn1(self.act1(self.conv(x)))
        return self.bn2(self.act2(self.separable(new)))


class ArticleDenseStage(nn.Module):
    """``Dense_Stage(inputs_, depth=64, repeat=8)`` of the article::

        for each of `repeat` layers:
            X = BN(leaky(conv1x1(inputs, depth)))          # conv -> activation -> BN
            X = BN(leaky(separable3x3(X, depth)))
            inputs = concat([inputs, X])

    Output ``in_channels + repeat * depth`` channels. Where it departs from DenseNet-BC
    (erratum 5): the order is conv -> activation -> BN instead of BN -> ReLU -> conv (so
    the concatenated features are normalised outputs, and no layer normalises its own
    input), and the 1x1 conv is ``depth`` wide, where DenseNet-BC's bottleneck is ``4k``
    wide for a growth rate ``k``; leaky ReLU (0.2), convs with biases. The separable 3x3
    is the article's declared change. The paper's stage with the same growth is
    ``PaperDenseBlock(repeat, in_channels, bn_size=4, growth_rate=depth)``.
    """

    def __init__(self, in_channels, depth=64, repeat=8):
        super().__init__()
        self.layers = nn.ModuleList([_ArticleDenseLayer(in_channels + i * depth, depth)
                                     for i in range(repeat)])

    def forward(self, x):
        for layer in self.layers:
            x = F.cat([x, layer(x)], 1)
        return x
