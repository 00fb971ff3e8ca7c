"""``minicnn.save(obj, path)`` / ``minicnn.load(path)``: ``torch.save``/``torch.load`` without pickle.

What can be saved: dicts (any keys of the kinds below, order kept), lists,
tuples, Tensors (and Parameters), NumPy arrays of boolean or numeric dtype,
Python and NumPy numbers, strings, bools and None, nested in any way. That
covers a model's ``state_dict()``, an optimizer's ``state_dict()`` and the
usual ``{"model": ..., "optimizer": ..., "epoch": ...}`` checkpoint dict.

The file format is the one of minicnn's training checkpoints
(:mod:`minicnn.train.checkpoint`): a NumPy ``.npz`` archive (a zip of
``.npy`` files) with

* ``__meta__``: a JSON document ``{"format": "minicnn-save", "version": 1,
  "object": ...}``, where ``object`` is ``obj`` as JSON; an array stands
  there as ``{"__array__": key}``, a tensor as ``{"__tensor__": key,
  "requires_grad": ..., "parameter": ...}``, a tuple as ``{"__tuple__":
  [...]}`` and a dict whose keys are not all strings as ``{"__items__":
  [[key, value], ...]}``;
* one ``.npy`` entry per array, named by where it sits in ``obj``.

Loading reads the archive with ``np.load(..., allow_pickle=False)`` and the
structure with ``json.loads``: a file, even a malicious one, can only hold
wrong numbers, never run code. A file that is not such an archive, is
truncated or holds pickled objects raises :class:`CheckpointError` (a
ValueError) naming the path and what is wrong. Writing is atomic (a
temporary file renamed over ``path``).
"""
import os

import numpy as np

FORMAT = "minicnn-save"
VERSION = 1

__all__ = ["save", "load", "load_state_dict"]


def _path(f, op):
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"{op}: f must be a file path (str or os.PathLike), got "
                        f"{type(f).__name__}")
    return os.fspath(f)


def save(obj, f) -> None:
    """Write ``obj`` (see the module docstring for what it may hold) to the path ``f``.

    Everything is checked before the file is touched: an object of another
    type raises a TypeError naming where it sits (``obj['state'][0]['x']``).
    """
    from .train.checkpoint import pack, write_archive

    path = _path(f, "save")
    arrays = {}
    try:
        packed = pack(obj, "obj", arrays)
    except TypeError as error:
        raise TypeError(f"save: {error}") from None
    write_archive(path, {"format": FORMAT, "version": VERSION, "object": packed}, arrays)


def load(f, map_location=None, weights_only=None):
    """The object that :func:`save` wrote to the path ``f``.

    Tensors come back on the CPU, or on ``map_location`` (a device or its text
    form) when given. ``weights_only`` is accepted for PyTorch scripts and
    changes nothing: loading never runs code.
    """
    from ._device import parse_device
    from .train.checkpoint import CheckpointError, read_archive, unpack

    path = _path(f, "load")
    if map_location is not None:
        parse_device(map_location)  # a bad device fails before the file is read
    document, arrays = read_archive(path, FORMAT, VERSION, "save file")
    if "object" not in document:
        raise CheckpointError(f"{path}: corrupt save file: its __meta__ entry has no 'object'")
    obj = unpack(document["object"], arrays, path)
    return obj if map_location is None else _moved(obj, map_location)


def load_state_dict(f) -> dict:
    """``{name: NumPy array}`` from a :func:`save` file holding a state dict (names to
    tensors or arrays), as ``minicnn.io.load_weights`` and ``weights=PATH`` read it.

    A NumPy scalar in the saved dict (``num_batches_tracked + 1`` is one) was
    stored as a number, and comes back as a 0-d array.
    """
    from .tensor import Tensor
    from .train.checkpoint import CheckpointError

    obj = load(f)
    if not isinstance(obj, dict) or not all(
            isinstance(key, str) and isinstance(value, (Tensor, np.ndarray, int, float))
            for key, value in obj.items()):
        what = (f"a dict with keys {list(obj)[:6]}" if isinstance(obj, dict)
                else f"a {type(obj).__name__}")
        raise CheckpointError(f"{os.fspath(f)}: a minicnn.save file, but not of a state dict "
                              f"(names to tensors or arrays): it holds {what}")
    return {key: value.numpy() if isinstance(value, Tensor) else np.asarray(value)
            for key, value in obj.items()}


def _moved(obj, map_location):
    """``obj`` with every tensor on ``map_location``, each still a leaf (Parameters stay
    Parameters)."""
    from ._device import to_device
    from .autograd import no_grad
    from .nn import Parameter
    from .tensor import Tensor

    if isinstance(obj, Tensor):
        with no_grad():
            moved = to_device(obj, map_location)
        if moved is obj:
            return obj
        if isinstance(obj, Parameter):
            return Parameter(moved.data, requires_grad=obj.requires_grad)
        return Tensor._wrap(moved.data, requires_grad=obj.requires_grad)
    if isinstance(obj, dict):
        return {key: _moved(value, map_location) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_moved(value, map_location) for value in obj)
    return obj
