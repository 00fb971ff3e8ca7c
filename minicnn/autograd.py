"""Reverse-mode automatic differentiation: grad mode and the backward pass.

The graph is dynamic: every operator applied to a tensor that requires a
gradient records a :class:`~minicnn.function.Node` (the function, its saved
context and its inputs) on its output. ``backward`` then

1. orders the nodes reachable from the output topologically, with an explicit
   stack (no recursion, so a chain of any length works);
2. walks that order from the output back to the leaves, calling each
   function's ``backward`` with the summed gradient of its output and adding
   the results into its inputs' gradients (a tensor used twice gets both);
3. stores the gradient of each leaf (and of each tensor that called
   ``retain_grad``) in ``.grad``, accumulating as PyTorch does, and, unless
   ``retain_graph``, releases each node: its saved arrays and its references
   to its inputs, so a second backward through it raises a RuntimeError.

Every gradient handed between nodes has its tensor's shape and dtype (checked:
a float32 input never silently receives a float64 gradient).
"""
import functools
import threading

import numpy as np

from .backend import is_cupy_array, xp_of

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


def _set_enabled(mode: bool) -> None:
    _state.enabled = bool(mode)


class _GradMode:
    """Context manager and decorator (``@no_grad()`` or bare ``@no_grad``) that sets
    grad mode, then restores the previous one."""

    mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self if func is None else self(func)

    def __enter__(self):
        self._previous = is_grad_enabled()
        _set_enabled(self.mode)
        return self

    def __exit__(self, *exc_info):
        _set_enabled(self._previous)
        return False

    def __call__(self, fn):
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}: can only decorate a callable, got {fn!r}")
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            previous = is_grad_enabled()
            _set_enabled(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _set_enabled(previous)

        return wrapper


class no_grad(_GradMode):
    """Record nothing: operators inside build no graph (``with minicnn.no_grad():``)."""

    mode = False


class enable_grad(_GradMode):
    """Record operators again inside a ``no_grad`` region."""

    mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(mode)`` switches grad mode at once, as in PyTorch; used in
    a ``with`` block (or as a decorator) it restores the previous mode afterwards."""

    def __new__(cls, mode: bool):
        self = object.__new__(cls)
        self.mode = bool(mode)
        self._previous = is_grad_enabled()
        _set_enabled(mode)
        return self

    def __enter__(self):
        return self

    def __call__(self, fn):
        _set_enabled(self._previous)  # as a decorator it acts only inside fn
        return super().__call__(fn)


def _topological_order(root):
    """Tensors reachable from ``root`` through recorded nodes, inputs before outputs.

    Iterative depth-first post-order: a tensor is emitted only after every
    tensor it was computed from.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        node = tensor._node
        if node is not None:
            for parent in node.inputs:
                if parent is not None and parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order


def backward(root, grad_output=None, retain_graph: bool = False) -> None:
    """Backpropagate from ``root``; see :meth:`minicnn.Tensor.backward`."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: the tensor does not require grad and has no grad_fn "
            "(no input of the computation had requires_grad=True, or it ran under no_grad)"
        )
    grad_output = _initial_gradient(root, grad_output)

    order = _topological_order(root)
    # Check before touching anything that no node on the way was released.
    for tensor in order:
        if tensor._node is not None and tensor._node.released:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time (its saved "
                "arrays were freed by the first backward); pass retain_graph=True to the "
                "first backward if you need to call it twice"
            )

    grads = {id(root): grad_output}
    for tensor in reversed(order):
        grad = grads.pop(id(tensor), None)
        if grad is None:
            continue
        grad = _as_array(grad)
        node = tensor._node
        if node is None or tensor._retains_grad:
            # A copy: grad may be shared with other nodes or be the caller's array.
            tensor.grad = grad.copy() if tensor.grad is None else _as_array(tensor.grad + grad)
        if node is None:
            continue
        input_grads = node.function.backward(node.ctx, grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(
                f"{node.function.__name__}.backward returned {len(input_grads)} gradients "
                f"for {len(node.inputs)} inputs"
            )
        for parent, parent_grad in zip(node.inputs, input_grads):
            if parent is None or not parent.requires_grad or parent_grad is None:
                continue
            parent_grad = _as_array(parent_grad)
            if parent_grad.shape != parent.shape or parent_grad.dtype != parent.dtype:
                raise RuntimeError(
                    f"{node.function.__name__}.backward returned a gradient of shape "
                    f"{parent_grad.shape} and dtype {parent_grad.dtype.name} for an input of "
                    f"shape {parent.shape} and dtype {parent.dtype.name}; they must match"
                )
            previous = grads.get(id(parent))
            grads[id(parent)] = parent_grad if previous is None else previous + parent_grad
        if not retain_graph:
            node.release()
    # grads may still hold entries for tensors whose nodes fed nothing; drop them.
    grads.clear()


def _as_array(value):
    """NumPy turns 0-d results into scalars (np.float32); gradients stay arrays."""
    if isinstance(value, np.ndarray) or is_cupy_array(value):
        return value
    return np.asarray(value)


def _initial_gradient(root, gradient):
    """d(loss)/d(root) as an array: ones for a one-element root, else ``gradient`` checked."""
    from .tensor import Tensor

    xp = xp_of(root.data)
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for a scalar output; this "
                f"tensor has shape {root.shape}, so pass gradient= an array of that shape"
            )
        return xp.ones(root.shape, dtype=root.dtype)
    # Not getattr(gradient, "data"): an ndarray's .data is its raw buffer.
    array = gradient.data if isinstance(gradient, Tensor) else xp.asarray(gradient)
    if array.shape != root.shape:
        raise ValueError(
            f"backward: gradient has shape {array.shape}, expected the output's shape {root.shape}"
        )
    if array.dtype != root.dtype:
        raise TypeError(
            f"backward: gradient has dtype {array.dtype.name}, expected the output's dtype "
            f"{root.dtype.name} (cast it explicitly; nothing is cast silently)"
        )
    return array


def unbroadcast(grad, shape):
    """Sum ``grad`` back down to ``shape``, undoing NumPy broadcasting.

    Broadcasting prepends axes and stretches size-1 axes; the gradient of an
    input element is the sum over every output element it was copied to, so
    sum over the prepended axes and, with ``keepdims``, over each stretched one.
    ``grad``'s shape must be one that ``shape`` broadcasts to.
    """
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(size not in (1, full) for size, full in zip(shape, grad.shape[extra:])):
        raise ValueError(f"unbroadcast: shape {shape} does not broadcast to the gradient's "
                         f"shape {grad.shape}")
    # One reduction over the prepended and the stretched axes, then drop the former.
    axes = tuple(range(extra)) + tuple(extra + i for i, size in enumerate(shape)
                                       if size == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "backward",
           "unbroadcast"]
