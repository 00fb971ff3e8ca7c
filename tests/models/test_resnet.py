"""resnet18/34/50 and preact_resnet18/50: sizes, torchvision layout, and agreement with torch twins.

The torch twins are torchvision's ``ResNet`` written out with torch.nn (plus
the pre-activation network of He et al. 2016), with the same ``width`` /
``small_input`` / ``in_channels`` options. Whole models are compared in
float64: in float32 a pre-activation that sits at a ReLU kink can flip and
change a gradient element by O(1e-2) (PERF-NOTES), in float64 the two agree
to ~1e-12.
"""
import numpy as np
import pytest
import torch

import minicnn
from minicnn import nn
from minicnn.models.resnet import (MODELS, PreActResNet, ResNet, preact_resnet18,
                                   preact_resnet50, resnet18, resnet34, resnet50)
from minicnn.nn.blocks.resnet import BasicBlock, PreActBasicBlock
from tests.models import compare_module, copy_weights, count_parameters, randomize_torch_bn
from tests.models import torch_one_thread  # noqa: F401  (autouse fixture)
from tests.nn.test_blocks_resnet import (TorchBasicBlock, TorchBottleneck, TorchPreActBasicBlock,
                                         TorchPreActBottleneck, t_projection)

tnn = torch.nn

# float64 whole-model comparison: rounding differences of ~1e-13 grow through
# ~50 layers and BN's division by batch std; 1e-7 still rejects any real error.
ATOL64, RTOL64 = 1e-7, 1e-6


# ----------------------------------------------------------------- torch twins
class TorchResNet(tnn.Module):
    """torchvision.models.resnet.ResNet, with width / small_input / in_channels options."""

    def __init__(self, block, layers, num_classes=1000, in_channels=3, width=64,
                 small_input=False):
        super().__init__()
        self.inplanes = width
        if small_input:
            self.conv1 = tnn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        else:
            self.conv1 = tnn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(width)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.Identity() if small_input else tnn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, 2 * width, layers[1], 2)
        self.layer3 = self._make_layer(block, 4 * width, layers[2], 2)
        self.layer4 = self._make_layer(block, 8 * width, layers[3], 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(8 * width * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = t_projection(self.inplanes, planes * block.expansion, stride)
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TorchPreActResNet(tnn.Module):
    """He et al. 2016: stem conv, pre-activation units, final BN-ReLU, pool, fc."""

    def __init__(self, block, layers, num_classes=1000, in_channels=3, width=64,
                 small_input=False):
        super().__init__()
        self.inplanes = width
        if small_input:
            self.conv1 = tnn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        else:
            self.conv1 = tnn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        self.maxpool = tnn.Identity() if small_input else tnn.MaxPool2d(3, 2, 1)
        stages = []
        for i, n in enumerate(layers):
            planes = width * 2 ** i
            units = [block(self.inplanes, planes, 1 if i == 0 else 2)]
            self.inplanes = planes * block.expansion
            units += [block(self.inplanes, planes) for _ in range(1, n)]
            stages.append(tnn.Sequential(*units))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.norm = tnn.BatchNorm2d(self.inplanes)
        self.relu = tnn.ReLU()
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(self.inplanes, num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.relu(self.norm(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


TWINS = {
    "resnet18": lambda **kw: TorchResNet(TorchBasicBlock, [2, 2, 2, 2], **kw),
    "resnet34": lambda **kw: TorchResNet(TorchBasicBlock, [3, 4, 6, 3], **kw),
    "resnet50": lambda **kw: TorchResNet(TorchBottleneck, [3, 4, 6, 3], **kw),
    "preact_resnet18": lambda **kw: TorchPreActResNet(TorchPreActBasicBlock, [2, 2, 2, 2], **kw),
    "preact_resnet50": lambda **kw: TorchPreActResNet(TorchPreActBottleneck, [3, 4, 6, 3], **kw),
}


# ----------------------------------------------------------------- sizes
# torchvision's published parameter counts (torchvision.models documentation tables).
TORCHVISION_PARAMS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032}


def preact_parameter_count(expansion, layers, width=64, num_classes=1000, in_channels=3,
                           stem_kernel=7):
    """PreAct-ResNet parameters, summed layer by layer from He et al. 2016's architecture.

    Stem conv (no bias, no BN); per unit BN(C_in) = 2 C_in, then per conv its
    weights and, except for the last conv, the BN that pre-activates the next
    one; a 1x1 projection (no BN) where the shape changes; final BN + fc.
    """
    total = in_channels * width * stem_kernel ** 2
    inplanes = width
    for stage, units in enumerate(layers):
        planes = width * 2 ** stage
        out = planes * expansion
        for unit in range(units):
            stride = 2 if stage > 0 and unit == 0 else 1
            total += 2 * inplanes                                   # bn1
            if expansion == 1:
                total += 9 * inplanes * planes + 2 * planes + 9 * planes * planes
            else:
                total += (inplanes * planes + 2 * planes            # conv1 1x1, bn2
                          + 9 * planes * planes + 2 * planes        # conv2 3x3, bn3
                          + planes * out)                           # conv3 1x1
            if stride != 1 or inplanes != out:
                total += inplanes * out                             # projection
            inplanes = out
    return total + 2 * inplanes + inplanes * num_classes + num_classes


def test_resnet_parameter_counts_equal_torchvisions():
    for name, expected in TORCHVISION_PARAMS.items():
        assert count_parameters(MODELS[name]()) == expected, name


def test_preact_parameter_counts_follow_the_architecture():
    assert count_parameters(preact_resnet18()) == preact_parameter_count(1, [2, 2, 2, 2])
    assert count_parameters(preact_resnet50()) == preact_parameter_count(4, [3, 4, 6, 3])
    small = preact_resnet18(10, in_channels=1, width=8, small_input=True)
    assert count_parameters(small) == preact_parameter_count(1, [2, 2, 2, 2], 8, 10, 1, 3)


def test_models_registry():
    assert MODELS == {"resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50,
                      "preact_resnet18": preact_resnet18, "preact_resnet50": preact_resnet50}


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "preact_resnet50"])
def test_state_dict_keys_and_shapes_match_the_torch_twin(name):
    ours = MODELS[name]().state_dict()
    theirs = TWINS[name]().state_dict()
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert tuple(np.shape(ours[key])) == tuple(value.shape), key


def test_resnet50_has_torchvisions_keys():
    # A few entries of torchvision's resnet50 state_dict, written from its source.
    model = resnet50()
    shapes = {k: tuple(np.shape(v)) for k, v in model.state_dict().items()}
    assert shapes["conv1.weight"] == (64, 3, 7, 7)
    assert shapes["layer1.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert shapes["layer2.0.conv2.weight"] == (128, 128, 3, 3)   # stride in the 3x3 (v1.5)
    assert shapes["layer3.5.bn3.running_var"] == (1024,)
    assert shapes["layer4.2.conv3.weight"] == (2048, 512, 1, 1)
    assert shapes["layer4.0.downsample.1.num_batches_tracked"] == ()
    assert shapes["fc.weight"] == (1000, 2048) and shapes["fc.bias"] == (1000,)
    assert model.layer2[0].conv2.stride == (2, 2)


# ----------------------------------------------------------------- parity
def sgd_step(ours, theirs, lr=0.01):
    """p -= lr * grad on both models (a plain SGD step, no optimiser needed)."""
    our_params = dict(ours.named_parameters())
    with torch.no_grad():
        for name, param in theirs.named_parameters():
            param -= lr * param.grad
            our_params[name].data -= lr * np.asarray(our_params[name].grad)


def check_training_and_eval(ours, theirs, x):
    """Two training steps (forward, backward, SGD) then eval, all compared with torch."""
    for step in range(2):
        compare_module(ours, theirs, x, train=True, atol=ATOL64, rtol=RTOL64, seed=step)
        sgd_step(ours, theirs)
    # BN running statistics after the two steps, and eval mode that uses them.
    compare_module(ours, theirs, x, train=False, atol=ATOL64, rtol=RTOL64, seed=2)


@pytest.mark.parametrize("name", list(TWINS))
def test_model_matches_torch_float64(name):
    # The full module tree at width 16 (1/16 of the FLOPs of width 64; the full widths are
    # checked above by keys, shapes and counts). 48x48 leaves layer4 at 2x2: with a 1x1 map
    # and 2 images, BN's batch variance comes from 2 numbers and its backward is so badly
    # conditioned that rounding alone moves gradients by ~1e-6.
    torch.manual_seed(0)
    theirs = randomize_torch_bn(TWINS[name](num_classes=10, width=16)).double()
    ours = copy_weights(MODELS[name](num_classes=10, width=16).double(), theirs)
    x = np.random.default_rng(0).standard_normal((2, 3, 48, 48))
    check_training_and_eval(ours, theirs, x)


@pytest.mark.parametrize("name", ["resnet18", "preact_resnet50"])
def test_small_input_digits_variant_matches_torch(name):
    options = dict(in_channels=1, width=8, small_input=True)
    torch.manual_seed(1)
    theirs = randomize_torch_bn(TWINS[name](num_classes=10, **options)).double()
    ours = copy_weights(MODELS[name](num_classes=10, **options).double(), theirs)
    assert isinstance(ours.maxpool, nn.Identity) and ours.conv1.weight.shape == (8, 1, 3, 3)
    x = np.random.default_rng(1).standard_normal((4, 1, 8, 8))
    check_training_and_eval(ours, theirs, x)


# ----------------------------------------------------------------- init
def test_initialisation_is_torchvisions():
    minicnn.manual_seed(0)
    model = resnet18(zero_init_residual=True)
    # Kaiming normal, fan_out, ReLU gain: std = sqrt(2 / (C_out k^2)); 2.4M samples.
    weight = np.asarray(model.layer4[0].conv2.weight.data)
    assert abs(weight.mean()) < 1e-3
    np.testing.assert_allclose(weight.std(), np.sqrt(2.0 / (512 * 9)), rtol=0.01)
    # PyTorch's Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), std bound/sqrt(3).
    bound = 1 / np.sqrt(512)
    fc = np.asarray(model.fc.weight.data)
    assert np.abs(fc).max() <= bound
    np.testing.assert_allclose(fc.std(), bound / np.sqrt(3), rtol=0.02)
    assert np.all(np.asarray(model.bn1.weight.data) == 1)
    assert np.all(np.asarray(model.bn1.bias.data) == 0)
    assert np.all(np.asarray(model.layer1[0].bn2.weight.data) == 0)   # zero_init_residual
    assert np.all(np.asarray(model.layer1[0].bn1.weight.data) == 1)


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, model", [(resnet18, "ResNet"), (preact_resnet18, "PreActResNet")])
def test_wrong_input_channels_raise_before_running_stats_change(make, model):
    net = make(10, width=4, small_input=True)
    before = {k: np.array(v) for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match=rf"{model}: expected .*\(N, 3, H, W\).*\(2, 1, 8, 8\)"):
        net(minicnn.randn(2, 1, 8, 8))
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), before[key], err_msg=key)


@pytest.mark.parametrize("kwargs, match", [
    (dict(width=0), "ResNet: width"),
    (dict(in_channels=0), "ResNet: in_channels"),
    (dict(num_classes=0), "ResNet: num_classes"),
])
def test_bad_options_name_themselves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        resnet18(**kwargs)


def test_bad_layers():
    with pytest.raises(ValueError, match="ResNet: layers"):
        ResNet(BasicBlock, [2, 2, 2])
    with pytest.raises(ValueError, match="PreActResNet: layers"):
        PreActResNet(PreActBasicBlock, [2, 0, 2, 2])
