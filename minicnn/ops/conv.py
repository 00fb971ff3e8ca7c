"""Convolution: conv2d and its adjoint, conv_transpose2d.

Notation
--------
``N`` batch, ``C`` input channels, ``Co`` output channels, ``G`` groups
(group ``g`` maps input channels ``g*C/G ... (g+1)*C/G - 1`` to output
channels ``g*Co/G ... (g+1)*Co/G - 1``; ``g(o) = o // (Co/G)``), kernel
``k = (kH, kW)``, stride ``s``, padding ``p``, dilation ``d``. Each of
``k, s, p, d`` has a height and a width component; the formulas are written
for one axis and hold for both.

conv2d
------
``x`` (N, C, H, W), ``w`` (Co, C/G, kH, kW), ``b`` (Co,)::

    H_out = floor((H + 2p - d(k-1) - 1) / s) + 1

    y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] * x[n, g(o)*C/G + c, s*i + d*u - p, s*j + d*v - p]

with ``c < C/G``, ``u < kH``, ``v < kW``, and ``x`` read as zero outside the
image (zero padding). Gradients, with ``gy = dL/dy``:

* ``dL/dw[o,c,u,v] = sum_{n,i,j} gy[n,o,i,j] * x[n, g(o)*C/G + c, s*i + d*u - p, s*j + d*v - p]``:
  ``x`` correlated with ``gy`` (``gy`` acts as a kernel of dilation ``s``);
* ``dL/dx[n, g*C/G + c, h, w] = sum_{o in g, u, v, i, j : s*i + d*u - p = h, s*j + d*v - p = w} gy[n,o,i,j] * w[o,c,u,v]``:
  the transposed convolution of ``gy`` with ``w``, i.e.
  ``dL/dx = conv_transpose2d(gy, w, stride=s, padding=p, dilation=d, groups=G)``
  (for stride 1, a plain convolution of ``gy`` with the kernel flipped in
  ``(u, v)`` and transposed in ``(o, c)``, padded by ``d(k-1) - p``);
* ``dL/db[o] = sum_{n,i,j} gy[n,o,i,j]``.

conv_transpose2d
----------------
The adjoint (transpose) of conv2d as a linear map of ``x``: ``x`` (N, C, H, W),
``w`` (C, Co/G, kH, kW), ``b`` (Co,)::

    H_out = (H - 1)*s - 2p + d(k-1) + output_padding + 1

    y[n, g*Co/G + o, s*i + d*u - p, s*j + d*v - p] += x[n, c, i, j] * w[c, o, u, v]   (c in group g)

plus ``b``, positions outside ``[0, H_out)`` dropped: each input pixel
scatters a weighted copy of the kernel onto the output. ``output_padding``
(smaller than the stride or the dilation) only lengthens the output at the
bottom/right, where the scatter may leave zeros. It is conv2d's input
gradient, and conversely its gradients are conv2d's pieces:

* ``dL/dx = conv2d(gy, w, stride=s, padding=p, dilation=d, groups=G)``
  (cropped to ``x``'s size);
* ``dL/dw[c,o,u,v] = sum_{n,i,j} x[n,c,i,j] * gy[n, g*Co/G + o, s*i + d*u - p, s*j + d*v - p]``:
  conv2d's weight gradient with the roles of input and output gradient swapped;
* ``dL/db[o] = sum_{n,i,j} gy[n,o,i,j]``.

Implementations (chosen per call, all computing the sums above)
---------------------------------------------------------------
* dense and grouped: im2col + batched matrix products, chunked over the
  batch (:mod:`minicnn.ops._conv_im2col`); 1x1 stride-1 unpadded kernels
  skip im2col and are a plain batched product; grouped (``1 < G < C``,
  ``C/G <= 16``) forward and stride-1 input gradient: a direct Numba kernel
  for NumPy arrays (:mod:`minicnn.ops._conv_grouped`);
* depthwise (``groups == C``, weight ``(M*C, 1, kH, kW)``): direct Numba
  kernels for NumPy arrays, the shifted-slice NumPy/CuPy formulation
  otherwise (:mod:`minicnn.ops._conv_depthwise`);
* GPU (float32/float64 CuPy arrays): minicnn's CUDA kernels through
  :mod:`minicnn.ops._gpu`: ``kernels/im2col.py`` (im2col, col2im) around
  cuBLAS products for dense and grouped, ``kernels/depthwise.py`` for depthwise.
"""
import numpy as np

from .._validation import as_int, as_pair
from ..backend import is_cupy_array, xp_of
from ..function import Function
from . import _conv_depthwise, _conv_grouped, _conv_im2col, _gpu
from ._common import require_float_input


def _is_depthwise(channels, weight_shape, groups):
    """Each group holds one input channel (``groups == C``): the direct kernels apply."""
    return groups == channels and weight_shape[1] == 1


def _dense_or_grouped(channels, groups):
    """The im2col products, or for grouped (not depthwise) convolutions the direct kernel."""
    return _conv_grouped if 1 < groups < channels else _conv_im2col


def _conv_output(x, weight, bias, stride, padding, dilation, groups, out_size):
    """conv2d: ``(N, C, H, W), (Co, C/G, kH, kW), (Co,) or None -> (N, Co, *out_size)``.

    The bias is added inside (while each piece of the output is still in cache).
    """
    if is_cupy_array(x) and _gpu.serves(x, weight):  # GPU dispatch: kernels/im2col, depthwise
        return _gpu.conv2d_forward(xp_of(x), x, weight, bias, stride, padding, dilation, groups,
                                   out_size)
    if _is_depthwise(x.shape[1], weight.shape, groups):
        return _conv_depthwise.forward(x, weight, bias, stride, padding, dilation, out_size)
    return _dense_or_grouped(x.shape[1], groups).conv_forward(x, weight, bias, stride, padding,
                                                              dilation, groups, out_size)


def _conv_grad_input(grad_out, weight, input_size, stride, padding, dilation, groups):
    """conv2d's input gradient, ``(N, Co, Ho, Wo) -> (N, C, *input_size)`` (= conv_transpose2d)."""
    if is_cupy_array(grad_out) and _gpu.serves(grad_out, weight):  # GPU dispatch (see above)
        return _gpu.conv2d_grad_input(xp_of(grad_out), grad_out, weight, input_size, stride,
                                      padding, dilation, groups)
    channels = groups * weight.shape[1]
    if _is_depthwise(channels, weight.shape, groups):
        return _conv_depthwise.grad_input(grad_out, weight, channels, input_size, stride, padding,
                                          dilation)
    return _dense_or_grouped(channels, groups).conv_grad_input(grad_out, weight, input_size,
                                                               stride, padding, dilation, groups)


def _conv_grad_weight(x, grad_out, weight_shape, stride, padding, dilation, groups):
    """conv2d's weight gradient: ``x`` correlated with ``grad_out``, shape ``weight_shape``."""
    if is_cupy_array(x) and _gpu.serves(x, grad_out):  # GPU dispatch (see above)
        return _gpu.conv2d_grad_weight(xp_of(x), x, grad_out, weight_shape, stride, padding,
                                       dilation, groups)
    if _is_depthwise(x.shape[1], weight_shape, groups):
        return _conv_depthwise.grad_weight(x, grad_out, weight_shape, stride, padding, dilation)
    return _conv_im2col.conv_grad_weight(x, grad_out, weight_shape, stride, padding, dilation,
                                         groups)


def _add_bias(y, bias):
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


class Conv2d(Function):
    """2-D convolution (cross-correlation), ``y = conv2d(x, w) + b``.

    ``x`` (N, C, H, W), ``w`` (Co, C/G, kH, kW), ``b`` (Co,) or None;
    ``y`` (N, Co, H_out, W_out) with ``H_out = floor((H + p_top + p_bottom - d(k-1) - 1) / s) + 1``::

        y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] * x[n, g(o)*C/G + c, s*i + d*u - p_top, s*j + d*v - p_left]

    Backward (``gy = dL/dy``)::

        dL/dw[o,c,u,v] = sum_{n,i,j} gy[n,o,i,j] * x[n, g(o)*C/G + c, s*i + d*u - p_top, s*j + d*v - p_left]
        dL/dx          = conv_transpose2d(gy, w)   (same s, p, d, G; sized like x)
        dL/db[o]       = sum_{n,i,j} gy[n,o,i,j]

    ``padding`` is ``((top, bottom), (left, right))`` (the functional
    wrapper turns ``'same'`` into PyTorch's asymmetric split).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, stride, padding, dilation, groups, out_size):
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, dilation, groups)
        return _conv_output(x, weight, bias, stride, padding, dilation, groups, out_size)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_arrays
        stride, padding, dilation, groups = ctx.conf
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_x = grad_w = grad_b = None
        if need_x:
            grad_x = _conv_grad_input(grad_out, weight, x.shape[2:], stride, padding, dilation,
                                      groups)
        if need_w:
            grad_w = _conv_grad_weight(x, grad_out, weight.shape, stride, padding, dilation, groups)
        if need_b:
            grad_b = grad_out.sum(axis=(0, 2, 3))
        return grad_x, grad_w, grad_b


class ConvTranspose2d(Function):
    """2-D transposed convolution, the adjoint of :class:`Conv2d`.

    ``x`` (N, C, H, W), ``w`` (C, Co/G, kH, kW), ``b`` (Co,) or None;
    ``y`` (N, Co, H_out, W_out), ``H_out = (H - 1)*s - 2p + d(k-1) + output_padding + 1``::

        y[n, g*Co/G + o, s*i + d*u - p, s*j + d*v - p] += x[n, c, i, j] * w[c, o, u, v]   (c in group g)

    (plus ``b[o]``; positions outside the output dropped). Forward is conv2d's
    input gradient; backward (``gy = dL/dy``) is conv2d's forward and weight
    gradient::

        dL/dx          = conv2d(gy, w)   (same s, p, d, G; cropped to x's size)
        dL/dw[c,o,u,v] = sum_{n,i,j} x[n,c,i,j] * gy[n, g*Co/G + o, s*i + d*u - p, s*j + d*v - p]
        dL/db[o]       = sum_{n,i,j} gy[n,o,i,j]
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, stride, padding, dilation, groups, out_size):
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, dilation, groups)
        y = _conv_grad_input(x, weight, out_size, stride, padding, dilation, groups)
        return _add_bias(y, bias)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_arrays
        stride, padding, dilation, groups = ctx.conf
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_x = grad_w = grad_b = None
        if need_x:
            grad_x = _conv_output(grad_out, weight, None, stride, padding, dilation, groups,
                                  x.shape[2:])
        if need_w:
            # conv2d's weight gradient with conv2d's input = gy and its output gradient = x
            grad_w = _conv_grad_weight(grad_out, x, weight.shape, stride, padding, dilation, groups)
        if need_b:
            grad_b = grad_out.sum(axis=(0, 2, 3))
        return grad_x, grad_w, grad_b


# ----------------------------------------------------------------------------- argument checks

def _check_operands(op, input, weight, bias, weight_layout):
    """Float tensors of one dtype, ``input`` 3-D or 4-D, ``weight`` 4-D; raises before any work."""
    require_float_input(input, "input", op)
    require_float_input(weight, "weight", op)
    if bias is not None:
        require_float_input(bias, "bias", op)
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor is not None and tensor.dtype != input.dtype:
            raise TypeError(f"{op}: {name} has dtype {np.dtype(tensor.dtype).name} but input has "
                            f"dtype {np.dtype(input.dtype).name}; they must match (convert "
                            f"explicitly with .float() or .double())")
    if input.ndim not in (3, 4):
        raise ValueError(f"{op}: input must be 4-D (N, C_in, H, W) or 3-D (C_in, H, W), "
                         f"got shape {tuple(input.shape)}")
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D {weight_layout}, got shape "
                         f"{tuple(weight.shape)}")


def _check_bias(op, bias, out_channels):
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ValueError(f"{op}: bias must have shape ({out_channels},) (one per output channel), "
                         f"got shape {tuple(bias.shape)}")


def _check_groups(op, groups, in_channels, out_channels, out_name):
    groups = as_int(groups, "groups", 1, op)
    if in_channels % groups:
        raise ValueError(f"{op}: groups={groups} must divide the input channels, but input has "
                         f"{in_channels} channels")
    if out_channels % groups:
        raise ValueError(f"{op}: groups={groups} must divide the output channels, but {out_name} "
                         f"gives {out_channels} output channels")
    return groups


def _same_padding(kernel_size, dilation):
    """PyTorch's 'same': total ``d(k-1)`` per axis, the odd one extra at the bottom/right."""
    pads = []
    for k, d in zip(kernel_size, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _unbatched(input):
    """Run a 3-D (C, H, W) input as a batch of one, as PyTorch does."""
    return input.ndim == 3


def _batch_of_one(input):
    from .shape import unsqueeze

    return unsqueeze(input, 0)


def _drop_batch(output):
    from .shape import squeeze

    return squeeze(output, 0)


def sliding_blocks(op, shape, kernel_size, stride, pads, dilation, padding):
    """``(H_out, W_out)``, the window positions along each axis of an image of ``shape``
    (..., H, W): ``floor((H + p_top + p_bottom - d(k-1) - 1) / s) + 1``; ValueError when the
    dilated kernel is larger than the padded image (``padding``: as given, for the message)."""
    out_size = []
    for axis, (size, k) in enumerate(zip(shape[-2:], kernel_size)):
        padded = size + pads[axis][0] + pads[axis][1]
        extent = dilation[axis] * (k - 1) + 1
        if extent > padded:
            raise ValueError(
                f"{op}: kernel size {tuple(kernel_size)} with dilation {dilation} spans "
                f"{extent} {'rows' if axis == 0 else 'columns'}, more than the padded input's "
                f"{padded} (input shape {tuple(shape)}, padding {padding!r}); the kernel "
                f"can't be larger than the padded input")
        out_size.append((padded - extent) // stride[axis] + 1)
    return tuple(out_size)


# ----------------------------------------------------------------------------- public functions

def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution over ``input`` (N, C_in, H, W) (or unbatched (C_in, H, W)).

    ``weight`` (C_out, C_in/groups, kH, kW), ``bias`` (C_out,) or None;
    ``stride``, ``dilation``: int or pair, >= 1; ``padding``: int or pair
    >= 0, or ``'valid'`` (no padding) or ``'same'`` (output size = input
    size; stride 1 only; with an even ``d(k-1)`` split evenly, otherwise the
    extra row/column goes to the bottom/right, as in PyTorch); ``groups``
    divides C_in and C_out (``groups == C_in``: depthwise, ``C_out = M*C_in``
    for a channel multiplier ``M``).

    Output (N, C_out, H_out, W_out), ``H_out = floor((H + 2p - d(k-1) - 1) / s) + 1``::

        y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] * x[n, g(o)*C/G + c, s*i + d*u - p, s*j + d*v - p]

    ``dL/dw`` is ``x`` correlated with ``dL/dy``; ``dL/dx`` is the transposed
    convolution of ``dL/dy`` with ``w``. See the module docstring.
    """
    op = "conv2d"
    _check_operands(op, input, weight, bias, "(C_out, C_in/groups, kH, kW)")
    in_channels = input.shape[-3]
    out_channels, group_channels, k_h, k_w = weight.shape
    groups = _check_groups(op, groups, in_channels, out_channels, "weight")
    if group_channels * groups != in_channels:
        raise ValueError(f"{op}: weight expects {group_channels} * groups={groups} = "
                         f"{group_channels * groups} input channels (weight shape "
                         f"{tuple(weight.shape)}), but input has {in_channels} channels "
                         f"(input shape {tuple(input.shape)})")
    _check_bias(op, bias, out_channels)
    stride = as_pair(stride, "stride", 1, op)
    dilation = as_pair(dilation, "dilation", 1, op)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0), (0, 0))
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' needs stride 1 (the output would not "
                                 f"keep the input size), got stride={stride}")
            pads = _same_padding((k_h, k_w), dilation)
        else:
            raise ValueError(f"{op}: padding must be 'same', 'valid', an int or a pair of ints, "
                             f"got {padding!r}")
    else:
        pad_h, pad_w = as_pair(padding, "padding", 0, op)
        pads = ((pad_h, pad_h), (pad_w, pad_w))
    out_size = sliding_blocks(op, input.shape, (k_h, k_w), stride, pads, dilation, padding)
    unbatched = _unbatched(input)
    if unbatched:
        input = _batch_of_one(input)
    out = Conv2d.apply(input, weight, bias, stride=stride, padding=pads, dilation=dilation,
                       groups=groups, out_size=tuple(out_size))
    return _drop_batch(out) if unbatched else out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (the adjoint of conv2d) over ``input`` (N, C_in, H, W).

    ``weight`` (C_in, C_out/groups, kH, kW), ``bias`` (C_out,) or None;
    ``stride``, ``dilation`` >= 1, ``padding`` >= 0, ``output_padding`` >= 0
    and smaller than the stride or the dilation (int or pair each);
    ``groups`` divides C_in and C_out.

    Output (N, C_out, H_out, W_out), ``H_out = (H - 1)*s - 2p + d(k-1) + output_padding + 1``::

        y[n, g*Co/G + o, s*i + d*u - p, s*j + d*v - p] += x[n, c, i, j] * w[c, o, u, v]

    i.e. ``y`` is conv2d's input gradient for an output gradient ``x``; its
    ``dL/dx`` is conv2d of ``dL/dy`` with ``w`` and its ``dL/dw`` is ``dL/dy``
    correlated with ``x``. See the module docstring.
    """
    op = "conv_transpose2d"
    _check_operands(op, input, weight, bias, "(C_in, C_out/groups, kH, kW)")
    in_channels = input.shape[-3]
    if weight.shape[0] != in_channels:
        raise ValueError(f"{op}: weight's first dimension must equal the input channels "
                         f"{in_channels} (input shape {tuple(input.shape)}), got weight shape "
                         f"{tuple(weight.shape)}")
    groups = as_int(groups, "groups", 1, op)
    out_channels = weight.shape[1] * groups  # divisible by groups by construction
    _check_groups(op, groups, in_channels, out_channels, "weight.shape[1] * groups")
    _check_bias(op, bias, out_channels)
    stride = as_pair(stride, "stride", 1, op)
    dilation = as_pair(dilation, "dilation", 1, op)
    if isinstance(padding, str):
        raise TypeError(f"{op}: padding must be an int or a pair of ints (conv_transpose2d "
                        f"takes no 'same'/'valid'), got {padding!r}")
    padding = as_pair(padding, "padding", 0, op)
    output_padding = as_pair(output_padding, "output_padding", 0, op)
    for axis in range(2):
        if output_padding[axis] >= max(stride[axis], dilation[axis]):
            raise ValueError(f"{op}: output_padding={output_padding} must be smaller than either "
                             f"stride={stride} or dilation={dilation} (in each dimension)")
    out_size = []
    for axis, (size, k) in enumerate(zip(input.shape[-2:], weight.shape[2:])):
        length = ((size - 1) * stride[axis] - 2 * padding[axis] + dilation[axis] * (k - 1)
                  + output_padding[axis] + 1)
        if length < 1:
            raise ValueError(f"{op}: the output would have size {length} in "
                             f"{'height' if axis == 0 else 'width'} (input shape "
                             f"{tuple(input.shape)}, kernel {tuple(weight.shape[2:])}, stride "
                             f"{stride}, padding {padding}, dilation {dilation}); padding is too "
                             f"large for this input")
        out_size.append(length)
    pads = ((padding[0], padding[0]), (padding[1], padding[1]))
    unbatched = _unbatched(input)
    if unbatched:
        input = _batch_of_one(input)
    out = ConvTranspose2d.apply(input, weight, bias, stride=stride, padding=pads,
                                dilation=dilation, groups=groups, out_size=tuple(out_size))
    return _drop_batch(out) if unbatched else out
