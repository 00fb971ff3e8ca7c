"""expand, repeat and norm: float64 gradient checks over drawn shapes and arguments, float32
parity with PyTorch, bad input.

Tolerances for the float32 parity: expand/repeat only copy values (outputs exact; their
gradients are sums over the copies, whose order may differ: 1e-6); norm is a reduction
with a power and a root (rtol 1e-5, atol 1e-6, float32 rounding of a sum of a few
dozen terms).
"""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import functional as F
from minicnn.testing import compare_with_torch, gradcheck
from minicnn.testing.strategies import dims_keepdim, seeds, shapes

COPIES = dict(atol=1e-6, rtol=1e-6)
NORM = dict(atol=1e-6, rtol=1e-5)


def check(ours, theirs, array, tolerance):
    assert gradcheck(ours, [mc.tensor(array, requires_grad=True)])
    compare_with_torch(ours, theirs, [array.astype(np.float32)], **tolerance)


@given(shape=shapes(0, 3, max_side=3), seed=seeds, data=st.data())
def test_expand(shape, seed, data):
    x = np.random.default_rng(seed).standard_normal(shape)
    lead = tuple(data.draw(st.lists(st.integers(0, 3), min_size=0 if shape else 1, max_size=2)))
    sizes = lead + tuple(data.draw(st.sampled_from([-1, 3])) if n == 1 else
                         data.draw(st.sampled_from([-1, n])) for n in shape)
    check(lambda t: t.expand(*sizes), lambda t: t.expand(*sizes), x, COPIES)
    check(lambda t: F.expand(t, sizes), lambda t: t.expand(sizes), x, COPIES)
    target = np.zeros(tuple(3 if s == -1 and n == 1 else (n if s == -1 else s)
                            for s, n in zip(sizes, (None,) * len(lead) + shape)))
    check(lambda t: t.expand_as(mc.tensor(target)), lambda t: t.expand_as(torch.tensor(target)),
          x, COPIES)


@given(shape=shapes(0, 3, max_side=3), seed=seeds, data=st.data())
def test_repeat(shape, seed, data):
    x = np.random.default_rng(seed).standard_normal(shape)
    repeats = tuple(data.draw(st.lists(st.integers(0, 3), min_size=len(shape),
                                       max_size=len(shape) + 2)))
    if not repeats:
        repeats = (2,)
    check(lambda t: t.repeat(*repeats), lambda t: t.repeat(*repeats), x, COPIES)
    check(lambda t: F.repeat(t, repeats), lambda t: t.repeat(repeats), x, COPIES)


@given(shape=shapes(1, 3), seed=seeds, data=st.data())
def test_norm(shape, seed, data):
    x = np.random.default_rng(seed).standard_normal(shape)
    dim, keepdim = data.draw(dims_keepdim(len(shape)))
    p = data.draw(st.sampled_from([0, 1, 2, 3, 0.5, -1, "fro", float("inf"), -float("inf")]))
    if isinstance(dim, tuple) and len(dim) == 0:
        dim = None
    if p == "fro" and dim is not None and not isinstance(dim, int) and len(dim) > 2:
        p = 2  # PyTorch's 'fro' takes at most 2 dims
    if p == 0:  # a count of non-zeros: x.grad stays None in both libraries (parity checks it)
        compare_with_torch(lambda t: t.norm(p=0, dim=dim, keepdim=keepdim),
                           lambda t: t.norm(p=0, dim=dim, keepdim=keepdim),
                           [x.astype(np.float32)], **NORM)
        return
    check(lambda t: mc.norm(t, p, dim, keepdim), lambda t: torch.norm(t, p, dim, keepdim), x, NORM)
    check(lambda t: t.norm(p=p, dim=dim, keepdim=keepdim),
          lambda t: t.norm(p=p, dim=dim, keepdim=keepdim), x, NORM)


def test_norm_at_zero_has_a_zero_gradient_as_torch():
    for p in (1, 2, 3):
        compare_with_torch(lambda t: t.norm(p), lambda t: t.norm(p),
                           [np.zeros(4, np.float32)], atol=0, rtol=0)
    counted = mc.norm(mc.tensor([0.0, 2.0, -1.0]), 0)
    assert counted.item() == torch.norm(torch.tensor([0.0, 2.0, -1.0]), 0).item()


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.expand(3), ValueError, r"number of sizes \(1\) must be at least"),
    (lambda x: x.expand(2, 4), ValueError, "size 3 in dim 1 must match the size 4"),
    (lambda x: x.expand(-1, 2, 3), ValueError, "-1 is allowed only for an existing dim"),
    (lambda x: x.expand(2, 3.0), TypeError, "sizes must be ints"),
    (lambda x: x.repeat(2), ValueError, r"number of repeats \(1\) must be at least"),
    (lambda x: x.repeat(1, -1), ValueError, "repeats must be >= 0"),
    (lambda x: x.norm(p=float("nan")), ValueError, "p must be a number"),
    (lambda x: x.norm(p="nuc"), NotImplementedError, "docs/unsupported.md, 'nuclear-norm'"),
    (lambda x: x.norm(p="max"), ValueError, "p must be a number, 'fro', inf or -inf, got 'max'"),
    (lambda x: mc.arange(3).norm(), TypeError, "floating-point"),
])
def test_bad_arguments_raise_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call(mc.ones(2, 3))


# ------------------------------------------------------------------ no-gradient methods
@given(shape=shapes(0, 3), seed=seeds)
def test_comparisons_match_torch(shape, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-2, 3, shape).astype(np.float32)
    b = rng.integers(-2, 3, shape[1:] if shape else ()).astype(np.float32)  # broadcasts
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        for other_ours, other_theirs in ((mc.tensor(b), torch.tensor(b)), (1.0, 1.0), (0, 0)):
            ours = getattr(mc, name)(mc.tensor(a), other_ours)
            theirs = getattr(torch, name)(torch.tensor(a), other_theirs)
            method = getattr(mc.tensor(a), name)(other_ours)
            assert ours.dtype == np.bool_ and not ours.requires_grad
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
            np.testing.assert_array_equal(method.numpy(), theirs.numpy())


@given(shape=shapes(0, 3), seed=seeds, data=st.data())
def test_all_and_any_match_torch(shape, seed, data):
    x = np.random.default_rng(seed).integers(0, 2, shape).astype(np.float32)
    side = max(len(shape), 1)
    dim = data.draw(st.one_of(st.none(), st.integers(-side, side - 1),
                              st.lists(st.integers(0, side - 1), unique=True).map(tuple)))
    keepdim = data.draw(st.booleans())
    for name in ("all", "any"):
        if dim is None:  # all elements, no keepdim: the methods
            ours, theirs = getattr(mc.tensor(x), name)(), getattr(torch.tensor(x), name)()
        else:  # dim=() tests each element on its own, as in PyTorch
            ours = getattr(mc, name)(mc.tensor(x), dim, keepdim)
            theirs = getattr(torch, name)(torch.tensor(x), dim, keepdim=keepdim)
        assert ours.dtype == np.bool_
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_view_as_reshape_as_type_as_match_torch():
    x = np.arange(6.0, dtype=np.float32)
    other = np.zeros((3, 2), np.float64)
    compare_with_torch(lambda t: t.view_as(mc.tensor(other)),
                       lambda t: t.view_as(torch.tensor(other)), [x], atol=0, rtol=0)
    compare_with_torch(lambda t: t.reshape_as(mc.tensor(other)),
                       lambda t: t.reshape_as(torch.tensor(other)), [x], atol=0, rtol=0)
    compare_with_torch(lambda t: t.type_as(mc.tensor(other)),
                       lambda t: t.type_as(torch.tensor(other)), [x], atol=0, rtol=0)
    with pytest.raises(ValueError, match="cannot reshape"):
        mc.tensor(x).view_as(mc.ones(4))
    with pytest.raises(TypeError, match="other must be a Tensor or a real number"):
        mc.eq(mc.tensor(x), "a")
    assert (mc.tensor(x) == None) is False  # noqa: E711  (as for any object)
