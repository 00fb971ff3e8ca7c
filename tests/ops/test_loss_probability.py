"""binary_cross_entropy, kl_div and one_hot: gradients, PyTorch parity (reductions, weights,
log_target both ways, the -100 clamp), edge values, bad input.

Tolerances. float64 gradchecks use the harness defaults (atol 1e-5, rtol 1e-4).
float32 parity with PyTorch: atol 1e-6, rtol 1e-5 (a loss is a sum of a few
dozen O(1) float32 terms, each a log or an exp rounded to ~1 ulp; a gradient
entry is one or two such terms): a wrong sign, clamp, or normaliser is off by
far more. Where the values are large (the clamp's 1e12 gradients) only the
relative tolerance matters.
"""
import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.testing import compare_with_torch, gradcheck
from minicnn.testing.strategies import broadcastable_to, seeds, shapes

ATOL, RTOL = 1e-6, 1e-5
REDUCTIONS = ["none", "mean", "sum"]


def _probabilities(rng, shape, low=0.05):
    """In (low, 1 - low): a central difference (step 1e-6) stays inside (0, 1)."""
    return low + (1 - 2 * low) * rng.random(shape)


def _distribution(rng, shape):
    """Positive entries summing to 1 along dim 1 (or dim 0 for 1-D)."""
    p = rng.random(shape) + 0.05
    return p / p.sum(axis=min(1, len(shape) - 1), keepdims=True)


# ------------------------------------------------------------------ binary_cross_entropy
BCE_GRID = list(itertools.product(REDUCTIONS, [None, (3,), (4, 1), (4, 3)]))


@pytest.mark.parametrize("reduction, weight_shape", BCE_GRID,
                         ids=[f"{r}-{w}" for r, w in BCE_GRID])
def test_bce_matches_torch(reduction, weight_shape):
    rng = np.random.default_rng(len(reduction))
    x = _probabilities(rng, (4, 3), 0.01).astype(np.float32)
    target = rng.random((4, 3)).astype(np.float32)
    weight = None if weight_shape is None else (rng.random(weight_shape) + 0.5).astype(np.float32)

    def call(module, make):
        return lambda a, t: module.binary_cross_entropy(
            a, t, weight=None if weight is None else make(weight), reduction=reduction)

    # The target is differentiable in both engines (the loss is linear in it).
    compare_with_torch(call(F, minicnn.tensor), call(TF, torch.tensor), [x, target],
                       atol=ATOL, rtol=RTOL)


@given(shape=shapes(0, 3), data=st.data(), seed=seeds)
def test_bce_gradcheck(shape, data, seed):
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    weight_shape = data.draw(broadcastable_to(shape))
    rng = np.random.default_rng(seed)
    weight = minicnn.tensor(rng.random(weight_shape) + 0.5) if data.draw(st.booleans()) else None
    x = minicnn.tensor(_probabilities(rng, shape), requires_grad=True)
    target = minicnn.tensor(rng.random(shape), requires_grad=True)
    gradcheck(lambda a, t: F.binary_cross_entropy(a, t, weight=weight, reduction=reduction),
              [x, target])


def test_bce_clamp_and_edges_match_torch():
    """x = 0 and x = 1 exactly: each log is clamped at -100 (a confident wrong answer costs
    100, a confident right one 0), the input gradient's denominator x (1 - x) at 1e-12, and
    the target gradient log(1 - x) - log x is left unclamped (+-inf), all as PyTorch."""
    x = np.array([0.0, 0.0, 1.0, 1.0, 1e-30, 0.5, 1 - 2**-24], np.float32)
    target = np.array([0.0, 0.3, 1.0, 0.6, 0.5, 0.5, 0.0], np.float32)
    compare_with_torch(lambda a, t: F.binary_cross_entropy(a, t, reduction="none"),
                       lambda a, t: TF.binary_cross_entropy(a, t, reduction="none"),
                       [x, target], atol=ATOL, rtol=RTOL)
    loss = F.binary_cross_entropy(minicnn.tensor(np.array([0.0, 1.0])),
                                  minicnn.tensor(np.array([1.0, 0.0])), reduction="none")
    np.testing.assert_array_equal(loss.numpy(), [100.0, 100.0])  # the clamp, by definition


def test_bce_of_sigmoid_equals_bce_with_logits_where_nothing_saturates():
    rng = np.random.default_rng(2)
    logits = minicnn.tensor(rng.standard_normal((5, 4)) * 3)
    target = minicnn.tensor(rng.random((5, 4)))
    np.testing.assert_allclose(
        F.binary_cross_entropy(F.sigmoid(logits), target).item(),
        F.binary_cross_entropy_with_logits(logits, target).item(), rtol=1e-12)


def test_bce_bad_input():
    x = minicnn.tensor(np.full((2, 3), 0.5, np.float32))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input should be "
                                         r"between 0 and 1 .*got 1.5"):
        F.binary_cross_entropy(minicnn.tensor(np.array([0.5, 1.5], np.float32)),
                               minicnn.tensor(np.ones(2, np.float32)))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(minicnn.tensor(np.array([np.nan], np.float32)),
                               minicnn.tensor(np.ones(1, np.float32)))
    with pytest.raises(ValueError, match=r"target must have the input's shape \(2, 3\), got \(3,\)"):
        F.binary_cross_entropy(x, minicnn.tensor(np.ones(3, np.float32)))
    with pytest.raises(ValueError, match=r"weight of shape \(2,\) must broadcast"):
        F.binary_cross_entropy(x, x, weight=minicnn.tensor(np.ones(2, np.float32)))
    with pytest.raises(ValueError, match="weight must not require grad"):
        F.binary_cross_entropy(x, x, weight=minicnn.tensor(np.ones(3, np.float32),
                                                           requires_grad=True))


# ------------------------------------------------------------------ kl_div
KL_GRID = list(itertools.product(["none", "batchmean", "sum", "mean"], [False, True]))


@pytest.mark.parametrize("reduction, log_target", KL_GRID,
                         ids=[f"{r}-{t}" for r, t in KL_GRID])
def test_kl_div_matches_torch(reduction, log_target):
    rng = np.random.default_rng(len(reduction) + log_target)
    x = np.log(_distribution(rng, (4, 5, 2))).astype(np.float32)
    target = _distribution(rng, (4, 5, 2))
    target = (np.log(target) if log_target else target).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'mean' warns in both engines (checked below)
        compare_with_torch(
            lambda a, t: F.kl_div(a, t, reduction=reduction, log_target=log_target),
            lambda a, t: TF.kl_div(a, t, reduction=reduction, log_target=log_target),
            [x, target], atol=ATOL, rtol=RTOL)


@given(shape=shapes(0, 3), seed=seeds, reduction=st.sampled_from(["none", "batchmean", "sum"]),
       log_target=st.booleans())
def test_kl_div_gradcheck(shape, seed, reduction, log_target):
    rng = np.random.default_rng(seed)
    x = minicnn.tensor(np.log(rng.random(shape) + 0.05), requires_grad=True)
    target = rng.random(shape) + 0.05
    target = minicnn.tensor(np.log(target) if log_target else target, requires_grad=True)
    gradcheck(lambda a, t: F.kl_div(a, t, reduction=reduction, log_target=log_target),
              [x, target])


def test_kl_div_batchmean_is_the_kl_divergence_per_sample():
    """sum_c q log(q / p) per row, averaged over rows: the definition, in NumPy."""
    rng = np.random.default_rng(3)
    p, q = _distribution(rng, (3, 4)), _distribution(rng, (3, 4))
    loss = F.kl_div(minicnn.tensor(np.log(p)), minicnn.tensor(q), reduction="batchmean")
    assert loss.item() == pytest.approx((q * np.log(q / p)).sum(axis=1).mean(), rel=1e-12)
    both_logs = F.kl_div(minicnn.tensor(np.log(p)), minicnn.tensor(np.log(q)),
                         reduction="batchmean", log_target=True)
    assert both_logs.item() == pytest.approx(loss.item(), rel=1e-12)


def test_kl_div_zero_target_contributes_nothing_as_torch():
    """0 log 0 = 0: a zero target gives loss 0 and input gradient 0, whatever the input."""
    x = np.array([-1.0, -50.0, -0.5], np.float32)
    target = np.array([0.0, 0.0, 0.4], np.float32)
    compare_with_torch(lambda a, t: F.kl_div(a, t, reduction="none"),
                       lambda a, t: TF.kl_div(a, t, reduction="none"), [x, target],
                       atol=ATOL, rtol=RTOL, grad_inputs=[0])
    # The target's gradient log t + 1 - x tends to -inf as t -> 0; minicnn gives that limit
    # where PyTorch gives nan (0/0 in xlogy's backward): the card's documented difference.
    t = minicnn.tensor(target, requires_grad=True)
    F.kl_div(minicnn.tensor(x), t, reduction="sum").backward()
    assert np.isneginf(t.grad[:2]).all()
    assert t.grad[2] == pytest.approx(np.log(0.4) + 1 + 0.5, rel=1e-6)


def test_kl_div_mean_warns_as_torch():
    x = minicnn.tensor(np.log(np.full((2, 2), 0.5)))
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(x, x.exp())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(x, x.exp(), reduction="batchmean")


def test_kl_div_bad_input():
    x = minicnn.tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"kl_div: reduction must be one of \('none', "
                                         r"'batchmean', 'sum', 'mean'\), got 'avg'"):
        F.kl_div(x, x, reduction="avg")
    with pytest.raises(ValueError, match=r"kl_div: target must have the input's shape \(2, 3\)"):
        F.kl_div(x, minicnn.tensor(np.zeros((1, 3), np.float32)), reduction="sum")
    with pytest.raises(TypeError, match="kl_div: log_target must be a bool"):
        F.kl_div(x, x, reduction="sum", log_target="yes")


# ------------------------------------------------------------------ one_hot
@given(shape=shapes(0, 3), seed=seeds, extra=st.integers(-1, 3))
def test_one_hot_matches_torch(shape, seed, extra):
    """num_classes = -1 (inferred: max + 1) or max + 1 + extra - 1 >= max + 1."""
    indices = np.random.default_rng(seed).integers(0, 4, size=shape)
    num_classes = -1 if extra == -1 else int(indices.max()) + 1 + extra
    ours = F.one_hot(minicnn.tensor(indices), num_classes)
    theirs = TF.one_hot(torch.from_numpy(indices), num_classes)
    assert ours.dtype == np.int64 and not ours.requires_grad
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_one_hot_of_an_empty_tensor_needs_num_classes():
    empty = minicnn.tensor(np.zeros((0, 2), np.int64))
    assert F.one_hot(empty, 3).shape == tuple(TF.one_hot(torch.zeros((0, 2), dtype=torch.long),
                                                         3).shape) == (0, 2, 3)
    with pytest.raises(ValueError, match=r"one_hot: cannot infer num_classes from an empty "
                                         r"tensor \(shape \(0, 2\)\)"):
        F.one_hot(empty)


@pytest.mark.parametrize("indices, num_classes, error, message", [
    (np.array([0, -1]), -1, ValueError, "class values must be non-negative, got -1"),
    (np.array([0, 3]), 3, ValueError, "class values must be smaller than num_classes=3, got 3"),
    (np.array([0, 1]), -2, ValueError, r"num_classes must be -1 \(one more than the largest"),
    (np.array([0, 1], np.int32), 3, TypeError, "tensor must hold int64 class indices .* got dtype int32"),
    (np.array([0.0, 1.0]), 3, TypeError, "tensor must hold int64 .* got dtype float64"),
    (np.array([0, 1]), 2.0, TypeError, "num_classes must be an int"),
])
def test_one_hot_bad_input(indices, num_classes, error, message):
    with pytest.raises(error, match=f"one_hot: {message}"):
        F.one_hot(minicnn.tensor(indices), num_classes)
