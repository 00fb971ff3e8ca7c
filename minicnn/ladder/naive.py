"""Rung 1: convolution as the formula reads, one multiply-add at a time, in plain Python loops.

The three functions are the three sums of the convolution card
(``docs/ops/convolution.md``), written as literally as possible: one Python loop per
index, a bounds check where the formula reads the zero padding. ``x`` and ``weight``
are first turned into nested Python lists (``tolist()``), because indexing a NumPy
array element by element is slower still (each access builds a NumPy scalar).

Cost: about ``N * C_out * H_out * W_out * (C/G) * k_h * k_w`` interpreted multiply-adds,
each some tens of nanoseconds: a 1e4-1e5 times slower than the other rungs, which is the
point. Memory: the output and Python's boxed floats, nothing else. Only tiny shapes
are practical (the tests use them).

Notation: ``x`` (N, C, H, W), ``weight`` (C_out, C/G, k_h, k_w), ``padding``
``((top, bottom), (left, right))``; group of output channel ``o``: ``o // (C_out/G)``.
"""
import numpy as np


def out_size(size, kernel, stride, padding, dilation):
    """``H_out = floor((H + p_top + p_bottom - d (k - 1) - 1) / s) + 1`` for both axes."""
    return tuple((size[a] + padding[a][0] + padding[a][1] - dilation[a] * (kernel[a] - 1) - 1)
                 // stride[a] + 1 for a in range(2))


def conv2d_forward(x, weight, stride, padding, dilation, groups):
    """``y[n,o,i,j] = sum_{c,u,v} w[o,c,u,v] x[n, g(o) C/G + c, s_h i + d_h u - p_t, s_w j + d_w v - p_l]``."""
    n_batch, _, height, width = x.shape
    out_channels, group_channels, k_h, k_w = weight.shape
    (s_h, s_w), ((top, _), (left, _)), (d_h, d_w) = stride, padding, dilation
    out_h, out_w = out_size((height, width), (k_h, k_w), stride, padding, dilation)
    per_group = out_channels // groups
    xs, ws = x.tolist(), weight.tolist()
    y = [[[[0.0] * out_w for _ in range(out_h)] for _ in range(out_channels)] for _ in range(n_batch)]
    for n in range(n_batch):
        for o in range(out_channels):
            first = (o // per_group) * group_channels  # g(o) * C/G
            for i in range(out_h):
                for j in range(out_w):
                    total = 0.0
                    for c in range(group_channels):
                        for u in range(k_h):
                            h = s_h * i + d_h * u - top
                            if not 0 <= h < height:
                                continue  # zero padding
                            for v in range(k_w):
                                col = s_w * j + d_w * v - left
                                if 0 <= col < width:
                                    total += ws[o][c][u][v] * xs[n][first + c][h][col]
                    y[n][o][i][j] = total
    return np.array(y, dtype=x.dtype)


def conv2d_grad_weight(x, grad_out, weight_shape, stride, padding, dilation, groups):
    """``dL/dw[o,c,u,v] = sum_{n,i,j} gy[n,o,i,j] x[n, g(o) C/G + c, s_h i + d_h u - p_t, s_w j + d_w v - p_l]``."""
    n_batch, _, height, width = x.shape
    out_channels, group_channels, k_h, k_w = weight_shape
    (s_h, s_w), ((top, _), (left, _)), (d_h, d_w) = stride, padding, dilation
    out_h, out_w = grad_out.shape[2:]
    per_group = out_channels // groups
    xs, gs = x.tolist(), grad_out.tolist()
    grad = [[[[0.0] * k_w for _ in range(k_h)] for _ in range(group_channels)]
            for _ in range(out_channels)]
    for o in range(out_channels):
        first = (o // per_group) * group_channels
        for c in range(group_channels):
            for u in range(k_h):
                for v in range(k_w):
                    total = 0.0
                    for n in range(n_batch):
                        for i in range(out_h):
                            h = s_h * i + d_h * u - top
                            if not 0 <= h < height:
                                continue
                            for j in range(out_w):
                                col = s_w * j + d_w * v - left
                                if 0 <= col < width:
                                    total += gs[n][o][i][j] * xs[n][first + c][h][col]
                    grad[o][c][u][v] = total
    return np.array(grad, dtype=x.dtype)


def conv2d_grad_input(grad_out, weight, input_shape, stride, padding, dilation, groups):
    """``dL/dx``: every ``gy[n,o,i,j]`` sends ``gy * w[o,c,u,v]`` back to the pixel tap ``(u, v)``
    read (the scatter form of the transposed convolution)."""
    n_batch, channels, height, width = input_shape
    out_channels, group_channels, k_h, k_w = weight.shape
    (s_h, s_w), ((top, _), (left, _)), (d_h, d_w) = stride, padding, dilation
    out_h, out_w = grad_out.shape[2:]
    per_group = out_channels // groups
    gs, ws = grad_out.tolist(), weight.tolist()
    grad = [[[[0.0] * width for _ in range(height)] for _ in range(channels)] for _ in range(n_batch)]
    for n in range(n_batch):
        for o in range(out_channels):
            first = (o // per_group) * group_channels
            for i in range(out_h):
                for j in range(out_w):
                    g = gs[n][o][i][j]
                    for c in range(group_channels):
                        for u in range(k_h):
                            h = s_h * i + d_h * u - top
                            if not 0 <= h < height:
                                continue
                            for v in range(k_w):
                                col = s_w * j + d_w * v - left
                                if 0 <= col < width:
                                    grad[n][first + c][h][col] += g * ws[o][c][u][v]
    return np.array(grad, dtype=grad_out.dtype)
