"""The article's residual blocks (ResNet v1 and "ResNetV2"), as its code computes them.

Article sections "残差网络" (the residual block) and "ResNetV2"; the paper-correct
blocks are :class:`minicnn.nn.blocks.Bottleneck` (``PaperBottleneck``) and
:class:`minicnn.nn.blocks.PreActBottleneck` (``PaperPreActBottleneck``).
"""
from .. import nn
from ..nn.blocks import Bottleneck as PaperBottleneck
from ..nn.blocks import PreActBottleneck as PaperPreActBottleneck
from ._tf import TFConv2d, TFResizeBilinear, batch_norm, conv_bn_act

__all__ = ["ArticleResidualBlock", "ArticleResNetV2Block", "PaperBottleneck",
           "PaperPreActBottleneck"]


class ArticleResidualBlock(nn.Module):
    """``Residual_Block(input_data, in_channel, out_channel, s=1)`` of the article, in NCHW::

        X = relu(BN(conv1x1(x, out, stride s)))
        X = relu(BN(conv3x3(X, out, stride s, same)))
        X = BN(conv1x1(X, out))
        if in_channel != out_channel:
            X_shortcut = conv1x1(x, out)          # computed...
            X_shortcut = BN(X)                     # ...and overwritten: BN of the residual branch
        y = relu(X + X_shortcut)

    What the code computes, and where it departs from ResNet (erratum 1):

    * the stride ``s`` is applied twice, in the first 1x1 and in the 3x3 conv: the branch
      shrinks by ``s * s`` per axis;
    * the shortcut is never strided, and projected only when the channel count changes;
      so with ``s != 1`` and ``in_channel == out_channel`` the add cannot work: this block
      raises a ``ValueError`` that says why (TensorFlow fails at graph construction);
    * the projection line ``X_shortcut = batch_normalization(X)`` normalises the residual
      branch ``X``, not the projected input. With ``in_channel != out_channel`` the block
      therefore computes ``relu(X + BN(X))``: the input reaches the output only through the
      residual branch, the "shortcut" is gone, and the projection conv is a dead layer
      (its parameters exist, in TensorFlow too, but nothing uses its output; it is not
      evaluated here, as TensorFlow's graph does not run it either);
    * every conv is ``out_channel`` wide: no bottleneck (ResNet's 1x1 reduces to a quarter
      of the output width);
    * every conv has a bias that the BN after it cancels.

    The paper's block with the same input and output widths is
    ``PaperBottleneck(in_channel, out_channel // 4, stride=s)`` (stride once, in the 3x3;
    a strided 1x1 projection + BN whenever the shape changes).
    """

    def __init__(self, in_channel, out_channel, s=1):
        super().__init__()
        self.in_channel, self.out_channel, self.s = in_channel, out_channel, s
        self.branch = nn.Sequential(
            conv_bn_act(in_channel, out_channel, 1, stride=s, activation="relu"),
            conv_bn_act(out_channel, out_channel, 3, stride=s, padding="same", activation="relu"),
            conv_bn_act(out_channel, out_channel, 1, activation=None))
        if in_channel != out_channel:
            self.dead_projection = TFConv2d(in_channel, out_channel, 1)
            self.shortcut_bn = batch_norm(out_channel)
        self.relu = nn.ReLU()

    def forward(self, x):
        branch = self.branch(x)
        shortcut = x if self.in_channel == self.out_channel else self.shortcut_bn(branch)
        if tuple(shortcut.shape) != tuple(branch.shape):
            raise ValueError(
                f"ArticleResidualBlock(in_channel={self.in_channel}, out_channel="
                f"{self.out_channel}, s={self.s}): cannot add the shortcut of shape "
                f"{tuple(shortcut.shape)} to the residual branch of shape {tuple(branch.shape)}. "
                f"The article applies the stride s={self.s} in both the first 1x1 conv and the "
                f"3x3 conv, so the branch shrinks by s*s={self.s * self.s} per axis, while its "
                f"shortcut is neither strided nor (with in_channel == out_channel) projected "
                f"(seed article erratum 1). The paper's block, "
                f"minicnn.nn.blocks.Bottleneck(inplanes, planes, stride), strides once (in the "
                f"3x3 conv) and projects the shortcut with a strided 1x1 conv + BN.")
        return self.relu(branch + shortcut)


class ArticleResNetV2Block(nn.Module):
    """``ResentV2_block(input_data, input_depth, compress_depth, output_depth, strides=(1, 1))``::

        X = leaky(BN(conv1x1(x, compress)))
        X = leaky(BN(conv3x3(X, compress, stride, same)))
        X = conv1x1(X, output_depth)                            # linear, with bias
        shortcut = conv1x1(x, output_depth, stride)   if input_depth != output_depth
                 = resize_bilinear(x, X's size)       if equal depths and stride != 1
                 = x                                  otherwise
        y = shortcut + X

    Where it departs from the pre-activation ResNet (erratum 2): the text describes
    pre-activation (BN -> ReLU -> conv, nothing after the add, a clean identity path),
    but the code is post-activation (conv -> BN -> activation) and the input itself is
    never pre-activated; and a spatial mismatch on the identity path is "fixed" by an
    image resize, which for stride 2 simply keeps every other row and column
    (TensorFlow 1's legacy bilinear resize samples positions ``2i`` exactly), where the
    paper uses a strided 1x1 projection of the pre-activated input. Leaky ReLU (0.2)
    replaces ReLU. The paper's block is ``PaperPreActBottleneck(input_depth,
    compress_depth, stride)`` (output ``4 * compress_depth`` channels).
    """

    def __init__(self, input_depth, compress_depth, output_depth, strides=1):
        super().__init__()
        self.input_depth, self.output_depth, self.strides = input_depth, output_depth, strides
        self.branch = nn.Sequential(
            conv_bn_act(input_depth, compress_depth, 1),
            conv_bn_act(compress_depth, compress_depth, 3, stride=strides, padding="same"),
            TFConv2d(compress_depth, output_depth, 1))
        self.projection = (TFConv2d(input_depth, output_depth, 1, stride=strides, padding="same")
                           if input_depth != output_depth else None)
        self.resize = TFResizeBilinear() if input_depth == output_depth and strides != 1 else None

    def forward(self, x):
        branch = self.branch(x)
        shortcut = x
        if self.projection is not None:
            shortcut = self.projection(x)
        if self.resize is not None:
            shortcut = self.resize(x, branch.shape[2:])
        return shortcut + branch
