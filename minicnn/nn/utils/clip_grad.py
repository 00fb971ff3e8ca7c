"""Gradient clipping, as ``torch.nn.utils.clip_grad``.

``clip_grad_norm_`` rescales all gradients together so that their joint norm
is at most ``max_norm``::

    total = || (||g_1||_p, ||g_2||_p, ..., ||g_n||_p) ||_p     (= ||concat(g_1..g_n)||_p)
    coef  = min(max_norm / (total + 1e-6), 1)
    g_i   = g_i * coef                                          (every gradient, in place)

(``p = inf``: the largest absolute gradient element.) The direction of the
update is kept; only its length is capped. The ``1e-6`` and the always-applied
multiplication are PyTorch's, so clipped gradients agree bit for bit in
structure and to float32 rounding in value.
"""
import math
import numbers
import warnings

import numpy as np

from ...backend import xp_of
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _parameter_list(parameters, op):
    if isinstance(parameters, Tensor):
        return [parameters]
    is_generator = hasattr(parameters, "__next__")
    parameters = list(parameters)
    for index, param in enumerate(parameters):
        if not isinstance(param, Tensor):
            raise TypeError(f"{op}: parameters must be Tensors, but item {index} is a "
                            f"{type(param).__name__}")
    if is_generator and not parameters:
        warnings.warn(f"{op}: `parameters` is an empty generator, no gradient clipping will "
                      f"occur.", stacklevel=3)
    return parameters


def _grad_array(param):
    return param.grad.data if isinstance(param.grad, Tensor) else param.grad


def _vector_norm(array, norm_type: float):
    """``||array||_p`` over all elements, in the array's dtype (a 0-d array)."""
    xp = xp_of(array)
    flat = array.reshape(-1)
    if norm_type == math.inf:
        return xp.max(xp.abs(flat)) if flat.size else xp.zeros((), array.dtype)
    if norm_type == -math.inf:
        return xp.min(xp.abs(flat)) if flat.size else xp.full((), math.inf, array.dtype)
    if norm_type == 0:
        return xp.asarray(xp.count_nonzero(flat), dtype=array.dtype)
    if norm_type == 2:
        return xp.sqrt(xp.dot(flat, flat))
    if norm_type == 1:
        return xp.sum(xp.abs(flat))
    return xp.sum(xp.abs(flat) ** norm_type) ** (1.0 / norm_type)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """The ``norm_type``-norm of the norms of ``tensors`` (arrays or Tensors), as a 0-d Tensor."""
    arrays = [t.data if isinstance(t, Tensor) else t for t in tensors]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor(0.0)
    norms = [_vector_norm(a, norm_type) for a in arrays]
    xp = xp_of(arrays[0])
    dtype = np.result_type(*[a.dtype for a in arrays])
    total = _vector_norm(xp.stack([xp.asarray(n, dtype=dtype) for n in norms]), norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            f"non-finite, so it cannot be clipped. To disable this error and scale the gradients "
            f"by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return Tensor._wrap(xp.asarray(total))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale the gradients of ``parameters`` in place so their joint norm is <= ``max_norm``.

    Returns the total norm *before* clipping (a 0-d Tensor), as PyTorch does.
    ``foreach`` is accepted for compatibility and ignored. Parameters without
    a gradient are skipped.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a non-negative number, "
                         f"got {max_norm!r}")
    parameters = _parameter_list(parameters, "clip_grad_norm_")
    grads = [_grad_array(p) for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    xp = xp_of(grads[0])
    clip_coef = float(max_norm) / (total.data + 1e-6)
    clip_coef = xp.minimum(clip_coef, 1.0)  # always multiply: no data-dependent branch
    for grad in grads:
        grad *= clip_coef.astype(grad.dtype)
    return total


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element of ``parameters`` to ``[-clip_value, clip_value]`` in place."""
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real):
        raise TypeError(f"clip_grad_value_: clip_value must be a number, got {clip_value!r}")
    clip_value = float(clip_value)
    for param in _parameter_list(parameters, "clip_grad_value_"):
        if param.grad is not None:
            grad = _grad_array(param)
            xp_of(grad).clip(grad, -clip_value, clip_value, out=grad)
