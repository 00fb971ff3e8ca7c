"""EfficientNet-B0 against a torch.nn re-implementation of torchvision's ``efficientnet.py``.

The torch classes transcribe torchvision's MBConv, StochasticDepth and
EfficientNet (same attribute names: a strict ``load_state_dict`` proves the key
layout). They take the stage strides and the stem stride as arguments, so the
``small_input`` variant is checked against the setting written out here by hand
(stem stride 1, the 24- and 40-channel stages at stride 1). The block tests
(tests/nn/test_blocks_efficientnet.py) use the same torch MBConv.

Stochastic depth and dropout draw from different generators in the two engines,
so whole-model comparisons in training mode turn both off (``dropout=0``,
``stochastic_depth_prob=0``); the block tests check stochastic depth itself.
"""
import copy
import math

import numpy as np
import pytest
import torch

import minicnn
from minicnn.models.efficientnet import EfficientNet, MBConvConfig, efficientnet_b0
from minicnn.nn.blocks.efficientnet import MBConv
from tests.models import compare_module, copy_weights, count_parameters, randomize_torch_bn
from tests.models.test_mobilenet import (ATOL64, RTOL64, TorchConvNormAct, TorchSqueezeExcitation,
                                         assert_same_layout, sgd_steps_agree, t_make_divisible)

tnn = torch.nn


# ------------------------------------------------------------ torch twins
def t_stochastic_depth(x, p, training, keep=None):
    """torchvision.ops.stochastic_depth, mode 'row'; ``keep`` (N,) replaces the Bernoulli
    draw so a test can replay minicnn's mask."""
    if not training or p == 0.0:
        return x
    survival = 1.0 - p
    if keep is None:
        keep = torch.empty(x.shape[0], dtype=x.dtype).bernoulli_(survival)
    noise = torch.as_tensor(keep, dtype=x.dtype).view(-1, 1, 1, 1)
    if survival > 0.0:
        noise = noise / survival
    return x * noise


class TorchStochasticDepth(tnn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p
        self.keep = None  # set by a test to replay a mask

    def forward(self, x):
        return t_stochastic_depth(x, self.p, self.training, self.keep)


class TorchMBConv(tnn.Module):
    """torchvision's efficientnet.MBConv (flat arguments instead of an MBConvConfig)."""

    def __init__(self, input_channels, out_channels, expand_ratio, kernel, stride,
                 stochastic_depth_prob=0.0, norm_layer=tnn.BatchNorm2d):
        super().__init__()
        self.use_res_connect = stride == 1 and input_channels == out_channels
        layers = []
        expanded_channels = t_make_divisible(input_channels * expand_ratio, 8)
        if expanded_channels != input_channels:
            layers.append(TorchConvNormAct(input_channels, expanded_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=tnn.SiLU))
        layers.append(TorchConvNormAct(expanded_channels, expanded_channels, kernel_size=kernel,
                                       stride=stride, groups=expanded_channels,
                                       norm_layer=norm_layer, activation_layer=tnn.SiLU))
        squeeze_channels = max(1, input_channels // 4)
        layers.append(TorchSqueezeExcitation(expanded_channels, squeeze_channels,
                                             activation=tnn.SiLU))
        layers.append(TorchConvNormAct(expanded_channels, out_channels, kernel_size=1,
                                       norm_layer=norm_layer, activation_layer=None))
        self.block = tnn.Sequential(*layers)
        self.stochastic_depth = TorchStochasticDepth(stochastic_depth_prob)

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result) + x
        return result


# (t, k, s, C_in, C_out, repeats): the paper's Table 1 as torchvision writes it.
B0_ROWS = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
           (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
           (6, 3, 1, 192, 320, 1)]
B0_SMALL_INPUT_STAGE_STRIDES = [1, 1, 1, 2, 1, 2, 1]  # documented: stages 2 and 3 at stride 1


class TorchEfficientNet(tnn.Module):
    """torchvision's EfficientNet for B0 (width/depth multipliers as in _efficientnet_conf)."""

    def __init__(self, num_classes=1000, width_mult=1.0, depth_mult=1.0, dropout=0.2,
                 stochastic_depth_prob=0.2, small_input=False, in_channels=3):
        super().__init__()
        rows = []
        for index, (t, k, s, cin, cout, n) in enumerate(B0_ROWS):
            if small_input:
                s = B0_SMALL_INPUT_STAGE_STRIDES[index]
            rows.append((t, k, s, t_make_divisible(cin * width_mult, 8),
                         t_make_divisible(cout * width_mult, 8), int(math.ceil(n * depth_mult))))
        layers = [TorchConvNormAct(in_channels, rows[0][3], stride=1 if small_input else 2,
                                   activation_layer=tnn.SiLU)]
        total_blocks = sum(row[5] for row in rows)
        block_id = 0
        for t, k, s, cin, cout, n in rows:
            stage = []
            for i in range(n):
                sd_prob = stochastic_depth_prob * float(block_id) / total_blocks
                stage.append(TorchMBConv(cin if i == 0 else cout, cout, t, k,
                                         s if i == 0 else 1, sd_prob))
                block_id += 1
            layers.append(tnn.Sequential(*stage))
        last_in = rows[-1][4]
        layers.append(TorchConvNormAct(last_in, 4 * last_in, kernel_size=1,
                                       activation_layer=tnn.SiLU))
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.classifier = tnn.Sequential(tnn.Dropout(p=dropout),
                                         tnn.Linear(4 * last_in, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


# ------------------------------------------------------------ tests
def test_parameter_count_is_torchvisions():
    model = efficientnet_b0()
    assert count_parameters(model) == 5_288_548  # torchvision's model table
    assert_same_layout(model, TorchEfficientNet())


@pytest.mark.parametrize("train", [False, True])
def test_imagenet_configuration_matches_torch_float64(train):
    torch.manual_seed(0)
    theirs = randomize_torch_bn(TorchEfficientNet(num_classes=10, dropout=0.0,
                                                  stochastic_depth_prob=0.0)).double()
    ours = copy_weights(efficientnet_b0(num_classes=10, dropout=0.0,
                                        stochastic_depth_prob=0.0).double(), theirs)
    x = np.random.default_rng(1).standard_normal((4, 3, 32, 32))
    compare_module(ours, theirs, x, train=train, atol=ATOL64, rtol=RTOL64)


def test_small_input_variant_matches_torch_and_trains_alike():
    """small_input, width 0.5, depth 0.5, one input channel at 8x8 (the digits setting)."""
    torch.manual_seed(0)
    options = dict(num_classes=10, width_mult=0.5, depth_mult=0.5, dropout=0.0,
                   stochastic_depth_prob=0.0, small_input=True, in_channels=1)
    theirs = randomize_torch_bn(TorchEfficientNet(**options)).double()
    ours = copy_weights(efficientnet_b0(**options).double(), theirs)
    rng = np.random.default_rng(2)
    for train in (False, True):
        compare_module(ours, theirs, rng.standard_normal((3, 1, 8, 8)), train=train,
                       atol=ATOL64, rtol=RTOL64)
    sgd_steps_agree(ours, theirs, [rng.standard_normal((4, 1, 8, 8)) for _ in range(2)])


def test_stochastic_depth_schedule_is_linear_in_block_index():
    """Block i of 16 drops its branch with probability 0.2 * i / 16 (torchvision)."""
    model = efficientnet_b0(num_classes=10)
    blocks = [m for m in model.modules() if isinstance(m, MBConv)]
    assert len(blocks) == 16
    assert [b.stochastic_depth.p for b in blocks] == [0.2 * i / 16 for i in range(16)]
    assert model.classifier[0].p == 0.2


@pytest.mark.parametrize("small_input, size, final", [(False, 32, 1), (False, 64, 2),
                                                      (True, 32, 8), (True, 8, 2)])
def test_feature_map_size(small_input, size, final):
    model = efficientnet_b0(num_classes=10, width_mult=0.25, depth_mult=0.25,
                            small_input=small_input).eval()
    with minicnn.no_grad():
        features = model.features(minicnn.randn(1, 3, size, size))
    assert features.shape[2:] == (final, final)


def test_default_initialisation_is_torchvisions():
    """Convs Kaiming-normal fan_out; the linear layer U(-1/sqrt(out), 1/sqrt(out)), bias 0."""
    minicnn.manual_seed(0)
    model = efficientnet_b0(num_classes=400)
    weight = model.classifier[1].weight.numpy()              # (400, 1280)
    bound = 1 / math.sqrt(400)
    assert weight.min() >= -bound and weight.max() <= bound
    assert weight.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert not np.any(model.classifier[1].bias.numpy())
    head = model.features[8][0].weight.numpy()               # (1280, 320, 1, 1)
    assert head.std() == pytest.approx(math.sqrt(2 / 1280), rel=0.01)
    se = model.features[2][0].block[2]
    assert not np.any(se.fc1.bias.numpy())


def test_bad_input_raises_before_running_statistics_change():
    model = efficientnet_b0(num_classes=10, width_mult=0.25, depth_mult=0.25).train()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\).*\(2, 4, 32, 32\)"):
        model(minicnn.randn(2, 4, 32, 32))
    with pytest.raises(ValueError, match="16x16.*total stride 32.*small_input"):
        model(minicnn.randn(2, 3, 16, 16))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("options, match", [
    (dict(width_mult=-1.0), "width_mult"),
    (dict(depth_mult=0), "depth_mult"),
    (dict(dropout=-0.1), "dropout"),
    (dict(stochastic_depth_prob=2.0), "stochastic_depth_prob"),
    (dict(num_classes=0), "num_classes"),
])
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        efficientnet_b0(**options)


def test_efficientnet_class_takes_torchvision_configs():
    """EfficientNet(setting, dropout) with MBConvConfig rows, as torchvision's class."""
    setting = [MBConvConfig(1, 3, 1, 16, 16, 1), MBConvConfig(6, 3, 2, 16, 24, 2)]
    model = EfficientNet(copy.deepcopy(setting), 0.1, num_classes=5, small_input=True)
    assert [len(stage) for stage in list(model.features)[1:3]] == [1, 2]
    assert model(minicnn.randn(2, 3, 8, 8)).shape == (2, 5)
    with pytest.raises(TypeError, match="MBConvConfig"):
        EfficientNet([(1, 3, 1, 16, 16, 1)], 0.2)
