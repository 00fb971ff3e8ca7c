"""The article's depthwise separable convolutions, as its code computes them.

Article section "Depthwise Separable Convolution"; the paper-correct block is
:class:`minicnn.nn.blocks.SeparableConv2d` (``PaperSeparableConv2d``, MobileNet:
no biases, BN and ReLU belong to the surrounding block).
"""
from .. import nn
from ..nn.blocks import SeparableConv2d as PaperSeparableConv2d
from ._tf import TFConv2d, batch_norm, leaky_relu

__all__ = ["ArticleSeparableConv2d", "ArticleDepthwiseConv", "ArticleDepthwiseConvBN",
           "PaperSeparableConv2d"]


class ArticleSeparableConv2d(nn.Module):
    """``tf.layers.separable_conv2d(x, filters, kernel_size, padding)``: a depthwise
    ``k x k`` conv (no bias) then a pointwise 1x1 conv with bias.

    Parameters ``C k^2 + C * filters + filters``: the article's count for a 3-channel input,
    64 filters, 3x3, is ``3*3*3 + (1*1*3 + 1)*64 = 283`` against ``(3*3*3 + 1)*64 = 1792``
    for ``tf.layers.conv2d``.
    """

    def __init__(self, in_channels, filters, kernel_size, stride=1, padding="same"):
        super().__init__()
        self.depthwise = TFConv2d(in_channels, in_channels, kernel_size, stride, padding,
                                  groups=in_channels, bias=False)
        self.pointwise = TFConv2d(in_channels, filters, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class ArticleDepthwiseConv(nn.Module):
    """The article's own ``depthwise_conv(x, kernel=3, stride=1, padding='SAME',
    activation_fn=None, normalizer_fn=None)``: ``tf.nn.depthwise_conv2d`` (no bias), then
    BN if a normalizer is given and leaky ReLU (0.2) if an activation is given (the versions
    in the ShuffleNet, MobileNetV2, MBConv and MobileNetV3 sections hard-code these two;
    every call in the article passes neither, so it is a plain depthwise conv)."""

    def __init__(self, channels, kernel=3, stride=1, padding="same", normalizer=False,
                 activation=False):
        super().__init__()
        self.conv = TFConv2d(channels, channels, kernel, stride, padding, groups=channels,
                             bias=False)
        self.norm = batch_norm(channels) if normalizer else None
        self.act = leaky_relu() if activation else None

    def forward(self, x):
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        return self.act(x) if self.act is not None else x


class ArticleDepthwiseConvBN(nn.Module):
    """The article's ``depthwise_conv_bn(x, kernel_size, stride=1, dilation=1)``:
    ``slim.separable_conv2d(x, None, kernel_size, depth_multiplier=1, stride, rate)`` with
    its BN commented out.

    With ``num_outputs=None`` slim skips the pointwise conv, and with its defaults
    (``activation_fn=tf.nn.relu``, ``biases_initializer=zeros``, ``normalizer_fn=None``,
    ``padding='SAME'``) it adds a bias and a ReLU: depthwise -> bias -> ReLU. So the
    article's "3*3*3=27" parameter comment is short of the 3 biases (30), and the
    ShuffleNetV2 block that uses it has a ReLU after each depthwise conv where the paper
    has BN and no activation.
    """

    def __init__(self, channels, kernel_size=3, stride=1, dilation=1):
        super().__init__()
        self.conv = TFConv2d(channels, channels, kernel_size, stride, "same", dilation=dilation,
                             groups=channels, bias=True)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x))
