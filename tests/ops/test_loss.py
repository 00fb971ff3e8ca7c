"""Losses: gradients, PyTorch parity over every argument combination, edge cases, bad input.

Tolerances. float64 gradchecks use the harness defaults (atol 1e-5, rtol 1e-4).
float32 parity with PyTorch uses atol 1e-6, rtol 1e-5: a loss is a sum of a
few dozen O(1) float32 terms (relative rounding ~1e-7 per term, a few 1e-7
in the sum) and a gradient entry is one or two such terms divided by the
batch, while a wrong normaliser or a misplaced weight changes results by
10% or more.
"""
import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.testing import compare_with_torch, gradcheck

ATOL, RTOL = 1e-6, 1e-5
REDUCTIONS = ["none", "mean", "sum"]
seeds = st.integers(0, 2**32 - 1)


def _probabilities(rng, shape, axis):
    """A random distribution along ``axis`` (what a float cross_entropy target holds)."""
    p = rng.random(shape) + 0.05
    return p / p.sum(axis=axis, keepdims=True)


def _class_target(rng, shape, n_classes, ignore_index=None, fraction=0.3):
    """Class indices, with about ``fraction`` of positions set to ``ignore_index`` (and at
    least one position kept, so that a 'mean' stays finite)."""
    target = rng.integers(0, n_classes, size=shape)
    if ignore_index is not None and target.size:
        ignored = rng.random(shape) < fraction
        ignored.reshape(-1)[0] = False
        ignored.reshape(-1)[-1] = True if target.size > 1 else False
        target[ignored] = ignore_index
    return target


# ------------------------------------------------------------------ cross_entropy grid
def _grid():
    cases = []
    for kind, weighted, ignore, reduction, smoothing, spatial in itertools.product(
            ["index", "probability"], [False, True], ["unused", "-100", "in range"], REDUCTIONS,
            [0.0, 0.1], [False, True]):
        if kind == "probability" and ignore != "unused":
            continue  # ignore_index applies only to class indices (tested to raise below)
        cases.append((kind, weighted, ignore, reduction, smoothing, spatial))
    return cases


GRID = _grid()


@pytest.mark.parametrize("kind, weighted, ignore, reduction, smoothing, spatial", GRID,
                         ids=["-".join(map(str, case)) for case in GRID])
def test_cross_entropy_matches_torch(kind, weighted, ignore, reduction, smoothing, spatial):
    rng = np.random.default_rng(len(kind) + 7 * weighted + 3 * len(ignore) + len(reduction))
    n_classes = 4
    shape = (3, n_classes, 3, 2) if spatial else (6, n_classes)
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    weight = (rng.random(n_classes) + 0.5).astype(np.float32)
    kwargs = dict(reduction=reduction, label_smoothing=smoothing)
    if kind == "probability":
        target = _probabilities(rng, shape, 1).astype(np.float32)
    else:
        ignore_index = {"unused": None, "-100": -100, "in range": 2}[ignore]
        target = _class_target(rng, (shape[0],) + shape[2:], n_classes, ignore_index)
        if ignore_index is not None:
            kwargs["ignore_index"] = ignore_index

    def ours(x, target, weight):
        return F.cross_entropy(x, target, weight=weight if weighted else None, **kwargs)

    def theirs(x, target, weight):
        return TF.cross_entropy(x, target, weight=weight if weighted else None, **kwargs)

    # Probability targets are differentiable (in both engines); indices and weights are not.
    grad_inputs = [0, 1] if kind == "probability" else [0]
    compare_with_torch(ours, theirs, [x, target, weight], atol=ATOL, rtol=RTOL,
                       grad_inputs=grad_inputs)


def test_cross_entropy_single_sample_input():
    """Input (C,) with a 0-d class target or a (C,) probability target, as in PyTorch."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(5).astype(np.float32)
    weight = (rng.random(5) + 0.5).astype(np.float32)
    for target in (np.array(3), _probabilities(rng, (5,), 0).astype(np.float32)):
        for smoothing in (0.0, 0.2):
            compare_with_torch(
                lambda a, t, w: F.cross_entropy(a, t, weight=w, label_smoothing=smoothing),
                lambda a, t, w: TF.cross_entropy(a, t, weight=w, label_smoothing=smoothing),
                [x, target, weight], atol=ATOL, rtol=RTOL, grad_inputs=[0])


@given(data=st.data(), seed=seeds)
@settings(max_examples=10)
def test_cross_entropy_gradcheck(data, seed):
    n = data.draw(st.integers(1, 3))
    n_classes = data.draw(st.integers(1, 4))
    spatial = tuple(data.draw(st.lists(st.integers(1, 2), max_size=2)))
    kind = data.draw(st.sampled_from(["index", "probability"]))
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    smoothing = data.draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    weighted = data.draw(st.booleans())
    rng = np.random.default_rng(seed)
    shape = (n, n_classes) + spatial
    x = minicnn.tensor(rng.standard_normal(shape) * 2, requires_grad=True)
    weight = minicnn.tensor(rng.random(n_classes) + 0.5) if weighted else None
    if kind == "probability":
        target = minicnn.tensor(_probabilities(rng, shape, 1), requires_grad=True)
        ignore_index = -100
    else:
        ignore_index = -1
        target = minicnn.tensor(_class_target(rng, (n,) + spatial, n_classes, ignore_index))
    gradcheck(lambda a, t: F.cross_entropy(a, t, weight=weight, ignore_index=ignore_index,
                                           reduction=reduction, label_smoothing=smoothing),
              [x, target])


def test_cross_entropy_all_targets_ignored_gives_nan_and_zero_gradient():
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    target = np.full(4, -100)
    for smoothing, weight in [(0.0, None), (0.1, None), (0.0, np.array([1, 2, 3], np.float32))]:
        def ours(a, t):
            return F.cross_entropy(a, t, label_smoothing=smoothing,
                                   weight=None if weight is None else minicnn.tensor(weight))

        def theirs(a, t):
            return TF.cross_entropy(a, t, label_smoothing=smoothing,
                                    weight=None if weight is None else torch.tensor(weight))

        report = compare_with_torch(ours, theirs, [x, target], grad_inputs=[0])
        assert report.passed
        t = minicnn.tensor(x, requires_grad=True)
        loss = ours(t, target)
        assert np.isnan(loss.item())
        loss.backward()
        np.testing.assert_array_equal(t.grad, 0)


def test_cross_entropy_empty_batch():
    x = np.zeros((0, 3), np.float32)
    for target in (np.zeros(0, np.int64), np.zeros((0, 3), np.float32)):
        for reduction in REDUCTIONS:
            ours = F.cross_entropy(minicnn.tensor(x), minicnn.tensor(target), reduction=reduction)
            theirs = TF.cross_entropy(torch.tensor(x), torch.tensor(target), reduction=reduction)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_cross_entropy_is_stable_for_huge_logits():
    x = minicnn.tensor(np.array([[1000.0, 0.0, -1000.0]], np.float32), requires_grad=True)
    loss = F.cross_entropy(x, np.array([1]))
    loss.backward()
    # -log softmax at class 1 = logsumexp - 0 = 1000 (the other terms are e^-1000 ~ 0).
    assert loss.item() == pytest.approx(1000.0)
    np.testing.assert_allclose(x.grad, [[1.0, -1.0, 0.0]], atol=1e-6)


def test_legacy_size_average_and_reduce_follow_pytorch():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    target = rng.integers(0, 3, 5)
    for size_average, reduce in itertools.product([None, True, False], repeat=2):
        if size_average is None and reduce is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = TF.cross_entropy(torch.tensor(x), torch.tensor(target),
                                      size_average=size_average, reduce=reduce)
        with pytest.warns(UserWarning, match="size_average and reduce"):
            ours = F.cross_entropy(minicnn.tensor(x), target, size_average=size_average,
                                   reduce=reduce)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=ATOL, rtol=RTOL)


# ------------------------------------------------------------------ nll_loss
NLL_GRID = list(itertools.product([False, True], [None, 1], REDUCTIONS, [(6,), (2, 3, 2)]))


@pytest.mark.parametrize("weighted, ignore_index, reduction, positions", NLL_GRID,
                         ids=["-".join(map(str, case)) for case in NLL_GRID])
def test_nll_loss_matches_torch(weighted, ignore_index, reduction, positions):
    rng = np.random.default_rng(len(positions) + 2 * weighted)
    n_classes = 3
    shape = (positions[0], n_classes) + positions[1:]
    x = np.log(_probabilities(rng, shape, 1)).astype(np.float32)
    target = _class_target(rng, positions, n_classes, ignore_index)
    weight = (rng.random(n_classes) + 0.5).astype(np.float32)
    kwargs = dict(reduction=reduction)
    if ignore_index is not None:
        kwargs["ignore_index"] = ignore_index
    compare_with_torch(
        lambda a, t, w: F.nll_loss(a, t, weight=w if weighted else None, **kwargs),
        lambda a, t, w: TF.nll_loss(a, t, weight=w if weighted else None, **kwargs),
        [x, target, weight], atol=ATOL, rtol=RTOL, grad_inputs=[0])


@given(data=st.data(), seed=seeds)
def test_nll_loss_gradcheck(data, seed):
    n = data.draw(st.integers(1, 4))
    n_classes = data.draw(st.integers(1, 4))
    spatial = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    weighted = data.draw(st.booleans())
    rng = np.random.default_rng(seed)
    x = minicnn.tensor(rng.standard_normal((n, n_classes) + spatial), requires_grad=True)
    target = minicnn.tensor(_class_target(rng, (n,) + spatial, n_classes, ignore_index=-100))
    weight = minicnn.tensor(rng.random(n_classes) + 0.5) if weighted else None
    gradcheck(lambda a, t: F.nll_loss(a, t, weight=weight, reduction=reduction), [x, target])


def test_nll_loss_weighted_mean_divides_by_the_kept_weights():
    """The rule itself, derived by hand: sum(-w[t] x[t]) / sum(w[t]) over kept targets."""
    x = np.array([[-1.0, -2.0], [-3.0, -4.0], [-5.0, -6.0]])
    weight = np.array([2.0, 10.0])
    target = np.array([1, 0, -100])
    loss = F.nll_loss(minicnn.tensor(x), target, weight=minicnn.tensor(weight))
    assert loss.item() == pytest.approx((10 * 2.0 + 2 * 3.0) / (10 + 2))


# ------------------------------------------------------------------ mse_loss
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_mse_loss_matches_torch(reduction, weighted):
    rng = np.random.default_rng(5)
    x, target, weight = (rng.standard_normal((4, 3, 2)).astype(np.float32) for _ in range(3))
    weight = np.abs(weight) + 0.1
    if weighted:
        compare_with_torch(lambda a, t, w: F.mse_loss(a, t, reduction=reduction, weight=w),
                           lambda a, t, w: TF.mse_loss(a, t, reduction=reduction, weight=w),
                           [x, target, weight], atol=ATOL, rtol=RTOL)
    else:
        compare_with_torch(lambda a, t: F.mse_loss(a, t, reduction=reduction),
                           lambda a, t: TF.mse_loss(a, t, reduction=reduction),
                           [x, target], atol=ATOL, rtol=RTOL)


@given(shape=st.lists(st.integers(1, 4), max_size=3).map(tuple), seed=seeds,
       reduction=st.sampled_from(REDUCTIONS), weighted=st.booleans())
def test_mse_loss_gradcheck(shape, seed, reduction, weighted):
    rng = np.random.default_rng(seed)
    x, target = (minicnn.tensor(rng.standard_normal(shape), requires_grad=True) for _ in range(2))
    inputs = [x, target]
    if weighted:
        inputs.append(minicnn.tensor(rng.random(shape) + 0.5, requires_grad=True))
    gradcheck(lambda *t: F.mse_loss(t[0], t[1], reduction=reduction,
                                    weight=t[2] if weighted else None), inputs)


# ------------------------------------------------------------------ BCE with logits
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape, pos_weight_shape",
                         [(None, None), ((5, 1), None), (None, (3,)), ((3,), (5, 3)),
                          ((5, 3), (1,))])
def test_bce_with_logits_matches_torch(reduction, weight_shape, pos_weight_shape):
    rng = np.random.default_rng(6)
    # Logits up to +-60: e^60 overflows nothing in the stable form, but a naive
    # log(sigmoid(x)) would give log(0) = -inf in float32.
    x = (rng.standard_normal((5, 3)) * 30).astype(np.float32)
    target = rng.random((5, 3)).astype(np.float32)
    extra = [(rng.random(s) * 3).astype(np.float32) if s else None
             for s in (weight_shape, pos_weight_shape)]
    compare_with_torch(
        lambda a, t: F.binary_cross_entropy_with_logits(
            a, t, weight=_t(extra[0], minicnn.tensor), pos_weight=_t(extra[1], minicnn.tensor),
            reduction=reduction),
        lambda a, t: TF.binary_cross_entropy_with_logits(
            a, t, weight=_t(extra[0], torch.tensor), pos_weight=_t(extra[1], torch.tensor),
            reduction=reduction),
        [x, target], atol=ATOL, rtol=RTOL)


def _t(array, make):
    return None if array is None else make(array)


@given(data=st.data(), seed=seeds)
def test_bce_with_logits_gradcheck(data, seed):
    shape = tuple(data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    # Broadcastable weights: drop leading dims, set some sides to 1 (drawn, not filtered).
    drop_w, drop_p = data.draw(st.integers(0, len(shape))), data.draw(st.integers(0, len(shape)))
    ones = data.draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    weight_shape = tuple(1 if one else side for side, one in zip(shape, ones))[drop_w:]
    rng = np.random.default_rng(seed)
    x = minicnn.tensor(rng.standard_normal(shape) * 3, requires_grad=True)
    target = minicnn.tensor(rng.random(shape), requires_grad=True)
    weight = minicnn.tensor(rng.random(weight_shape) + 0.5) if data.draw(st.booleans()) else None
    pos_weight = (minicnn.tensor(rng.random(shape[drop_p:]) * 3)
                  if data.draw(st.booleans()) else None)
    gradcheck(lambda a, t: F.binary_cross_entropy_with_logits(
        a, t, weight=weight, pos_weight=pos_weight, reduction=reduction), [x, target])


def test_bce_with_logits_is_finite_for_huge_logits():
    x = minicnn.tensor(np.array([-1e4, -100.0, 100.0, 1e4], np.float32), requires_grad=True)
    target = minicnn.tensor(np.array([1.0, 0.0, 1.0, 0.0], np.float32))
    loss = F.binary_cross_entropy_with_logits(x, target, reduction="none")
    loss.sum().backward()
    # Wrong-side logits cost |x| (softplus(|x|) = |x| + log1p(e^-|x|)); right-side cost ~0.
    np.testing.assert_allclose(loss.numpy(), [1e4, 0.0, 0.0, 1e4], atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(x.grad, [-1.0, 0.0, 0.0, 1.0], atol=1e-6)  # s(x) - t


# ------------------------------------------------------------------ bad input
X = minicnn.tensor(np.zeros((4, 3), np.float32))
TARGET = minicnn.tensor(np.array([0, 1, 2, 0]))


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_class_index_out_of_range(loss):
    for bad in (3, -1):
        target = minicnn.tensor(np.array([0, bad, 1, 2]))
        with pytest.raises(ValueError, match=rf"target contains class index {bad}, outside the "
                                             rf"valid range \[0, 2\]"):
            loss(X, target)


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_class_target_shape_and_dtype(loss):
    with pytest.raises(ValueError, match=r"target must have shape \(4,\)"):
        loss(X, minicnn.tensor(np.array([0, 1, 2])))
    with pytest.raises(ValueError, match=r"target must have shape \(2, 5\)"):
        loss(minicnn.tensor(np.zeros((2, 3, 5), np.float32)), minicnn.tensor(np.zeros((2, 4), int)))
    with pytest.raises(TypeError, match="target must hold class indices"):
        loss(X, minicnn.tensor(np.array([True, False, True, True])))


def test_probability_target_shape_dtype_and_ignore_index():
    with pytest.raises(ValueError, match=r"float target .* must have the input's shape \(4, 3\)"):
        F.cross_entropy(X, minicnn.tensor(np.zeros((4, 2), np.float32)))
    with pytest.raises(TypeError, match="target must have the input's dtype float32"):
        F.cross_entropy(X, minicnn.tensor(np.zeros((4, 3), np.float64)))
    with pytest.raises(ValueError, match="ignore_index=1 is not supported"):
        F.cross_entropy(X, minicnn.tensor(np.zeros((4, 3), np.float32)), ignore_index=1)


@pytest.mark.parametrize("loss", [
    lambda **kw: F.cross_entropy(X, TARGET, **kw), lambda **kw: F.nll_loss(X, TARGET, **kw),
    lambda **kw: F.mse_loss(X, X, **kw),
    lambda **kw: F.binary_cross_entropy_with_logits(X, X, **kw)])
def test_unknown_reduction_lists_the_valid_ones(loss):
    with pytest.raises(ValueError, match=r"reduction must be one of \('none', 'mean', 'sum'\), "
                                         r"got 'avg'"):
        loss(reduction="avg")


@pytest.mark.parametrize("smoothing", [-0.1, 1.5])
def test_label_smoothing_outside_unit_interval(smoothing):
    with pytest.raises(ValueError, match=rf"label_smoothing must be in \[0, 1\], got {smoothing}"):
        F.cross_entropy(X, TARGET, label_smoothing=smoothing)


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss])
def test_class_weight_checks(loss):
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        loss(X, TARGET, weight=minicnn.tensor(np.ones(4, np.float32)))
    with pytest.raises(TypeError, match="weight must have the input's dtype float32"):
        loss(X, TARGET, weight=minicnn.tensor(np.ones(3, np.float64)))
    with pytest.raises(ValueError, match="weight must not require grad"):
        loss(X, TARGET, weight=minicnn.tensor(np.ones(3, np.float32), requires_grad=True))


def test_mse_loss_never_broadcasts():
    with pytest.raises(ValueError,
                       match=r"target must have the input's shape \(4, 3\), got \(3,\)"):
        F.mse_loss(X, minicnn.tensor(np.zeros(3, np.float32)))
    with pytest.raises(ValueError, match=r"weight must have the input's shape"):
        F.mse_loss(X, X, weight=minicnn.tensor(np.ones(3, np.float32)))


def test_bce_with_logits_shapes():
    with pytest.raises(ValueError, match=r"target must have the input's shape \(4, 3\)"):
        F.binary_cross_entropy_with_logits(X, minicnn.tensor(np.zeros((4, 1), np.float32)))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) must broadcast"):
        F.binary_cross_entropy_with_logits(X, X, pos_weight=minicnn.tensor(np.ones(2, np.float32)))
    with pytest.raises(ValueError, match=r"weight of shape \(2, 4, 3\) must broadcast"):
        F.binary_cross_entropy_with_logits(
            X, X, weight=minicnn.tensor(np.ones((2, 4, 3), np.float32)))


@pytest.mark.parametrize("loss", [F.cross_entropy, F.nll_loss, F.mse_loss,
                                  F.binary_cross_entropy_with_logits])
def test_integer_input_is_rejected(loss):
    with pytest.raises(TypeError, match="input must be a floating-point"):
        loss(minicnn.tensor(np.zeros((4, 3), np.int64)), TARGET)
