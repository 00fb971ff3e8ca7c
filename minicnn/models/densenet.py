"""DenseNet-BC (densenet121).

Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional
Networks", CVPR 2017 (arXiv:1608.06993), Table 1. With the defaults the
module tree, state_dict keys and shapes are torchvision's ``densenet121``
(``features.conv0``, ``features.denseblock1.denselayer1.norm1``, ...,
``features.norm5``, ``classifier``), so torchvision weights load by name.

Options (keyword arguments of :class:`DenseNet` and :func:`densenet121`):

``growth_rate`` (32), ``block_config`` ((6, 12, 24, 16)), ``num_init_features`` (64),
``bn_size`` (4), ``drop_rate`` (0)
    torchvision's DenseNet arguments: new channels per layer ``k``, layers
    per dense block, stem width, bottleneck factor (the 1x1 conv has
    ``bn_size * k`` outputs), dropout after each layer.
``in_channels`` (3)
    Input channels (1 for grayscale digits).
``small_input`` (False)
    CIFAR-style stem: the 7x7 stride-2 conv + 3x3 stride-2 max pool
    become one 3x3 stride-1 conv (``pool0`` is left out). Only the
    transitions then downsample (by 2 each): with three transitions an 8x8
    input reaches 1x1. For digits, e.g.
    ``densenet121(10, in_channels=1, small_input=True, growth_rate=8,
    num_init_features=16, block_config=(2, 2, 2))``.
``separable`` (False)
    The seed article's variant: each dense layer's 3x3 conv is a depthwise
    separable conv (see :class:`~minicnn.nn.blocks.densenet.DenseLayer`).
"""
from collections import OrderedDict

from .. import nn
from .._validation import as_int
from ..nn import functional as F
from ..nn.blocks.densenet import DenseBlock, Transition, _check_drop_rate
from ._weights import accepts_weights

__all__ = ["DenseNet", "densenet121", "MODELS"]


class DenseNet(nn.Module):
    """DenseNet-BC: stem, dense blocks joined by transitions, BN, ReLU, global pool, linear.

    Forward::

        f = features(x)   # conv0, norm0, relu0, pool0, denseblock1, transition1, ..., norm5
        logits = classifier(flatten(adaptive_avg_pool2d(relu(f), 1)))

    Transition ``i`` halves the width (compression 0.5) and the resolution.
    Initialisation is torchvision's: convs Kaiming-normal (fan_in), BN weight
    1 and bias 0, classifier bias 0 (weight PyTorch's default). Options are
    described in the module docstring. The input must be large enough for
    every transition's 2x2 pool: :meth:`forward` checks it and names the
    smallest size that works.
    """

    def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64,
                 bn_size=4, drop_rate=0.0, num_classes=1000, *, in_channels=3,
                 small_input=False, separable=False):
        super().__init__()
        growth_rate = as_int(growth_rate, "growth_rate", 1, "DenseNet")
        num_init_features = as_int(num_init_features, "num_init_features", 1, "DenseNet")
        bn_size = as_int(bn_size, "bn_size", 1, "DenseNet")
        drop_rate = _check_drop_rate(drop_rate, "DenseNet")
        num_classes = as_int(num_classes, "num_classes", 1, "DenseNet")
        in_channels = as_int(in_channels, "in_channels", 1, "DenseNet")
        if not isinstance(block_config, (tuple, list)) or len(block_config) == 0:
            raise ValueError(f"DenseNet: block_config must be a non-empty sequence of layer "
                             f"counts, got {block_config!r}")
        block_config = [as_int(n, "block_config", 1, "DenseNet") for n in block_config]
        self.in_channels = in_channels
        self.small_input = bool(small_input)
        self.num_transitions = len(block_config) - 1

        if small_input:
            stem = [("conv0", nn.Conv2d(in_channels, num_init_features, kernel_size=3, stride=1,
                                        padding=1, bias=False))]
        else:
            stem = [("conv0", nn.Conv2d(in_channels, num_init_features, kernel_size=7, stride=2,
                                        padding=3, bias=False))]
        stem += [("norm0", nn.BatchNorm2d(num_init_features)), ("relu0", nn.ReLU())]
        if not small_input:
            stem.append(("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
        self.features = nn.Sequential(OrderedDict(stem))

        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            block = DenseBlock(num_layers, num_features, bn_size, growth_rate, drop_rate,
                               separable)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}",
                                         Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def min_input_size(self):
        """Smallest H (= W) for which every transition's 2x2 pool has an input of at least 2x2."""
        size = 2 ** self.num_transitions
        if not self.small_input:
            # Invert the stem: 3x3/2 pool (pad 1) and 7x7/2 conv (pad 3) each map h to
            # floor((h - 1) / 2) + 1, so reaching `size` needs h >= 2 (size - 1) + 1 twice.
            for _ in range(2):
                size = 2 * (size - 1) + 1
        return size

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"DenseNet: expected an input of shape (N, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        smallest = self.min_input_size()
        if min(x.shape[2:]) < smallest:
            raise ValueError(f"DenseNet: input of shape {tuple(x.shape)} is too small: its "
                             f"{self.num_transitions} transitions need H, W >= {smallest}")
        features = self.features(x)
        out = F.relu(features)
        out = F.adaptive_avg_pool2d(out, (1, 1)).flatten(1)
        return self.classifier(out)


@accepts_weights
def densenet121(num_classes=1000, **options):
    """DenseNet-121 (k = 32, blocks 6-12-24-16, 64 stem channels, bn_size 4).

    7,978,856 parameters at 1000 classes, as torchvision's. ``options`` (see
    the module docstring) override any of :class:`DenseNet`'s arguments.
    """
    config = dict(growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64)
    config.update(options)
    return DenseNet(num_classes=num_classes, **config)


MODELS = {"densenet121": densenet121}
