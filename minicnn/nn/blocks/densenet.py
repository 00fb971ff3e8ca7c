"""DenseNet-BC blocks: DenseLayer, DenseBlock, Transition.

Notation: ``k`` the growth rate, ``b`` the bottleneck factor (``bn_size``,
4 in DenseNet-BC), ``C_0`` a dense block's input width. Layer ``i`` (1-based)
of a block sees the concatenation of the block input and the ``i - 1``
earlier layers' outputs, ``C_0 + (i - 1) k`` channels, and adds ``k`` new
ones; a block of ``L`` layers outputs ``C_0 + L k`` channels at the input's
resolution. A transition then halves the width and the resolution.

Layout and key names are torchvision's ``densenet.py`` (``denseblock1.
denselayer1.norm1.weight``, ``transition1.conv.weight``, ...), so the state
dicts of torchvision's DenseNets load as they are.
"""
import numbers

from ... import nn
from ..._validation import as_int
from .. import functional as F

__all__ = ["SeparableConv2d", "DenseLayer", "DenseBlock", "Transition"]


class SeparableConv2d(nn.Module):
    """Depthwise separable convolution: depthwise kxk (groups = C_in) then pointwise 1x1.

    Howard et al., "MobileNets", arXiv:1704.04861 (Sec. 3.1); the form of
    TensorFlow's ``separable_conv2d`` / Xception, with nothing between the
    two convs. ``y = pointwise(depthwise(x))``; parameters
    ``C_in k^2 + C_in C_out`` (no biases) against ``C_in C_out k^2`` for a
    regular conv. Keys: ``depthwise.weight`` (C_in, 1, k, k),
    ``pointwise.weight`` (C_out, C_in, 1, 1).
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=1):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride,
                                   padding=padding, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class DenseLayer(nn.Module):
    """One DenseNet-BC layer: BN -> ReLU -> 1x1 conv (b k) -> BN -> ReLU -> 3x3 conv (k).

    Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional
    Networks", CVPR 2017 (arXiv:1608.06993), Sec. 3 ("Bottleneck layers")::

        x   = cat(inputs, dim=1)                      # C_in channels
        h   = conv1(relu1(norm1(x)))                  # 1x1, C_in -> bn_size * growth_rate
        new = conv2(relu2(norm2(h)))                  # 3x3 pad 1, -> growth_rate
        new = dropout(new, drop_rate)                 # only when drop_rate > 0

    ``forward`` takes a tensor or a list of tensors (the block's features so
    far, concatenated here) and returns only the ``growth_rate`` new
    channels: (N, growth_rate, H, W). Arguments as torchvision's
    ``_DenseLayer(num_input_features, growth_rate, bn_size, drop_rate)``
    (its ``memory_efficient`` checkpointing has no counterpart here).

    ``separable=True`` selects the seed article's variant: conv2 becomes a
    depthwise separable 3x3 (:class:`SeparableConv2d`, keys
    ``conv2.depthwise.weight``, ``conv2.pointwise.weight``), about
    ``1 / growth_rate + 1 / 9`` of the regular conv's parameters. Otherwise
    the layer follows the paper; the article's own stage departs from it
    (errata 5): it orders conv -> activation -> BN instead of BN -> ReLU ->
    conv, and its 1x1 is not the paper's ``4k``-wide bottleneck.
    """

    def __init__(self, num_input_features, growth_rate, bn_size, drop_rate=0.0,
                 separable=False):
        super().__init__()
        num_input_features = as_int(num_input_features, "num_input_features", 1, "DenseLayer")
        growth_rate = as_int(growth_rate, "growth_rate", 1, "DenseLayer")
        bn_size = as_int(bn_size, "bn_size", 1, "DenseLayer")
        drop_rate = _check_drop_rate(drop_rate, "DenseLayer")
        width = bn_size * growth_rate
        self.num_input_features = num_input_features
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(num_input_features, width, kernel_size=1, stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU()
        if separable:
            self.conv2 = SeparableConv2d(width, growth_rate, kernel_size=3, padding=1)
        else:
            self.conv2 = nn.Conv2d(width, growth_rate, kernel_size=3, stride=1, padding=1,
                                   bias=False)
        self.drop_rate = drop_rate
        self.separable = bool(separable)

    def forward(self, inputs):
        features = [inputs] if not isinstance(inputs, (list, tuple)) else list(inputs)
        channels = sum(f.shape[1] for f in features if f.ndim == 4)
        if any(f.ndim != 4 for f in features) or channels != self.num_input_features:
            raise ValueError(f"DenseLayer: expected inputs of shape (N, C, H, W) with "
                             f"{self.num_input_features} channels in all, got shapes "
                             f"{[tuple(f.shape) for f in features]}")
        x = features[0] if len(features) == 1 else F.cat(features, 1)
        bottleneck = self.conv1(self.relu1(self.norm1(x)))
        new_features = self.conv2(self.relu2(self.norm2(bottleneck)))
        if self.drop_rate > 0:
            new_features = F.dropout(new_features, p=self.drop_rate, training=self.training)
        return new_features


class DenseBlock(nn.Module):
    """A dense block: ``num_layers`` DenseLayers, each fed every earlier feature map.

    Huang et al., CVPR 2017, Eq. (2) ``x_l = H_l([x_0, x_1, ..., x_{l-1}])``.
    ``forward`` returns ``cat([x_0, x_1, ..., x_L], dim=1)``: (N,
    num_input_features + num_layers * growth_rate, H, W). Children are named
    ``denselayer1 .. denselayerL`` as in torchvision's ``_DenseBlock(num_layers,
    num_input_features, bn_size, growth_rate, drop_rate)``. ``separable`` is
    passed to every :class:`DenseLayer` (the seed article's variant; see there
    for the article's departures from the paper).
    """

    def __init__(self, num_layers, num_input_features, bn_size, growth_rate, drop_rate=0.0,
                 separable=False):
        super().__init__()
        num_layers = as_int(num_layers, "num_layers", 1, "DenseBlock")
        num_input_features = as_int(num_input_features, "num_input_features", 1, "DenseBlock")
        bn_size = as_int(bn_size, "bn_size", 1, "DenseBlock")
        growth_rate = as_int(growth_rate, "growth_rate", 1, "DenseBlock")
        drop_rate = _check_drop_rate(drop_rate, "DenseBlock")
        self.num_input_features = num_input_features
        self.num_layers = num_layers
        self.out_channels = num_input_features + num_layers * growth_rate
        for i in range(num_layers):
            layer = DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size,
                               drop_rate, separable)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, init_features):
        if init_features.ndim != 4 or init_features.shape[1] != self.num_input_features:
            raise ValueError(f"DenseBlock: expected an input of shape "
                             f"(N, {self.num_input_features}, H, W), got "
                             f"{tuple(init_features.shape)}")
        features = [init_features]
        for i in range(self.num_layers):
            features.append(getattr(self, f"denselayer{i + 1}")(features))
        return F.cat(features, 1)


class Transition(nn.Module):
    """DenseNet transition: BN -> ReLU -> 1x1 conv -> 2x2 average pool (stride 2).

    Huang et al., CVPR 2017, Sec. 3 ("Pooling layers", "Compression"): with
    compression 0.5 (DenseNet-BC) ``num_output_features = num_input_features
    // 2``. Output: (N, num_output_features, floor(H/2), floor(W/2)); the
    input must be at least 2x2. Children ``norm, relu, conv, pool`` as in
    torchvision's ``_Transition``.
    """

    def __init__(self, num_input_features, num_output_features):
        super().__init__()
        num_input_features = as_int(num_input_features, "num_input_features", 1, "Transition")
        num_output_features = as_int(num_output_features, "num_output_features", 1,
                                     "Transition")
        self.num_input_features = num_input_features
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1,
                              bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.num_input_features or min(x.shape[2:]) < 2:
            raise ValueError(f"Transition: expected an input of shape "
                             f"(N, {self.num_input_features}, H, W) with H, W >= 2, got "
                             f"{tuple(x.shape)}")
        return self.pool(self.conv(self.relu(self.norm(x))))


def _check_drop_rate(drop_rate, block):
    if (not isinstance(drop_rate, numbers.Real) or isinstance(drop_rate, bool)
            or not 0.0 <= drop_rate < 1.0):
        raise ValueError(f"{block}: drop_rate must be a number in [0, 1), got {drop_rate!r}")
    return float(drop_rate)
