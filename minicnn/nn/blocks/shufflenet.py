"""The ShuffleNetV2 unit (Ma et al. 2018, "ShuffleNet V2: Practical Guidelines for Efficient
CNN Architecture Design", Fig. 3(c) and 3(d)).

Notation: ``x`` the unit input (N, C_in, H, W), ``B = C_out / 2`` the width of each
branch, ``s`` the stride. Every depthwise conv is 3x3 with padding 1:
``H_out = floor((H - 1) / s) + 1``.

* basic unit (split, stride 1, ``C_in == C_out``): split the channels in halves
  ``x = [x1, x2]``; ``y = shuffle([x1, R(x2)])`` where
  ``R = ReLU.BN.conv1x1 . BN.dwconv3x3 . ReLU.BN.conv1x1`` (all ``B`` wide): half the
  channels pass through untouched, which is ShuffleNetV2's answer to its
  guidelines (equal widths in and out of each conv, no group convs, fewer
  element-wise ops: the add becomes a concat).
* down-sampling unit (both branches see all of ``x``): ``y = shuffle([L(x), R(x)])`` with
  ``L = ReLU.BN.conv1x1(C_in -> B) . BN.dwconv3x3_s(C_in)`` and ``R`` as above but its first
  1x1 conv reading ``C_in`` channels and its depthwise conv strided.
* ``shuffle`` is ``channel_shuffle(groups=2)``: reshape (N, 2, B, H, W), swap axes 1 and 2,
  reshape back, so the next unit's split mixes channels of both branches.

Note there is no ReLU after the depthwise convs (paper and torchvision).

Layout and keys follow torchvision's ``shufflenetv2.InvertedResidual``: ``branch1`` (an
empty ``Sequential`` for the basic unit; else dwconv, BN, conv1x1, BN, ReLU at indices
0-4) and ``branch2`` (conv1x1, BN, ReLU, dwconv, BN, conv1x1, BN, ReLU at indices 0-7).
"""
from ... import nn
from ..._validation import as_int
from ...nn import functional as F

__all__ = ["ShuffleV2Block"]


def _depthwise_conv(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=False):
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias,
                     groups=in_channels)


class ShuffleV2Block(nn.Module):
    """ShuffleNetV2 unit: ``ShuffleV2Block(in_channels, out_channels, stride, split=None)``
    (positionally torchvision's ``InvertedResidual(inp, oup, stride)``).

    ``stride``: 1, 2 or 3 (torchvision's range). ``split``: ``True`` for the basic unit
    (channel split, needs ``stride == 1`` and ``in_channels == out_channels``), ``False`` for
    the two-branch unit; the default ``None`` means ``stride == 1`` (torchvision's rule). A
    two-branch unit at stride 1 (``split=False, stride=1``) changes the width without
    downsampling: minicnn's small-input ShuffleNetV2 uses it where torchvision downsamples.

    Constraints, checked before any layer is built: ``out_channels`` even (two branches of
    ``out_channels // 2`` channels are concatenated and shuffled in 2 groups); for the basic
    unit ``in_channels == out_channels`` (the untouched half and the branch output together
    must rebuild the input width) and hence ``in_channels`` even.

    Parameters: basic unit ``2*B*B + 9*B`` conv weights ``+ 6*B`` BN; down-sampling unit
    ``9*C_in + C_in*B`` (left) ``+ C_in*B + 9*B + B*B`` (right) conv weights plus BN.

    Where the seed article's ``shufflenet_v2_block`` departs from the paper (errata 6): the BN
    after each depthwise conv is commented out, leaky ReLU replaces ReLU, and its text says
    ShuffleNet builds on SqueezeNet (it builds on ResNeXt's group convs and MobileNet's
    depthwise convs) and reads "MAC" as multiply-adds (in ShuffleNetV2 it is memory access
    cost).
    """

    def __init__(self, in_channels, out_channels, stride=1, split=None):
        super().__init__()
        op = "ShuffleV2Block"
        in_channels = as_int(in_channels, "in_channels", 1, op)
        out_channels = as_int(out_channels, "out_channels", 2, op)
        if isinstance(stride, bool) or stride not in (1, 2, 3):
            raise ValueError(f"{op}: stride must be 1, 2 or 3, got {stride!r}")
        if split is None:
            split = stride == 1
        if out_channels % 2:
            raise ValueError(f"{op}: out_channels must be even (two branches of out_channels // 2 "
                             f"channels are concatenated), got out_channels={out_channels}")
        if split and stride != 1:
            raise ValueError(f"{op}: the split (basic) unit keeps the resolution, so it needs "
                             f"stride=1, got stride={stride}; use split=False to downsample")
        if split and in_channels != out_channels:
            raise ValueError(f"{op}: the split (basic) unit needs in_channels == out_channels "
                             f"(half the input passes through untouched), got "
                             f"in_channels={in_channels}, out_channels={out_channels}, "
                             f"stride={stride}; use stride=2 or split=False to change the width")
        self.stride = stride
        self.split = bool(split)
        self.in_channels = in_channels
        branch_features = out_channels // 2

        if not self.split:
            self.branch1 = nn.Sequential(
                _depthwise_conv(in_channels, in_channels, kernel_size=3, stride=stride, padding=1),
                nn.BatchNorm2d(in_channels),
                nn.Conv2d(in_channels, branch_features, kernel_size=1, stride=1, padding=0,
                          bias=False),
                nn.BatchNorm2d(branch_features),
                nn.ReLU(),
            )
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(branch_features if self.split else in_channels, branch_features,
                      kernel_size=1, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(),
            _depthwise_conv(branch_features, branch_features, kernel_size=3, stride=stride,
                            padding=1),
            nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, kernel_size=1, stride=1, padding=0,
                      bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(),
        )

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ShuffleV2Block: expected an input of shape "
                             f"(N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        if self.split:
            x1, x2 = x.chunk(2, dim=1)  # two (N, C/2, H, W) halves
            out = F.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = F.cat((self.branch1(x), self.branch2(x)), dim=1)
        return F.channel_shuffle(out, 2)
