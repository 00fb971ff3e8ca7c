"""Inception modules: GoogLeNet's 4-branch module and Inception-ResNet-A.

Both concatenate parallel branches along the channel axis; every conv in a
branch is ``BasicConv2d`` (conv without bias -> BN(eps=1e-3) -> ReLU, the
layout and key names of torchvision's GoogLeNet/Inception-v3 and of the
common Inception-ResNet-v2 ports: ``conv.weight``, ``bn.weight``, ...).
"""
import math
import numbers

from ... import nn
from ..._validation import as_int
from .. import functional as F

__all__ = ["BasicConv2d", "Inception", "InceptionResNetA"]


def _check_input(block, x, channels):
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{block}: expected an input of shape (N, {channels}, H, W), "
                         f"got {tuple(x.shape)}")


class BasicConv2d(nn.Module):
    """conv (no bias) -> BatchNorm2d(eps=0.001) -> ReLU, torchvision's Inception unit.

    ``kwargs`` go to :class:`~minicnn.nn.Conv2d` (kernel_size, stride,
    padding, ...). BN's eps of 1e-3 is the TensorFlow default the Inception
    papers' models were trained with, kept by torchvision.
    """

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """GoogLeNet's Inception module (the "Inception (v1)" module with dimension reductions).

    Szegedy et al., "Going Deeper with Convolutions", CVPR 2015
    (arXiv:1409.4842), Fig. 2(b) and Table 1. Four branches on the same
    input, concatenated on channels::

        branch1 = 1x1(ch1x1)
        branch2 = 1x1(ch3x3red) -> 3x3(ch3x3, pad 1)
        branch3 = 1x1(ch5x5red) -> 5x5(ch5x5, pad 2)
        branch4 = maxpool 3x3 (stride 1, pad 1) -> 1x1(pool_proj)
        y = cat([branch1, branch2, branch3, branch4], dim=1)

    Each conv is conv -> BN -> ReLU (:class:`BasicConv2d`; BN was added to
    GoogLeNet by Inception-v2, as torchvision does). Output:
    (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W); e.g. inception (3a) of
    Table 1 is ``Inception(192, 64, 96, 128, 16, 32, 32)``: 256 channels.

    Arguments and attribute names are those of torchvision's GoogLeNet
    ``Inception`` (``branch1``, ``branch2.0``, ``branch2.1``, ...). One
    difference: torchvision's branch3 uses a 3x3 conv where the paper has a
    5x5 (a known slip kept there for its pretrained weights); here the paper's
    5x5 is the default and ``branch3_kernel_size=3`` gives torchvision's
    layout exactly.

    The seed article's Inception code departs from the paper (errata 3):
    branch 3 has an extra 3x3(48) conv before the 5x5, the pool branch uses a
    2x2 max pool followed by BN + activation before its 1x1, and every
    activation is a leaky ReLU.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj,
                 branch3_kernel_size=5):
        super().__init__()
        widths = dict(in_channels=in_channels, ch1x1=ch1x1, ch3x3red=ch3x3red, ch3x3=ch3x3,
                      ch5x5red=ch5x5red, ch5x5=ch5x5, pool_proj=pool_proj)
        widths = {name: as_int(value, name, 1, "Inception") for name, value in widths.items()}
        if branch3_kernel_size not in (3, 5):
            raise ValueError(f"Inception: branch3_kernel_size must be 5 (the paper) or 3 "
                             f"(torchvision), got {branch3_kernel_size!r}")
        (in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj) = widths.values()
        self.in_channels = in_channels
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=branch3_kernel_size,
                        padding=branch3_kernel_size // 2))
        # torchvision adds ceil_mode=True; with stride 1 it changes nothing.
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1),
            BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        _check_input("Inception", x, self.in_channels)
        return F.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionResNetA(nn.Module):
    """Inception-ResNet-A (the 35x35 residual Inception block, "block35").

    Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4, Inception-ResNet and the
    Impact of Residual Connections on Learning", AAAI 2017
    (arXiv:1602.07261), Fig. 16 (Inception-ResNet-v2) and Fig. 20 (scaling)::

        branch0 = 1x1(ch1x1)
        branch1 = 1x1(ch3x3red) -> 3x3(ch3x3)
        branch2 = 1x1(ch3x3dbl_red) -> 3x3(ch3x3dbl_mid) -> 3x3(ch3x3dbl)
        up      = conv2d(cat([branch0, branch1, branch2]))   # linear 1x1 with bias, back to C
        y       = relu(x + scale * up)                       # relu only if relu_after_add

    Output: (N, C, H, W), the input's shape. The branch convs are
    :class:`BasicConv2d`; the 1x1 "up" projection is linear (no BN, no ReLU)
    and has a bias. Defaults are Inception-ResNet-v2's widths
    (32; 32 -> 32; 32 -> 48 -> 64) on a 320-channel input, as in the
    authors' released TF-slim code (the paper's Fig. 16 labels the 1x1
    output 384, which does not match its own stem's 320 channels).

    ``scale`` (default 0.17) multiplies the residual before the add. The paper
    (Sec. 3.3) scales residuals "between 0.1 and 0.3" to keep training
    stable with many filters; 0.17 is the value used for the A blocks in the
    authors' TF-slim ``inception_resnet_v2.py`` (``block35(net, scale=0.17)``).
    ``relu_after_add=True`` applies the ReLU that follows the add in every
    block but the network's very last one.

    Key names follow the usual PyTorch port (``branch0``, ``branch1.0``,
    ``branch2.2``, ``conv2d``).

    The seed article's Inception-ResNet-A departs from the paper (errata 4):
    no residual scaling, no ReLU after the add, and a default input depth of
    3 that is no real configuration (it projects the input to 384 channels
    to make the add fit; here the block keeps its input width, as in the
    paper, so ``in_channels`` is also the output width).
    """

    def __init__(self, in_channels=320, ch1x1=32, ch3x3red=32, ch3x3=32, ch3x3dbl_red=32,
                 ch3x3dbl_mid=48, ch3x3dbl=64, scale=0.17, relu_after_add=True):
        super().__init__()
        widths = dict(in_channels=in_channels, ch1x1=ch1x1, ch3x3red=ch3x3red, ch3x3=ch3x3,
                      ch3x3dbl_red=ch3x3dbl_red, ch3x3dbl_mid=ch3x3dbl_mid, ch3x3dbl=ch3x3dbl)
        (in_channels, ch1x1, ch3x3red, ch3x3, ch3x3dbl_red, ch3x3dbl_mid, ch3x3dbl) = (
            as_int(value, name, 1, "InceptionResNetA") for name, value in widths.items())
        if (not isinstance(scale, numbers.Real) or isinstance(scale, bool)
                or not math.isfinite(scale)):
            raise ValueError(f"InceptionResNetA: scale must be a finite real number, got {scale!r}")
        self.in_channels = in_channels
        self.scale = float(scale)
        self.relu_after_add = bool(relu_after_add)
        self.branch0 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch1 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3dbl_red, kernel_size=1),
            BasicConv2d(ch3x3dbl_red, ch3x3dbl_mid, kernel_size=3, padding=1),
            BasicConv2d(ch3x3dbl_mid, ch3x3dbl, kernel_size=3, padding=1))
        self.conv2d = nn.Conv2d(ch1x1 + ch3x3 + ch3x3dbl, in_channels, kernel_size=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        _check_input("InceptionResNetA", x, self.in_channels)
        branches = F.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)
        out = x + self.conv2d(branches) * self.scale
        return self.relu(out) if self.relu_after_add else out

    def extra_repr(self):
        return f"scale={self.scale}, relu_after_add={self.relu_after_add}"
