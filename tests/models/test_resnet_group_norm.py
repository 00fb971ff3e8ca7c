"""A ResNet-18 with GroupNorm (torchvision's ``norm_layer``): it matches its torch twin, and
it learns at batch size 2, where batch norm's statistics degenerate.

The measured comparison (whole runs on the digits, test accuracy of both at batch
size 2) is ``benchmarks/group_norm_digits.py``; these tests stay small and fast.
"""
import numpy as np
import pytest
import torch

import minicnn
from minicnn import nn, optim
from minicnn.data import Digits
from minicnn.models.resnet import resnet18
from minicnn.nn import functional as F
from tests.models import compare_module, copy_weights
from tests.models import torch_one_thread  # noqa: F401  (autouse fixture)
from tests.models.test_resnet import TWINS

DIGITS = dict(num_classes=10, in_channels=1, width=8, small_input=True)


def group_norm(channels):
    return nn.GroupNorm(2, channels)


def _torch_group_norm_twin(module):
    """torchvision's ResNet twin with every BatchNorm2d replaced by GroupNorm(2, C)."""
    for name, child in module.named_children():
        if isinstance(child, torch.nn.BatchNorm2d):
            setattr(module, name, torch.nn.GroupNorm(2, child.num_features))
        else:
            _torch_group_norm_twin(child)
    return module


def test_group_norm_resnet_matches_torch_float64():
    """Same keys (GroupNorm has weight and bias only), same outputs and gradients."""
    torch.manual_seed(1)
    theirs = _torch_group_norm_twin(TWINS["resnet18"](**DIGITS)).double()
    with torch.no_grad():  # non-trivial affine maps
        for module in theirs.modules():
            if isinstance(module, torch.nn.GroupNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    ours = resnet18(norm_layer=group_norm, **DIGITS).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in ours.modules())
    copy_weights(ours, theirs)
    x = np.random.default_rng(1).standard_normal((2, 1, 8, 8))
    compare_module(ours, theirs, x, train=True, atol=1e-7, rtol=1e-6)


def _digit_batches(count, size):
    """``count`` batches of ``size`` training digits (normalised), fixed."""
    train = Digits(train=True)
    order = np.random.default_rng(0).permutation(len(train))[:count * size]
    images = np.stack([train[i][0] for i in order]).astype(np.float32)
    targets = np.array([train[i][1] for i in order])
    return [(minicnn.tensor(images[k:k + size]), minicnn.tensor(targets[k:k + size]))
            for k in range(0, count * size, size)]


def test_group_norm_resnet_trains_at_batch_size_2():
    """Six epochs over 4 batches of 2 digits (24 steps): the mean loss over the 8 images
    falls below half its start (ln 10 = 2.3 for a uniform guess; measured: 2.9 -> 0.9),
    and evaluation mode gives the same outputs as training mode (no batch statistics)."""
    minicnn.manual_seed(0)
    model = resnet18(norm_layer=group_norm, **DIGITS)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    batches = _digit_batches(4, 2)

    def mean_loss():
        with minicnn.no_grad():
            return float(np.mean([F.cross_entropy(model(x), y).item() for x, y in batches]))

    start = mean_loss()
    for _ in range(6):
        for x, y in batches:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    end = mean_loss()
    assert end < 0.5 * start, (start, end)
    x = batches[0][0]
    with minicnn.no_grad():
        training = model(x).numpy()
        model.eval()
        np.testing.assert_allclose(model(x).numpy(), training, rtol=1e-5, atol=1e-6)


def test_batch_norm_at_batch_size_2_and_1_fails_as_documented():
    """Why batch norm cannot do this: in ResNet-18's last stage on 8x8 digits the maps are
    1x1, so at batch size 2 each channel's batch holds 2 values a, b and normalises them
    to +-(a - b)/2 / sqrt(((a - b)/2)^2 + eps), i.e. +-1 whatever the images (up to eps):
    the features carry one bit per channel. At batch size 1 there is one value per channel:
    an error. GroupNorm's output for an image does not depend on the batch at all."""
    minicnn.manual_seed(0)
    model = resnet18(**DIGITS)
    (x, _), = _digit_batches(1, 2)
    captured = {}
    bn = model.layer4[1].bn2
    bn.register_forward_hook(lambda m, inputs, out: captured.update(
        before=inputs[0].numpy(), after=out.numpy()))
    model(x)
    before, after = captured["before"], captured["after"]
    assert before.shape == (2, 64, 1, 1)
    half_gap = (before[0] - before[1]) / 2  # (a - b) / 2 per channel
    expected = half_gap / np.sqrt(half_gap ** 2 + bn.eps)
    normalised = (after - bn.bias.numpy()[:, None, None]) / bn.weight.numpy()[:, None, None]
    np.testing.assert_allclose(normalised, np.stack([expected, -expected]), rtol=1e-4, atol=1e-5)
    assert np.median(np.abs(normalised)) > 0.99  # +-1 but for channels with a ~ b
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        model(x[:1])
    group_norm_model = resnet18(norm_layer=group_norm, **DIGITS)
    np.testing.assert_allclose(group_norm_model(x[:1]).numpy(), group_norm_model(x).numpy()[:1],
                               rtol=1e-5, atol=1e-6)
