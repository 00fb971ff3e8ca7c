"""l1_loss, smooth_l1_loss, huber_loss: gradients, PyTorch parity over every reduction and
parameter, the family identities, bad input.

Tolerances. float64 gradchecks use the harness defaults (atol 1e-5, rtol 1e-4).
float32 parity with PyTorch: atol 1e-6, rtol 1e-5, as in test_loss.py (a sum
of a few dozen O(1) float32 terms; a gradient entry is one clipped difference
divided by the element count), while a wrong piece, a wrong threshold or a
wrong normaliser is off by 10% or more.
"""
import itertools

import numpy as np
import pytest
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.testing import compare_with_torch, gradcheck
from minicnn.testing.strategies import seeds, shapes

ATOL, RTOL = 1e-6, 1e-5
REDUCTIONS = ["none", "mean", "sum"]


def _pair(rng, shape, dtype=np.float64):
    """Input and target whose differences (scale ~2.2) fall on both pieces for every
    threshold used below."""
    return [(rng.standard_normal(shape) * 2).astype(dtype), rng.standard_normal(shape).astype(dtype)]


def _clear_of(x, target, thresholds, margin=1e-3):
    """Move x so that |x - t| is >= margin away from 0 and from each threshold: central
    differences must not straddle l1's kink (nor a piece boundary, where the second
    derivative jumps; harmless, but it keeps the truncation error at its smooth size)."""
    difference = x - target
    for point in (0.0,) + tuple(thresholds) + tuple(-t for t in thresholds):
        near = np.abs(difference - point) < margin
        difference = np.where(near, point + np.where(difference >= point, margin, -margin),
                              difference)
    return target + difference


CASES = {
    "l1_loss": ({}, {"weight": True}),
    "smooth_l1_loss": ({}, {"beta": 0.5}, {"beta": 2.0}, {"beta": 0.0}),
    "huber_loss": ({}, {"delta": 0.5}, {"delta": 2.0}, {"delta": 1.5, "weight": True}),
}
GRID = [(name, params, reduction) for name, all_params in CASES.items()
        for params, reduction in itertools.product(all_params, REDUCTIONS)]


def _call(module, name, params, reduction):
    """``module.<name>`` with the drawn parameters; a weight is the third input."""
    kwargs = {k: v for k, v in params.items() if k != "weight"}
    if params.get("weight"):
        return lambda x, t, w: getattr(module, name)(x, t, reduction=reduction, weight=w, **kwargs)
    return lambda x, t: getattr(module, name)(x, t, reduction=reduction, **kwargs)


@pytest.mark.parametrize("name, params, reduction", GRID,
                         ids=[f"{n}-{p}-{r}" for n, p, r in GRID])
def test_matches_torch(name, params, reduction):
    rng = np.random.default_rng(len(name) + 3 * len(reduction))
    inputs = _pair(rng, (4, 3, 2), np.float32)
    if params.get("weight"):
        inputs.append((rng.random((4, 3, 2)) + 0.5).astype(np.float32))
    compare_with_torch(_call(F, name, params, reduction), _call(TF, name, params, reduction),
                       inputs, atol=ATOL, rtol=RTOL)


@given(name=st.sampled_from(list(CASES)), data=st.data(), shape=shapes(0, 3), seed=seeds)
def test_gradcheck(name, data, shape, seed):
    params = data.draw(st.sampled_from(CASES[name]))
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    rng = np.random.default_rng(seed)
    x, target = _pair(rng, shape)
    threshold = params.get("beta", params.get("delta", 1.0))
    x = _clear_of(x, target, (threshold,) if threshold else ())
    inputs = [minicnn.tensor(x, requires_grad=True), minicnn.tensor(target, requires_grad=True)]
    if params.get("weight"):
        inputs.append(minicnn.tensor(rng.random(shape) + 0.5, requires_grad=True))
    gradcheck(_call(F, name, params, reduction), inputs)


def test_l1_gradient_at_zero_difference_is_zero_as_torch():
    x = np.array([1.0, 2.0, -3.0], np.float32)
    compare_with_torch(lambda a, t: F.l1_loss(a, t, reduction="sum"),
                       lambda a, t: TF.l1_loss(a, t, reduction="sum"), [x, x.copy()],
                       atol=ATOL, rtol=RTOL)


def test_the_family_identities():
    """smooth_l1(beta) = huber(delta=beta) / beta; huber's gradient is clip(d, -delta, delta);
    for beta -> 0 smooth_l1 tends to l1 (and beta = 0 is l1 exactly)."""
    rng = np.random.default_rng(1)
    x, target = (minicnn.tensor(a) for a in _pair(rng, (50,)))
    for beta in (0.3, 1.0, 2.5):
        np.testing.assert_allclose(F.smooth_l1_loss(x, target, reduction="none", beta=beta).numpy(),
                                   F.huber_loss(x, target, reduction="none", delta=beta).numpy() / beta,
                                   rtol=1e-14)
    l1 = F.l1_loss(x, target, reduction="none").numpy()
    np.testing.assert_array_equal(F.smooth_l1_loss(x, target, reduction="none", beta=0.0).numpy(), l1)
    np.testing.assert_allclose(F.smooth_l1_loss(x, target, reduction="none", beta=1e-9).numpy(), l1,
                               atol=1e-9)
    leaf = minicnn.tensor(x.numpy(), requires_grad=True)
    F.huber_loss(leaf, target, reduction="sum", delta=0.7).backward()
    np.testing.assert_allclose(leaf.grad, np.clip(x.numpy() - target.numpy(), -0.7, 0.7),
                               rtol=1e-15)


def test_weighted_means_follow_torch_2_13():
    """l1_loss's weighted 'mean' divides by sum(weight); huber_loss's by the element count
    (PyTorch 2.13's two rules, derived here by hand)."""
    x = minicnn.tensor(np.array([3.0, -1.0]))
    target = minicnn.tensor(np.array([0.0, 0.0]))
    weight = minicnn.tensor(np.array([2.0, 6.0]))
    assert F.l1_loss(x, target, weight=weight).item() == pytest.approx((2 * 3 + 6 * 1) / 8)
    # huber, delta 1: |3| -> 1 * (3 - 0.5) = 2.5; |-1| is not < 1 -> 1 * (1 - 0.5) = 0.5
    assert F.huber_loss(x, target, weight=weight).item() == pytest.approx((2 * 2.5 + 6 * 0.5) / 2)


X = minicnn.tensor(np.zeros((4, 3), np.float32))


@pytest.mark.parametrize("loss", [F.l1_loss, F.smooth_l1_loss, F.huber_loss])
def test_targets_are_never_broadcast(loss):
    with pytest.raises(ValueError, match=r"target must have the input's shape \(4, 3\), got "
                                         r"\(4, 1\) \(minicnn never broadcasts"):
        loss(X, minicnn.tensor(np.zeros((4, 1), np.float32)))
    with pytest.raises(TypeError, match="target must have the input's dtype float32"):
        loss(X, minicnn.tensor(np.zeros((4, 3), np.float64)))
    with pytest.raises(ValueError, match=r"reduction must be one of \('none', 'mean', 'sum'\)"):
        loss(X, X, reduction="batchmean")


def test_bad_parameters():
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0, got -1.0"):
        F.smooth_l1_loss(X, X, beta=-1.0)
    with pytest.raises(ValueError, match="huber_loss: delta must be > 0, got 0.0"):
        F.huber_loss(X, X, delta=0.0)
    with pytest.raises(ValueError, match=r"l1_loss: weight must have the input's shape \(4, 3\)"):
        F.l1_loss(X, X, weight=minicnn.tensor(np.ones(3, np.float32)))
    with pytest.raises(TypeError, match="huber_loss: input must be a floating-point"):
        F.huber_loss(minicnn.tensor(np.zeros((4, 3), np.int64)), X)
