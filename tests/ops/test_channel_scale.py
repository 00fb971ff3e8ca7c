"""channel_scale: ``y[n, c, *] = x[n, c, *] * s[n, c]`` (the squeeze-and-excitation gating)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import torch
from minicnn.ops.channel_scale import channel_scale
from minicnn.testing import compare_with_torch, gradcheck
from minicnn.testing.strategies import seeds


@st.composite
def scale_configs(draw):
    """``x`` (N, C, *) with 0-2 spatial dims, and the scale as (N, C) or (N, C, 1, ..., 1)."""
    batch, channels = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 4), max_size=2)))
    keep_dims = draw(st.booleans())
    scale_shape = (batch, channels) + ((1,) * len(spatial) if keep_dims else ())
    return (batch, channels) + spatial, scale_shape


def _naive(x, s):
    """The definition, one (n, c) plane at a time."""
    out = np.empty_like(x)
    s2 = s.reshape(s.shape[:2])
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            out[n, c] = x[n, c] * s2[n, c]
    return out


@given(scale_configs(), seeds)
def test_channel_scale_is_the_definition(cfg, seed):
    shape, scale_shape = cfg
    rng = np.random.default_rng(seed)
    x, s = rng.standard_normal(shape), rng.standard_normal(scale_shape)
    out = channel_scale(minicnn.tensor(x), minicnn.tensor(s))
    np.testing.assert_array_equal(out.numpy(), _naive(x, s))  # one rounding per element


@given(scale_configs(), seeds)
def test_channel_scale_gradcheck(cfg, seed):
    shape, scale_shape = cfg
    rng = np.random.default_rng(seed)
    x = minicnn.tensor(rng.standard_normal(shape), requires_grad=True)
    s = minicnn.tensor(rng.standard_normal(scale_shape), requires_grad=True)
    gradcheck(channel_scale, [x, s])


@given(scale_configs(), seeds)
def test_channel_scale_matches_torch(cfg, seed):
    shape, scale_shape = cfg
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    s = rng.uniform(0, 1, scale_shape).astype(np.float32)
    # PyTorch: the broadcast product. Output and dL/dx are one float32 product each
    # (exact agreement expected, 1e-6 allowed); dL/ds sums at most 16 products, whose
    # float32 rounding depends on the order: rtol 1e-5 and atol 1e-5 for sums near 0.
    compare_with_torch(channel_scale,
                       lambda a, b: a * b.reshape(tuple(b.shape[:2]) + (1,) * (a.dim() - 2)),
                       [x, s], atol=1e-5, rtol=1e-5)


def test_channel_scale_equals_the_broadcast_product_used_by_squeeze_excitation():
    rng = np.random.default_rng(0)
    x = minicnn.tensor(rng.standard_normal((2, 3, 4, 4)), requires_grad=True)
    s = minicnn.tensor(rng.uniform(0, 1, (2, 3, 1, 1)), requires_grad=True)
    ours = channel_scale(x, s)
    theirs = x * s
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    g = rng.standard_normal((2, 3, 4, 4))
    ours.backward(minicnn.tensor(g))
    grads = x.grad.copy(), s.grad.copy()
    x.grad = s.grad = None
    theirs.backward(minicnn.tensor(g))
    np.testing.assert_array_equal(grads[0], x.grad)
    np.testing.assert_allclose(grads[1], s.grad, rtol=1e-14)  # sums, other order


def test_channel_scale_frozen_scale_gets_no_gradient():
    x = minicnn.tensor(np.ones((1, 2, 3)), requires_grad=True)
    s = minicnn.tensor(np.array([[2.0, 3.0]]))
    channel_scale(x, s).sum().backward()
    assert s.grad is None
    np.testing.assert_array_equal(x.grad, [[[2.0] * 3, [3.0] * 3]])


def test_channel_scale_bad_input():
    x = minicnn.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match="scale"):
        channel_scale(x, minicnn.zeros(2, 4))  # C differs
    with pytest.raises(ValueError, match="scale"):
        channel_scale(x, minicnn.zeros(2, 3, 1))  # neither (N, C) nor (N, C, 1, 1)
    with pytest.raises(ValueError, match="scale"):
        channel_scale(x, minicnn.zeros(1, 3))  # N differs (no broadcasting over the batch)
    with pytest.raises(TypeError, match="scale"):
        channel_scale(x, minicnn.zeros(2, 3, dtype=minicnn.float64))
    with pytest.raises(TypeError, match="scale"):
        channel_scale(x, np.zeros((2, 3), dtype=np.float32))  # not a Tensor
    with pytest.raises(TypeError, match="scale"):
        channel_scale(x, minicnn.tensor(np.zeros((2, 3), dtype=np.int64)))
    with pytest.raises(ValueError, match="input"):
        channel_scale(minicnn.zeros(3), minicnn.zeros(3))
    with pytest.raises(TypeError, match="input"):
        channel_scale(minicnn.tensor(np.zeros((2, 3), dtype=np.int64)), minicnn.zeros(2, 3))



@pytest.mark.parametrize("shape", [(0, 3, 4, 4), (2, 3, 0, 4), (2, 3), (2, 3, 5)])
def test_edge_shapes_match_the_broadcast_product(shape):
    """Empty batches and planes, 2-D and 3-D inputs: the per-(n, c) dot products of the
    scale's gradient are sized from the shape, never inferred (-1 is ambiguous at size 0)."""
    rng = np.random.default_rng(3)
    x, s, g = rng.random(shape), rng.random(shape[:2]), rng.random(shape)
    ours_x, ours_s = minicnn.tensor(x, requires_grad=True), minicnn.tensor(s, requires_grad=True)
    channel_scale(ours_x, ours_s).backward(g)
    theirs_x, theirs_s = torch.tensor(x, requires_grad=True), torch.tensor(s, requires_grad=True)
    (theirs_x * theirs_s.reshape(shape[:2] + (1,) * (len(shape) - 2))).backward(torch.tensor(g))
    np.testing.assert_allclose(ours_x.grad, theirs_x.grad.numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours_s.grad, theirs_s.grad.numpy(), rtol=1e-12, atol=1e-15)
