"""``minicnn.utils``: where PyTorch users look for ``torch.utils.data``."""
from . import data

__all__ = ["data"]
