"""``minicnn.nn``: the functional API now; modules and layers come with the layers issue."""
from . import functional

__all__ = ["functional"]
