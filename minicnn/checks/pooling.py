"""Check cases for the pooling operators (see minicnn.checks.case).

Max pooling's inputs are a scaled random permutation: distinct values 0.1
apart, so no window has a tie and the gradient check's 1e-6 steps never
change which element is a window's maximum (the gradient is defined).
Float32 tolerances: max pooling selects elements (exact output; a gradient
entry sums at most k*k upstream values); averages sum a few terms in
another order than PyTorch.
"""
import numpy as np

from ..nn import functional as F
from .case import Case


def _distinct(shape):
    def make(rng):
        count = int(np.prod(shape))
        return [(rng.permutation(count).reshape(shape) - count / 2) * 0.1]
    return make


def _normal(shape):
    return lambda rng: [rng.standard_normal(shape)]


def _torch(name, *args, **kwargs):
    """``torch.nn.functional.<name>(x, *args, **kwargs)`` (torch imported only when called)."""
    def call(x):
        import torch.nn.functional as TF

        return getattr(TF, name)(x, *args, **kwargs)
    return call


def _case(name, shape, make, args, kwargs, atol):
    label = f"x{shape} " + " ".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs.items())])
    return Case(name, label.strip(), make(shape),
                (lambda x: getattr(F, name)(x, *args, **kwargs)),
                _torch(name, *args, **kwargs), atol=atol, rtol=1e-5)


CASES = [
    _case("max_pool2d", (2, 3, 6, 6), _distinct, (2,), {}, 1e-6),
    _case("max_pool2d", (1, 2, 7, 6), _distinct, (3,),
          dict(stride=2, padding=1, ceil_mode=True), 1e-6),
    _case("max_pool2d", (2, 7, 8), _distinct, ((2, 3),),
          dict(stride=(1, 2), padding=(1, 1), dilation=(2, 1)), 1e-6),
    _case("avg_pool2d", (2, 3, 6, 6), _normal, (2,), {}, 2e-6),
    _case("avg_pool2d", (1, 2, 7, 6), _normal, (3,),
          dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False), 2e-6),
    _case("avg_pool2d", (2, 7, 8), _normal, ((3, 2),),
          dict(stride=(2, 1), padding=(1, 0), divisor_override=4), 2e-6),
    _case("adaptive_avg_pool2d", (2, 3, 5, 7), _normal, (1,), {}, 2e-6),
    _case("adaptive_avg_pool2d", (1, 2, 7, 5), _normal, ((3, 4),), {}, 2e-6),
    _case("adaptive_avg_pool2d", (2, 4, 3), _normal, ((5, None),), {}, 2e-6),
    _case("adaptive_max_pool2d", (2, 3, 5, 7), _distinct, (1,), {}, 1e-6),
    _case("adaptive_max_pool2d", (1, 2, 7, 5), _distinct, ((3, 4),), {}, 1e-6),
    _case("adaptive_max_pool2d", (2, 4, 3), _distinct, ((5, None),), {}, 1e-6),
]
