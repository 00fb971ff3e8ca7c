"""The article's ShuffleNetV2 unit, as its code computes it.

Article section "ShuffleNetV2"; the paper-correct block is
:class:`minicnn.nn.blocks.ShuffleV2Block` (``PaperShuffleV2Block``).
"""
from .. import nn
from ..nn import functional as F
from ..nn.blocks import ShuffleV2Block as PaperShuffleV2Block
from ._tf import conv_bn_act
from .separable import ArticleDepthwiseConvBN

__all__ = ["ArticleShuffleV2Block", "PaperShuffleV2Block"]


class ArticleShuffleV2Block(nn.Module):
    """``shufflenet_v2_block(x, out_channel, kernel_size, stride=1, shuffle_group=2)``::

        conv_bn_relu(x, c, k)   = leaky(BN(conv2d(x, c, k)))          # valid padding, bias
        depthwise_conv_bn(x, k) = relu(dwconv_k(x) + bias)             # slim defaults, BN commented out
        stride 1:  top, bottom = split(x, 2)
                   top = conv_bn_relu(depthwise_conv_bn(conv_bn_relu(top, out/2), k), out/2)
                   y = shuffle(concat([top, bottom]), shuffle_group)
        stride 2:  b0 = conv_bn_relu(depthwise_conv_bn(conv_bn_relu(x, out/2), k, s), out/2)
                   b1 = conv_bn_relu(depthwise_conv_bn(x, k, s), out/2)
                   y = shuffle(concat([b0, b1]), shuffle_group)

    Where it departs from ShuffleNetV2 (erratum 6): the BN after each depthwise conv is
    commented out (and slim's default ReLU and bias take its place: the paper has BN and no
    activation there); leaky ReLU (0.2) instead of ReLU; convs with biases before BN. The
    stride-1 unit concatenates ``out_channel // 2`` new channels with the ``C / 2``
    untouched ones, so ``out_channel`` must equal the input width; the article's own example
    (4 input channels, ``out_channel=2``) builds 3 channels that 2 shuffle groups cannot
    divide, and this class raises the ``ValueError`` TensorFlow's reshape would. The text's
    claims that ShuffleNet builds on SqueezeNet (it builds on ResNeXt's grouped convs and
    MobileNet's depthwise convs) and that "MAC" means multiply-adds (in ShuffleNetV2 it is
    memory access cost) are not code; see docs/article-errata.md.
    """

    def __init__(self, in_channels, out_channel, kernel_size=3, stride=1, shuffle_group=2):
        super().__init__()
        half = out_channel // 2
        self.stride, self.shuffle_group = stride, shuffle_group
        if stride == 1:
            if in_channels % 2:
                raise ValueError(f"ArticleShuffleV2Block: the stride-1 unit splits the input in "
                                 f"two halves; in_channels={in_channels} is odd")
            channels = half + in_channels // 2
            self.top = nn.Sequential(conv_bn_act(in_channels // 2, half, 1),
                                     ArticleDepthwiseConvBN(half, kernel_size, 1),
                                     conv_bn_act(half, half, 1))
        else:
            channels = 2 * half
            self.branch0 = nn.Sequential(conv_bn_act(in_channels, half, 1),
                                         ArticleDepthwiseConvBN(half, kernel_size, stride),
                                         conv_bn_act(half, half, 1))
            self.branch1 = nn.Sequential(ArticleDepthwiseConvBN(in_channels, kernel_size, stride),
                                         conv_bn_act(in_channels, half, 1))
        if channels % shuffle_group:
            parts = (f"out_channel // 2 = {half} new and in_channels // 2 = {in_channels // 2} "
                     f"untouched" if stride == 1 else f"2 * (out_channel // 2) = {channels}")
            raise ValueError(
                f"ArticleShuffleV2Block(in_channels={in_channels}, out_channel={out_channel}, "
                f"stride={stride}, shuffle_group={shuffle_group}): the unit concatenates "
                f"{channels} channels ({parts}), which shuffle_group={shuffle_group} does not "
                f"divide: the channel shuffle's reshape fails, in TensorFlow as here")
        self.out_channels = channels

    def forward(self, x):
        if self.stride == 1:
            top, bottom = F.chunk(x, 2, 1)
            out = F.cat([self.top(top), bottom], 1)
        else:
            out = F.cat([self.branch0(x), self.branch1(x)], 1)
        return F.channel_shuffle(out, self.shuffle_group)
