"""Naive loop references for conv2d and conv_transpose2d, written from the docstring sums.

Deliberately plain: explicit loops over output channels, pixels and kernel
taps with a bounds check for the zero padding, so that they share no code
(im2col, flipping, strided views) with the engine. Vectorised only over the
batch and the channels of one group, to keep hypothesis tests fast.
"""
import numpy as np


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def same_padding(kernel_size, dilation):
    """PyTorch's padding='same': total d(k-1) per axis, the odd one at the bottom/right."""
    return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                 for k, d in zip(kernel_size, dilation))


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] x[n, g(o)*C/G + c, s*i + d*u - p, s*j + d*v - p].

    ``padding``: int, pair, 'valid', 'same', or ((top, bottom), (left, right)).
    """
    n_batch, channels, height, width = x.shape
    out_channels, group_channels, k_h, k_w = w.shape
    (s_h, s_w), (d_h, d_w) = _pair(stride), _pair(dilation)
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        pads = same_padding((k_h, k_w), (d_h, d_w))
    elif isinstance(padding, tuple) and isinstance(padding[0], tuple):
        pads = padding
    else:
        p_h, p_w = _pair(padding)
        pads = ((p_h, p_h), (p_w, p_w))
    (top, bottom), (left, right) = pads
    out_h = (height + top + bottom - d_h * (k_h - 1) - 1) // s_h + 1
    out_w = (width + left + right - d_w * (k_w - 1) - 1) // s_w + 1
    per_group = out_channels // groups
    y = np.zeros((n_batch, out_channels, out_h, out_w), dtype=np.result_type(x, w))
    for o in range(out_channels):
        first = (o // per_group) * group_channels  # g(o) * C/G
        for i in range(out_h):
            for j in range(out_w):
                for u in range(k_h):
                    for v in range(k_w):
                        h = s_h * i + d_h * u - top
                        col = s_w * j + d_w * v - left
                        if 0 <= h < height and 0 <= col < width:
                            # sum over c: (N, C/G) @ (C/G,)
                            patch = x[:, first:first + group_channels, h, col]
                            y[:, o, i, j] += patch @ w[o, :, u, v]
        if b is not None:
            y[:, o] += b[o]
    return y


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The scatter form: y[n, g*Co/G + o, s*i + d*u - p, s*j + d*v - p] += x[n,c,i,j] w[c,o,u,v].

    Scatter onto an uncropped canvas (index ``s*i + d*u``), extended at the
    bottom/right by ``output_padding``, then crop ``padding`` from each side.
    """
    n_batch, in_channels, height, width = x.shape
    _, per_group, k_h, k_w = w.shape
    (s_h, s_w), (p_h, p_w) = _pair(stride), _pair(padding)
    (op_h, op_w), (d_h, d_w) = _pair(output_padding), _pair(dilation)
    full_h = (height - 1) * s_h + d_h * (k_h - 1) + 1 + op_h
    full_w = (width - 1) * s_w + d_w * (k_w - 1) + 1 + op_w
    in_per_group = in_channels // groups
    canvas = np.zeros((n_batch, per_group * groups, full_h, full_w), dtype=np.result_type(x, w))
    for c in range(in_channels):
        first = (c // in_per_group) * per_group  # g * Co/G
        for i in range(height):
            for j in range(width):
                for u in range(k_h):
                    for v in range(k_w):
                        # (N, 1) * (1, Co/G)
                        h, col = s_h * i + d_h * u, s_w * j + d_w * v
                        canvas[:, first:first + per_group, h, col] += (
                            x[:, c, i, j][:, None] * w[c, :, u, v][None, :])
    out_h = full_h - 2 * p_h
    out_w = full_w - 2 * p_w
    y = canvas[:, :, p_h:p_h + out_h, p_w:p_w + out_w].copy()
    if b is not None:
        y += b[None, :, None, None]
    return y
