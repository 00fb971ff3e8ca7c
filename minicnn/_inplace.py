"""In-place tensor methods (``add_``, ``mul_``, ``fill_``, ``copy_`` ...) with PyTorch's safety.

Each one computes the out-of-place result with the ordinary operators, then
writes it into the tensor's own memory (so views of it see the change) and
increments the tensor's version counter. When gradients are recorded the
tensor's node becomes the operator's node, whose input is a *copy* of the
old value hanging from the old node: the graph recorded before the change
stays intact (other consumers' edges point at the old node), and the new
node's saved arrays cannot be overwritten later.

What is refused, as in PyTorch, with an error naming the method:

* changing a leaf that requires grad while grad mode is on (the graph would
  then start from a value that no longer exists); do it under ``no_grad``,
  as an optimizer step does;
* (at backward) a node whose saved array was changed since: the version
  check in :mod:`minicnn.autograd`;
* a result that would not fit the tensor (broadcast to a larger shape, or a
  floating result into an integer tensor).

One difference, refused rather than silently wrong: PyTorch re-routes the
gradients of a view's base through an in-place change of the view
(``CopySlices``); minicnn does not, so an in-place change that is recorded in
the graph of a tensor that shares memory with another (a view, its base, a
``detach()``) raises.
"""
import numbers

from . import autograd, function
from .backend import xp_of
from .ops._common import broadcasts_to
from .ops.select import fill_value


def in_place(tensor, op: str, compute):
    """``tensor`` after writing ``compute(old)`` into it (``old``: its value before)."""
    from .tensor import Tensor

    recording = autograd.is_grad_enabled()
    if recording and tensor.requires_grad and tensor._node is None:
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad cannot be changed in place while "
            f"gradients are recorded (the graph starts from its value); do it under "
            f"minicnn.no_grad(), as an optimizer step does, or on a .clone()")
    if recording:
        old = Tensor._wrap(tensor.data.copy(), requires_grad=tensor.requires_grad)
        old._node = tensor._node
    else:
        old = tensor
    result = compute(old)
    if result.shape != tensor.shape:
        raise RuntimeError(f"{op}: the result has shape {result.shape} but the tensor changed in "
                           f"place has shape {tensor.shape}; an in-place operation cannot "
                           f"broadcast the tensor it changes")
    if result.dtype != tensor.dtype:
        raise TypeError(f"{op}: the result has dtype {result.dtype.name}, which can't be cast to "
                        f"the tensor's dtype {tensor.dtype.name} in place")
    recorded = result._node is not None
    if recorded and tensor._version_counter is not None and tensor._version_counter.shared:
        raise RuntimeError(
            f"{op}: the tensor shares its memory with another tensor (a view such as a reshape "
            f"or slice, the tensor a view was taken from, or a detach()), and minicnn does not "
            f"re-route the other tensor's gradients through an in-place change as PyTorch "
            f"does; use the out-of-place operation instead")
    tensor.data[...] = result.data
    tensor._bump_version(op)
    if function._tracer is not None:  # an export trace: later uses of tensor read the result
        function._tracer.in_place(tensor, result)
    if recorded:
        tensor._node = result._node
        tensor._requires_grad = True
    return tensor


def scaled(other, alpha, op):
    """``other * alpha`` (``add_``/``sub_``'s ``alpha``); ``other`` itself when alpha is 1."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Number):
        raise TypeError(f"{op}: alpha must be a number, got {alpha!r}")
    return other if alpha == 1 else other * alpha


def filled(old, value, op):
    """``old``'s shape and dtype filled with ``value`` (a number or a 0-d tensor, whose
    gradient is the sum of the output's): ``masked_fill`` with a mask that holds everywhere,
    so ``old`` gets a zero gradient."""
    from .nn import functional as F

    everywhere = xp_of(old.data).ones(old.shape, dtype=bool)
    return F.where(everywhere, fill_value(value, old, op), old)


def copied(old, src, op):
    """``src`` broadcast to ``old``'s shape, cast to its dtype and moved to its device."""
    from .nn import functional as F
    from .tensor import Tensor

    if not isinstance(src, Tensor):
        raise TypeError(f"{op}: src must be a Tensor, got {type(src).__name__}")
    if not broadcasts_to(src.shape, old.shape):
        raise RuntimeError(f"{op}: src of shape {src.shape} does not broadcast to the tensor's "
                           f"shape {old.shape}")
    if src.device != old.device:
        src = src.to(old.device)
    if src.dtype != old.dtype:
        src = F.cast(src, old.dtype)
    everywhere = xp_of(old.data).ones(old.shape, dtype=bool)
    return F.where(everywhere, src, old)
