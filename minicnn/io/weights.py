"""One entry point for weight files: ``.npz``, ``.pth``/``.pt`` and ``.safetensors``.

The format is told from the file's first bytes, not its name:

=====================  ===================================================
first bytes            read as
=====================  ===================================================
zip with ``data.pkl``  ``torch.save`` file (:func:`load_torch_state_dict`)
zip of ``.npy``        a minicnn checkpoint (its model's state), a
                       ``minicnn.save`` file of a state dict, or any
                       ``np.savez`` archive of arrays, never pickles
8-byte length + ``{``  safetensors (:func:`load_safetensors`)
=====================  ===================================================
"""
import os
import struct
import zipfile

import numpy as np

from .safetensors_file import load_safetensors
from .torch_file import _LEGACY_MAGIC, load_torch_state_dict

__all__ = ["load_state_dict_file", "load_weights"]

_FORMATS = ("a minicnn checkpoint or np.savez archive (.npz), a torch.save file (.pth/.pt) "
            "or a safetensors file (.safetensors)")


def _looks_like_safetensors(head: bytes) -> bool:
    if len(head) < 9:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    return 2 <= length < 100_000_000 and head[8:9] == b"{"


def _load_npz(path) -> dict:
    from .. import serialization
    from ..train.checkpoint import CheckpointError, load_checkpoint

    try:
        with np.load(path, allow_pickle=False) as archive:
            if "__meta__" not in archive.files:  # a plain np.savez of a state dict
                return {name: archive[name] for name in archive.files}
            saved = f'"format": "{serialization.FORMAT}"' in str(archive["__meta__"])
    except ValueError as error:
        raise CheckpointError(f"{path}: an .npz archive with pickled objects; it is refused "
                              f"(loading them could run code)") from error
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise CheckpointError(f"{path}: a truncated or corrupt .npz archive "
                              f"({type(error).__name__}: {error})") from error
    return serialization.load_state_dict(path) if saved else load_checkpoint(path)[1]


def load_state_dict_file(path) -> dict:
    """``{name: numpy array}`` from a weight file in any of the formats above.

    Raises ``FileNotFoundError`` for a missing file and a ``ValueError`` naming
    the problem (unknown format, truncated file, pickled code) otherwise.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weight file not found: {path}")
    with open(path, "rb") as stream:
        head = stream.read(16)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if any(name.endswith("data.pkl") for name in names):
            return load_torch_state_dict(path)
        return _load_npz(path)
    if _looks_like_safetensors(head):
        return load_safetensors(path)
    if head.startswith(_LEGACY_MAGIC) or path.endswith((".pth", ".pt")):
        return load_torch_state_dict(path)  # its error says what is wrong
    raise ValueError(f"{path}: not a weight file minicnn reads (or a truncated one); expected "
                     f"{_FORMATS}")


def load_weights(model, path, strict: bool = True):
    """Load the weight file ``path`` (any format above) into ``model`` by state-dict key.

    Returns what ``model.load_state_dict`` returns; a key or shape mismatch
    raises before any parameter changes.
    """
    state = load_state_dict_file(path)
    try:
        return model.load_state_dict(state, strict=strict)
    except RuntimeError as error:
        raise RuntimeError(f"{os.fspath(path)}: {error}") from error
