"""Inception (GoogLeNet) and Inception-ResNet-A against torch.nn twins written from the papers."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import minicnn
from minicnn.nn.blocks.inception import BasicConv2d, Inception, InceptionResNetA
from minicnn.testing import gradcheck
from tests.models import compare_module, copy_weights, count_parameters, randomize_torch_bn
from tests.models import torch_one_thread  # noqa: F401  (autouse fixture)

tnn = torch.nn

# float32: each branch chains up to 3 conv+BN layers and BN divides by a batch
# std; differing summation orders give relative errors near 1e-5. A wrong
# formula errs by O(1).
ATOL, RTOL = 1e-4, 1e-3


# ----------------------------------------------------------------- torch twins
class TorchBasicConv2d(tnn.Module):
    def __init__(self, cin, cout, **kwargs):
        super().__init__()
        self.conv = tnn.Conv2d(cin, cout, bias=False, **kwargs)
        self.bn = tnn.BatchNorm2d(cout, eps=0.001)
        self.relu = tnn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class TorchInception(tnn.Module):
    """Szegedy et al. 2015, Fig. 2(b): 1x1 | 1x1-3x3 | 1x1-5x5 | 3x3 maxpool (s1) - 1x1."""

    def __init__(self, cin, c1, c3r, c3, c5r, c5, pool_proj, k5=5):
        super().__init__()
        self.branch1 = TorchBasicConv2d(cin, c1, kernel_size=1)
        self.branch2 = tnn.Sequential(TorchBasicConv2d(cin, c3r, kernel_size=1),
                                      TorchBasicConv2d(c3r, c3, kernel_size=3, padding=1))
        self.branch3 = tnn.Sequential(TorchBasicConv2d(cin, c5r, kernel_size=1),
                                      TorchBasicConv2d(c5r, c5, kernel_size=k5, padding=k5 // 2))
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                      TorchBasicConv2d(cin, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class TorchInceptionResNetA(tnn.Module):
    """Szegedy et al. 2016, Fig. 16 + residual scaling (Fig. 20), as TF-slim's block35."""

    def __init__(self, cin, c0, c1r, c1, c2r, c2m, c2, scale, relu):
        super().__init__()
        self.branch0 = TorchBasicConv2d(cin, c0, kernel_size=1)
        self.branch1 = tnn.Sequential(TorchBasicConv2d(cin, c1r, kernel_size=1),
                                      TorchBasicConv2d(c1r, c1, kernel_size=3, padding=1))
        self.branch2 = tnn.Sequential(TorchBasicConv2d(cin, c2r, kernel_size=1),
                                      TorchBasicConv2d(c2r, c2m, kernel_size=3, padding=1),
                                      TorchBasicConv2d(c2m, c2, kernel_size=3, padding=1))
        self.conv2d = tnn.Conv2d(c0 + c1 + c2, cin, kernel_size=1)
        self.relu = tnn.ReLU()
        self.scale, self.use_relu = scale, relu

    def forward(self, x):
        up = self.conv2d(torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1))
        out = x + self.scale * up
        return self.relu(out) if self.use_relu else out


# ----------------------------------------------------------------- parity
INCEPTION_CONFIGS = [
    # (in, 1x1, 3x3red, 3x3, 5x5red, 5x5, pool_proj, branch3 kernel)
    (6, 4, 3, 5, 2, 3, 2, 5),
    (5, 2, 4, 3, 3, 4, 1, 3),   # torchvision's layout (3x3 in branch 3)
]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("config", INCEPTION_CONFIGS, ids=["paper-5x5", "torchvision-3x3"])
def test_inception_matches_torch(config, train):
    torch.manual_seed(0)
    *widths, k5 = config
    theirs = randomize_torch_bn(TorchInception(*widths, k5=k5))
    ours = copy_weights(Inception(*widths, branch3_kernel_size=k5), theirs)
    x = np.random.default_rng(2).standard_normal((2, widths[0], 6, 5)).astype(np.float32)
    y = compare_module(ours, theirs, x, train=train, atol=ATOL, rtol=RTOL)
    assert y.shape == (2, widths[1] + widths[3] + widths[5] + widths[6], 6, 5)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("scale, relu", [(0.17, True), (0.3, False), (1.0, True)])
def test_inception_resnet_a_matches_torch(scale, relu, train):
    torch.manual_seed(1)
    widths = (10, 2, 3, 4, 2, 3, 5)
    theirs = randomize_torch_bn(TorchInceptionResNetA(*widths, scale=scale, relu=relu))
    ours = copy_weights(InceptionResNetA(*widths, scale=scale, relu_after_add=relu), theirs)
    x = np.random.default_rng(3).standard_normal((2, 10, 5, 5)).astype(np.float32)
    y = compare_module(ours, theirs, x, train=train, atol=ATOL, rtol=RTOL)
    assert y.shape == x.shape


def test_inception_3a_width_and_parameters():
    # GoogLeNet Table 1, inception (3a): 192 -> 64 + 128 + 32 + 32 = 256 channels.
    block = Inception(192, 64, 96, 128, 16, 32, 32)
    assert block(minicnn.randn(1, 192, 4, 4)).shape == (1, 256, 4, 4)
    convs = 192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32
    bns = 2 * (64 + 96 + 128 + 16 + 32 + 32)
    assert count_parameters(block) == convs + bns


def test_inception_resnet_a_defaults_are_v2s_block35():
    block = InceptionResNetA()
    assert block.scale == 0.17 and block.relu_after_add
    keys = list(block.state_dict())
    assert keys[0] == "branch0.conv.weight" and keys[-2:] == ["conv2d.weight", "conv2d.bias"]
    # Widths of TF-slim's block35: 320 -> 32 | 32-32 | 32-48-64 -> 1x1 (128 -> 320, bias).
    convs = 320 * 32 + (320 * 32 + 9 * 32 * 32) + (320 * 32 + 9 * 32 * 48 + 9 * 48 * 64)
    bns = 2 * (32 + 32 + 32 + 32 + 48 + 64)
    assert count_parameters(block) == convs + bns + 128 * 320 + 320


def test_zero_scale_gives_relu_of_input():
    # y = relu(x + 0 * up): a direct check of where the scale and the ReLU sit.
    block = InceptionResNetA(6, 2, 2, 2, 2, 2, 2, scale=0.0)
    x = minicnn.randn(2, 6, 4, 4)
    np.testing.assert_array_equal(block(x).numpy(), np.maximum(x.numpy(), 0))


@settings(max_examples=4)
@given(data=st.data())
def test_gradcheck_tiny_inception(data):
    minicnn.manual_seed(data.draw(st.integers(0, 2**16)))
    # Widths >= 2: a 1-to-1-channel conv takes the depthwise path, whose Numba kernels
    # compile on first use (slow for a unit test; the separable DenseNet tests cover it).
    cin = data.draw(st.integers(2, 3))
    size = data.draw(st.integers(2, 4))
    if data.draw(st.booleans()):
        block = Inception(cin, 2, 2, 3, 2, 2, 2)
        checked = [block.branch3[1].conv.weight]
    else:
        block = InceptionResNetA(cin, 2, 2, 2, 2, 2, 3,
                                 scale=data.draw(st.sampled_from([0.17, 0.5])))
        checked = [block.branch2[2].conv.weight, block.conv2d.bias]
    block = block.double()
    block.train(data.draw(st.booleans()))
    block.zero_grad()
    x = minicnn.randn(2, cin, size, size, dtype=minicnn.float64, requires_grad=True)
    gradcheck(lambda x, *params: block(x), [x, *checked])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("position, name", list(enumerate(
    ["in_channels", "ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj"])))
def test_inception_bad_width_names_it(position, name):
    widths = [8, 4, 4, 4, 4, 4, 4]
    widths[position] = 0
    with pytest.raises(ValueError, match=f"Inception: {name}"):
        Inception(*widths)


def test_inception_bad_kernel_size():
    with pytest.raises(ValueError, match="branch3_kernel_size"):
        Inception(8, 4, 4, 4, 4, 4, 4, branch3_kernel_size=7)


@pytest.mark.parametrize("kwargs, name", [(dict(ch3x3dbl=0), "ch3x3dbl"),
                                          (dict(in_channels=-2), "in_channels"),
                                          (dict(scale=float("nan")), "scale"),
                                          (dict(scale="0.1"), "scale")])
def test_inception_resnet_a_bad_arguments(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=f"InceptionResNetA: {name}"):
        InceptionResNetA(**kwargs)


@pytest.mark.parametrize("block", [lambda: Inception(8, 2, 2, 2, 2, 2, 2),
                                   lambda: InceptionResNetA(8, 2, 2, 2, 2, 2, 2)],
                         ids=["Inception", "InceptionResNetA"])
def test_wrong_input_channels_raise_before_running_stats_change(block):
    block = block()
    name = type(block).__name__
    before = {k: np.array(v) for k, v in block.state_dict().items()}
    with pytest.raises(ValueError, match=rf"{name}: expected .*\(N, 8, H, W\).*\(1, 3, 4, 4\)"):
        block(minicnn.randn(1, 3, 4, 4))
    for key, value in block.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), before[key], err_msg=key)


def test_basic_conv2d_is_conv_bn_relu():
    unit = BasicConv2d(3, 4, kernel_size=3, padding=1)
    assert list(unit.state_dict())[:2] == ["conv.weight", "bn.weight"]
    assert unit.conv.bias is None and unit.bn.eps == 0.001
