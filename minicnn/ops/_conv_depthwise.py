"""Depthwise convolution (``groups == C``, weight ``(C*M, 1, kH, kW)``), three ways to one sum.

``forward``/``grad_input``/``grad_weight`` pick the implementation: the Numba
kernels of :mod:`minicnn.ops._conv_depthwise_numba` for NumPy arrays, else the
shifted-slice formulation below (written against ``xp``, so it also runs on
CuPy). The ``*_reference`` functions are that formulation, kept readable: one
vectorised multiply-add per kernel tap ``(u, v)``, each over a strided slice
of the zero-padded input::

    y[n, c, m, :, :] += w[c, m, u, v] * x_pad[n, c, d_h*u : d_h*u + s_h*(Ho-1) + 1 : s_h,
                                                   d_w*v : d_w*v + s_w*(Wo-1) + 1 : s_w]

with output channel ``o = c*M + m``. Padding arrives as
``((top, bottom), (left, right))``.
"""
from ..backend import xp_of


def _tap(u, dilation, stride, out_len):
    """The input slice that kernel offset ``u`` reads for all outputs of one axis."""
    start = u * dilation
    return slice(start, start + stride * (out_len - 1) + 1, stride)


def _pad(x, padding, xp):
    (top, bottom), (left, right) = padding
    if top == bottom == left == right == 0:
        return x
    return xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def forward_reference(x, weight, bias, stride, padding, dilation, out_size):
    """``y`` (N, C*M, Ho, Wo) for ``x`` (N, C, H, W), ``weight`` (C*M, 1, kH, kW), ``bias``
    (C*M,) or None."""
    xp = xp_of(x)
    n_batch, channels = x.shape[:2]
    out_channels, _, k_h, k_w = weight.shape
    out_h, out_w = out_size
    w = weight.reshape(channels, out_channels // channels, k_h, k_w)  # (C, M, kH, kW)
    x_pad = _pad(x, padding, xp)
    y = xp.zeros((n_batch, channels, out_channels // channels, out_h, out_w), dtype=x.dtype)
    for u in range(k_h):
        rows = _tap(u, dilation[0], stride[0], out_h)
        for v in range(k_w):
            cols = _tap(v, dilation[1], stride[1], out_w)
            # (1, C, M, 1, 1) * (N, C, 1, Ho, Wo)
            y += w[None, :, :, u, v, None, None] * x_pad[:, :, None, rows, cols]
    y = y.reshape(n_batch, out_channels, out_h, out_w)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def grad_input_reference(grad_out, weight, channels, input_size, stride, padding, dilation):
    """``dL/dx`` (N, C, H, W): each tap scatters ``w * grad_out`` back onto the slice it read."""
    xp = xp_of(grad_out)
    n_batch, out_channels, out_h, out_w = grad_out.shape
    k_h, k_w = weight.shape[2:]
    (top, bottom), (left, right) = padding
    height, width = input_size
    w = weight.reshape(channels, out_channels // channels, k_h, k_w)
    g = grad_out.reshape(n_batch, channels, out_channels // channels, out_h, out_w)
    grad_pad = xp.zeros((n_batch, channels, height + top + bottom, width + left + right),
                        dtype=grad_out.dtype)
    for u in range(k_h):
        rows = _tap(u, dilation[0], stride[0], out_h)
        for v in range(k_w):
            cols = _tap(v, dilation[1], stride[1], out_w)
            # sum over the multiplier m: (N, C, M, Ho, Wo) -> (N, C, Ho, Wo)
            grad_pad[:, :, rows, cols] += (g * w[None, :, :, u, v, None, None]).sum(axis=2)
    return grad_pad[:, :, top:top + height, left:left + width]


def grad_weight_reference(x, grad_out, weight_shape, stride, padding, dilation):
    """``dL/dw`` (C*M, 1, kH, kW): each tap's slice of ``x`` against ``grad_out``, summed."""
    xp = xp_of(x)
    n_batch, channels = x.shape[:2]
    out_channels, _, k_h, k_w = weight_shape
    out_h, out_w = grad_out.shape[2:]
    x_pad = _pad(x, padding, xp)
    g = grad_out.reshape(n_batch, channels, out_channels // channels, out_h, out_w)
    grad_w = xp.empty((channels, out_channels // channels, k_h, k_w), dtype=x.dtype)
    for u in range(k_h):
        rows = _tap(u, dilation[0], stride[0], out_h)
        for v in range(k_w):
            cols = _tap(v, dilation[1], stride[1], out_w)
            # (N, C, M, Ho, Wo) * (N, C, 1, Ho, Wo), summed over n, i, j -> (C, M)
            grad_w[:, :, u, v] = (g * x_pad[:, :, None, rows, cols]).sum(axis=(0, 3, 4))
    return grad_w.reshape(weight_shape)


def _numba_kernels(array):
    """The Numba module when ``array`` is a NumPy array (imported lazily: Numba loads slowly)."""
    if xp_of(array).__name__ != "numpy":
        return None
    from . import _conv_depthwise_numba

    return _conv_depthwise_numba


def forward(x, weight, bias, stride, padding, dilation, out_size):
    kernels = _numba_kernels(x)
    impl = kernels.forward if kernels else forward_reference
    return impl(x, weight, bias, stride, padding, dilation, out_size)


def grad_input(grad_out, weight, channels, input_size, stride, padding, dilation):
    kernels = _numba_kernels(grad_out)
    impl = kernels.grad_input if kernels else grad_input_reference
    return impl(grad_out, weight, channels, input_size, stride, padding, dilation)


def grad_weight(x, grad_out, weight_shape, stride, padding, dilation):
    kernels = _numba_kernels(x)
    impl = kernels.grad_weight if kernels else grad_weight_reference
    return impl(x, grad_out, weight_shape, stride, padding, dilation)
