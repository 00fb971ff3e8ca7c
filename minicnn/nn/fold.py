"""``Unfold`` and ``Fold``: im2col and col2im as layers (math in :mod:`minicnn.ops.fold`)."""
from .._validation import as_pair
from . import functional as F
from .module import Module

__all__ = ["Unfold", "Fold"]


def _geometry(layer, kernel_size, dilation, padding, stride):
    """The arguments, checked when the layer is built (kept as given, as PyTorch keeps them)."""
    as_pair(kernel_size, "kernel_size", 1, layer)
    as_pair(dilation, "dilation", 1, layer)
    as_pair(padding, "padding", 0, layer)
    as_pair(stride, "stride", 1, layer)
    return kernel_size, dilation, padding, stride


class Unfold(Module):
    """Extract sliding blocks: (N, C, H, W) -> (N, C*kH*kW, L); ``F.unfold`` as a layer."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = _geometry(
            "Unfold", kernel_size, dilation, padding, stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)


class Fold(Module):
    """Sum sliding blocks back into images: (N, C*kH*kW, L) -> (N, C, *output_size)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        as_pair(output_size, "output_size", 1, "Fold")
        self.output_size = output_size
        self.kernel_size, self.dilation, self.padding, self.stride = _geometry(
            "Fold", kernel_size, dilation, padding, stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)
