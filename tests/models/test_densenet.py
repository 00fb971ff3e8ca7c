"""densenet121: size, torchvision layout, and agreement with a torch twin (torchvision's code)."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import minicnn
from minicnn.models.densenet import MODELS, DenseNet, densenet121
from tests.models import compare_module, copy_weights, count_parameters, randomize_torch_bn
from tests.models import torch_one_thread  # noqa: F401  (autouse fixture)
from tests.models.test_resnet import sgd_step
from tests.nn.test_blocks_densenet import TorchDenseBlock, TorchTransition

tnn = torch.nn

# float64 whole-model comparison (see test_resnet.py): 1e-7 of each tensor's scale.
ATOL64, RTOL64 = 1e-7, 1e-6

# torchvision's published parameter count (torchvision.models documentation table).
DENSENET121_PARAMS = 7_978_856


class TorchDenseNet(tnn.Module):
    """torchvision.models.densenet.DenseNet plus the in_channels/small_input/separable options."""

    def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64,
                 bn_size=4, num_classes=1000, in_channels=3, small_input=False, separable=False):
        super().__init__()
        if small_input:
            stem = [("conv0", tnn.Conv2d(in_channels, num_init_features, 3, 1, 1, bias=False))]
        else:
            stem = [("conv0", tnn.Conv2d(in_channels, num_init_features, 7, 2, 3, bias=False))]
        stem += [("norm0", tnn.BatchNorm2d(num_init_features)), ("relu0", tnn.ReLU(inplace=True))]
        if not small_input:
            stem.append(("pool0", tnn.MaxPool2d(3, 2, 1)))
        self.features = tnn.Sequential(OrderedDict(stem))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}",
                                     TorchDenseBlock(num_layers, num_features, bn_size, growth_rate,
                                                     separable))
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}",
                                         TorchTransition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", tnn.BatchNorm2d(num_features))
        self.classifier = tnn.Linear(num_features, num_classes)

    def forward(self, x):
        out = torch.relu(self.features(x))
        out = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


def test_parameter_count_equals_torchvisions():
    assert count_parameters(densenet121()) == DENSENET121_PARAMS


def test_parameter_count_follows_the_architecture():
    # Per layer: BN(C) + 1x1 C->4k + BN(4k) + 3x3 4k->k; transitions BN(C) + 1x1 C->C/2;
    # stem 7x7 conv + BN; norm5; classifier. Summed from Huang et al.'s Table 1.
    k, total, c = 32, 3 * 64 * 49 + 2 * 64, 64
    for i, layers in enumerate((6, 12, 24, 16)):
        for _ in range(layers):
            total += 2 * c + c * 4 * k + 2 * 4 * k + 9 * 4 * k * k
            c += k
        if i < 3:
            total += 2 * c + c * (c // 2)
            c //= 2
    total += 2 * c + c * 1000 + 1000
    assert c == 1024 and total == DENSENET121_PARAMS


def test_state_dict_keys_and_shapes_match_the_torch_twin():
    ours = densenet121().state_dict()
    theirs = TorchDenseNet().state_dict()
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert tuple(np.shape(ours[key])) == tuple(value.shape), key


def test_has_torchvisions_keys():
    # A few entries of torchvision's densenet121 state_dict, written from its source.
    shapes = {k: tuple(np.shape(v)) for k, v in densenet121().state_dict().items()}
    assert shapes["features.conv0.weight"] == (64, 3, 7, 7)
    assert shapes["features.denseblock1.denselayer1.norm1.weight"] == (64,)
    assert shapes["features.denseblock1.denselayer6.conv1.weight"] == (128, 224, 1, 1)
    assert shapes["features.transition1.conv.weight"] == (128, 256, 1, 1)
    assert shapes["features.denseblock4.denselayer16.conv2.weight"] == (32, 128, 3, 3)
    assert shapes["features.transition3.conv.weight"] == (512, 1024, 1, 1)
    assert shapes["features.norm5.running_mean"] == (1024,)
    assert shapes["classifier.weight"] == (1000, 1024)


def test_models_registry():
    assert MODELS == {"densenet121": densenet121}


def check_training_and_eval(ours, theirs, x):
    """Two training steps (forward, backward, SGD) then eval, all compared with torch."""
    for step in range(2):
        compare_module(ours, theirs, x, train=True, atol=ATOL64, rtol=RTOL64, seed=step)
        sgd_step(ours, theirs)
    compare_module(ours, theirs, x, train=False, atol=ATOL64, rtol=RTOL64, seed=2)


def test_densenet121_matches_torch_float64():
    # The full densenet121 tree, growth rate 8 and 16 stem channels (the module tree and
    # the 121 layers are unchanged; 1/16 of the FLOPs). 64x64 leaves 2x2 maps in the last
    # block: BN statistics of a 1x1 map over 2 images are too ill-conditioned to compare.
    options = dict(growth_rate=8, num_init_features=16, num_classes=10)
    torch.manual_seed(0)
    theirs = randomize_torch_bn(TorchDenseNet(**options)).double()
    ours = copy_weights(densenet121(**options).double(), theirs)
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64))
    check_training_and_eval(ours, theirs, x)


def test_small_separable_digits_variant_matches_torch():
    options = dict(growth_rate=4, num_init_features=8, block_config=(2, 2, 2), num_classes=10,
                   in_channels=1, small_input=True, separable=True)
    torch.manual_seed(1)
    theirs = randomize_torch_bn(TorchDenseNet(**options)).double()
    ours = copy_weights(densenet121(**options).double(), theirs)
    assert "features.pool0" not in dict(ours.named_modules())
    x = np.random.default_rng(1).standard_normal((4, 1, 8, 8))
    check_training_and_eval(ours, theirs, x)
    assert ours(minicnn.randn(3, 1, 8, 8, dtype=minicnn.float64)).shape == (3, 10)


def test_initialisation_is_torchvisions():
    minicnn.manual_seed(0)
    model = densenet121()
    # Kaiming normal, fan_in, ReLU gain: std = sqrt(2 / (C_in k^2)).
    weight = np.asarray(model.features.transition1.conv.weight.data)   # 128 x 256 x 1 x 1
    np.testing.assert_allclose(weight.std(), np.sqrt(2.0 / 256), rtol=0.02)
    weight = np.asarray(model.features.denseblock4.denselayer16.conv2.weight.data)  # 32x128x3x3
    np.testing.assert_allclose(weight.std(), np.sqrt(2.0 / (128 * 9)), rtol=0.02)
    assert np.all(np.asarray(model.classifier.bias.data) == 0)
    bound = 1 / np.sqrt(1024)
    assert np.abs(np.asarray(model.classifier.weight.data)).max() <= bound
    assert np.all(np.asarray(model.features.norm5.weight.data) == 1)


# ----------------------------------------------------------------- bad input
def test_too_small_input_names_the_smallest_size():
    model = densenet121(10, growth_rate=4, num_init_features=8)
    # ImageNet stem: 29 -> 15 -> 8 after conv0 and pool0; three transitions need 8.
    assert model.min_input_size() == 29
    before = {k: np.array(v) for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"DenseNet: .*\(1, 3, 28, 40\) is too small.*>= 29"):
        model(minicnn.randn(1, 3, 28, 40))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), before[key], err_msg=key)
    assert densenet121(10, small_input=True, block_config=(2, 2, 2)).min_input_size() == 4


def test_wrong_input_channels():
    model = densenet121(10, growth_rate=4, num_init_features=8, in_channels=1)
    with pytest.raises(ValueError, match=r"DenseNet: expected .*\(N, 1, H, W\).*\(2, 3, 32, 32\)"):
        model(minicnn.randn(2, 3, 32, 32))


@pytest.mark.parametrize("kwargs, match", [
    (dict(growth_rate=0), "DenseNet: growth_rate"),
    (dict(block_config=()), "DenseNet: block_config"),
    (dict(block_config=(2, 0)), "DenseNet: block_config"),
    (dict(in_channels=0), "DenseNet: in_channels"),
    (dict(drop_rate=1.5), "DenseNet: drop_rate"),
])
def test_bad_options_name_themselves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DenseNet(**kwargs)
