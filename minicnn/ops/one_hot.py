"""``one_hot``: class indices as rows of the identity (the target form of a classifier).

Not differentiable (integers in, integers out); built with ``xp`` so that it
stays on the input's device.
"""
import numpy as np

from .._validation import as_int
from ..backend import xp_of


def one_hot(tensor, num_classes=-1):
    """``out[..., c] = 1`` where ``c == tensor[...]``, else 0: shape ``tensor.shape + (C,)``, int64.

    ``C = num_classes``, or ``tensor.max() + 1`` for the default ``-1`` (which
    needs a non-empty tensor to look at). ``tensor``: int64 class indices in
    ``[0, C)``, as PyTorch requires (no silent cast of other integer types).
    """
    from ..tensor import Tensor

    op = "one_hot"
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: tensor must be a Tensor of class indices, got "
                        f"{type(tensor).__name__}")
    if tensor.dtype != np.int64:
        raise TypeError(f"{op}: tensor must hold int64 class indices (PyTorch's LongTensor), "
                        f"got dtype {np.dtype(tensor.dtype).name}; convert with .long()")
    num_classes = as_int(num_classes, "num_classes", op=op)
    if num_classes < -1:
        raise ValueError(f"{op}: num_classes must be -1 (one more than the largest class "
                         f"index) or >= 0, got {num_classes}")
    indices = tensor.data
    if num_classes == -1:
        if indices.size == 0:
            raise ValueError(f"{op}: cannot infer num_classes from an empty tensor (shape "
                             f"{tuple(tensor.shape)}); pass num_classes")
        num_classes = int(indices.max()) + 1
    if indices.size:
        smallest, largest = int(indices.min()), int(indices.max())
        if smallest < 0:
            raise ValueError(f"{op}: class values must be non-negative, got {smallest}")
        if largest >= num_classes:
            raise ValueError(f"{op}: class values must be smaller than num_classes="
                             f"{num_classes}, got {largest}")
    classes = xp_of(indices).arange(num_classes, dtype=np.int64)
    # (..., 1) == (C,) broadcasts to (..., C): one True per row, at the class index
    return Tensor._wrap((indices[..., None] == classes).astype(np.int64))
