"""Matrix products: matmul and linear."""
import numpy as np

from ..autograd import unbroadcast
from ..backend import xp_of
from ..function import Function
from ._common import as_operand, require_float_input


class MatMul(Function):
    """``y = a @ b`` with NumPy's and PyTorch's rules.

    Shapes: ``a: (*A, m, k)``, ``b: (*B, k, n)``, ``y: (*broadcast(A, B), m, n)``,
    ``y[..., i, j] = sum_l a[..., i, l] b[..., l, j]``. A 1-D ``a`` (``k``,)
    is a ``(1, k)`` row and a 1-D ``b`` a ``(k, 1)`` column, whose added axis
    is then dropped from ``y`` (1-D @ 1-D is the 0-d dot product).

    ``dL/da = g @ b^T`` and ``dL/db = a^T @ g`` (``^T`` swaps the last two
    axes), each summed over the batch axes along which it was broadcast and
    reshaped back to its own shape.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_arrays
        xp = xp_of(grad_out)
        # Treat 1-D operands as a row (a) or a column (b) matrix, as matmul does.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        # grad_out with the dropped axes restored: (*, m, n).
        if a.ndim == 1 and b.ndim == 1:
            g2 = grad_out.reshape(1, 1)  # the 0-d dot product
        elif a.ndim == 1:
            g2 = xp.expand_dims(grad_out, -2)
        elif b.ndim == 1:
            g2 = xp.expand_dims(grad_out, -1)
        else:
            g2 = grad_out
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:  # (*, m, n) @ (*, n, k) -> (*, m, k)
            grad_a = unbroadcast(g2 @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:  # (*, k, m) @ (*, m, n) -> (*, k, n)
            grad_b = unbroadcast(xp.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return grad_a, grad_b


class Linear(Function):
    """``y = x W^T + b`` for ``x: (*, in)``, ``W: (out, in)``, ``b: (out,)``, ``y: (*, out)``.

    ``dL/dx = g W``;  ``dL/dW = g^T x`` (summed over ``*``);  ``dL/db = sum_* g``.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        out = x @ weight.T  # (*, in) @ (in, out) -> (*, out)
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_arrays
        need_x, need_w, need_b = ctx.needs_input_grad
        g2 = grad_out.reshape(-1, grad_out.shape[-1])           # (M, out), M = prod(*)
        grad_x = (grad_out @ weight) if need_x else None          # (*, out) @ (out, in)
        grad_w = (g2.T @ x.reshape(-1, x.shape[-1])) if need_w else None  # (out, M) @ (M, in)
        grad_b = g2.sum(axis=0) if need_b else None
        return grad_x, grad_w, grad_b


def matmul(input, other):
    """Matrix product with NumPy/PyTorch semantics."""
    input, other = as_operand(input, other, "matmul")
    if input.ndim == 0 or other.ndim == 0:
        raise ValueError("matmul: both operands must be at least 1-D, got shapes "
                         f"{input.shape} and {other.shape}")
    k_in = input.shape[-1]
    k_other = other.shape[0] if other.ndim == 1 else other.shape[-2]
    if k_in != k_other:
        raise ValueError(f"matmul: inner dimensions differ: input has shape {input.shape}, "
                         f"other has shape {other.shape} ({k_in} != {k_other})")
    try:
        np.broadcast_shapes(input.shape[:-2], other.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dimensions do not broadcast: input has shape "
                         f"{input.shape}, other has shape {other.shape} (batch "
                         f"{input.shape[:-2]} vs {other.shape[:-2]})") from None
    return MatMul.apply(input, other)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``; ``weight`` is ``(out_features, in_features)``."""
    require_float_input(input, "input", "linear")
    require_float_input(weight, "weight", "linear")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if input.ndim < 1 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input's last dimension must equal in_features={weight.shape[1]} "
                         f"(weight shape {weight.shape}), got input shape {input.shape}")
    if bias is not None:
        require_float_input(bias, "bias", "linear")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    return Linear.apply(input, weight, bias)
