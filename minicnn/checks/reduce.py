"""Check cases for the reductions (see minicnn.checks.case).

float32 parity tolerance: sums of at most 60 O(1) terms, added in a different
order by NumPy (pairwise) and PyTorch: agreement to ~1e-5 in the worst case;
atol 1e-4, rtol 1e-5. The extrema get tie-free inputs except in the cases
that test ties.
"""
import numpy as np

from .case import Case

TOL = dict(atol=1e-4, rtol=1e-5)


def _normal(shape):
    return lambda rng: [rng.standard_normal(shape)]


def _distinct(shape):
    # A shuffled grid with gaps of 0.1: no ties, and a 1e-6 step cannot reorder it.
    def make(rng):
        size = int(np.prod(shape))
        return [rng.permutation(np.arange(size) * 0.1 - size * 0.05).reshape(shape)]
    return make


def _ties(rng):
    return [np.array([[3.0, 1.0, 3.0, 3.0], [2.0, 2.0, 0.0, 1.0]])]


def _torch(name):
    def call(*args, **kwargs):
        import torch

        return getattr(torch, name)(*args, **kwargs)
    return call


def _values_indices(result):
    values, indices = result  # torch.return_types.max as a plain tuple
    return values, indices


CASES = [
    Case("sum", "dim=1, keepdim", _normal((2, 3, 4)), lambda x: x.sum(1, True),
         lambda x: x.sum(1, True), **TOL),
    Case("sum", "all", _normal((3, 4)), lambda x: x.sum(), lambda x: x.sum(), **TOL),
    Case("sum", "dim=(0,-1)", _normal((2, 3, 4)), lambda x: x.sum((0, -1)),
         lambda x: x.sum((0, -1)), **TOL),
    Case("mean", "dim=(0,2)", _normal((2, 3, 4)), lambda x: x.mean((0, 2)),
         lambda x: x.mean((0, 2)), **TOL),
    Case("mean", "all, keepdim", _normal((3, 4)), lambda x: x.mean(None, True),
         lambda x: x.mean(None, True), **TOL),
    Case("var", "dim=1 unbiased", _normal((3, 5)), lambda x: x.var(1), lambda x: x.var(1),
         **TOL),
    Case("var", "dim=(0,2), correction=0, keepdim", _normal((2, 3, 4)),
         lambda x: x.var((0, 2), keepdim=True, correction=0),
         lambda x: x.var((0, 2), keepdim=True, correction=0), **TOL),
    Case("var", "all, unbiased=False", _normal((3, 4)), lambda x: x.var(unbiased=False),
         lambda x: x.var(unbiased=False), **TOL),
    Case("std", "dim=0", _normal((4, 3)), lambda x: x.std(0), lambda x: x.std(0), **TOL),
    Case("std", "all, correction=2", _normal((3, 4)), lambda x: x.std(correction=2),
         lambda x: x.std(correction=2), **TOL),
    Case("max", "all", _distinct((3, 4)), lambda x: x.max(), lambda x: x.max(), **TOL),
    Case("max", "dim=1 (values, indices)", _distinct((2, 3, 4)), lambda x: x.max(1),
         lambda x: _values_indices(x.max(1)), **TOL),
    # At a k-way tie the function has no derivative (central differences see 1/2 for
    # each tied element); the even 1/k split is PyTorch's convention, checked by parity.
    Case("max", "all, ties share the gradient", _ties, lambda x: x.max(), lambda x: x.max(),
         gradcheck=False, **TOL),
    Case("min", "dim=-1, keepdim", _distinct((3, 4)), lambda x: x.min(-1, True),
         lambda x: _values_indices(x.min(-1, True)), **TOL),
    Case("min", "all", _distinct((2, 5)), lambda x: x.min(), lambda x: x.min(), **TOL),
    Case("amax", "dim=(0,2)", _distinct((2, 3, 4)), lambda x: x.amax((0, 2)),
         lambda x: x.amax((0, 2)), **TOL),
    Case("amax", "dim=1, ties share the gradient", _ties, lambda x: x.amax(1),
         lambda x: x.amax(1), gradcheck=False, **TOL),
    Case("amin", "dim=-1, keepdim", _distinct((3, 4)), lambda x: x.amin(-1, True),
         lambda x: x.amin(-1, True), **TOL),
    Case("amin", "dim=0, ties", _ties, lambda x: x.amin(0), lambda x: x.amin(0),
         gradcheck=False, **TOL),
    Case("norm", "p=2 (fro), all", _normal((3, 4)), lambda x: x.norm(), lambda x: x.norm(),
         **TOL),
    Case("norm", "p=1, dim=1, keepdim", _normal((2, 3, 4)), lambda x: x.norm(1, 1, True),
         lambda x: x.norm(1, 1, True), **TOL),
    Case("norm", "p=3, dim=(0,2)", _normal((2, 3, 4)), lambda x: x.norm(3, (0, 2)),
         lambda x: x.norm(3, (0, 2)), **TOL),
    Case("norm", "p=inf, dim=-1", _distinct((3, 4)), lambda x: x.norm(float("inf"), -1),
         lambda x: x.norm(float("inf"), -1), **TOL),
    Case("argmax", "dim=1", _distinct((3, 4)), lambda x: x.argmax(1), lambda x: x.argmax(1),
         grad_inputs=[], gradcheck=False),
    Case("argmax", "all, keepdim", _distinct((3, 4)), lambda x: x.argmax(keepdim=True),
         lambda x: _torch("argmax")(x, keepdim=True), grad_inputs=[], gradcheck=False),
    Case("argmin", "dim=0", _distinct((3, 4)), lambda x: x.argmin(0), lambda x: x.argmin(0),
         grad_inputs=[], gradcheck=False),
    Case("argmin", "all", _distinct((3, 4)), lambda x: x.argmin(), lambda x: x.argmin(),
         grad_inputs=[], gradcheck=False),
]
