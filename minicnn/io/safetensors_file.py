"""safetensors files (Hugging Face's format: a JSON header, then raw little-endian arrays).

Read and written through the ``safetensors`` package's NumPy API, an optional
dependency (``pip install "minicnn[io]"``). Like minicnn's ``.npz``
checkpoints, a safetensors file holds only arrays and string metadata, never code.
"""
import json
import os
import struct

import numpy as np

from ..backend import is_cupy_array
from ..tensor import Tensor
from .torch_file import bfloat16_to_float32

__all__ = ["load_safetensors", "save_safetensors"]

_MISSING = ("reading and writing .safetensors files needs the safetensors package: "
            "pip install \"minicnn[io]\" (or pip install safetensors)")


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(_MISSING) from None
    return safetensors.numpy


def _read_header(stream):
    """The layout: an 8-byte little-endian header length, the JSON header giving each entry's
    dtype, shape and byte range after the header, then the data."""
    (length,) = struct.unpack("<Q", stream.read(8))
    return json.loads(stream.read(length)), 8 + length


def load_safetensors(path) -> dict:
    """The arrays of a ``.safetensors`` file as ``{name: numpy array}`` (bfloat16 as float32)."""
    _safetensors_numpy()
    from safetensors import safe_open

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"safetensors file not found: {path}")
    try:
        with open(path, "rb") as stream:
            header, data_start = _read_header(stream)
            # NumPy, hence the package's NumPy API, has no bfloat16: those entries are read
            # here as their uint16 bits and widened.
            arrays = {}
            for name, entry in header.items():
                if name != "__metadata__" and entry["dtype"] == "BF16":
                    begin, end = entry["data_offsets"]
                    stream.seek(data_start + begin)
                    bits = np.frombuffer(stream.read(end - begin), dtype="<u2")
                    arrays[name] = bfloat16_to_float32(bits).reshape(entry["shape"])
        with safe_open(path, framework="np") as archive:
            for name in archive.keys():
                if name not in arrays:
                    arrays[name] = archive.get_tensor(name)
        return arrays
    except Exception as error:  # struct, JSON and the package's own SafetensorError
        raise ValueError(f"{path}: not a readable safetensors file, or a truncated one "
                         f"({type(error).__name__}: {error})") from error


def save_safetensors(state, path, metadata=None) -> None:
    """Write ``state`` (a model, or a dict name -> array or Tensor) to ``path`` as safetensors.

    ``metadata`` is an optional ``{str: str}`` stored in the header. Arrays
    are written C-contiguous, from the GPU through the host.
    """
    module = _safetensors_numpy()
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    if not isinstance(state, dict):
        raise TypeError(f"save_safetensors: state must be a model or a dict of arrays, "
                        f"got {type(state).__name__}")
    arrays = {}
    for name, value in state.items():
        if isinstance(value, Tensor):
            value = value.data
        value = value.get() if is_cupy_array(value) else value
        if isinstance(value, np.generic):  # a NumPy scalar (0-d arithmetic gives one)
            value = np.asarray(value)
        if not isinstance(value, np.ndarray):
            raise TypeError(f"save_safetensors: state[{name!r}] is a {type(value).__name__}, "
                            f"not an array or Tensor")
        arrays[name] = np.asarray(value, order="C")  # (ascontiguousarray makes 0-d 1-d)
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str)
                                        for k, v in metadata.items()):
        raise TypeError(f"save_safetensors: metadata must map str to str, got {metadata!r}")
    module.save_file(arrays, os.fspath(path), metadata=metadata)
