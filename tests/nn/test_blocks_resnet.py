"""ResNet blocks (v1 BasicBlock/Bottleneck, v2 pre-activation) against torch.nn twins.

The torch classes below are written from the papers and torchvision's
``resnet.py`` (same attribute names, so state dicts move by name); the
minicnn blocks are loaded with their weights and compared forward and
backward, in train and eval mode.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import minicnn
from minicnn.nn.blocks.resnet import BasicBlock, Bottleneck, PreActBasicBlock, PreActBottleneck
from minicnn.testing import gradcheck
from tests.models import compare_module, copy_weights, count_parameters, randomize_torch_bn
from tests.models import torch_one_thread  # noqa: F401  (autouse fixture)

tnn = torch.nn

# float32: the blocks chain 2-3 convs and BNs; summation order differs between
# oneDNN and NumPy's BLAS (a few ulps per dot product) and BN divides by a
# batch std, so relative differences of ~1e-5 are expected. 1e-4 / 1e-3 leave
# margin yet catch any wrong formula (which errs by O(1)).
ATOL, RTOL = 1e-4, 1e-3


# ----------------------------------------------------------------- torch twins
def t_conv3x3(cin, cout, stride=1, groups=1, dilation=1):
    return tnn.Conv2d(cin, cout, 3, stride, padding=dilation, groups=groups, bias=False,
                      dilation=dilation)


def t_conv1x1(cin, cout, stride=1):
    return tnn.Conv2d(cin, cout, 1, stride, bias=False)


def t_projection(cin, cout, stride):
    return tnn.Sequential(t_conv1x1(cin, cout, stride), tnn.BatchNorm2d(cout))


class TorchBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = t_conv3x3(inplanes, planes, stride)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = t_conv3x3(planes, planes)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class TorchBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = t_conv1x1(inplanes, width)
        self.bn1 = tnn.BatchNorm2d(width)
        self.conv2 = t_conv3x3(width, width, stride, groups, dilation)
        self.bn2 = tnn.BatchNorm2d(width)
        self.conv3 = t_conv1x1(width, planes * 4)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class TorchPreActBasicBlock(tnn.Module):
    """He et al. 2016 (v2), Fig. 4(e): BN-ReLU-conv twice, projection on the pre-activation."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.bn1 = tnn.BatchNorm2d(inplanes)
        self.relu = tnn.ReLU()
        self.conv1 = t_conv3x3(inplanes, planes, stride)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv2 = t_conv3x3(planes, planes)
        self.downsample = (t_conv1x1(inplanes, planes, stride)
                           if stride != 1 or inplanes != planes else None)

    def forward(self, x):
        a = self.relu(self.bn1(x))
        shortcut = x if self.downsample is None else self.downsample(a)
        out = self.conv2(self.relu(self.bn2(self.conv1(a))))
        return out + shortcut


class TorchPreActBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.bn1 = tnn.BatchNorm2d(inplanes)
        self.relu = tnn.ReLU()
        self.conv1 = t_conv1x1(inplanes, planes)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv2 = t_conv3x3(planes, planes, stride)
        self.bn3 = tnn.BatchNorm2d(planes)
        self.conv3 = t_conv1x1(planes, 4 * planes)
        self.downsample = (t_conv1x1(inplanes, 4 * planes, stride)
                           if stride != 1 or inplanes != 4 * planes else None)

    def forward(self, x):
        a = self.relu(self.bn1(x))
        shortcut = x if self.downsample is None else self.downsample(a)
        out = self.conv1(a)
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return out + shortcut


def torch_twin(kind, inplanes, planes, stride, **extra):
    """The torch block matching ``kind(inplanes, planes, stride, **extra)``."""
    if kind is BasicBlock:
        needs = stride != 1 or inplanes != planes
        return TorchBasicBlock(inplanes, planes, stride,
                               t_projection(inplanes, planes, stride) if needs else None)
    if kind is Bottleneck:
        needs = stride != 1 or inplanes != 4 * planes
        return TorchBottleneck(inplanes, planes, stride,
                               t_projection(inplanes, 4 * planes, stride) if needs else None,
                               **extra)
    if kind is PreActBasicBlock:
        return TorchPreActBasicBlock(inplanes, planes, stride)
    return TorchPreActBottleneck(inplanes, planes, stride)


# (block, inplanes, planes, stride, extra kwargs): identity and projection shortcuts.
CONFIGS = [
    (BasicBlock, 8, 8, 1, {}),
    (BasicBlock, 6, 8, 2, {}),
    (Bottleneck, 16, 4, 1, {}),
    (Bottleneck, 8, 4, 2, {}),
    (Bottleneck, 8, 4, 2, dict(groups=2, base_width=32)),
    (Bottleneck, 16, 4, 1, dict(dilation=2)),
    (PreActBasicBlock, 8, 8, 1, {}),
    (PreActBasicBlock, 6, 8, 2, {}),
    (PreActBottleneck, 16, 4, 1, {}),
    (PreActBottleneck, 8, 4, 2, {}),
]
IDS = [f"{c[0].__name__}-{c[1]}-{c[2]}-s{c[3]}" + "".join(f"-{k}{v}" for k, v in c[4].items())
       for c in CONFIGS]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("kind, inplanes, planes, stride, extra", CONFIGS, ids=IDS)
def test_block_matches_torch(kind, inplanes, planes, stride, extra, train):
    torch.manual_seed(0)
    theirs = randomize_torch_bn(torch_twin(kind, inplanes, planes, stride, **extra))
    ours = copy_weights(kind(inplanes, planes, stride, **extra), theirs)
    # 7x7: odd, so a stride-2 block's output size floor((7 - 1) / 2) + 1 = 4 is tested too.
    x = np.random.default_rng(1).standard_normal((3, inplanes, 7, 7)).astype(np.float32)
    y = compare_module(ours, theirs, x, train=train, atol=ATOL, rtol=RTOL)
    expected_h = (7 - 1) // stride + 1
    assert y.shape == (3, planes * kind.expansion, expected_h, expected_h)


def test_state_dict_keys_are_torchvisions():
    # torchvision's layer2.0 of resnet50: Bottleneck(256, 128, 2, downsample=Sequential(conv, bn)).
    keys = list(Bottleneck(256, 128, 2).state_dict())
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    expected = (["conv1.weight"] + [f"bn1.{k}" for k in bn] + ["conv2.weight"]
                + [f"bn2.{k}" for k in bn] + ["conv3.weight"] + [f"bn3.{k}" for k in bn]
                + ["downsample.0.weight"] + [f"downsample.1.{k}" for k in bn])
    assert keys == expected


def test_parameter_counts_follow_the_docstring_formulas():
    # BasicBlock: 9 C P + 9 P^2 + 4 P (+ C P + 2 P with a projection).
    c, p = 6, 8
    assert count_parameters(BasicBlock(p, p)) == 9 * p * p + 9 * p * p + 4 * p
    assert count_parameters(BasicBlock(c, p, 2)) == 9 * c * p + 9 * p * p + 4 * p + c * p + 2 * p
    # PreActBottleneck: 2C + C P + 2P + 9 P^2 + 2P + 4 P^2 (+ 4 C P).
    c, p = 8, 4
    expected = 2 * c + c * p + 2 * p + 9 * p * p + 2 * p + 4 * p * p + 4 * c * p
    assert count_parameters(PreActBottleneck(c, p, 2)) == expected
    # Bottleneck (torchvision, ResNet-50 layer1.0): 1x1 64->64, 3x3 64->64, 1x1 64->256,
    # projection 64->256, BN on 64, 64, 256, 256.
    expected = 64 * 64 + 9 * 64 * 64 + 64 * 256 + 64 * 256 + 2 * (64 + 64 + 256 + 256)
    assert count_parameters(Bottleneck(64, 64)) == expected


def test_preact_identity_path_is_untouched():
    # v2's defining property: with the residual branch's last conv zeroed, y = x exactly
    # (no BN and no ReLU on the identity path or after the add).
    block = PreActBottleneck(16, 4)
    block.conv3.weight.data[...] = 0.0
    x = minicnn.randn(2, 16, 5, 5) - 1.0  # negative values would be clipped by a ReLU
    np.testing.assert_array_equal(block(x).numpy(), x.numpy())


@settings(max_examples=6)
@given(data=st.data())
def test_gradcheck_tiny_blocks(data):
    kind = data.draw(st.sampled_from([BasicBlock, Bottleneck, PreActBasicBlock, PreActBottleneck]))
    stride = data.draw(st.sampled_from([1, 2]))
    # >= 2 channels: a 1-channel conv would take the depthwise path (groups == C), whose
    # Numba kernels compile on first use; that path is tested with the separable DenseNet.
    planes = data.draw(st.integers(2, 3))
    inplanes = data.draw(st.integers(2, 3))
    size = data.draw(st.integers(3, 5))
    minicnn.manual_seed(data.draw(st.integers(0, 2**16)))
    block = kind(inplanes, planes, stride).double()
    block.train(data.draw(st.booleans()))
    x = minicnn.randn(2, inplanes, size, size, dtype=minicnn.float64, requires_grad=True)
    first = block.conv1.weight
    last = block.conv3.weight if hasattr(block, "conv3") else block.conv2.weight
    block.zero_grad()
    gradcheck(lambda x, w1, w2: block(x), [x, first, last])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kind", [BasicBlock, Bottleneck, PreActBasicBlock, PreActBottleneck])
@pytest.mark.parametrize("argument, kwargs", [
    ("planes", dict(inplanes=4, planes=0)),
    ("inplanes", dict(inplanes=-1, planes=4)),
    ("stride", dict(inplanes=4, planes=4, stride=0)),
])
def test_bad_widths_raise_naming_the_argument(kind, argument, kwargs):
    with pytest.raises(ValueError, match=f"{kind.__name__}: {argument}"):
        kind(**kwargs)


def test_basic_block_rejects_groups_and_width():
    with pytest.raises(ValueError, match="BasicBlock.*groups=2"):
        BasicBlock(8, 8, groups=2)
    with pytest.raises(ValueError, match="base_width=32"):
        BasicBlock(8, 8, base_width=32)
    with pytest.raises(NotImplementedError, match="dilation"):
        BasicBlock(8, 8, dilation=2)


def test_bottleneck_rejects_zero_width():
    with pytest.raises(ValueError, match="Bottleneck.*base_width=1"):
        Bottleneck(8, 4, base_width=1)


@pytest.mark.parametrize("kind", [BasicBlock, Bottleneck, PreActBasicBlock, PreActBottleneck])
def test_wrong_input_channels_raise_before_running_stats_change(kind):
    block = kind(8, 8)
    before = {k: np.array(v) for k, v in block.state_dict().items()}
    message = rf"{kind.__name__}: expected .*\(N, 8, H, W\).*\(2, 5, 6, 6\)"
    with pytest.raises(ValueError, match=message):
        block(minicnn.randn(2, 5, 6, 6))
    with pytest.raises(ValueError, match=kind.__name__):
        block(minicnn.randn(8, 6, 6))
    after = block.state_dict()
    for key, value in before.items():
        np.testing.assert_array_equal(np.asarray(after[key]), value, err_msg=key)
