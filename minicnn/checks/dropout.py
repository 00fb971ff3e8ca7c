"""Check cases for dropout and dropout2d (see minicnn.checks.case).

minicnn's generator is not PyTorch's, so the masks differ and there is no
parity check (``torch_fn=None``): only the float64 gradient check. ``fn``
reseeds minicnn's generator before every call, so each of the gradient
check's evaluations draws the same mask and the function is deterministic.
"""
from .. import manual_seed
from ..nn import functional as F
from .case import Case


def _dropout(name, p, seed=0):
    def call(x):
        manual_seed(seed)  # the same mask on every evaluation
        return getattr(F, name)(x, p, training=True)
    return call


CASES = [
    Case(name, f"x{shape} p={p} (reseeded; no torch parity: RNGs differ)",
         (lambda rng, shape=shape: [rng.standard_normal(shape)]), _dropout(name, p), None)
    for name, shape, p in [("dropout", (4, 10), 0.5), ("dropout", (2, 3, 4, 4), 0.2),
                           ("dropout", (3, 7), 1.0), ("dropout2d", (4, 5, 3, 3), 0.5),
                           ("dropout2d", (2, 3, 2, 2), 1.0)]
]
