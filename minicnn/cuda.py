"""``minicnn.cuda``: is a GPU usable? (``minicnn.cuda.is_available()``, as in PyTorch)."""
from .device import DeviceUnavailableError, cuda_unavailable_reason, is_available

__all__ = ["is_available", "cuda_unavailable_reason", "DeviceUnavailableError"]
