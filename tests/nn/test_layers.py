"""Every layer against its torch.nn twin: outputs, all gradients, state, init, repr and errors.

Parity method: build the torch layer, copy its (randomly initialised)
weights into ours with ``load_state_dict``, run both on the same input,
back-propagate the same random upstream gradient, and compare the output,
the input gradient, every parameter gradient (by name) and every buffer.

Float32 tolerances: a layer output or gradient entry is a sum of K products
of O(1) values; two correct implementations that sum in different orders
differ by about K * 2^-24 * sum|terms|. With K <= a few hundred here, atol
1e-5 plus rtol 1e-4 holds that with margin while any wrong formula (an
off-by-one window, a missing 1/(n-1)) misses by orders of magnitude. Where a
test uses a larger tolerance its comment says why.
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import nn
from minicnn.testing import gradcheck

from . import TorchSqueezeExcitation

ATOL, RTOL = 1e-5, 1e-4


def torch_state(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def compare_layers(ours, theirs, x, *, atol=ATOL, rtol=RTOL, seed=0, input_grad=True):
    """Run both layers on ``x`` (same weights), backprop one random gradient, compare everything."""
    ours.load_state_dict(torch_state(theirs))
    our_x = minicnn.tensor(x.copy(), requires_grad=input_grad)
    their_x = torch.tensor(x.copy(), requires_grad=input_grad)
    our_y, their_y = ours(our_x), theirs(their_x)
    np.testing.assert_allclose(our_y.numpy(), their_y.detach().numpy(), atol=atol, rtol=rtol,
                               err_msg="output")
    if our_y.requires_grad:
        upstream = np.random.default_rng(seed).standard_normal(our_y.shape).astype(x.dtype)
        our_y.backward(upstream)
        their_y.backward(torch.from_numpy(upstream))
        if input_grad:
            np.testing.assert_allclose(our_x.grad, their_x.grad.numpy(), atol=atol, rtol=rtol,
                                       err_msg="input gradient")
    their_params = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(their_params)
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad, their_params[name].grad.numpy(), atol=atol,
                                   rtol=rtol, err_msg=f"gradient of {name}")
    their_buffers = dict(theirs.named_buffers())
    for name, buffer in ours.named_buffers():
        np.testing.assert_allclose(buffer.numpy(), their_buffers[name].numpy(), atol=atol,
                                   rtol=rtol, err_msg=f"buffer {name}")
    return our_y


def randn(rng, *shape, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def num_params(module):
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------- Conv2d
@st.composite
def conv_configs(draw, transposed=False):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    in_channels = groups * draw(st.integers(1, 3))
    out_channels = groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    config = dict(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel,
                  stride=stride, dilation=dilation, groups=groups, bias=draw(st.booleans()))
    if transposed:
        config["padding"] = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
        # output_padding must be smaller than stride or dilation: draw it below the larger.
        config["output_padding"] = tuple(draw(st.integers(0, max(s, d) - 1))
                                         for s, d in zip(stride, dilation))
        # Output (n-1)s - 2p + d(k-1) + output_padding + 1 must be >= 1: the smallest n.
        smallest = [1 + max(0, -(-(2 * p - d * (k - 1) - op) // s)) for p, d, k, op, s in
                    zip(config["padding"], dilation, kernel, config["output_padding"], stride)]
        size = tuple(n + draw(st.integers(0, 3)) for n in smallest)
    else:
        if stride == (1, 1) and draw(st.booleans()):
            config["padding"] = draw(st.sampled_from(["same", "valid"]))
            pad = (0, 0)
        else:
            pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
            config["padding"] = pad
        # The smallest input with a non-empty output: d(k-1) + 1 - 2p (at least 1).
        smallest = [max(1, d * (k - 1) + 1 - 2 * p) for d, k, p in zip(dilation, kernel, pad)]
        size = tuple(s + draw(st.integers(0, 3)) for s in smallest)
    batch = draw(st.integers(1, 2))
    return config, (batch, in_channels) + size


@settings(max_examples=12)
@given(conv_configs(), st.integers(0, 2**31 - 1))
def test_conv2d_matches_torch(drawn, seed):
    config, shape = drawn
    ours, theirs = nn.Conv2d(**config), torch.nn.Conv2d(**config)
    assert repr(ours) == repr(theirs)
    assert num_params(ours) == num_params(theirs)
    compare_layers(ours, theirs, randn(np.random.default_rng(seed), *shape), seed=seed)


@settings(max_examples=12)
@given(conv_configs(transposed=True), st.integers(0, 2**31 - 1))
def test_conv_transpose2d_matches_torch(drawn, seed):
    config, shape = drawn
    ours, theirs = nn.ConvTranspose2d(**config), torch.nn.ConvTranspose2d(**config)
    assert repr(ours) == repr(theirs)
    assert ours.weight.shape == tuple(theirs.weight.shape)  # (in, out/groups, kh, kw)
    assert num_params(ours) == num_params(theirs)
    compare_layers(ours, theirs, randn(np.random.default_rng(seed), *shape), seed=seed)


def test_conv_transpose2d_output_size():
    ours, theirs = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), \
        torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    ours.load_state_dict(torch_state(theirs))
    x = randn(np.random.default_rng(0), 1, 2, 4, 4)
    for size in ([7, 7], [8, 8], [1, 3, 8, 7]):  # (4-1)*2 - 2 + 3 = 7 .. 7 + stride - 1 = 8
        expected = theirs(torch.from_numpy(x), output_size=size).detach().numpy()
        got = ours(minicnn.tensor(x), output_size=size).numpy()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=ATOL, rtol=RTOL)
    with pytest.raises(ValueError, match=r"valid sizes range from \[7, 7\] to \[8, 8\]"):
        ours(minicnn.tensor(x), output_size=[9, 9])


def test_conv2d_unbatched_input():
    ours, theirs = nn.Conv2d(2, 3, 3, padding=1), torch.nn.Conv2d(2, 3, 3, padding=1)
    compare_layers(ours, theirs, randn(np.random.default_rng(1), 2, 5, 5))


def test_conv_constructor_errors():
    with pytest.raises(ValueError, match=r"in_channels \(6\) must be divisible by groups \(4\)"):
        nn.Conv2d(6, 4, 3, groups=4)
    with pytest.raises(ValueError, match=r"out_channels \(6\) must be divisible by groups \(4\)"):
        nn.Conv2d(4, 6, 3, groups=4)
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2d(4, 4, 3, groups=0)
    with pytest.raises(ValueError, match="padding_mode must be 'zeros'.*'reflect'"):
        nn.Conv2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="padding_mode must be 'zeros'"):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="circular")
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding"):
        nn.Conv2d(1, 1, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(1, 1, 0)
    with pytest.raises(ValueError, match="stride"):
        nn.Conv2d(1, 1, 3, stride=0)
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(TypeError, match="dtype"):
        nn.Conv2d(1, 1, 3, dtype=minicnn.int64)


def test_conv_input_errors_name_layer_and_channels():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8, kernel_size=\(3, 3\), stride=\(1, 1\)\): "
                                         r"expected input with 3 channels.*got 4 channels"):
        conv(minicnn.randn(2, 4, 8, 8))
    with pytest.raises(ValueError, match=r"Conv2d\(.*\): expected a 3-D or 4-D input"):
        conv(minicnn.randn(3, 8))
    with pytest.raises(ValueError,
                       match=r"ConvTranspose2d\(2, 3, .*\): expected input with 2 channels"):
        nn.ConvTranspose2d(2, 3, 3)(minicnn.randn(1, 3, 4, 4))


# ---------------------------------------------------------------- BatchNorm2d
@settings(max_examples=10)
@given(st.sampled_from([0.1, 0.5, None]), st.booleans(), st.booleans(), st.integers(0, 2**31 - 1))
def test_batchnorm2d_training_steps_then_eval_match_torch(momentum, affine, track, seed):
    """Several training steps (outputs, gradients, running stats, num_batches_tracked), then eval."""
    rng = np.random.default_rng(seed)
    config = dict(num_features=3, momentum=momentum, affine=affine, track_running_stats=track)
    ours, theirs = nn.BatchNorm2d(**config), torch.nn.BatchNorm2d(**config)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if affine:  # start from non-trivial gamma/beta
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-0.5, 0.5)
    ours.load_state_dict(torch_state(theirs))
    for step in range(3):
        x = randn(rng, 4, 3, 3, 2, scale=2.0) + np.float32(step)  # shifting batch statistics
        ours.zero_grad()
        theirs.zero_grad()
        # BN's input gradient sums over N*H*W = 24 terms per channel, then rescales by
        # 1/sqrt(var + eps); float32 error stays near 1e-6 relative: the default tolerances hold.
        our_x, their_x = minicnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        our_y, their_y = ours(our_x), theirs(their_x)
        g = randn(rng, *x.shape)
        our_y.backward(g)
        their_y.backward(torch.from_numpy(g))
        np.testing.assert_allclose(our_y.numpy(), their_y.detach().numpy(), atol=ATOL, rtol=RTOL)
        np.testing.assert_allclose(our_x.grad, their_x.grad.numpy(), atol=ATOL, rtol=RTOL)
        for name, param in ours.named_parameters():
            np.testing.assert_allclose(param.grad, theirs.get_parameter(name).grad.numpy(),
                                       atol=ATOL, rtol=RTOL, err_msg=name)
        for name, buffer in ours.named_buffers():
            expected = theirs.get_buffer(name).numpy()
            assert buffer.dtype == expected.dtype, name
            np.testing.assert_allclose(buffer.numpy(), expected, atol=ATOL, rtol=RTOL, err_msg=name)
    if track:
        assert int(ours.num_batches_tracked.item()) == 3
    ours.eval()
    theirs.eval()
    x = randn(rng, 2, 3, 2, 2)
    np.testing.assert_allclose(ours(minicnn.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), atol=ATOL, rtol=RTOL)


def test_batchnorm2d_cumulative_average_is_the_mean_of_batch_statistics():
    """momentum=None: after k batches running_mean is the plain average of the k batch means
    (and running_var of the unbiased batch variances), derived here without torch."""
    bn = nn.BatchNorm2d(2, momentum=None)
    rng = np.random.default_rng(3)
    batches = [randn(rng, 3, 2, 2, 2, scale=1.0 + k) + np.float32(k) for k in range(4)]
    for x in batches:
        bn(minicnn.tensor(x))
    means = np.mean([x.mean(axis=(0, 2, 3)) for x in batches], axis=0)
    variances = np.mean([x.var(axis=(0, 2, 3), ddof=1) for x in batches], axis=0)
    np.testing.assert_allclose(bn.running_mean.numpy(), means, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), variances, rtol=1e-5, atol=1e-6)
    assert bn.num_batches_tracked.dtype == np.int64 and int(bn.num_batches_tracked.item()) == 4


def test_batchnorm2d_errors_leave_state_untouched():
    bn = nn.BatchNorm2d(3)
    bn(minicnn.randn(4, 3, 2, 2))
    before = {k: v.copy() for k, v in bn.state_dict().items()}

    def unchanged():
        for key, value in bn.state_dict().items():
            np.testing.assert_array_equal(value, before[key], err_msg=key)

    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected input with 3 channels.*got 4"):
        bn(minicnn.randn(4, 4, 2, 2))
    unchanged()
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected a 4-D input"):
        bn(minicnn.randn(4, 3))
    unchanged()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(minicnn.randn(1, 3, 1, 1))
    unchanged()
    with pytest.raises(TypeError, match="float"):  # float64 input into float32 statistics
        bn(minicnn.randn(4, 3, 2, 2, dtype=minicnn.float64))
    unchanged()
    bn.eval()
    bn(minicnn.randn(1, 3, 1, 1))  # one value per channel is fine in eval mode
    unchanged()


def test_batchnorm2d_constructor_errors_and_init():
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm2d(3, momentum=2.0)
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm2d(0)
    with pytest.raises(TypeError, match="affine"):
        nn.BatchNorm2d(3, affine=None)
    bn = nn.BatchNorm2d(4)
    assert (bn.weight.numpy() == 1).all() and (bn.bias.numpy() == 0).all()
    assert (bn.running_mean.numpy() == 0).all() and (bn.running_var.numpy() == 1).all()
    assert bn.num_batches_tracked.shape == () and bn.num_batches_tracked.dtype == np.int64
    no_bias = nn.BatchNorm2d(4, bias=False)
    assert no_bias.bias is None and repr(no_bias) == repr(torch.nn.BatchNorm2d(4, bias=False))


# ---------------------------------------------------------------- Linear and shape layers
@pytest.mark.parametrize("shape, bias", [((5, 4), True), ((2, 3, 4), False), ((4,), True)])
def test_linear_matches_torch(shape, bias):
    ours, theirs = nn.Linear(4, 6, bias=bias), torch.nn.Linear(4, 6, bias=bias)
    assert repr(ours) == repr(theirs) and num_params(ours) == num_params(theirs)
    compare_layers(ours, theirs, randn(np.random.default_rng(0), *shape))
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, .*\): expected input with "
                                         r"in_features=4"):
        ours(minicnn.randn(2, 5))


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.Flatten(), lambda lib: lib.nn.Flatten(0, 2), lambda lib: lib.nn.Identity(),
    lambda lib: lib.nn.ChannelShuffle(3), lambda lib: lib.nn.ChannelShuffle(2)])
def test_shape_layers_match_torch(make):
    ours, theirs = make(minicnn), make(torch)
    assert repr(ours) == repr(theirs)
    compare_layers(ours, theirs, randn(np.random.default_rng(0), 2, 6, 3, 2))


def test_shape_layer_errors():
    with pytest.raises(ValueError, match="groups"):
        nn.ChannelShuffle(0)
    with pytest.raises(ValueError, match="groups=4 must divide"):
        nn.ChannelShuffle(4)(minicnn.randn(1, 6, 2, 2))


# ---------------------------------------------------------------- activations
ACTIVATIONS = [
    lambda lib: lib.nn.ReLU(), lambda lib: lib.nn.ReLU(inplace=True), lambda lib: lib.nn.ReLU6(),
    lambda lib: lib.nn.LeakyReLU(), lambda lib: lib.nn.LeakyReLU(0.2, inplace=True),
    lambda lib: lib.nn.SiLU(), lambda lib: lib.nn.Hardswish(), lambda lib: lib.nn.Hardsigmoid(True),
    lambda lib: lib.nn.Sigmoid(), lambda lib: lib.nn.Tanh(), lambda lib: lib.nn.GELU(),
    lambda lib: lib.nn.GELU("tanh"), lambda lib: lib.nn.ELU(0.5), lambda lib: lib.nn.Softmax(1),
    lambda lib: lib.nn.LogSoftmax(dim=-1)]


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_activation_modules_match_torch(make):
    ours, theirs = make(minicnn), make(torch)
    assert repr(ours) == repr(theirs)
    # torch's in-place layers need a non-leaf input; both sides get x * 1.
    x = randn(np.random.default_rng(0), 2, 3, 4, 4, scale=4.0)  # spans ReLU6/hardswish's kinks
    compare_layers(_Scaled(ours), _Scaled(theirs, torch), x)


class _Scaled:
    """Call ``layer(x * 1)``: PyTorch's inplace=True layers refuse a leaf that requires grad."""

    def __init__(self, layer, lib=minicnn):
        self.layer, self.lib = layer, lib

    def __call__(self, x):
        return self.layer(x * 1)

    def __getattr__(self, name):
        return getattr(self.layer, name)


def test_softmax_default_dim_warns_like_torch():
    x = randn(np.random.default_rng(0), 2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        ours = nn.Softmax()(minicnn.tensor(x))
    with pytest.warns(UserWarning):
        theirs = torch.nn.Softmax()(torch.from_numpy(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6, rtol=1e-5)


# ---------------------------------------------------------------- pooling and dropout
POOLS = [
    lambda lib: lib.nn.MaxPool2d(2), lambda lib: lib.nn.MaxPool2d(3, 2, 1),
    lambda lib: lib.nn.MaxPool2d((3, 2), (1, 2), ceil_mode=True),
    lambda lib: lib.nn.MaxPool2d(2, dilation=2),
    lambda lib: lib.nn.AvgPool2d(2), lambda lib: lib.nn.AvgPool2d(3, 2, 1, ceil_mode=True),
    lambda lib: lib.nn.AvgPool2d(3, 2, 1, count_include_pad=False),
    lambda lib: lib.nn.AvgPool2d(2, divisor_override=3),
    lambda lib: lib.nn.AdaptiveAvgPool2d(1), lambda lib: lib.nn.AdaptiveAvgPool2d((2, 3)),
    lambda lib: lib.nn.AdaptiveAvgPool2d((None, 2)), lambda lib: lib.nn.AdaptiveMaxPool2d(1),
    lambda lib: lib.nn.AdaptiveMaxPool2d((3, 2))]


@pytest.mark.parametrize("make", POOLS)
def test_pooling_modules_match_torch(make):
    ours, theirs = make(minicnn), make(torch)
    assert repr(ours) == repr(theirs)
    compare_layers(ours, theirs, randn(np.random.default_rng(0), 2, 3, 7, 6))


def test_max_pool_return_indices_matches_torch():
    x = randn(np.random.default_rng(0), 1, 2, 6, 6)
    ours, idx = nn.MaxPool2d(2, return_indices=True)(minicnn.tensor(x))
    theirs, their_idx = torch.nn.MaxPool2d(2, return_indices=True)(torch.from_numpy(x))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(idx.numpy(), their_idx.numpy())


def test_pooling_constructor_errors():
    with pytest.raises(ValueError, match="padding must be at most half the kernel size"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="kernel_size"):
        nn.AvgPool2d(0)
    with pytest.raises(ValueError, match="divisor_override"):
        nn.AvgPool2d(2, divisor_override=0)
    with pytest.raises(ValueError, match="output_size"):
        nn.AdaptiveAvgPool2d(-1)


def test_dropout_train_and_eval():
    p = 0.3
    layer = nn.Dropout(p)
    assert repr(layer) == repr(torch.nn.Dropout(p))
    minicnn.manual_seed(0)
    x = minicnn.tensor(np.random.default_rng(0).uniform(1, 2, (200, 100)).astype(np.float32),
                       requires_grad=True)
    y = layer(x)
    dropped = y.numpy() == 0
    n = dropped.size
    # The dropped fraction is a mean of n Bernoulli(p) draws: standard error sqrt(p (1 - p) / n).
    assert abs(dropped.mean() - p) <= 5 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y.numpy()[~dropped], x.numpy()[~dropped] / (1 - p), rtol=1e-6)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    np.testing.assert_allclose(x.grad, np.where(dropped, 0, g / (1 - p)), rtol=1e-6, atol=1e-7)
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())  # identity in eval mode
    with pytest.raises(ValueError, match="p has to be between 0 and 1"):
        nn.Dropout(1.5)


# ---------------------------------------------------------------- SqueezeExcitation
@pytest.mark.parametrize("activation, scale_activation", [
    ("ReLU", "Sigmoid"), ("SiLU", "Sigmoid"), ("ReLU", "Hardsigmoid")])
def test_squeeze_excitation_matches_torchvision_structure(activation, scale_activation):
    ours = nn.SqueezeExcitation(6, 2, getattr(nn, activation), getattr(nn, scale_activation))
    theirs = TorchSqueezeExcitation(6, 2, getattr(torch.nn, activation),
                                    getattr(torch.nn, scale_activation))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert num_params(ours) == 2 * 6 * 2 + 2 + 6  # 2 C S + S + C
    compare_layers(ours, theirs, randn(np.random.default_rng(0), 2, 6, 4, 3))


def test_squeeze_excitation_errors():
    with pytest.raises(ValueError, match="squeeze_channels"):
        nn.SqueezeExcitation(8, 0)
    with pytest.raises(ValueError, match=r"Conv2d\(8, 2, .*\): expected input with 8 channels"):
        nn.SqueezeExcitation(8, 2)(minicnn.randn(1, 4, 3, 3))


# ---------------------------------------------------------------- losses
def test_loss_modules_match_torch():
    rng = np.random.default_rng(0)
    logits = randn(rng, 6, 4)
    target = np.array([0, 3, 1, 1, 2, 3])
    weight = np.array([1.0, 2.0, 0.5, 1.5], np.float32)
    cases = [
        (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()),
        (nn.CrossEntropyLoss(minicnn.tensor(weight), ignore_index=1, label_smoothing=0.1),
         torch.nn.CrossEntropyLoss(torch.from_numpy(weight), ignore_index=1, label_smoothing=0.1)),
        (nn.NLLLoss(reduction="sum"), torch.nn.NLLLoss(reduction="sum")),
    ]
    for ours, theirs in cases:
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())  # a class weight is a buffer
        our_x, their_x = minicnn.tensor(logits, requires_grad=True), torch.tensor(logits,
                                                                                 requires_grad=True)
        our_loss = ours(our_x, minicnn.tensor(target))
        their_loss = theirs(their_x, torch.from_numpy(target))
        our_loss.backward()
        their_loss.backward()
        np.testing.assert_allclose(our_loss.item(), their_loss.item(), rtol=1e-5)
        np.testing.assert_allclose(our_x.grad, their_x.grad.numpy(), atol=1e-6, rtol=1e-5)
    prediction, goal = randn(rng, 3, 5), randn(rng, 3, 5)
    np.testing.assert_allclose(
        nn.MSELoss()(minicnn.tensor(prediction), minicnn.tensor(goal)).item(),
        torch.nn.MSELoss()(torch.from_numpy(prediction), torch.from_numpy(goal)).item(), rtol=1e-6)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")


# ---------------------------------------------------------------- parameter counts, init
@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.Conv2d(16, 32, 3, bias=False), lambda lib: lib.nn.Conv2d(16, 16, 3, groups=16),
    lambda lib: lib.nn.ConvTranspose2d(8, 4, 4, groups=2), lambda lib: lib.nn.Linear(100, 10),
    lambda lib: lib.nn.BatchNorm2d(64), lambda lib: lib.nn.BatchNorm2d(64, affine=False)])
def test_parameter_counts_match_torch(make):
    ours, theirs = make(minicnn), make(torch)
    assert num_params(ours) == num_params(theirs)
    assert ours.num_parameters() == num_params(theirs)


def check_uniform_sample(sample, bound):
    """All |w| <= bound; mean and variance of U(-b, b) (0 and b^2/3) within 5 standard errors."""
    n = sample.size
    sample = sample.astype(np.float64)
    assert np.abs(sample).max() <= np.float32(bound)  # float32 rounding is monotonic
    assert abs(sample.mean()) <= 5 * bound / math.sqrt(3 * n)
    # Var of the sample variance of U(-b, b): (mu4 - sigma^4) / n = (b^4/5 - b^4/9) / n.
    assert abs(sample.var() - bound ** 2 / 3) <= 5 * bound ** 2 * math.sqrt(4 / 45 / n)


@pytest.mark.parametrize("make, fan_in", [
    (lambda lib: lib.nn.Conv2d(32, 64, 3), 32 * 9),
    (lambda lib: lib.nn.Conv2d(32, 64, (3, 1), groups=4), 8 * 3),
    (lambda lib: lib.nn.ConvTranspose2d(16, 64, 3, groups=2), 32 * 9),  # fan from (in, out/g, k, k)
    (lambda lib: lib.nn.Linear(256, 1024), 256)])
def test_default_init_is_pytorchs(make, fan_in):
    """PyTorch's reset_parameters: kaiming_uniform_(a=sqrt(5)) gives bound 1/sqrt(fan_in)
    (gain sqrt(2/(1+5)) times sqrt(3/fan_in)); the bias uses the same bound."""
    bound = 1 / math.sqrt(fan_in)
    minicnn.manual_seed(0)
    ours = make(minicnn)
    check_uniform_sample(ours.weight.numpy(), bound)
    check_uniform_sample(ours.bias.numpy(), bound)
    torch.manual_seed(0)
    theirs = make(torch)  # the same formula describes torch's draws
    check_uniform_sample(theirs.weight.detach().numpy(), bound)
    check_uniform_sample(theirs.bias.detach().numpy(), bound)
    minicnn.manual_seed(0)
    np.testing.assert_array_equal(make(minicnn).weight.numpy(), ours.weight.numpy())  # seeded


def test_layers_follow_the_default_dtype_and_dtype_argument():
    assert nn.Conv2d(1, 2, 3).weight.dtype == np.float32
    layer = nn.Conv2d(1, 2, 3, dtype=minicnn.float64)
    assert layer.weight.dtype == layer.bias.dtype == np.float64
    bn = nn.BatchNorm2d(2, dtype=minicnn.float64)
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64


# ---------------------------------------------------------------- composites
def make_small_net(lib):
    libnn = lib.nn
    se = nn.SqueezeExcitation(8, 2, scale_activation=nn.Hardsigmoid) if lib is minicnn else \
        TorchSqueezeExcitation(8, 2, scale_activation=torch.nn.Hardsigmoid)
    return libnn.Sequential(
        libnn.Conv2d(3, 8, 3, padding=1, bias=False), libnn.BatchNorm2d(8), libnn.ReLU(),
        libnn.MaxPool2d(2), libnn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
        libnn.BatchNorm2d(8), libnn.Hardswish(), se, libnn.ChannelShuffle(2),
        libnn.AdaptiveAvgPool2d(1), libnn.Flatten(), libnn.Dropout(0.0), libnn.Linear(8, 5))


def test_small_network_train_steps_and_eval_match_torch():
    """Three training steps (outputs, every gradient, BN statistics), then eval mode.

    Tolerance 1e-4 absolute / 1e-3 relative: two BN layers divide by batch standard
    deviations and the gradients pass through ~6 layers, so float32 rounding (1e-7
    relative per op) compounds to ~1e-5; a pre-activation within that of a ReLU or
    max-pool tie could flip, which the random data makes vanishingly unlikely."""
    ours, theirs = make_small_net(minicnn), make_small_net(torch)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(torch_state(theirs))
    rng = np.random.default_rng(5)
    for _ in range(3):
        ours.zero_grad()
        theirs.zero_grad()
        compare_layers_no_load(ours, theirs, randn(rng, 4, 3, 8, 8), atol=1e-4, rtol=1e-3)
    ours.eval()
    theirs.eval()
    compare_layers_no_load(ours, theirs, randn(rng, 2, 3, 8, 8), atol=1e-4, rtol=1e-3)


def compare_layers_no_load(ours, theirs, x, **tolerances):
    """compare_layers without copying torch's state first (the states already evolve together)."""
    state = torch_state(theirs)
    for key, value in ours.state_dict().items():  # the evolving states must agree to start with
        np.testing.assert_allclose(value, state[key], atol=tolerances["atol"],
                                   rtol=tolerances["rtol"], err_msg=key)
    return compare_layers(ours, theirs, x, **tolerances)


@settings(max_examples=6)
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_float64_gradcheck_through_modules(seed, training):
    """Central differences of a conv -> BN -> SiLU -> SE stack w.r.t. the input and every
    parameter (smooth activations: no kink inside the finite-difference step)."""
    minicnn.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.SiLU(),
                        nn.SqueezeExcitation(4, 2, activation=nn.Tanh)).double()
    net.train(training)
    if not training:  # non-trivial running statistics for eval mode
        net[1].running_mean.data[...] = np.linspace(-0.5, 0.5, 4)
        net[1].running_var.data[...] = np.linspace(0.5, 2.0, 4)
    x = minicnn.tensor(np.random.default_rng(seed).standard_normal((2, 2, 3, 3)),
                       requires_grad=True)
    params = list(net.parameters())
    assert all(p.dtype == np.float64 for p in params)
    gradcheck(lambda x, *ps: net(x), [x, *params])
