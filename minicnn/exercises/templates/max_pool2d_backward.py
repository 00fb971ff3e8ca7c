"""Exercise: the backward of max_pool2d.

Read first: docs/ops/pooling.md, section "Gradients", **Max** (in a terminal: `minicnn explain max_pool2d`).

Shapes:
    input        (N, C, H, W)
    output       (N, C, H_out, W_out),  H_out = (H + 2 padding - kernel_size) // stride + 1
    grad_output  like output
Padding adds -inf, so a padded position is never the maximum. The inputs the grader
draws have no ties inside a window.

Write `max_pool2d_backward` (NumPy only) and run `minicnn exercises check DIR max_pool2d_backward`.
"""
import numpy as np


def max_pool2d_forward(input, kernel_size, stride, padding=0):
    """y[n,c,i,j] = max_{u,v} x_pad[n, c, stride i + u, stride j + v] (given)."""
    k = kernel_size
    n, c, h, w = input.shape
    h_out = (h + 2 * padding - k) // stride + 1
    w_out = (w + 2 * padding - k) // stride + 1
    x_pad = np.pad(input, ((0, 0), (0, 0), (padding, padding), (padding, padding)),
                   constant_values=-np.inf)
    # every tap of every window: (k * k, N, C, H_out, W_out)
    taps = np.stack([x_pad[:, :, u:u + stride * (h_out - 1) + 1:stride,
                           v:v + stride * (w_out - 1) + 1:stride]
                     for u in range(k) for v in range(k)])
    return taps.max(axis=0)


def max_pool2d_backward(grad_output, input, kernel_size, stride, padding=0):
    """Return grad_input, shaped like input.

    Hint: each output's gradient goes to the one input element that was its maximum;
    windows may overlap (stride < kernel_size), so contributions add up.
    """
    raise NotImplementedError("max_pool2d_backward: write grad_input")
