"""Exercise: the backward of a squeeze-and-excitation block (ReLU inside, sigmoid gate).

Read first: docs/ops/squeeze_excitation.md, section "Gradients", steps 1 to 6
(in a terminal: `minicnn explain squeeze_excitation`).

Shapes:
    input        (N, C, H, W)
    fc1_weight   (S, C),  fc1_bias (S,)
    fc2_weight   (C, S),  fc2_bias (C,)
    output, grad_output  like input

Write `squeeze_excitation_backward` (NumPy only) and run
`minicnn exercises check DIR squeeze_excitation_backward`.
"""
import numpy as np


def squeeze_excitation_forward(input, fc1_weight, fc1_bias, fc2_weight, fc2_bias):
    """y = x * sigmoid(W2 relu(W1 mean_hw(x) + b1) + b2), one gate per (sample, channel) (given)."""
    z = input.mean(axis=(2, 3))                 # (N, C)   squeeze
    u = z @ fc1_weight.T + fc1_bias             # (N, S)
    a = np.maximum(u, 0)                        # (N, S)
    t = a @ fc2_weight.T + fc2_bias             # (N, C)
    e = 1 / (1 + np.exp(-t))                    # (N, C)   the gates
    return input * e[:, :, None, None]


def squeeze_excitation_backward(grad_output, input, fc1_weight, fc1_bias, fc2_weight, fc2_bias):
    """Return (grad_input, grad_fc1_weight, grad_fc1_bias, grad_fc2_weight, grad_fc2_bias).

    Hint: x reaches the output twice: directly, and through the gate (via the mean).
    """
    raise NotImplementedError("squeeze_excitation_backward: write the five gradients")
