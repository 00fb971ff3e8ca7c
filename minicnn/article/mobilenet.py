"""The article's MobileNetV2 residual block and MobileNetV3 bottleneck, as its code computes them.

Article sections "EfficientNet" (where ``res_block``, MobileNetV2's inverted residual,
is built) and "MobileNetV3" (``MobileV3Bottleneck``, ``Hswish``, ``Hsigmoid``); the
paper-correct blocks are :class:`minicnn.nn.blocks.InvertedResidual`
(``PaperInvertedResidual``) and :class:`minicnn.nn.blocks.MobileNetV3Bottleneck`
(``PaperMobileNetV3Bottleneck``).
"""
from .. import nn
from ..nn.blocks import InvertedResidual as PaperInvertedResidual
from ..nn.blocks import MobileNetV3Bottleneck as PaperMobileNetV3Bottleneck
from ._tf import TFConv2d, batch_norm, conv_bn_act, hsigmoid, hswish, make_activation
from .se import ArticleSEBlock
from .separable import ArticleDepthwiseConv

__all__ = ["ArticleInvertedResidual", "ArticleMobileV3Bottleneck", "hswish", "hsigmoid",
           "PaperInvertedResidual", "PaperMobileNetV3Bottleneck"]


class ArticleInvertedResidual(nn.Module):
    """``res_block(input, expansion_ratio, output_dim, stride, name, bias=False, shortcut=True)``::

        E   = round(expansion_ratio * C_in)
        net = relu6(BN(conv1x1(x, E)))
        net = relu6(BN(depthwise_conv(net)))                 # kernel 3, stride 1 (!)
        net = BN(conv1x1(net, output_dim))                   # linear projection
        if shortcut and stride == 1:
            net = net + (conv1x1(x, output_dim) if C_in != output_dim else x)

    Where it departs from MobileNetV2 (erratum 7): ``depthwise_conv(net)`` is called
    without the stride, so a block with ``stride=2`` does not downsample (``stride`` only
    switches the residual off); a 1x1 projection shortcut is added when the widths differ
    (the paper adds a residual only for ``stride == 1`` and equal widths, and never
    projects); the expansion is never skipped for ``expansion_ratio == 1``. The L2 weight
    regulariser of its convs (0.003) is a training loss term, not part of the block's output.
    The paper's block is ``PaperInvertedResidual(C_in, output_dim, stride, expansion_ratio)``.
    """

    def __init__(self, in_channels, expansion_ratio, output_dim, stride, bias=False,
                 shortcut=True):
        super().__init__()
        hidden = round(expansion_ratio * in_channels)
        self.stride, self.use_shortcut = stride, shortcut and stride == 1
        self.pw = conv_bn_act(in_channels, hidden, 1, activation="relu6", bias=bias)
        self.dw = nn.Sequential(ArticleDepthwiseConv(hidden), batch_norm(hidden), nn.ReLU6())
        self.pw_linear = conv_bn_act(hidden, output_dim, 1, activation=None, bias=bias)
        self.ex_dim = (TFConv2d(in_channels, output_dim, 1, bias=bias)
                       if self.use_shortcut and in_channels != output_dim else None)

    def forward(self, x):
        net = self.pw_linear(self.dw(self.pw(x)))
        if self.use_shortcut:
            net = (x if self.ex_dim is None else self.ex_dim(x)) + net
        return net


class ArticleMobileV3Bottleneck(nn.Module):
    """``MobileV3Bottleneck(input_, expand_size, squeeze, out_size, kernel_size, stride=1,
    relu=True, se=True)``::

        act = relu if relu else hswish                      # hswish(x) = x relu6(x+3)/6
        out = act(BN(conv1x1(x, expand_size, no bias)))
        out = act(BN(depthwise_conv(out, kernel_size, stride)))
        out = BN(conv1x1(out, out_size, no bias))
        shortcut = BN(conv1x1(x, out_size)) if C_in != out_size and stride == 1 else x
        out = SEBlock(out, squeeze) if se                   # after the projection
        y = out + shortcut if stride == 1 else out

    Where it departs from MobileNetV3 (erratum 10): the SE sits after the projection
    instead of between the depthwise conv and the projection (so it gates ``out_size``
    channels, not the expanded ones); its excitation has the extra ReLU of erratum 8 (gates
    ``>= 0.5``); a projection shortcut is added when the widths differ (the paper adds a
    residual only for stride 1 and equal widths); and the article's example calls
    ``MobileBottleneck(...)``, a name it never defines (only ``MobileV3Bottleneck``
    exists; there is no ``MobileBottleneck`` here either). ``squeeze`` is a divisor of
    ``out_size`` (``assert squeeze <= out_size``, a ValueError here). The paper's block
    is ``PaperMobileNetV3Bottleneck(C_in, expand_size, out_size, kernel_size, stride,
    use_se=se, activation='RE' if relu else 'HS')``.
    """

    def __init__(self, in_channels, expand_size, squeeze, out_size, kernel_size, stride=1,
                 relu=True, se=True):
        super().__init__()
        if se and not squeeze <= out_size:
            raise ValueError(f"ArticleMobileV3Bottleneck: squeeze={squeeze} must be <= "
                             f"out_size={out_size} (the article's assert)")
        act = "relu" if relu else "hswish"
        self.stride = stride
        self.expand = conv_bn_act(in_channels, expand_size, 1, activation=act, bias=False)
        self.depthwise = nn.Sequential(ArticleDepthwiseConv(expand_size, kernel_size, stride),
                                       batch_norm(expand_size), make_activation(act))
        self.project = conv_bn_act(expand_size, out_size, 1, activation=None, bias=False)
        self.shortcut = (conv_bn_act(in_channels, out_size, 1, stride=stride, activation=None,
                                     bias=False)
                         if in_channels != out_size and stride == 1 else None)
        self.se = ArticleSEBlock(out_size, squeeze, gate="hsigmoid") if se else None

    def forward(self, x):
        out = self.project(self.depthwise(self.expand(x)))
        shortcut = x if self.shortcut is None else self.shortcut(x)
        if self.se is not None:
            out = self.se(out)
        return out + shortcut if self.stride == 1 else out
