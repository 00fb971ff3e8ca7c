"""Loss functions: cross_entropy, nll_loss, mse_loss, binary_cross_entropy_with_logits.

The checks and the reduction below are shared with the sibling modules
``loss_regression`` (l1, smooth l1, Huber) and ``loss_probability`` (BCE on
probabilities, KL divergence).

Notation. ``x`` is the input, ``t`` the target, ``g = dL/dy`` the upstream
gradient. Classification inputs are ``(N, C)`` or ``(N, C, d1, ..., dk)``
(class scores or log-probabilities along dim 1) or a single sample ``(C,)``;
a *position* is one ``(n, d1, ..., dk)`` and ``w`` the optional per-class
weight of shape ``(C,)``.

Every loss is computed in two steps, so that each formula appears once:

1. a per-position (or per-element) loss ``l``, the ``reduction='none'``
   result, by one Function below;
2. the reduction: ``'none'`` returns ``l``, ``'sum'`` returns ``sum l``,
   ``'mean'`` returns ``sum l / D`` (:class:`LossMean`) where the divisor
   ``D`` depends on the loss: the number of elements for mse and BCE, the
   number of positions for probability targets, and for class-index targets
   the *total weight* ``sum_{positions not ignored} w[t]`` (the count of
   non-ignored positions when ``w`` is None), as in PyTorch.

``cross_entropy`` is ``log_softmax`` along the class dim followed by
:class:`NLLLoss` (class indices) or :class:`SoftTargetNLL` (class
probabilities); label smoothing mixes the two (see :func:`cross_entropy`).

Class weights ``w`` of ``nll_loss``/``cross_entropy`` with class-index
targets, and ``weight``/``pos_weight`` of BCE, are constants: PyTorch does
not differentiate them either and refuses a ``weight`` that requires a
gradient; so does minicnn. ``size_average``/``reduce`` are PyTorch's
deprecated spellings of ``reduction`` and are translated the same way.
"""
import numbers
import warnings

import numpy as np

from .._validation import is_floating
from ..backend import xp_of
from ..function import Function
from ._common import as_tensor, require_float_input

_REDUCTIONS = ("none", "mean", "sum")


# ------------------------------------------------------------------ Functions
class NLLLoss(Function):
    """Negative log-likelihood of class indices, per position.

    ``x``: ``(N, C, d...)`` or ``(C,)`` (log-probabilities); ``t``: ``(N, d...)``
    or ``()`` integers in ``[0, C)`` or equal to ``ignore_index``.

    ``l[p] = -w[t[p]] * x[p, t[p]]`` at every position ``p`` whose target is
    not ``ignore_index``, ``l[p] = 0`` where it is (``w = 1`` without weights).
    Output shape: ``t``'s.

    ``dL/dx[p, c] = -w[c] g[p] [c == t[p]] [t[p] != ignore_index]``: one
    entry per position, at its target class. ``t`` gets no gradient.
    """

    @staticmethod
    def forward(ctx, x, target, *, weight, ignore_index):
        xp = xp_of(x)
        axis = 0 if x.ndim == 1 else 1
        kept = target != ignore_index
        classes = xp.where(kept, target, 0)  # ignored positions read class 0 with weight 0
        coefficient = (weight[classes] * kept if weight is not None
                       else kept.astype(x.dtype))  # w[t] [kept], t's shape
        index = xp.expand_dims(classes, axis)  # (N, 1, d...): one class per position
        picked = xp.take_along_axis(x, index, axis=axis).squeeze(axis)  # x[p, t[p]]
        ctx.save_for_backward(index, coefficient)
        ctx.meta = (x.shape, axis)
        return -(coefficient * picked)

    @staticmethod
    def backward(ctx, grad_out):
        index, coefficient = ctx.saved_arrays
        shape, axis = ctx.meta
        xp = xp_of(grad_out)
        grad = xp.zeros(shape, dtype=grad_out.dtype)
        # Each position has exactly one target index, so put (not add) is exact.
        values = xp.expand_dims(-(coefficient * grad_out), axis)
        xp.put_along_axis(grad, index, values, axis=axis)
        return grad, None


class SoftTargetNLL(Function):
    """Negative log-likelihood under a dense target, per position.

    ``l[p] = -sum_c q[p, c] x[p, c]`` with ``x`` the log-probabilities and
    ``q`` the (weighted) target distribution, both ``(N, C, d...)`` (or
    ``(C,)``); output ``(N, d...)`` (or ``()``).

    ``dL/dx = -g q`` and ``dL/dq = -g x`` (``g`` broadcast over the classes).
    """

    @staticmethod
    def forward(ctx, x, q, *, axis):
        ctx.save_for_backward(x, q)
        ctx.axis = axis
        return -(q * x).sum(axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        x, q = ctx.saved_arrays
        grad = -xp_of(grad_out).expand_dims(grad_out, ctx.axis)
        grad_x = grad * q if ctx.needs_input_grad[0] else None
        grad_q = grad * x if ctx.needs_input_grad[1] else None
        return grad_x, grad_q


class SquaredError(Function):
    """``l = (x - t)^2`` elementwise;  ``dL/dx = 2 (x - t) g``, ``dL/dt = -2 (x - t) g``."""

    @staticmethod
    def forward(ctx, x, target):
        difference = x - target
        ctx.save_for_backward(difference)
        return difference * difference

    @staticmethod
    def backward(ctx, grad_out):
        (difference,) = ctx.saved_arrays
        grad = 2 * difference * grad_out
        return (grad if ctx.needs_input_grad[0] else None,
                -grad if ctx.needs_input_grad[1] else None)


class BCEWithLogits(Function):
    """Binary cross-entropy of logits, elementwise, in the stable form.

    With ``s`` the sigmoid, ``p`` the positive-class weight ``pos_weight`` and
    ``w`` the element weight (each 1 when None, broadcast to ``x``'s shape):

    ``l = -w [p t log s(x) + (1 - t) log(1 - s(x))]``.

    Using ``log s(x) = -softplus(-x)`` and ``log(1 - s(x)) = -x - softplus(-x)``:

    ``l = w [(1 - t) x + (1 + (p - 1) t) softplus(-x)]``,
    ``softplus(-x) = max(-x, 0) + log1p(e^{-|x|})``,

    which never exponentiates a positive number (no overflow) and never takes
    the log of 0. Output shape: ``x``'s.

    ``dL/dx = g w [(1 - t) - (1 + (p - 1) t) s(-x)]`` (``= g w (s(x) - t)``
    for ``p = 1``) and ``dL/dt = g w [(p - 1) softplus(-x) - x]``.
    """

    @staticmethod
    def forward(ctx, x, target, *, weight, pos_weight):
        xp = xp_of(x)
        softplus_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # log(1 + e^-x)
        log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
        loss = (1 - target) * x + log_weight * softplus_neg
        if weight is not None:
            loss = loss * weight
        ctx.save_for_backward(x, target, softplus_neg)
        ctx.weights = (weight, pos_weight)
        return loss

    @staticmethod
    def backward(ctx, grad_out):
        x, target, softplus_neg = ctx.saved_arrays
        weight, pos_weight = ctx.weights
        xp = xp_of(x)
        scale = grad_out if weight is None else grad_out * weight
        grad_x = grad_t = None
        if ctx.needs_input_grad[0]:
            sigmoid_neg = xp.exp(-softplus_neg - x)  # s(-x) = e^{-x} / (1 + e^{-x})
            log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
            grad_x = scale * ((1 - target) - log_weight * sigmoid_neg)
        if ctx.needs_input_grad[1]:
            pos_term = 0 if pos_weight is None else (pos_weight - 1) * softplus_neg
            grad_t = scale * (pos_term - x)
        return grad_x, grad_t


class LossMean(Function):
    """``y = sum(l) / D`` for a constant divisor ``D`` (see the module docstring).

    ``dL/dl = g / D`` everywhere. ``D = 0`` happens only when no position
    counts (every target ignored, or an empty batch): then ``y`` is nan, as
    in PyTorch, and the gradient is 0, which is also PyTorch's: no position
    contributed to the loss (a literal ``g / 0`` would give inf * 0 = nan).
    """

    @staticmethod
    def forward(ctx, losses, *, divisor):
        xp = xp_of(losses)
        total = losses.sum()
        ctx.meta = (losses.shape, divisor)
        mean = total / divisor if divisor else total * float("nan")
        return xp.asarray(mean, dtype=losses.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        shape, divisor = ctx.meta
        xp = xp_of(grad_out)
        share = grad_out / divisor if divisor else grad_out * 0
        return xp.broadcast_to(share, shape).copy()


# ------------------------------------------------------------------ validation
def _reduction(reduction, size_average, reduce, op, allowed=_REDUCTIONS):
    """The reduction string, translating PyTorch's deprecated size_average/reduce."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else ("sum" if reduce else "none")
        warnings.warn(f"{op}: size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def _reduce(losses, reduction, divisor):
    """Step 2 of every loss (see the module docstring)."""
    from .reduce import sum as sum_

    if reduction == "none":
        return losses
    if reduction == "sum":
        return sum_(losses)
    return LossMean.apply(losses, divisor=float(divisor))


def _tensor_arg(value, name, op):
    """A Tensor from a Tensor or an array (targets may be plain NumPy arrays)."""
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
        return as_tensor(value)
    raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")


def _class_axis(input, op):
    require_float_input(input, "input", op)
    if input.ndim == 0:
        raise ValueError(f"{op}: input must be (C,), (N, C) or (N, C, d1, ...), got a 0-d "
                         f"tensor")
    return 0 if input.ndim == 1 else 1


def _check_class_weight(weight, input, n_classes, op, differentiable=False):
    """``weight``: None or a float tensor of shape (C,) with the input's dtype."""
    if weight is None:
        return None
    weight = _tensor_arg(weight, "weight", op)
    if weight.shape != (n_classes,):
        raise ValueError(f"{op}: weight must have shape ({n_classes},), one entry per class, "
                         f"got shape {tuple(weight.shape)}")
    _check_same_float_dtype(weight, "weight", input, op)
    if weight.requires_grad and not differentiable:
        raise ValueError(f"{op}: weight must not require grad (class weights are constants; "
                         f"pass weight.detach())")
    return weight


def _check_same_float_dtype(tensor, name, input, op):
    if tensor.dtype != input.dtype:
        raise TypeError(f"{op}: {name} must have the input's dtype {input.dtype.name}, got "
                        f"{np.dtype(tensor.dtype).name}")


def _float_target(input, target, op):
    """``target`` as a float Tensor of exactly the input's shape and dtype.

    Never broadcast: PyTorch only warns for some losses and then broadcasts,
    which silently computes the wrong loss (``(N, 1)`` against ``(N,)``
    becomes ``(N, N)``); minicnn raises.
    """
    target = _tensor_arg(target, "target", op)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{op}: target must have the input's shape {tuple(input.shape)}, got "
                         f"{tuple(target.shape)} (minicnn never broadcasts a loss target)")
    require_float_input(target, "target", op)
    _check_same_float_dtype(target, "target", input, op)
    return target


def _elementwise_weight(weight, input, op):
    """None, or a differentiable per-element ``weight`` of exactly the input's shape and dtype."""
    if weight is None:
        return None
    weight = _tensor_arg(weight, "weight", op)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{op}: weight must have the input's shape {tuple(input.shape)}, got "
                         f"{tuple(weight.shape)}")
    _check_same_float_dtype(weight, "weight", input, op)
    return weight


def _constant_weight(value, name, input, op):
    """A constant weight that broadcasts to the input's shape (its array, or None)."""
    if value is None:
        return None
    value = _tensor_arg(value, name, op)
    try:
        shape = np.broadcast_shapes(tuple(value.shape), tuple(input.shape))
    except ValueError:
        shape = None
    if shape != tuple(input.shape):
        raise ValueError(f"{op}: {name} of shape {tuple(value.shape)} must broadcast to "
                         f"the input's shape {tuple(input.shape)}")
    _check_same_float_dtype(value, name, input, op)
    if value.requires_grad:
        raise ValueError(f"{op}: {name} must not require grad (it is a constant; pass "
                         f"{name}.detach())")
    return value.data


def _check_ignore_index(ignore_index, op):
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (numbers.Integral,)):
        raise TypeError(f"{op}: ignore_index must be an int, got {ignore_index!r}")
    return int(ignore_index)


def _check_class_target(input, target, n_classes, ignore_index, op):
    """Class-index target: integer dtype, shape (N, d...) (or () for a (C,) input), in range."""
    if not np.issubdtype(np.dtype(target.dtype), np.integer):
        raise TypeError(f"{op}: target must hold class indices (an integer tensor) or, for "
                        f"cross_entropy, class probabilities (a float tensor); got dtype "
                        f"{np.dtype(target.dtype).name}")
    expected = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(f"{op}: target must have shape {expected} for input of shape "
                         f"{tuple(input.shape)} (the input's shape without the class dim), "
                         f"got {tuple(target.shape)}")
    values = target.data
    bad = (values != ignore_index) & ((values < 0) | (values >= n_classes))
    if bool(bad.any()):
        first = int(values[bad].reshape(-1)[0])
        raise ValueError(f"{op}: target contains class index {first}, outside the valid range "
                         f"[0, {n_classes - 1}] for {n_classes} classes (and not ignore_index="
                         f"{ignore_index})")


def _total_weight(target, weight, ignore_index):
    """The 'mean' divisor for class-index targets: sum of w[t] over non-ignored positions."""
    kept = target.data != ignore_index
    if weight is None:
        return int(kept.sum())
    classes = xp_of(weight.data).where(kept, target.data, 0)
    return float((weight.data[classes] * kept).sum())


def _check_label_smoothing(label_smoothing, op):
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real):
        raise TypeError(f"{op}: label_smoothing must be a float, got {label_smoothing!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    return float(label_smoothing)


def _class_shape(input, axis):
    """Shape that broadcasts a (C,) vector along the class dim of ``input``."""
    return tuple(-1 if d == axis else 1 for d in range(input.ndim))


# ------------------------------------------------------------------ functional
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of class indices (see :class:`NLLLoss`).

    ``input``: log-probabilities ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``;
    ``target``: int ``(N,)``, ``(N, d1, ...)`` or ``()``. ``'mean'`` divides
    by the total weight of the non-ignored targets (nan if there is none).
    """
    op = "nll_loss"
    axis = _class_axis(input, op)
    n_classes = input.shape[axis]
    reduction = _reduction(reduction, size_average, reduce, op)
    ignore_index = _check_ignore_index(ignore_index, op)
    target = _tensor_arg(target, "target", op)
    _check_class_target(input, target, n_classes, ignore_index, op)
    weight = _check_class_weight(weight, input, n_classes, op)
    losses = NLLLoss.apply(input, target.data, weight=None if weight is None else weight.data,
                           ignore_index=ignore_index)
    divisor = _total_weight(target, weight, ignore_index) if reduction == "mean" else 0
    return _reduce(losses, reduction, divisor)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy between softmax(input) along dim 1 and the target.

    ``input``: unnormalised scores ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``;
    ``x = log_softmax(input, class dim)``; ``e = label_smoothing``.

    *Class-index targets* (integer ``target`` of the input's shape without
    the class dim): the per-position loss is

        ``l[p] = (1 - e) * (-w[t] x[p, t]) + (e / C) * (-sum_c w[c] x[p, c])``

    for positions whose target is not ``ignore_index`` (0 for those that
    are): the target distribution is the one-hot ``t`` mixed with the uniform
    one. ``'mean'`` divides ``sum l`` by ``sum_{kept p} w[t[p]]`` (the count
    of kept positions without ``w``), for *both* terms, as PyTorch does.

    *Class-probability targets* (float ``target`` of the input's shape): with
    ``q = (1 - e) * target + e / C``,

        ``l[p] = -sum_c w[c] q[p, c] x[p, c]``,

    and ``'mean'`` divides by the number of positions ``N * d1 * ...``
    (not by the weights). ``ignore_index`` must stay negative (it can only
    apply to indices), and the target and ``weight`` are differentiable here,
    as in PyTorch.
    """
    from ..tensor import Tensor
    from .activation import log_softmax

    op = "cross_entropy"
    axis = _class_axis(input, op)
    n_classes = input.shape[axis]
    reduction = _reduction(reduction, size_average, reduce, op)
    ignore_index = _check_ignore_index(ignore_index, op)
    smoothing = _check_label_smoothing(label_smoothing, op)
    target = _tensor_arg(target, "target", op)

    if is_floating(target.dtype):  # class probabilities
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(f"{op}: a float target holds class probabilities and must have "
                             f"the input's shape {tuple(input.shape)}, got "
                             f"{tuple(target.shape)}")
        _check_same_float_dtype(target, "target", input, op)
        if ignore_index >= 0:
            raise ValueError(f"{op}: ignore_index={ignore_index} is not supported for class-"
                             f"probability (float) targets")
        weight = _check_class_weight(weight, input, n_classes, op, differentiable=True)
        log_probs = log_softmax(input, axis)
        q = target if smoothing == 0 else target * (1 - smoothing) + smoothing / n_classes
        if weight is not None:
            q = q * weight.reshape(_class_shape(input, axis))
        losses = SoftTargetNLL.apply(log_probs, q, axis=axis)
        positions = input.size // n_classes if n_classes else 0
        return _reduce(losses, reduction, positions)

    _check_class_target(input, target, n_classes, ignore_index, op)
    weight = _check_class_weight(weight, input, n_classes, op)
    log_probs = log_softmax(input, axis)
    weight_data = None if weight is None else weight.data
    losses = NLLLoss.apply(log_probs, target.data, weight=weight_data, ignore_index=ignore_index)
    if smoothing > 0:
        # The uniform part: q[p, c] = (e / C) w[c] [t[p] kept], a constant.
        xp = xp_of(input.data)
        kept = xp.expand_dims(target.data != ignore_index, axis).astype(input.dtype)
        class_weight = (xp.ones(n_classes, dtype=input.dtype) if weight is None
                        else weight_data).reshape(_class_shape(input, axis))
        q = Tensor._wrap((smoothing / n_classes) * class_weight * kept)
        losses = losses * (1 - smoothing) + SoftTargetNLL.apply(log_probs, q, axis=axis)
    divisor = _total_weight(target, weight, ignore_index) if reduction == "mean" else 0
    return _reduce(losses, reduction, divisor)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error ``(input - target)^2`` (see :class:`SquaredError`).

    ``target`` must have exactly the input's shape: PyTorch only warns and
    broadcasts, which silently computes the wrong loss (``(N, 1)`` against
    ``(N,)`` becomes ``(N, N)``); minicnn raises. ``weight`` (the input's
    shape) multiplies each squared error; ``'mean'`` then divides by
    ``sum(weight)`` instead of the element count, as in PyTorch, and the
    weight is differentiable (PyTorch builds this case from plain ops).
    """
    op = "mse_loss"
    require_float_input(input, "input", op)
    reduction = _reduction(reduction, size_average, reduce, op)
    target = _float_target(input, target, op)
    weight = _elementwise_weight(weight, input, op)
    losses = SquaredError.apply(input, target)
    return _weighted_reduce(losses, weight, reduction)


def _weighted_reduce(losses, weight, reduction):
    """Reduce per-element ``losses``, times a (checked, differentiable) per-element ``weight``
    when given; ``'mean'`` then divides by ``sum(weight)``, not the count (PyTorch's rule
    for mse_loss and l1_loss)."""
    from .reduce import sum as sum_

    if weight is None:
        return _reduce(losses, reduction, losses.size)
    losses = losses * weight
    if reduction == "mean":
        return sum_(losses) / sum_(weight)
    return _reduce(losses, reduction, losses.size)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of ``sigmoid(input)`` against ``target`` in ``[0, 1]``.

    Stable for any logit (see :class:`BCEWithLogits`). ``target``: the
    input's shape exactly. ``weight`` (per element) and ``pos_weight`` (per
    class, along the last dim: shape ``(C,)`` for input ``(N, C)``) must
    broadcast to the input's shape. ``'mean'`` divides by the element count.
    """
    op = "binary_cross_entropy_with_logits"
    require_float_input(input, "input", op)
    reduction = _reduction(reduction, size_average, reduce, op)
    target = _float_target(input, target, op)
    losses = BCEWithLogits.apply(input, target,
                                 weight=_constant_weight(weight, "weight", input, op),
                                 pos_weight=_constant_weight(pos_weight, "pos_weight", input, op))
    return _reduce(losses, reduction, input.size)
