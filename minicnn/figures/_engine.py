"""Small helpers the figure generators share: engine calls and the gradients read off them."""
import numpy as np

import minicnn
import minicnn.nn.functional as F


def tensor(array, grad=False, dtype=np.float64):
    return minicnn.Tensor(np.asarray(array, dtype=dtype), requires_grad=grad)


def labelled(shape):
    """``0, 1, 2, ...`` laid out in ``shape``: running an operator on it shows where each
    element goes (a permutation read off the output)."""
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)


def input_gradient(forward, x, select):
    """d(output[select]).sum() / d(input) for ``output = forward(input)``: which input
    elements reach the selected output elements, and by how much."""
    leaf = tensor(x, grad=True)
    out = forward(leaf)
    seed = np.zeros(out.shape)
    seed[select] = 1.0
    out.backward(tensor(seed))
    return np.asarray(leaf.grad.data if hasattr(leaf.grad, "data") else leaf.grad)


def curve(fn, x):
    """``(fn(x), d fn(x) / dx)`` for an elementwise ``fn`` on the grid ``x``, the derivative
    as autograd computes it (one backward of ``fn(x).sum()``)."""
    leaf = tensor(x, grad=True)
    out = fn(leaf)
    out.sum().backward()
    return np.asarray(out.data), np.asarray(leaf.grad.data)


def channel_connectivity(weight_shape, groups, in_channels, size=3):
    """``M[o, i] = 1`` when output channel ``o`` of a conv2d depends on input channel ``i``:
    for each ``o``, the gradient of output channel ``o`` (summed over pixels) w.r.t. the input,
    nonzero on the channels it reads. Weights are all ones so no connection cancels."""
    weight = tensor(np.ones(weight_shape))
    x = np.random.default_rng(0).standard_normal((1, in_channels, size, size))
    rows = []
    for o in range(weight_shape[0]):
        g = input_gradient(lambda t: F.conv2d(t, weight, padding=1, groups=groups), x,
                           (0, o))
        rows.append((np.abs(g[0]).sum(axis=(1, 2)) > 0).astype(np.float64))
    return np.stack(rows)


__all__ = ["F", "tensor", "labelled", "input_gradient", "curve", "channel_connectivity"]
