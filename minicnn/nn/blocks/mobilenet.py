"""MobileNet blocks: the V2 inverted residual and the V3 bottleneck.

Notation: ``x`` the block input (N, C_in, H, W), ``t`` the expansion ratio,
``E`` the expanded width (``round(t * C_in)`` in V2, given explicitly in V3),
``C_out`` the output width, ``k`` the depthwise kernel, ``s`` the stride.
Every depthwise conv has padding ``(k - 1) // 2``, so
``H_out = floor((H - 1) / s) + 1``.

Both blocks are *inverted* residuals: where a ResNet bottleneck squeezes the
width, runs the 3x3 conv narrow and expands again, these expand with a 1x1 conv
(``C_in -> E``), filter each channel on its own with a depthwise ``k x k`` conv
(``E`` filters of ``k*k`` weights instead of ``E*E*k*k``), and project back with
a *linear* 1x1 conv (no activation: a ReLU on a narrow representation destroys
information, the MobileNetV2 paper's argument). The residual ``x + F(x)`` is
added only when the shapes allow it (``s == 1`` and ``C_in == C_out``); no
projection shortcut exists.

Cost of one block (multiply-accumulates per output pixel, no SE):
``C_in*E`` (expand, at input resolution) ``+ E*k*k`` (depthwise)
``+ E*C_out`` (project), against ``C_in*C_out*k*k`` for one dense conv.

Module layout and state_dict keys follow torchvision (``mobilenetv2.InvertedResidual``
with ``conv``, ``mobilenetv3.InvertedResidual`` with ``block``).
"""
from ... import nn
from ..._validation import as_int
from .conv_norm_act import Conv2dNormActivation, make_divisible

__all__ = ["InvertedResidual", "MobileNetV3Bottleneck", "InvertedResidualConfig"]


def _check_input(block, x, channels):
    """The block's input must be (N, channels, H, W): say so before any conv runs."""
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{block}: expected an input of shape (N, {channels}, H, W), "
                         f"got {tuple(x.shape)}")


class InvertedResidual(nn.Module):
    """MobileNetV2 inverted residual (Sandler et al. 2018, "MobileNetV2: Inverted Residuals
    and Linear Bottlenecks", Table 1).

    ``y = x + F(x)`` when ``stride == 1`` and ``in_channels == out_channels``, else ``F(x)``;
    ``F = BN(conv1x1(E -> C_out)) . ReLU6(BN(dwconv3x3_s(E))) . ReLU6(BN(conv1x1(C_in -> E)))``
    with ``E = round(expand_ratio * in_channels)``; the expansion conv is left out when
    ``expand_ratio == 1`` (the first MobileNetV2 block), as in the paper's reference code.

    Arguments (positionally torchvision's ``InvertedResidual(inp, oup, stride, expand_ratio,
    norm_layer=None)``): ``in_channels, out_channels, stride`` (1 or 2), ``expand_ratio``
    (> 0), ``norm_layer`` (default ``BatchNorm2d``).

    Layout (torchvision's): ``conv = Sequential(Conv2dNormActivation expand (absent when
    t == 1), Conv2dNormActivation depthwise, Conv2d project, BatchNorm2d)``; keys
    ``conv.0.0.weight``, ``conv.0.1.weight``, ..., ``conv.2.weight``, ``conv.3.running_var``.

    Where the seed article's ``res_block`` departs from the paper (errata 7): its depthwise
    conv is called without the stride, so a stride-2 block does not downsample; it adds a
    1x1 projection shortcut when the widths differ (the paper adds no residual then); it
    never skips the expansion for ``t == 1``.
    """

    def __init__(self, in_channels, out_channels, stride, expand_ratio, norm_layer=None):
        super().__init__()
        op = "InvertedResidual"
        in_channels = as_int(in_channels, "in_channels", 1, op)
        out_channels = as_int(out_channels, "out_channels", 1, op)
        if stride not in (1, 2):
            raise ValueError(f"{op}: stride must be 1 or 2, got {stride!r}")
        if not isinstance(expand_ratio, (int, float)) or isinstance(expand_ratio, bool) \
                or not expand_ratio > 0:
            raise ValueError(f"{op}: expand_ratio must be a positive number, got {expand_ratio!r}")
        hidden_dim = int(round(in_channels * expand_ratio))
        if hidden_dim < 1:
            raise ValueError(f"{op}: expanded width round(in_channels * expand_ratio) = "
                             f"round({in_channels} * {expand_ratio}) = {hidden_dim} must be >= 1")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.stride = stride
        self.in_channels = in_channels
        self.use_res_connect = stride == 1 and in_channels == out_channels

        layers = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(in_channels, hidden_dim, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=nn.ReLU6))
        layers.extend([
            # depthwise: one 3x3 filter per channel (groups == channels)
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim,
                                 norm_layer=norm_layer, activation_layer=nn.ReLU6),
            # linear projection: no activation after it
            nn.Conv2d(hidden_dim, out_channels, 1, 1, 0, bias=False),
            norm_layer(out_channels),
        ])
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels
        self._is_cn = stride > 1

    def forward(self, x):
        _check_input("InvertedResidual", x, self.in_channels)
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


_ACTIVATIONS = {"RE": "RE", "relu": "RE", "HS": "HS", "hardswish": "HS"}


class InvertedResidualConfig:
    """One MobileNetV3 bottleneck's widths, as torchvision's ``InvertedResidualConfig``:
    ``(input_channels, kernel, expanded_channels, out_channels, use_se, activation ('RE' or
    'HS'), stride, dilation, width_mult)``; the three widths are scaled by ``width_mult`` and
    rounded with ``make_divisible(c * width_mult, 8)``."""

    def __init__(self, input_channels, kernel, expanded_channels, out_channels, use_se,
                 activation, stride, dilation, width_mult):
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.kernel = kernel
        self.expanded_channels = self.adjust_channels(expanded_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.use_se = use_se
        self.use_hs = _ACTIVATIONS.get(activation) == "HS"
        self.activation = activation
        self.stride = stride
        self.dilation = dilation

    @staticmethod
    def adjust_channels(channels, width_mult):
        return make_divisible(channels * width_mult, 8)


class MobileNetV3Bottleneck(nn.Module):
    """MobileNetV3 bottleneck (Howard et al. 2019, "Searching for MobileNetV3", Fig. 4 and
    Tables 1-2): a MobileNetV2 inverted residual with an optional squeeze-and-excitation
    between the depthwise conv and the projection, and ReLU or hard-swish per block.

    ``F = BN(conv1x1(E -> C_out)) . SE? . act(BN(dwconv_kxk_s(E))) . act(BN(conv1x1(C_in -> E)))``,
    ``y = x + F(x)`` when ``stride == 1`` and ``C_in == C_out``; the expansion conv is left out
    when ``E == C_in``. ``act`` is ReLU (``'RE'``/``'relu'``) or
    ``hardswish(z) = z * ReLU6(z + 3) / 6`` (``'HS'``/``'hardswish'``).
    SE (Hu et al. 2018, with the V3 paper's hard gate):
    ``z * hardsigmoid(fc2(ReLU(fc1(avgpool(z)))))`` with ``hardsigmoid(u) = ReLU6(u + 3) / 6``,
    ``fc1: E -> make_divisible(E // 4, 8)`` and ``fc2`` back to ``E`` (1x1 convs with bias).

    Arguments: ``in_channels, expanded_channels, out_channels, kernel_size=3, stride=1``
    (1 or 2), ``use_se=False``, ``activation='RE'``, ``dilation=1`` (when > 1 the stride is
    replaced by 1, torchvision's dilated tail), ``norm_layer`` (default ``BatchNorm2d``;
    the MobileNetV3 models pass ``eps=0.001, momentum=0.01``). ``from_config(cnf)`` builds one
    from an :class:`InvertedResidualConfig`.

    Layout (torchvision's ``mobilenetv3.InvertedResidual``): ``block = Sequential(expand,
    depthwise, [SqueezeExcitation], project)``, each conv stage a ``Conv2dNormActivation``;
    keys ``block.0.0.weight``, ``block.2.fc1.weight``, ``block.3.1.running_mean``...

    Where the seed article's ``MobileV3Bottleneck`` departs from the paper (errata 8, 10):
    SE is applied after the projection instead of between the depthwise conv and the
    projection; its excitation applies ReLU before the hard-sigmoid, so every gate is
    >= 0.5; a 1x1 projection shortcut is added when the widths differ (the paper adds a
    residual only when stride is 1 and the widths match); its example calls an undefined
    ``MobileBottleneck``.
    """

    def __init__(self, in_channels, expanded_channels, out_channels, kernel_size=3, stride=1,
                 use_se=False, activation="RE", dilation=1, norm_layer=None):
        super().__init__()
        op = "MobileNetV3Bottleneck"
        in_channels = as_int(in_channels, "in_channels", 1, op)
        expanded_channels = as_int(expanded_channels, "expanded_channels", 1, op)
        out_channels = as_int(out_channels, "out_channels", 1, op)
        kernel_size = as_int(kernel_size, "kernel_size", 1, op)
        dilation = as_int(dilation, "dilation", 1, op)
        if stride not in (1, 2):
            raise ValueError(f"{op}: stride must be 1 or 2, got {stride!r}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"{op}: activation must be one of 'RE', 'relu', 'HS', 'hardswish', "
                             f"got {activation!r}")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.in_channels = in_channels
        self.use_res_connect = stride == 1 and in_channels == out_channels
        activation_layer = nn.Hardswish if _ACTIVATIONS[activation] == "HS" else nn.ReLU

        layers = []
        if expanded_channels != in_channels:
            layers.append(Conv2dNormActivation(in_channels, expanded_channels, kernel_size=1,
                                               norm_layer=norm_layer,
                                               activation_layer=activation_layer))
        # depthwise; a dilated block keeps the resolution (torchvision's rule)
        layers.append(Conv2dNormActivation(expanded_channels, expanded_channels,
                                           kernel_size=kernel_size,
                                           stride=1 if dilation > 1 else stride,
                                           dilation=dilation, groups=expanded_channels,
                                           norm_layer=norm_layer,
                                           activation_layer=activation_layer))
        if use_se:
            squeeze_channels = make_divisible(expanded_channels // 4, 8)
            layers.append(nn.SqueezeExcitation(expanded_channels, squeeze_channels,
                                               scale_activation=nn.Hardsigmoid))
        layers.append(Conv2dNormActivation(expanded_channels, out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = out_channels
        self._is_cn = stride > 1

    @classmethod
    def from_config(cls, cnf, norm_layer=None):
        """Build from an :class:`InvertedResidualConfig` (torchvision's constructor form)."""
        return cls(cnf.input_channels, cnf.expanded_channels, cnf.out_channels, cnf.kernel,
                   cnf.stride, cnf.use_se, cnf.activation, cnf.dilation, norm_layer)

    def forward(self, x):
        _check_input("MobileNetV3Bottleneck", x, self.in_channels)
        result = self.block(x)
        if self.use_res_connect:
            result = result + x
        return result
