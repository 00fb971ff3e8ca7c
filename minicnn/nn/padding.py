"""Padding layers: ``ZeroPad2d``, ``ReflectionPad2d``, ``ReplicationPad2d`` (torch.nn's).

Each pads the last two dims of a (C, H, W) or (N, C, H, W) input by
``padding``: an int (all four sides) or ``(left, right, top, bottom)``,
through :func:`minicnn.nn.functional.pad` (the formulas are on its card).
"""
from .._validation import _is_int
from . import functional as F
from .module import Module

__all__ = ["ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d"]


class _Pad2d(Module):
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        name = type(self).__name__
        if _is_int(padding):
            padding = (int(padding),) * 4
        elif not (isinstance(padding, (tuple, list)) and len(padding) == 4
                  and all(_is_int(p) for p in padding)):
            raise TypeError(f"{name}: padding must be an int or a 4-tuple (left, right, top, "
                            f"bottom) of ints, got {padding!r}")
        self.padding = tuple(int(p) for p in padding)

    def extra_repr(self) -> str:
        return f"{self.padding}"

    def forward(self, input):
        if input.ndim not in (3, 4):  # PyTorch's layers take (C, H, W) or (N, C, H, W)
            raise ValueError(f"{type(self).__name__}: expected a 3-D (C, H, W) or 4-D "
                             f"(N, C, H, W) input, got shape {input.shape}")
        return F.pad(input, self.padding, mode=self.mode)


class ZeroPad2d(_Pad2d):
    """Pad H and W with zeros."""

    mode = "constant"


class ReflectionPad2d(_Pad2d):
    """Pad H and W with the mirror image of the input (edges not repeated); each width < its dim."""

    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Pad H and W by repeating the edge values."""

    mode = "replicate"
