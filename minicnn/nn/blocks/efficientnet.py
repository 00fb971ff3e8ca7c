"""EfficientNet's MBConv block and stochastic depth.

Notation: ``x`` the block input (N, C_in, H, W), ``t`` the expansion ratio,
``E = make_divisible(t * C_in, 8)`` the expanded width, ``k`` the depthwise
kernel, ``s`` the stride, ``p`` the stochastic-depth drop probability. Every
depthwise conv has padding ``(k - 1) // 2``: ``H_out = floor((H - 1) / s) + 1``.

MBConv (Tan & Le 2019, "EfficientNet: Rethinking Model Scaling for CNNs", Fig. 2
and Table 1; the block itself is MnasNet's, Tan et al. 2019) is the MobileNetV2
inverted residual with SiLU (swish) activations and a squeeze-and-excitation
after the depthwise conv:

``F = BN(conv1x1(E -> C_out)) . SE . SiLU(BN(dwconv_kxk_s(E))) . SiLU(BN(conv1x1(C_in -> E)))``

``SE(z) = z * sigmoid(fc2(SiLU(fc1(avgpool(z)))))`` with ``fc1: E -> max(1, C_in // 4)``
(the squeeze is a quarter of the *block input* width, not of ``E``).
``y = x + StochasticDepth_p(F(x))`` when ``s == 1`` and ``C_in == C_out``, else ``F(x)``.

Stochastic depth (Huang et al. 2016, "Deep Networks with Stochastic Depth"),
torchvision's ``mode='row'``: in training, each sample's residual branch is
kept with probability ``q = 1 - p`` and scaled by ``1/q`` (so its expectation
is unchanged), ``SD(z)[n] = z[n] * b_n / q`` with ``b_n ~ Bernoulli(q)``; in
evaluation ``SD(z) = z``. Gradient: ``dL/dz[n] = dL/dy[n] * b_n / q`` (the same
mask). The mask is drawn from minicnn's global generator
(``minicnn.manual_seed``), so a seeded run repeats.
"""
from ... import nn
from ..._validation import as_int
from ...backend import xp_of
from ...random import default_generator
from ...tensor import Tensor
from .conv_norm_act import Conv2dNormActivation, make_divisible

__all__ = ["MBConv", "StochasticDepth", "stochastic_depth"]


def stochastic_depth(input, p, mode, training=True):
    """Drop whole samples (``mode='row'``) or the whole batch (``mode='batch'``) of a
    residual branch with probability ``p``, scaling the survivors by ``1 / (1 - p)``;
    identity when ``training`` is False or ``p == 0`` (torchvision.ops.stochastic_depth).

    The keep mask has shape ``(N, 1, 1, 1)`` ('row') or ``(1, 1, 1, 1)`` ('batch') and is
    drawn as ``uniform[0, 1) < 1 - p`` from minicnn's global generator.
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"stochastic_depth: p must be a probability in [0, 1], got {p!r}")
    if mode not in ("batch", "row"):
        raise ValueError(f"stochastic_depth: mode must be 'batch' or 'row', got {mode!r}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    keep = (default_generator().random(size) < survival_rate).astype(input.dtype)
    if survival_rate > 0.0:
        keep /= survival_rate
    xp = xp_of(input.data)
    return input * Tensor._wrap(xp.asarray(keep))  # (N, C, H, W) * (N, 1, 1, 1)


class StochasticDepth(nn.Module):
    """Module form of :func:`stochastic_depth` (torchvision's ``StochasticDepth(p, mode)``):
    active only in training mode; no parameters."""

    def __init__(self, p, mode):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"StochasticDepth: p must be a probability in [0, 1], got {p!r}")
        if mode not in ("batch", "row"):
            raise ValueError(f"StochasticDepth: mode must be 'batch' or 'row', got {mode!r}")
        self.p = p
        self.mode = mode

    def forward(self, input):
        return stochastic_depth(input, self.p, self.mode, self.training)

    def extra_repr(self):  # repr "StochasticDepth(p=0.2, mode=row)", as torchvision's
        return f"p={self.p}, mode={self.mode}"


class MBConv(nn.Module):
    """EfficientNet's mobile inverted bottleneck with squeeze-and-excitation (Tan & Le 2019).

    Arguments: ``in_channels, out_channels, expand_ratio`` (>= 1; the expansion conv is
    left out when ``make_divisible(expand_ratio * in_channels, 8) == in_channels``, i.e. for
    ratio 1), ``kernel_size`` (3 or 5 in B0), ``stride`` (1 or 2),
    ``stochastic_depth_prob=0.0`` (drop probability of the residual branch in training),
    ``norm_layer`` (default ``BatchNorm2d``). See the module docstring for the math.

    Layout (torchvision's ``efficientnet.MBConv``): ``block = Sequential(expand (absent for
    ratio 1), depthwise, SqueezeExcitation, project)``, every conv stage a
    ``Conv2dNormActivation``, then ``stochastic_depth`` (no parameters); keys
    ``block.0.0.weight``, ``block.2.fc1.bias``, ``block.3.1.running_var``...

    Where the seed article's ``MBConvBlock`` departs from the paper (errata 8, 9): ReLU6
    instead of SiLU (swish); SE placed after the projection instead of after the depthwise
    conv; the squeeze width computed from the output width instead of the block's input
    width (se_ratio 0.25 of C_in); the excitation applies ReLU before the sigmoid, so every
    gate is >= 0.5; the expansion is not skipped when ``expand_ratio == 1``; a 1x1 projection
    shortcut is added when the widths differ; no stochastic depth.
    """

    def __init__(self, in_channels, out_channels, expand_ratio, kernel_size, stride,
                 stochastic_depth_prob=0.0, norm_layer=None):
        super().__init__()
        op = "MBConv"
        in_channels = as_int(in_channels, "in_channels", 1, op)
        out_channels = as_int(out_channels, "out_channels", 1, op)
        kernel_size = as_int(kernel_size, "kernel_size", 1, op)
        if stride not in (1, 2):
            raise ValueError(f"{op}: stride must be 1 or 2, got {stride!r}")
        if isinstance(expand_ratio, bool) or not isinstance(expand_ratio, (int, float)) \
                or not expand_ratio >= 1:
            raise ValueError(f"{op}: expand_ratio must be a number >= 1, got {expand_ratio!r}")
        if isinstance(stochastic_depth_prob, bool) \
                or not isinstance(stochastic_depth_prob, (int, float)) \
                or not 0.0 <= stochastic_depth_prob <= 1.0:
            raise ValueError(f"{op}: stochastic_depth_prob must be in [0, 1], "
                             f"got {stochastic_depth_prob!r}")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.in_channels = in_channels
        self.use_res_connect = stride == 1 and in_channels == out_channels

        layers = []
        expanded_channels = make_divisible(in_channels * expand_ratio, 8)
        if expanded_channels != in_channels:
            layers.append(Conv2dNormActivation(in_channels, expanded_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded_channels, expanded_channels,
                                           kernel_size=kernel_size, stride=stride,
                                           groups=expanded_channels, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        squeeze_channels = max(1, in_channels // 4)
        layers.append(nn.SqueezeExcitation(expanded_channels, squeeze_channels,
                                           activation=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded_channels, out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = out_channels

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"MBConv: expected an input of shape (N, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result

