"""Exercise: the backward of softmax cross-entropy (mean over the batch).

Read first: docs/ops/softmax_cross_entropy.md, section "Gradients"
(in a terminal: `minicnn explain cross_entropy`).

Shapes:
    input        (N, K) logits
    target       (N,) class indices in [0, K)
    output       () the mean loss; grad_output is a 0-d array too

Write `cross_entropy_backward` (NumPy only) and run
`minicnn exercises check DIR cross_entropy_backward`.
"""
import numpy as np


def cross_entropy_forward(input, target):
    """L = mean_n ( logsumexp_k input[n, k] - input[n, target[n]] ), computed stably (given)."""
    shifted = input - input.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(target)), target].mean()


def cross_entropy_backward(grad_output, input, target):
    """Return grad_input, shaped like input (the target gets no gradient)."""
    raise NotImplementedError("cross_entropy_backward: write grad_input")
