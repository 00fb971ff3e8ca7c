"""Shared pieces of the layer modules: parameter factories and input checks."""
import numbers

import numpy as np

from .._validation import as_int, require_bool, require_real  # noqa: F401 (re-exported to nn)
from ..tensor import Tensor, get_default_dtype
from .module import Parameter


def factory_dtype(dtype, layer: str):
    """The dtype a layer's parameters are created in (the default float dtype unless given)."""
    if dtype is None:
        return get_default_dtype()
    dtype = np.dtype(dtype)
    if dtype.kind != "f" or dtype.itemsize < 4:
        raise TypeError(f"{layer}: dtype must be float32 or float64, got {dtype.name}")
    return dtype


def empty_parameter(shape, dtype) -> Parameter:
    """An uninitialised Parameter (reset_parameters fills it)."""
    return Parameter(np.empty(shape, dtype=dtype))


def move_to_device(module, device) -> None:
    """Honour a layer's ``device=`` argument ('cpu' or None: nothing to do)."""
    if device is not None and str(device) != "cpu":
        module.to(device)


def positive_int(value, name: str, layer: str) -> int:
    return as_int(value, name, 1, layer)


def check_input(input, layer: str, ndims, layout: str) -> None:
    """``input`` must be a Tensor with one of the ranks ``ndims``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{layer}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in ndims:
        want = " or ".join(f"{n}-D" for n in ndims)
        raise ValueError(f"{layer}: expected a {want} input {layout}, got shape {input.shape}")


def check_channels(input, expected: int, layer: str, what: str = "in_channels",
                   dim: int = -3) -> None:
    """The channel axis ``dim`` (-3: dim 1 of (N, C, H, W), dim 0 of an unbatched (C, H, W))
    holds ``expected``."""
    channels = input.shape[dim]
    if channels != expected:
        raise ValueError(f"{layer}: expected input with {expected} channels ({what}={expected}), "
                         f"got {channels} channels (input shape {input.shape})")
