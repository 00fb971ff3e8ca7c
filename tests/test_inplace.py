"""In-place methods (add_, sub_, mul_, div_, clamp_, fill_, zero_, copy_, masked_fill_) and
their safety.

Legal programs: the same code runs on minicnn and on PyTorch (float64, so the
gradients agree to rounding: 1e-12), in-place changes on intermediates
included. Illegal ones raise where PyTorch raises: a saved array changed
before backward (with the op and the versions in the message), a leaf that
requires grad changed under grad mode, a result that does not fit.
"""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minicnn
from minicnn.testing.strategies import broadcastable_to, seeds, shapes


def _both(arrays, grad=True):
    ours = [minicnn.tensor(a, requires_grad=grad) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad) for a in arrays]
    return ours, theirs


def _same_gradients(program, arrays):
    """Run ``program(lib, *leaves)`` on both libraries; compare the loss and every gradient."""
    ours, theirs = _both(arrays)
    loss_ours, loss_theirs = program(minicnn, *ours), program(torch, *theirs)
    loss_ours.backward()
    loss_theirs.backward()
    np.testing.assert_allclose(loss_ours.item(), loss_theirs.item(), rtol=1e-12)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-12, atol=1e-12)
    return ours


def _chain(lib, x, w):
    y = x * w  # an intermediate, changed in place below
    y.add_(w, alpha=2).mul_(3).sub_(x, alpha=0.5).div_(w * w + 1)
    y.clamp_(min=-1.0, max=1.5)
    z = y * x
    z.add_(1.0).mul_(2.0)
    return (z * y).sum()


@given(shape=shapes(0, 3), seed=seeds, data=st.data())
def test_arithmetic_in_place_gradients_match_torch(shape, seed, data):
    rng = np.random.default_rng(seed)
    w_shape = data.draw(broadcastable_to(shape))
    _same_gradients(_chain, [rng.standard_normal(shape), rng.standard_normal(w_shape)])


def test_graph_recorded_before_an_in_place_change_keeps_the_old_value():
    def program(lib, x):
        y = x * 2
        before = y + 1  # consumed the old y; its gradient must not pass through mul_
        y.mul_(5)
        return (before * before).sum() + y.sum()

    _same_gradients(program, [np.array([1.0, -2.0, 3.0])])


def test_fill_zero_copy_and_masked_fill_gradients_match_torch():
    def program(lib, x, scalar, src):
        # Each consumer saves exp(y), not y, so changing y afterwards is legal in both.
        y = x * 3
        a = y.exp().sum()
        y.fill_(scalar[0])  # a 0-d tensor value: its gradient is the sum
        b = (y.exp() * x).sum()
        y.copy_(src * 2)  # src broadcasts over the rows
        c = (y.exp() * x).sum()
        y.masked_fill_(src > 0, 0.5)  # the mask broadcasts over the rows
        c = c + (y.exp() * x).sum()
        y.zero_()
        return a + b + c + (y * x).sum()

    rng = np.random.default_rng(0)
    _same_gradients(program, [rng.standard_normal((2, 3)), rng.standard_normal(1),
                              rng.standard_normal(3)])


def test_in_place_without_grad_changes_values_and_versions_as_torch():
    rng = np.random.default_rng(1)
    ours, theirs = _both([rng.standard_normal((2, 3)), rng.standard_normal(3)], grad=False)
    for lib, (x, w) in ((minicnn, ours), (torch, theirs)):
        x.add_(w, alpha=-2).sub_(1).mul_(w).div_(2.0).clamp_(max=0.5)
        x.clamp_(min=-3)
        x[0].mul_(4)  # a view: the change is seen by x
    np.testing.assert_allclose(ours[0].numpy(), theirs[0].numpy(), rtol=1e-12)
    assert ours[0]._version == theirs[0]._version
    ints = minicnn.arange(4)
    assert ints.add_(2).mul_(3).tolist() == torch.arange(4).add_(2).mul_(3).tolist()


def test_leaf_update_under_no_grad_is_legal_and_bumps_the_version():
    x = minicnn.tensor([1.0, 2.0], requires_grad=True)
    with minicnn.no_grad():
        x.sub_(0.5).zero_().add_(3)
    assert x.is_leaf and x.requires_grad and x.tolist() == [3.0, 3.0] and x._version == 3
    (x * x).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def _saved_then_changed(lib, x):
    y = x.exp()  # saves its output
    y.add_(1)
    return y.sum()


def _input_saved_then_changed(lib, x):
    y = x * 2
    z = y * y  # saves y
    y.sub_(1)
    return z.sum()


def _view_of_saved_output_changed(lib, x):
    y = torch.sigmoid(x) if lib is torch else x.sigmoid()
    with lib.no_grad():
        y.view(-1).mul_(2)  # the view shares y's memory and its version counter
    return y.sum()


@pytest.mark.parametrize("program, message", [
    (_saved_then_changed, r"ExpBackward.*\(add_\): its output is at version 1, expected version 0"),
    (_input_saved_then_changed, r"MulBackward.*\(sub_\): its input 0 is at version 1, expected "
                                r"version 0"),
    (_view_of_saved_output_changed, r"SigmoidBackward.*\(mul_\): its output is at version 1"),
])
def test_changing_a_saved_array_raises_at_backward_as_torch(program, message):
    ours, theirs = _both([np.array([0.5, -1.0])])
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        program(torch, *theirs).backward()
    loss = program(minicnn, *ours)
    with pytest.raises(RuntimeError, match=message):
        loss.backward()
    assert ours[0].grad is None  # nothing was accumulated before the error


@pytest.mark.parametrize("change", [
    lambda lib, x: x.add_(1), lambda lib, x: x.mul_(2), lambda lib, x: x.zero_(),
    lambda lib, x: x.copy_(lib.ones(2, dtype=lib.float64)), lambda lib, x: x.clamp_(0, 1),
])
def test_leaf_that_requires_grad_cannot_change_in_place(change):
    ours, theirs = _both([np.array([0.5, -1.0])])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        change(torch, theirs[0])
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad cannot be changed "
                                           "in place"):
        change(minicnn, ours[0])
    assert ours[0].tolist() == [0.5, -1.0] and ours[0]._version == 0


@pytest.mark.parametrize("change, error, message", [
    (lambda lib, x: x.add_(lib.ones((2, 2), dtype=lib.float64)), RuntimeError, "cannot broadcast"),
    (lambda lib, x: x.long().add_(0.5), TypeError, "float32.*can.t be cast.*int64"),
    (lambda lib, x: x.copy_(lib.ones(3, dtype=lib.float64)), RuntimeError, "does not broadcast"),
    (lambda lib, x: x.fill_(lib.ones(2, dtype=lib.float64)), RuntimeError, "0-d tensor"),
])
def test_results_that_do_not_fit_raise_as_torch(change, error, message):
    ours, theirs = _both([np.array([0.5, -1.0])], grad=False)
    with pytest.raises(RuntimeError):
        change(torch, theirs[0])
    with pytest.raises(error, match=message):
        change(minicnn, ours[0])
    assert ours[0].tolist() == [0.5, -1.0]


def test_recorded_in_place_change_of_a_view_raises_instead_of_a_wrong_gradient():
    x = minicnn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    view = y.view(2, 1)
    with pytest.raises(RuntimeError, match="mul_: the tensor shares its memory with another"):
        view.mul_(3)
    with pytest.raises(RuntimeError, match="add_: the tensor shares its memory"):
        y.add_(x)
    with pytest.raises(RuntimeError, match="shares its memory"):
        y.detach().add_(x)
