"""Layers that only rearrange elements: ``Flatten`` and ``ChannelShuffle``."""
from .._validation import as_int
from . import functional as F
from .module import Module

__all__ = ["Flatten", "ChannelShuffle"]


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


class ChannelShuffle(Module):
    """ShuffleNet's channel shuffle: view C as (groups, C/groups), transpose, flatten back."""

    def __init__(self, groups):
        super().__init__()
        self.groups = as_int(groups, "groups", 1, "ChannelShuffle")

    def extra_repr(self) -> str:
        return f"groups={self.groups}"

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)
