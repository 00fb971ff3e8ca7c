"""``Dropout``: inverted dropout in training mode, the identity in eval mode."""
from . import functional as F
from ._layer_helpers import require_bool, require_real
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` while
    training (masks from minicnn's global generator); return the input as it is in eval mode.

    ``inplace`` is accepted for PyTorch compatibility; the result is always a new tensor.
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        require_real(p, "p", "Dropout")
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: dropout probability p has to be between 0 and 1, but got {p!r}")
        self.p = p
        self.inplace = require_bool(inplace, "inplace", "Dropout")

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)
