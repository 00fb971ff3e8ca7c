"""Reductions: float64 gradient checks over drawn shapes, dims and keepdim; float32
parity with PyTorch; ties; bad input.

Tolerance for the float32 parity (FLOAT32): a reduction adds up to 4^4 = 256
O(1) terms, in a different order in NumPy (pairwise) and PyTorch
(vectorised), so results can differ by about 256 * 6e-8 * 2 = 3e-5; atol 1e-4
and rtol 1e-5 leave a margin, while a wrong formula is off by O(1).
"""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import functional as F
from minicnn.testing import compare_with_torch, gradcheck
from minicnn.testing.strategies import dims_keepdim, distinct, seeds, shapes

FLOAT32 = dict(atol=1e-4, rtol=1e-5)


def leaf64(array):
    return mc.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def _torch_dim(dim):
    return () if dim is None else dim  # amax/amin/var: () means every dim in PyTorch


@st.composite
def shape_dim_keepdim(draw, min_side=1):
    shape = draw(shapes(0, 4, min_side, 4))
    dim, keepdim = draw(dims_keepdim(len(shape)))
    return shape, dim, keepdim


# name -> (minicnn fn(x, dim, keepdim), torch fn(x, dim, keepdim))
SMOOTH = {
    "sum": (lambda x, d, k: F.sum(x, d, k), lambda x, d, k: torch.sum(x, _torch_dim(d), k)),
    "mean": (lambda x, d, k: F.mean(x, d, k), lambda x, d, k: torch.mean(x, _torch_dim(d), k)),
    "Tensor.sum": (lambda x, d, k: x.sum(d, k), lambda x, d, k: x.sum(_torch_dim(d), k)),
}
# The extrema are checked on tie-free inputs (ties are tested on their own below).
EXTREMA = {
    "amax": (lambda x, d, k: F.amax(x, d, k), lambda x, d, k: torch.amax(x, _torch_dim(d), k)),
    "amin": (lambda x, d, k: F.amin(x, d, k), lambda x, d, k: torch.amin(x, _torch_dim(d), k)),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
@given(case=shape_dim_keepdim(), seed=seeds)
def test_sum_mean_gradcheck_and_torch(name, case, seed):
    shape, dim, keepdim = case
    fn, torch_fn = SMOOTH[name]
    x = np.asarray(np.random.default_rng(seed).standard_normal(shape))
    t = leaf64(x)
    assert fn(t, dim, keepdim).dtype == np.float64
    assert gradcheck(lambda a: fn(a, dim, keepdim), [t])
    compare_with_torch(lambda a: fn(a, dim, keepdim), lambda a: torch_fn(a, dim, keepdim),
                       [x.astype(np.float32)], **FLOAT32)


@pytest.mark.parametrize("name", sorted(EXTREMA))
@given(case=shape_dim_keepdim(), seed=seeds)
def test_amax_amin_gradcheck_and_torch(name, case, seed):
    shape, dim, keepdim = case
    fn, torch_fn = EXTREMA[name]
    x = np.asarray(distinct(np.random.default_rng(seed), shape))
    assert gradcheck(lambda a: fn(a, dim, keepdim), [leaf64(x)])
    compare_with_torch(lambda a: fn(a, dim, keepdim), lambda a: torch_fn(a, dim, keepdim),
                       [x.astype(np.float32)], **FLOAT32)


CORRECTIONS = st.sampled_from([dict(), dict(unbiased=True), dict(unbiased=False),
                               dict(correction=0), dict(correction=1), dict(correction=2)])


def _torch_var_kwargs(kwargs):
    if "unbiased" in kwargs:
        return dict(correction=int(kwargs["unbiased"]))
    return kwargs


@pytest.mark.parametrize("name", ["var", "std"])
@given(case=shape_dim_keepdim(min_side=3), kwargs=CORRECTIONS, seed=seeds)
def test_var_std_gradcheck_and_torch(name, case, kwargs, seed):
    """Sides >= 3, so n - correction >= 1 for every correction drawn."""
    shape, dim, keepdim = case
    fn = getattr(F, name)
    torch_fn = getattr(torch, name)
    x = np.asarray(np.random.default_rng(seed).standard_normal(shape) + 3.0)
    if not shape:  # a 0-d tensor has n = 1: only correction 0 has an estimate
        kwargs = dict(correction=0)
    ours = lambda a: fn(a, dim, keepdim=keepdim, **kwargs)  # noqa: E731
    # dim=None, not (): PyTorch 2.13's var backward over dim=() is off by a factor n.
    theirs = lambda a: torch_fn(a, dim, keepdim=keepdim,  # noqa: E731
                                **_torch_var_kwargs(kwargs))
    if name == "var" or shape:  # std of a single element: sqrt(0), gradient nan in both
        assert gradcheck(ours, [leaf64(x)])
        compare_with_torch(ours, theirs, [x.astype(np.float32)], **FLOAT32)


def test_var_matches_the_textbook_formula():
    """Derived independently: sum (x - mean)^2 / (n - correction)."""
    x = np.array([[1.0, 2.0, 4.0, 7.0], [0.0, 0.0, 1.0, 1.0]])
    for correction in (0, 1, 2):
        expected = ((x - x.mean(1, keepdims=True)) ** 2).sum(1) / (4 - correction)
        np.testing.assert_allclose(F.var(mc.tensor(x), 1, correction=correction).numpy(),
                                   expected, rtol=1e-14)
    np.testing.assert_allclose(mc.tensor(x).var(False).item(), x.var(), rtol=1e-14)
    np.testing.assert_allclose(mc.tensor(x).std().item(), x.std(ddof=1), rtol=1e-14)


def test_var_legacy_positional_unbiased_like_torch():
    x = np.arange(6, dtype=np.float32).reshape(2, 3) ** 2
    compare_with_torch(lambda t: F.var(t, False), lambda t: torch.var(t, False), [x], **FLOAT32)
    compare_with_torch(lambda t: F.std(t, 1, False, True), lambda t: torch.std(t, 1, False, True),
                       [x], **FLOAT32)


@pytest.mark.parametrize("reduce", ["max", "min"])
@given(case=shape_dim_keepdim(), seed=seeds)
def test_max_min_gradcheck_and_torch(reduce, case, seed):
    """Full max()/min() and (values, indices) along one dim."""
    shape, dim, keepdim = case
    if isinstance(dim, tuple):
        dim = dim[0]
    fn, torch_fn = getattr(F, reduce), getattr(torch, reduce)
    x = np.asarray(distinct(np.random.default_rng(seed), shape))
    if dim is None:
        ours, theirs = fn, torch_fn
    else:
        ours = lambda a: fn(a, dim, keepdim)  # noqa: E731
        theirs = lambda a: torch_fn(a, dim, keepdim)  # noqa: E731
    assert gradcheck(ours, [leaf64(x)])
    compare_with_torch(ours, theirs, [x.astype(np.float32)], **FLOAT32)


@pytest.mark.parametrize("reduce", ["argmax", "argmin"])
@given(case=shape_dim_keepdim(), seed=seeds)
def test_argmax_argmin_match_torch(reduce, case, seed):
    shape, dim, keepdim = case
    if isinstance(dim, tuple):
        dim = dim[0]
    x = np.asarray(distinct(np.random.default_rng(seed), shape)).astype(np.float32)
    ours = getattr(F, reduce)(mc.tensor(x), dim, keepdim)
    theirs = getattr(torch, reduce)(torch.tensor(x), dim, keepdim)
    assert ours.dtype == np.int64 and not ours.requires_grad
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ------------------------------------------------------------------ ties
TIES = np.array([[3.0, 1.0, 3.0, 3.0], [2.0, 2.0, 0.0, 1.0]], dtype=np.float32)


@pytest.mark.parametrize("name,ours,theirs", [
    ("max()", lambda t: t.max(), lambda t: t.max()),
    ("min()", lambda t: t.min(), lambda t: t.min()),
    ("amax(1)", lambda t: t.amax(1), lambda t: t.amax(1)),
    ("amin(0)", lambda t: t.amin(0), lambda t: t.amin(0)),
    ("amax(all)", lambda t: F.amax(t), lambda t: torch.amax(t, ())),
    ("max(1)", lambda t: t.max(1), lambda t: t.max(1)),
    ("max(1, keepdim)", lambda t: F.max(t, 1, True), lambda t: torch.max(t, 1, True)),
    ("min(0)", lambda t: t.min(0), lambda t: t.min(0)),
])
def test_ties_match_torch(name, ours, theirs):
    """Full max/min and amax/amin share the gradient evenly among ties; max(dim) gives
    all of it to the returned (first) index."""
    compare_with_torch(ours, theirs, [TIES], **FLOAT32)


def test_max_full_ties_share_evenly():
    t = mc.tensor(TIES, requires_grad=True)
    t.max().backward()
    expected = np.where(TIES == 3.0, 1 / 3, 0.0)  # three tied maxima
    np.testing.assert_allclose(t.grad, expected, rtol=1e-7)


def test_max_with_dim_returns_values_and_indices():
    result = F.max(mc.tensor(TIES), 1)
    assert result.values.numpy().tolist() == [3.0, 2.0]
    assert result.indices.numpy().tolist() == [0, 0]  # the first of the tied maxima
    values, indices = result
    assert indices.dtype == np.int64


def test_max_with_tensor_is_maximum():
    a, b = mc.tensor([1.0, 5.0]), mc.tensor([3.0, 2.0])
    assert mc.max(a, b).numpy().tolist() == [3.0, 5.0]
    assert mc.min(a, b).numpy().tolist() == [1.0, 2.0]


def test_integer_reductions():
    x = mc.tensor([[1, 2], [3, 4]])
    assert F.sum(x).item() == 10 and F.sum(x).dtype == np.int64
    assert F.max(x).item() == 4 and F.amax(x, 0).numpy().tolist() == [3, 4]
    assert F.sum(mc.tensor([True, True, False])).item() == 2


def test_zero_dim_input_accepts_dim_0_like_torch():
    x = np.array(2.5, dtype=np.float32)
    for ours, theirs in [(lambda t: t.sum(0), lambda t: t.sum(0)),
                         (lambda t: t.mean(-1, True), lambda t: t.mean(-1, True)),
                         (lambda t: t.max(0), lambda t: t.max(0)),
                         (lambda t: t.amax(0), lambda t: t.amax(0))]:
        compare_with_torch(ours, theirs, [x], **FLOAT32)
    assert F.argmax(mc.tensor(x), 0).item() == 0


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "amax", "amin", "max", "min",
                                  "argmax", "argmin"])
def test_dim_out_of_range(name):
    with pytest.raises(IndexError, match=r"dim=2 is out of range for a 2-D tensor "
                                         r"\(expected in \[-2, 1\]\)"):
        getattr(F, name)(mc.ones(2, 3), 2)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "amax"])
def test_repeated_or_non_int_dim(name):
    with pytest.raises(ValueError, match="dim contains a repeated dimension"):
        getattr(F, name)(mc.ones(2, 3), (1, -1))
    with pytest.raises(TypeError, match="dim must be an int or a tuple of ints, got 1.0"):
        getattr(F, name)(mc.ones(2, 3), 1.0)


@pytest.mark.parametrize("name", ["mean", "var", "std"])
def test_integer_input_rejected(name):
    with pytest.raises(TypeError, match=f"{name}: input must be a floating-point tensor.*int64"):
        getattr(F, name)(mc.tensor([1, 2, 3]))


def test_var_bad_correction():
    with pytest.raises(ValueError, match="var: pass unbiased or correction, not both"):
        F.var(mc.ones(3), unbiased=True, correction=1)
    with pytest.raises(TypeError, match="var: correction must be a number"):
        F.var(mc.ones(3), correction="1")


@pytest.mark.parametrize("correction", [-1, -5, 2.5, 4])
def test_var_any_correction_like_torch(correction):
    """PyTorch divides by max(n - c, 0) for any real c (a negative one too; 0 gives inf)."""
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    compare_with_torch(lambda t: F.var(t, 1, correction=correction),
                       lambda t: torch.var(t, 1, correction=correction), [x], **FLOAT32)


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_empty_input_without_dim(name):
    with pytest.raises(ValueError, match=rf"{name}: input is empty \(shape \(0, 3\)\)"):
        getattr(F, name)(mc.zeros(0, 3))


@pytest.mark.parametrize("name", ["max", "amax", "argmin"])
def test_reduce_over_an_empty_dim(name):
    with pytest.raises(ValueError, match=rf"{name}: cannot reduce over dim 0 of size 0"):
        getattr(F, name)(mc.zeros(0, 3), 0)


def test_sum_of_empty_dim_is_zero_like_torch():
    compare_with_torch(lambda t: t.sum(0), lambda t: t.sum(0), [np.zeros((0, 3), np.float32)])
