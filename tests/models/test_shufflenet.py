"""ShuffleNetV2 against a torch.nn re-implementation of torchvision's ``shufflenetv2.py``.

The torch classes transcribe torchvision's InvertedResidual and ShuffleNetV2
(same attribute names: a strict ``load_state_dict`` proves the key layout); the
unit takes a ``split`` flag so that the small-input variant (documented: stem
stride 1, no max pool, a two-branch stride-1 first unit in stage 2) is written
out here by hand. The block tests (tests/nn/test_blocks_shufflenet.py) use the
same torch unit.
"""
import math

import numpy as np
import pytest
import torch

import minicnn
from minicnn.models.shufflenet import ShuffleNetV2, shufflenet_v2_x0_5, shufflenet_v2_x1_0
from tests.models import compare_module, copy_weights, count_parameters, randomize_torch_bn
from tests.models.test_mobilenet import ATOL64, RTOL64, assert_same_layout, sgd_steps_agree

tnn = torch.nn


# ------------------------------------------------------------ torch twins
def t_channel_shuffle(x, groups):
    """torchvision's channel_shuffle."""
    n, c, h, w = x.shape
    x = x.view(n, groups, c // groups, h, w)
    return torch.transpose(x, 1, 2).contiguous().view(n, c, h, w)


class TorchShuffleUnit(tnn.Module):
    """torchvision's shufflenetv2.InvertedResidual; ``split=False`` at stride 1 builds the
    two-branch unit without downsampling (torchvision only builds it for stride > 1)."""

    def __init__(self, inp, oup, stride, split=None):
        super().__init__()
        self.split = stride == 1 if split is None else split
        branch_features = oup // 2
        if not self.split:
            self.branch1 = tnn.Sequential(
                tnn.Conv2d(inp, inp, 3, stride, 1, bias=False, groups=inp),
                tnn.BatchNorm2d(inp),
                tnn.Conv2d(inp, branch_features, 1, 1, 0, bias=False),
                tnn.BatchNorm2d(branch_features),
                tnn.ReLU(inplace=True),
            )
        else:
            self.branch1 = tnn.Sequential()
        self.branch2 = tnn.Sequential(
            tnn.Conv2d(branch_features if self.split else inp, branch_features, 1, 1, 0,
                       bias=False),
            tnn.BatchNorm2d(branch_features),
            tnn.ReLU(inplace=True),
            tnn.Conv2d(branch_features, branch_features, 3, stride, 1, bias=False,
                       groups=branch_features),
            tnn.BatchNorm2d(branch_features),
            tnn.Conv2d(branch_features, branch_features, 1, 1, 0, bias=False),
            tnn.BatchNorm2d(branch_features),
            tnn.ReLU(inplace=True),
        )

    def forward(self, x):
        if self.split:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return t_channel_shuffle(out, 2)


WIDTHS = {"shufflenet_v2_x0_5": [24, 48, 96, 192, 1024],
          "shufflenet_v2_x1_0": [24, 116, 232, 464, 1024]}
BUILD = {"shufflenet_v2_x0_5": shufflenet_v2_x0_5, "shufflenet_v2_x1_0": shufflenet_v2_x1_0}


class TorchShuffleNetV2(tnn.Module):
    """torchvision's ShuffleNetV2 (plus the documented small-input variant)."""

    def __init__(self, widths, repeats=(4, 8, 4), num_classes=1000, small_input=False,
                 in_channels=3):
        super().__init__()
        self.conv1 = tnn.Sequential(
            tnn.Conv2d(in_channels, widths[0], 3, 1 if small_input else 2, 1, bias=False),
            tnn.BatchNorm2d(widths[0]), tnn.ReLU(inplace=True))
        self.maxpool = tnn.Identity() if small_input else tnn.MaxPool2d(3, 2, 1)
        cin = widths[0]
        for index, (n, cout) in enumerate(zip(repeats, widths[1:4])):
            if small_input and index == 0:
                first = TorchShuffleUnit(cin, cout, 1, split=False)
            else:
                first = TorchShuffleUnit(cin, cout, 2)
            units = [first] + [TorchShuffleUnit(cout, cout, 1) for _ in range(n - 1)]
            setattr(self, f"stage{index + 2}", tnn.Sequential(*units))
            cin = cout
        self.conv5 = tnn.Sequential(tnn.Conv2d(cin, widths[4], 1, 1, 0, bias=False),
                                    tnn.BatchNorm2d(widths[4]), tnn.ReLU(inplace=True))
        self.fc = tnn.Linear(widths[4], num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


# ------------------------------------------------------------ tests
@pytest.mark.parametrize("name, published", [("shufflenet_v2_x0_5", 1_366_792),
                                             ("shufflenet_v2_x1_0", 2_278_604)])
def test_parameter_count_is_torchvisions(name, published):
    model = BUILD[name]()
    assert count_parameters(model) == published  # torchvision's model table
    assert_same_layout(model, TorchShuffleNetV2(WIDTHS[name]))


@pytest.mark.parametrize("name", ["shufflenet_v2_x0_5", "shufflenet_v2_x1_0"])
@pytest.mark.parametrize("train", [False, True])
def test_imagenet_configuration_matches_torch_float64(name, train):
    torch.manual_seed(0)
    theirs = randomize_torch_bn(TorchShuffleNetV2(WIDTHS[name], num_classes=10)).double()
    ours = copy_weights(BUILD[name](num_classes=10).double(), theirs)
    x = np.random.default_rng(1).standard_normal((4, 3, 32, 32))
    compare_module(ours, theirs, x, train=train, atol=ATOL64, rtol=RTOL64)


def test_small_input_variant_matches_torch_and_trains_alike():
    """A narrow small-input ShuffleNetV2 with one input channel at 8x8 (the digits setting)."""
    torch.manual_seed(0)
    widths, repeats = [8, 16, 32, 64, 128], [2, 3, 2]
    theirs = randomize_torch_bn(TorchShuffleNetV2(widths, repeats, num_classes=10,
                                                  small_input=True, in_channels=1)).double()
    ours = copy_weights(ShuffleNetV2(repeats, widths, num_classes=10, small_input=True,
                                     in_channels=1).double(), theirs)
    rng = np.random.default_rng(2)
    for train in (False, True):
        compare_module(ours, theirs, rng.standard_normal((3, 1, 8, 8)), train=train,
                       atol=ATOL64, rtol=RTOL64)
    sgd_steps_agree(ours, theirs, [rng.standard_normal((4, 1, 8, 8)) for _ in range(2)])


@pytest.mark.parametrize("small_input, size, final", [(False, 32, 1), (False, 64, 2),
                                                      (True, 32, 8), (True, 8, 2)])
def test_feature_map_size(small_input, size, final):
    model = ShuffleNetV2([1, 1, 1], [8, 16, 32, 64, 32], small_input=small_input).eval()
    with minicnn.no_grad():
        x = model.maxpool(model.conv1(minicnn.randn(1, 3, size, size)))
        x = model.stage4(model.stage3(model.stage2(x)))
    assert x.shape[2:] == (final, final)


def test_default_initialisation_is_pytorchs_layer_default():
    """torchvision leaves ShuffleNetV2 at PyTorch's layer defaults: conv and linear weights
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform, a = sqrt(5)), BN 1/0."""
    minicnn.manual_seed(0)
    model = shufflenet_v2_x1_0()
    fc = model.fc.weight.numpy()                              # (1000, 1024)
    bound = 1 / math.sqrt(1024)
    assert fc.min() >= -bound and fc.max() <= bound
    assert fc.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    conv5 = model.conv5[0].weight.numpy()                     # (1024, 464, 1, 1)
    assert conv5.std() == pytest.approx(1 / math.sqrt(464) / math.sqrt(3), rel=0.01)
    bn = model.stage3[0].branch2[1]
    assert np.all(bn.weight.numpy() == 1) and not np.any(bn.bias.numpy())


def test_bad_input_raises_before_running_statistics_change():
    model = shufflenet_v2_x0_5(num_classes=10).train()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\).*\(2, 1, 32, 32\)"):
        model(minicnn.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="8x8.*total stride 32.*small_input"):
        model(minicnn.randn(2, 3, 8, 8))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize("args, match", [
    (([4, 8], [24, 48, 96, 192, 1024]), "stages_repeats"),
    (([4, 8, 4], [24, 48, 96, 1024]), "stages_out_channels"),
    (([4, 8, 4], [24, 49, 96, 192, 1024]), "even"),
])
def test_bad_configuration(args, match):
    with pytest.raises(ValueError, match=match):
        ShuffleNetV2(*args)
