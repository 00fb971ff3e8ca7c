"""softplus, mish, prelu: gradients, PyTorch parity (threshold switch and kink included),
the stable tails, the learned slope's gradient, bad input.

Tolerances. float64 gradchecks use the harness defaults (atol 1e-5, rtol 1e-4).
float32 parity with PyTorch: atol 1e-6, rtol 1e-5 for the elementwise values
(one to three float32 operations of O(1) values, rounding ~1e-7; a wrong
formula is off by >= 1e-2); mish 1e-5 (a tanh of a log1p of an exp: each
engine's float32 transcendental functions round differently, by a few ulps of
O(1) values, and x up to 12 multiplies that). The slope gradient of prelu sums
up to 96 float32 products in another order than PyTorch: rtol 1e-5 with atol
1e-5.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.testing import compare_with_torch, gradcheck
from minicnn.testing.strategies import away_from, seeds, shapes

ATOL, RTOL = 1e-6, 1e-5


# ------------------------------------------------------------------ softplus
softplus_params = st.fixed_dictionaries({"beta": st.sampled_from([1.0, 2.0, 0.5, -1.0]),
                                         "threshold": st.sampled_from([20.0, 5.0, 1.0])})


def _clear_of_threshold(x, beta, threshold, margin=1e-2):
    """Move ``x`` off ``beta x = threshold``, where softplus jumps to its linear piece by up
    to ``log1p(e^-threshold) / beta`` (0.31 for threshold 1): central differences must not
    straddle a jump."""
    near = np.abs(beta * x - threshold) < margin
    return np.where(near, x + 2 * margin / beta, x)


@given(params=softplus_params, shape=shapes(0, 3), seed=seeds)
def test_softplus_gradcheck(params, shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 6
    x = _clear_of_threshold(x, **params)
    gradcheck(lambda t: F.softplus(t, **params), [minicnn.tensor(x, requires_grad=True)])


@given(params=softplus_params, shape=shapes(1, 3), seed=seeds)
@settings(max_examples=8)
def test_softplus_matches_torch(params, shape, seed):
    x = (np.random.default_rng(seed).standard_normal(shape) * 8).astype(np.float32)
    compare_with_torch(lambda t: F.softplus(t, **params), lambda t: TF.softplus(t, **params),
                       [x], atol=ATOL, rtol=RTOL)


def test_softplus_threshold_switch_and_tails_match_torch():
    """Exactly at, just below and just above beta x = threshold (the linear piece starts
    strictly above, as PyTorch), and far tails where e^{beta x} over- or underflows."""
    for beta, threshold in ((1.0, 20.0), (2.0, 5.0), (-1.0, 20.0)):
        at = np.float32(threshold / beta)
        x = np.array([np.nextafter(at, -np.inf), at, np.nextafter(at, np.inf),
                      -1000, -100, -30, 0, 30, 100, 1000], np.float32)
        compare_with_torch(lambda t: F.softplus(t, beta, threshold),
                           lambda t: TF.softplus(t, beta, threshold), [x], atol=ATOL, rtol=RTOL)


def test_softplus_is_stable_and_quiet_far_out():
    """log(1 + e^x) computed naively overflows at x = 89 (float32) and loses the tail at -17;
    the stable form gives x and e^x there (float64 reference: the math itself)."""
    x = np.array([-200.0, -50.0, 50.0, 200.0])
    with np.errstate(all="raise"):
        y = F.softplus(minicnn.tensor(x), threshold=1e9).numpy()
    np.testing.assert_allclose(y, [np.exp(-200.0), np.exp(-50.0), 50.0, 200.0], rtol=1e-15)


def test_softplus_bad_arguments():
    x = minicnn.ones(3)
    with pytest.raises(ValueError, match="softplus: beta must be non-zero"):
        F.softplus(x, beta=0)
    with pytest.raises(TypeError, match="softplus: threshold must be a real number"):
        F.softplus(x, threshold="20")
    with pytest.raises(TypeError, match="softplus: input must be a floating-point"):
        F.softplus(minicnn.tensor(np.arange(3)))


# ------------------------------------------------------------------ mish
@given(shape=shapes(0, 3), seed=seeds)
def test_mish_gradcheck(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 4
    gradcheck(F.mish, [minicnn.tensor(x, requires_grad=True)])


@given(shape=shapes(1, 3), seed=seeds)
@settings(max_examples=8)
def test_mish_matches_torch(shape, seed):
    x = (np.random.default_rng(seed).standard_normal(shape) * 4).astype(np.float32)
    compare_with_torch(F.mish, TF.mish, [x], atol=1e-5, rtol=1e-5)


def test_mish_tails_match_torch():
    """e^x overflows for x > 88 (float32): tanh(inf) = 1 keeps y = x; far left y -> 0."""
    x = np.array([-1000, -100, -20, -1, 0, 1, 20, 100, 1000], np.float32)
    compare_with_torch(F.mish, TF.mish, [x], atol=ATOL, rtol=RTOL)


def test_mish_inplace_is_accepted_and_input_unchanged():
    x = minicnn.tensor(np.array([-1.0, 2.0]))
    y = F.mish(x, inplace=True)
    assert y is not x
    np.testing.assert_array_equal(x.numpy(), [-1.0, 2.0])
    with pytest.raises(TypeError, match="mish: inplace must be a bool"):
        F.mish(x, inplace=1)


# ------------------------------------------------------------------ prelu
@st.composite
def prelu_shapes(draw):
    """An input shape (0 to 4 dims) and a weight size: 1, or the channel count dim 1."""
    shape = draw(shapes(0, 4))
    shared = len(shape) < 2 or draw(st.booleans())
    return shape, (1 if shared else shape[1])


@given(drawn=prelu_shapes(), seed=seeds)
def test_prelu_gradcheck_input_and_slope(drawn, seed):
    shape, slopes = drawn
    rng = np.random.default_rng(seed)
    x = minicnn.tensor(away_from(rng, shape) * 3, requires_grad=True)  # clear of the kink at 0
    weight = minicnn.tensor(rng.uniform(-0.5, 1.5, slopes), requires_grad=True)
    gradcheck(F.prelu, [x, weight])


@given(drawn=prelu_shapes(), seed=seeds)
@settings(max_examples=8)
def test_prelu_matches_torch(drawn, seed):
    shape, slopes = drawn
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    weight = rng.uniform(-0.5, 1.5, slopes).astype(np.float32)
    compare_with_torch(F.prelu, TF.prelu, [x, weight], atol=1e-5, rtol=RTOL)


def test_prelu_kink_and_zero_weight_gradient_match_torch():
    """At x = 0 the input gradient is the slope (PyTorch's `x > 0 ? g : a g`); every zero
    element adds 0 to the slope's gradient."""
    x = np.array([[-2.0, 0.0, 3.0], [0.0, -0.5, 0.0]], np.float32)
    weight = np.array([0.1, 0.2, 0.3], np.float32)
    compare_with_torch(F.prelu, TF.prelu, [x, weight], atol=ATOL, rtol=RTOL)


def test_prelu_slope_gradient_is_the_sum_of_negative_parts_per_channel():
    """dL/da_c = sum over channel c of g min(x, 0): the formula, computed here in NumPy."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5))
    upstream = rng.standard_normal(x.shape)
    weight = minicnn.tensor(np.array([0.1, 0.2, 0.3]), requires_grad=True)
    F.prelu(minicnn.tensor(x), weight).backward(upstream)
    np.testing.assert_allclose(weight.grad, (upstream * np.minimum(x, 0)).sum(axis=(0, 2, 3)),
                               rtol=1e-12)


def test_prelu_bad_weight():
    x = minicnn.ones(2, 3, 4)
    with pytest.raises(ValueError, match=r"prelu: weight has 2 entries; expected 1 \(shared\) "
                                         r"or 3"):
        F.prelu(x, minicnn.ones(2))
    with pytest.raises(ValueError, match=r"prelu: weight must be a scalar or 1-D tensor, got "
                                         r"shape \(1, 1\)"):
        F.prelu(x, minicnn.ones(1, 1))
    with pytest.raises(ValueError, match=r"expected 1 \(shared\) or 1"):
        F.prelu(minicnn.ones(4), minicnn.ones(4))  # a 1-D input has one channel, as in PyTorch
    with pytest.raises(TypeError, match="prelu: weight must be a Tensor"):
        F.prelu(x, 0.25)
