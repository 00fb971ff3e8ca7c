"""DenseNet-BC blocks against torch.nn twins written from torchvision's ``densenet.py``."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import minicnn
from minicnn.nn.blocks.densenet import DenseBlock, DenseLayer, SeparableConv2d, Transition
from minicnn.testing import gradcheck
from tests.models import compare_module, copy_weights, count_parameters, randomize_torch_bn
from tests.models import torch_one_thread  # noqa: F401  (autouse fixture)

tnn = torch.nn

# float32: BN -> ReLU -> conv twice per layer, with BN dividing by a batch std;
# differing summation orders give relative errors near 1e-5.
ATOL, RTOL = 1e-4, 1e-3


# ----------------------------------------------------------------- torch twins
class TorchSeparable(tnn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.depthwise = tnn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = tnn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class TorchDenseLayer(tnn.Module):
    def __init__(self, cin, growth_rate, bn_size, separable=False):
        super().__init__()
        width = bn_size * growth_rate
        self.norm1 = tnn.BatchNorm2d(cin)
        self.relu1 = tnn.ReLU(inplace=True)
        self.conv1 = tnn.Conv2d(cin, width, 1, bias=False)
        self.norm2 = tnn.BatchNorm2d(width)
        self.relu2 = tnn.ReLU(inplace=True)
        self.conv2 = (TorchSeparable(width, growth_rate) if separable
                      else tnn.Conv2d(width, growth_rate, 3, padding=1, bias=False))

    def forward(self, inputs):
        x = torch.cat(inputs, 1) if isinstance(inputs, list) else inputs
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class TorchDenseBlock(tnn.ModuleDict):
    def __init__(self, num_layers, cin, bn_size, growth_rate, separable=False):
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}",
                            TorchDenseLayer(cin + i * growth_rate, growth_rate, bn_size, separable))

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class TorchTransition(tnn.Sequential):
    def __init__(self, cin, cout):
        super().__init__()
        self.add_module("norm", tnn.BatchNorm2d(cin))
        self.add_module("relu", tnn.ReLU(inplace=True))
        self.add_module("conv", tnn.Conv2d(cin, cout, 1, bias=False))
        self.add_module("pool", tnn.AvgPool2d(2, 2))


class TorchListInput(tnn.Module):
    """Feeds a layer the list of feature maps a dense block would (tests list inputs)."""

    def __init__(self, layer, split):
        super().__init__()
        self.layer, self.split = layer, split

    def forward(self, x):
        return self.layer(list(torch.split(x, self.split, 1)))


class ListInput(minicnn.nn.Module):
    def __init__(self, layer, split):
        super().__init__()
        self.layer, self.split = layer, split

    def forward(self, x):
        return self.layer(list(minicnn.split(x, self.split, 1)))


# ----------------------------------------------------------------- parity
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("separable", [False, True], ids=["regular", "separable"])
def test_dense_layer_matches_torch(separable, train):
    torch.manual_seed(0)
    theirs = randomize_torch_bn(TorchDenseLayer(6, 3, 2, separable))
    ours = copy_weights(DenseLayer(6, 3, 2, separable=separable), theirs)
    x = np.random.default_rng(0).standard_normal((3, 6, 5, 5)).astype(np.float32)
    y = compare_module(ours, theirs, x, train=train, atol=ATOL, rtol=RTOL)
    assert y.shape == (3, 3, 5, 5)  # only the growth_rate new channels


def test_dense_layer_takes_a_list_of_feature_maps():
    torch.manual_seed(1)
    theirs = randomize_torch_bn(TorchDenseLayer(7, 2, 3))
    ours = copy_weights(DenseLayer(7, 2, 3), theirs)
    x = np.random.default_rng(1).standard_normal((2, 7, 4, 4)).astype(np.float32)
    compare_module(ListInput(ours, [4, 3]), TorchListInput(theirs, [4, 3]), x, train=True,
                   atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("separable", [False, True], ids=["regular", "separable"])
def test_dense_block_matches_torch(separable, train):
    torch.manual_seed(2)
    theirs = randomize_torch_bn(TorchDenseBlock(3, 5, 2, 3, separable))
    ours = copy_weights(DenseBlock(3, 5, 2, 3, separable=separable), theirs)
    x = np.random.default_rng(2).standard_normal((2, 5, 4, 4)).astype(np.float32)
    y = compare_module(ours, theirs, x, train=train, atol=ATOL, rtol=RTOL)
    assert y.shape == (2, 5 + 3 * 3, 4, 4)
    # The block's input passes through unchanged as its first channels (Eq. 2's x_0).
    np.testing.assert_array_equal(y.numpy()[:, :5], x)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("size", [(6, 6), (7, 5)])
def test_transition_matches_torch(size, train):
    torch.manual_seed(3)
    theirs = randomize_torch_bn(TorchTransition(8, 4))
    ours = copy_weights(Transition(8, 4), theirs)
    x = np.random.default_rng(3).standard_normal((2, 8, *size)).astype(np.float32)
    y = compare_module(ours, theirs, x, train=train, atol=ATOL, rtol=RTOL)
    assert y.shape == (2, 4, size[0] // 2, size[1] // 2)


def test_state_dict_keys_are_torchvisions():
    keys = list(DenseBlock(2, 4, 4, 2).state_dict())
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    layer = ([f"norm1.{k}" for k in bn] + ["conv1.weight"] + [f"norm2.{k}" for k in bn]
             + ["conv2.weight"])
    assert keys == [f"denselayer{i}.{k}" for i in (1, 2) for k in layer]
    assert list(Transition(4, 2).state_dict()) == [f"norm.{k}" for k in bn] + ["conv.weight"]


def test_separable_parameter_count():
    # Article's section: 3 -> 64 with a 3x3 kernel: 3*3*3 + 3*64 weights (no biases here).
    assert count_parameters(SeparableConv2d(3, 64)) == 3 * 3 * 3 + 3 * 64
    # Layer: BN(C) + 1x1 C->4k + BN(4k) + conv2; regular 9*4k*k, separable 9*4k + 4k*k.
    c, k = 10, 6
    shared = 2 * c + c * 4 * k + 2 * 4 * k
    assert count_parameters(DenseLayer(c, k, 4)) == shared + 9 * 4 * k * k
    assert count_parameters(DenseLayer(c, k, 4, separable=True)) == shared + 9 * 4 * k + 4 * k * k


def test_dropout_acts_only_in_training():
    minicnn.manual_seed(0)
    layer = DenseLayer(4, 8, 2, drop_rate=0.5)
    x = minicnn.randn(2, 4, 5, 5)
    layer.eval()
    kept = layer(x).numpy()
    plain = DenseLayer(4, 8, 2)
    plain.load_state_dict(layer.state_dict())
    plain.eval()
    np.testing.assert_array_equal(kept, plain(x).numpy())
    layer.train()
    plain.train()
    dropped, full = layer(x).numpy(), plain(x).numpy()
    zeros = dropped == 0
    assert 0.3 < zeros.mean() < 0.7  # about half the 400 values dropped
    np.testing.assert_allclose(dropped[~zeros], 2.0 * full[~zeros], rtol=1e-6)


@settings(max_examples=4)
@given(data=st.data())
def test_gradcheck_tiny_dense_modules(data):
    minicnn.manual_seed(data.draw(st.integers(0, 2**16)))
    cin = data.draw(st.integers(2, 3))
    size = data.draw(st.integers(2, 4))
    kind = data.draw(st.sampled_from(["block", "transition"]))
    if kind == "block":
        block = DenseBlock(2, cin, 2, data.draw(st.integers(2, 3)),
                           separable=data.draw(st.booleans()))
        last = block.denselayer2.conv2
        checked = [block.denselayer1.conv1.weight,
                   last.pointwise.weight if isinstance(last, SeparableConv2d) else last.weight]
    else:
        block = Transition(cin, data.draw(st.integers(2, 3)))
        checked = [block.conv.weight, block.norm.bias]
    block = block.double()
    block.train(data.draw(st.booleans()))
    block.zero_grad()
    x = minicnn.randn(2, cin, size, size, dtype=minicnn.float64, requires_grad=True)
    gradcheck(lambda x, *params: block(x), [x, *checked])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("make, match", [
    (lambda: DenseLayer(0, 4, 4), "DenseLayer: num_input_features"),
    (lambda: DenseLayer(4, 0, 4), "DenseLayer: growth_rate"),
    (lambda: DenseLayer(4, 4, 0), "DenseLayer: bn_size"),
    (lambda: DenseLayer(4, 4, 4, drop_rate=1.0), "DenseLayer: drop_rate"),
    (lambda: DenseBlock(0, 4, 4, 4), "DenseBlock: num_layers"),
    (lambda: DenseBlock(2, 4, 4, 4, drop_rate=-0.1), "DenseBlock: drop_rate"),
    (lambda: Transition(4, 0), "Transition: num_output_features"),
])
def test_bad_arguments_name_themselves(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, x_shape, match", [
    (lambda: DenseLayer(6, 2, 2), (2, 5, 4, 4), r"DenseLayer: .*6 channels.*\(2, 5, 4, 4\)"),
    (lambda: DenseBlock(2, 6, 2, 2), (2, 5, 4, 4), r"DenseBlock: .*\(N, 6, H, W\).*\(2, 5, 4, 4\)"),
    (lambda: Transition(6, 3), (2, 5, 4, 4), r"Transition: .*\(N, 6, H, W\)"),
    (lambda: Transition(6, 3), (2, 6, 1, 4), r"Transition: .*H, W >= 2.*\(2, 6, 1, 4\)"),
])
def test_bad_inputs_raise_before_running_stats_change(make, x_shape, match):
    module = make()
    before = {k: np.array(v) for k, v in module.state_dict().items()}
    with pytest.raises(ValueError, match=match):
        module(minicnn.randn(*x_shape))
    for key, value in module.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), before[key], err_msg=key)
