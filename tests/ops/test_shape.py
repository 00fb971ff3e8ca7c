"""Shape operators and indexing: float64 gradient checks over drawn shapes and
arguments, float32 parity with PyTorch, bad input.

Tolerance for the float32 parity: these operators only move values, so the
output and the gradients must equal PyTorch's exactly (EXACT); only indexing
with repeated indices adds gradient terms, whose order may differ (a few ulp:
INDEX, 1e-6).
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

EXACT = dict(atol=0.0, rtol=0.0)
INDEX = dict(atol=1e-6, rtol=1e-6)


def leaf64(array):
    return mc.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def check(ours, theirs, arrays, tolerance=EXACT):
    """float64 gradcheck of ``ours`` and float32 parity with ``theirs``."""
    arrays = [np.asarray(a) for a in arrays]
    inputs = [leaf64(a) for a in arrays]
    out = ours(*inputs)
    for o in out if isinstance(out, tuple) else (out,):
        assert o.dtype == np.float64
    assert gradcheck(ours, inputs)
    compare_with_torch(ours, theirs, [a.astype(np.float32) for a in arrays], **tolerance)


def normal(seed, shape):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape))


# ------------------------------------------------------------------ reshape family
@st.composite
def reshape_cases(draw):
    shape = draw(shapes(0, 4))
    sides = list(draw(st.permutations(list(shape))))
    for _ in range(draw(st.integers(0, 2))):  # insert some 1s
        sides.insert(draw(st.integers(0, len(sides))), 1)
    if sides and draw(st.booleans()):  # let one side be inferred
        sides[draw(st.integers(0, len(sides) - 1))] = -1
    return shape, tuple(sides)


@given(case=reshape_cases(), seed=seeds)
def test_reshape_and_view(case, seed):
    shape, new_shape = case
    x = normal(seed, shape)
    check(lambda t: F.reshape(t, new_shape), lambda t: t.reshape(new_shape), [x])
    check(lambda t: t.view(new_shape), lambda t: t.view(new_shape), [x])
    if new_shape:
        check(lambda t: t.view(*new_shape), lambda t: t.view(*new_shape), [x])


@st.composite
def flatten_cases(draw):
    shape = draw(shapes(1, 4))
    start = draw(st.integers(0, len(shape) - 1))
    end = draw(st.integers(start, len(shape) - 1))
    # Either sign for each: -ndim + k is the same dim as k.
    start = start - len(shape) if draw(st.booleans()) else start
    end = end - len(shape) if draw(st.booleans()) else end
    return shape, start, end


@given(case=flatten_cases(), seed=seeds)
def test_flatten(case, seed):
    shape, start, end = case
    check(lambda t: F.flatten(t, start, end), lambda t: torch.flatten(t, start, end),
          [normal(seed, shape)])


@given(shape=shapes(1, 4), seed=seeds, data=st.data())
def test_transpose(shape, seed, data):
    dims = st.integers(-len(shape), len(shape) - 1)
    dim0, dim1 = data.draw(dims), data.draw(dims)
    check(lambda t: F.transpose(t, dim0, dim1), lambda t: torch.transpose(t, dim0, dim1),
          [normal(seed, shape)])


@given(shape=shapes(0, 4), seed=seeds, data=st.data())
def test_permute(shape, seed, data):
    dims = tuple(data.draw(st.permutations(range(len(shape)))))
    check(lambda t: F.permute(t, dims), lambda t: t.permute(dims), [normal(seed, shape)])
    if dims:
        check(lambda t: t.permute(*dims), lambda t: t.permute(*dims), [normal(seed, shape)])


@given(shape=shapes(0, 4, max_side=3), seed=seeds, data=st.data())
def test_squeeze_unsqueeze(shape, seed, data):
    x = normal(seed, shape)
    check(F.squeeze, torch.squeeze, [x])
    if shape:
        dim = data.draw(st.integers(-len(shape), len(shape) - 1))
        check(lambda t: F.squeeze(t, dim), lambda t: torch.squeeze(t, dim), [x])
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda t: F.unsqueeze(t, dim), lambda t: torch.unsqueeze(t, dim), [x])


def test_squeeze_tuple_of_dims_like_torch():
    x = np.zeros((1, 2, 1, 1), np.float32)
    compare_with_torch(lambda t: F.squeeze(t, (0, -1)), lambda t: torch.squeeze(t, (0, -1)), [x])


def test_transpose_T_and_t():
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    compare_with_torch(lambda t: t.T, lambda t: t.T, [x], **EXACT)
    compare_with_torch(lambda t: t.t(), lambda t: t.t(), [x], **EXACT)


# ------------------------------------------------------------------ joining and splitting
@st.composite
def cat_cases(draw):
    shape = draw(shapes(1, 3, max_side=3))
    axis = draw(st.integers(0, len(shape) - 1))
    sizes = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    dim = axis - len(shape) if draw(st.booleans()) else axis
    pieces = [shape[:axis] + (n,) + shape[axis + 1:] for n in sizes]
    return pieces, dim


@given(case=cat_cases(), seed=seeds)
def test_cat(case, seed):
    pieces, dim = case
    arrays = [normal(seed + i, p) for i, p in enumerate(pieces)]
    check(lambda *ts: F.cat(ts, dim), lambda *ts: torch.cat(ts, dim), arrays)


@given(shape=shapes(0, 3, max_side=3), count=st.integers(1, 3), seed=seeds, data=st.data())
def test_stack(shape, count, seed, data):
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    arrays = [normal(seed + i, shape) for i in range(count)]
    check(lambda *ts: F.stack(ts, dim), lambda *ts: torch.stack(ts, dim), arrays)


@given(shape=shapes(1, 3, max_side=5), seed=seeds, data=st.data())
def test_split_by_size_and_sections(shape, seed, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    x = normal(seed, shape)
    size = data.draw(st.integers(1, 6))
    check(lambda t: F.split(t, size, axis), lambda t: torch.split(t, size, axis), [x])
    cuts = sorted(data.draw(st.lists(st.integers(0, shape[axis]), max_size=3)))
    sections = [b - a for a, b in zip([0] + cuts, cuts + [shape[axis]])]
    check(lambda t: t.split(sections, axis), lambda t: t.split(sections, axis), [x])


@given(shape=shapes(1, 3, max_side=5), chunks=st.integers(1, 6), seed=seeds, data=st.data())
def test_chunk(shape, chunks, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    check(lambda t: F.chunk(t, chunks, dim), lambda t: torch.chunk(t, chunks, dim),
          [normal(seed, shape)])


def test_split_of_an_empty_dim_like_torch():
    x = np.zeros((0, 2), np.float32)
    compare_with_torch(lambda t: F.split(t, 2), lambda t: torch.split(t, 2), [x])
    compare_with_torch(lambda t: F.chunk(t, 3), lambda t: torch.chunk(t, 3), [x])


# ------------------------------------------------------------------ pad
@st.composite
def pad_cases(draw):
    shape = draw(shapes(1, 4, max_side=3))
    pairs = draw(st.integers(1, len(shape)))
    pad = []
    for k in range(pairs):  # pairs run from the last dim backwards
        n = shape[len(shape) - 1 - k]
        before = draw(st.integers(-n, 2))  # negative widths crop, at most the whole dim
        after = draw(st.integers(-(n + min(before, 0)), 2))
        pad += [before, after]
    return shape, tuple(pad), draw(st.sampled_from([0.0, -1.5]))


@given(case=pad_cases(), seed=seeds)
def test_pad_constant(case, seed):
    shape, pad, value = case
    check(lambda t: F.pad(t, pad, value=value),
          lambda t: torch.nn.functional.pad(t, pad, value=value), [normal(seed, shape)])


def test_pad_ordering_is_last_dim_first():
    """(1, 2, 3, 0) pads the last dim by 1 before / 2 after and the one before it by 3 before."""
    y = F.pad(mc.ones(2, 2), (1, 2, 3, 0))
    assert y.shape == (5, 5)
    assert y.numpy()[3:, 1:3].sum() == 4 and y.numpy().sum() == 4


# ------------------------------------------------------------------ indexing
INDEXES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, None),
    "step slice": (slice(None), slice(None, None, 2)),
    "ellipsis and None": (Ellipsis, None, 1),
    "int array with repeats": ([0, 2, 0, 0],),
    "negative int array": ([-1, -3, -1],),
    "two int arrays": ([0, 2, 2], [1, 1, 3]),
    "array and slice": (slice(None), [3, 0, 3]),
    "2-D int array": (np.array([[0, 1], [1, 0]]),),
    "bool mask of all dims": (np.array([[True, False, True, True], [False] * 4,
                                        [True, True, False, False]]),),
    "bool mask of the first dim": (np.array([True, False, True]),),
    "bool mask of the last dim": (slice(None), np.array([False, True, True, False])),
}


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_indexing_gradcheck_and_torch(name):
    index = INDEXES[name]
    torch_index = tuple(torch.tensor(p) if isinstance(p, (np.ndarray, list)) else p
                        for p in index) if isinstance(index, tuple) else index
    x = normal(0, (3, 4))
    check(lambda t: t[index], lambda t: t[torch_index], [x], INDEX)


@given(shape=shapes(1, 3, max_side=4), seed=seeds, data=st.data())
def test_integer_array_index_accumulates_repeats(shape, seed, data):
    """Against a count derived independently: each input row gets g times the number of
    times it was picked."""
    picks = data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6))
    t = leaf64(normal(seed, shape))
    upstream = normal(seed + 1, (len(picks),) + shape[1:])
    t[picks].backward(upstream)
    expected = np.zeros(shape)
    for k, row in enumerate(picks):
        expected[row] += upstream[k]
    np.testing.assert_allclose(t.grad, expected, rtol=1e-12)
    assert gradcheck(lambda a: a[picks], [leaf64(normal(seed, shape))])


@given(shape=shapes(1, 3, max_side=4), seed=seeds)
def test_boolean_mask_index(shape, seed):
    rng = np.random.default_rng(seed)
    x, mask = normal(seed, shape), rng.random(shape) < 0.5
    inputs = [leaf64(x), mc.tensor(mask)]
    assert gradcheck(lambda a, m: a[m], inputs)
    compare_with_torch(lambda a, m: a[m], lambda a, m: a[m], [x.astype(np.float32), mask],
                       **INDEX)


def test_negative_step_slice():
    """PyTorch has no negative steps; the reference is NumPy's own slicing."""
    x = normal(0, (3, 4))
    assert gradcheck(lambda t: t[::-1, 1::-2], [leaf64(x)])
    np.testing.assert_array_equal(mc.tensor(x)[::-1, 1::-2].numpy(), x[::-1, 1::-2])


def test_index_with_tensor_indices():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    compare_with_torch(lambda t: t[mc.tensor([2, 0, 2])], lambda t: t[torch.tensor([2, 0, 2])],
                       [x], **INDEX)


# ------------------------------------------------------------------ float64 kept
def test_float64_stays_float64_through_every_shape_op():
    x = mc.tensor(np.ones((2, 3)), requires_grad=True)
    outs = [x.reshape(3, 2), x.flatten(), x.T, x.permute(1, 0), x.unsqueeze(0).squeeze(0),
            F.cat([x, x]), F.stack([x, x]), F.pad(x, (1, 1)), x[:, [0, 0]], x[x > 0]]
    outs += list(x.split(1)) + list(x.chunk(2, 1))
    for y in outs:
        assert y.dtype == np.float64
        y.sum().backward()
    assert x.grad.dtype == np.float64


# ------------------------------------------------------------------ bad input
def test_reshape_wrong_element_count():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\) "
                                         r"\(6 elements\) into shape \(4,\) \(4 elements\)"):
        F.reshape(mc.ones(2, 3), (4,))
    with pytest.raises(ValueError, match=r"into shape \(-1, 4\)"):
        mc.ones(2, 3).view(-1, 4)
    with pytest.raises(ValueError, match="at most one -1"):
        mc.ones(2, 3).reshape(-1, -1)
    with pytest.raises(TypeError, match=r"reshape: shape must be a tuple of ints, got \(2.5, 2\)"):
        mc.ones(5).reshape(2.5, 2)  # never truncated to 2


def test_cat_stack_bad_input():
    with pytest.raises(ValueError, match=r"cat: tensors\[1\] has shape \(2, 4\), incompatible "
                                         r"with tensors\[0\]'s \(2, 3\).*dim=0"):
        F.cat([mc.ones(2, 3), mc.ones(2, 4)])
    with pytest.raises(TypeError, match=r"cat: tensors\[1\] has dtype float64, but tensors\[0\] "
                                        r"has float32"):
        F.cat([mc.ones(2), mc.ones(2, dtype=mc.float64)])
    with pytest.raises(ValueError, match="cat: tensors must be a non-empty sequence"):
        F.cat([])
    with pytest.raises(ValueError, match=r"cat: tensors\[0\] is zero-dimensional"):
        F.cat([mc.tensor(1.0), mc.tensor(2.0)])
    with pytest.raises(IndexError, match="cat: dim=2 is out of range"):
        F.cat([mc.ones(2, 3)], 2)
    with pytest.raises(ValueError, match=r"stack: tensors\[1\] has shape \(3,\), but tensors\[0\] "
                                         r"has \(2,\)"):
        F.stack([mc.ones(2), mc.ones(3)])


def test_permute_transpose_bad_dims():
    with pytest.raises(ValueError, match=r"permute: dims must be a permutation of 0..1, "
                                         r"got \(0, 0\)"):
        F.permute(mc.ones(2, 3), (0, 0))
    with pytest.raises(IndexError, match="transpose: dim1=2 is out of range for a 2-D tensor"):
        F.transpose(mc.ones(2, 3), 0, 2)
    with pytest.raises(IndexError, match="unsqueeze: dim=3 is out of range"):
        F.unsqueeze(mc.ones(2, 3), 3)
    with pytest.raises(IndexError, match="squeeze: dim=-3 is out of range"):
        F.squeeze(mc.ones(2, 3), -3)
    with pytest.raises(ValueError, match=r"flatten: start_dim \(1\) must not come after "
                                         r"end_dim \(0\)"):
        F.flatten(mc.ones(2, 3, 4), 1, 0)


def test_split_chunk_bad_input():
    with pytest.raises(ValueError, match=r"split: split_size_or_sections \[1, 1\] sum to 2, but "
                                         r"dim 0 has size 3"):
        F.split(mc.ones(3), [1, 1])
    with pytest.raises(ValueError, match="split: split_size_or_sections must be >= 1, got 0"):
        F.split(mc.ones(3), 0)
    with pytest.raises(ValueError, match="chunk: chunks must be >= 1, got 0"):
        F.chunk(mc.ones(3), 0)


def test_pad_bad_input():
    with pytest.raises(ValueError, match=r"pad: pad must hold an even number of "
                                         r"entries.*got \(1,\)"):
        F.pad(mc.ones(2, 2), (1,))
    with pytest.raises(ValueError, match=r"at most 2 per dimension \(2 for this 1-D input\)"):
        F.pad(mc.ones(2), (1, 1, 1, 1))
    with pytest.raises(ValueError, match="pad: mode must be one of"):
        F.pad(mc.ones(2), (1, 1), mode="edge")
    with pytest.raises(ValueError, match=r"pad: pad \(-2, -1\) crops 3 from dim 0, which has "
                                         r"size 2"):
        F.pad(mc.ones(2), (-2, -1))
    with pytest.raises(ValueError, match=r"pad: pad \(1, -3\) crops 3 from dim 0, which has "
                                         r"size 2"):
        F.pad(mc.ones(2), (1, -3))  # PyTorch crops before it pads
    with pytest.raises(TypeError, match=r"pad: pad must be a tuple of ints, got \(1.5, 1\)"):
        F.pad(mc.ones(2), (1.5, 1))


def test_index_out_of_range():
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        mc.ones(3)[[0, 3]]
