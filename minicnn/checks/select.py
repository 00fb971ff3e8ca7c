"""Check cases for gather, index_select, masked_fill, topk and sort (see minicnn.checks.case).

float32 parity tolerance: these operators only pick values, so outputs are exact; a
gradient that sums the picks of a repeated index may add in another order (1e-6).
topk and sort get distinct values (a shuffled grid), so the indices are unambiguous.
"""
import numpy as np

from .case import Case
from .reduce import _distinct
from .shape import _normal

PICKS = dict(atol=1e-6, rtol=1e-6)
_INDEX = np.array([[0, 2, 2], [1, 0, 1]])  # repeats: the gradient accumulates
_MASK = np.array([[True, False, True, False]])


def _ours(name, *args, **kwargs):
    """``minicnn.<name>(x, *args, *rest)``, NumPy arrays in ``args`` as tensors on x's device."""
    def call(x, *rest):
        import minicnn

        converted = [minicnn.tensor(a, device=x.device) if isinstance(a, np.ndarray) else a
                     for a in args]
        return getattr(minicnn, name)(x, *converted, *rest, **kwargs)
    return call


def _torch(name, *args, **kwargs):
    """``torch.<name>`` likewise; (values, indices) results as plain tuples."""
    def call(x, *rest):
        import torch

        converted = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
        result = getattr(torch, name)(x, *converted, *rest, **kwargs)
        return tuple(result) if isinstance(result, tuple) else result
    return call


CASES = [
    Case("gather", "dim=1, repeated indices", _normal((2, 4)), _ours("gather", 1, _INDEX),
         _torch("gather", 1, _INDEX), **PICKS),
    Case("gather", "dim=0, index smaller than input", _normal((3, 4)),
         _ours("gather", 0, _INDEX[:, :2]), _torch("gather", 0, _INDEX[:, :2]),
         **PICKS),
    Case("index_select", "dim=-1, [2, 0, 2]", _normal((2, 3)),
         _ours("index_select", -1, np.array([2, 0, 2])),
         _torch("index_select", -1, np.array([2, 0, 2])), **PICKS),
    Case("masked_fill", "broadcast mask, value -1.5", _normal((3, 4)),
         _ours("masked_fill", _MASK, -1.5), _torch("masked_fill", _MASK, -1.5),
         **PICKS),
    Case("masked_fill", "0-d tensor value", _normal((3, 4), ()),
         lambda x, v: _ours("masked_fill", _MASK)(x, v),
         lambda x, v: _torch("masked_fill", _MASK)(x, v), **PICKS),
    Case("topk", "k=2, dim=1, largest", _distinct((2, 5, 3)), _ours("topk", 2, 1),
         _torch("topk", 2, 1), **PICKS),
    Case("topk", "k=3, smallest, last dim", _distinct((3, 4)), _ours("topk", 3, largest=False),
         _torch("topk", 3, largest=False), **PICKS),
    Case("sort", "dim=0 ascending", _distinct((4, 3)), _ours("sort", 0), _torch("sort", 0),
         **PICKS),
    Case("sort", "last dim, descending", _distinct((2, 5)), _ours("sort", descending=True),
         _torch("sort", descending=True), **PICKS),
]
