"""layer_norm, group_norm, instance_norm: the formula, the card's relations, gradients,
PyTorch parity, running statistics and bad input."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.ops import norm
from minicnn.testing import compare_with_torch, gradcheck
from tests.reference import norm as reference

# (N, C, *) inputs from 2-D to 5-D, and group counts dividing C. Rows of >= 16 values take
# the core's BLAS reduction, shorter ones the plain one: both occur.
channel_inputs = st.sampled_from([(3, 4), (2, 4, 5), (2, 6, 3, 4), (1, 4, 2, 3), (2, 2, 2, 3, 3),
                                  (3, 6, 4, 5)])


@st.composite
def group_configs(draw):
    shape = draw(channel_inputs)
    channels = shape[1]
    groups = draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
    return shape, groups


@st.composite
def layer_configs(draw):
    """An input shape and its trailing ``normalized_shape`` (1 to 3 dimensions)."""
    shape = draw(st.sampled_from([(4, 5), (2, 3, 4), (2, 3, 4, 5), (6, 1), (3, 17)]))
    k = draw(st.integers(1, min(3, len(shape))))
    return shape, shape[len(shape) - k:]


def _data(shape, param_shape, seed, offset=0.0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * rng.uniform(0.5, 3.0) + offset
    weight = rng.uniform(0.5, 1.5, param_shape) * rng.choice([-1, 1], param_shape)
    return x, weight, rng.standard_normal(param_shape)


def _tensors(*arrays, requires_grad=False):
    return [minicnn.tensor(a, requires_grad=requires_grad) for a in arrays]


def _running(channels, seed):
    rng = np.random.default_rng(seed + 1)
    return rng.standard_normal(channels), rng.uniform(0.5, 2.0, channels)


# ------------------------------------------------------------------ the formula
@given(group_configs(), st.integers(0, 2**16), st.booleans(), st.sampled_from([1e-5, 0.5]))
def test_group_norm_matches_the_reference(config, seed, affine, eps):
    (shape, groups) = config
    x, weight, bias = _data(shape, shape[1], seed)
    params = (weight, bias) if affine else (None, None)
    out = F.group_norm(minicnn.tensor(x), groups,
                       *(minicnn.tensor(p) if p is not None else None for p in params), eps=eps)
    np.testing.assert_allclose(out.numpy(), reference.group_norm(x, groups, *params, eps),
                               rtol=1e-10, atol=1e-10)


@given(layer_configs(), st.integers(0, 2**16), st.booleans())
def test_layer_norm_matches_the_reference(config, seed, affine):
    shape, normalized_shape = config
    x, weight, bias = _data(shape, normalized_shape, seed)
    params = (weight, bias) if affine else (None, None)
    out = F.layer_norm(minicnn.tensor(x), normalized_shape,
                       *(minicnn.tensor(p) if p is not None else None for p in params))
    np.testing.assert_allclose(out.numpy(), reference.layer_norm(x, normalized_shape, *params, 1e-5),
                               rtol=1e-10, atol=1e-10)


@given(channel_inputs, st.integers(0, 2**16), st.sampled_from([0.1, 0.7]))
def test_instance_norm_is_group_norm_with_one_channel_per_group_and_tracks_statistics(
        shape, seed, momentum):
    if len(shape) == 2:
        shape = shape + (3,)  # instance norm needs more than one value per plane
    x, weight, bias = _data(shape, shape[1], seed)
    running_mean, running_var = _running(shape[1], seed)
    rm, rv = _tensors(running_mean.copy(), running_var.copy())
    out = F.instance_norm(minicnn.tensor(x), rm, rv, *_tensors(weight, bias), momentum=momentum)
    np.testing.assert_allclose(out.numpy(), reference.group_norm(x, shape[1], weight, bias, 1e-5),
                               rtol=1e-10, atol=1e-10)
    expected_mean, expected_var = reference.instance_norm_running_stats(
        x, running_mean, running_var, momentum)
    np.testing.assert_allclose(rm.numpy(), expected_mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rv.numpy(), expected_var, rtol=1e-12, atol=1e-12)


@given(channel_inputs, st.integers(0, 2**16))
def test_instance_norm_without_input_stats_uses_the_running_statistics(shape, seed):
    x, weight, bias = _data(shape, shape[1], seed)
    running_mean, running_var = _running(shape[1], seed)
    rm, rv = _tensors(running_mean.copy(), running_var.copy())
    out = F.instance_norm(minicnn.tensor(x), rm, rv, *_tensors(weight, bias),
                          use_input_stats=False)
    per_channel = (-1,) + (1,) * (len(shape) - 2)
    expected = ((x - running_mean.reshape(per_channel)) / np.sqrt(running_var.reshape(per_channel)
                                                                 + 1e-5)
                * weight.reshape(per_channel) + bias.reshape(per_channel))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(rm.numpy(), running_mean)  # only read
    np.testing.assert_array_equal(rv.numpy(), running_var)


@given(channel_inputs, st.integers(0, 2**16))
def test_group_norm_relates_to_layer_norm_and_instance_norm_as_the_card_says(shape, seed):
    """G = 1 is layer norm over (C, *) (without affine maps: theirs are per element and
    per channel); G = C is instance norm."""
    x = minicnn.tensor(_data(shape, 1, seed)[0])
    np.testing.assert_allclose(F.group_norm(x, 1).numpy(), F.layer_norm(x, shape[1:]).numpy(),
                               rtol=1e-12, atol=1e-12)
    if len(shape) > 2:
        np.testing.assert_allclose(F.group_norm(x, shape[1]).numpy(), F.instance_norm(x).numpy(),
                                   rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ gradients
def _set_size(op, config):
    """How many elements each normalised set of ``_call(op, config)`` holds."""
    if op == "layer_norm":
        return int(np.prod(config[1]))
    shape, groups = config
    if op == "group_norm":
        return shape[1] // groups * int(np.prod(shape[2:]))
    return int(np.prod(shape[2:])) if len(shape) > 2 else 3


def _call(op, config):
    """``(fn, input shape, parameter shape)`` of one operator call."""
    if op == "layer_norm":
        shape, normalized_shape = config
        return (lambda x, *p: F.layer_norm(x, normalized_shape, *p)), shape, normalized_shape
    shape, groups = config
    if op == "group_norm":
        return (lambda x, *p: F.group_norm(x, groups, *p)), shape, shape[1]
    shape = shape if len(shape) > 2 else shape + (3,)
    return (lambda x, *p: F.instance_norm(x, None, None, *p)), shape, shape[1]


@given(st.data(), st.sampled_from(["layer_norm", "group_norm", "instance_norm"]),
       st.integers(0, 2**16), st.booleans())
def test_gradcheck(data, op, seed, affine):
    config = data.draw(layer_configs() if op == "layer_norm" else group_configs())
    fn, shape, param_shape = _call(op, config)
    inputs = _tensors(*_data(shape, param_shape, seed), requires_grad=True)
    gradcheck(fn, inputs if affine else inputs[:1])


def test_instance_norm_gradcheck_with_running_statistics():
    """Training with running statistics (updated on every evaluation: they do not enter the
    output) and evaluation with them (constants)."""
    x, weight, bias = _data((2, 3, 2, 3), 3, 0)
    running = _running(3, 0)
    for use_input_stats in (True, False):
        def fn(t, w, b):
            rm, rv = _tensors(*(a.copy() for a in running))
            return F.instance_norm(t, rm, rv, w, b, use_input_stats=use_input_stats)

        gradcheck(fn, _tensors(x, weight, bias, requires_grad=True))


# ------------------------------------------------------------------ PyTorch
# float32 tolerance: a row's statistics are float32 sums of <= 360 terms here (PyTorch
# accumulates in double or in another order), divided by sigma ~ 0.5-3; values and
# gradients are O(1-10): a few ulps apart, so atol 2e-5 and rtol 1e-4 (as batch_norm).
TOL = dict(atol=2e-5, rtol=1e-4)

TORCH = {
    "layer_norm": lambda config: lambda x, *p: TF.layer_norm(x, config[1], *p),
    "group_norm": lambda config: lambda x, *p: TF.group_norm(x, config[1], *p),
    "instance_norm": lambda config: lambda x, *p: TF.instance_norm(x, None, None, *p),
}


@given(st.data(), st.sampled_from(["layer_norm", "group_norm", "instance_norm"]),
       st.integers(0, 2**16), st.sampled_from(["numpy", "numba"]))
def test_matches_torch(data, op, seed, path):
    """Output, input gradient and both parameter gradients; on the core's NumPy formulation
    and its Numba kernels (which serve float32 arrays from norm.NUMBA_MIN_SIZE elements)."""
    config = data.draw(layer_configs() if op == "layer_norm" else group_configs())
    fn, shape, param_shape = _call(op, config)
    # Sets of one or two elements are ill-conditioned in float32 on both sides: x_hat is
    # exactly 0 or +-1 and the input gradient's projection cancels to its eps term, so
    # rounding is amplified by up to 1/var (measured: 1e-3 apart at |grad| ~ 10). Those
    # are compared in float64, where the same amplification stays below 1e-9.
    dtype = np.float64 if _set_size(op, config) <= 2 else np.float32
    inputs = [a.astype(dtype) for a in _data(shape, param_shape, seed, offset=2.0)]
    numba_min_size = norm.NUMBA_MIN_SIZE
    norm.NUMBA_MIN_SIZE = 0 if path == "numba" else 1 << 62
    try:
        compare_with_torch(fn, TORCH[op](config), inputs, **TOL)
    finally:
        norm.NUMBA_MIN_SIZE = numba_min_size


@given(channel_inputs, st.integers(0, 2**16), st.booleans())
def test_instance_norm_running_statistics_match_torch(shape, seed, use_input_stats):
    shape = shape if len(shape) > 2 else shape + (3,)
    x, weight, bias = (a.astype(np.float32) for a in _data(shape, shape[1], seed))
    running = [a.astype(np.float32) for a in _running(shape[1], seed)]
    stats = {}

    def ours(t, w, b):
        stats["ours"] = _tensors(*(a.copy() for a in running))
        return F.instance_norm(t, *stats["ours"], w, b, use_input_stats, momentum=0.3)

    def theirs(t, w, b):
        stats["torch"] = [torch.tensor(a) for a in running]
        return TF.instance_norm(t, *stats["torch"], w, b, use_input_stats, momentum=0.3)

    compare_with_torch(ours, theirs, [x, weight, bias], **TOL)
    for mine, torch_stat in zip(stats["ours"], stats["torch"]):
        np.testing.assert_allclose(mine.numpy(), torch_stat.numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ bad input
X = minicnn.randn(2, 4, 3, 3)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.group_norm(X, 3), ValueError,
     r"group_norm: the input's channels must be divisible by num_groups, got C=4 .* num_groups=3"),
    (lambda: F.group_norm(X, 0), ValueError, r"group_norm: num_groups must be >= 1, got 0"),
    (lambda: F.group_norm(X, 2.0), TypeError, r"group_norm: num_groups must be an int, got 2.0"),
    (lambda: F.group_norm(minicnn.randn(4), 2), ValueError, r"at least 2 dimensions"),
    (lambda: F.group_norm(X, 2, minicnn.ones(3)), ValueError,
     r"group_norm: weight must have shape \(C,\) = \(4,\)"),
    (lambda: F.group_norm(X, 2, minicnn.ones(4, dtype=minicnn.float64)), TypeError,
     r"group_norm: weight must have the input's dtype float32, got float64"),
    (lambda: F.group_norm(minicnn.randn(1, 2), 2), ValueError, r"more than 1 value per group"),
    (lambda: F.group_norm(X, 2, eps="1e-5"), TypeError, r"group_norm: eps must be a real number"),
    (lambda: F.group_norm(minicnn.ones(2, 4, dtype=minicnn.int64), 2), TypeError,
     r"group_norm: input must be a floating-point tensor"),
    (lambda: F.layer_norm(X, (4, 3)), ValueError,
     r"layer_norm: the input's trailing dimensions must be normalized_shape=\(4, 3\), "
     r"got input of shape \(2, 4, 3, 3\)"),
    (lambda: F.layer_norm(X, (2, 4, 3, 3, 1)), ValueError, r"normalized_shape=\(2, 4, 3, 3, 1\)"),
    (lambda: F.layer_norm(X, ()), TypeError, r"layer_norm: normalized_shape must be an int or a "
                                             r"non-empty sequence of ints, got \(\)"),
    (lambda: F.layer_norm(X, (3, 0)), ValueError, r"layer_norm: normalized_shape must be >= 1"),
    (lambda: F.layer_norm(X, 3, minicnn.ones(4)), ValueError,
     r"layer_norm: weight must have shape normalized_shape=\(3,\), got shape \(4,\)"),
    (lambda: F.layer_norm(X, (3, 3), None, minicnn.ones(3)), ValueError,
     r"layer_norm: bias must have shape normalized_shape=\(3, 3\), got shape \(3,\)"),
    (lambda: F.layer_norm(X, 3, [1.0, 1.0, 1.0]), TypeError,
     r"layer_norm: weight must be a Tensor or None, got list"),
    (lambda: F.instance_norm(minicnn.randn(2, 4)), ValueError,
     r"instance_norm: expected more than 1 spatial element"),
    (lambda: F.instance_norm(X, use_input_stats=False), ValueError,
     r"instance_norm: running_mean and running_var must be given when use_input_stats=False"),
    (lambda: F.instance_norm(X, use_input_stats=1), TypeError,
     r"instance_norm: use_input_stats must be a bool, got 1"),
    (lambda: F.instance_norm(X, minicnn.zeros(4), None), ValueError,
     r"instance_norm: running_mean and running_var must both be None or both be given"),
])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(weight=minicnn.ones(3)), ValueError, r"instance_norm: weight must have shape"),
    (dict(momentum=None), TypeError, r"instance_norm: momentum must be a real number"),
    (dict(eps="1e-5"), TypeError, r"instance_norm: eps must be a real number"),
])
def test_instance_norm_refuses_before_touching_the_running_statistics(kwargs, error, match):
    rm, rv = minicnn.zeros(4), minicnn.ones(4)
    with pytest.raises(error, match=match):
        F.instance_norm(X, rm, rv, **kwargs)
    np.testing.assert_array_equal(rm.numpy(), np.zeros(4))
    np.testing.assert_array_equal(rv.numpy(), np.ones(4))
