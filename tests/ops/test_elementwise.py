"""Elementwise operators: float64 gradient checks over drawn (broadcast) shapes,
float32 parity with PyTorch, the conventions at kinks and ties, bad input.

Tolerance for the float32 parity (FLOAT32): float32's unit roundoff is 6e-8.
add/sub/mul/div/sqrt are correctly rounded in both engines, exp/log/pow come
from different libms (a few ulp apart), and the gradient of a broadcast operand
is a sum of up to 4^3 = 64 O(1) terms added in a different order (NumPy's
pairwise vs PyTorch's vectorised sum): about 64 * 1.2e-7 = 8e-6 at most. So
atol = rtol = 1e-5; a wrong formula is off by O(1).
"""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import functional as F
from minicnn.testing import compare_with_torch, gradcheck
from minicnn.testing.strategies import (away_from, broadcast_pairs, broadcastable_to, seeds,
                                        shapes)

FLOAT32 = dict(atol=1e-5, rtol=1e-5)


def leaf64(array):
    return mc.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def _gradcheck_float64(fn, arrays):
    """gradcheck in float64, and the output and every gradient stay float64."""
    inputs = [leaf64(a) for a in arrays]
    out = fn(*inputs)
    assert out.dtype == np.float64
    out.backward(np.ones(out.shape))
    assert all(t.grad.dtype == np.float64 and t.grad.shape == t.shape for t in inputs)
    assert gradcheck(fn, inputs)


# ------------------------------------------------------------------ binary ops
# (minicnn op, torch op, value maker for a, value maker for b)
def _normal(rng, shape):
    return rng.standard_normal(shape)


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def _exponent(rng, shape):
    return rng.uniform(-2.0, 2.0, shape)


BINARY = {
    "add": (F.add, torch.add, _normal, _normal),
    "sub": (F.sub, torch.sub, _normal, _normal),
    "mul": (F.mul, torch.mul, _normal, _normal),
    "div": (F.div, torch.div, _normal, away_from),  # |b| >= 0.2: 1/b stays moderate
    "pow": (F.pow, torch.pow, _positive, _exponent),  # a > 0: a**b real, ln a finite
    # Normal draws tie with probability 0; ties are tested on their own below.
    "maximum": (F.maximum, torch.maximum, _normal, _normal),
    "minimum": (F.minimum, torch.minimum, _normal, _normal),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=broadcast_pairs(), seed=seeds)
def test_binary_gradcheck_float64(name, pair, seed):
    fn, _, make_a, make_b = BINARY[name]
    rng = np.random.default_rng(seed)
    _gradcheck_float64(fn, [make_a(rng, pair[0]), make_b(rng, pair[1])])


@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=broadcast_pairs(), seed=seeds)
def test_binary_matches_torch_float32(name, pair, seed):
    fn, torch_fn, make_a, make_b = BINARY[name]
    rng = np.random.default_rng(seed)
    arrays = [make_a(rng, pair[0]).astype(np.float32), make_b(rng, pair[1]).astype(np.float32)]
    compare_with_torch(fn, torch_fn, arrays, seed=seed % 1000, **FLOAT32)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_python_operators_dispatch(name):
    """``a + b`` etc. are the functional ops (same values, same gradients)."""
    operator = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b,
                "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
                "pow": lambda a, b: a ** b, "maximum": lambda a, b: a.maximum(b),
                "minimum": lambda a, b: a.minimum(b)}[name]
    _, torch_fn, make_a, make_b = BINARY[name]
    rng = np.random.default_rng(1)
    arrays = [make_a(rng, (2, 3)).astype(np.float32), make_b(rng, (3,)).astype(np.float32)]
    compare_with_torch(operator, torch_fn, arrays, **FLOAT32)


NUMBER_OPS = {
    "x + 2.5": (lambda x: x + 2.5, lambda x: x + 2.5),
    "2.5 + x": (lambda x: 2.5 + x, lambda x: 2.5 + x),
    "x - 2": (lambda x: x - 2, lambda x: x - 2),
    "2 - x": (lambda x: 2 - x, lambda x: 2 - x),
    "x * -3": (lambda x: x * -3, lambda x: x * -3),
    "1.5 * x": (lambda x: 1.5 * x, lambda x: 1.5 * x),
    "x / 4": (lambda x: x / 4, lambda x: x / 4),
    "2 / x": (lambda x: 2 / x, lambda x: 2 / x),
    "x ** 2": (lambda x: x ** 2, lambda x: x ** 2),
    "x ** 3": (lambda x: x ** 3, lambda x: x ** 3),
    "x ** -1.5": (lambda x: abs(x) ** -1.5, lambda x: abs(x) ** -1.5),
    "x ** 0.5": (lambda x: abs(x) ** 0.5, lambda x: abs(x) ** 0.5),
    "2 ** x": (lambda x: 2 ** x, lambda x: 2 ** x),
    "0.5 ** x": (lambda x: 0.5 ** x, lambda x: 0.5 ** x),
    "-x": (lambda x: -x, lambda x: -x),
}


@pytest.mark.parametrize("expression", sorted(NUMBER_OPS))
@given(shape=shapes(), seed=seeds)
def test_tensor_number_ops(expression, shape, seed):
    """A number operand keeps the tensor's dtype (float64 here, float32 against torch)."""
    fn, torch_fn = NUMBER_OPS[expression]
    x = away_from(np.random.default_rng(seed), shape)  # |x| >= 0.2: 2/x, |x|**-1.5 moderate
    _gradcheck_float64(fn, [x])
    compare_with_torch(fn, torch_fn, [x.astype(np.float32)], **FLOAT32)


def test_pow_tensor_tensor_same_tensor():
    """x ** x uses both gradient formulas on one input: d/dx x^x = x^x (ln x + 1)."""
    x = np.array([0.5, 1.0, 1.7, 2.2])
    t = leaf64(x)
    (t ** t).backward(np.ones(4))
    np.testing.assert_allclose(t.grad, x ** x * (np.log(x) + 1), rtol=1e-12)


def test_pow_conventions_at_zero_match_torch():
    """0 ** 0 = 1 is constant in both operands; PyTorch's gradients there are 0, not nan."""
    base = np.array([0.0, 0.0, 0.0, 2.0, -2.0], dtype=np.float32)
    exponent = np.array([0.0, 1.0, 2.0, 0.0, 2.0], dtype=np.float32)
    compare_with_torch(F.pow, torch.pow, [base, exponent], **FLOAT32)
    compare_with_torch(lambda x: x ** 0, lambda x: x ** 0, [base], **FLOAT32)


# ------------------------------------------------------------------ unary ops
def _clamp_values(rng, shape):
    # Grid k/10 + 0.05 (+-0.02 jitter): never within 0.03 of a bound on the 0.1 grid.
    return np.asarray((rng.integers(-20, 20, shape) + 0.5) * 0.1 + rng.uniform(-0.02, 0.02, shape))


UNARY = {
    "neg": (F.neg, torch.neg, _normal),
    "exp": (F.exp, torch.exp, _normal),
    "log": (F.log, torch.log, _positive),
    "sqrt": (F.sqrt, torch.sqrt, _positive),
    "abs": (F.abs, torch.abs, away_from),  # clear of the kink at 0
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes(), seed=seeds)
def test_unary_gradcheck_float64(name, shape, seed):
    fn, _, make = UNARY[name]
    _gradcheck_float64(fn, [make(np.random.default_rng(seed), shape)])


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes(), seed=seeds)
def test_unary_matches_torch_float32(name, shape, seed):
    fn, torch_fn, make = UNARY[name]
    x = make(np.random.default_rng(seed), shape).astype(np.float32)
    compare_with_torch(fn, torch_fn, [x], seed=seed % 1000, **FLOAT32)


BOUNDS = st.sampled_from([(None, 0.5), (-0.5, None), (-1.0, 1.0), (0.3, 0.3), (1.0, -1.0)])


@given(shape=shapes(), bounds=BOUNDS, seed=seeds)
def test_clamp_gradcheck_and_torch(shape, bounds, seed):
    lo, hi = bounds
    x = _clamp_values(np.random.default_rng(seed), shape)
    _gradcheck_float64(lambda t: F.clamp(t, lo, hi), [x])
    compare_with_torch(lambda t: t.clamp(lo, hi), lambda t: torch.clamp(t, lo, hi),
                       [x.astype(np.float32)], **FLOAT32)


def test_clamp_bounds_are_inclusive_like_torch():
    """At x == min or x == max the gradient passes (PyTorch's convention)."""
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0], dtype=np.float32)
    compare_with_torch(lambda t: F.clamp(t, -0.5, 0.5), lambda t: torch.clamp(t, -0.5, 0.5),
                       [x], **FLOAT32)
    t = mc.tensor(x, requires_grad=True)
    F.clamp(t, -0.5, 0.5).backward(np.ones(5, np.float32))
    np.testing.assert_array_equal(t.grad, [0, 1, 1, 1, 0])


def test_abs_gradient_at_zero_is_zero_like_torch():
    x = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    compare_with_torch(F.abs, torch.abs, [x], **FLOAT32)


@pytest.mark.parametrize("fn,torch_fn", [(F.maximum, torch.maximum), (F.minimum, torch.minimum)])
def test_maximum_minimum_ties_split_the_gradient_like_torch(fn, torch_fn):
    a = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], dtype=np.float32)
    b = np.array([1.0, 0.0, 3.0], dtype=np.float32)  # ties at columns 0 and 2 of row 0
    compare_with_torch(fn, torch_fn, [a, b], **FLOAT32)
    ta, tb = mc.tensor(a, requires_grad=True), mc.tensor(b, requires_grad=True)
    fn(ta, tb).backward(np.ones((2, 3), np.float32))
    assert ta.grad[0, 0] == ta.grad[0, 2] == 0.5  # half each at a tie
    assert ta.grad.dtype == np.float32 and tb.grad.dtype == np.float32


@st.composite
def _where_shapes(draw):
    full = draw(shapes(max_dims=3))
    return full, draw(broadcastable_to(full)), draw(broadcastable_to(full))


@given(shapes3=_where_shapes(), seed=seeds, order=st.permutations([0, 1, 2]))
def test_where_gradcheck_and_torch(shapes3, seed, order):
    rng = np.random.default_rng(seed)
    cond_shape, a_shape, b_shape = (shapes3[i] for i in order)  # any of the three is largest
    cond = rng.random(cond_shape) < 0.5
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    inputs = [mc.tensor(cond), leaf64(a), leaf64(b)]
    assert gradcheck(F.where, inputs)
    compare_with_torch(F.where, torch.where, [cond, a.astype(np.float32), b.astype(np.float32)],
                       grad_inputs=[1, 2], **FLOAT32)


def test_where_with_number_operand():
    x = np.array([-1.0, 2.0, -3.0], dtype=np.float32)
    compare_with_torch(lambda t: F.where(t > 0, t, 0.0), lambda t: torch.where(t > 0, t, 0.0),
                       [x], **FLOAT32)


def test_float64_stays_float64_through_every_elementwise_op():
    x = mc.tensor(np.array([0.5, 1.5]), requires_grad=True)
    results = [x + 1, 1 - x, x * 2, 2 / x, x ** 2, 2 ** x, -x, x.exp(), x.log(), x.sqrt(),
               x.abs(), x.clamp(0.6, 1.0), F.maximum(x, mc.tensor(1.0, dtype=mc.float64)),
               F.minimum(x, mc.tensor(1.0, dtype=mc.float64)),
               F.where(x > 1, x, 0.0), x + np.float64(1)]
    for y in results:
        assert y.dtype == np.float64
        y.sum().backward()
    assert x.grad.dtype == np.float64


# ------------------------------------------------------------------ dtype promotion
PROMOTIONS = {
    "int * float": (lambda a: a * 0.5, np.arange(3)),
    "int / int": (lambda a: a / 2, np.arange(3)),
    "int ** float": (lambda a: a ** 0.5, np.arange(3)),
    "int * int": (lambda a: a * 2, np.arange(3)),
    "bool + int": (lambda a: a + 1, np.array([True, False])),
    "int + float tensor": (lambda a: a + a.float(), np.arange(3)),
    "clamp int float bound": (lambda a: a.clamp(0.5, 1.5), np.arange(3)),
}


@pytest.mark.parametrize("case", sorted(PROMOTIONS))
def test_integer_promotion_matches_torch(case):
    """NumPy would give float64 for int64 with a float32; PyTorch (and minicnn) give float32."""
    fn, data = PROMOTIONS[case]
    ours, theirs = fn(mc.tensor(data)), fn(torch.tensor(data))
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("name", sorted(BINARY))
def test_mixing_float32_and_float64_names_both(name):
    fn = BINARY[name][0]
    a = mc.tensor(np.ones(3, np.float32), requires_grad=True)
    b = mc.tensor(np.ones(3, np.float64))
    with pytest.raises(TypeError, match="float32.*float64"):
        fn(a, b)
    with pytest.raises(TypeError, match="float64.*float32"):
        fn(b, a)


def test_float64_array_operand_is_not_silently_cast():
    with pytest.raises(TypeError, match="float32.*float64"):
        mc.ones(3) + np.ones(3)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_shapes_that_do_not_broadcast(name):
    fn = BINARY[name][0]
    with pytest.raises(ValueError, match=rf"{name}: shapes \(2, 3\) and \(4,\) do not broadcast"):
        fn(mc.ones(2, 3), mc.ones(4))


@pytest.mark.parametrize("name", ["exp", "log", "sqrt"])
def test_integer_input_to_float_op(name):
    with pytest.raises(TypeError, match=f"{name}: input must be a floating-point.*int64"):
        getattr(F, name)(mc.tensor([1, 2]))


@pytest.mark.parametrize("name", ["neg", "abs", "exp"])
def test_non_tensor_input(name):
    with pytest.raises(TypeError, match=f"{name}: input must be a Tensor, got ndarray"):
        getattr(F, name)(np.ones(2))


def test_operands_must_be_numbers_or_tensors():
    with pytest.raises(TypeError, match="add: operands must be Tensors, arrays or real numbers"):
        mc.ones(2) + [1.0, 2.0]
    with pytest.raises(TypeError, match="mul: operands must be Tensors, arrays or real numbers"):
        F.mul("2", 3)


def test_two_numbers_give_a_0d_tensor_like_torch():
    """torch.add(2.0, 3) is a 0-d tensor of the default float dtype; ints stay int64."""
    for ours, theirs in ((F.add(2.0, 3), torch.add(2.0, 3)), (F.mul(2, 3), torch.mul(2, 3)),
                         (F.div(7, 2, rounding_mode="floor"), torch.div(7, 2, rounding_mode="floor"))):
        assert ours.shape == tuple(theirs.shape) == ()
        assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
        assert ours.item() == theirs.item()


def test_clamp_bad_bounds():
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        F.clamp(mc.ones(2))
    with pytest.raises(TypeError, match="clamp: min must be a number, a Tensor or None"):
        F.clamp(mc.ones(2), min="0")
    with pytest.raises(ValueError, match="clamp: shapes"):
        F.clamp(mc.ones(2), max=mc.zeros(3))


def test_clamp_min_above_max_gives_max_like_torch():
    x = np.array([-2.0, 0.0, 2.0], dtype=np.float32)
    compare_with_torch(lambda t: t.clamp(1.0, -1.0), lambda t: t.clamp(1.0, -1.0), [x], **FLOAT32)


def test_where_condition_must_be_bool():
    with pytest.raises(TypeError, match="where: condition must be a bool tensor, got float32"):
        F.where(mc.ones(2), mc.ones(2), mc.zeros(2))
    with pytest.raises(ValueError, match=r"where: shapes \(3,\) and \(2,\) and \(2,\)"):
        F.where(mc.tensor([True, False, True]), mc.ones(2), mc.zeros(2))
