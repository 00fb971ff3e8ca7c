"""normalize: gradients for every p, PyTorch parity, the eps clamp, ties of p = inf, bad input.

Tolerances. float64 gradchecks use the harness defaults (atol 1e-5, rtol 1e-4).
float32 parity with PyTorch: atol 1e-5, rtol 1e-5. Each output is an element
divided by a norm summed over up to 24 float32 terms (rounding ~24 * 6e-8 of
the sum, relative), in another order than PyTorch's; a p-th root adds a few
ulps. A wrong norm or a missing projection term is off by O(1).
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

ATOL, RTOL = 1e-5, 1e-5
# p = 0 (count of non-zeros: gradient 1/d only), fractional, the usual ones, +-inf, and
# negative p (no norm, but PyTorch takes it: OpInfo's samples use p = -1).
P_VALUES = [0.0, 0.5, 1.0, 2.0, 3.0, float("inf"), -1.0, -2.5, float("-inf")]


@st.composite
def shape_and_dim(draw):
    shape = draw(shapes(1, 3))
    ndim = len(shape)
    if draw(st.booleans()):
        return shape, draw(st.integers(-ndim, ndim - 1))
    return shape, tuple(draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                      unique=True)))


@given(drawn=shape_and_dim(), p=st.sampled_from(P_VALUES), seed=seeds)
def test_normalize_gradcheck(drawn, p, seed):
    shape, dim = drawn
    # |x| in [0.2, 1.5] with random signs: clear of the kinks at 0 (p <= 1); a random grid
    # is tie-free with probability 1 (p = inf) and stays so under the 1e-6 step.
    x = away_from(np.random.default_rng(seed), shape)
    gradcheck(lambda t: F.normalize(t, p=p, dim=dim), [minicnn.tensor(x, requires_grad=True)])


@given(drawn=shape_and_dim(), p=st.sampled_from(P_VALUES), seed=seeds)
@settings(max_examples=10)
def test_normalize_matches_torch(drawn, p, seed):
    shape, dim = drawn
    x = away_from(np.random.default_rng(seed), shape).astype(np.float32)
    compare_with_torch(lambda t: F.normalize(t, p=p, dim=dim),
                       lambda t: TF.normalize(t, p=p, dim=dim), [x], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("p", P_VALUES)
def test_zero_dim_input_matches_torch(p):
    """A 0-d tensor is a vector of one element (dim 0 or -1): x / max(|x|, eps)."""
    for dim in (0, -1):
        compare_with_torch(lambda t: F.normalize(t, p=p, dim=dim),
                           lambda t: TF.normalize(t, p=p, dim=dim),
                           [np.array(-2.5, np.float32)], atol=ATOL, rtol=RTOL)


def test_zero_vectors_and_the_eps_clamp_match_torch():
    """A zero row gives 0 (0 / eps), with gradient g / eps (the clamp passes nothing to the
    norm); a row whose norm is below eps is divided by eps, not by its norm."""
    x = np.array([[0.0, 0.0, 0.0], [3e-8, -4e-8, 0.0], [1.0, 2.0, -2.0]], np.float32)
    for eps in (1e-12, 1e-6):
        compare_with_torch(lambda t: F.normalize(t, eps=eps), lambda t: TF.normalize(t, eps=eps),
                           [x], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("p", P_VALUES)
def test_zero_entries_match_torch_for_every_p(p):
    """Entries exactly 0: |v|^(p-1) is infinite there for p < 1, and sign(0) = 0 for p = 1;
    both engines give those entries no share of the norm's gradient. For p < 0 a zero makes
    the "norm" 0: the row is divided by eps, with gradient g / eps."""
    x = np.array([[0.0, -3.0, 1.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]], np.float32)
    compare_with_torch(lambda t: F.normalize(t, p=p), lambda t: TF.normalize(t, p=p), [x],
                       atol=ATOL, rtol=RTOL)


def test_inf_norm_shares_the_gradient_among_tied_maxima_as_torch():
    x = np.array([[3.0, -3.0, 1.0], [2.0, 2.0, 2.0]], np.float32)
    compare_with_torch(lambda t: F.normalize(t, p=float("inf")),
                       lambda t: TF.normalize(t, p=float("inf")), [x], atol=ATOL, rtol=RTOL)


def test_unit_norm_and_the_p2_gradient_is_a_projection():
    """||y||_2 = 1, and for p = 2 the gradient (g - y (g . y)) / ||x|| is orthogonal to x:
    moving x along itself does not change y."""
    rng = np.random.default_rng(0)
    x = minicnn.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    y = F.normalize(x, dim=1)
    np.testing.assert_allclose(np.linalg.norm(y.numpy(), axis=1), 1.0, rtol=1e-14)
    y.backward(rng.standard_normal((4, 5)))
    np.testing.assert_allclose((x.grad * x.numpy()).sum(axis=1), 0.0, atol=1e-14)


def test_normalize_bad_input():
    x = minicnn.ones(2, 3)
    with pytest.raises(ValueError, match="normalize: p must be a number \\(or \\+-inf\\), got nan"):
        F.normalize(x, p=float("nan"))
    with pytest.raises(IndexError, match="normalize: dim=2 is out of range for a 2-D tensor"):
        F.normalize(x, dim=2)
    with pytest.raises(IndexError, match="dim=1 is out of range for a 1-D tensor"):
        F.normalize(minicnn.ones(3))  # the default dim=1, as in PyTorch
    with pytest.raises(TypeError, match="normalize: out= is not supported"):
        F.normalize(x, out=minicnn.ones(2, 3))
    with pytest.raises(TypeError, match="normalize: input must be a floating-point"):
        F.normalize(minicnn.tensor(np.ones((2, 3), np.int64)))
    with pytest.raises(TypeError, match="normalize: eps must be a real number"):
        F.normalize(x, eps=None)
