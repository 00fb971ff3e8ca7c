"""Reverse-mode automatic differentiation: grad mode and the backward pass.

The graph is dynamic: every operator applied to a tensor that requires a
gradient records a :class:`~minicnn.function.Node` (the function, its saved
context and its inputs) on its output. ``backward`` then

1. orders the nodes reachable from the output topologically, with an explicit
   stack (no recursion, so a chain of any length works);
2. walks that order from the output back to the leaves, calling each
   function's ``backward`` with the summed gradient of its output and adding
   the results into its inputs' gradients (a tensor used twice gets both);
3. stores the gradient of each leaf in ``.grad`` (accumulating, as PyTorch
   does) and releases each node's saved arrays unless ``retain_graph``.
"""
import functools
import threading

import numpy as np

from .backend import xp_of

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


def set_grad_enabled(mode: bool) -> None:
    _state.enabled = bool(mode)


class _GradMode:
    """Context manager and decorator that sets grad mode, then restores it."""

    mode = True

    def __enter__(self):
        self._previous = is_grad_enabled()
        set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc_info):
        set_grad_enabled(self._previous)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Record nothing: operators inside build no graph (``with minicnn.no_grad():``)."""

    mode = False


class enable_grad(_GradMode):
    """Record operators again inside a ``no_grad`` region."""

    mode = True


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
    xp = xp_of(root.data)
    if grad_output is None:
        if root.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for a scalar output; this "
                f"tensor has shape {root.shape}, so pass gradient= an array of that shape"
            )
        grad_output = xp.ones(root.shape, dtype=root.dtype)
    else:
        grad_output = getattr(grad_output, "data", grad_output)
        grad_output = xp.asarray(grad_output)
        if grad_output.shape != root.shape:
            raise ValueError(
                f"backward: gradient has shape {grad_output.shape}, expected the output's "
                f"shape {root.shape}"
            )
        if grad_output.dtype != root.dtype:
            raise TypeError(
                f"backward: gradient has dtype {grad_output.dtype}, expected the output's "
                f"dtype {root.dtype}"
            )

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
        node = tensor._node
        if node is None or tensor._retains_grad:
            tensor.grad = grad.copy() if tensor.grad is None else tensor.grad + grad
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
            if parent_grad.shape != parent.shape:
                raise RuntimeError(
                    f"{node.function.__name__}.backward returned a gradient of shape "
                    f"{parent_grad.shape} for an input of shape {parent.shape}"
                )
            previous = grads.get(id(parent))
            grads[id(parent)] = parent_grad if previous is None else previous + parent_grad
        if not retain_graph:
            node.release()
    # grads may still hold entries for tensors whose nodes fed nothing; drop them.
    grads.clear()


def unbroadcast(grad, shape):
    """Sum ``grad`` back down to ``shape``, undoing NumPy broadcasting.

    Broadcasting prepends size-1 axes and stretches size-1 axes; the gradient
    of a stretched axis is the sum over it.
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1
    )
    grad = grad.sum(axis=axes, keepdims=True) if axes else grad
    return grad.reshape(shape)


__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "backward",
           "unbroadcast"]
