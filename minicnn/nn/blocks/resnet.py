"""Residual blocks: ResNet v1 (BasicBlock, Bottleneck) and v2 (pre-activation).

Notation: ``x`` the block input (N, C_in, H, W), ``F(x)`` the residual
branch, ``P`` the shortcut (identity, or a strided 1x1 projection when the
shape changes), ``s`` the stride, ``e`` the expansion (1 for BasicBlock, 4 for
Bottleneck). Output: (N, planes*e, H_out, W_out) with
``H_out = floor((H - 1) / s) + 1`` (every 3x3 conv has padding 1).

* v1 (post-activation, He et al. 2015): ``y = relu(F(x) + P(x))`` where every
  conv in ``F`` is followed by BN, and by ReLU except the last one.
* v2 (pre-activation, He et al. 2016): ``y = F(x) + P(x)`` where every conv in
  ``F`` is *preceded* by BN -> ReLU, nothing follows the add, and the identity
  path carries ``x`` untouched.

The v1 blocks reproduce torchvision's ``BasicBlock``/``Bottleneck`` (same
arguments, same attribute names ``conv1, bn1, conv2, bn2, (conv3, bn3),
downsample``), so their state_dict keys are torchvision's.
"""
from ... import nn
from ..._validation import as_int

__all__ = ["conv3x3", "conv1x1", "BasicBlock", "Bottleneck", "PreActBasicBlock",
           "PreActBottleneck"]


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution, padding = dilation (size kept at stride 1), no bias (BN follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution without bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def _check_input(block, x, channels):
    """The block's input must be (N, channels, H, W): say so before any conv runs."""
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{block}: expected an input of shape (N, {channels}, H, W), "
                         f"got {tuple(x.shape)}")


def _projection(inplanes, outplanes, stride, norm_layer):
    """torchvision's shortcut projection: ``Sequential(conv1x1(stride), norm)`` (keys
    ``downsample.0.weight``, ``downsample.1.*``)."""
    return nn.Sequential(conv1x1(inplanes, outplanes, stride), norm_layer(outplanes))


class BasicBlock(nn.Module):
    """ResNet v1 basic block: two 3x3 convs (ResNet-18/34).

    He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition",
    CVPR 2016 (arXiv:1512.03385), Fig. 2 / Fig. 5 left::

        out = relu(bn1(conv1(x)))          # 3x3, stride s
        out = bn2(conv2(out))              # 3x3, stride 1
        y   = relu(out + downsample(x))    # downsample = identity or conv1x1(s) + BN

    Output: (N, planes, floor((H-1)/s)+1, floor((W-1)/s)+1). Parameters:
    ``9 C_in P + 9 P^2 + 4P`` (+ ``C_in P + 2P`` with a projection), P = planes.

    Arguments follow torchvision's ``BasicBlock(inplanes, planes, stride=1,
    downsample=None, groups=1, base_width=64, dilation=1, norm_layer=None)``;
    as there, ``groups`` must be 1, ``base_width`` 64 and ``dilation`` 1. One
    addition: with ``downsample=None`` and a shape change (``stride != 1`` or
    ``inplanes != planes``) the block builds torchvision's projection itself
    (the "option B" shortcut of the paper) instead of failing at the add.

    The seed article's residual code departs from the paper (errata 1): its
    stride is applied twice (in the first conv and the 3x3, downsampling by
    s*s) while its projection has no stride; its projection branch normalises
    the residual tensor instead of the projected shortcut; and it projects
    only when the channel count changes, not when the stride does.
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        inplanes = as_int(inplanes, "inplanes", 1, "BasicBlock")
        planes = as_int(planes, "planes", 1, "BasicBlock")
        stride = as_int(stride, "stride", 1, "BasicBlock")
        if groups != 1 or base_width != 64:
            raise ValueError(f"BasicBlock: only supports groups=1 and base_width=64, "
                             f"got groups={groups!r}, base_width={base_width!r}")
        if dilation != 1:
            raise NotImplementedError(f"BasicBlock: dilation > 1 is not supported, "
                                      f"got dilation={dilation!r}")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if downsample is None and (stride != 1 or inplanes != planes * self.expansion):
            downsample = _projection(inplanes, planes * self.expansion, stride, norm_layer)
        self.inplanes = inplanes
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        _check_input("BasicBlock", x, self.inplanes)
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """ResNet v1 bottleneck block: 1x1 reduce -> 3x3 -> 1x1 expand (ResNet-50/101/152).

    He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
    Fig. 5 right. With ``width = int(planes * base_width / 64) * groups``::

        out = relu(bn1(conv1(x)))          # 1x1, C_in -> width
        out = relu(bn2(conv2(out)))        # 3x3, width -> width, stride s, groups
        out = bn3(conv3(out))              # 1x1, width -> 4 planes
        y   = relu(out + downsample(x))    # identity or conv1x1(s) + BN

    Output: (N, 4 planes, floor((H-1)/s)+1, floor((W-1)/s)+1).

    The stride sits in the 3x3 conv, as in torchvision ("ResNet v1.5"); the
    paper's Caffe model put it in the first 1x1, which skips 3/4 of the
    input positions. Same arguments, attribute names and projection rule
    as :class:`BasicBlock` (``groups``/``base_width`` give the ResNeXt /
    wide-ResNet widths as in torchvision).

    The seed article's bottleneck departs from the paper as listed for
    :class:`BasicBlock` (errata 1): stride in both the first 1x1 and the 3x3,
    no stride in the projection, BN applied to the wrong tensor on the
    projection path, projection only on channel changes.
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        inplanes = as_int(inplanes, "inplanes", 1, "Bottleneck")
        planes = as_int(planes, "planes", 1, "Bottleneck")
        stride = as_int(stride, "stride", 1, "Bottleneck")
        groups = as_int(groups, "groups", 1, "Bottleneck")
        base_width = as_int(base_width, "base_width", 1, "Bottleneck")
        dilation = as_int(dilation, "dilation", 1, "Bottleneck")
        width = int(planes * (base_width / 64.0)) * groups
        if width == 0:
            raise ValueError(f"Bottleneck: the 3x3 width int(planes * base_width / 64) * groups "
                             f"is 0 for planes={planes}, base_width={base_width}, groups={groups}")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if downsample is None and (stride != 1 or inplanes != planes * self.expansion):
            downsample = _projection(inplanes, planes * self.expansion, stride, norm_layer)
        self.inplanes = inplanes
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        _check_input("Bottleneck", x, self.inplanes)
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class _PreActBase(nn.Module):
    """Shared shortcut logic of the pre-activation blocks.

    With an identity shortcut the block adds the raw input ``x``; when the
    shape changes, the projection (a strided 1x1 conv, no BN) takes the
    *pre-activated* input ``relu(bn1(x))``, shared with the residual branch,
    as the paper prescribes for units that follow a change of shape.
    """

    def _shortcut_and_preact(self, x):
        preact = self.relu(self.bn1(x))
        shortcut = x if self.downsample is None else self.downsample(preact)
        return shortcut, preact


class PreActBasicBlock(_PreActBase):
    """ResNet v2 basic block with full pre-activation (PreAct-ResNet-18/34).

    He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual Networks",
    ECCV 2016 (arXiv:1603.05027), Fig. 1(b) / Fig. 4(e)::

        a   = relu(bn1(x))
        out = conv1(a)                     # 3x3, stride s
        out = conv2(relu(bn2(out)))        # 3x3
        y   = out + shortcut               # shortcut = x, or downsample(a) (1x1 conv, stride s)

    No ReLU after the add and no BN on the shortcut: the identity path is a
    clean ``x_{l+1} = x_l + F(x_l)``. A network built from these blocks needs a
    final BN -> ReLU after its last block (the paper's "extra activation").
    Output: (N, planes, floor((H-1)/s)+1, floor((W-1)/s)+1).

    ``downsample=None`` builds the 1x1 projection (key ``downsample.weight``)
    when ``stride != 1`` or ``inplanes != planes``; pass a module to override.
    The seed article has no basic pre-activation block; see
    :class:`PreActBottleneck` for its ResNetV2 errata.
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, norm_layer=None):
        super().__init__()
        inplanes = as_int(inplanes, "inplanes", 1, "PreActBasicBlock")
        planes = as_int(planes, "planes", 1, "PreActBasicBlock")
        stride = as_int(stride, "stride", 1, "PreActBasicBlock")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if downsample is None and (stride != 1 or inplanes != planes):
            downsample = conv1x1(inplanes, planes, stride)
        self.inplanes = inplanes
        self.bn1 = norm_layer(inplanes)
        self.relu = nn.ReLU()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn2 = norm_layer(planes)
        self.conv2 = conv3x3(planes, planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        _check_input("PreActBasicBlock", x, self.inplanes)
        shortcut, out = self._shortcut_and_preact(x)
        out = self.conv1(out)
        out = self.conv2(self.relu(self.bn2(out)))
        return out + shortcut


class PreActBottleneck(_PreActBase):
    """ResNet v2 bottleneck with full pre-activation (PreAct-ResNet-50/101/152/200).

    He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016,
    Fig. 4(e) applied to the bottleneck unit::

        a   = relu(bn1(x))
        out = conv1(a)                     # 1x1, C_in -> planes
        out = conv2(relu(bn2(out)))        # 3x3, planes -> planes, stride s
        out = conv3(relu(bn3(out)))        # 1x1, planes -> 4 planes
        y   = out + shortcut               # shortcut = x, or downsample(a) (1x1 conv, stride s)

    Output: (N, 4 planes, floor((H-1)/s)+1, floor((W-1)/s)+1). Parameters:
    ``2 C_in + C_in P + 2P + 9P^2 + 2P + 4P^2`` (+ ``4 C_in P`` for a
    projection), P = planes. The stride is in the 3x3 conv (as in the
    authors' released pre-activation code and in :class:`Bottleneck`).

    The seed article's ResNetV2 block departs from the paper (errata 2): its
    text describes pre-activation but its code is post-activation (conv ->
    BN -> act) and never pre-activates the input; and it "fixes" a spatial
    mismatch on the identity path by resizing the image instead of using a
    strided projection. Here the order is BN -> ReLU -> conv throughout,
    nothing follows the add and the identity path is untouched.
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, norm_layer=None):
        super().__init__()
        inplanes = as_int(inplanes, "inplanes", 1, "PreActBottleneck")
        planes = as_int(planes, "planes", 1, "PreActBottleneck")
        stride = as_int(stride, "stride", 1, "PreActBottleneck")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        outplanes = planes * self.expansion
        if downsample is None and (stride != 1 or inplanes != outplanes):
            downsample = conv1x1(inplanes, outplanes, stride)
        self.inplanes = inplanes
        self.bn1 = norm_layer(inplanes)
        self.relu = nn.ReLU()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn2 = norm_layer(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn3 = norm_layer(planes)
        self.conv3 = conv1x1(planes, outplanes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        _check_input("PreActBottleneck", x, self.inplanes)
        shortcut, out = self._shortcut_and_preact(x)
        out = self.conv1(out)
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return out + shortcut
