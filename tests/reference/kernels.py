"""NumPy twins of the CUDA kernels in ``kernels/``, written from the formulas in their docstrings.

Vectorised NumPy in float64 (loops only over the kernel taps), sharing no
code with the kernels or with ``minicnn.ops``. ``tests/kernels/test_reference_kernels.py``
checks each twin against PyTorch; ``tests/kernels/test_kernels_sim.py`` checks
each kernel against its twin under Numba's CUDA simulator.

Geometry as in the kernels: ``x`` (N, C, H, W), kernel (kH, kW), stride
(s_h, s_w), top/left padding (p_t, p_l), dilation (d_h, d_w) and the output
size (Ho, Wo), which fixes the bottom/right padding.
"""
import numpy as np


def _pair(value):
    return (value, value) if np.isscalar(value) else tuple(value)


def output_size(size, kernel, stride, padding, dilation):
    """``floor((n + 2p - d(k-1) - 1) / s) + 1`` (symmetric padding)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _window_positions(start_pad, stride, dilation, kernel, out):
    """Input positions ``s*i + d*u - p``: an (kernel, out) integer array."""
    return (stride * np.arange(out)[None, :] + dilation * np.arange(kernel)[:, None]
            - start_pad)


def _gather(x, kernel_size, stride, padding, dilation, out_size, fill):
    """``patches[n, c, u, v, i, j] = x[n, c, s_h*i + d_h*u - p_t, s_w*j + d_w*v - p_l]``
    (``fill`` outside x), plus the row and column index arrays and the validity mask."""
    (k_h, k_w), (s_h, s_w) = _pair(kernel_size), _pair(stride)
    (p_t, p_l), (d_h, d_w) = _pair(padding), _pair(dilation)
    out_h, out_w = out_size
    height, width = x.shape[2:]
    rows = _window_positions(p_t, s_h, d_h, k_h, out_h)  # (kH, Ho)
    cols = _window_positions(p_l, s_w, d_w, k_w, out_w)  # (kW, Wo)
    row_ok = (rows >= 0) & (rows < height)
    col_ok = (cols >= 0) & (cols < width)
    valid = row_ok[:, None, :, None] & col_ok[None, :, None, :]  # (kH, kW, Ho, Wo)
    r = np.clip(rows, 0, height - 1)[:, None, :, None]
    c = np.clip(cols, 0, width - 1)[None, :, None, :]
    patches = x[:, :, r, c]  # (N, C, kH, kW, Ho, Wo)
    patches = np.where(valid, patches, fill)
    return patches, rows, cols, valid


def im2col(x, kernel_size, stride, padding, dilation, out_size):
    """``cols[n, (c*kH + u)*kW + v, i*Wo + j] = x[n, c, s_h*i + d_h*u - p_t, s_w*j + d_w*v - p_l]``

    (zero outside ``x``): (N, C*kH*kW, Ho*Wo), float64.
    """
    patches = _gather(x.astype(np.float64), kernel_size, stride, padding, dilation, out_size,
                      0.0)[0]
    n, c = x.shape[:2]
    return patches.reshape(n, -1, out_size[0] * out_size[1])  # (N, C*kH*kW, Ho*Wo)


def col2im(cols, input_shape, kernel_size, stride, padding, dilation, out_size):
    """The adjoint of :func:`im2col`: every column entry is added back at the pixel it came from."""
    (k_h, k_w) = _pair(kernel_size)
    n, channels, height, width = input_shape
    out_h, out_w = out_size
    patches = cols.astype(np.float64).reshape(n, channels, k_h, k_w, out_h, out_w)
    (p_t, p_l), (s_h, s_w), (d_h, d_w) = _pair(padding), _pair(stride), _pair(dilation)
    rows = _window_positions(p_t, s_h, d_h, k_h, out_h)
    cols_ = _window_positions(p_l, s_w, d_w, k_w, out_w)
    out = np.zeros((n * channels, height * width))
    flat = patches.reshape(n * channels, k_h, k_w, out_h, out_w)
    for u in range(k_h):
        for v in range(k_w):
            r, c = rows[u][:, None], cols_[v][None, :]  # (Ho, 1), (1, Wo)
            ok = (r >= 0) & (r < height) & (c >= 0) & (c < width)  # (Ho, Wo)
            target = (np.clip(r, 0, height - 1) * width + np.clip(c, 0, width - 1))[ok]
            np.add.at(out, (slice(None), target), flat[:, u, v][:, ok])
    return out.reshape(input_shape)


def depthwise_forward(x, weight, stride, padding, dilation, out_size):
    """``y[n, o, i, j] = sum_{u,v} w[o, 0, u, v] x[n, o // M, s_h*i + d_h*u - p_t, ...]``."""
    n, channels = x.shape[:2]
    out_channels, _, k_h, k_w = weight.shape
    multiplier = out_channels // channels
    cols = im2col(x, (k_h, k_w), stride, padding, dilation, out_size)
    cols = cols.reshape(n, channels, k_h * k_w, -1)  # (N, C, kH*kW, L)
    w = weight.astype(np.float64).reshape(channels, multiplier, k_h * k_w)  # (C, M, kH*kW)
    y = np.einsum("cmk,nckl->ncml", w, cols)  # (N, C, M, L)
    return y.reshape(n, out_channels, *out_size)


def depthwise_grad_input(grad_out, weight, input_shape, stride, padding, dilation):
    """``dL/dx = col2im(dcols)``, ``dcols[n, c, (u,v), l] = sum_m w[cM+m, 0, u,v] g[n, cM+m, l]``"""
    n, channels = input_shape[:2]
    out_channels, _, k_h, k_w = weight.shape
    multiplier = out_channels // channels
    out_size = grad_out.shape[2:]
    g = grad_out.astype(np.float64).reshape(n, channels, multiplier, -1)  # (N, C, M, L)
    w = weight.astype(np.float64).reshape(channels, multiplier, k_h * k_w)
    dcols = np.einsum("cmk,ncml->nckl", w, g).reshape(n, channels * k_h * k_w, -1)
    return col2im(dcols, input_shape, (k_h, k_w), stride, padding, dilation, out_size)


def depthwise_grad_weight(x, grad_out, weight_shape, stride, padding, dilation):
    """``dL/dw[o, 0, u, v] = sum_{n,i,j} g[n, o, i, j] x[n, o // M, s_h*i + d_h*u - p_t, ...]``."""
    n, channels = x.shape[:2]
    out_channels, _, k_h, k_w = weight_shape
    multiplier = out_channels // channels
    cols = im2col(x, (k_h, k_w), stride, padding, dilation, grad_out.shape[2:])
    cols = cols.reshape(n, channels, k_h * k_w, -1)
    g = grad_out.astype(np.float64).reshape(n, channels, multiplier, -1)
    return np.einsum("ncml,nckl->cmk", g, cols).reshape(weight_shape)


def channel_shuffle(x, groups):
    """``y[:, r*g + q] = x[:, q*(C/g) + r]`` (index form, not the reshape trick)."""
    channels = x.shape[1]
    per_group = channels // groups
    source = np.empty(channels, dtype=np.int64)
    for q in range(groups):
        for r in range(per_group):
            source[r * groups + q] = q * per_group + r
    return x[:, source]


def batchnorm_stats(x, eps):
    """Per-channel mean, biased variance and ``1/sqrt(var + eps)`` of (N, C, *), float64."""
    x3 = x.astype(np.float64).reshape(x.shape[0], x.shape[1], -1)
    mean = x3.mean(axis=(0, 2))
    var = ((x3 - mean[:, None]) ** 2).mean(axis=(0, 2))
    return mean, var, 1.0 / np.sqrt(var + eps)


def _channel(v, ndim):
    return np.asarray(v, dtype=np.float64).reshape((1, -1) + (1,) * (ndim - 2))


def batchnorm_forward(x, mean, inv_std, weight, bias):
    """``y = (x - mu) inv_std w + b`` per channel."""
    d = x.ndim
    return ((x.astype(np.float64) - _channel(mean, d)) * _channel(inv_std, d) * _channel(weight, d)
            + _channel(bias, d))


def batchnorm_backward(grad_out, x, mean, inv_std, weight):
    """``(dx, dw, db)``: ``db = sum g``, ``dw = sum g xhat``,
    ``dx = w inv_std (g - mean(g) - xhat mean(g xhat))``."""
    d = x.ndim
    axes = (0,) + tuple(range(2, d))
    g = grad_out.astype(np.float64)
    xhat = (x.astype(np.float64) - _channel(mean, d)) * _channel(inv_std, d)
    count = g.size // g.shape[1]
    grad_bias = g.sum(axis=axes)
    grad_weight = (g * xhat).sum(axis=axes)
    grad_in = _channel(weight, d) * _channel(inv_std, d) * (
        g - _channel(grad_bias / count, d) - xhat * _channel(grad_weight / count, d))
    return grad_in, grad_weight, grad_bias


def hardsigmoid(x):
    return np.clip(x.astype(np.float64) + 3, 0, 6) / 6


def hardsigmoid_grad(x, grad_out):
    """``1/6`` on the open interval (-3, 3), else 0."""
    x = x.astype(np.float64)
    return grad_out * np.where((x > -3) & (x < 3), 1 / 6, 0.0)


def hardswish(x):
    x = x.astype(np.float64)
    return x * np.clip(x + 3, 0, 6) / 6


def hardswish_grad(x, grad_out):
    """0 for ``x <= -3``, ``x/3 + 1/2`` on (-3, 3), 1 for ``x >= 3`` and at NaN (PyTorch's)."""
    x = x.astype(np.float64)
    slope = np.where(x <= -3, 0.0, np.where(x < 3, x / 3 + 0.5, 1.0))
    return grad_out * slope


def se_scale(x, scale):
    """``y[n, c, h, w] = x[n, c, h, w] * s[n, c]``."""
    s = scale.astype(np.float64).reshape(x.shape[:2] + (1,) * (x.ndim - 2))
    return x.astype(np.float64) * s


def se_grad_scale(grad_out, x):
    """``ds[n, c] = sum_{h,w} g x``."""
    prod = grad_out.astype(np.float64) * x
    return prod.reshape(x.shape[0], x.shape[1], -1).sum(axis=2)


def maxpool_forward(x, kernel_size, stride, padding, dilation, out_size):
    """Values and flat indices ``h*W + w`` with PyTorch's scan: first maximum, last NaN,
    the window's first in-input position when every value is -inf."""
    (k_h, k_w) = _pair(kernel_size)
    width = x.shape[3]
    patches, rows, cols, valid = _gather(x.astype(np.float64), kernel_size, stride, padding,
                                         dilation, out_size, -np.inf)
    n, c = x.shape[:2]
    out_h, out_w = out_size
    taps = k_h * k_w
    values = patches.reshape(n, c, taps, out_h, out_w)
    valid = valid.reshape(taps, out_h, out_w)
    flat = (rows[:, None, :, None] * width + cols[None, :, None, :]).reshape(taps, out_h, out_w)
    nan = np.isnan(values) & valid
    best = np.max(np.where(nan, -np.inf, values), axis=2)  # (N, C, Ho, Wo), NaN-free
    is_best = valid & (values == best[:, :, None])  # ties: the first wins
    first_best = np.argmax(is_best, axis=2)
    last_nan = taps - 1 - np.argmax(nan[:, :, ::-1], axis=2)
    has_nan = nan.any(axis=2)
    tap = np.where(has_nan, last_nan, first_best)
    indices = np.take_along_axis(np.broadcast_to(flat, values.shape), tap[:, :, None], 2)[:, :, 0]
    out = np.where(has_nan, np.nan, best)
    # A window with no in-input position at all: PyTorch's start row/col >= 0, value -inf.
    empty = ~valid.any(axis=0)  # (Ho, Wo)
    if empty.any():
        (s_h, s_w), (p_t, p_l), (d_h, d_w) = _pair(stride), _pair(padding), _pair(dilation)
        i, j = np.nonzero(empty)
        top, left = s_h * i - p_t, s_w * j - p_l
        top = np.where(top < 0, top + d_h * ((-top + d_h - 1) // d_h), top)
        left = np.where(left < 0, left + d_w * ((-left + d_w - 1) // d_w), left)
        indices[:, :, i, j] = top * width + left
    return out, indices


def maxpool_backward(grad_out, indices, input_shape):
    """``dL/dx[n, c, p] = sum of g[n, c, i, j] with indices[n, c, i, j] == p`` (a scatter-add)."""
    n, c, height, width = input_shape
    out = np.zeros((n * c, height * width))
    rows = np.repeat(np.arange(n * c), indices[0, 0].size)
    np.add.at(out, (rows, indices.reshape(-1)), grad_out.astype(np.float64).reshape(-1))
    return out.reshape(input_shape)
