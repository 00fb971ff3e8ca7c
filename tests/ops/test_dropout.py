"""dropout and dropout2d: inverted dropout with masks from minicnn's seedable generator.

The generators differ from PyTorch's, so there is no element-wise parity
with PyTorch: the tests check the definition (kept elements scaled by
1/(1-p), the rest zero), the statistics of the mask against bounds derived
below, repeatability under minicnn.manual_seed, and the gradient.
"""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.testing import gradcheck


def _positive(shape, seed, dtype=np.float64):
    """Values away from 0, so that output == 0 means exactly "dropped"."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1, 1], size=shape)).astype(dtype)


def test_p_zero_and_eval_are_the_identity():
    x = minicnn.randn(3, 4, requires_grad=True)
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.7, training=False) is x
    assert F.dropout(x, 1.0, training=False) is x


def test_p_one_gives_zeros_and_a_zero_gradient():
    x = minicnn.tensor(_positive((4, 5), 0), requires_grad=True)
    out = F.dropout(x, 1.0)
    np.testing.assert_array_equal(out.numpy(), np.zeros((4, 5)))
    out.backward(np.ones((4, 5)))
    np.testing.assert_array_equal(x.grad, np.zeros((4, 5)))


@given(st.floats(0.05, 0.95), st.integers(0, 2**16), st.sampled_from([np.float32, np.float64]))
def test_kept_elements_are_scaled_by_one_over_keep_probability(p, seed, dtype):
    x = _positive((7, 9), seed, dtype)
    minicnn.manual_seed(seed)
    out = F.dropout(minicnn.tensor(x), p).numpy()
    assert out.dtype == dtype
    kept = out != 0
    # float32: x * float32(1/(1-p)) is within 1 ulp of x / (1-p).
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_mean_and_drop_rate_are_right_statistically(p):
    """n elements of ones: each output is 1/(1-p) with probability 1-p, else 0.

    * mean: E = 1, Var(y_i) = E[y^2] - 1 = 1/(1-p) - 1 = p/(1-p), so the sample
      mean has standard deviation sqrt(p / ((1-p) n));
    * zeros: Binomial(n, p), standard deviation sqrt(n p (1-p)).

    Six standard deviations: a correct dropout fails with probability < 2e-9
    (the seed makes the draw fixed anyway); a scale of 1/p instead of 1/(1-p),
    or dropping with probability 1-p, misses by far more than the bound."""
    n = 200_000
    minicnn.manual_seed(1234)
    out = F.dropout(minicnn.ones(n, dtype=minicnn.float64), p).numpy()
    assert abs(out.mean() - 1.0) < 6 * math.sqrt(p / ((1 - p) * n))
    assert abs((out == 0).sum() - n * p) < 6 * math.sqrt(n * p * (1 - p))


def test_same_seed_same_mask_other_seed_other_mask():
    x = minicnn.ones(50, 40)
    minicnn.manual_seed(7)
    first = F.dropout(x, 0.5).numpy()
    second = F.dropout(x, 0.5).numpy()  # the generator moved on
    minicnn.manual_seed(7)
    again = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(first, again)
    assert (first != second).any()


@given(st.floats(0.05, 0.95), st.integers(0, 2**16))
def test_gradient_is_mask_times_scale(p, seed):
    x = minicnn.tensor(_positive((6, 8), seed), requires_grad=True)
    minicnn.manual_seed(seed)
    out = F.dropout(x, p)
    grad_out = np.random.default_rng(seed).standard_normal((6, 8))
    out.backward(grad_out)
    mask = (out.numpy() != 0) / (1 - p)  # what was kept, scaled
    np.testing.assert_allclose(x.grad, grad_out * mask, rtol=1e-15)


@given(st.floats(0.05, 0.95), st.integers(0, 2**16))
def test_dropout_gradcheck_with_reseeding(p, seed):
    """Reseeding inside fn makes every evaluation draw the same mask."""
    x = minicnn.tensor(_positive((3, 5, 4), seed), requires_grad=True)

    def fn(t):
        minicnn.manual_seed(seed)
        return F.dropout(t, p)

    gradcheck(fn, [x])


def test_inplace_is_accepted_but_not_in_place():
    x = minicnn.ones(20, 30)
    minicnn.manual_seed(0)
    out = F.dropout(x, 0.5, inplace=True)
    np.testing.assert_array_equal(x.numpy(), np.ones((20, 30)))  # input untouched
    assert out is not x and (out.numpy() == 0).any()


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bad_p(p):
    with pytest.raises(ValueError, match="p"):
        F.dropout(minicnn.ones(3), p)


def test_bad_types():
    with pytest.raises(TypeError, match="p"):
        F.dropout(minicnn.ones(3), "0.5")
    with pytest.raises(TypeError, match="training"):
        F.dropout(minicnn.ones(3), 0.5, training="yes")
    with pytest.raises(TypeError, match="input"):
        F.dropout(minicnn.tensor(np.arange(3)), 0.5)


# ------------------------------------------------------------------ dropout2d
@given(st.floats(0.05, 0.95), st.integers(0, 2**16), st.sampled_from([np.float32, np.float64]))
def test_dropout2d_drops_whole_channels_and_scales_the_rest(p, seed, dtype):
    x = _positive((4, 6, 3, 5), seed, dtype)
    minicnn.manual_seed(seed)
    out = F.dropout2d(minicnn.tensor(x), p).numpy()
    assert out.dtype == dtype
    dropped = (out == 0).all(axis=(2, 3))  # (N, C)
    kept = (out != 0).all(axis=(2, 3))
    assert (dropped | kept).all(), "a channel was partly dropped"
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_dropout2d_drop_rate_is_right_statistically(p):
    """n = N * C channel draws: the dropped count is Binomial(n, p), standard deviation
    sqrt(n p (1 - p)); six of them bound a correct dropout (see the dropout test above),
    while per-element dropping would never zero a whole 4x4 channel at these rates."""
    n_batch, channels = 500, 100
    minicnn.manual_seed(99)
    out = F.dropout2d(minicnn.ones(n_batch, channels, 4, 4), p).numpy()
    dropped = (out == 0).all(axis=(2, 3)).sum()
    n = n_batch * channels
    assert abs(dropped - n * p) < 6 * math.sqrt(n * p * (1 - p))


@given(st.floats(0.05, 0.95), st.integers(0, 2**16))
def test_dropout2d_gradcheck_with_reseeding(p, seed):
    x = minicnn.tensor(_positive((2, 4, 2, 3), seed), requires_grad=True)

    def fn(t):
        minicnn.manual_seed(seed)
        return F.dropout2d(t, p)

    gradcheck(fn, [x])


def test_dropout2d_identity_cases_and_p_one():
    x = minicnn.randn(2, 3, 4, 4, requires_grad=True)
    assert F.dropout2d(x, 0.0) is x
    assert F.dropout2d(x, 0.7, training=False) is x
    out = F.dropout2d(x, 1.0)
    np.testing.assert_array_equal(out.numpy(), 0)
    out.backward(np.ones(x.shape, np.float32))
    np.testing.assert_array_equal(x.grad, 0)


def _messages(record):
    return [str(w.message) for w in record]


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (2, 3, 4, 5), (2, 3, 2, 2, 2)])
def test_dropout2d_rank_handling_and_warnings_follow_torch(shape):
    """PyTorch 2.13: 4-D is quiet; 3-D is taken as (N, C, L) with a warning; other ranks warn
    that they are deprecated. The mask is always one draw per (n, c): with p = 1 everything
    is zero, and in training with p = 0.5 every (n, c) slice is all-zero or all-kept, in both
    engines."""
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        minicnn.manual_seed(0)
        out = F.dropout2d(minicnn.ones(*shape), 0.5).numpy()
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        torch_out = TF.dropout2d(torch.ones(shape), 0.5).numpy()
    assert _messages(ours) == _messages(theirs)
    for result in (out, torch_out):
        per_channel = result.reshape(shape[0], shape[1], -1)
        assert ((per_channel == 0).all(axis=2) | (per_channel != 0).all(axis=2)).all()


def test_dropout2d_bad_input_raises_before_drawing():
    state = minicnn.random.default_generator().bit_generator.state
    with pytest.raises(ValueError, match=r"dropout2d: input must have at least 2 dims \(N, C, "
                                         r"...\), got shape \(5,\)"):
        F.dropout2d(minicnn.ones(5), 0.5)
    with pytest.raises(ValueError, match="dropout2d: dropout probability p has to be between"):
        F.dropout2d(minicnn.ones(2, 3, 4, 4), 1.5)
    with pytest.raises(TypeError, match="dropout2d: inplace must be a bool"):
        F.dropout2d(minicnn.ones(2, 3, 4, 4), 0.5, inplace=None)
    assert minicnn.random.default_generator().bit_generator.state == state
