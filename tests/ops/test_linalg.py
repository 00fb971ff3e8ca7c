"""matmul and linear: float64 gradient checks over drawn shapes (1-D operands,
broadcast batch dimensions), float32 parity with PyTorch, bad input.

Tolerance for the float32 parity (FLOAT32): each output is a dot product of
at most 4 terms, and a broadcast operand's gradient sums at most 4^2 batch
matrices of such products, i.e. at most 64 O(1) terms; BLAS (OpenBLAS vs
MKL) orders them differently, so results may differ by about
64 * 1.2e-7 = 8e-6. atol = rtol = 1e-5; a wrong formula is off by O(1).
"""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import functional as F
from minicnn.testing import compare_with_torch, gradcheck
from minicnn.testing.strategies import broadcast_pairs, seeds, shapes

FLOAT32 = dict(atol=1e-5, rtol=1e-5)


def leaf64(array):
    return mc.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


@st.composite
def matmul_shapes(draw):
    """Operand shapes of every kind matmul accepts, each side drawn, batch shapes
    derived so that they broadcast."""
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    kind = draw(st.sampled_from(["vec-vec", "vec-mat", "mat-vec", "mat-mat", "batched"]))
    if kind == "vec-vec":
        return (k,), (k,)
    batch_a, batch_b = draw(broadcast_pairs(0, 2, 3))
    if kind == "vec-mat":
        return (k,), batch_b + (k, n)
    if kind == "mat-vec":
        return batch_a + (m, k), (k,)
    if kind == "mat-mat":
        return (m, k), (k, n)
    return batch_a + (m, k), batch_b + (k, n)


@given(pair=matmul_shapes(), seed=seeds)
def test_matmul_gradcheck_and_torch(pair, seed):
    rng = np.random.default_rng(seed)
    a, b = (np.asarray(rng.standard_normal(s)) for s in pair)
    inputs = [leaf64(a), leaf64(b)]
    assert F.matmul(*inputs).dtype == np.float64
    assert gradcheck(F.matmul, inputs)
    compare_with_torch(F.matmul, torch.matmul, [a.astype(np.float32), b.astype(np.float32)],
                       **FLOAT32)
    compare_with_torch(lambda x, y: x @ y, lambda x, y: x @ y,
                       [a.astype(np.float32), b.astype(np.float32)], **FLOAT32)


def test_matmul_matches_the_sum_formula():
    """y[b, i, j] = sum_l a[b, i, l] w[l, j], written out as loops."""
    rng = np.random.default_rng(0)
    a, w = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
    expected = np.zeros((2, 3, 5))
    for b in range(2):
        for i in range(3):
            for j in range(5):
                expected[b, i, j] = sum(a[b, i, l] * w[l, j] for l in range(4))
    np.testing.assert_allclose(F.matmul(mc.tensor(a), mc.tensor(w)).numpy(), expected, rtol=1e-12)


@given(batch=shapes(0, 2, max_side=3), features=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       bias=st.booleans(), seed=seeds)
def test_linear_gradcheck_and_torch(batch, features, bias, seed):
    in_features, out_features = features
    rng = np.random.default_rng(seed)
    x = np.asarray(rng.standard_normal(batch + (in_features,)))
    weight = rng.standard_normal((out_features, in_features))
    arrays = [x, weight] + ([rng.standard_normal(out_features)] if bias else [])
    inputs = [leaf64(a) for a in arrays]
    assert F.linear(*inputs).dtype == np.float64
    assert gradcheck(F.linear, inputs)
    compare_with_torch(F.linear, torch.nn.functional.linear,
                       [a.astype(np.float32) for a in arrays], **FLOAT32)


def test_linear_is_x_times_weight_transposed_plus_bias():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((5, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    out = F.linear(mc.tensor(x), mc.tensor(w), mc.tensor(b))
    np.testing.assert_allclose(out.numpy(), np.einsum("ni,oi->no", x, w) + b, rtol=1e-12)


# ------------------------------------------------------------------ bad input
def test_matmul_inner_dimensions_differ():
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ: input has shape "
                                         r"\(2, 3\), other has shape \(4, 5\) \(3 != 4\)"):
        F.matmul(mc.ones(2, 3), mc.ones(4, 5))
    with pytest.raises(ValueError, match=r"\(3 != 2\)"):
        mc.ones(3) @ mc.ones(2)


def test_matmul_batch_dimensions_do_not_broadcast():
    with pytest.raises(ValueError, match=r"matmul: batch dimensions do not broadcast.*"
                                         r"\(2,\) vs \(3,\)"):
        F.matmul(mc.ones(2, 4, 5), mc.ones(3, 5, 6))


def test_matmul_zero_dim_and_dtype_mix():
    with pytest.raises(ValueError, match="matmul: both operands must be at least 1-D"):
        F.matmul(mc.tensor(2.0), mc.ones(2))
    with pytest.raises(TypeError, match="float32.*float64"):
        F.matmul(mc.ones(2, 2), mc.ones(2, 2, dtype=mc.float64))


def test_linear_bad_input():
    x = mc.ones(4, 3)
    with pytest.raises(ValueError, match=r"linear: input's last dimension must equal "
                                         r"in_features=2 .*got input shape \(4, 3\)"):
        F.linear(x, mc.ones(5, 2))
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D.*got shape \(3,\)"):
        F.linear(x, mc.ones(3))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(5,\), got \(4,\)"):
        F.linear(x, mc.ones(5, 3), mc.ones(4))
    with pytest.raises(TypeError, match="linear: input must be a floating-point tensor.*int64"):
        F.linear(mc.tensor([[1, 2, 3]]), mc.ones(5, 3))
    with pytest.raises(TypeError, match="float32.*float64"):
        F.linear(x, mc.ones(5, 3, dtype=mc.float64))
