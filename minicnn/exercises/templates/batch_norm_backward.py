"""Exercise: the backward of batch normalisation in training mode.

Read first: docs/ops/batch_norm.md, section "Gradients" (in a terminal: `minicnn explain batch_norm`).

Shapes:
    input        (N, C, H, W); the statistics are per channel, over M = N H W values
    weight       (C,)   (gamma)
    bias         (C,)   (beta)
    output, grad_output  like input

Write `batch_norm_backward` (NumPy only) and run `minicnn exercises check DIR batch_norm_backward`.
"""
import numpy as np


def batch_norm_forward(input, weight, bias, eps=1e-5):
    """y = gamma (x - mean) / sqrt(var + eps) + beta, with the batch mean and biased variance (given)."""
    mean = input.mean(axis=(0, 2, 3), keepdims=True)                # (1, C, 1, 1)
    var = input.var(axis=(0, 2, 3), keepdims=True)                  # biased: divides by M
    x_hat = (input - mean) / np.sqrt(var + eps)
    return weight[None, :, None, None] * x_hat + bias[None, :, None, None]


def batch_norm_backward(grad_output, input, weight, bias, eps=1e-5):
    """Return (grad_input, grad_weight, grad_bias), shaped like input, weight and bias.

    Hint: x reaches x_hat three ways: directly, through the mean and through the variance.
    """
    raise NotImplementedError("batch_norm_backward: write grad_input, grad_weight, grad_bias")
