"""Activations and softmax: gradients, PyTorch parity (kinks included), identities, bad input.

Tolerances. float64 gradchecks use the harness defaults (atol 1e-5, rtol 1e-4;
see ``minicnn.testing.gradcheck``). float32 parity with PyTorch uses atol 1e-6,
rtol 1e-5: each output is one or a few float32 operations of O(1) values
(rounding ~1e-7), while a wrong formula or a wrong kink convention is off by
at least 1/6 of the upstream gradient.
"""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.ops import activation
from minicnn.testing import compare_with_torch, gradcheck

ATOL, RTOL = 1e-6, 1e-5
seeds = st.integers(0, 2**32 - 1)
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)

# name -> (minicnn fn, torch fn, kinks); parameters are drawn by `_params_strategy`.
ELEMENTWISE = {
    "relu": (F.relu, TF.relu, (0.0,)),
    "relu6": (F.relu6, TF.relu6, (0.0, 6.0)),
    "leaky_relu": (F.leaky_relu, TF.leaky_relu, (0.0,)),
    "elu": (F.elu, TF.elu, (0.0,)),
    "sigmoid": (F.sigmoid, torch.sigmoid, ()),
    "tanh": (F.tanh, torch.tanh, ()),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, (-3.0, 3.0)),
    "hardswish": (F.hardswish, TF.hardswish, (-3.0, 3.0)),
    "silu": (F.silu, TF.silu, ()),
    "gelu": (F.gelu, TF.gelu, ()),
}
# Exactly the kinks, their float32 neighbours, and points on every piece.
KINK_VALUES = np.array([-7, -4, -3, np.nextafter(-3, 0), np.nextafter(-3, -4), -2.5, -1, -1e-3, 0,
                        1e-3, 1, 2.5, np.nextafter(3, 0), 3, np.nextafter(3, 4), 4, 5.5,
                        np.nextafter(6, 0), 6, np.nextafter(6, 7), 7], dtype=np.float32)


def _params_strategy(name):
    if name == "leaky_relu":
        return st.fixed_dictionaries({"negative_slope": st.sampled_from([0.01, 0.2, -0.5, 1.5])})
    if name == "elu":
        return st.fixed_dictionaries({"alpha": st.sampled_from([1.0, 0.5, 2.0])})
    if name == "gelu":
        return st.fixed_dictionaries({"approximate": st.sampled_from(["none", "tanh"])})
    return st.just({})


def away_from_kinks(values, kinks, margin=1e-2):
    """Move values within ``margin`` of a kink to ``kink +- margin``: central differences
    (step 1e-6) then never straddle a kink, where the derivative jumps."""
    values = values.copy()
    for kink in kinks:
        near = np.abs(values - kink) < margin
        values[near] = kink + np.where(values[near] >= kink, margin, -margin)
    return values


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("name", list(ELEMENTWISE))
@given(data=st.data(), shape=shapes, seed=seeds)
def test_gradcheck_elementwise(name, data, shape, seed):
    params = data.draw(_params_strategy(name))
    ours = ELEMENTWISE[name][0]
    rng = np.random.default_rng(seed)
    # Scale 4 puts values on every piece of the hard functions (kinks at -3, 0, 3, 6).
    x = away_from_kinks(rng.standard_normal(shape) * 4, ELEMENTWISE[name][2])
    gradcheck(lambda t: ours(t, **params), [minicnn.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax])
@given(data=st.data(), shape=shapes, seed=seeds)
def test_gradcheck_softmax(op, data, shape, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(seed).standard_normal(shape) * 3
    gradcheck(lambda t: op(t, dim), [minicnn.tensor(x, requires_grad=True)])


# ------------------------------------------------------------------ PyTorch parity
@pytest.mark.parametrize("name", list(ELEMENTWISE))
@given(data=st.data(), shape=shapes, seed=seeds)
@settings(max_examples=6)
def test_torch_parity_random(name, data, shape, seed):
    params = data.draw(_params_strategy(name))
    ours, theirs, _ = ELEMENTWISE[name]
    x = (np.random.default_rng(seed).standard_normal(shape) * 4).astype(np.float32)
    # gelu's tanh form: float32 tanh saturates slightly differently in NumPy and
    # PyTorch at |x| > 4, moving the tiny gradient there by ~2e-6.
    atol = 1e-5 if name == "gelu" else ATOL
    compare_with_torch(lambda t: ours(t, **params), lambda t: theirs(t, **params), [x],
                       atol=atol, rtol=RTOL)


KINK_CASES = [("relu", {}), ("relu6", {}), ("leaky_relu", {}),
              ("leaky_relu", {"negative_slope": 0.2}), ("leaky_relu", {"negative_slope": -0.5}),
              ("elu", {}), ("elu", {"alpha": 2.0}), ("hardsigmoid", {}), ("hardswish", {})]


@pytest.mark.parametrize("name, params", KINK_CASES, ids=[f"{n}{p}" for n, p in KINK_CASES])
def test_torch_parity_at_kinks(name, params):
    """Outputs and gradients exactly at -3, 0, 3, 6 and their float32 neighbours."""
    ours, theirs, _ = ELEMENTWISE[name]
    compare_with_torch(lambda t: ours(t, **params), lambda t: theirs(t, **params),
                       [KINK_VALUES.copy()], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name, expected", [
    # d/dx at the kinks, from PyTorch's backward formulas (threshold/hardtanh/
    # hardsigmoid/hardswish backward), written out here as the spec.
    ("relu", {0.0: 0.0}),
    ("relu6", {0.0: 0.0, 6.0: 0.0}),
    ("hardsigmoid", {-3.0: 0.0, 3.0: 0.0}),
    ("hardswish", {-3.0: 0.0, 3.0: 1.0}),
])
def test_kink_gradients_are_pytorchs_convention(name, expected):
    ours, theirs, _ = ELEMENTWISE[name]
    kinks = np.array(list(expected), dtype=np.float32)
    x = minicnn.tensor(kinks, requires_grad=True)
    ours(x).sum().backward()
    t = torch.tensor(kinks, requires_grad=True)
    theirs(t).sum().backward()
    np.testing.assert_array_equal(x.grad, np.array(list(expected.values()), np.float32))
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


@pytest.mark.parametrize("slope", [0.01, 0.3])
def test_leaky_relu_and_elu_kink_gradient(slope):
    """At x = 0 leaky_relu passes negative_slope and elu passes alpha (PyTorch's choice)."""
    x = minicnn.tensor(np.zeros(1, np.float32), requires_grad=True)
    F.leaky_relu(x, slope).sum().backward()
    assert x.grad[0] == np.float32(slope)
    x.grad = None
    F.elu(x, alpha=2 * slope).sum().backward()
    assert x.grad[0] == np.float32(2 * slope)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("op, torch_op", [(F.softmax, torch.softmax),
                                          (F.log_softmax, torch.log_softmax)])
def test_softmax_torch_parity(op, torch_op, dim):
    x = (np.random.default_rng(dim + 5).standard_normal((3, 5, 4)) * 5).astype(np.float32)
    compare_with_torch(lambda t: op(t, dim), lambda t: torch_op(t, dim), [x], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("op, torch_op", [(F.softmax, TF.softmax), (F.log_softmax, TF.log_softmax)])
@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
def test_softmax_implicit_dim_follows_pytorch(op, torch_op, ndim):
    x = np.random.default_rng(ndim).standard_normal((2, 3, 2, 2)[:ndim]).astype(np.float32)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        ours = op(minicnn.tensor(x))
    with pytest.warns(UserWarning):
        theirs = torch_op(torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=ATOL, rtol=RTOL)


def test_softmax_dtype_argument_casts_first():
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    compare_with_torch(lambda t: F.softmax(t, 1, dtype=np.float64),
                       lambda t: TF.softmax(t, 1, dtype=torch.float64), [x], atol=1e-12, rtol=1e-12)


# ------------------------------------------------------------------ Numba fast path
@pytest.mark.parametrize("name", ["relu", "relu6", "hardsigmoid", "hardswish"])
def test_numba_kernels_equal_numpy_reference(name, monkeypatch):
    """The fused kernels against the NumPy formulas, bit for bit, kinks/inf/nan included."""
    ours = ELEMENTWISE[name][0]
    rng = np.random.default_rng(1)
    special = np.array([np.inf, -np.inf, np.nan], dtype=np.float32)
    x = np.concatenate([KINK_VALUES, special, (rng.standard_normal(200) * 4).astype(np.float32)])
    g = rng.standard_normal(x.shape).astype(np.float32)

    def run():
        t = minicnn.tensor(x, requires_grad=True)
        with np.errstate(invalid="ignore"):  # hardswish(-inf) = -inf * 0 = nan, both paths
            out = ours(t)
            out.backward(g)
        return out.numpy(), t.grad

    monkeypatch.setattr(activation, "NUMBA_MIN_SIZE", 10**12)
    assert activation._fast(x) is None
    reference = run()
    monkeypatch.setattr(activation, "NUMBA_MIN_SIZE", 0)
    assert activation._fast(x) is not None
    fast = run()
    for ref, got in zip(reference, fast):
        np.testing.assert_array_equal(got, ref)


def test_fast_path_serves_large_float32_only():
    big = np.zeros(activation.NUMBA_MIN_SIZE, np.float32)
    assert activation._fast(big) is not None
    assert activation._fast(big[:-1]) is None  # too small
    assert activation._fast(big.astype(np.float64)) is None  # float64 stays on NumPy
    assert activation._fast(big.reshape(2, -1).T) is None  # not C-contiguous


def test_large_hardswish_matches_torch():
    """End to end on the benchmark's shape (through the kernels)."""
    x = (np.random.default_rng(2).standard_normal((8, 116, 28, 28)) * 4).astype(np.float32)
    assert activation._fast(x) is not None
    compare_with_torch(F.hardswish, TF.hardswish, [x], atol=ATOL, rtol=RTOL)


# ------------------------------------------------------------------ identities
@given(shape=shapes, seed=seeds)
def test_hardswish_is_x_times_hardsigmoid(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape) * 5
    x[..., 0] = 3.0  # a kink in every row
    t = minicnn.tensor(x)
    # (x * r) / 6 against x * (r / 6): equal up to float64 rounding.
    np.testing.assert_allclose(F.hardswish(t).numpy(), (t * F.hardsigmoid(t)).numpy(),
                               rtol=1e-15, atol=1e-15)


@given(shape=shapes, seed=seeds, data=st.data())
def test_softmax_sums_to_one_and_log_softmax_is_its_log(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = minicnn.tensor(np.random.default_rng(seed).standard_normal(shape) * 10)
    probabilities = F.softmax(x, dim).numpy()
    np.testing.assert_allclose(probabilities.sum(axis=dim), 1.0, rtol=1e-12)
    log_probabilities = F.log_softmax(x, dim).numpy()
    finite = probabilities > 0
    np.testing.assert_allclose(log_probabilities[finite], np.log(probabilities[finite]),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_stable_for_large_inputs(dtype):
    x = minicnn.tensor(np.array([[1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1001.0]], dtype))
    # log_softmax of (a, a, a - 1) is (-log(2 + 1/e), same, -1 - log(2 + 1/e)), for any a.
    lse = math.log(2 + math.exp(-1))
    expected = np.array([-lse, -lse, -1 - lse])
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    for row in F.log_softmax(x, 1).numpy():
        np.testing.assert_allclose(row, expected, rtol=tolerance)
    for row in F.softmax(x, 1).numpy():
        np.testing.assert_allclose(row, np.exp(expected), rtol=tolerance)


def test_sigmoid_is_accurate_and_quiet_in_the_tails():
    values = np.array([-200.0, -80.0, -20.0, 0.0, 20.0, 80.0, 200.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e^200 overflows inside; no warning may escape
        out = F.sigmoid(minicnn.tensor(values)).numpy()
    expected = 1 / (1 + np.exp(-values.astype(np.float64)))  # float64: no overflow here
    # Full relative accuracy down to s(-80) = 1.8e-35 (a normal float32); s(-200)
    # is below float32's range and rounds to 0.
    np.testing.assert_allclose(out[1:], expected[1:], rtol=1e-6)
    assert out[0] == 0.0


def test_gelu_erf_against_math_erf():
    x = np.linspace(-6, 6, 61)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    np.testing.assert_allclose(F.gelu(minicnn.tensor(x)).numpy(), exact, rtol=1e-14, atol=1e-15)


def test_inplace_is_accepted_and_input_unchanged():
    x = minicnn.tensor(np.array([-1.0, 2.0, 7.0], np.float32))
    before = x.numpy().copy()
    for op in (F.relu, F.relu6, F.leaky_relu, F.elu, F.hardsigmoid, F.hardswish, F.silu):
        out = op(x, inplace=True)
        assert out is not x
        np.testing.assert_array_equal(x.numpy(), before)


def test_gradients_keep_float32():
    x = minicnn.tensor(np.linspace(-4, 7, 12, dtype=np.float32), requires_grad=True)
    for name, (ours, _, _) in ELEMENTWISE.items():
        x.grad = None
        ours(x).sum().backward()
        assert x.grad.dtype == np.float32, name


# ------------------------------------------------------------------ bad input
ALL_OPS = [(name, fn) for name, (fn, _, _) in ELEMENTWISE.items()] + [
    ("softmax", lambda t: F.softmax(t, 0)), ("log_softmax", lambda t: F.log_softmax(t, 0))]


@pytest.mark.parametrize("name, op", ALL_OPS, ids=[n for n, _ in ALL_OPS])
def test_integer_input_is_rejected(name, op):
    with pytest.raises(TypeError, match=rf"{name}: input must be a floating-point"):
        op(minicnn.tensor([1, 2, 3]))


@pytest.mark.parametrize("name, op", ALL_OPS[:1], ids=["relu"])
def test_non_tensor_input_is_rejected(name, op):
    with pytest.raises(TypeError, match="input must be a Tensor"):
        op(np.ones(3, np.float32))


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("dim", [2, -3])
def test_softmax_dim_out_of_range(op, dim):
    with pytest.raises(IndexError, match=rf"dim={dim} is out of range"):
        op(minicnn.tensor(np.ones((2, 3), np.float32)), dim)


def test_bad_parameters():
    x = minicnn.tensor(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="approximate must be one of"):
        F.gelu(x, approximate="erf")
    with pytest.raises(TypeError, match="negative_slope must be a real number"):
        F.leaky_relu(x, negative_slope="0.1")
    with pytest.raises(TypeError, match="alpha must be a real number"):
        F.elu(x, alpha=None)
    with pytest.raises(TypeError, match="inplace must be a bool"):
        F.relu(x, inplace="yes")
    with pytest.raises(TypeError, match="dtype must be a floating-point dtype"):
        F.softmax(x, 0, dtype=np.int64)
