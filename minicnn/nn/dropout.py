"""``Dropout`` and ``Dropout2d``: inverted dropout of elements or of whole channels in training
mode, the identity in eval mode."""
from . import functional as F
from ._layer_helpers import require_bool, require_real
from .module import Module

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    """``p`` and ``inplace``, checked, and PyTorch's repr of them."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        layer = type(self).__name__
        require_real(p, "p", layer)
        if not 0 <= p <= 1:
            raise ValueError(f"{layer}: dropout probability p has to be between 0 and 1, "
                             f"but got {p!r}")
        self.p = p
        self.inplace = require_bool(inplace, "inplace", layer)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` while
    training (masks from minicnn's global generator); return the input as it is in eval mode.

    ``inplace`` is accepted for PyTorch compatibility; the result is always a new tensor.
    """

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero each whole channel ``x[n, c]`` of an (N, C, H, W) input with probability ``p`` and
    scale the kept ones by ``1 / (1 - p)`` while training; the identity in eval mode. A 3-D
    input is taken as (N, C, L), with PyTorch's warning (see ``F.dropout2d``)."""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)
