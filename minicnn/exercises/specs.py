"""What each exercise asks for, how the grader draws its inputs and which minicnn operator
is the reference (its forward and its autograd gradients).

An :class:`Exercise` names the student's functions, the order of the arrays they take
(``inputs``, float64, the differentiable ones first) and the gradients the backward
returns, one per differentiable input; for every gradient, where on the operator's card
its derivation is (shown when that gradient is wrong).
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Case:
    """One configuration the grader runs: named arrays and keyword parameters."""

    label: str
    arrays: dict
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Exercise:
    name: str                  # also the file name without .py
    forward: str               # the forward function's name in the file
    backward: str              # the backward function's name
    inputs: tuple              # argument names after grad_output, in order
    grads: tuple               # what backward returns, one per leading input
    card: str                  # docs/ops/<card>.md
    explain: str               # minicnn explain <explain>
    reread: dict               # gradient name (or "forward") -> the part of the card to reread
    reference: Callable        # (tensors..., **params) -> minicnn Tensor
    cases: Callable            # rng -> list of Case
    student_forward: bool = False  # the forward is part of the exercise, not given


def _gaussian(rng, *shape):
    return rng.standard_normal(shape)


def _distinct(rng, *shape):
    """Values with gaps of at least 0.01 between any two (no ties for max pooling)."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.01 + rng.uniform(0, 0.005)).reshape(shape) - size * 0.005


# ------------------------------------------------------------------ references
def _conv2d(input, weight, bias, stride=1, padding=0):
    from ..nn import functional as F
    return F.conv2d(input, weight, bias, stride=stride, padding=padding)


def _max_pool2d(input, kernel_size, stride, padding=0):
    from ..nn import functional as F
    return F.max_pool2d(input, kernel_size, stride=stride, padding=padding)


def _batch_norm(input, weight, bias, eps=1e-5):
    from ..nn import functional as F
    return F.batch_norm(input, None, None, weight, bias, training=True, eps=eps)


def _depthwise_conv2d(input, weight, stride=1, padding=0):
    from ..nn import functional as F
    return F.conv2d(input, weight, stride=stride, padding=padding, groups=input.shape[1])


def _channel_shuffle(input, groups):
    from ..nn import functional as F
    return F.channel_shuffle(input, groups)


def _hardswish(input):
    from ..nn import functional as F
    return F.hardswish(input)


def _squeeze_excitation(input, fc1_weight, fc1_bias, fc2_weight, fc2_bias):
    from ..nn import functional as F
    n, c = input.shape[:2]
    z = F.adaptive_avg_pool2d(input, 1).reshape(n, c)
    gate = F.sigmoid(F.linear(F.relu(F.linear(z, fc1_weight, fc1_bias)), fc2_weight, fc2_bias))
    return input * gate.reshape(n, c, 1, 1)


def _cross_entropy(input, target):
    from ..nn import functional as F
    from ..tensor import Tensor
    return F.cross_entropy(input, Tensor(target))


# ------------------------------------------------------------------ cases
def _conv_cases(rng):
    out = []
    for n, c, c_out, size, k, stride, padding in [(2, 3, 4, 5, 3, 1, 0), (2, 2, 3, 6, 3, 2, 1),
                                                  (1, 2, 2, 5, 2, 1, 1)]:
        out.append(Case(f"N={n} C={c} C_out={c_out} H=W={size} k={k} stride={stride} "
                        f"padding={padding}",
                        {"input": _gaussian(rng, n, c, size, size),
                         "weight": _gaussian(rng, c_out, c, k, k),
                         "bias": _gaussian(rng, c_out)},
                        {"stride": stride, "padding": padding}))
    return out


def _pool_cases(rng):
    return [Case(f"N=2 C=2 H=W={size} kernel_size={k} stride={stride} padding={padding}",
                 {"input": _distinct(rng, 2, 2, size, size)},
                 {"kernel_size": k, "stride": stride, "padding": padding})
            for size, k, stride, padding in [(4, 2, 2, 0), (5, 3, 2, 1), (5, 3, 1, 0)]]


def _norm_cases(rng):
    return [Case(f"N={n} C={c} H=W={size}",
                 {"input": _gaussian(rng, n, c, size, size) * 2 + 1,
                  "weight": _gaussian(rng, c), "bias": _gaussian(rng, c)})
            for n, c, size in [(2, 3, 3), (4, 2, 2)]]


def _depthwise_cases(rng):
    return [Case(f"N=2 C={c} H=W={size} k={k} stride={stride} padding={padding}",
                 {"input": _gaussian(rng, 2, c, size, size), "weight": _gaussian(rng, c, 1, k, k)},
                 {"stride": stride, "padding": padding})
            for c, size, k, stride, padding in [(3, 5, 3, 1, 1), (2, 6, 3, 2, 0), (2, 4, 2, 1, 0)]]


def _shuffle_cases(rng):
    # groups != C / groups, so a backward that re-applies the forward permutation fails
    return [Case(f"N=2 C={c} H=W=2 groups={groups}", {"input": _gaussian(rng, 2, c, 2, 2)},
                 {"groups": groups})
            for c, groups in [(6, 2), (6, 3), (12, 3)]]


def _hardswish_cases(rng):
    x = rng.uniform(-5, 5, (4, 3, 5))
    # keep 0.05 away from the kinks at +-3, where the one-sided slopes differ
    near = np.abs(np.abs(x) - 3) < 0.05
    x[near] += 0.1 * np.sign(x[near])
    return [Case("shape (4, 3, 5), values in [-5, 5]", {"input": x})]


def _se_cases(rng):
    n, c, s, size = 2, 4, 2, 3
    return [Case(f"N={n} C={c} S={s} H=W={size}",
                 {"input": _gaussian(rng, n, c, size, size),
                  "fc1_weight": _gaussian(rng, s, c), "fc1_bias": _gaussian(rng, s) + 0.5,
                  "fc2_weight": _gaussian(rng, c, s), "fc2_bias": _gaussian(rng, c)})]


def _cross_entropy_cases(rng):
    return [Case(f"N={n} K={k}", {"input": _gaussian(rng, n, k) * 2,
                                  "target": rng.integers(0, k, n)})
            for n, k in [(4, 5), (3, 2)]]


EXERCISES = [
    Exercise("conv2d_backward", "conv2d_forward", "conv2d_backward",
             ("input", "weight", "bias"), ("grad_input", "grad_weight", "grad_bias"),
             "convolution", "conv2d",
             {"forward": '"Forward" (the given forward was changed)',
              "grad_input": '"Gradients", **Input** steps 1-3: every output gradient goes back '
                            'to the pixel tap (u, v) read, times weight[o, c, u, v] (the same tap, '
                            'not transposed or flipped when you scatter)',
              "grad_weight": '"Gradients", **Weight** steps 1-3: x correlated with grad_output',
              "grad_bias": '"Gradients", **Bias**: grad_output summed over n, i, j'},
             _conv2d, _conv_cases),
    Exercise("max_pool2d_backward", "max_pool2d_forward", "max_pool2d_backward",
             ("input",), ("grad_input",), "pooling", "max_pool2d",
             {"forward": '"Forward" (the given forward was changed)',
              "grad_input": '"Gradients", **Max** steps 1-2: window (i, j) covers padded rows '
                            'stride i + u, u = 0..k-1; its gradient goes to its arg-max only, '
                            'and overlapping windows add'},
             _max_pool2d, _pool_cases),
    Exercise("batch_norm_backward", "batch_norm_forward", "batch_norm_backward",
             ("input", "weight", "bias"), ("grad_input", "grad_weight", "grad_bias"),
             "batch_norm", "batch_norm",
             {"forward": '"Forward" (the given forward was changed)',
              "grad_input": '"Gradients", **Input, training** steps 1-4: three terms, '
                            'grad_output minus its mean minus x_hat mean(grad_output x_hat), '
                            'times gamma / s',
              "grad_weight": '"Gradients", **Shift and scale**: sum of grad_output x_hat',
              "grad_bias": '"Gradients", **Shift and scale**: sum of grad_output'},
             _batch_norm, _norm_cases),
    Exercise("depthwise_conv2d", "depthwise_conv2d_forward", "depthwise_conv2d_backward",
             ("input", "weight"), ("grad_input", "grad_weight"), "convolution",
             "depthwise_conv2d",
             {"forward": '"Forward" with groups G = C: output channel c reads input channel c only',
              "grad_input": '"Gradients", **Input** steps 1-3 with G = C: scatter grad_output '
                            'back through the same tap (u, v) of channel c\'s filter',
              "grad_weight": '"Gradients", **Weight** steps 1-3 with G = C: per channel, x '
                             'correlated with grad_output'},
             _depthwise_conv2d, _depthwise_cases, student_forward=True),
    Exercise("channel_shuffle_backward", "channel_shuffle_forward", "channel_shuffle_backward",
             ("input",), ("grad_input",), "channel_shuffle", "channel_shuffle",
             {"forward": '"Forward" (the given forward was changed)',
              "grad_input": '"Gradients" steps 1-3: the inverse permutation, a channel shuffle '
                            'with C / groups groups'},
             _channel_shuffle, _shuffle_cases),
    Exercise("hardswish_backward", "hardswish_forward", "hardswish_backward",
             ("input",), ("grad_input",), "activations", "hardswish",
             {"forward": '"Forward" (the given forward was changed)',
              "grad_input": '"Gradients" (hardswish: the product rule on the middle piece, '
                            '(2x + 3) / 6) and "Kinks: which gradient is used"'},
             _hardswish, _hardswish_cases),
    Exercise("squeeze_excitation_backward", "squeeze_excitation_forward",
             "squeeze_excitation_backward",
             ("input", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"),
             ("grad_input", "grad_fc1_weight", "grad_fc1_bias", "grad_fc2_weight",
              "grad_fc2_bias"), "squeeze_excitation", "squeeze_excitation",
             {"forward": '"Forward" (the given forward was changed)',
              "grad_input": '"Gradients" steps 1 and 6: the direct path grad_output * gate plus '
                            'the pool path grad_z / (H W)',
              "grad_fc1_weight": '"Gradients" steps 4-5: grad_u = grad_a [u > 0], then '
                                 'grad_u z^T summed over the batch',
              "grad_fc1_bias": '"Gradients" steps 4-5: grad_u summed over the batch',
              "grad_fc2_weight": '"Gradients" steps 1-3: grad_t = grad_e e (1 - e), then '
                                 'grad_t a^T summed over the batch',
              "grad_fc2_bias": '"Gradients" steps 1-3: grad_t summed over the batch'},
             _squeeze_excitation, _se_cases),
    Exercise("cross_entropy_backward", "cross_entropy_forward", "cross_entropy_backward",
             ("input", "target"), ("grad_input",), "softmax_cross_entropy", "cross_entropy",
             {"forward": '"Forward" (the given forward was changed)',
              "grad_input": '"Gradients", **Cross-entropy**: (softmax - one_hot(target)) / N, '
                            'times grad_output'},
             _cross_entropy, _cross_entropy_cases),
]

BY_NAME = {exercise.name: exercise for exercise in EXERCISES}
