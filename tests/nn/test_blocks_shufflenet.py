"""The ShuffleNetV2 unit (ShuffleV2Block), stride 1 and 2.

Compared with its torch.nn twin (tests/models/test_shufflenet.py, transcribed
from torchvision's shufflenetv2.InvertedResidual) with the same weights in
train and eval mode: output, input gradient, every parameter gradient. Plus a
float64 gradient check on tiny units, the parameter counts from the formulas,
the channel order produced by the split/concat/shuffle, and the errors for
widths the unit cannot take.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import minicnn
from minicnn.nn.blocks.shufflenet import ShuffleV2Block
from minicnn.testing import gradcheck
from tests.models import compare_module, copy_weights, count_parameters, randomize_torch_bn
from tests.models.test_shufflenet import TorchShuffleUnit

# float32: three convs and BNs per branch, summed in a different order by each engine,
# and train-mode BN divides by a batch std: relative differences near 1e-5.
# 1e-4 / 1e-3 still fail any wrong formula or channel order, which errs by O(1).
ATOL, RTOL = 1e-4, 1e-3


def _input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("cin, cout, stride, split, size", [
    (8, 8, 1, None, 5),      # basic unit: split, one branch, shuffle
    (16, 16, 1, None, 4),
    (8, 16, 2, None, 7),     # down-sampling unit, odd size
    (24, 48, 2, None, 6),
    (6, 10, 3, None, 7),     # stride 3 (torchvision's range), odd in_channels
    (24, 48, 1, False, 5),   # two-branch unit without downsampling (small-input stage 2)
])
@pytest.mark.parametrize("train", [False, True])
def test_shuffle_unit_matches_torch(cin, cout, stride, split, size, train):
    torch.manual_seed(0)
    theirs = randomize_torch_bn(TorchShuffleUnit(cin, cout, stride, split))
    ours = copy_weights(ShuffleV2Block(cin, cout, stride, split), theirs)
    compare_module(ours, theirs, _input((2, cin, size, size)), train=train, atol=ATOL,
                   rtol=RTOL)


@settings(max_examples=6)
@given(data=st.data())
def test_shuffle_unit_matches_torch_drawn(data):
    half = data.draw(st.integers(1, 8), label="out_channels // 2")
    stride = data.draw(st.sampled_from([1, 2]), label="stride")
    cin = 2 * half if stride == 1 else data.draw(st.integers(1, 12), label="in_channels")
    size = data.draw(st.integers(2, 6), label="size")
    torch.manual_seed(0)
    theirs = randomize_torch_bn(TorchShuffleUnit(cin, 2 * half, stride))
    ours = copy_weights(ShuffleV2Block(cin, 2 * half, stride), theirs)
    compare_module(ours, theirs, _input((3, cin, size, size)), train=True, atol=ATOL, rtol=RTOL)


def test_basic_unit_passes_half_the_channels_through_shuffled():
    """Output channel 2i is input channel i (the untouched half), channel 2i+1 comes from
    the branch: channel_shuffle(2) interleaves the two halves."""
    block = ShuffleV2Block(8, 8, 1).eval()
    x = minicnn.randn(2, 8, 4, 4)
    with minicnn.no_grad():
        y = block(x).numpy()
        branch = block.branch2(x[:, 4:]).numpy()
    np.testing.assert_array_equal(y[:, 0::2], x.numpy()[:, :4])
    np.testing.assert_array_equal(y[:, 1::2], branch)


def test_parameter_counts():
    b = 58
    # basic unit: branch2 = 1x1 (B*B) + dw 3x3 (9B) + 1x1 (B*B), three BNs (2B each)
    assert count_parameters(ShuffleV2Block(2 * b, 2 * b, 1)) == 2 * b * b + 9 * b + 6 * b
    cin = 24
    # down-sampling unit: left dw (9 C) + BN (2 C) + 1x1 (C B) + BN (2B);
    # right 1x1 (C B) + BN + dw (9B) + BN + 1x1 (B*B) + BN
    left = 9 * cin + 2 * cin + cin * b + 2 * b
    right = cin * b + 2 * b + 9 * b + 2 * b + b * b + 2 * b
    assert count_parameters(ShuffleV2Block(cin, 2 * b, 2)) == left + right
    assert len(ShuffleV2Block(2 * b, 2 * b, 1).branch1) == 0  # torchvision's empty Sequential


@pytest.mark.parametrize("cin, cout, stride, split", [(4, 4, 1, None), (4, 8, 2, None),
                                                      (3, 6, 1, False)])
def test_shuffle_unit_gradcheck(cin, cout, stride, split):
    minicnn.manual_seed(0)
    block = ShuffleV2Block(cin, cout, stride, split).double().train()
    x = minicnn.randn(2, cin, 4, 4, dtype=minicnn.float64, requires_grad=True)
    gradcheck(lambda x, w: block(x), [x, block.branch2[0].weight])


@pytest.mark.parametrize("args, match", [
    ((8, 15, 2), "out_channels must be even.*15"),
    ((8, 16, 1), "in_channels == out_channels.*in_channels=8, out_channels=16"),
    ((8, 8, 2, True), "split.*stride=1, got stride=2"),
    ((8, 8, 4), "stride must be 1, 2 or 3, got 4"),
    ((0, 8, 2), "in_channels"),
])
def test_shuffle_unit_rejects_impossible_widths(args, match):
    with pytest.raises(ValueError, match=match):
        ShuffleV2Block(*args)


def test_shuffle_unit_rejects_wrong_input_before_running_statistics_change():
    block = ShuffleV2Block(8, 16, 2).train()
    before = {k: v.copy() for k, v in block.state_dict().items()}
    with pytest.raises(ValueError, match=r"ShuffleV2Block.*\(N, 8, H, W\).*\(2, 6, 4, 4\)"):
        block(minicnn.randn(2, 6, 4, 4))
    assert all(np.array_equal(before[k], v) for k, v in block.state_dict().items())
