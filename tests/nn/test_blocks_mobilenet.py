"""MobileNet blocks (V2 InvertedResidual, V3 bottleneck) and Conv2dNormActivation.

Each block is compared with its torch.nn twin (tests/models/test_mobilenet.py,
transcribed from torchvision) with the same weights, in train and eval mode:
the output, the input gradient and every parameter gradient under a random
upstream gradient; plus a float64 gradient check on a tiny instance, parameter
counts from the formulas, and the errors for impossible widths.
"""
import types

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import minicnn
from minicnn import nn
from minicnn.nn.blocks.conv_norm_act import Conv2dNormActivation, make_divisible
from minicnn.nn.blocks.mobilenet import (InvertedResidual, InvertedResidualConfig,
                                         MobileNetV3Bottleneck)
from minicnn.testing import gradcheck
from tests.models import compare_module, copy_weights, count_parameters, randomize_torch_bn
from tests.models.test_mobilenet import (TorchConvNormAct, TorchInvertedResidual, TorchV3Block,
                                         t_v3_norm)

tnn = torch.nn

# float32: a block chains three convs, three BNs and (V3) an SE; the engines sum in a
# different order (a few ulps per dot product) and train-mode BN divides by a batch std,
# so relative differences near 1e-5 are expected. 1e-4 / 1e-3 still fail any wrong
# formula, which errs by O(1).
ATOL, RTOL = 1e-4, 1e-3


def v3_norm(num_features):
    return nn.BatchNorm2d(num_features, eps=0.001, momentum=0.01)


def torch_v3_block(cin, expanded, cout, kernel, stride, use_se, activation, dilation=1,
                   norm=tnn.BatchNorm2d):
    cnf = types.SimpleNamespace(input_channels=cin, kernel=kernel, expanded_channels=expanded,
                                out_channels=cout, use_se=use_se, use_hs=activation == "HS",
                                stride=stride, dilation=dilation)
    return TorchV3Block(cnf, norm)


def _input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------- helpers
@pytest.mark.parametrize("value, divisor, expected", [
    (16, 8, 16),       # already a multiple
    (32 * 0.5, 8, 16),
    (18, 8, 24),       # 16 would lose 11% (> 10%): one multiple up
    (20, 8, 24),       # int(20 + 4) // 8 * 8 = 24: rounds half up
    (3, 8, 8),         # min_value defaults to the divisor
    (960 * 0.75, 8, 720),
])
def test_make_divisible(value, divisor, expected):
    assert make_divisible(value, divisor) == expected


def test_conv_norm_activation_layout_and_defaults():
    block = Conv2dNormActivation(4, 6, kernel_size=5, stride=2, groups=2)
    assert [type(m).__name__ for m in block] == ["Conv2d", "BatchNorm2d", "ReLU"]
    assert block[0].padding == (2, 2) and block[0].bias is None  # bias only without a norm
    assert list(block.state_dict()) == ["0.weight", "1.weight", "1.bias", "1.running_mean",
                                        "1.running_var", "1.num_batches_tracked"]
    linear = Conv2dNormActivation(4, 6, 3, norm_layer=None, activation_layer=None)
    assert len(linear) == 1 and linear[0].bias is not None
    dilated = Conv2dNormActivation(4, 4, 3, dilation=2)
    assert dilated[0].padding == (2, 2)


@pytest.mark.parametrize("train", [False, True])
def test_conv_norm_activation_matches_torch(train):
    theirs = randomize_torch_bn(TorchConvNormAct(6, 8, 3, stride=2, groups=2,
                                                 activation_layer=tnn.Hardswish))
    ours = copy_weights(Conv2dNormActivation(6, 8, 3, stride=2, groups=2,
                                             activation_layer=nn.Hardswish), theirs)
    compare_module(ours, theirs, _input((2, 6, 7, 7)), train=train, atol=ATOL, rtol=RTOL)


def test_conv_norm_activation_rejects_bad_groups():
    with pytest.raises(ValueError, match="groups=4.*in_channels=6"):
        Conv2dNormActivation(6, 8, groups=4)


# ---------------------------------------------------------------- MobileNetV2 block
@pytest.mark.parametrize("cin, cout, stride, t, size", [
    (8, 8, 1, 6, 6),     # residual
    (8, 12, 2, 6, 7),    # downsampling, odd size
    (16, 16, 1, 1, 5),   # expand_ratio 1: no expansion conv, residual
    (6, 10, 1, 1.5, 5),  # E = round(9) = 9, no residual (widths differ)
])
@pytest.mark.parametrize("train", [False, True])
def test_inverted_residual_matches_torch(cin, cout, stride, t, size, train):
    torch.manual_seed(0)
    theirs = randomize_torch_bn(TorchInvertedResidual(cin, cout, stride, t))
    ours = copy_weights(InvertedResidual(cin, cout, stride, t), theirs)
    assert ours.use_res_connect == (stride == 1 and cin == cout)
    compare_module(ours, theirs, _input((2, cin, size, size)), train=train, atol=ATOL,
                   rtol=RTOL)


@settings(max_examples=6)
@given(data=st.data())
def test_inverted_residual_matches_torch_drawn(data):
    cin = data.draw(st.integers(1, 12), label="in_channels")
    cout = data.draw(st.sampled_from([cin, data.draw(st.integers(1, 12))]), label="out")
    stride = data.draw(st.sampled_from([1, 2]), label="stride")
    t = data.draw(st.sampled_from([1, 2, 6]), label="t")
    size = data.draw(st.integers(2, 6), label="size")
    torch.manual_seed(0)
    theirs = randomize_torch_bn(TorchInvertedResidual(cin, cout, stride, t))
    ours = copy_weights(InvertedResidual(cin, cout, stride, t), theirs)
    compare_module(ours, theirs, _input((3, cin, size, size)), train=True, atol=ATOL, rtol=RTOL)


def test_inverted_residual_parameter_count():
    """Expand C*E + depthwise 9E + project E*C' conv weights; 2 per BN channel."""
    cin, cout, t = 24, 32, 6
    hidden = cin * t
    expected = cin * hidden + 2 * hidden + 9 * hidden + 2 * hidden + hidden * cout + 2 * cout
    assert count_parameters(InvertedResidual(cin, cout, 2, t)) == expected
    # t == 1: the expansion conv is absent
    assert count_parameters(InvertedResidual(cin, cout, 1, 1)) == (9 * cin + 2 * cin
                                                                   + cin * cout + 2 * cout)


def test_inverted_residual_gradcheck():
    minicnn.manual_seed(0)
    block = InvertedResidual(4, 4, 1, 2).double().train()
    x = minicnn.randn(2, 4, 3, 3, dtype=minicnn.float64, requires_grad=True)
    weight = block.conv[0][0].weight  # the expansion conv (8, 4, 1, 1)
    gradcheck(lambda x, w: block(x), [x, weight])


def test_inverted_residual_bad_arguments():
    with pytest.raises(ValueError, match="stride must be 1 or 2, got 3"):
        InvertedResidual(8, 8, 3, 6)
    with pytest.raises(ValueError, match="expand_ratio"):
        InvertedResidual(8, 8, 1, 0)
    with pytest.raises(ValueError, match="in_channels"):
        InvertedResidual(0, 8, 1, 6)
    block = InvertedResidual(8, 8, 1, 6).train()
    before = {k: v.copy() for k, v in block.state_dict().items()}
    with pytest.raises(ValueError, match=r"InvertedResidual.*\(N, 8, H, W\).*\(2, 6, 5, 5\)"):
        block(minicnn.randn(2, 6, 5, 5))
    assert all(np.array_equal(before[k], v) for k, v in block.state_dict().items())


# ---------------------------------------------------------------- MobileNetV3 bottleneck
@pytest.mark.parametrize("cin, expanded, cout, kernel, stride, use_se, act, dilation, v3bn", [
    (8, 16, 8, 3, 1, True, "HS", 1, True),    # residual, SE, hard-swish
    (8, 8, 16, 5, 2, True, "RE", 1, False),   # no expansion (E == C_in), 5x5 stride 2
    (8, 24, 12, 3, 2, False, "HS", 1, True),  # no SE
    (16, 32, 16, 5, 2, True, "RE", 2, True),  # dilated: stride replaced by 1, no residual
])
@pytest.mark.parametrize("train", [False, True])
def test_v3_bottleneck_matches_torch(cin, expanded, cout, kernel, stride, use_se, act,
                                     dilation, v3bn, train):
    torch.manual_seed(0)
    theirs = randomize_torch_bn(torch_v3_block(cin, expanded, cout, kernel, stride, use_se,
                                               act, dilation,
                                               t_v3_norm if v3bn else tnn.BatchNorm2d))
    ours = copy_weights(MobileNetV3Bottleneck(cin, expanded, cout, kernel, stride, use_se, act,
                                              dilation, v3_norm if v3bn else None), theirs)
    compare_module(ours, theirs, _input((2, cin, 7, 7)), train=train, atol=ATOL, rtol=RTOL)


def test_v3_bottleneck_se_width_and_gate():
    """SE squeeze = make_divisible(E // 4, 8); gate hardsigmoid; activations per block."""
    block = MobileNetV3Bottleneck(24, 96, 40, 5, 2, use_se=True, activation="hardswish")
    se = block.block[2]
    assert se.fc1.weight.shape == (24, 96, 1, 1) and se.fc2.weight.shape == (96, 24, 1, 1)
    assert isinstance(se.scale_activation, nn.Hardsigmoid)
    assert isinstance(block.block[0][2], nn.Hardswish)
    assert isinstance(MobileNetV3Bottleneck(16, 64, 24, 3, 2).block[0][2], nn.ReLU)


def test_v3_bottleneck_from_config_rounds_widths():
    cnf = InvertedResidualConfig(16, 3, 72, 24, False, "RE", 2, 1, width_mult=0.5)
    block = MobileNetV3Bottleneck.from_config(cnf)
    # make_divisible(8) = 8, make_divisible(36) = 40, make_divisible(12) = 16
    assert block.block[0][0].weight.shape == (40, 8, 1, 1)
    assert block.block[2][0].weight.shape == (16, 40, 1, 1)


def test_v3_bottleneck_gradcheck():
    minicnn.manual_seed(1)
    block = MobileNetV3Bottleneck(4, 8, 4, 3, 1, use_se=True, activation="HS").double().train()
    x = minicnn.randn(2, 4, 3, 3, dtype=minicnn.float64, requires_grad=True)
    gradcheck(lambda x, w: block(x), [x, block.block[2].fc1.weight])


def test_v3_bottleneck_bad_arguments():
    with pytest.raises(ValueError, match="activation must be one of"):
        MobileNetV3Bottleneck(8, 16, 8, activation="gelu")
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        MobileNetV3Bottleneck(8, 16, 8, stride=3)
    with pytest.raises(ValueError, match="expanded_channels"):
        MobileNetV3Bottleneck(8, 0, 8)
    block = MobileNetV3Bottleneck(8, 16, 8, use_se=True)
    with pytest.raises(ValueError, match=r"MobileNetV3Bottleneck.*\(N, 8, H, W\)"):
        block(minicnn.randn(2, 16, 4, 4))
