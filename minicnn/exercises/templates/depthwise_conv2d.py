"""Exercise: depthwise convolution, forward and backward.

Read first: docs/ops/convolution.md, sections "Forward" and "Gradients" (the grouped case,
groups = C), and `minicnn explain depthwise_conv2d`.

Shapes:
    input        (N, C, H, W)
    weight       (C, 1, k, k): one k x k filter per channel, no mixing of channels
    output       (N, C, H_out, W_out),  H_out = (H + 2 padding - k) // stride + 1
    grad_output  like output

y[n,c,i,j] = sum_{u,v} weight[c,0,u,v] x_pad[n, c, stride i + u, stride j + v]   (no bias)

Write both functions (NumPy only) and run `minicnn exercises check DIR depthwise_conv2d`.
"""
import numpy as np


def depthwise_conv2d_forward(input, weight, stride=1, padding=0):
    """Return the output (N, C, H_out, W_out)."""
    raise NotImplementedError("depthwise_conv2d_forward: write the forward")


def depthwise_conv2d_backward(grad_output, input, weight, stride=1, padding=0):
    """Return (grad_input, grad_weight), shaped like input and weight."""
    raise NotImplementedError("depthwise_conv2d_backward: write grad_input, grad_weight")
