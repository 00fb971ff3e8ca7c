"""The backward pass: topological order, accumulation, grad mode, graph release,
the Function contract and unbroadcast."""
import gc
import sys
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn import Function
from minicnn.autograd import unbroadcast
from minicnn.testing import gradcheck
from minicnn.testing.strategies import broadcastable_to, seeds, shapes


# ------------------------------------------------------------------ graph shapes
def test_chain_of_10000_ops_does_not_recurse():
    """Far past Python's recursion limit: the order is built with an explicit stack."""
    assert sys.getrecursionlimit() < 10_000
    x = mc.tensor([1.0, 2.0], dtype=mc.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001 ** 10_000] * 2, rtol=1e-9)


def test_wide_diamond():
    """One input feeding 2000 branches that are summed: the gradient adds every branch."""
    x = mc.tensor([1.0, -1.0], dtype=mc.float64, requires_grad=True)
    branches = [x * float(k) for k in range(2000)]
    total = branches[0]
    for b in branches[1:]:
        total = total + b
    total.sum().backward()
    np.testing.assert_allclose(x.grad, [sum(range(2000))] * 2)


def test_deep_diamonds_visit_each_node_once():
    """y <- y*2 + y*3, 60 times: 2^60 paths but 180 nodes; d y/d x = 5^60 (float64 holds it)."""
    x = mc.tensor(1.0, dtype=mc.float64, requires_grad=True)
    y = x
    for _ in range(60):
        y = y * 2.0 + y * 3.0
    y.backward()
    assert x.grad == pytest.approx(5.0 ** 60, rel=1e-12)


def test_tensor_used_twice_accumulates_both_gradients():
    x = mc.tensor([3.0], requires_grad=True)
    (x * x).backward(np.ones(1, np.float32))  # d(x^2)/dx = 2x
    assert x.grad.tolist() == [6.0]
    a = mc.tensor([2.0], requires_grad=True)
    b = a * 3
    (b + b * a).backward(np.ones(1, np.float32))  # 3a + 3a^2 -> 3 + 6a
    assert a.grad.tolist() == [15.0]


def test_gradient_of_an_input_that_does_not_need_one_is_not_computed():
    a = mc.tensor([1.0, 2.0], requires_grad=True)
    b = mc.tensor([3.0, 4.0])
    (a * b).sum().backward()
    assert a.grad.tolist() == [3.0, 4.0] and b.grad is None


# ------------------------------------------------------------------ leaves, intermediates
def test_leaf_grad_accumulates_across_backward_calls():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]
    assert x.grad.shape == x.shape and isinstance(x.grad, np.ndarray)
    x.grad = None
    (x * 4).sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]


def test_zero_dim_leaf_grad_is_an_array():
    x = mc.tensor(2.0, requires_grad=True)
    (x * x).backward()
    assert isinstance(x.grad, np.ndarray) and x.grad.shape == () and x.grad == 4.0


def test_intermediates_keep_grad_only_with_retain_grad():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 2
    kept = x * 3
    kept.retain_grad()
    (hidden * kept).sum().backward()  # d/d kept = hidden = 2x
    assert hidden.grad is None
    assert kept.grad.tolist() == [2.0, 4.0]
    assert x.grad.tolist() == [12.0 * 1, 12.0 * 2]  # d(6x^2)/dx = 12x
    assert not hidden.is_leaf and x.is_leaf


def test_backward_does_not_alias_the_callers_gradient():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    g = np.ones(2, np.float32)
    x.backward(g)
    g[0] = 100.0
    assert x.grad.tolist() == [1.0, 1.0]


# ------------------------------------------------------------------ graph release
def test_second_backward_through_a_released_graph_raises():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time.*"
                                           "retain_graph=True"):
        loss.backward()
    assert x.grad.tolist() == [2.0, 4.0]  # untouched by the failed call


def test_retain_graph_allows_a_second_backward():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_released_graph_frees_the_activations():
    """After backward nothing keeps the intermediates alive, even while the loss lives."""
    x = mc.tensor(np.ones(1000, np.float32), requires_grad=True)
    hidden = (x * 2).exp()
    probe = weakref.ref(hidden)
    loss = (hidden * 3).sum()
    del hidden
    loss.backward()
    gc.collect()
    assert probe() is None
    assert loss.item() == pytest.approx(3000 * np.exp(2), rel=1e-5)


# ------------------------------------------------------------------ grad mode
def test_no_grad_context_records_nothing():
    x = mc.tensor([1.0], requires_grad=True)
    with mc.no_grad():
        y = x * 2
        assert not mc.is_grad_enabled()
        with mc.enable_grad():
            z = x * 2
    assert mc.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_as_decorator_with_and_without_parentheses():
    x = mc.tensor([1.0], requires_grad=True)

    @mc.no_grad()
    def called(t):
        return t * 2

    @mc.no_grad
    def bare(t):
        return t * 2

    assert not called(x).requires_grad and not bare(x).requires_grad
    assert bare.__name__ == "bare" and mc.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with mc.no_grad():
            1 / 0
    assert mc.is_grad_enabled()

    @mc.no_grad()
    def fails():
        raise KeyError

    with pytest.raises(KeyError):
        fails()
    assert mc.is_grad_enabled()


def test_set_grad_enabled_function_and_context():
    try:
        mc.set_grad_enabled(False)
        assert not mc.is_grad_enabled()
    finally:
        mc.set_grad_enabled(True)
    with mc.set_grad_enabled(False):
        assert not (mc.ones(1, requires_grad=True) * 2).requires_grad
    assert mc.is_grad_enabled()


def test_detach_and_requires_grad_switch():
    x = mc.tensor([1.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    with pytest.raises(RuntimeError, match="requires_grad: can only be switched off on a leaf"):
        y.requires_grad = False
    x.requires_grad_(False)
    assert not (x * 2).requires_grad


# ------------------------------------------------------------------ backward arguments
def test_backward_gradient_positional_and_keyword():
    for call in (lambda y, g: y.backward(g), lambda y, g: y.backward(gradient=g),
                 lambda y, g: y.backward(grad=g), lambda y, g: y.backward(mc.tensor(g))):
        x = mc.tensor([1.0, 2.0], requires_grad=True)
        call(x * 3, np.array([1.0, -1.0], np.float32))
        assert x.grad.tolist() == [3.0, -3.0]
    with pytest.raises(TypeError, match="backward: pass gradient or grad, not both"):
        (x * 3).backward(np.ones(2, np.float32), grad=np.ones(2, np.float32))


def test_backward_gradient_may_be_non_contiguous():
    x = mc.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    g = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]
    (x * 2).backward(g)
    np.testing.assert_array_equal(x.grad, 2 * g)


def test_backward_bad_input():
    x = mc.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for a scalar "
                                           r"output; this tensor has shape \(2,\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"backward: gradient has shape \(3,\), expected the "
                                         r"output's shape \(2,\)"):
        (x * 2).backward(np.ones(3, np.float32))
    with pytest.raises(TypeError, match="backward: gradient has dtype float64, expected the "
                                        "output's dtype float32"):
        (x * 2).backward(np.ones(2))
    with pytest.raises(RuntimeError, match="backward: the tensor does not require grad"):
        mc.ones(2).sum().backward()
    assert x.grad is None  # nothing ran


def test_retain_grad_on_a_tensor_without_grad():
    with pytest.raises(RuntimeError, match="retain_grad: the tensor does not require grad"):
        mc.ones(2).retain_grad()


# ------------------------------------------------------------------ the Function contract
class Scale(Function):
    """y = 2 x (for the contract tests)."""

    @staticmethod
    def forward(ctx, x, *, mode="ok"):
        ctx.mode = mode
        ctx.save_for_backward(x)
        return 2 * x

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.mode == "shape":
            return (2 * grad_out).reshape(-1)
        if ctx.mode == "dtype":
            return (2 * grad_out).astype(np.float64)
        if ctx.mode == "count":
            return 2 * grad_out, None
        return 2 * grad_out


def test_function_apply_records_and_backward_runs():
    x = mc.tensor([[1.0, 2.0]], requires_grad=True)
    y = Scale.apply(x)
    assert y.grad_fn.name == "ScaleBackward" and y.requires_grad
    y.backward(np.ones((1, 2), np.float32))
    assert x.grad.tolist() == [[2.0, 2.0]]
    assert not Scale.apply(mc.ones(2)).requires_grad  # no input needs a gradient


@pytest.mark.parametrize("mode,message", [
    ("shape", r"Scale.backward returned a gradient of shape \(2,\) and dtype float32 for an "
              r"input of shape \(1, 2\) and dtype float32"),
    ("dtype", r"Scale.backward returned a gradient .* dtype float64 for an input .* float32"),
    ("count", r"Scale.backward returned 2 gradients for 1 inputs"),
])
def test_function_backward_mistakes_are_caught(mode, message):
    x = mc.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match=message):
        Scale.apply(x, mode=mode).backward(np.ones((1, 2), np.float32))


def test_function_output_is_always_an_array():
    """NumPy returns scalars from 0-d arithmetic; .data stays an ndarray."""
    y = Scale.apply(mc.tensor(2.0))
    assert isinstance(y.data, np.ndarray) and y.shape == ()


def test_apply_rejects_mixed_float_dtypes():
    with pytest.raises(TypeError, match="Scale: floating-point inputs must share one dtype, but "
                                        "input 0 is float32, input 1 is float64"):
        Scale.apply(mc.ones(2), mc.ones(2, dtype=mc.float64))


def test_integer_output_is_not_recorded():
    class Round(Function):
        @staticmethod
        def forward(ctx, x):
            return x.astype(np.int64)

    assert not Round.apply(mc.ones(2, requires_grad=True)).requires_grad


# ------------------------------------------------------------------ unbroadcast
@given(full=shapes(0, 4), seed=seeds, data=st.data())
def test_unbroadcast_is_the_adjoint_of_broadcasting(full, seed, data):
    """<broadcast_to(x, S), g> == <x, unbroadcast(g, x.shape)> for all x, g: the
    defining property of the gradient of broadcasting, checked without unbroadcast's code."""
    small = data.draw(broadcastable_to(full))
    rng = np.random.default_rng(seed)
    x, g = rng.standard_normal(small), rng.standard_normal(full)
    reduced = unbroadcast(g, small)
    assert reduced.shape == small
    lhs = np.sum(np.broadcast_to(x, full) * g)
    assert np.sum(x * reduced) == pytest.approx(lhs, rel=1e-12, abs=1e-12)


@given(full=shapes(0, 3), seed=seeds, data=st.data())
def test_broadcast_add_gradients(full, seed, data):
    small = data.draw(broadcastable_to(full))
    rng = np.random.default_rng(seed)
    a = mc.tensor(rng.standard_normal(full), requires_grad=True)
    b = mc.tensor(rng.standard_normal(small), requires_grad=True)
    assert gradcheck(lambda p, q: p * q + q, [a, b])


def test_unbroadcast_rejects_incompatible_shapes():
    with pytest.raises(ValueError, match=r"unbroadcast: shape \(3,\) does not broadcast to the "
                                         r"gradient's shape \(2, 4\)"):
        unbroadcast(np.ones((2, 4)), (3,))
    with pytest.raises(ValueError, match="does not broadcast"):
        unbroadcast(np.ones(4), (2, 4))


def test_float64_end_to_end():
    x = mc.tensor(np.linspace(0.5, 1.5, 6).reshape(2, 3), requires_grad=True)
    w = mc.tensor(np.ones((3, 2)), requires_grad=True)
    y = ((x @ w).exp().log() * 2.0 - 1.0) / 3.0
    loss = (y ** 2).mean() + y.var() + y.amax() + y[0].sum()
    assert loss.dtype == np.float64
    loss.backward()
    assert x.grad.dtype == np.float64 and w.grad.dtype == np.float64


# ------------------------------------------------- a leaf's first gradient: taken or copied
class _FreshGrad(Function):
    """Identity whose backward returns a fresh array, remembered by a weak reference."""
    made = None

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad_out):
        grad = grad_out * 1.0
        _FreshGrad.made = weakref.ref(grad)
        return grad


def test_a_fresh_gradient_nothing_else_refers_to_is_taken_without_a_copy():
    x = mc.randn(3, 4, requires_grad=True)
    _FreshGrad.apply(x).sum().backward()
    assert _FreshGrad.made() is x.grad  # the engine's copy is skipped, as PyTorch steals it


def test_a_gradient_sent_to_two_leaves_is_copied_for_the_first():
    a, b = mc.randn(3, requires_grad=True), mc.randn(3, requires_grad=True)
    (a + b).sum().backward()  # Add's backward returns one array for both inputs
    assert not np.shares_memory(a.grad, b.grad)
    a.grad *= 0  # in place, as clip_grad_norm_ does
    np.testing.assert_array_equal(b.grad, np.ones(3, dtype=b.grad.dtype))


def test_the_callers_gradient_array_is_never_taken():
    leaf = mc.randn(3, requires_grad=True)
    upstream = np.ones(3, dtype=leaf.dtype)
    leaf.backward(upstream)
    upstream[...] = 5
    np.testing.assert_array_equal(leaf.grad, np.ones(3))


def test_a_gradient_a_hook_kept_or_a_retained_grad_is_not_shared():
    x = mc.randn(3, requires_grad=True)
    kept = []
    x.register_hook(lambda g: kept.append(g))
    y = _FreshGrad.apply(x)
    y.retain_grad()
    y.sum().backward()
    assert not np.shares_memory(kept[0].data, x.grad)
    assert not np.shares_memory(y.grad, x.grad)


def test_a_view_of_a_gradient_is_copied():
    v = mc.randn(2, 3, requires_grad=True)
    v.reshape(6).sum().backward()  # Reshape's backward returns a view of its grad_out
    assert v.grad.base is None
