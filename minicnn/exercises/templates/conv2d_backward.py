"""Exercise: the backward of conv2d (dense: groups = 1, dilation = 1).

Read first: docs/ops/convolution.md, section "Gradients" (in a terminal: `minicnn explain conv2d`).

Shapes:
    input        (N, C, H, W)
    weight       (C_out, C, k, k)
    bias         (C_out,)
    output       (N, C_out, H_out, W_out),  H_out = (H + 2 padding - k) // stride + 1
    grad_output  like output

Write `conv2d_backward` (NumPy only) and run `minicnn exercises check DIR conv2d_backward`.
"""
import numpy as np


def conv2d_forward(input, weight, bias, stride=1, padding=0):
    """y[n,o,i,j] = bias[o] + sum_{c,u,v} weight[o,c,u,v] x_pad[n, c, stride i + u, stride j + v] (given)."""
    n, c, h, w = input.shape
    c_out, _, k, _ = weight.shape
    h_out = (h + 2 * padding - k) // stride + 1
    w_out = (w + 2 * padding - k) // stride + 1
    x_pad = np.pad(input, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    output = np.zeros((n, c_out, h_out, w_out)) + bias[None, :, None, None]
    for u in range(k):
        for v in range(k):
            # the pixels kernel tap (u, v) meets at every output position: (N, C, H_out, W_out)
            patch = x_pad[:, :, u:u + stride * (h_out - 1) + 1:stride,
                          v:v + stride * (w_out - 1) + 1:stride]
            output += np.einsum("nchw,oc->nohw", patch, weight[:, :, u, v])
    return output


def conv2d_backward(grad_output, input, weight, bias, stride=1, padding=0):
    """Return (grad_input, grad_weight, grad_bias), shaped like input, weight and bias.

    Hint: the forward is a sum over kernel taps (u, v); each tap's term is a matrix
    product, so its gradients are matrix products too. grad_input is built on the
    padded input and cropped at the end.
    """
    raise NotImplementedError("conv2d_backward: write grad_input, grad_weight, grad_bias")
