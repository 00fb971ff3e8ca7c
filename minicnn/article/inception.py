"""The article's Inception module and Inception-ResNet-A block, as its code computes them.

Article sections "Inception" (CNN经典架构 / Inception) and "Inception-ResNet"
(CNN模型 / Inception-ResNet); the paper-correct blocks are
:class:`minicnn.nn.blocks.Inception` (``PaperInception``) and
:class:`minicnn.nn.blocks.InceptionResNetA` (``PaperInceptionResNetA``).
"""
from .. import nn
from ..nn import functional as F
from ..nn.blocks import Inception as PaperInception
from ..nn.blocks import InceptionResNetA as PaperInceptionResNetA
from ._tf import TFConv2d, TFMaxPool2d, batch_norm, conv_bn_act, leaky_relu

__all__ = ["ArticleInception", "ArticleInceptionResNetA", "PaperInception",
           "PaperInceptionResNetA"]


class ArticleInception(nn.Module):
    """``Inception(input_data, input_depth=192)`` of the article, in NCHW.

    Every conv is ``tf.layers.conv2d`` (with bias) -> BN -> leaky ReLU (slope 0.2)::

        branch_1 = 1x1(64)
        branch_2 = 1x1(96) -> 3x3(128, same)
        branch_3 = 1x1(16) -> 3x3(48, same) -> 5x5(32, same)
        branch_4 = maxpool(2, stride 1, same) -> BN -> leaky -> 1x1(32)
        out      = concat([branch_1, branch_2, branch_3, branch_4])   # 256 channels

    Where it departs from GoogLeNet (erratum 3): branch 3 has an extra 3x3(48) conv
    before the 5x5; the pool branch uses a 2x2 max pool (TensorFlow pads it by one row
    and column at the bottom/right) followed by BN and an activation before its 1x1
    (GoogLeNet: 3x3 max pool, stride 1, padding 1, then the 1x1); every conv has a bias
    that the following BN cancels; leaky ReLU instead of ReLU. The paper's block with the
    same widths is ``PaperInception(192, 64, 96, 128, 16, 32, 32)``.
    """

    def __init__(self, input_depth=192):
        super().__init__()
        self.input_depth = input_depth
        self.branch_1 = conv_bn_act(input_depth, 64, 1)
        self.branch_2 = nn.Sequential(conv_bn_act(input_depth, 96, 1),
                                      conv_bn_act(96, 128, 3, padding="same"))
        self.branch_3 = nn.Sequential(conv_bn_act(input_depth, 16, 1),
                                      conv_bn_act(16, 48, 3, padding="same"),
                                      conv_bn_act(48, 32, 5, padding="same"))
        self.branch_4 = nn.Sequential(TFMaxPool2d(2, 1, padding="same"), batch_norm(input_depth),
                                      leaky_relu(), conv_bn_act(input_depth, 32, 1, padding="same"))

    def forward(self, x):
        return F.cat([self.branch_1(x), self.branch_2(x), self.branch_3(x), self.branch_4(x)], 1)


class ArticleInceptionResNetA(nn.Module):
    """``InceptionResentA_block(input_data, input_depth=3, output_depth=384)`` of the article.

    Branches (conv with bias -> BN -> leaky ReLU 0.2 each)::

        X_1 = 1x1(32)
        X_2 = 1x1(32) -> 3x3(32)
        X_3 = 1x1(32) -> 3x3(48) -> 3x3(64)
        out = conv1x1(concat([X_1, X_2, X_3]), output_depth)        # linear, with bias
        shortcut = conv1x1(x, output_depth) if input_depth != output_depth else x
        y = shortcut + out

    Where it departs from Inception-ResNet (erratum 4): no residual scaling (the paper
    scales the branch by about 0.1-0.3 before the add; 0.17 in the authors' code), no
    ReLU after the add, and the default ``input_depth=3`` with ``output_depth=384`` is no
    configuration of the paper: it forces a 1x1 projection of the input, where the paper's
    block keeps its width (320 channels in Inception-ResNet-v2) and adds the identity.
    The paper's block is ``PaperInceptionResNetA(320)``.
    """

    def __init__(self, input_depth=3, output_depth=384):
        super().__init__()
        self.input_depth, self.output_depth = input_depth, output_depth
        self.branch_1 = conv_bn_act(input_depth, 32, 1)
        self.branch_2 = nn.Sequential(conv_bn_act(input_depth, 32, 1),
                                      conv_bn_act(32, 32, 3, padding="same"))
        self.branch_3 = nn.Sequential(conv_bn_act(input_depth, 32, 1),
                                      conv_bn_act(32, 48, 3, padding="same"),
                                      conv_bn_act(48, 64, 3, padding="same"))
        self.up = TFConv2d(32 + 32 + 64, output_depth, 1)
        self.shortcut = TFConv2d(input_depth, output_depth, 1) if input_depth != output_depth \
            else None

    def forward(self, x):
        out = self.up(F.cat([self.branch_1(x), self.branch_2(x), self.branch_3(x)], 1))
        shortcut = x if self.shortcut is None else self.shortcut(x)
        return shortcut + out
