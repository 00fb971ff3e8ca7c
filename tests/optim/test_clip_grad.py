"""``minicnn.nn.utils.clip_grad_norm_`` / ``clip_grad_value_`` against torch.nn.utils.

Tolerance: the norms are float32 reductions summed in a different order
(BLAS dot against PyTorch's vectorised reduction): rtol 1e-5.
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minicnn.nn import Parameter
from minicnn.nn.utils import clip_grad_norm_, clip_grad_value_


def pair_with_grads(seed, scale, shapes=((3, 4), (7,), (2, 2, 3, 3))):
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shape in shapes:
        p = Parameter(np.zeros(shape, np.float32))
        q = torch.nn.Parameter(torch.zeros(shape))
        grad = (scale * rng.standard_normal(shape)).astype(np.float32)
        p.grad, q.grad = grad.copy(), torch.from_numpy(grad.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


@given(seed=st.integers(0, 100), scale=st.sampled_from([1e-3, 1.0, 30.0]),
       max_norm=st.sampled_from([0.0, 0.5, 5.0, 1e3]),
       norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]))
def test_clip_grad_norm_matches_torch(seed, scale, max_norm, norm_type):
    ours, theirs = pair_with_grads(seed, scale)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-5)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-5, atol=1e-12)


def test_clipped_norm_is_max_norm_and_direction_kept():
    ours, _ = pair_with_grads(0, 10.0)
    before = np.concatenate([p.grad.ravel() for p in ours])
    total = clip_grad_norm_(ours, 1.0)
    after = np.concatenate([p.grad.ravel() for p in ours])
    assert total.item() == pytest.approx(np.linalg.norm(before.astype(np.float64)), rel=1e-5)
    assert np.linalg.norm(after) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(after * total.item(), before, rtol=1e-4, atol=1e-5)


def test_parameters_without_grad_are_skipped_and_a_single_tensor_works():
    ours, _ = pair_with_grads(0, 1.0)
    ours[1].grad = None
    clip_grad_norm_(ours, 0.1)
    assert ours[1].grad is None
    single = Parameter(np.zeros(3, np.float32))
    single.grad = np.array([3.0, 4.0, 0.0], np.float32)
    assert clip_grad_norm_(single, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(single.grad, [0.6, 0.8, 0.0], rtol=1e-5)


def test_nonfinite_norm():
    ours, _ = pair_with_grads(0, 1.0)
    ours[0].grad[0, 0] = np.inf
    saved = [p.grad.copy() for p in ours]
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    for p, s in zip(ours, saved):
        np.testing.assert_array_equal(p.grad, s)


def test_bad_max_norm():
    ours, _ = pair_with_grads(0, 1.0)
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(ours, -1.0)
    with pytest.raises(TypeError, match="Tensors"):
        clip_grad_norm_([np.zeros(3)], 1.0)


def test_clip_grad_value_matches_torch():
    ours, theirs = pair_with_grads(3, 2.0)
    clip_grad_value_(ours, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad, q.grad.numpy())
