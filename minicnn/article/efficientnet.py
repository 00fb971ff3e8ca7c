"""The article's MBConv block (EfficientNet), as its code computes it.

Article section "SENet" (``MBConvBlock``, built there from the MobileNetV2 block and
SE); the paper-correct block is :class:`minicnn.nn.blocks.MBConv` (``PaperMBConv``).
"""
from .. import nn
from ..nn.blocks import MBConv as PaperMBConv
from ._tf import TFConv2d, batch_norm, conv_bn_act
from .se import ArticleSEBlock
from .separable import ArticleDepthwiseConv

__all__ = ["ArticleMBConv", "PaperMBConv"]


class ArticleMBConv(nn.Module):
    """``MBConvBlock(input, expansion_ratio, output_dim, stride, name, squeeze, bias=False,
    shortcut=True, use_Squeeze_Excitation=True)``::

        E   = round(expansion_ratio * C_in)
        net = relu6(BN(conv1x1(x, E)))
        net = relu6(BN(depthwise_conv(net, stride=stride)))   # kernel 3
        net = BN(conv1x1(net, output_dim))
        net = SE(net) with output_dim // squeeze squeeze units and a sigmoid gate (ReLU first)
        if shortcut and stride == 1:
            net = net + (conv1x1(x, output_dim) if C_in != output_dim else x)

    Where it departs from EfficientNet's MBConv (erratum 9): ReLU6 instead of swish
    (SiLU); SE after the projection instead of after the depthwise conv; the squeeze width
    computed from the output width (``output_dim // squeeze``) instead of the block's input
    width (``C_in / 4``); no skip of the expansion when ``expansion_ratio == 1``; plus the
    gate floor of erratum 8 and the projection shortcut of erratum 7; a fixed 3x3 depthwise
    kernel (EfficientNet-B0 also uses 5x5); no stochastic depth. The paper's block is
    ``PaperMBConv(C_in, output_dim, expansion_ratio, kernel_size=3, stride=stride)``.
    """

    def __init__(self, in_channels, expansion_ratio, output_dim, stride, squeeze, bias=False,
                 shortcut=True, use_squeeze_excitation=True):
        super().__init__()
        hidden = round(expansion_ratio * in_channels)
        self.stride, self.use_shortcut = stride, shortcut and stride == 1
        self.pw = conv_bn_act(in_channels, hidden, 1, activation="relu6", bias=bias)
        self.dw = nn.Sequential(ArticleDepthwiseConv(hidden, 3, stride), batch_norm(hidden),
                                nn.ReLU6())
        self.pw_linear = conv_bn_act(hidden, output_dim, 1, activation=None, bias=bias)
        self.se = (ArticleSEBlock(output_dim, squeeze, gate="sigmoid")
                   if use_squeeze_excitation else None)
        self.ex_dim = (TFConv2d(in_channels, output_dim, 1, bias=bias)
                       if self.use_shortcut and in_channels != output_dim else None)

    def forward(self, x):
        net = self.pw_linear(self.dw(self.pw(x)))
        if self.se is not None:
            net = self.se(net)
        if self.use_shortcut:
            net = (x if self.ex_dim is None else self.ex_dim(x)) + net
        return net
