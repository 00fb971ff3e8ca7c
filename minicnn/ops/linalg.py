"""Matrix products: matmul and linear."""
from ..autograd import unbroadcast
from ..backend import xp_of
from ..function import Function
from ._common import as_operand, require_float_input


class MatMul(Function):
    """``y = a @ b`` with NumPy's rules (1-D operands, broadcast batch dimensions).

    ``dL/da = g @ b^T`` and ``dL/db = a^T @ g`` (transposing the last two
    axes), each summed over the batch dimensions it was broadcast along.
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
        g2 = grad_out
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = unbroadcast(g2 @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            grad_b = unbroadcast(xp.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return grad_a, grad_b


class Linear(Function):
    """``y = x W^T + b`` for ``x: (*, in)``, ``W: (out, in)``, ``b: (out,)``, ``y: (*, out)``.

    ``dL/dx = g W``;  ``dL/dW = g^T x`` (summed over ``*``);  ``dL/db = sum_* g``.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        out = x @ weight.T
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
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    return Linear.apply(input, weight, bias)
