"""The implementation ladder: one convolution, implemented step by step from the formula to the GPU.

The same operator, computed four (depthwise: five) ways, each selectable by name and
all held to each other by ``tests/docs/test_ladder.py``; ``benchmarks/ladder.py``
measures them and ``docs/ladder.md`` explains why each rung is faster and what it
costs in memory.

=========  ===================================================================
rung       implementation
=========  ===================================================================
naive      :mod:`.naive`: the card's three sums as plain Python loops
im2col     :mod:`.im2col`: copy every window into a column, one matrix product
shifted    :mod:`.shifted` (depthwise only): one vectorised multiply-add per tap
fast       :mod:`.fast`: minicnn's own CPU paths (chunked im2col; Numba depthwise)
cuda       :mod:`.cuda`: the CUDA kernels of ``kernels/`` (CuPy arrays, or the simulator)
=========  ===================================================================

>>> import minicnn, minicnn.ladder as ladder
>>> x, w = minicnn.randn(1, 3, 8, 8), minicnn.randn(4, 3, 3, 3)
>>> y = ladder.conv2d(x, w, padding=1, impl="im2col")      # a Tensor, differentiable
>>> ladder.available("cuda")                                # (False, 'CuPy is not installed ...') here

``conv2d`` runs every group through the dense rungs; ``depthwise_conv2d`` (``groups``
equal to the input channels, weight ``(M*C, 1, k_h, k_w)``) through the depthwise ones.
``minicnn.nn.functional.conv2d`` is the ``fast`` rung, choosing the depthwise kernels
by itself when ``groups == C``.
"""
from .. import _validation
from ..function import Function
from ..ops._common import require_float_input
from . import cuda, fast, im2col, naive, shifted

#: The rungs of each operator, slowest first.
IMPLEMENTATIONS = {
    "conv2d": ("naive", "im2col", "fast", "cuda"),
    "depthwise_conv2d": ("naive", "im2col", "shifted", "fast", "cuda"),
}


def available(impl):
    """``(True, how)`` if rung ``impl`` can run on this machine, else ``(False, why not)``."""
    if impl == "cuda":
        return cuda.availability()
    if impl in IMPLEMENTATIONS["depthwise_conv2d"]:
        return True, "CPU"
    raise ValueError(f"available: unknown implementation {impl!r}; the rungs are "
                     f"{', '.join(IMPLEMENTATIONS['depthwise_conv2d'])}")


class Rung:
    """One implementation of one operator: ``forward``, ``grad_input``, ``grad_weight`` on arrays.

    All take ``padding`` as ``((top, bottom), (left, right))`` and ``stride``/``dilation`` as
    pairs; ``groups`` is C for the depthwise operator.
    """

    def __init__(self, op, impl):
        if op not in IMPLEMENTATIONS:
            raise ValueError(f"ladder: unknown operator {op!r}; valid: {', '.join(IMPLEMENTATIONS)}")
        if impl not in IMPLEMENTATIONS[op]:
            raise ValueError(f"ladder: {op} has no implementation {impl!r}; its rungs are "
                             f"{', '.join(IMPLEMENTATIONS[op])}")
        ok, reason = available(impl)
        if not ok:
            raise RuntimeError(f"ladder: the {impl!r} rung of {op} is not available here: {reason}")
        self.op, self.impl = op, impl
        depthwise_module = {"shifted": shifted, "fast": fast, "cuda": cuda}.get(impl)
        self._direct = op == "depthwise_conv2d" and depthwise_module is not None
        self._module = depthwise_module if self._direct else {
            "naive": naive, "im2col": im2col, "fast": fast, "cuda": cuda}[impl]

    def __repr__(self):
        return f"Rung({self.op!r}, {self.impl!r})"

    def forward(self, x, weight, bias, stride, padding, dilation, groups):
        """``y`` (N, C_out, H_out, W_out), bias included (``bias`` may be None)."""
        out_hw = naive.out_size(x.shape[2:], weight.shape[2:], stride, padding, dilation)
        if self.impl in ("fast", "shifted"):  # minicnn's own code adds the bias in its loops
            if self._direct:
                return self._module.depthwise_forward(x, weight, bias, stride, padding, dilation,
                                                      out_hw)
            return fast.conv2d_forward(x, weight, bias, stride, padding, dilation, groups, out_hw)
        if self._direct:
            y = self._module.depthwise_forward(x, weight, stride, padding, dilation, out_hw)
        else:
            y = self._module.conv2d_forward(x, weight, stride, padding, dilation, groups)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)  # a separate pass over the output
        return y

    def grad_input(self, grad_out, weight, input_shape, stride, padding, dilation, groups):
        if self._direct:
            return self._module.depthwise_grad_input(grad_out, weight, input_shape, stride,
                                                     padding, dilation)
        return self._module.conv2d_grad_input(grad_out, weight, input_shape, stride, padding,
                                              dilation, groups)

    def grad_weight(self, x, grad_out, weight_shape, stride, padding, dilation, groups):
        if self._direct:
            return self._module.depthwise_grad_weight(x, grad_out, weight_shape, stride, padding,
                                                      dilation)
        return self._module.conv2d_grad_weight(x, grad_out, weight_shape, stride, padding,
                                               dilation, groups)


def rung(op, impl):
    """The :class:`Rung` ``impl`` of operator ``op`` (``'conv2d'`` or ``'depthwise_conv2d'``)."""
    return Rung(op, impl)


class LadderConv2d(Function):
    """conv2d computed by one rung of the ladder (same math as :class:`minicnn.ops.conv.Conv2d`).

    ``y = conv(x, w) + b``; ``dL/dx``, ``dL/dw`` from the rung's own backward,
    ``dL/db = sum_{n,i,j} gy``. Shapes: ``(N, C, H, W), (C_out, C/G, k_h, k_w) ->
    (N, C_out, H_out, W_out)``.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, rung, stride, padding, dilation, groups):
        ctx.save_for_backward(x, weight)
        ctx.conf = (rung, stride, padding, dilation, groups)
        return rung.forward(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_arrays
        rung, stride, padding, dilation, groups = ctx.conf
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_x = rung.grad_input(grad_out, weight, x.shape, stride, padding, dilation,
                                 groups) if need_x else None
        grad_w = rung.grad_weight(x, grad_out, weight.shape, stride, padding, dilation,
                                  groups) if need_w else None
        grad_b = grad_out.sum(axis=(0, 2, 3)) if need_b else None
        return grad_x, grad_w, grad_b


def _arguments(op, input, weight, bias, stride, padding, dilation, groups):
    require_float_input(input, "input", op)
    require_float_input(weight, "weight", op)
    _validation.require_ndim(input, "input", 4, op, "(N, C, H, W)")
    _validation.require_ndim(weight, "weight", 4, op, "(C_out, C/groups, k_h, k_w)")
    groups = _validation.as_int(groups, "groups", 1, op)
    channels = input.shape[1]
    if weight.shape[1] * groups != channels or weight.shape[0] % groups:
        raise ValueError(f"{op}: weight {tuple(weight.shape)} with groups={groups} does not fit an "
                         f"input with {channels} channels")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"{op}: bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    stride = _validation.as_pair(stride, "stride", 1, op)
    dilation = _validation.as_pair(dilation, "dilation", 1, op)
    pad_h, pad_w = _validation.as_pair(padding, "padding", 0, op)
    padding = ((pad_h, pad_h), (pad_w, pad_w))
    out_hw = naive.out_size(input.shape[2:], weight.shape[2:], stride, padding, dilation)
    if min(out_hw) < 1:
        raise ValueError(f"{op}: the kernel {tuple(weight.shape[2:])} (dilation {dilation}) does not "
                         f"fit the padded input {tuple(input.shape[2:])} (padding {(pad_h, pad_w)})")
    return stride, padding, dilation, groups


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, impl="fast"):
    """``F.conv2d`` computed by rung ``impl`` (``naive``, ``im2col``, ``fast``, ``cuda``).

    ``padding``: int or pair (symmetric). Returns a Tensor with a gradient.
    """
    op = "ladder.conv2d"
    stride, padding, dilation, groups = _arguments(op, input, weight, bias, stride, padding,
                                                   dilation, groups)
    return LadderConv2d.apply(input, weight, bias, rung=Rung("conv2d", impl), stride=stride,
                              padding=padding, dilation=dilation, groups=groups)


def depthwise_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, *, impl="fast"):
    """Depthwise conv (``groups = C``, weight ``(M*C, 1, k_h, k_w)``) computed by rung ``impl``
    (``naive``, ``im2col``, ``shifted``, ``fast``, ``cuda``)."""
    op = "ladder.depthwise_conv2d"
    if getattr(weight, "ndim", 0) == 4 and weight.shape[1] != 1:
        raise ValueError(f"{op}: a depthwise weight has shape (M*C, 1, k_h, k_w), got "
                         f"{tuple(weight.shape)}")
    channels = input.shape[1] if getattr(input, "ndim", 0) == 4 else 1
    stride, padding, dilation, groups = _arguments(op, input, weight, bias, stride, padding,
                                                   dilation, channels)
    return LadderConv2d.apply(input, weight, bias, rung=Rung("depthwise_conv2d", impl),
                              stride=stride, padding=padding, dilation=dilation, groups=groups)


__all__ = ["IMPLEMENTATIONS", "available", "rung", "Rung", "conv2d", "depthwise_conv2d",
           "LadderConv2d"]
