"""Checkpoints: one ``.npz`` file that cannot run code when loaded, written atomically.

Layout of the archive (NumPy's ``.npz``: a zip of ``.npy`` arrays)::

    __meta__                 a 0-d unicode array holding one JSON document
    model/<state_dict key>   the model's parameters and buffers
    <path>                   every other array (optimizer moments ...), named
                             by where it sits in the JSON document

The JSON document holds everything that is not an array: the format name
and version, the run configuration, the model's name and constructor
arguments, the epoch and step, the optimizer's and scheduler's scalar state,
the random generators' states, the metrics history. Inside it an array is
written as ``{"__array__": "<archive key>"}``; tuples, ``Counter``s and dicts
with non-string keys (the optimizer's state is keyed by parameter index) are
tagged likewise so that they come back as they went in.

Loading uses ``np.load(..., allow_pickle=False)``: an archive with pickled
objects is refused, so a checkpoint from an untrusted source can at worst
hold wrong numbers, never code. ``save_checkpoint`` writes to a temporary
file in the target folder, flushes it to disk and renames it over the target
(``os.replace``, atomic on POSIX and Windows): a crash mid-write leaves the
previous checkpoint intact, never a half-written one.
"""
import errno
import json
import os
import re
import tempfile
import zipfile
from collections import Counter

import numpy as np

from ..backend import is_cupy_array

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "pack", "unpack",
           "read_archive", "write_archive", "FORMAT", "VERSION", "check_state_dict_fits",
           "atomic_write", "stale_temporaries", "describe_os_error", "run_folder_checkpoint"]

FORMAT = "minicnn-checkpoint"
VERSION = 1
_META = "__meta__"


class CheckpointError(ValueError):
    """A file that is not a readable minicnn checkpoint, or one that does not fit the model."""


# ------------------------------------------------------------------ JSON packing
#: The tags of the JSON objects that stand for something JSON has not (an array, a tuple ...).
_TAGS = ("__array__", "__tensor__", "__tuple__", "__counter__", "__items__")


def pack(value, path: str, arrays: dict):
    """``value`` as JSON-ready data; arrays are moved into ``arrays`` under keys from ``path``.

    A Tensor is stored as its array plus ``requires_grad`` (and whether it is a
    Parameter), on the CPU.
    """
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        from ..nn import Parameter

        return {"__tensor__": pack(value.numpy(), path, arrays)["__array__"],
                "requires_grad": value.requires_grad, "parameter": isinstance(value, Parameter)}
    if isinstance(value, np.ndarray) or is_cupy_array(value):
        key = path
        if key in arrays or key == _META:
            raise ValueError(f"checkpoint: two arrays would be stored as {key!r}")
        if value.dtype.kind not in "biufc":  # np.save would need pickle for these
            raise TypeError(f"cannot store the array at {path!r}: dtype {value.dtype} is not a "
                            f"boolean or numeric dtype")
        arrays[key] = value.get() if is_cupy_array(value) else np.asarray(value)
        return {"__array__": key}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Counter):
        return {"__counter__": [[pack(k, f"{path}/key", arrays), n] for k, n in value.items()]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not any(tag in value for tag in _TAGS):
            return {k: pack(v, f"{path}/{k}", arrays) for k, v in value.items()}
        return {"__items__": [[pack(k, f"{path}/key{i}", arrays), pack(v, f"{path}/{k}", arrays)]
                              for i, (k, v) in enumerate(value.items())]}
    if isinstance(value, tuple):
        return {"__tuple__": [pack(v, f"{path}/{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [pack(v, f"{path}/{i}", arrays) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} at {path!r} (only dicts, lists, "
                    f"tuples, tensors, arrays, numbers, strings, bools and None)")


def unpack(value, arrays: dict, source="checkpoint"):
    """The inverse of :func:`pack`."""
    if isinstance(value, list):
        return [unpack(v, arrays, source) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return _stored_array(value["__array__"], arrays, source)
        if set(value) == {"__tensor__", "requires_grad", "parameter"}:
            return _stored_tensor(value, arrays, source)
        if set(value) == {"__tuple__"}:
            return tuple(unpack(v, arrays, source) for v in value["__tuple__"])
        if set(value) == {"__counter__"}:
            return Counter({unpack(k, arrays, source): n for k, n in value["__counter__"]})
        if set(value) == {"__items__"}:
            return {unpack(k, arrays, source): unpack(v, arrays, source)
                    for k, v in value["__items__"]}
        return {k: unpack(v, arrays, source) for k, v in value.items()}
    return value


def _stored_array(key, arrays, source):
    if key not in arrays:
        raise CheckpointError(f"{source}: truncated or corrupt file: the array {key!r} it "
                              f"refers to is missing")
    return arrays[key]


def _stored_tensor(entry, arrays, source):
    from ..nn import Parameter
    from ..tensor import Tensor

    array = _stored_array(entry["__tensor__"], arrays, source)
    if entry["parameter"]:
        return Parameter(array, requires_grad=bool(entry["requires_grad"]))
    return Tensor._wrap(array, requires_grad=bool(entry["requires_grad"]))


# ------------------------------------------------------------------ files
def _umask_mode() -> int:
    """0o666 minus the process umask: what ``open()`` would give a new file (mkstemp gives 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


# atomic_write's temporary for "x.npz" is ".x.npz.<random>.tmp" in the same folder.
_TEMPORARY_SUFFIX = ".tmp"


def _temporary_prefix(name: str) -> str:
    return "." + name + "."


def atomic_write(path, write) -> None:
    """Create or replace ``path`` all at once: ``write(stream)`` fills a temporary file in the
    same folder (created if missing), which is flushed to disk and then renamed over ``path``;
    on any error the temporary file is removed and ``path`` is left as it was (a kill leaves it:
    :func:`stale_temporaries` finds it)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=_temporary_prefix(os.path.basename(path)),
                                         suffix=_TEMPORARY_SUFFIX, dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, _umask_mode())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def stale_temporaries(folder, names) -> list:
    """The temporaries :func:`atomic_write` left in ``folder`` for the files ``names`` (a process
    killed mid-write cannot remove its own), as paths; other files never match."""
    patterns = [re.compile(re.escape(_temporary_prefix(name)) + r"[A-Za-z0-9_]+"
                           + re.escape(_TEMPORARY_SUFFIX) + "$") for name in names]
    try:
        entries = os.listdir(folder)
    except FileNotFoundError:
        return []
    return [os.path.join(folder, entry) for entry in sorted(entries)
            if any(pattern.match(entry) for pattern in patterns)]


# What happened, in words, for the OS errors a user can fix (strerror's "No such file or
# directory" reads as if minicnn had searched for something).
_OS_REASONS = {errno.ENOENT: "does not exist", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied", errno.EROFS: "read-only file system",
               errno.ENOSPC: "no space left on the device", errno.ENOTDIR: "a part of the path "
               "is a file, not a folder", errno.EISDIR: "is a folder, not a file",
               errno.EEXIST: "already exists"}


def describe_os_error(error: OSError, doing: str = None) -> str:
    """One line for an ``OSError``: ``"<doing> <path>: <what happened>"``."""
    reason = _OS_REASONS.get(error.errno) or (error.strerror or str(error)).lower()
    path = error.filename if error.filename is not None else ""
    subject = " ".join(part for part in (doing, os.fspath(path)) if part)
    return f"{subject}: {reason}" if subject else reason


def save_checkpoint(path, meta: dict, model_state: dict) -> None:
    """Write ``meta`` (packed to JSON plus arrays) and ``model_state`` (name -> array) to
    ``path`` atomically: a temporary file in the same folder, fsync, then ``os.replace``."""
    arrays = {}
    document = dict(meta, format=FORMAT, version=VERSION)
    packed = pack(document, "meta", arrays)
    for key, value in model_state.items():
        arrays["model/" + key] = value.get() if is_cupy_array(value) else np.asarray(value)
    write_archive(path, packed, arrays)


def run_folder_checkpoint(folder) -> str:
    """The checkpoint that stands for a run folder: its ``best.npz``, else its ``last.npz``."""
    for name in ("best.npz", "last.npz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"{folder} is a folder without a checkpoint (no best.npz or last.npz)")


def load_checkpoint(path) -> tuple:
    """``(meta, model_state)`` from a checkpoint written by :func:`save_checkpoint`.

    Raises ``FileNotFoundError`` for a missing file and :class:`CheckpointError`
    (a ValueError) with a sentence saying what is wrong for anything else: not
    a zip archive, truncated, pickled content, another program's ``.npz``, a
    newer format version.
    """
    path = os.fspath(path)
    document, arrays = read_archive(path, FORMAT, VERSION, "checkpoint")
    meta = unpack(document, arrays, path)
    model_state = {key[len("model/"):]: value for key, value in arrays.items()
                   if key.startswith("model/")}
    return meta, model_state


def write_archive(path, document: dict, arrays: dict) -> None:
    """``document`` (JSON-ready, see :func:`pack`) and ``arrays`` as one ``.npz``, atomically."""
    text = json.dumps(document)
    atomic_write(path, lambda stream: np.savez(stream, **{_META: np.array(text)}, **arrays))


def read_archive(path: str, format: str, version: int, kind: str) -> tuple:
    """``(document, arrays)`` from an archive written by :func:`write_archive`, whose
    document says ``format`` and ``version``; ``kind`` names the file in the errors
    (``"checkpoint"``: "not a minicnn checkpoint")."""
    if not os.path.isfile(path):
        what = f"is a folder, not a {kind} file" if os.path.isdir(path) else "does not exist"
        raise FileNotFoundError(f"{kind} {path} {what}")
    with open(path, "rb"):  # an unreadable file: the OSError says so (not "not a checkpoint")
        pass
    if not zipfile.is_zipfile(path):  # no end-of-archive record: truncated, or another format
        raise CheckpointError(f"{path}: not a minicnn {kind}, or a truncated one (it is not "
                              f"a complete .npz/zip archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if _META not in names:
                raise CheckpointError(
                    f"{path}: an .npz archive but not a minicnn {kind} (it has no {_META} "
                    f"entry; its arrays are {', '.join(names[:8]) or 'none'}"
                    f"{' ...' if len(names) > 8 else ''})")
            arrays = {name: archive[name] for name in names}
    except CheckpointError:
        raise
    except ValueError as error:
        if "allow_pickle" in str(error) or "pickle" in str(error).lower():
            raise CheckpointError(f"{path}: the file holds pickled Python objects; minicnn "
                                  f"{kind}s never do, and loading them could run code, "
                                  f"so it is refused") from error
        raise CheckpointError(f"{path}: not a minicnn {kind} (not a readable .npz "
                              f"archive: {error})") from error
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as error:
        raise CheckpointError(f"{path}: not a minicnn {kind}, or a truncated one (not a "
                              f"readable .npz archive: {type(error).__name__}: {error})") from error
    try:
        document = json.loads(str(arrays.pop(_META)))
    except (json.JSONDecodeError, TypeError) as error:
        raise CheckpointError(f"{path}: corrupt {kind}: its {_META} entry is not JSON "
                              f"({error})") from error
    if not isinstance(document, dict) or document.get("format") != format:
        raise CheckpointError(f"{path}: not a minicnn {kind} (its {_META} entry does not say "
                              f"format {format!r})")
    if document.get("version") != version:
        raise CheckpointError(f"{path}: {kind} format version {document.get('version')!r}; "
                              f"this minicnn reads version {version}")
    return document, arrays


def check_state_dict_fits(model, state: dict, source: str, described: str = "") -> None:
    """Raise :class:`CheckpointError` naming the mismatched keys unless ``state`` has exactly
    the model's keys with the model's shapes (checked before anything is loaded)."""
    own = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {own[k]}" for k in own
              if k in state and tuple(state[k].shape) != own[k]]
    if not (missing or unexpected or shapes):
        return

    def listing(title, items):
        shown = ", ".join(items[:10]) + (f", ... ({len(items)} in all)" if len(items) > 10 else "")
        return f"\n  {title} ({len(items)}): {shown}"

    message = f"{source}: the checkpoint does not fit this model{described}."
    if missing:
        message += listing("missing in the checkpoint", missing)
    if unexpected:
        message += listing("unexpected (not in the model)", unexpected)
    if shapes:
        message += listing("shape mismatches", shapes)
    raise CheckpointError(message)
