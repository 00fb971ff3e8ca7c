"""gather, index_select, masked_fill, topk, sort: float64 gradient checks over drawn shapes and
arguments, float32 parity with PyTorch (forward, indices and gradients), bad input.

Tolerance for the float32 parity: these operators only pick values, so outputs equal
PyTorch's exactly; gradients of picks that repeat an element are sums whose order may
differ (1e-6). Values are drawn distinct (a permutation) wherever ties would let two
correct implementations pick different indices (topk, sort).
"""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import functional as F
from minicnn.testing import compare_with_torch, gradcheck
from minicnn.testing.strategies import seeds, shapes

REPEATS = dict(atol=1e-6, rtol=1e-6)


def check(ours, theirs, arrays, grad_inputs=None):
    """float64 gradcheck of ``ours`` (float arrays require grad) and float32 parity."""
    inputs = [mc.tensor(a, requires_grad=np.issubdtype(a.dtype, np.floating))
              if isinstance(a, np.ndarray) else a for a in arrays]
    assert gradcheck(ours, inputs)
    compare_with_torch(ours, theirs, [a.astype(np.float32) if isinstance(a, np.ndarray) and
                                      np.issubdtype(a.dtype, np.floating) else a
                                      for a in arrays], grad_inputs=grad_inputs, **REPEATS)


def distinct(seed, shape):
    """Distinct values (a shuffled range, scaled): no ties for topk/sort to break."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.25 - 1.0).astype(np.float64)


@given(shape=shapes(1, 3), seed=seeds, data=st.data())
def test_gather(shape, seed, data):
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    axis = dim % len(shape)
    index_shape = tuple(data.draw(st.integers(1, 4)) if k == axis else data.draw(st.integers(1, n))
                        for k, n in enumerate(shape))
    index = rng.integers(0, shape[axis], index_shape)  # repeats included: they accumulate
    x = rng.standard_normal(shape)
    check(lambda t: F.gather(t, dim, mc.tensor(index)),
          lambda t: torch.gather(t, dim, torch.tensor(index)), [x])
    check(lambda t: t.gather(dim, mc.tensor(index)),
          lambda t: t.gather(dim, torch.tensor(index)), [x])


@given(shape=shapes(1, 3), seed=seeds, data=st.data())
def test_index_select(shape, seed, data):
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    index = rng.integers(0, shape[dim], data.draw(st.integers(0, 5)))
    x = rng.standard_normal(shape)
    check(lambda t: mc.index_select(t, dim, mc.tensor(index)),
          lambda t: torch.index_select(t, dim, torch.tensor(index)), [x])
    check(lambda t: t.index_select(dim, mc.tensor(index)),
          lambda t: t.index_select(dim, torch.tensor(index)), [x])


@given(shape=shapes(0, 3), seed=seeds, data=st.data())
def test_masked_fill_with_a_number_and_a_0d_tensor(shape, seed, data):
    rng = np.random.default_rng(seed)
    mask_shape = tuple(1 if data.draw(st.booleans()) else n for n in shape)
    mask = rng.random(mask_shape) < 0.5
    x = rng.standard_normal(shape)
    check(lambda t: t.masked_fill(mc.tensor(mask), -2.5),
          lambda t: t.masked_fill(torch.tensor(mask), -2.5), [x])
    check(lambda t, v: mc.masked_fill(t, mc.tensor(mask), v),
          lambda t, v: torch.masked_fill(t, torch.tensor(mask), v), [x, np.array(0.75)])


@given(shape=shapes(1, 3), seed=seeds, data=st.data())
def test_topk(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(0, shape[dim]))
    largest = data.draw(st.booleans())
    x = distinct(seed, shape)
    check(lambda t: mc.topk(t, k, dim, largest), lambda t: torch.topk(t, k, dim, largest), [x])
    check(lambda t: t.topk(k, dim=dim, largest=largest),
          lambda t: t.topk(k, dim=dim, largest=largest), [x])


@given(shape=shapes(1, 3), seed=seeds, data=st.data())
def test_sort(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    descending = data.draw(st.booleans())
    x = distinct(seed, shape)
    check(lambda t: mc.sort(t, dim, descending), lambda t: torch.sort(t, dim, descending), [x])
    check(lambda t: t.sort(dim=dim, descending=descending),
          lambda t: t.sort(dim=dim, descending=descending), [x])


def test_sort_with_ties_and_nan_is_stable_as_torch():
    x = np.array([[2.0, 1.0, 2.0, np.nan, 1.0, -np.inf]], np.float32)
    for descending in (False, True):
        ours = mc.sort(mc.tensor(x), descending=descending, stable=True)
        theirs = torch.sort(torch.tensor(x), descending=descending, stable=True)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


def test_pytorch_edge_forms():
    """Forms from PyTorch's own sample inputs: a mask larger than the input, an empty index
    of another rank, a 0-d input to gather."""
    rng = np.random.default_rng(0)
    mask = rng.random((4, 3)) < 0.5
    compare_with_torch(lambda t: t.masked_fill(mc.tensor(mask), 2.0),
                       lambda t: t.masked_fill(torch.tensor(mask), 2.0),
                       [rng.standard_normal(3).astype(np.float32)], atol=0, rtol=0)
    empty = np.zeros((2, 0), np.int64)
    compare_with_torch(lambda t: mc.gather(t, 0, mc.tensor(empty)),
                       lambda t: torch.gather(t, 0, torch.tensor(empty)),
                       [rng.standard_normal(5).astype(np.float32)], atol=0, rtol=0)
    compare_with_torch(lambda t: mc.gather(t, 0, mc.tensor([0, 0])),
                       lambda t: torch.gather(t, 0, torch.tensor([0, 0])),
                       [np.array(1.5, np.float32)], atol=0, rtol=0)


def test_a_0d_value_of_another_dtype_is_converted_as_torch():
    """masked_fill's 0-d value of another dtype is cast to the tensor's, as PyTorch does:
    a float truncated into an integer tensor."""
    values, mask = np.array([1, 2, -3]), np.array([True, False, True])
    for value in (1.5, -2.7):
        ours = mc.tensor(values).masked_fill(mc.tensor(mask), mc.tensor(value))
        theirs = torch.tensor(values).masked_fill(torch.tensor(mask), torch.tensor(value))
        np.testing.assert_array_equal(ours.data, theirs.numpy())
        assert ours.dtype == np.int64


def test_results_are_value_index_pairs_and_0d_inputs_work():
    x = mc.tensor(3.0)
    values, indices = mc.sort(x)
    assert values.item() == 3.0 and indices.item() == 0 and indices.dtype == np.int64
    assert mc.topk(x, 1).values.item() == 3.0
    assert mc.topk(mc.tensor([1.0, 5.0]), 1).indices.tolist() == [1]


@pytest.mark.parametrize("call, error, message", [
    (lambda x: mc.gather(x, 1, mc.tensor([[0, 3]])), IndexError, r"index holds 3, out of range "
                                                                 r"for dim 1 of size 3"),
    (lambda x: mc.gather(x, 1, mc.tensor([0, 1])), ValueError, "as many dims as input"),
    (lambda x: mc.gather(x, 1, mc.tensor([[0.0]])), TypeError, "integer"),
    (lambda x: mc.gather(x, 0, mc.tensor([[0, 0, 0, 0]])), ValueError, "exceeds input's 3"),
    (lambda x: mc.index_select(x, 0, mc.tensor([[0]])), ValueError, "must be 1-D"),
    (lambda x: mc.index_select(x, 0, mc.tensor([-1])), IndexError, "holds -1"),
    (lambda x: mc.index_select(x, 2, mc.tensor([0])), IndexError, "dim=2 is out of range"),
    (lambda x: mc.masked_fill(x, mc.tensor([1, 0, 1]), 0.0), TypeError, "mask must be a bool"),
    (lambda x: mc.masked_fill(x, mc.tensor([[True]] * 3), 0.0), ValueError,
     r"masked_fill: shapes \(2, 3\) and \(3, 1\) do not broadcast"),
    (lambda x: mc.masked_fill(x, x > 0, mc.ones(2)), RuntimeError, "0-d tensor"),
    (lambda x: mc.masked_fill(x, x > 0, "a"), TypeError, "value must be a number"),
    (lambda x: mc.topk(x, 4), ValueError, r"k \(4\) is larger than dim -1's size 3"),
    (lambda x: mc.topk(x, -1), ValueError, "k must be >= 0"),
    (lambda x: mc.sort(x, 2), IndexError, "dim=2 is out of range"),
])
def test_bad_arguments_raise_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call(mc.ones(2, 3))
