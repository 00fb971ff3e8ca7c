"""minicnn.summary (per-layer table, MACs) and minicnn.interop (weights in and out, compare_layers)."""
import numpy as np
import pytest
import torch

import minicnn
import minicnn.nn as nn
from minicnn.interop import (compare_layers, from_torch_state_dict, load_torch_weights,
                             to_torch_state_dict)
from minicnn.models import get_model, list_models

# torchvision's published compute per 224x224 image, in giga multiply-accumulates: the "_ops"
# entry of each weight's metadata (shown rounded as the "GFLOPS" column of its model table).
TORCHVISION_GMACS = {
    "resnet18": 1.814, "resnet34": 3.664, "resnet50": 4.089, "mobilenet_v2": 0.301,
    "mobilenet_v3_small": 0.057, "mobilenet_v3_large": 0.217, "efficientnet_b0": 0.386,
    "shufflenet_v2_x0_5": 0.04, "shufflenet_v2_x1_0": 0.145, "densenet121": 2.834,
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_GMACS))
def test_total_macs_at_224_agree_with_torchvision_within_2_percent(name):
    result = minicnn.summary(get_model(name), (1, 3, 224, 224))
    published = TORCHVISION_GMACS[name] * 1e9
    assert abs(result.total_macs - published) <= 0.02 * published, (result.total_macs, published)
    assert result.total_params == get_model(name).num_parameters()


def test_conv_and_linear_macs_follow_the_formulas():
    # Derived by hand from the formulas in minicnn/summary.py's docstring.
    model = nn.Sequential(nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=2), nn.ReLU(),
                          nn.ConvTranspose2d(8, 6, 2, stride=2), nn.Flatten(),
                          nn.Linear(6 * 10 * 10, 5))
    result = minicnn.summary(model, (3, 4, 10, 10))
    conv = 3 * 8 * 5 * 5 * (4 // 2) * 3 * 3
    transposed = 3 * 8 * 5 * 5 * 6 * 2 * 2
    linear = 3 * 600 * 5
    macs = {row.name: row.macs for row in result.rows}
    assert (macs["0"], macs["2"], macs["4"]) == (conv, transposed, linear)
    assert result.total_macs == conv + transposed + linear
    shapes = {row.name: row.output_shape for row in result.rows}
    assert shapes["0"] == (3, 8, 5, 5) and shapes["2"] == (3, 6, 10, 10) and shapes["4"] == (3, 5)
    text = str(result)
    assert "ConvTranspose2d" in text and f"{conv + transposed + linear:,}" in text


def test_summary_restores_training_mode_and_leaves_no_hooks():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    model.train()
    before = model[1].running_mean.data.copy()
    minicnn.summary(model, (1, 1, 5, 5))
    assert model.training and model[1].training
    np.testing.assert_array_equal(model[1].running_mean.data, before)  # ran in eval mode
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_get_model_rejects_unknown_names_and_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown model 'resnet19'") as error:
        get_model("resnet19")
    assert all(name in str(error.value) for name in list_models())


def _pair():
    ours = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 2, 1))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                                 torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 1))
    return ours.eval(), theirs.eval()


def test_state_dicts_round_trip_between_engines():
    ours, theirs = _pair()
    load_torch_weights(ours, theirs)
    back = to_torch_state_dict(ours)
    assert list(back) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert torch.equal(back[key], value), key
    assert all(isinstance(v, np.ndarray) for v in from_torch_state_dict(theirs.state_dict()).values())


def test_compare_layers_agrees_when_weights_match():
    ours, theirs = _pair()
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    report = compare_layers(ours, theirs, x)
    assert report.first_divergence is None
    assert [layer.name for layer in report.layers] == ["0", "1", "2", "3", ""]


def test_compare_layers_names_the_first_layer_that_departs():
    ours, theirs = _pair()
    load_torch_weights(ours, theirs)
    with torch.no_grad():  # a port bug: the torch model's BN statistics differ
        theirs[1].running_var.mul_(4.0)
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 6)).astype(np.float32)
    report = compare_layers(ours, theirs, x, copy_weights=False)
    first = report.first_divergence
    assert first is not None and first.name == "1" and first.type == "BatchNorm2d"
    assert report.layers[0].passed and first.max_abs_error > 1e-2
    assert "<-- departs" in str(report)
