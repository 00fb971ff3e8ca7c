"""``Tensor.register_hook`` and ``minicnn.autograd.grad`` against PyTorch (float64: the
numbers agree to rounding, 1e-12)."""
import numpy as np
import pytest
import torch

import minicnn
from minicnn import autograd

CLOSE = dict(rtol=1e-12, atol=1e-12)


def _leaves(*arrays):
    return ([minicnn.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


def _program(lib, x, w, seen):
    """A two-layer computation with hooks on a leaf and on an intermediate."""
    def record(key):
        def hook(grad):
            seen[key] = grad.numpy().copy()  # returns None: the gradient is kept
        return hook

    x.register_hook(record("x"))
    hidden = (x * w).tanh() if lib is minicnn else torch.tanh(x * w)
    hidden.register_hook(lambda g: g * 3)  # replaces the gradient flowing on
    hidden.register_hook(record("hidden"))
    hidden.retain_grad()
    return (hidden * hidden * w).sum(), hidden


def test_hooks_see_and_replace_gradients_as_torch():
    rng = np.random.default_rng(0)
    (x, w), (tx, tw) = _leaves(rng.standard_normal(4), rng.standard_normal(4))
    seen, seen_torch = {}, {}
    loss, hidden = _program(minicnn, x, w, seen)
    loss_torch, hidden_torch = _program(torch, tx, tw, seen_torch)
    loss.backward()
    loss_torch.backward()
    for key in ("x", "hidden"):  # each hook saw the gradient PyTorch's saw
        np.testing.assert_allclose(seen[key], seen_torch[key], **CLOSE)
    np.testing.assert_allclose(hidden.grad, hidden_torch.grad.numpy(), **CLOSE)  # after hooks
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), **CLOSE)
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), **CLOSE)


def test_removed_hook_is_not_called_and_a_leaf_hook_changes_grad():
    x = minicnn.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(1))
    doubling = x.register_hook(lambda g: g * 2)
    (x * x).sum().backward()
    assert calls == [1] and x.grad.tolist() == [4.0, 8.0]  # 2x, doubled by the hook
    handle.remove()
    doubling.remove()
    x.grad = None
    (x * x).sum().backward()
    assert calls == [1] and x.grad.tolist() == [2.0, 4.0]


def test_bad_hooks_raise():
    with pytest.raises(RuntimeError, match="does not require grad"):
        minicnn.ones(2).register_hook(lambda g: None)
    x = minicnn.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="hook must be callable"):
        x.register_hook(3)
    x.register_hook(lambda g: minicnn.ones(3))
    with pytest.raises(RuntimeError, match=r"returned a gradient of shape \(3,\).*expected "
                                           r"shape \(2,\)"):
        (x * 2).sum().backward()


def _two_outputs(lib, x, w):
    hidden = x * w
    return (hidden * hidden).sum(), (hidden + x).exp()


def test_grad_matches_torch_and_leaves_dot_grad_alone():
    rng = np.random.default_rng(1)
    (x, w), (tx, tw) = _leaves(rng.standard_normal((2, 3)), rng.standard_normal(3))
    upstream = rng.standard_normal((2, 3))
    outs = _two_outputs(minicnn, x, w)
    outs_torch = _two_outputs(torch, tx, tw)
    hidden, hidden_torch = x * w, tx * tw  # a non-leaf input
    ours = autograd.grad(outs, (x, w), grad_outputs=[None, minicnn.tensor(upstream)],
                         retain_graph=True)
    theirs = torch.autograd.grad(outs_torch, (tx, tw), grad_outputs=[None, torch.tensor(upstream)])
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), **CLOSE)
    assert x.grad is None and w.grad is None
    (only_w,) = autograd.grad(outs[0], w)  # the graph was retained: a second pass works
    np.testing.assert_allclose(only_w.numpy(), theirs[1].numpy() - torch.autograd.grad(
        (tx * tw + tx).exp(), tw, torch.tensor(upstream))[0].numpy(), **CLOSE)
    with pytest.raises(RuntimeError, match="second time"):
        autograd.grad(outs[0], w)  # released by the previous call
    (of_hidden,) = autograd.grad((hidden * 2).sum(), hidden)
    (of_hidden_torch,) = torch.autograd.grad((hidden_torch * 2).sum(), hidden_torch)
    np.testing.assert_allclose(of_hidden.numpy(), of_hidden_torch.numpy(), **CLOSE)


def test_grad_unused_inputs_and_errors():
    x, unused = minicnn.ones(2, requires_grad=True), minicnn.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"inputs\[1\] was not used.*allow_unused=True"):
        autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0, 2.0] and gu is None
    with pytest.raises(RuntimeError, match=r"inputs\[0\] does not require grad"):
        autograd.grad((x * 2).sum(), minicnn.ones(2))
    with pytest.raises(RuntimeError, match="implicitly created only for a scalar"):
        autograd.grad(x * 2, x)
    with pytest.raises(NotImplementedError, match="create_graph"):
        autograd.grad((x * 2).sum(), x, create_graph=True)
    with pytest.raises(ValueError, match="2 grad_outputs for 1 outputs"):
        autograd.grad((x * 2).sum(), x, grad_outputs=[None, None])
