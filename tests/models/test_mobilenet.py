"""MobileNetV2 / MobileNetV3 models against torch.nn re-implementations of torchvision's.

The torch classes below transcribe torchvision's ``mobilenetv2.py``,
``mobilenetv3.py`` and ``ops.misc`` (Conv2dNormActivation, SqueezeExcitation)
with the same attribute names, so a strict ``load_state_dict`` of their weights
into minicnn is itself the proof of key compatibility. They take the stem stride
and the per-block strides as explicit arguments, so the ``small_input`` variants
are checked against settings written out here by hand from the documentation
(stem stride 1, the first two stride-2 stages at stride 1), not derived from the
code under test. The block tests (tests/nn/test_blocks_mobilenet.py) use the
same torch blocks.

Whole models are compared in float64 (PERF-NOTES: float32 gradients of deep nets
differ at ReLU kinks). Train-mode BN at 1x1 spatial size with batch 2 is badly
conditioned (the two normalised values are +-1 and the backward cancels), so the
ImageNet configurations are compared at batch 4.
"""
import numpy as np
import pytest
import torch

import minicnn
from minicnn.models.mobilenet import (MODELS, MobileNetV2, mobilenet_v2, mobilenet_v3_large,
                                      mobilenet_v3_small)
from tests.models import compare_module, copy_weights, count_parameters, randomize_torch_bn

tnn = torch.nn

# float64 whole-model comparison: both engines round each op to ~1e-16 relative;
# summation order differs, and train-mode BN divides by batch std, so relative
# differences of ~1e-12 appear in the deepest gradients. 1e-8/1e-6 leaves a large
# margin while any formula error shows up as O(1e-2) or more.
ATOL64, RTOL64 = 1e-8, 1e-6


# ------------------------------------------------------------ torch twins
def t_make_divisible(v, divisor, min_value=None):
    """torchvision's ``_make_divisible``."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class TorchConvNormAct(tnn.Sequential):
    """torchvision.ops.Conv2dNormActivation."""

    def __init__(self, cin, cout, kernel_size=3, stride=1, groups=1,
                 norm_layer=tnn.BatchNorm2d, activation_layer=tnn.ReLU, dilation=1):
        padding = (kernel_size - 1) // 2 * dilation
        layers = [tnn.Conv2d(cin, cout, kernel_size, stride, padding, dilation=dilation,
                             groups=groups, bias=norm_layer is None)]
        if norm_layer is not None:
            layers.append(norm_layer(cout))
        if activation_layer is not None:
            layers.append(activation_layer())
        super().__init__(*layers)


class TorchHardsigmoid(tnn.Module):
    """``relu6(x + 3) / 6`` through autograd. torch.nn.Hardsigmoid's own backward multiplies
    by a float32 ``1/6`` even for float64 tensors (0.1666666716...), a 3e-8 relative error
    that would force loose float64 tolerances; the math is the same."""

    def forward(self, x):
        return tnn.functional.relu6(x + 3) / 6


class TorchSqueezeExcitation(tnn.Module):
    """torchvision.ops.SqueezeExcitation."""

    def __init__(self, input_channels, squeeze_channels, activation=tnn.ReLU,
                 scale_activation=tnn.Sigmoid):
        super().__init__()
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc1 = tnn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = tnn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class TorchInvertedResidual(tnn.Module):
    """torchvision's mobilenetv2.InvertedResidual."""

    def __init__(self, inp, oup, stride, expand_ratio, norm_layer=tnn.BatchNorm2d):
        super().__init__()
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(TorchConvNormAct(inp, hidden_dim, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=tnn.ReLU6))
        layers.extend([
            TorchConvNormAct(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim,
                             norm_layer=norm_layer, activation_layer=tnn.ReLU6),
            tnn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            norm_layer(oup),
        ])
        self.conv = tnn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


V2_SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
              [6, 160, 3, 2], [6, 320, 1, 1]]
# small_input as documented: the first two stride-2 rows (24 and 32 channels) at stride 1.
V2_SMALL_SETTING = [[1, 16, 1, 1], [6, 24, 2, 1], [6, 32, 3, 1], [6, 64, 4, 2], [6, 96, 3, 1],
                    [6, 160, 3, 2], [6, 320, 1, 1]]


class TorchMobileNetV2(tnn.Module):
    """torchvision's MobileNetV2, plus the stem stride and input channels as arguments."""

    def __init__(self, num_classes=1000, width_mult=1.0, setting=V2_SETTING, dropout=0.2,
                 stem_stride=2, in_channels=3):
        super().__init__()
        input_channel = t_make_divisible(32 * width_mult, 8)
        last_channel = t_make_divisible(1280 * max(1.0, width_mult), 8)
        features = [TorchConvNormAct(in_channels, input_channel, stride=stem_stride,
                                     activation_layer=tnn.ReLU6)]
        for t, c, n, s in setting:
            output_channel = t_make_divisible(c * width_mult, 8)
            for i in range(n):
                features.append(TorchInvertedResidual(input_channel, output_channel,
                                                      s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(TorchConvNormAct(input_channel, last_channel, kernel_size=1,
                                         activation_layer=tnn.ReLU6))
        self.features = tnn.Sequential(*features)
        self.classifier = tnn.Sequential(tnn.Dropout(p=dropout),
                                         tnn.Linear(last_channel, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = tnn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


class TorchV3Config:
    """torchvision's mobilenetv3.InvertedResidualConfig."""

    def __init__(self, input_channels, kernel, expanded_channels, out_channels, use_se,
                 activation, stride, dilation, width_mult):
        self.input_channels = t_make_divisible(input_channels * width_mult, 8)
        self.kernel = kernel
        self.expanded_channels = t_make_divisible(expanded_channels * width_mult, 8)
        self.out_channels = t_make_divisible(out_channels * width_mult, 8)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation


class TorchV3Block(tnn.Module):
    """torchvision's mobilenetv3.InvertedResidual."""

    def __init__(self, cnf, norm_layer):
        super().__init__()
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        activation_layer = tnn.Hardswish if cnf.use_hs else tnn.ReLU
        layers = []
        if cnf.expanded_channels != cnf.input_channels:
            layers.append(TorchConvNormAct(cnf.input_channels, cnf.expanded_channels,
                                           kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=activation_layer))
        stride = 1 if cnf.dilation > 1 else cnf.stride
        layers.append(TorchConvNormAct(cnf.expanded_channels, cnf.expanded_channels,
                                       kernel_size=cnf.kernel, stride=stride,
                                       dilation=cnf.dilation, groups=cnf.expanded_channels,
                                       norm_layer=norm_layer, activation_layer=activation_layer))
        if cnf.use_se:
            squeeze_channels = t_make_divisible(cnf.expanded_channels // 4, 8)
            layers.append(TorchSqueezeExcitation(cnf.expanded_channels, squeeze_channels,
                                                 scale_activation=TorchHardsigmoid))
        layers.append(TorchConvNormAct(cnf.expanded_channels, cnf.out_channels, kernel_size=1,
                                       norm_layer=norm_layer, activation_layer=None))
        self.block = tnn.Sequential(*layers)

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result = result + x
        return result


def t_v3_norm(num_features):
    return tnn.BatchNorm2d(num_features, eps=0.001, momentum=0.01)


# Rows of torchvision's _mobilenet_v3_conf: (C_in, k, E, C_out, SE, act, stride, dilation).
V3_ROWS = {
    "mobilenet_v3_large": [
        (16, 3, 16, 16, False, "RE", 1, 1), (16, 3, 64, 24, False, "RE", 2, 1),
        (24, 3, 72, 24, False, "RE", 1, 1), (24, 5, 72, 40, True, "RE", 2, 1),
        (40, 5, 120, 40, True, "RE", 1, 1), (40, 5, 120, 40, True, "RE", 1, 1),
        (40, 3, 240, 80, False, "HS", 2, 1), (80, 3, 200, 80, False, "HS", 1, 1),
        (80, 3, 184, 80, False, "HS", 1, 1), (80, 3, 184, 80, False, "HS", 1, 1),
        (80, 3, 480, 112, True, "HS", 1, 1), (112, 3, 672, 112, True, "HS", 1, 1),
        (112, 5, 672, 160, True, "HS", 2, 1), (160, 5, 960, 160, True, "HS", 1, 1),
        (160, 5, 960, 160, True, "HS", 1, 1)],
    "mobilenet_v3_small": [
        (16, 3, 16, 16, True, "RE", 2, 1), (16, 3, 72, 24, False, "RE", 2, 1),
        (24, 3, 88, 24, False, "RE", 1, 1), (24, 5, 96, 40, True, "HS", 2, 1),
        (40, 5, 240, 40, True, "HS", 1, 1), (40, 5, 240, 40, True, "HS", 1, 1),
        (40, 5, 120, 48, True, "HS", 1, 1), (48, 5, 144, 48, True, "HS", 1, 1),
        (48, 5, 288, 96, True, "HS", 2, 1), (96, 5, 576, 96, True, "HS", 1, 1),
        (96, 5, 576, 96, True, "HS", 1, 1)],
}
V3_LAST_CHANNEL = {"mobilenet_v3_large": 1280, "mobilenet_v3_small": 1024}
# small_input as documented: the first two stride-2 blocks get stride 1.
V3_SMALL_INPUT_STRIDE1 = {"mobilenet_v3_large": (1, 3), "mobilenet_v3_small": (0, 1)}


class TorchMobileNetV3(tnn.Module):
    """torchvision's MobileNetV3 (Hardsigmoid in SE as TorchHardsigmoid, see there)."""

    def __init__(self, arch, num_classes=1000, width_mult=1.0, dropout=0.2, small_input=False,
                 in_channels=3):
        super().__init__()
        rows = [list(r) for r in V3_ROWS[arch]]
        stem_stride = 2
        if small_input:
            stem_stride = 1
            for index in V3_SMALL_INPUT_STRIDE1[arch]:
                rows[index][6] = 1
        setting = [TorchV3Config(*row, width_mult=width_mult) for row in rows]
        last_channel = t_make_divisible(V3_LAST_CHANNEL[arch] * width_mult, 8)
        layers = [TorchConvNormAct(in_channels, setting[0].input_channels, stride=stem_stride,
                                   norm_layer=t_v3_norm, activation_layer=tnn.Hardswish)]
        layers += [TorchV3Block(cnf, t_v3_norm) for cnf in setting]
        lastconv_output = 6 * setting[-1].out_channels
        layers.append(TorchConvNormAct(setting[-1].out_channels, lastconv_output, kernel_size=1,
                                       norm_layer=t_v3_norm, activation_layer=tnn.Hardswish))
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.classifier = tnn.Sequential(tnn.Linear(lastconv_output, last_channel),
                                         tnn.Hardswish(), tnn.Dropout(p=dropout),
                                         tnn.Linear(last_channel, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def torch_twin(name, num_classes=1000, width_mult=1.0, dropout=0.2, small_input=False,
               in_channels=3):
    if name == "mobilenet_v2":
        return TorchMobileNetV2(num_classes, width_mult,
                                V2_SMALL_SETTING if small_input else V2_SETTING, dropout,
                                stem_stride=1 if small_input else 2, in_channels=in_channels)
    return TorchMobileNetV3(name, num_classes, width_mult, dropout, small_input, in_channels)


# ------------------------------------------------------------ shared checks
def assert_same_layout(ours, theirs):
    """Same module names, same state_dict keys in the same order, same shapes."""
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    our_state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(our_state) == list(their_state)
    for key, value in their_state.items():
        assert tuple(our_state[key].shape) == tuple(value.shape), key


def sgd_steps_agree(ours, theirs, inputs, lr=0.1):
    """Run len(inputs) training steps (forward, backward of sum(out * g), SGD update) on both
    models; assert the running statistics, num_batches_tracked and parameters agree after."""
    ours.train()
    theirs.train()
    for step, x in enumerate(inputs):
        ours.zero_grad()
        theirs.zero_grad()
        y_ours, y_theirs = ours(minicnn.Tensor(x)), theirs(torch.tensor(x))
        upstream = np.random.default_rng(100 + step).standard_normal(tuple(y_theirs.shape))
        (y_ours * minicnn.Tensor(upstream)).sum().backward()
        y_theirs.backward(torch.tensor(upstream))
        for param in ours.parameters():
            param.data -= lr * param.grad
        with torch.no_grad():
            for param in theirs.parameters():
                param -= lr * param.grad
    our_state = ours.state_dict()
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(our_state[key], value.numpy(), rtol=RTOL64, atol=ATOL64,
                                   err_msg=key)


# ------------------------------------------------------------ tests
@pytest.mark.parametrize("name, published", [
    ("mobilenet_v2", 3_504_872),        # torchvision's model table
    ("mobilenet_v3_small", 2_542_856),
    ("mobilenet_v3_large", 5_483_032),
])
def test_parameter_count_is_torchvisions(name, published):
    model = MODELS[name]()
    assert count_parameters(model) == published
    assert_same_layout(model, torch_twin(name))


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"])
@pytest.mark.parametrize("train", [False, True])
def test_imagenet_configuration_matches_torch_float64(name, train):
    torch.manual_seed(0)
    theirs = randomize_torch_bn(torch_twin(name, num_classes=10, dropout=0.0)).double()
    ours = copy_weights(MODELS[name](num_classes=10, dropout=0.0).double(), theirs)
    x = np.random.default_rng(1).standard_normal((4, 3, 32, 32))
    compare_module(ours, theirs, x, train=train, atol=ATOL64, rtol=RTOL64)


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"])
def test_small_input_variant_matches_torch_and_trains_alike(name):
    """small_input, width_mult 0.5, one input channel (the digits setting) at 8x8: forward
    and gradients in both modes, then two SGD steps give the same BN statistics."""
    torch.manual_seed(0)
    options = dict(num_classes=10, width_mult=0.5, dropout=0.0, small_input=True,
                   in_channels=1)
    theirs = randomize_torch_bn(torch_twin(name, **options)).double()
    ours = copy_weights(MODELS[name](**options).double(), theirs)
    rng = np.random.default_rng(2)
    for train in (False, True):
        compare_module(ours, theirs, rng.standard_normal((3, 1, 8, 8)), train=train,
                       atol=ATOL64, rtol=RTOL64)
    sgd_steps_agree(ours, theirs, [rng.standard_normal((4, 1, 8, 8)) for _ in range(2)])


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"])
@pytest.mark.parametrize("small_input, size, final", [(False, 32, 1), (False, 64, 2),
                                                      (True, 32, 8), (True, 8, 2)])
def test_feature_map_size(name, small_input, size, final):
    """Total stride 32 (ImageNet) or 4 (small_input): the last feature map is size / stride."""
    model = MODELS[name](num_classes=10, width_mult=0.25, small_input=small_input).eval()
    with minicnn.no_grad():
        features = model.features(minicnn.randn(1, 3, size, size))
    assert features.shape[2:] == (final, final)


def test_default_initialisation_is_torchvisions():
    """Kaiming-normal fan_out convs (std sqrt(2 / (C_out k k))), BN 1/0, linear N(0, 0.01)."""
    minicnn.manual_seed(0)
    model = mobilenet_v2(num_classes=500)
    last_conv = model.features[18][0].weight.numpy()       # (1280, 320, 1, 1)
    assert abs(last_conv.mean()) < 0.01 * np.sqrt(2 / 1280)
    assert last_conv.std() == pytest.approx(np.sqrt(2 / 1280), rel=0.01)
    depthwise = model.features[17].conv[1][0].weight.numpy()  # (960, 1, 3, 3): fan_out 960*9
    assert depthwise.std() == pytest.approx(np.sqrt(2 / (960 * 9)), rel=0.05)
    linear = model.classifier[1]
    assert linear.weight.numpy().std() == pytest.approx(0.01, rel=0.01)
    assert not np.any(linear.bias.numpy())
    bn = model.features[18][1]
    assert np.all(bn.weight.numpy() == 1) and not np.any(bn.bias.numpy())
    se = mobilenet_v3_small().features[1].block[1]          # SE convs: fan_out, zero bias
    assert not np.any(se.fc1.bias.numpy()) and not np.any(se.fc2.bias.numpy())


def test_seeded_construction_repeats():
    minicnn.manual_seed(7)
    first = mobilenet_v3_small(num_classes=10).state_dict()
    minicnn.manual_seed(7)
    second = mobilenet_v3_small(num_classes=10).state_dict()
    assert all(np.array_equal(first[k], second[k]) for k in first)


@pytest.mark.parametrize("build", [mobilenet_v2, mobilenet_v3_small, mobilenet_v3_large])
def test_bad_input_raises_before_running_statistics_change(build):
    model = build(num_classes=10, width_mult=0.25).train()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\).*\(2, 1, 32, 32\)"):
        model(minicnn.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="total stride 32.*small_input"):
        model(minicnn.randn(2, 3, 16, 16))
    small = build(num_classes=10, width_mult=0.25, small_input=True)
    with pytest.raises(ValueError, match="total stride 4"):
        small(minicnn.randn(2, 3, 3, 3))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("options, match", [
    (dict(width_mult=0), "width_mult"),
    (dict(dropout=1.5), "dropout"),
    (dict(num_classes=0), "num_classes"),
    (dict(in_channels=0), "in_channels"),
])
@pytest.mark.parametrize("build", [mobilenet_v2, mobilenet_v3_small])
def test_bad_options(build, options, match):
    with pytest.raises(ValueError, match=match):
        build(**options)


def test_mobilenet_v2_rejects_malformed_setting():
    with pytest.raises(ValueError, match="inverted_residual_setting"):
        MobileNetV2(inverted_residual_setting=[[6, 24, 2]])


def test_mobilenet_v3_large_rejects_unknown_options():
    with pytest.raises(TypeError):
        mobilenet_v3_large(stem="cifar")
