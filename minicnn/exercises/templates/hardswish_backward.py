"""Exercise: the backward of hard-swish (MobileNetV3).

Read first: docs/ops/activations.md, sections "Gradients" and "Kinks: which gradient is used"
(in a terminal: `minicnn explain hardswish`).

Shapes: input, output and grad_output all alike (any shape). The grader keeps the inputs
away from the kinks at -3 and 3.

Write `hardswish_backward` (NumPy only) and run `minicnn exercises check DIR hardswish_backward`.
"""
import numpy as np


def hardswish_forward(input):
    """y = x relu6(x + 3) / 6 (given)."""
    return input * np.clip(input + 3, 0, 6) / 6


def hardswish_backward(grad_output, input):
    """Return grad_input, shaped like input.

    Hint: three pieces: x <= -3, -3 < x < 3, x >= 3.
    """
    raise NotImplementedError("hardswish_backward: write grad_input")
