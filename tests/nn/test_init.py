"""minicnn.nn.init: fans, gains and the sampled distributions, against the formulas and torch.nn.init.

Statistical checks use tolerances derived from the sample size n: the sample
mean of i.i.d. draws with variance s^2 has standard error s / sqrt(n); the
sample variance has standard error sqrt((mu4 - s^4) / n), with the fourth
central moment mu4 = 3 s^4 for a normal and b^4 / 5 for U(-b, b) (variance
b^2 / 3). Every check allows Z = 5 standard errors: with the seeded
generator a correct sampler fails with probability below 1e-6, while a wrong
formula (a gain off by sqrt(2), fan_in for fan_out) misses by hundreds.
"""
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minicnn
from minicnn.nn import init

Z = 5.0
SHAPE = (64, 32, 3, 3)  # n = 18432; fan_in = 288, fan_out = 576
N = int(np.prod(SHAPE))


def ours_and_torch(fill, torch_fill, shape=SHAPE, seed=0):
    minicnn.manual_seed(seed)
    ours = minicnn.empty(*shape)
    assert fill(ours) is ours  # in place, returns the tensor
    assert ours.dtype == np.float32
    torch.manual_seed(seed)
    theirs = torch.empty(*shape)
    torch_fill(theirs)
    return ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64)


def check_normal(sample, mean, std):
    n = sample.size
    assert abs(sample.mean() - mean) <= Z * std / math.sqrt(n)
    assert abs(sample.var() - std ** 2) <= Z * std ** 2 * math.sqrt(2.0 / n)


def check_uniform(sample, low, high):
    n = sample.size
    half = (high - low) / 2
    # float32 rounding is monotonic, so the rounded bounds still enclose every sample.
    assert sample.min() >= np.float32(low) and sample.max() <= np.float32(high)
    assert abs(sample.mean() - (low + high) / 2) <= Z * half / math.sqrt(3 * n)
    assert abs(sample.var() - half ** 2 / 3) <= Z * half ** 2 * math.sqrt(4.0 / 45.0 / n)


# ---------------------------------------------------------------- gains and fans
@pytest.mark.parametrize("nonlinearity, param, expected", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("conv_transpose2d", None, 1.0),
    ("sigmoid", None, 1.0), ("tanh", None, 5.0 / 3), ("relu", None, math.sqrt(2.0)),
    ("leaky_relu", None, math.sqrt(2.0 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2.0 / (1 + 0.2 ** 2))),
    ("leaky_relu", math.sqrt(5), math.sqrt(2.0 / 6.0)), ("selu", None, 0.75)])
def test_calculate_gain(nonlinearity, param, expected):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-15)
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param), rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("softplus")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", True)


@given(st.lists(st.integers(1, 6), min_size=2, max_size=5))
def test_fans_match_torch(shape):
    tensor = minicnn.empty(*shape)
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    assert init._calculate_fan_in_and_fan_out(tensor) == (shape[1] * receptive, shape[0] * receptive)
    assert init._calculate_fan_in_and_fan_out(tensor) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_fan_needs_two_dimensions_and_a_valid_mode():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_uniform_(minicnn.empty(5))
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_normal_(minicnn.empty(3, 3), mode="fan_avg")


# ---------------------------------------------------------------- distributions
def test_uniform_and_normal():
    ours, theirs = ours_and_torch(lambda t: init.uniform_(t, -0.5, 2.0),
                                  lambda t: torch.nn.init.uniform_(t, -0.5, 2.0))
    check_uniform(ours, -0.5, 2.0)
    check_uniform(theirs, -0.5, 2.0)
    ours, theirs = ours_and_torch(lambda t: init.normal_(t, 1.5, 0.3),
                                  lambda t: torch.nn.init.normal_(t, 1.5, 0.3))
    check_normal(ours, 1.5, 0.3)
    check_normal(theirs, 1.5, 0.3)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity, a", [("leaky_relu", math.sqrt(5)), ("relu", 0),
                                             ("leaky_relu", 0.1)])
def test_kaiming(mode, nonlinearity, a):
    fan = 288 if mode == "fan_in" else 576
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    ours, theirs = ours_and_torch(
        lambda t: init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity),
        lambda t: torch.nn.init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity))
    check_uniform(ours, -bound, bound)
    check_uniform(theirs, -bound, bound)
    ours, theirs = ours_and_torch(
        lambda t: init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity),
        lambda t: torch.nn.init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity))
    check_normal(ours, 0.0, std)
    check_normal(theirs, 0.0, std)


@pytest.mark.parametrize("gain", [1.0, 5.0 / 3])
def test_xavier(gain):
    std = gain * math.sqrt(2.0 / (288 + 576))
    bound = math.sqrt(3.0) * std
    ours, theirs = ours_and_torch(lambda t: init.xavier_uniform_(t, gain),
                                  lambda t: torch.nn.init.xavier_uniform_(t, gain))
    check_uniform(ours, -bound, bound)
    check_uniform(theirs, -bound, bound)
    ours, theirs = ours_and_torch(lambda t: init.xavier_normal_(t, gain),
                                  lambda t: torch.nn.init.xavier_normal_(t, gain))
    check_normal(ours, 0.0, std)
    check_normal(theirs, 0.0, std)


def truncated_normal_moments(mean, std, a, b):
    """Mean and variance of N(mean, std^2) conditioned on [a, b] (the textbook formulas)."""
    def pdf(x):
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    def cdf(x):
        return (1 + math.erf(x / math.sqrt(2))) / 2

    alpha, beta = (a - mean) / std, (b - mean) / std
    mass = cdf(beta) - cdf(alpha)
    shift = (pdf(alpha) - pdf(beta)) / mass
    variance = std ** 2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - shift ** 2)
    return mean + std * shift, variance


@pytest.mark.parametrize("mean, std, a, b", [
    (0.0, 1.0, -2.0, 2.0),    # most of the mass inside: redraw normals (first branch)
    (0.0, 0.02, -0.04, 0.04),  # ViT-style std
    (0.0, 1.0, 1.5, 3.0),     # a tail interval (6.5% of the mass): uniform proposals
    (1.0, 2.0, 0.5, 1.2),     # a narrow interval around the mean: uniform proposals
])
def test_trunc_normal(mean, std, a, b):
    ours, theirs = ours_and_torch(lambda t: init.trunc_normal_(t, mean, std, a, b),
                                  lambda t: torch.nn.init.trunc_normal_(t, mean, std, a, b))
    expected_mean, expected_var = truncated_normal_moments(mean, std, a, b)
    for sample in (ours, theirs):
        assert sample.min() >= np.float32(a) and sample.max() <= np.float32(b)
        # Truncation only lowers the kurtosis, so sqrt(2/n) var bounds the variance's error.
        assert abs(sample.mean() - expected_mean) <= Z * math.sqrt(expected_var / N)
        assert abs(sample.var() - expected_var) <= Z * expected_var * math.sqrt(2.0 / N)


def test_trunc_normal_argument_errors():
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(minicnn.empty(3), a=1.0, b=0.0)
    with pytest.raises(ValueError, match="std"):
        init.trunc_normal_(minicnn.empty(3), std=0.0)


def test_constant_ones_zeros_keep_the_array():
    t = minicnn.empty(3, 4, dtype=minicnn.float64)
    array = t.data
    assert init.constant_(t, 2.5) is t and t.data is array
    assert (t.numpy() == 2.5).all() and t.dtype == np.float64
    assert (init.ones_(t).numpy() == 1).all()
    assert (init.zeros_(t).numpy() == 0).all()


def test_draws_come_from_the_global_generator_or_the_given_one():
    a, b = minicnn.empty(4, 5), minicnn.empty(4, 5)
    minicnn.manual_seed(7)
    init.kaiming_uniform_(a)
    minicnn.manual_seed(7)
    init.kaiming_uniform_(b)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    init.normal_(a, generator=np.random.default_rng(3))
    init.normal_(b, generator=np.random.default_rng(3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_init_works_on_parameters_without_recording_a_graph():
    layer = minicnn.nn.Linear(3, 2)
    weight = layer.weight
    init.xavier_uniform_(layer.weight)
    assert layer.weight is weight and weight.is_leaf and weight.grad_fn is None


def test_zero_element_tensor_is_a_no_op_with_a_warning():
    t = minicnn.empty(0, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert init.kaiming_uniform_(t) is t
    assert any("zero-element" in str(w.message) for w in caught)
