"""Check cases for dropout (see minicnn.checks.case).

minicnn's generator is not PyTorch's, so the masks differ and there is no
parity check (``torch_fn=None``): only the float64 gradient check. ``fn``
reseeds minicnn's generator before every call, so each of the gradient
check's evaluations draws the same mask and the function is deterministic.
"""
from .. import manual_seed
from ..nn import functional as F
from .case import Case


def _dropout(p, seed=0):
    def call(x):
        manual_seed(seed)  # the same mask on every evaluation
        return F.dropout(x, p, training=True)
    return call


CASES = [
    Case("dropout", f"x{shape} p={p} (reseeded; no torch parity: RNGs differ)",
         (lambda rng, shape=shape: [rng.standard_normal(shape)]), _dropout(p), None)
    for shape, p in [((4, 10), 0.5), ((2, 3, 4, 4), 0.2), ((3, 7), 1.0)]
]
