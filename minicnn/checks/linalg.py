"""Check cases for matmul and linear (see minicnn.checks.case).

float32 parity tolerance: dot products of at most 6 terms, and gradients
summing at most a few dozen of them, ordered differently by OpenBLAS and
PyTorch's BLAS: agreement to ~1e-6; atol 1e-5, rtol 1e-5 leave a margin.
"""
from .case import Case

TOL = dict(atol=1e-5, rtol=1e-5)


def _normal(*shapes):
    return lambda rng: [rng.standard_normal(s) for s in shapes]


def _matmul(a, b):
    return a @ b


def _linear(*args):
    from ..nn.functional import linear

    return linear(*args)


def _torch_linear(*args):
    import torch

    return torch.nn.functional.linear(*args)


CASES = [
    Case("matmul", "(3,4) @ (4,5)", _normal((3, 4), (4, 5)), _matmul, _matmul, **TOL),
    Case("matmul", "(2,1,3,4) @ (3,4,2) batch broadcast", _normal((2, 1, 3, 4), (3, 4, 2)),
         _matmul, _matmul, **TOL),
    Case("matmul", "(4,) @ (2,4,3) and 1-D", _normal((4,), (2, 4, 3)), _matmul, _matmul, **TOL),
    Case("matmul", "(2,3,4) @ (4,) 1-D", _normal((2, 3, 4), (4,)), _matmul, _matmul, **TOL),
    Case("linear", "x (5,4), W (3,4), b (3,)", _normal((5, 4), (3, 4), (3,)),
         _linear, _torch_linear, **TOL),
    Case("linear", "x (2,3,4), W (6,4), no bias", _normal((2, 3, 4), (6, 4)),
         _linear, _torch_linear, **TOL),
    Case("linear", "x (4,) 1-D, W (2,4), b (2,)", _normal((4,), (2, 4), (2,)),
         _linear, _torch_linear, **TOL),
]
