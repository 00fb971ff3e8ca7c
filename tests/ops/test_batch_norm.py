"""batch_norm: normalisation, running statistics, gradients, PyTorch parity, bad input."""
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

# Shapes (N, C, *) from 2-D to 5-D; planes of >= 16 values take the BLAS reduction
# path of minicnn.ops.norm, smaller ones the plain one: both are drawn.
shapes = st.sampled_from([(6, 3), (2, 3, 4), (3, 2, 5, 4), (2, 3, 4, 5), (2, 2, 2, 3, 3),
                          (1, 4, 3, 7)])


def _data(shape, seed, offset=0.0):
    rng = np.random.default_rng(seed)
    channels = shape[1]
    x = rng.standard_normal(shape) * rng.uniform(0.5, 3.0, channels).reshape(
        (1, channels) + (1,) * (len(shape) - 2)) + offset
    weight = rng.uniform(0.5, 1.5, channels) * rng.choice([-1, 1], channels)
    bias = rng.standard_normal(channels)
    running_mean = rng.standard_normal(channels)
    running_var = rng.uniform(0.5, 2.0, channels)
    return x, weight, bias, running_mean, running_var


def _tensors(*arrays, requires_grad=False):
    return [minicnn.tensor(a, requires_grad=requires_grad) for a in arrays]


def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


@pytest.fixture(params=["numpy", "numba"])
def path(request, monkeypatch):
    """Send float32 inputs of any size through the NumPy formulation or the Numba kernels."""
    monkeypatch.setattr(norm, "NUMBA_MIN_SIZE", 0 if request.param == "numba" else 1 << 62)
    return request.param


# ------------------------------------------------------------------ properties
@given(shapes, st.integers(0, 2**16), st.sampled_from([1e-5, 0.5]))
def test_training_output_has_mean_zero_and_biased_variance_one(shape, seed, eps):
    """With w = 1, b = 0: mean(xhat) = 0 and the biased variance of xhat is
    sigma2 / (sigma2 + eps), i.e. 1 up to the effect of eps, per channel."""
    x = _data(shape, seed)[0]
    out = F.batch_norm(minicnn.tensor(x), None, None, training=True, eps=eps).numpy()
    variance = x.var(axis=_axes(x))
    np.testing.assert_allclose(out.mean(axis=_axes(x)), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=_axes(x)), variance / (variance + eps), rtol=1e-10)


@given(shapes, st.integers(0, 2**16), st.booleans())
def test_training_matches_the_formula_and_updates_running_stats(shape, seed, affine):
    x, weight, bias, running_mean, running_var = _data(shape, seed)
    mean, var = x.mean(axis=_axes(x)), x.var(axis=_axes(x))
    per_channel = (1, -1) + (1,) * (x.ndim - 2)
    expected = (x - mean.reshape(per_channel)) / np.sqrt(var.reshape(per_channel) + 1e-5)
    if affine:
        expected = expected * weight.reshape(per_channel) + bias.reshape(per_channel)
    rm, rv = _tensors(running_mean.copy(), running_var.copy())
    out = F.batch_norm(minicnn.tensor(x), rm, rv, *(_tensors(weight, bias) if affine else ()),
                       training=True, momentum=0.3)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-10)
    count = x.size // x.shape[1]
    np.testing.assert_allclose(rm.numpy(), 0.7 * running_mean + 0.3 * mean, rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.7 * running_var + 0.3 * var * count / (count - 1),
                               rtol=1e-12)


@given(shapes, st.integers(0, 2**16), st.booleans())
def test_eval_uses_running_stats_and_leaves_them(shape, seed, affine):
    x, weight, bias, running_mean, running_var = _data(shape, seed)
    per_channel = (1, -1) + (1,) * (x.ndim - 2)
    expected = ((x - running_mean.reshape(per_channel))
                / np.sqrt(running_var.reshape(per_channel) + 1e-5))
    if affine:
        expected = expected * weight.reshape(per_channel) + bias.reshape(per_channel)
    rm, rv = _tensors(running_mean.copy(), running_var.copy())
    out = F.batch_norm(minicnn.tensor(x), rm, rv, *(_tensors(weight, bias) if affine else ()))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(rm.numpy(), running_mean)
    np.testing.assert_array_equal(rv.numpy(), running_var)


# ------------------------------------------------------------------ gradients
@given(shapes, st.integers(0, 2**16), st.booleans(), st.booleans())
def test_batch_norm_gradcheck(shape, seed, training, affine):
    x, weight, bias, running_mean, running_var = _data(shape, seed)
    inputs = _tensors(x, weight, bias, requires_grad=True)
    if not affine:
        inputs = inputs[:1]

    def fn(t, *affine_params):
        # Fresh running statistics per call: in training they are updated, in
        # evaluation they must be the same constants for every evaluation.
        rm, rv = _tensors(running_mean.copy(), running_var.copy())
        return F.batch_norm(t, rm, rv, *affine_params, training=training)

    gradcheck(fn, inputs)


def test_gradient_on_offset_inputs_stays_accurate_in_float32(path):
    """x = 1000 + N(0, 1): the fused sum(g x) - mu sum(g) would cancel ~7 of float32's
    7 digits here; the centred computation keeps the float32 gradient within 1e-3 of the
    float64 one (relative to its scale)."""
    x, weight, bias, _, _ = _data((4, 3, 8, 8), 0, offset=1000.0)
    grad_out = np.random.default_rng(1).standard_normal(x.shape)
    grads = {}
    for dtype in (np.float32, np.float64):
        inputs = _tensors(*(a.astype(dtype) for a in (x, weight, bias)), requires_grad=True)
        F.batch_norm(inputs[0], None, None, inputs[1], inputs[2], training=True).backward(
            grad_out.astype(dtype))
        grads[dtype] = [t.grad for t in inputs]
    for ours, exact in zip(grads[np.float32], grads[np.float64]):
        np.testing.assert_allclose(ours, exact, atol=1e-3 * np.abs(exact).max())


@given(shapes, st.integers(0, 2**16), st.booleans(), st.booleans())
def test_numba_kernels_match_the_numpy_formulation(shape, seed, training, affine):
    """float32: the same forward, running statistics and gradients on both paths.
    The kernels accumulate in float64, NumPy in float32: a few float32 ulps apart."""
    x, weight, bias, running_mean, running_var = (a.astype(np.float32)
                                                  for a in _data(shape, seed))
    grad_out = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    results = []
    numba_min_size = norm.NUMBA_MIN_SIZE
    try:
        for threshold in (0, 1 << 62):  # Numba, then NumPy
            norm.NUMBA_MIN_SIZE = threshold
            inputs = _tensors(x, weight, bias, requires_grad=True)
            rm, rv = _tensors(running_mean.copy(), running_var.copy())
            out = F.batch_norm(inputs[0], rm, rv, *(inputs[1:] if affine else ()),
                               training=training, momentum=0.3)
            out.backward(grad_out)
            results.append([out.numpy(), rm.numpy(), rv.numpy()]
                           + [t.grad for t in (inputs if affine else inputs[:1])])
    finally:
        norm.NUMBA_MIN_SIZE = numba_min_size
    for fast, reference in zip(*results):
        np.testing.assert_allclose(fast, reference, rtol=1e-5,
                                   atol=1e-5 * max(1.0, np.abs(reference).max()))


# ------------------------------------------------------------------ PyTorch
# float32 parity tolerance: the batch statistics are sums of <= 120 terms (float32
# dot products here, double accumulators in PyTorch), then a division by sigma ~ 1-3;
# values and gradients are O(1-10), so a few ulps -> atol 2e-5, rtol 1e-4.
TOL = dict(atol=2e-5, rtol=1e-4)


@given(shapes, st.integers(0, 2**16), st.booleans(), st.sampled_from(["numpy", "numba"]))
def test_batch_norm_matches_torch(shape, seed, training, path):
    x, weight, bias, running_mean, running_var = (a.astype(np.float32)
                                                  for a in _data(shape, seed))
    stats = {}
    numba_min_size = norm.NUMBA_MIN_SIZE
    norm.NUMBA_MIN_SIZE = 0 if path == "numba" else 1 << 62

    def ours(t, w, b):
        stats["ours"] = _tensors(running_mean.copy(), running_var.copy())
        return F.batch_norm(t, *stats["ours"], w, b, training=training, momentum=0.2)

    def theirs(t, w, b):
        stats["torch"] = (torch.tensor(running_mean), torch.tensor(running_var))
        return TF.batch_norm(t, *stats["torch"], w, b, training=training, momentum=0.2)

    try:
        compare_with_torch(ours, theirs, [x, weight, bias], **TOL)
    finally:
        norm.NUMBA_MIN_SIZE = numba_min_size
    for mine, torch_stat in zip(stats["ours"], stats["torch"]):
        np.testing.assert_allclose(mine.numpy(), torch_stat.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_running_stats_follow_torch_over_several_steps(momentum):
    """momentum=None in PyTorch's module is a cumulative average: its functional is then
    called with momentum = 1 / num_batches_tracked, which is what a caller passes here."""
    channels = 3
    module = torch.nn.BatchNorm2d(channels, momentum=momentum)
    rm, rv = minicnn.zeros(channels), minicnn.ones(channels)
    rng = np.random.default_rng(0)
    for step in range(1, 6):
        x = (rng.standard_normal((4, channels, 5, 5)) * step + step).astype(np.float32)
        module(torch.from_numpy(x))
        F.batch_norm(minicnn.tensor(x), rm, rv, training=True,
                     momentum=1.0 / step if momentum is None else momentum)
    np.testing.assert_allclose(rm.numpy(), module.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), module.running_var.numpy(), rtol=1e-5, atol=1e-6)


def test_cumulative_average_is_the_plain_mean_of_batch_statistics():
    """momentum = 1/k at step k makes the running mean the average of the batch means."""
    rm, rv = minicnn.zeros(2, dtype=minicnn.float64), minicnn.ones(2, dtype=minicnn.float64)
    batches = [np.random.default_rng(k).standard_normal((5, 2, 3)) + k for k in range(4)]
    for k, x in enumerate(batches, start=1):
        F.batch_norm(minicnn.tensor(x), rm, rv, training=True, momentum=1.0 / k)
    np.testing.assert_allclose(rm.numpy(), np.mean([b.mean(axis=(0, 2)) for b in batches], 0))
    np.testing.assert_allclose(rv.numpy(), np.mean([b.var(axis=(0, 2), ddof=1) for b in batches],
                                                    0))


# ------------------------------------------------------------------ bad input
def _state():
    x, weight, bias, running_mean, running_var = (a.astype(np.float32)
                                                  for a in _data((4, 3, 2, 2), 0))
    return (minicnn.tensor(x), minicnn.tensor(running_mean), minicnn.tensor(running_var),
            minicnn.tensor(weight), minicnn.tensor(bias))


@pytest.mark.parametrize("change, error, match", [
    (dict(weight=minicnn.ones(4)), ValueError, "weight"),
    (dict(bias=minicnn.ones(3, 1)), ValueError, "bias"),
    (dict(running_var=minicnn.ones(4)), ValueError, "running_var"),
    (dict(bias=np.ones(3, dtype=np.float32)), TypeError, "bias"),
    (dict(weight=minicnn.ones(3, dtype=minicnn.float64)), TypeError, "weight"),
    (dict(running_var=minicnn.ones(3, dtype=minicnn.float64)), TypeError, "running_var"),
    (dict(running_var=None), ValueError, "running_var"),
    (dict(momentum=None), TypeError, "momentum"),
    (dict(momentum="0.1"), TypeError, "momentum"),
    (dict(eps=0.0), ValueError, "eps"),
    (dict(training=1), TypeError, "training"),
    (dict(input=minicnn.zeros(1, 3)), ValueError, "more than 1 value per channel"),
    (dict(input=minicnn.zeros(1, 3, 1, 1)), ValueError, "more than 1 value per channel"),
    (dict(input=minicnn.zeros(4, 2, 2, 2)), ValueError, "running_mean"),
    (dict(input=minicnn.zeros(4)), ValueError, "input"),
    (dict(input=minicnn.tensor(np.zeros((4, 3, 2), dtype=np.int64))), TypeError, "input"),
])
def test_bad_input_raises_before_running_stats_change(change, error, match):
    x, rm, rv, weight, bias = _state()
    before = rm.numpy().copy(), rv.numpy().copy()
    kwargs = dict(input=x, running_mean=rm, running_var=rv, weight=weight, bias=bias,
                  training=True, momentum=0.1, eps=1e-5)
    kwargs.update(change)
    with pytest.raises(error, match=match):
        F.batch_norm(**kwargs)
    np.testing.assert_array_equal(rm.numpy(), before[0])
    np.testing.assert_array_equal(rv.numpy(), before[1])


def test_eval_needs_running_stats_and_non_negative_eps():
    x = minicnn.randn(4, 3)
    with pytest.raises(ValueError, match="running_mean"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="eps"):
        F.batch_norm(x, minicnn.zeros(3), minicnn.ones(3), eps=-1.0)
    # eps = 0 is allowed in evaluation, as in PyTorch
    out = F.batch_norm(x, minicnn.zeros(3), minicnn.ones(3), eps=0.0)
    np.testing.assert_allclose(out.numpy(), x.numpy())


def test_one_value_per_channel_is_fine_in_eval():
    x = minicnn.randn(1, 3)
    out = F.batch_norm(x, minicnn.zeros(3), minicnn.ones(3), eps=0.0)
    np.testing.assert_allclose(out.numpy(), x.numpy())
