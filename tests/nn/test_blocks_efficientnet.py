"""EfficientNet's MBConv block and stochastic depth.

MBConv is compared with its torch.nn twin (tests/models/test_efficientnet.py,
transcribed from torchvision) with the same weights in train and eval mode
(output, input gradient, every parameter gradient). Stochastic depth draws its
mask from minicnn's generator, which torch cannot replay, so the training-mode
comparison with a drop probability reads the mask off minicnn's output (a
dropped row's output equals its input exactly) and hands it to the torch twin.
"""
import numpy as np
import pytest
import torch

import minicnn
from minicnn import nn
from minicnn.nn.blocks.efficientnet import MBConv, StochasticDepth, stochastic_depth
from minicnn.testing import gradcheck
from tests.models import compare_module, copy_weights, count_parameters, randomize_torch_bn
from tests.models.test_efficientnet import TorchMBConv

# float32: three convs, three BNs and an SE in a chain, summed in a different order
# by each engine, and train-mode BN divides by a batch std: relative differences
# near 1e-5. 1e-4 / 1e-3 still fail any wrong formula.
ATOL, RTOL = 1e-4, 1e-3


def _input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("cin, cout, t, kernel, stride, size", [
    (16, 16, 6, 3, 1, 5),   # residual (stochastic depth site)
    (8, 16, 6, 5, 2, 7),    # downsampling, 5x5
    (16, 8, 1, 3, 1, 4),    # expand ratio 1: no expansion conv
    (3, 3, 2, 3, 1, 4),     # E = make_divisible(6) = 8, squeeze max(1, 3 // 4) = 1
])
@pytest.mark.parametrize("train", [False, True])
def test_mbconv_matches_torch(cin, cout, t, kernel, stride, size, train):
    torch.manual_seed(0)
    theirs = randomize_torch_bn(TorchMBConv(cin, cout, t, kernel, stride))
    ours = copy_weights(MBConv(cin, cout, t, kernel, stride), theirs)
    compare_module(ours, theirs, _input((2, cin, size, size)), train=train, atol=ATOL,
                   rtol=RTOL)


def test_mbconv_eval_ignores_stochastic_depth():
    torch.manual_seed(0)
    theirs = randomize_torch_bn(TorchMBConv(8, 8, 4, 3, 1, stochastic_depth_prob=0.7))
    ours = copy_weights(MBConv(8, 8, 4, 3, 1, stochastic_depth_prob=0.7), theirs)
    compare_module(ours, theirs, _input((3, 8, 5, 5)), train=False, atol=ATOL, rtol=RTOL)


def test_mbconv_training_with_stochastic_depth_matches_torch_given_the_mask():
    """Rows whose branch was dropped output x itself; the others x + branch / (1 - p)."""
    torch.manual_seed(0)
    p, batch = 0.5, 12
    theirs = randomize_torch_bn(TorchMBConv(8, 8, 4, 3, 1, stochastic_depth_prob=p))
    ours = copy_weights(MBConv(8, 8, 4, 3, 1, stochastic_depth_prob=p), theirs)
    x = _input((batch, 8, 4, 4)).astype(np.float64)
    ours.double()
    theirs.double()
    saved = {k: v.copy() for k, v in ours.state_dict().items()}
    minicnn.manual_seed(3)
    with minicnn.no_grad():
        probe = ours.train()(minicnn.Tensor(x)).numpy()
    ours.load_state_dict(saved)  # undo the probe's running-statistics update
    keep = np.array([not np.array_equal(probe[n], x[n]) for n in range(batch)], dtype=float)
    assert 0 < keep.sum() < batch  # with p = 0.5 and seed 3 both outcomes occur
    theirs.stochastic_depth.keep = torch.tensor(keep)
    minicnn.manual_seed(3)  # replay the same draw inside compare_module's forward
    compare_module(ours, theirs, x, train=True, atol=1e-9, rtol=1e-7)


def test_mbconv_layout_and_parameter_count():
    """Expansion skipped for ratio 1; SE after the depthwise conv with max(1, C_in // 4)."""
    block = MBConv(16, 24, 1, 3, 2)
    assert [type(m).__name__ for m in block.block] == ["Conv2dNormActivation",
                                                       "SqueezeExcitation",
                                                       "Conv2dNormActivation"]
    assert block.block[0][0].weight.shape == (16, 1, 3, 3)
    block = MBConv(16, 24, 6, 5, 2)
    se = block.block[2]
    assert se.fc1.weight.shape == (4, 96, 1, 1)
    assert isinstance(se.activation, nn.SiLU) and isinstance(se.scale_activation, nn.Sigmoid)
    cin, cout, e, s, k = 16, 24, 96, 4, 5
    expected = (cin * e + 2 * e          # expand + BN
                + k * k * e + 2 * e      # depthwise + BN
                + e * s + s + s * e + e  # SE fc1, fc2 (with biases)
                + e * cout + 2 * cout)   # project + BN
    assert count_parameters(block) == expected


def test_mbconv_gradcheck():
    minicnn.manual_seed(0)
    block = MBConv(4, 4, 2, 3, 1).double().train()
    x = minicnn.randn(2, 4, 3, 3, dtype=minicnn.float64, requires_grad=True)
    gradcheck(lambda x, w: block(x), [x, block.block[2].fc1.weight])


def test_mbconv_bad_arguments():
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        MBConv(8, 8, 6, 3, 3)
    with pytest.raises(ValueError, match="expand_ratio"):
        MBConv(8, 8, 0.5, 3, 1)
    with pytest.raises(ValueError, match="stochastic_depth_prob"):
        MBConv(8, 8, 6, 3, 1, stochastic_depth_prob=1.5)
    block = MBConv(8, 8, 6, 3, 1).train()
    before = {k: v.copy() for k, v in block.state_dict().items()}
    with pytest.raises(ValueError, match=r"MBConv.*\(N, 8, H, W\).*\(2, 4, 5, 5\)"):
        block(minicnn.randn(2, 4, 5, 5))
    assert all(np.array_equal(before[k], v) for k, v in block.state_dict().items())


# ---------------------------------------------------------------- stochastic depth
def test_stochastic_depth_rows_are_kept_or_dropped_whole():
    minicnn.manual_seed(0)
    p, batch = 0.3, 4000
    x = minicnn.ones(batch, 2, 2, 2, dtype=minicnn.float64)
    y = stochastic_depth(x, p, "row").numpy()
    per_row = y.reshape(batch, -1)
    assert np.all(per_row == per_row[:, :1])               # a whole row shares its draw
    assert set(np.unique(per_row)) <= {0.0, 1 / (1 - p)}   # dropped, or scaled by 1/(1-p)
    kept = np.mean(per_row[:, 0] > 0)
    # binomial(4000, 0.7): standard deviation sqrt(0.7 * 0.3 / 4000) = 0.0072
    assert abs(kept - (1 - p)) < 5 * np.sqrt(p * (1 - p) / batch)


def test_stochastic_depth_batch_mode_and_edge_probabilities():
    minicnn.manual_seed(0)
    x = minicnn.randn(6, 3, 2, 2)
    y = stochastic_depth(x, 0.5, "batch").numpy()
    assert np.array_equal(y, 0 * x.numpy()) or np.allclose(y, 2 * x.numpy())
    assert stochastic_depth(x, 0.0, "row") is x                 # p = 0: identity
    assert stochastic_depth(x, 0.9, "row", training=False) is x  # eval: identity
    assert not np.any(stochastic_depth(x, 1.0, "row").numpy())  # p = 1: always dropped


def test_stochastic_depth_gradient_is_the_mask():
    minicnn.manual_seed(5)
    x = minicnn.randn(8, 2, 3, 3, dtype=minicnn.float64, requires_grad=True)
    y = stochastic_depth(x, 0.5, "row")
    upstream = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(minicnn.Tensor(upstream))
    scale = y.numpy() / x.numpy()  # the (N, 1, 1, 1) mask / (1 - p), broadcast
    np.testing.assert_allclose(x.grad, upstream * scale, rtol=1e-12)


def test_stochastic_depth_is_seeded_by_minicnn():
    x = minicnn.randn(16, 2, 2, 2)
    minicnn.manual_seed(11)
    first = stochastic_depth(x, 0.5, "row").numpy()
    minicnn.manual_seed(11)
    assert np.array_equal(first, stochastic_depth(x, 0.5, "row").numpy())


def test_stochastic_depth_module_follows_training_mode():
    layer = StochasticDepth(0.5, "row")
    assert layer.num_parameters() == 0 and repr(layer) == "StochasticDepth(p=0.5, mode=row)"
    x = minicnn.randn(4, 2, 2, 2)
    assert layer.eval()(x) is x


@pytest.mark.parametrize("p, mode, match", [(1.5, "row", "p must be"), (-0.1, "row", "p must be"),
                                            (0.5, "column", "mode must be")])
def test_stochastic_depth_bad_arguments(p, mode, match):
    with pytest.raises(ValueError, match=match):
        StochasticDepth(p, mode)
    with pytest.raises(ValueError, match=match):
        stochastic_depth(minicnn.randn(2, 2, 2, 2), p, mode)
