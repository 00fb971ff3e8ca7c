"""MobileNetV2 (mobilenet_v2) and MobileNetV3 (mobilenet_v3_small, mobilenet_v3_large).

* :class:`MobileNetV2`: Sandler et al., "MobileNetV2: Inverted Residuals and Linear
  Bottlenecks", CVPR 2018 (arXiv:1801.04381), Table 2.
* :class:`MobileNetV3`: Howard et al., "Searching for MobileNetV3", ICCV 2019
  (arXiv:1905.02244), Tables 1 (large) and 2 (small).

With the defaults, the module tree, state_dict keys and shapes are torchvision's
``mobilenet_v2``, ``mobilenet_v3_small`` and ``mobilenet_v3_large`` (3,504,872,
2,542,856 and 5,483,032 parameters), so torchvision weights load by name, and the
initialisation is torchvision's: convs Kaiming-normal (``mode='fan_out'``, gain
``sqrt(2)``) with zero bias, BN weight 1 and bias 0, linear layers ``normal(0, 0.01)``
with zero bias.

Options (keyword arguments of every constructor here):

``width_mult`` (1.0)
    Multiplies every width, each rounded with ``make_divisible(c * width_mult, 8)``
    (torchvision's). MobileNetV2 keeps its last 1280-wide conv unless
    ``width_mult > 1``; MobileNetV3 scales its classifier's hidden width too.
``small_input`` (False)
    For 32x32 and 8x8 inputs: the stem conv gets stride 1 and the first two
    stride-2 stages get stride 1 (MobileNetV2: the 24- and 32-channel stages;
    V3-large: the 24- and 40-channel ones; V3-small: its first two blocks), so
    the network downsamples by 4 instead of 32: 32x32 -> 8x8 and 8x8 -> 2x2 before
    the global average pool. Parameter counts are unchanged (strides hold none).
``in_channels`` (3)
    Input channels (1 for grayscale digits).
``dropout`` (0.2)
    Dropout probability before the last linear layer (torchvision's default).

Inputs must be (N, in_channels, H, W) with H and W at least the network's total
stride (32, or 4 with ``small_input``): below that, the last stages only ever see
zero padding around one pixel.
"""
import math

from .. import nn
from .._validation import as_int
from ..nn import functional as F
from ..nn.blocks.conv_norm_act import Conv2dNormActivation, make_divisible
from ..nn.blocks.mobilenet import InvertedResidual, InvertedResidualConfig, MobileNetV3Bottleneck
from ._weights import accepts_weights

__all__ = ["MobileNetV2", "MobileNetV3", "mobilenet_v2", "mobilenet_v3_small",
           "mobilenet_v3_large", "MODELS"]


def check_image_input(model, x, in_channels, total_stride, small_input_hint=True):
    """A model's input must be (N, in_channels, H, W) with H, W >= the total stride."""
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(f"{model}: expected an input of shape (N, {in_channels}, H, W), "
                         f"got {tuple(x.shape)}")
    height, width = x.shape[2], x.shape[3]
    if min(height, width) < total_stride:
        hint = (" (small_input=True downsamples by 4 only)"
                if small_input_hint and total_stride > 4 else "")
        raise ValueError(f"{model}: input spatial size {height}x{width} is smaller than the "
                         f"network's total stride {total_stride}{hint}")


def small_input_strides(strides, keep=2):
    """``strides`` with every stride-2 entry but the last ``keep`` set to 1."""
    twos = [i for i, s in enumerate(strides) if s > 1]
    drop = set(twos[:max(0, len(twos) - keep)])
    return [1 if i in drop else s for i, s in enumerate(strides)]


def stem_and_strides(strides, small_input):
    """``(stem_stride, strides, total_stride)``: the stem's stride 2 and the blocks' strides,
    or for ``small_input`` a stride-1 stem and only the last two stride-2 blocks kept
    (:func:`small_input_strides`); ``total_stride`` is their product."""
    stem_stride = 2
    if small_input:
        strides, stem_stride = small_input_strides(strides), 1
    return stem_stride, strides, stem_stride * math.prod(strides)


def init_mobile_weights(model, linear="normal"):
    """torchvision's initialisation for MobileNetV2/V3 and EfficientNet.

    Conv2d: ``kaiming_normal_(mode='fan_out')`` (std ``sqrt(2 / (C_out k k))``), bias 0;
    BatchNorm2d: weight 1, bias 0; Linear: ``normal(0, 0.01)`` (``linear='normal'``,
    MobileNets) or ``uniform(-1/sqrt(out), 1/sqrt(out))`` (``linear='uniform'``,
    EfficientNet), bias 0.
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            if linear == "normal":
                nn.init.normal_(m.weight, 0, 0.01)
            else:
                init_range = 1.0 / m.out_features ** 0.5
                nn.init.uniform_(m.weight, -init_range, init_range)
            nn.init.zeros_(m.bias)


def _check_dropout(model, dropout):
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
            or not 0.0 <= dropout <= 1.0:
        raise ValueError(f"{model}: dropout must be a probability in [0, 1], got {dropout!r}")


def _check_positive(model, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{model}: {name} must be a positive number, got {value!r}")


class MobileNetV2(nn.Module):
    """MobileNetV2: a 3x3 stride-2 stem, 17 inverted residuals, a 1x1 conv to 1280, global
    average pool, dropout and a linear head.

    ``MobileNetV2(num_classes=1000, width_mult=1.0, inverted_residual_setting=None,
    round_nearest=8, block=None, norm_layer=None, dropout=0.2, *, small_input=False,
    in_channels=3)``; the positional arguments are torchvision's. ``inverted_residual_setting``
    lists ``[t, c, n, s]`` rows (expansion, width, repeats, stride of the first block)::

        [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
        [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]

    Forward: ``classifier(flatten(adaptive_avg_pool2d(features(x), 1)))`` with
    ``features = [stem, blocks..., Conv2dNormActivation(C, 1280, 1)]`` (ReLU6 throughout) and
    ``classifier = Sequential(Dropout, Linear(1280, num_classes))``.
    """

    def __init__(self, num_classes=1000, width_mult=1.0, inverted_residual_setting=None,
                 round_nearest=8, block=None, norm_layer=None, dropout=0.2, *,
                 small_input=False, in_channels=3):
        super().__init__()
        op = "MobileNetV2"
        num_classes = as_int(num_classes, "num_classes", 1, op)
        in_channels = as_int(in_channels, "in_channels", 1, op)
        round_nearest = as_int(round_nearest, "round_nearest", 1, op)
        _check_positive(op, "width_mult", width_mult)
        _check_dropout(op, dropout)
        if block is None:
            block = InvertedResidual
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if inverted_residual_setting is None:
            inverted_residual_setting = [
                # t, c, n, s
                [1, 16, 1, 1],
                [6, 24, 2, 2],
                [6, 32, 3, 2],
                [6, 64, 4, 2],
                [6, 96, 3, 1],
                [6, 160, 3, 2],
                [6, 320, 1, 1],
            ]
        if len(inverted_residual_setting) == 0 or any(len(row) != 4
                                                      for row in inverted_residual_setting):
            raise ValueError(f"{op}: inverted_residual_setting should be a non-empty list of "
                             f"[t, c, n, s] rows, got {inverted_residual_setting!r}")
        stem_stride, strides, self.total_stride = stem_and_strides(
            [row[3] for row in inverted_residual_setting], small_input)
        self.in_channels = in_channels

        input_channel = make_divisible(32 * width_mult, round_nearest)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features = [Conv2dNormActivation(in_channels, input_channel, stride=stem_stride,
                                         norm_layer=norm_layer, activation_layer=nn.ReLU6)]
        for (t, c, n, _), s in zip(inverted_residual_setting, strides):
            output_channel = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(block(input_channel, output_channel, s if i == 0 else 1,
                                      expand_ratio=t, norm_layer=norm_layer))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1,
                                             norm_layer=norm_layer, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(self.last_channel, num_classes),
        )
        init_mobile_weights(self, linear="normal")

    def forward(self, x):
        check_image_input("MobileNetV2", x, self.in_channels, self.total_stride)
        x = self.features(x)                       # (N, 1280, H/32, W/32)
        x = F.adaptive_avg_pool2d(x, (1, 1))       # (N, 1280, 1, 1)
        x = F.flatten(x, 1)                        # (N, 1280)
        return self.classifier(x)                  # (N, num_classes)


class MobileNetV3(nn.Module):
    """MobileNetV3: a 3x3 stride-2 hard-swish stem, bottlenecks, a 1x1 conv to ``6 C``,
    global average pool, ``Linear -> Hardswish -> Dropout -> Linear``.

    ``MobileNetV3(inverted_residual_setting, last_channel, num_classes=1000, block=None,
    norm_layer=None, dropout=0.2, *, small_input=False, in_channels=3)`` with a list of
    :class:`InvertedResidualConfig` (torchvision's arguments); ``block(cnf, norm_layer)``
    builds each bottleneck (default :meth:`MobileNetV3Bottleneck.from_config`). BatchNorm
    uses ``eps=0.001, momentum=0.01`` as in torchvision (the TensorFlow reference values).
    """

    def __init__(self, inverted_residual_setting, last_channel, num_classes=1000, block=None,
                 norm_layer=None, dropout=0.2, *, small_input=False, in_channels=3):
        super().__init__()
        op = "MobileNetV3"
        num_classes = as_int(num_classes, "num_classes", 1, op)
        in_channels = as_int(in_channels, "in_channels", 1, op)
        last_channel = as_int(last_channel, "last_channel", 1, op)
        _check_dropout(op, dropout)
        if not inverted_residual_setting or not all(
                isinstance(c, InvertedResidualConfig) for c in inverted_residual_setting):
            raise TypeError(f"{op}: inverted_residual_setting should be a non-empty list of "
                            f"InvertedResidualConfig")
        if block is None:
            block = MobileNetV3Bottleneck.from_config
        if norm_layer is None:
            def norm_layer(num_features):
                return nn.BatchNorm2d(num_features, eps=0.001, momentum=0.01)

        stem_stride, strides, self.total_stride = stem_and_strides(
            [1 if cnf.dilation > 1 else cnf.stride for cnf in inverted_residual_setting],
            small_input)
        if small_input:
            settings = []
            for cnf, s in zip(inverted_residual_setting, strides):
                if cnf.dilation == 1 and cnf.stride != s:
                    cnf = _copy_config(cnf, stride=s)
                settings.append(cnf)
            inverted_residual_setting = settings
        self.in_channels = in_channels

        first_channels = inverted_residual_setting[0].input_channels
        layers = [Conv2dNormActivation(in_channels, first_channels, kernel_size=3,
                                       stride=stem_stride, norm_layer=norm_layer,
                                       activation_layer=nn.Hardswish)]
        for cnf in inverted_residual_setting:
            layers.append(block(cnf, norm_layer))
        lastconv_input_channels = inverted_residual_setting[-1].out_channels
        lastconv_output_channels = 6 * lastconv_input_channels
        layers.append(Conv2dNormActivation(lastconv_input_channels, lastconv_output_channels,
                                           kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(lastconv_output_channels, last_channel),
            nn.Hardswish(),
            nn.Dropout(p=dropout),
            nn.Linear(last_channel, num_classes),
        )
        init_mobile_weights(self, linear="normal")

    def forward(self, x):
        check_image_input("MobileNetV3", x, self.in_channels, self.total_stride)
        x = self.features(x)       # (N, 6 C, H/32, W/32)
        x = self.avgpool(x)        # (N, 6 C, 1, 1)
        x = F.flatten(x, 1)        # (N, 6 C)
        return self.classifier(x)  # (N, num_classes)


def _copy_config(cnf, **changes):
    new = InvertedResidualConfig.__new__(InvertedResidualConfig)
    new.__dict__.update(cnf.__dict__)
    new.__dict__.update(changes)
    return new


def mobilenet_v3_config(arch, width_mult=1.0, reduced_tail=False, dilated=False):
    """torchvision's ``_mobilenet_v3_conf``: the bottleneck list and the classifier's hidden
    width of ``'mobilenet_v3_large'`` (paper Table 1) or ``'mobilenet_v3_small'`` (Table 2).
    Rows read ``(C_in, k, E, C_out, SE, activation, stride, dilation)``."""
    reduce_divider = 2 if reduced_tail else 1
    dilation = 2 if dilated else 1

    def bneck_conf(*args):
        return InvertedResidualConfig(*args, width_mult=width_mult)

    def adjust_channels(channels):
        return InvertedResidualConfig.adjust_channels(channels, width_mult)

    if arch == "mobilenet_v3_large":
        setting = [
            bneck_conf(16, 3, 16, 16, False, "RE", 1, 1),
            bneck_conf(16, 3, 64, 24, False, "RE", 2, 1),  # C1
            bneck_conf(24, 3, 72, 24, False, "RE", 1, 1),
            bneck_conf(24, 5, 72, 40, True, "RE", 2, 1),  # C2
            bneck_conf(40, 5, 120, 40, True, "RE", 1, 1),
            bneck_conf(40, 5, 120, 40, True, "RE", 1, 1),
            bneck_conf(40, 3, 240, 80, False, "HS", 2, 1),  # C3
            bneck_conf(80, 3, 200, 80, False, "HS", 1, 1),
            bneck_conf(80, 3, 184, 80, False, "HS", 1, 1),
            bneck_conf(80, 3, 184, 80, False, "HS", 1, 1),
            bneck_conf(80, 3, 480, 112, True, "HS", 1, 1),
            bneck_conf(112, 3, 672, 112, True, "HS", 1, 1),
            bneck_conf(112, 5, 672, 160 // reduce_divider, True, "HS", 2, dilation),  # C4
            bneck_conf(160 // reduce_divider, 5, 960 // reduce_divider, 160 // reduce_divider,
                       True, "HS", 1, dilation),
            bneck_conf(160 // reduce_divider, 5, 960 // reduce_divider, 160 // reduce_divider,
                       True, "HS", 1, dilation),
        ]
        last_channel = adjust_channels(1280 // reduce_divider)  # C5
    elif arch == "mobilenet_v3_small":
        setting = [
            bneck_conf(16, 3, 16, 16, True, "RE", 2, 1),  # C1
            bneck_conf(16, 3, 72, 24, False, "RE", 2, 1),  # C2
            bneck_conf(24, 3, 88, 24, False, "RE", 1, 1),
            bneck_conf(24, 5, 96, 40, True, "HS", 2, 1),  # C3
            bneck_conf(40, 5, 240, 40, True, "HS", 1, 1),
            bneck_conf(40, 5, 240, 40, True, "HS", 1, 1),
            bneck_conf(40, 5, 120, 48, True, "HS", 1, 1),
            bneck_conf(48, 5, 144, 48, True, "HS", 1, 1),
            bneck_conf(48, 5, 288, 96 // reduce_divider, True, "HS", 2, dilation),  # C4
            bneck_conf(96 // reduce_divider, 5, 576 // reduce_divider, 96 // reduce_divider,
                       True, "HS", 1, dilation),
            bneck_conf(96 // reduce_divider, 5, 576 // reduce_divider, 96 // reduce_divider,
                       True, "HS", 1, dilation),
        ]
        last_channel = adjust_channels(1024 // reduce_divider)  # C5
    else:
        raise ValueError(f"mobilenet_v3_config: unknown arch {arch!r}, expected "
                         f"'mobilenet_v3_large' or 'mobilenet_v3_small'")
    return setting, last_channel


@accepts_weights
def mobilenet_v2(num_classes=1000, **options):
    """MobileNetV2 (torchvision's ``mobilenet_v2``: 3,504,872 parameters at 1000 classes).

    ``options``: ``width_mult``, ``small_input``, ``in_channels``, ``dropout`` (module
    docstring), and the other :class:`MobileNetV2` arguments."""
    return MobileNetV2(num_classes=num_classes, **options)


def _mobilenet_v3(arch, num_classes, width_mult=1.0, reduced_tail=False, dilated=False,
                  **options):
    _check_positive(arch, "width_mult", width_mult)
    setting, last_channel = mobilenet_v3_config(arch, width_mult, reduced_tail, dilated)
    return MobileNetV3(setting, last_channel, num_classes=num_classes, **options)


@accepts_weights
def mobilenet_v3_small(num_classes=1000, **options):
    """MobileNetV3-Small (torchvision's ``mobilenet_v3_small``: 2,542,856 parameters).

    ``options``: ``width_mult``, ``small_input``, ``in_channels``, ``dropout`` (module
    docstring); ``reduced_tail`` and ``dilated`` as in torchvision."""
    return _mobilenet_v3("mobilenet_v3_small", num_classes, **options)


@accepts_weights
def mobilenet_v3_large(num_classes=1000, **options):
    """MobileNetV3-Large (torchvision's ``mobilenet_v3_large``: 5,483,032 parameters).

    ``options``: ``width_mult``, ``small_input``, ``in_channels``, ``dropout`` (module
    docstring); ``reduced_tail`` and ``dilated`` as in torchvision."""
    return _mobilenet_v3("mobilenet_v3_large", num_classes, **options)


MODELS = {
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3_small": mobilenet_v3_small,
    "mobilenet_v3_large": mobilenet_v3_large,
}
