"""Tensor: construction and dtype rules (against torch.tensor), attributes,
factories and the seedable RNG, Python operators, indexing with gradient."""
import numpy as np
import pytest
import torch

import minicnn as mc
from minicnn.testing import compare_with_torch

EXACT = dict(atol=0.0, rtol=0.0)


def torch_dtype_name(t):
    return str(t.dtype).replace("torch.", "")


# ------------------------------------------------------------------ construction
DATA = {
    "python float": 1.5,
    "python int": 3,
    "python bool": True,
    "list of floats": [1.0, 2.5],
    "list of ints": [1, 2],
    "mixed ints and floats": [1, 2.5],
    "nested lists": [[1.0, 2.0], [3.0, 4.0]],
    "list of bools": [True, False],
    "float64 array": np.array([1.0, 2.0]),
    "float32 array": np.array([1.0, 2.0], np.float32),
    "int32 array": np.array([1, 2], np.int32),
    "float64 numpy scalar": np.float64(1.5),
    "float32 numpy scalar": np.float32(1.5),
    "empty list": [],
}


@pytest.mark.parametrize("name", sorted(DATA))
def test_tensor_dtype_and_values_follow_torch_tensor(name):
    """Python floats -> float32, ints -> int64, arrays keep their dtype (float64 stays)."""
    data = DATA[name]
    ours, theirs = mc.tensor(data), torch.tensor(data)
    assert ours.dtype.name == torch_dtype_name(theirs)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert isinstance(ours.data, np.ndarray)


@pytest.mark.parametrize("dtype", [mc.float64, mc.float32, mc.int64, "float64"])
def test_explicit_dtype(dtype):
    t = mc.tensor([1.0, 2.0], dtype=dtype)
    assert t.dtype == np.dtype(dtype)


def test_python_floats_become_float64_exactly_when_asked():
    """Converted straight to float64, never through float32 (no precision lost)."""
    assert mc.tensor(0.1, dtype=mc.float64).item() == 0.1


def test_tensor_copies_its_data():
    source = np.ones(3)
    t = mc.tensor(source)
    source[0] = 5.0
    assert t.numpy()[0] == 1.0
    shared = mc.from_numpy(source)
    source[1] = 7.0
    assert shared.numpy()[1] == 7.0  # from_numpy shares memory, as in PyTorch


def test_requires_grad_on_an_integer_tensor_is_an_error():
    with pytest.raises(TypeError, match="requires_grad: only floating-point tensors can require "
                                        "gradients, this one has dtype int64"):
        mc.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="int64"):
        mc.zeros(2, dtype=mc.int64, requires_grad=True)
    with pytest.raises(TypeError, match="int64"):
        mc.arange(3, requires_grad=True)


def test_non_numeric_data_is_an_error():
    with pytest.raises(TypeError, match="tensor: cannot build a tensor"):
        mc.tensor(["a", "b"])
    with pytest.raises(OverflowError, match="int64"):
        mc.tensor([2 ** 63])


# ------------------------------------------------------------------ attributes
def test_shape_dtype_ndim_size_numel():
    t = mc.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3 and t.dtype == np.float32
    assert t.size == 24 and t.numel() == 24  # the element count, as NumPy's .size
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4  # called: like torch
    assert len(t) == 2


def test_item_numpy_detach_tolist():
    t = mc.tensor([[2.5]], requires_grad=True)
    assert t.item() == 2.5 and isinstance(t.item(), float)
    assert isinstance(t.numpy(), np.ndarray) and t.tolist() == [[2.5]]
    d = t.detach()
    assert not d.requires_grad and d.grad_fn is None and d.data is t.data  # shares data
    assert float(t) == 2.5 and int(mc.tensor(3)) == 3
    with pytest.raises(ValueError, match=r"item: only a one-element tensor.*shape \(2,\)"):
        mc.ones(2).item()


def test_len_of_zero_dim_tensor():
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(mc.tensor(1.0))


def test_repr_names_grad_state():
    assert "requires_grad=True" in repr(mc.ones(2, requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(mc.ones(2, requires_grad=True) * 2)
    assert "dtype=float64" in repr(mc.ones(2, dtype=mc.float64))


# ------------------------------------------------------------------ factories
@pytest.mark.parametrize("factory", ["zeros", "ones", "empty", "randn", "rand"])
def test_factories_shapes_and_dtypes(factory):
    make = getattr(mc, factory)
    assert make(2, 3).shape == (2, 3) and make((2, 3)).shape == (2, 3)
    assert make(2, 3).dtype == np.float32
    assert make(4, dtype=mc.float64).dtype == np.float64
    assert make(()).shape == () and make(0, 2).shape == (0, 2)
    assert make(2, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match=f"{factory}: size must be non-negative ints"):
        make(-1)


def test_zeros_ones_full_arange_values_match_torch():
    np.testing.assert_array_equal(mc.zeros(2, 2).numpy(), np.zeros((2, 2)))
    np.testing.assert_array_equal(mc.ones(3).numpy(), np.ones(3))
    for args in [((2, 3), 1.5), ((2,), 7), ((2,), True)]:
        ours, theirs = mc.full(*args), torch.full(*args)
        assert ours.dtype.name == torch_dtype_name(theirs)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for args in [(5,), (1, 7, 2), (0.0, 1.0, 0.25), (3, 0, -1)]:
        ours, theirs = mc.arange(*args), torch.arange(*args)
        assert ours.dtype.name == torch_dtype_name(theirs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_manual_seed_makes_randn_and_rand_repeatable():
    mc.manual_seed(123)
    first = (mc.randn(3, 4).numpy(), mc.rand(5).numpy(), mc.randn(2, dtype=mc.float64).numpy())
    mc.manual_seed(123)
    second = (mc.randn(3, 4).numpy(), mc.rand(5).numpy(), mc.randn(2, dtype=mc.float64).numpy())
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    mc.manual_seed(124)
    assert not np.array_equal(mc.randn(3, 4).numpy(), first[0])


def test_rng_state_round_trip():
    state = mc.get_rng_state()
    a = mc.randn(4).numpy()
    mc.set_rng_state(state)
    np.testing.assert_array_equal(mc.randn(4).numpy(), a)


def test_random_distributions_are_plausible():
    mc.manual_seed(0)
    u = mc.rand(100_000).numpy()
    n = mc.randn(100_000).numpy()
    assert 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(n.mean()) < 0.02 and abs(n.std() - 1) < 0.02


def test_random_factories_need_a_float_dtype():
    with pytest.raises(TypeError, match="randn: dtype must be float32 or float64, got int64"):
        mc.randn(2, dtype=mc.int64)
    with pytest.raises(ValueError, match="manual_seed: seed must be a non-negative int"):
        mc.manual_seed(-1)


def test_default_dtype_switch():
    try:
        mc.set_default_dtype(mc.float64)
        assert mc.tensor(1.5).dtype == np.float64 and mc.zeros(2).dtype == np.float64
    finally:
        mc.set_default_dtype(mc.float32)
    with pytest.raises(TypeError, match="set_default_dtype: dtype must be float32 or float64"):
        mc.set_default_dtype(mc.int64)


# ------------------------------------------------------------------ Python operators
OPERATORS = {
    "a + b": lambda a, b: a + b,
    "a - b": lambda a, b: a - b,
    "a * b": lambda a, b: a * b,
    "a / b": lambda a, b: a / b,
    "a ** 2 + b": lambda a, b: a ** 2 + b,
    "abs(a) ** b": lambda a, b: abs(a) ** b,
    "-a * b": lambda a, b: -a * b,
    "a @ b.T": lambda a, b: a @ b.T,
    "+a - b": lambda a, b: +a - b,
}


@pytest.mark.parametrize("expression", sorted(OPERATORS))
def test_python_operators_match_torch(expression):
    """Same values and same gradients as PyTorch (float32; tolerance: a few roundings)."""
    fn = OPERATORS[expression]
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.5, 2, (3, 4)).astype(np.float32), rng.uniform(0.5, 2, (3, 4)).astype(
        np.float32)
    compare_with_torch(fn, fn, [a, b], atol=1e-5, rtol=1e-5)


def test_reflected_operators_with_arrays_and_numbers():
    t = mc.tensor([1.0, 2.0])
    assert isinstance(np.float32(2) * t, mc.Tensor)
    assert isinstance(np.ones(2, np.float32) + t, mc.Tensor)  # not NumPy's elementwise loop
    np.testing.assert_allclose((3 - t).numpy(), [2, 1])
    np.testing.assert_allclose((2 / t).numpy(), [2, 1])
    np.testing.assert_allclose((2 ** t).numpy(), [2, 4])


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_comparisons_give_bool_tensors_without_grad(op):
    a = mc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    result = eval(f"a {op} 2.0")
    expected = eval(f"np.array([1.0, 2.0, 3.0]) {op} 2.0")
    assert result.dtype == np.bool_ and not result.requires_grad and result.grad_fn is None
    np.testing.assert_array_equal(result.numpy(), expected)
    np.testing.assert_array_equal(eval(f"a {op} mc.tensor([2.0, 2.0, 2.0])").numpy(), expected)


def test_setitem():
    t = mc.zeros(3)
    t[1] = 5.0
    assert t.numpy().tolist() == [0.0, 5.0, 0.0]
    leaf = mc.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="__setitem__: in-place assignment into a tensor that "
                                           "requires grad"):
        leaf[0] = 1.0
    with mc.no_grad():
        leaf[0] = 1.0
    assert leaf.numpy()[0] == 1.0


# ------------------------------------------------------------------ indexing with gradient
INDEXES = {
    "basic slice": lambda t: t[1:, ::2],
    "int and negative int": lambda t: t[-1, 1],
    "ellipsis and None": lambda t: t[..., None, 0],
    "int array with repeats": lambda t: t[[0, 2, 0, 0]],
    "negative int arrays": lambda t: t[[-1, -1], [-2, 0]],
    "boolean mask": lambda t: t[t > 0],
}


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_indexing_matches_torch(name):
    """Values exact; gradients exact except where repeats add terms (1e-6)."""
    x = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    compare_with_torch(INDEXES[name], INDEXES[name], [x], atol=1e-6, rtol=1e-6)


def test_integer_array_repeats_accumulate():
    t = mc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    t[[0, 0, 2, 0]].backward(np.array([1.0, 2.0, 3.0, 4.0], np.float32))
    assert t.grad.tolist() == [7.0, 0.0, 3.0]  # 1 + 2 + 4 at index 0


def test_iteration_yields_rows_with_gradient():
    t = mc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    total = None
    for k, row in enumerate(t):
        total = row.sum() * (k + 1) if total is None else total + row.sum() * (k + 1)
    total.backward()
    assert t.grad.tolist() == [[1.0, 1.0], [2.0, 2.0]]


# ------------------------------------------------------------------ dtype conversions
def test_casts_and_their_gradients():
    x = mc.tensor([1.5, 2.5], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 5.0]
    as_int = x.long()
    assert as_int.dtype == np.int64 and not as_int.requires_grad  # an integer ends the graph
    assert x.float() is x


def test_clone_is_a_copy_in_the_graph():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    assert y.data is not x.data and y.grad_fn is not None
    (y * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
