"""EfficientNet-B0 (efficientnet_b0).

Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019 (arXiv:1905.11946), Table 1: a 3x3 stride-2 stem, seven
stages of MBConv blocks, a 1x1 conv to 1280, global average pool, dropout 0.2 and
a linear head. Stochastic depth drops each residual branch in training with a
probability that grows linearly with the block index: block ``i`` of ``16`` gets
``0.2 * i / 16`` (0 for the first block, 0.1875 for the last).

With the defaults, the module tree, state_dict keys and shapes are torchvision's
``efficientnet_b0`` (5,288,548 parameters), so torchvision weights load by name,
and the initialisation is torchvision's: convs Kaiming-normal (``mode='fan_out'``)
with zero bias, BN weight 1 and bias 0, the linear layer
``uniform(-1/sqrt(num_classes), 1/sqrt(num_classes))`` with zero bias. BN uses
PyTorch's defaults (``eps=1e-5, momentum=0.1``), as torchvision's B0-B7 do.

Options (keyword arguments of :func:`efficientnet_b0`):

``width_mult``, ``depth_mult`` (1.0)
    EfficientNet's compound-scaling factors: widths become
    ``make_divisible(c * width_mult, 8)`` and repeats ``ceil(n * depth_mult)``
    (torchvision's B1-B7 are B0 with other factors and input sizes).
``small_input`` (False)
    For 32x32 and 8x8 inputs: the stem conv gets stride 1 and the first two
    stride-2 stages (24 and 40 channels) get stride 1, so the network downsamples
    by 4 instead of 32: 32x32 -> 8x8 and 8x8 -> 2x2 before the pool.
``in_channels`` (3), ``dropout`` (0.2), ``stochastic_depth_prob`` (0.2).

Inputs must be (N, in_channels, H, W) with H and W at least the total stride (32,
or 4 with ``small_input``).
"""
import copy
import math

from .. import nn
from .._validation import as_int
from ..nn import functional as F
from ..nn.blocks.conv_norm_act import Conv2dNormActivation, make_divisible
from ..nn.blocks.efficientnet import MBConv
from ._weights import accepts_weights
from .mobilenet import (_check_dropout, _check_positive, check_image_input,
                        init_mobile_weights, stem_and_strides)

__all__ = ["EfficientNet", "MBConvConfig", "efficientnet_b0", "MODELS"]


class MBConvConfig:
    """One EfficientNet stage, as torchvision's ``MBConvConfig``: ``(expand_ratio, kernel,
    stride, input_channels, out_channels, num_layers, width_mult=1.0, depth_mult=1.0)``;
    widths become ``make_divisible(c * width_mult, 8)``, repeats ``ceil(n * depth_mult)``."""

    def __init__(self, expand_ratio, kernel, stride, input_channels, out_channels, num_layers,
                 width_mult=1.0, depth_mult=1.0):
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.num_layers = self.adjust_depth(num_layers, depth_mult)

    @staticmethod
    def adjust_channels(channels, width_mult, min_value=None):
        return make_divisible(channels * width_mult, 8, min_value)

    @staticmethod
    def adjust_depth(num_layers, depth_mult):
        return int(math.ceil(num_layers * depth_mult))

    def __repr__(self):
        return (f"MBConvConfig(expand_ratio={self.expand_ratio}, kernel={self.kernel}, "
                f"stride={self.stride}, input_channels={self.input_channels}, "
                f"out_channels={self.out_channels}, num_layers={self.num_layers})")


def efficientnet_config(width_mult=1.0, depth_mult=1.0):
    """The B0 stage list of the paper's Table 1 (rows ``t, k, s, C_in, C_out, repeats``),
    scaled by ``width_mult`` and ``depth_mult`` (torchvision's ``_efficientnet_conf``)."""
    def bneck_conf(*args):
        return MBConvConfig(*args, width_mult=width_mult, depth_mult=depth_mult)

    return [
        bneck_conf(1, 3, 1, 32, 16, 1),
        bneck_conf(6, 3, 2, 16, 24, 2),
        bneck_conf(6, 5, 2, 24, 40, 2),
        bneck_conf(6, 3, 2, 40, 80, 3),
        bneck_conf(6, 5, 1, 80, 112, 3),
        bneck_conf(6, 5, 2, 112, 192, 4),
        bneck_conf(6, 3, 1, 192, 320, 1),
    ]


class EfficientNet(nn.Module):
    """EfficientNet: ``features = [stem, stage_1..stage_7 (each a Sequential of MBConv),
    Conv2dNormActivation(C, 4 C or last_channel, 1)]``, ``avgpool``,
    ``classifier = Sequential(Dropout, Linear)``; SiLU throughout.

    ``EfficientNet(inverted_residual_setting, dropout, stochastic_depth_prob=0.2,
    num_classes=1000, norm_layer=None, last_channel=None, *, small_input=False,
    in_channels=3)``; the positional arguments are torchvision's. The first block of each
    stage takes the stage's stride and input width; the others stride 1 and
    ``C_out -> C_out``. Block ``i`` (counted over all stages, from 0) drops its residual
    branch with probability ``stochastic_depth_prob * i / total_blocks``.
    """

    def __init__(self, inverted_residual_setting, dropout, stochastic_depth_prob=0.2,
                 num_classes=1000, norm_layer=None, last_channel=None, *, small_input=False,
                 in_channels=3):
        super().__init__()
        op = "EfficientNet"
        num_classes = as_int(num_classes, "num_classes", 1, op)
        in_channels = as_int(in_channels, "in_channels", 1, op)
        _check_dropout(op, dropout)
        if isinstance(stochastic_depth_prob, bool) \
                or not isinstance(stochastic_depth_prob, (int, float)) \
                or not 0.0 <= stochastic_depth_prob <= 1.0:
            raise ValueError(f"{op}: stochastic_depth_prob must be in [0, 1], "
                             f"got {stochastic_depth_prob!r}")
        if not inverted_residual_setting or not all(
                isinstance(c, MBConvConfig) for c in inverted_residual_setting):
            raise TypeError(f"{op}: inverted_residual_setting should be a non-empty list of "
                            f"MBConvConfig")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d

        stem_stride, strides, self.total_stride = stem_and_strides(
            [cnf.stride for cnf in inverted_residual_setting], small_input)
        self.in_channels = in_channels

        layers = [Conv2dNormActivation(in_channels, inverted_residual_setting[0].input_channels,
                                       kernel_size=3, stride=stem_stride, norm_layer=norm_layer,
                                       activation_layer=nn.SiLU)]
        total_stage_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        stage_block_id = 0
        for cnf, stage_stride in zip(inverted_residual_setting, strides):
            stage = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                block_cnf.stride = stage_stride
                if stage:
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                sd_prob = stochastic_depth_prob * float(stage_block_id) / total_stage_blocks
                stage.append(MBConv(block_cnf.input_channels, block_cnf.out_channels,
                                    block_cnf.expand_ratio, block_cnf.kernel, block_cnf.stride,
                                    sd_prob, norm_layer))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))

        lastconv_input_channels = inverted_residual_setting[-1].out_channels
        lastconv_output_channels = (last_channel if last_channel is not None
                                    else 4 * lastconv_input_channels)
        layers.append(Conv2dNormActivation(lastconv_input_channels, lastconv_output_channels,
                                           kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(lastconv_output_channels, num_classes),
        )
        init_mobile_weights(self, linear="uniform")

    def forward(self, x):
        check_image_input("EfficientNet", x, self.in_channels, self.total_stride)
        x = self.features(x)       # (N, 1280, H/32, W/32)
        x = self.avgpool(x)        # (N, 1280, 1, 1)
        x = F.flatten(x, 1)        # (N, 1280)
        return self.classifier(x)  # (N, num_classes)


@accepts_weights
def efficientnet_b0(num_classes=1000, *, width_mult=1.0, depth_mult=1.0, dropout=0.2,
                    **options):
    """EfficientNet-B0 (torchvision's ``efficientnet_b0``: 5,288,548 parameters at 1000
    classes; dropout 0.2, stochastic depth 0.2).

    ``options``: ``width_mult``, ``depth_mult``, ``small_input``, ``in_channels``,
    ``dropout``, ``stochastic_depth_prob``, ``norm_layer`` (module docstring)."""
    _check_positive("efficientnet_b0", "width_mult", width_mult)
    _check_positive("efficientnet_b0", "depth_mult", depth_mult)
    return EfficientNet(efficientnet_config(width_mult, depth_mult), dropout,
                        num_classes=num_classes, **options)


MODELS = {"efficientnet_b0": efficientnet_b0}
