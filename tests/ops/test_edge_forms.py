"""Forms a PyTorch user writes that minicnn's own tests never tried (issue 10).

Each class of failure that PyTorch's sample inputs found has its test here:
0-d tensors, one-element tuples for pair arguments, clamp with tensor
bounds, batch norm on an empty batch, gradients at NaN inputs,
``div(rounding_mode=)`` and ``add/sub(alpha=)``. Expected values come from
PyTorch (float32 parity, tolerance: a few float32 ulps of values of order 1)
and float64 central differences.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import minicnn as mc
from minicnn.nn import functional as F
from minicnn.testing import compare_with_torch, gradcheck

FLOAT32 = dict(atol=1e-6, rtol=1e-5)


# ------------------------------------------------------------------ 0-d tensors
@pytest.mark.parametrize("ours, theirs", [
    (F.sigmoid, torch.sigmoid), (F.silu, TF.silu), (F.tanh, torch.tanh),
    (lambda t: F.log_softmax(t, 0), lambda t: TF.log_softmax(t, 0)),
    (lambda t: F.softmax(t, 0), lambda t: TF.softmax(t, 0)), (F.gelu, TF.gelu), (F.elu, TF.elu),
])
def test_zero_dim_tensor_forward_and_backward(ours, theirs):
    """A NumPy ufunc on a 0-d array returns a scalar; an operator writing into it failed."""
    x = np.array(0.7, dtype=np.float32)
    compare_with_torch(ours, theirs, [x], **FLOAT32)
    gradcheck(ours, [mc.tensor(np.array(-0.3), requires_grad=True)])


# ------------------------------------------------------------------ (k,) pairs
@pytest.mark.parametrize("ours, theirs", [
    (lambda x: F.avg_pool2d(x, 3, 1, padding=(1,)), lambda x: TF.avg_pool2d(x, 3, 1, padding=(1,))),
    (lambda x: F.max_pool2d(x, kernel_size=(2,)), lambda x: TF.max_pool2d(x, kernel_size=(2,))),
    (lambda x: F.avg_pool2d(x, (3,), stride=(2,)), lambda x: TF.avg_pool2d(x, (3,), stride=(2,))),
])
def test_one_element_tuple_is_a_pair_in_pools(ours, theirs):
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(np.float32)
    compare_with_torch(ours, theirs, [x], **FLOAT32)


def test_one_element_tuple_is_a_pair_in_conv2d():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 5, 6)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    compare_with_torch(lambda a, b: F.conv2d(a, b, stride=(2,), padding=(1,), dilation=(1,)),
                       lambda a, b: TF.conv2d(a, b, stride=(2,), padding=(1,), dilation=(1,)),
                       [x, w], atol=1e-5, rtol=1e-5)


def test_three_element_tuple_is_still_an_error():
    with pytest.raises(TypeError, match=r"avg_pool2d: padding must be an int or a pair of ints, "
                                        r"got \(1, 1, 1\)"):
        F.avg_pool2d(mc.zeros(1, 1, 4, 4), 2, padding=(1, 1, 1))


# ------------------------------------------------------------------ clamp with tensors
@pytest.mark.parametrize("shapes", [((3, 4), (4,), (3, 1)), ((3, 4), (3, 4), None),
                                    ((3, 4), None, (1, 4)), ((2, 3, 4), (3, 4), (4,))])
def test_clamp_with_tensor_bounds_matches_torch(shapes):
    """Forward and the gradients of x and of both bounds, crossing bounds (min > max) included.

    x has the broadcast shape: PyTorch 2.13's clamp backward fails when a bound is larger.
    """
    rng = np.random.default_rng(2)
    arrays = [None if s is None else rng.standard_normal(s).astype(np.float32) for s in shapes]
    present = [a for a in arrays if a is not None]

    def call(clamp, *tensors):
        it = iter(tensors)
        x = next(it)
        lo = next(it) if arrays[1] is not None else None
        hi = next(it) if arrays[2] is not None else None
        return clamp(x, min=lo, max=hi)

    compare_with_torch(lambda *t: call(F.clamp, *t), lambda *t: call(torch.clamp, *t), present,
                       **FLOAT32)
    gradcheck(lambda *t: call(F.clamp, *t),
              [mc.tensor(a.astype(np.float64), requires_grad=True) for a in present])


def test_clamp_mixes_a_number_and_a_tensor_bound():
    x = np.linspace(-2, 2, 7, dtype=np.float32)
    hi = np.full(7, 0.5, dtype=np.float32)
    # PyTorch takes two numbers or two tensors: its side gets the number as a tensor.
    compare_with_torch(lambda a, b: F.clamp(a, -1.0, b),
                       lambda a, b: torch.clamp(a, torch.full_like(a, -1.0), b), [x, hi], **FLOAT32)


# ------------------------------------------------------------------ BN, empty batch
def test_batch_norm_training_on_an_empty_batch_matches_torch():
    """PyTorch returns an empty output, keeps the running statistics and counts the batch."""
    ours, theirs = mc.nn.BatchNorm2d(3, momentum=0.3), torch.nn.BatchNorm2d(3, momentum=0.3)
    for bn in (ours, theirs):
        bn.running_mean.data[...] = 0.5
        bn.running_var.data[...] = 2.0
    x = mc.zeros(0, 3, 2, 2, requires_grad=True)
    y = ours(x)
    tx = torch.zeros(0, 3, 2, 2, requires_grad=True)
    ty = theirs(tx)
    assert y.shape == tuple(ty.shape) == (0, 3, 2, 2)
    y.sum().backward()
    ty.sum().backward()
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(getattr(ours, name).numpy(), getattr(theirs, name).numpy())
    np.testing.assert_array_equal(ours.weight.grad, theirs.weight.grad.numpy())
    np.testing.assert_array_equal(ours.bias.grad, theirs.bias.grad.numpy())
    assert x.grad.shape == (0, 3, 2, 2)


def test_batch_norm_one_value_per_channel_is_still_an_error():
    with pytest.raises(ValueError, match="expected more than 1 value per channel"):
        mc.nn.BatchNorm2d(3)(mc.zeros(1, 3, 1, 1))


# ------------------------------------------------------------------ NaN gradients
@pytest.mark.parametrize("ours, theirs", [
    (F.relu, TF.relu), (F.relu6, TF.relu6), (F.abs, torch.abs), (F.elu, TF.elu),
    (lambda t: F.elu(t, 0.5), lambda t: TF.elu(t, 0.5)), (F.hardswish, TF.hardswish),
    (F.hardsigmoid, TF.hardsigmoid), (F.leaky_relu, TF.leaky_relu),
    (lambda t: F.clamp(t, 0.0, 1.0), lambda t: torch.clamp(t, 0.0, 1.0)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_at_nan_matches_torch(ours, theirs, dtype):
    """Three elements, so PyTorch runs its scalar loop (its vectorised relu6 loop disagrees
    with its own scalar one at NaN)."""
    x = np.array([np.nan, -1.5, 2.0], dtype=dtype)
    compare_with_torch(ours, theirs, [x], **FLOAT32)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_pairwise_extremum_gradient_at_nan_and_ties_matches_torch(name):
    a = np.array([np.nan, 1.0, 2.0, 3.0, np.nan], dtype=np.float32)
    b = np.array([0.0, np.nan, 2.0, 1.0, np.nan], dtype=np.float32)
    compare_with_torch(getattr(F, name), getattr(torch, name), [a, b], **FLOAT32)


@pytest.mark.parametrize("name", ["max", "min"])
def test_reduction_extremum_gradient_at_nan_matches_torch(name):
    x = np.array([[1.0, np.nan, 3.0], [2.0, 0.5, 0.5]], dtype=np.float32)
    compare_with_torch(lambda t: getattr(F, name)(t, 1)[0],
                       lambda t: getattr(torch, name)(t, 1)[0], [x], **FLOAT32)
    compare_with_torch(lambda t: getattr(F, name)(t), lambda t: getattr(torch, name)(t), [x],
                       **FLOAT32)


# ------------------------------------------------------------------ div, add, sub
@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_div_rounding_mode_floats_match_torch(mode):
    """Signs mixed, exact and inexact quotients, a zero divisor (+-inf, nan for 0/0)."""
    a = np.array([7.0, -7.0, 7.5, -7.5, 1.0, 0.0, -3.0, 1.0, 6.0], dtype=np.float32)
    b = np.array([2.0, 2.0, -2.0, -2.0, 0.1, 0.0, 0.0, 0.0, 3.0], dtype=np.float32)
    compare_with_torch(lambda x, y: F.div(x, y, rounding_mode=mode),
                       lambda x, y: torch.div(x, y, rounding_mode=mode), [a, b], atol=0, rtol=0)


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_div_rounding_mode_integers_match_torch(mode):
    a = np.array([7, -7, 7, -7, 6, 0], dtype=np.int64)
    b = np.array([2, 2, -2, -2, 3, 5], dtype=np.int64)
    ours = F.div(mc.tensor(a), mc.tensor(b), rounding_mode=mode)
    theirs = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(ZeroDivisionError, match="div: integer division by zero"):
        F.div(mc.tensor(a), mc.tensor(b * 0), rounding_mode=mode)


def test_div_bad_rounding_mode():
    with pytest.raises(ValueError, match="div: rounding_mode must be one of .* got 'round'"):
        F.div(mc.ones(2), 2.0, rounding_mode="round")


@pytest.mark.parametrize("op", ["add", "sub"])
@pytest.mark.parametrize("alpha", [2, -0.5])
def test_add_sub_alpha_match_torch(op, alpha):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    compare_with_torch(lambda x, y: getattr(F, op)(x, y, alpha=alpha),
                       lambda x, y: getattr(torch, op)(x, y, alpha=alpha), [a, b], **FLOAT32)
    gradcheck(lambda x, y: getattr(F, op)(x, y, alpha=alpha),
              [mc.tensor(a.astype(np.float64), requires_grad=True),
               mc.tensor(b.astype(np.float64), requires_grad=True)])


def test_alpha_must_be_an_integer_for_integer_tensors():
    with pytest.raises(TypeError, match="add: for integer tensors alpha must be an integer, "
                                        "got 0.5"):
        F.add(mc.tensor([1, 2]), mc.tensor([3, 4]), alpha=0.5)
    assert F.add(mc.tensor([1, 2]), mc.tensor([3, 4]), alpha=2).tolist() == \
        torch.add(torch.tensor([1, 2]), torch.tensor([3, 4]), alpha=2).tolist()
