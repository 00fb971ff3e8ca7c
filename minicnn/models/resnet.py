"""ResNet v1 (resnet18/34/50) and pre-activation ResNet v2 (preact_resnet18/50).

* :class:`ResNet`: He et al., "Deep Residual Learning for Image Recognition",
  CVPR 2016 (arXiv:1512.03385), Table 1. With the defaults the module tree,
  state_dict keys and shapes are torchvision's ``resnet18/34/50`` (stride in
  the bottleneck's 3x3, "v1.5"), so torchvision weights load by name.
* :class:`PreActResNet`: He et al., "Identity Mappings in Deep Residual
  Networks", ECCV 2016 (arXiv:1603.05027). No torchvision counterpart.

Options shared by every constructor here (all keyword arguments):

``in_channels`` (3)
    Input channels (1 for grayscale digits).
``width`` (64)
    Base width: the four stages have ``width, 2 width, 4 width, 8 width``
    planes (times 4 at the output of bottleneck stages) and the stem outputs
    ``width`` channels. ``width=16`` gives a ResNet-18 of about 0.7 M
    parameters, small enough for 8x8 digits.
``norm_layer`` (None: ``nn.BatchNorm2d``; ResNet v1 only)
    torchvision's: a callable ``channels -> Module`` building every
    normalisation layer, e.g. ``lambda c: nn.GroupNorm(2, c)`` (or
    ``functools.partial(nn.GroupNorm, 2)``), whose statistics are per sample:
    a GroupNorm ResNet trains at batch size 2, where batch norm's two-sample
    statistics do not (docs/ops/per_sample_norm.md, README).
``small_input`` (False)
    CIFAR-style stem for 32x32 or 8x8 inputs: the 7x7 stride-2 conv + 3x3
    stride-2 max pool (which divide the resolution by 4) become one 3x3
    stride-1 conv and no pool (``maxpool`` is an ``Identity``). The network
    then downsamples by 8 instead of 32: 32x32 -> 4x4, 8x8 -> 1x1 before
    the global average pool.
"""
from .. import nn
from .._validation import as_int
from ..nn.blocks.resnet import BasicBlock, Bottleneck, PreActBasicBlock, PreActBottleneck
from ._weights import accepts_weights

__all__ = ["ResNet", "PreActResNet", "resnet18", "resnet34", "resnet50", "preact_resnet18",
           "preact_resnet50", "MODELS"]


def _stem_conv(in_channels, width, small_input):
    if small_input:
        return nn.Conv2d(in_channels, width, kernel_size=3, stride=1, padding=1, bias=False)
    return nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)


def _check_options(model, in_channels, width, layers):
    in_channels = as_int(in_channels, "in_channels", 1, model)
    width = as_int(width, "width", 1, model)
    if len(layers) != 4:
        raise ValueError(f"{model}: layers must list the block count of 4 stages, got {layers!r}")
    layers = [as_int(n, "layers", 1, model) for n in layers]
    return in_channels, width, layers


def _add_stages(model, block, width, layers):
    """``layer1`` .. ``layer4``: widths ``width * (1, 2, 4, 8)``, stride 2 from the second on
    (``model._make_layer`` builds each stage)."""
    for stage, blocks in enumerate(layers):
        setattr(model, f"layer{stage + 1}", model._make_layer(block, width * 2 ** stage, blocks,
                                                               stride=1 if stage == 0 else 2))


def _init_weights(model):
    """torchvision's initialisation: Kaiming-normal (fan-out) convs, BN and GroupNorm weight 1
    and bias 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


def _check_input(model, x, in_channels):
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(f"{model}: expected an input of shape (N, {in_channels}, H, W), "
                         f"got {tuple(x.shape)}")


class ResNet(nn.Module):
    """ResNet v1: stem, four stages of residual blocks, global average pool, linear head.

    ``ResNet(block, layers, num_classes=1000, zero_init_residual=False,
    groups=1, width_per_group=64, norm_layer=None, *, in_channels=3,
    width=64, small_input=False)``; the first arguments are torchvision's
    (``replace_stride_with_dilation`` is not offered). Forward::

        x = maxpool(relu(bn1(conv1(x))))      # 7x7/2 conv, 3x3/2 pool (or 3x3/1, no pool)
        x = layer4(layer3(layer2(layer1(x)))) # strides 1, 2, 2, 2
        logits = fc(flatten(avgpool(x)))      # (N, num_classes)

    Initialisation is torchvision's: convs Kaiming-normal (fan_out, ReLU
    gain), BN weight 1 and bias 0, the linear layer PyTorch's default;
    ``zero_init_residual`` zeroes the last BN weight of each block. The
    options ``in_channels``, ``width`` and ``small_input`` are described in
    the module docstring.
    """

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1,
                 width_per_group=64, norm_layer=None, *, in_channels=3, width=64,
                 small_input=False):
        super().__init__()
        in_channels, width, layers = _check_options("ResNet", in_channels, width, layers)
        num_classes = as_int(num_classes, "num_classes", 1, "ResNet")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.in_channels = in_channels
        self.inplanes = width
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = _stem_conv(in_channels, width, small_input)
        self.bn1 = norm_layer(width)
        self.relu = nn.ReLU()
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, padding=1)
        _add_stages(self, block, width, layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * width * block.expansion, num_classes)

        _init_weights(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        """One stage: ``blocks`` blocks, the first with ``stride`` and the projection if needed."""
        norm_layer = self._norm_layer
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride,
                          bias=False),
                norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        1, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x):
        _check_input("ResNet", x, self.in_channels)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x).flatten(1)
        return self.fc(x)


class PreActResNet(nn.Module):
    """Pre-activation ResNet (ResNet v2): every unit is BN -> ReLU -> conv, identity paths clean.

    ``PreActResNet(block, layers, num_classes=1000, *, in_channels=3,
    width=64, small_input=False)`` with ``block`` :class:`PreActBasicBlock`
    or :class:`PreActBottleneck`. Forward::

        x = maxpool(conv1(x))                 # stem conv alone: the first unit pre-activates it
        x = layer4(layer3(layer2(layer1(x)))) # pre-activation units, strides 1, 2, 2, 2
        x = relu(norm(x))                     # the paper's extra activation after the last unit
        logits = fc(flatten(avgpool(x)))

    The stem has no BN/ReLU of its own: as in the paper (Sec. 4.1 and
    appendix), the first unit's BN -> ReLU follows conv1 and, when that unit
    projects its shortcut, is shared by both paths; the last unit is
    followed by one more BN -> ReLU (``norm``, ``relu``). Stages and stage
    widths are those of :class:`ResNet` (layers 2-2-2-2 for 18 layers,
    3-4-6-3 bottlenecks for 50). Initialisation as in :class:`ResNet`
    (Kaiming-normal fan_out convs, BN 1/0, default linear).

    Keys: ``conv1.weight``, ``layerS.B.bn1.weight``, ``layerS.B.conv1.weight``,
    ..., ``layerS.0.downsample.weight`` (a 1x1 strided conv, no BN),
    ``norm.*``, ``fc.*``. Options as in the module docstring.
    """

    def __init__(self, block, layers, num_classes=1000, *, in_channels=3, width=64,
                 small_input=False):
        super().__init__()
        in_channels, width, layers = _check_options("PreActResNet", in_channels, width, layers)
        num_classes = as_int(num_classes, "num_classes", 1, "PreActResNet")
        self.in_channels = in_channels
        self.inplanes = width
        self.conv1 = _stem_conv(in_channels, width, small_input)
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, padding=1)
        _add_stages(self, block, width, layers)
        self.norm = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.inplanes, num_classes)

        _init_weights(self)

    def _make_layer(self, block, planes, blocks, stride=1):
        # The first block builds its own 1x1 projection when the shape changes.
        layers = [block(self.inplanes, planes, stride)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        _check_input("PreActResNet", x, self.in_channels)
        x = self.maxpool(self.conv1(x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.relu(self.norm(x))
        x = self.avgpool(x).flatten(1)
        return self.fc(x)


@accepts_weights
def resnet18(num_classes=1000, **options):
    """ResNet-18 (BasicBlock, 2-2-2-2): 11,689,512 parameters at 1000 classes, as torchvision's.

    ``options``: ``in_channels``, ``width``, ``small_input``, ``norm_layer`` (module
    docstring), ``zero_init_residual``.
    """
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, **options)


@accepts_weights
def resnet34(num_classes=1000, **options):
    """ResNet-34 (BasicBlock, 3-4-6-3): 21,797,672 parameters at 1000 classes, as torchvision's.

    ``options`` as :func:`resnet18`.
    """
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes=num_classes, **options)


@accepts_weights
def resnet50(num_classes=1000, **options):
    """ResNet-50 (Bottleneck, 3-4-6-3): 25,557,032 parameters at 1000 classes, as torchvision's.

    ``options`` as :func:`resnet18`, plus ``groups`` and ``width_per_group``
    (torchvision's ResNeXt / wide-ResNet widths).
    """
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes=num_classes, **options)


@accepts_weights
def preact_resnet18(num_classes=1000, **options):
    """Pre-activation ResNet-18 (PreActBasicBlock, 2-2-2-2), He et al. 2016.

    ``options``: ``in_channels``, ``width``, ``small_input`` (module docstring).
    """
    return PreActResNet(PreActBasicBlock, [2, 2, 2, 2], num_classes=num_classes, **options)


@accepts_weights
def preact_resnet50(num_classes=1000, **options):
    """Pre-activation ResNet-50 (PreActBottleneck, 3-4-6-3), He et al. 2016.

    ``options`` as :func:`preact_resnet18`.
    """
    return PreActResNet(PreActBottleneck, [3, 4, 6, 3], num_classes=num_classes, **options)


MODELS = {
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "preact_resnet18": preact_resnet18,
    "preact_resnet50": preact_resnet50,
}
