"""Layers that only rearrange elements: ``Flatten``, ``Unflatten`` and ``ChannelShuffle``."""
import math

from .._validation import _is_int, as_int, normalize_dim
from ..ops._common import require_tensor
from . import functional as F
from .module import Module

__all__ = ["Flatten", "Unflatten", "ChannelShuffle"]


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim``: (N, C, H, W) -> (N, C*H*W) with the defaults."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = as_int(start_dim, "start_dim", op="Flatten")
        self.end_dim = as_int(end_dim, "end_dim", op="Flatten")

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, input):
        return F.flatten(input, self.start_dim, self.end_dim)


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``: (N, C*H*W) -> (N, C, H, W) with
    ``Unflatten(1, (C, H, W))``, Flatten's inverse. One entry may be -1 (inferred)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = as_int(dim, "dim", op="Unflatten")
        sizes = unflattened_size
        if not isinstance(sizes, (tuple, list)) or not all(_is_int(s) for s in sizes):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got {sizes!r}")
        if any(s < -1 for s in sizes) or list(sizes).count(-1) > 1:
            raise ValueError(f"Unflatten: unflattened_size entries must be >= 0, with at most "
                             f"one -1, got {tuple(sizes)}")
        self.unflattened_size = sizes  # kept as given (a list stays a list, as in torch.nn)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

    def forward(self, input):
        require_tensor(input, "input", "Unflatten")
        dim = normalize_dim(self.dim, input.ndim, "dim", "Unflatten")
        sizes, size = tuple(int(s) for s in self.unflattened_size), input.shape[dim]
        known = math.prod(s for s in sizes if s != -1)
        fits = (known > 0 and size % known == 0) if -1 in sizes else known == size
        if not fits:
            raise ValueError(f"Unflatten: unflattened_size {sizes} does not multiply to "
                             f"{size}, the size of dim {self.dim} of input shape "
                             f"{tuple(input.shape)}")
        return F.reshape(input, input.shape[:dim] + sizes + input.shape[dim + 1:])


class ChannelShuffle(Module):
    """ShuffleNet's channel shuffle: view C as (groups, C/groups), transpose, flatten back."""

    def __init__(self, groups):
        super().__init__()
        self.groups = as_int(groups, "groups", 1, "ChannelShuffle")

    def extra_repr(self) -> str:
        return f"groups={self.groups}"

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)
