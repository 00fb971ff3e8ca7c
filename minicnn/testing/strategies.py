"""Hypothesis strategies for operator tests (imports hypothesis; not loaded by ``minicnn.testing``).

Values are not drawn element by element: a test draws a ``seed`` and makes
its arrays with ``numpy.random.default_rng(seed)``, which keeps examples fast
and shrinkable while shapes and parameters are what hypothesis explores.
Valid combinations are drawn directly (a broadcastable shape is derived from
a drawn one), never filtered.
"""
import numpy as np
from hypothesis import strategies as st

seeds = st.integers(0, 2**32 - 1)


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=4):
    """A shape tuple of ``min_dims..max_dims`` sides, each in ``min_side..max_side``."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims,
                    max_size=max_dims).map(tuple)


@st.composite
def broadcastable_to(draw, shape):
    """A shape that broadcasts to ``shape``: drop some leading dims, set some others to 1."""
    dropped = draw(st.integers(0, len(shape)))
    kept = shape[dropped:]
    ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
    return tuple(1 if one else side for side, one in zip(kept, ones))


@st.composite
def broadcast_pairs(draw, min_dims=0, max_dims=4, max_side=4):
    """``(shape_a, shape_b)``: one drawn shape and one derived from it, in either order."""
    full = draw(shapes(min_dims, max_dims, 1, max_side))
    other = draw(broadcastable_to(full))
    return (full, other) if draw(st.booleans()) else (other, full)


@st.composite
def dims_keepdim(draw, ndim):
    """``(dim, keepdim)`` for a reduction over a tensor of ``ndim`` dims: None, one
    (possibly negative) int, or a tuple of distinct ints."""
    keepdim = draw(st.booleans())
    if ndim == 0:
        return draw(st.sampled_from([None, 0, -1])), keepdim
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None, keepdim
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1)), keepdim
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    signs = draw(st.lists(st.booleans(), min_size=len(axes), max_size=len(axes)))
    return tuple(a - ndim if negative else a for a, negative in zip(axes, signs)), keepdim


def away_from(rng, shape, low=0.2, high=1.5):
    """Values with ``low <= |x| <= high`` and random signs: clear of a kink at 0, so
    central differences (step 1e-6) never straddle it."""
    magnitude = rng.uniform(low, high, size=shape)
    return np.where(rng.random(shape) < 0.5, -magnitude, magnitude)


def distinct(rng, shape, gap=0.05):
    """Values whose pairwise gaps all exceed ``gap`` (a shuffled, jittered grid): no ties,
    so max/min/argmax have one answer and a finite-difference step cannot reorder them."""
    size = int(np.prod(shape, dtype=np.int64))
    grid = (np.arange(size) - size / 2) * 4 * gap + rng.uniform(-gap / 2, gap / 2, size)
    return rng.permutation(grid).reshape(shape)
