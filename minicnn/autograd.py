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

A node's inputs are the nodes that produced them (a leaf: the tensor
itself), as in PyTorch, so an in-place operation that gives a tensor a new
node leaves the graph recorded before it intact. Every tensor carries a
version counter (shared with the tensors that share its memory) that each
in-place operation increments; a node remembers the versions of the arrays it
saved, and backward refuses to run when one changed since: the gradient would
be silently wrong. Hooks (``Tensor.register_hook``) see, and may replace, a
tensor's gradient before it is used. :func:`grad` runs the same pass but
returns the gradients of chosen inputs instead of storing them.

Every gradient handed between nodes has its tensor's shape and dtype (checked:
a float32 input never silently receives a float64 gradient).
"""
import functools
import sys
import threading

from .backend import as_array, xp_of

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


def _vertex(tensor):
    """Where a tensor's gradient goes in the graph: the node that produced it, or the
    tensor itself for a leaf."""
    return tensor._node if tensor._node is not None else tensor


def _edges(vertex):
    """A vertex's inputs (Nodes, leaf Tensors or None); a leaf has none."""
    return vertex.inputs if isinstance(vertex, _function.Node) else ()


def _topological_order(roots):
    """Vertices reachable from ``roots`` through recorded nodes, inputs before outputs.

    Iterative depth-first post-order: a vertex is emitted only after every
    vertex it was computed from.
    """
    order, visited = [], set()
    stack = [(root, False) for root in reversed(roots)]
    while stack:
        vertex, expanded = stack.pop()
        if expanded:
            order.append(vertex)
            continue
        if id(vertex) in visited:
            continue
        visited.add(id(vertex))
        stack.append((vertex, True))
        # Leaves first onto the stack, so emitted last among this vertex's inputs: in the
        # reversed order that backward walks, a leaf (a parameter) comes right after the node
        # that used it, so its .grad is final (and DistributedDataParallel's post-accumulate
        # hooks start their all-reduces) while the rest of the graph is still differentiated.
        # The nodes keep their order, so every sum is taken in the same order as before.
        parents = [p for p in _edges(vertex) if p is not None and id(p) not in visited]
        for parent in sorted(parents, key=lambda p: isinstance(p, _function.Node)):
            stack.append((parent, False))
    return order


def _check_usable(order):
    """Before anything changes: no node on the way was released, and no array a node
    saved for its backward was changed in place since (its tensor's version moved)."""
    for vertex in order:
        if not isinstance(vertex, _function.Node):
            continue
        if vertex.released:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time (its saved "
                "arrays were freed by the first backward); pass retain_graph=True to the "
                "first backward if you need to call it twice"
            )
        for position, counter, version in vertex.saved_versions:
            if counter.value != version:
                which = "its output" if position is None else f"its input {position}"
                raise RuntimeError(
                    f"backward: one of the arrays {vertex.name} saved for its gradient has been "
                    f"modified by an in-place operation ({counter.last_op}): {which} is at "
                    f"version {counter.value}, expected version {version} (when it was saved). "
                    f"Its gradient would be wrong: use the out-of-place operation, or apply "
                    f"the in-place one to a .clone()"
                )


def _run_hooks(hooks, grad):
    """``grad`` after each hook (``hook(grad_tensor)`` may return a replacement)."""
    if not hooks:
        return grad
    from .tensor import Tensor

    for hook in list(hooks.values()):
        result = hook(Tensor._wrap(grad))
        if result is None:
            continue
        replacement = result.data if isinstance(result, Tensor) else as_array(result)
        if replacement.shape != grad.shape or replacement.dtype != grad.dtype:
            raise RuntimeError(
                f"hook {getattr(hook, '__name__', hook)!r} returned a gradient of shape "
                f"{replacement.shape} and dtype {replacement.dtype.name}, expected shape "
                f"{grad.shape} and dtype {grad.dtype.name}"
            )
        grad = replacement
    return grad


def _accumulate(tensor, grad, unshared=False):
    """Add ``grad`` to ``tensor.grad``. The first gradient is copied (it may be shared with
    other vertices, a view of another gradient, or the caller's own array) unless the
    engine found it ``unshared`` (see :func:`_unshared`): then the leaf takes it as it is,
    as PyTorch steals a gradient nothing else refers to (measured: the copy was a fifth of
    a batch norm's forward+backward on a (32, 96, 32, 32) input)."""
    if tensor.grad is None:
        tensor.grad = grad if unshared else grad.copy()
    else:
        tensor.grad = as_array(tensor.grad + grad)


def _refs_of_a_local():
    array = as_array(0.0)
    return sys.getrefcount(array)  # the local and getrefcount's argument


#: References to an array held by one local variable only (CPython: 2); None where the
#: interpreter does not count references (the first gradient is then always copied).
_LOCAL_ONLY_REFS = _refs_of_a_local() if hasattr(sys, "getrefcount") else None


def _unshared(grad):
    """Is ``grad`` referred to by nothing but the caller's one local variable, and the owner
    of its memory (not a view)? Called as ``_unshared(grad)``: its parameter adds one."""
    return _LOCAL_ONLY_REFS is not None and getattr(grad, "base", True) is None \
        and sys.getrefcount(grad) <= _LOCAL_ONLY_REFS + 1


def _run_post_accumulate_hooks(leaf):
    """``hook(leaf)`` for each hook registered by ``register_post_accumulate_grad_hook``:
    the leaf's ``.grad`` of this backward is final (a leaf accumulates once per
    backward), so DistributedDataParallel can start reducing it while the rest of
    the graph is still being differentiated."""
    if leaf._post_accumulate_grad_hooks:
        for hook in list(leaf._post_accumulate_grad_hooks.values()):
            hook(leaf)


def _backward_of(node, grad, grads):
    """Run ``node``'s backward on ``grad`` and add each input's gradient into ``grads``
    (a function of its own, so that no local keeps a gradient alive once it is sent on:
    :func:`_unshared` counts references)."""
    input_grads = node.function.backward(node.ctx, grad)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if len(input_grads) != len(node.inputs):
        raise RuntimeError(
            f"{node.function.__name__}.backward returned {len(input_grads)} gradients "
            f"for {len(node.inputs)} inputs"
        )
    for parent, parent_grad in zip(node.inputs, input_grads):
        if parent is None or parent_grad is None:
            continue
        parent_grad = as_array(parent_grad)
        if parent_grad.shape != parent.shape or parent_grad.dtype != parent.dtype:
            raise RuntimeError(
                f"{node.function.__name__}.backward returned a gradient of shape "
                f"{parent_grad.shape} and dtype {parent_grad.dtype.name} for an input of "
                f"shape {parent.shape} and dtype {parent.dtype.name}; they must match"
            )
        previous = grads.get(id(parent))
        grads[id(parent)] = parent_grad if previous is None else previous + parent_grad


def _run_backward(roots, root_grads, retain_graph, targets=None):
    """The backward engine (``Tensor.backward`` and :func:`grad` both run it).

    ``roots`` are tensors, ``root_grads`` one gradient array each. With
    ``targets=None`` the leaves' ``.grad`` (and retained tensors') accumulate;
    with ``targets`` (vertices) nothing is stored: only the nodes that lead to a
    target run, and ``{id(target): gradient}`` comes back. Every gradient
    handed between nodes is checked to have its vertex's shape and dtype.
    """
    order = _topological_order([_vertex(root) for root in roots])
    _check_usable(order)
    needed = None
    if targets is not None:
        wanted = {id(target) for target in targets}
        needed = set()
        for vertex in order:  # inputs first: a vertex is needed if it leads to a target
            if id(vertex) in wanted or any(p is not None and id(p) in needed
                                           for p in _edges(vertex)):
                needed.add(id(vertex))
    grads, captured = {}, {}
    for root, grad in zip(roots, root_grads):
        key = id(_vertex(root))
        grads[key] = grad if key not in grads else grads[key] + grad
    for vertex in reversed(order):
        grad = grads.pop(id(vertex), None)
        if grad is None or (needed is not None and id(vertex) not in needed):
            continue
        grad = as_array(grad)
        is_node = isinstance(vertex, _function.Node)
        grad = _run_hooks(vertex.hooks if is_node else vertex._hooks, grad)
        if targets is not None:
            if id(vertex) in wanted:
                captured[id(vertex)] = grad
        elif not is_node:
            if vertex.requires_grad:
                unshared = _unshared(grad)  # its own statement: a call's pushed arguments count
                _accumulate(vertex, grad, unshared)
                _run_post_accumulate_hooks(vertex)
        elif vertex.retained is not None and vertex.retained() is not None:
            _accumulate(vertex.retained(), grad)
        if not is_node:
            continue
        _backward_of(vertex, grad, grads)
        if not retain_graph:
            vertex.release()
    return captured


def backward(root, grad_output=None, retain_graph: bool = False) -> None:
    """Backpropagate from ``root``; see :meth:`minicnn.Tensor.backward`."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: the tensor does not require grad and has no grad_fn "
            "(no input of the computation had requires_grad=True, or it ran under no_grad)"
        )
    _run_backward([root], [_initial_gradient(root, grad_output)], retain_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False, *, materialize_grads=False):
    """``d(outputs)/d(inputs)`` as a tuple of Tensors, one per input (``torch.autograd.grad``).

    ``outputs`` and ``inputs`` are a Tensor or a sequence of them;
    ``grad_outputs`` the gradient of each output (None: ones, allowed for
    one-element outputs only). Computes ``sum_k grad_outputs[k] . d outputs[k]
    / d input`` for each input by the same backward pass as
    :meth:`Tensor.backward`, but stores nothing in any ``.grad``. Only first
    order: ``create_graph=True`` raises. The graph is freed unless
    ``retain_graph``. An input that no output depends on raises, unless
    ``allow_unused`` (it then gets None, or zeros with ``materialize_grads``).
    """
    from .tensor import Tensor

    if create_graph:
        raise NotImplementedError("grad: create_graph=True (higher-order gradients) is not "
                                  "supported; minicnn's backward works on arrays, first order")
    outputs = _tensor_sequence(outputs, "outputs")
    inputs = _tensor_sequence(inputs, "inputs")
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for position, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad: inputs[{position}] does not require grad")
    for position, tensor in enumerate(outputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad: outputs[{position}] does not require grad and has no "
                               f"grad_fn")
    root_grads = [_initial_gradient(out, g) for out, g in zip(outputs, grad_outputs)]
    targets = [_vertex(tensor) for tensor in inputs]
    captured = _run_backward(outputs, root_grads, bool(retain_graph), targets)
    results = []
    for position, (tensor, target) in enumerate(zip(inputs, targets)):
        found = captured.get(id(target))
        if found is None:
            if not allow_unused and not materialize_grads:
                raise RuntimeError(f"grad: inputs[{position}] was not used to compute the "
                                   f"outputs; pass allow_unused=True to get None for it")
            results.append(Tensor._wrap(xp_of(tensor.data).zeros_like(tensor.data))
                           if materialize_grads else None)
        else:
            results.append(Tensor._wrap(found.copy()))
    return tuple(results)


def _tensor_sequence(value, name):
    from .tensor import Tensor

    items = [value] if isinstance(value, Tensor) else list(value)
    if not items or not all(isinstance(t, Tensor) for t in items):
        raise TypeError(f"grad: {name} must be a Tensor or a non-empty sequence of Tensors, "
                        f"got {value!r}")
    return items


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


__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "backward", "grad",
           "unbroadcast"]


# function.py imports this module (grad mode), so its Node is looked up at call time.
from . import function as _function  # noqa: E402
