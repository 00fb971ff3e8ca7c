"""Exercise: the backward of channel_shuffle (ShuffleNet).

Read first: docs/ops/channel_shuffle.md, section "Gradients" (in a terminal: `minicnn explain channel_shuffle`).

Shapes:
    input        (N, C, H, W), C divisible by groups
    output, grad_output  like input

Write `channel_shuffle_backward` (NumPy only) and run
`minicnn exercises check DIR channel_shuffle_backward`.
"""
import numpy as np


def channel_shuffle_forward(input, groups):
    """View the channels as (groups, C / groups), transpose to (C / groups, groups), flatten (given)."""
    n, c, h, w = input.shape
    return input.reshape(n, groups, c // groups, h, w).transpose(0, 2, 1, 3, 4).reshape(n, c, h, w)


def channel_shuffle_backward(grad_output, input, groups):
    """Return grad_input, shaped like input.

    Hint: the forward is a permutation of channels; its gradient is the inverse permutation.
    """
    raise NotImplementedError("channel_shuffle_backward: write grad_input")
