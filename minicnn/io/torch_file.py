"""Reading ``torch.save`` files into NumPy arrays, without PyTorch and without running their code.

A ``.pth``/``.pt`` file written by ``torch.save`` (the zip format, the default
since PyTorch 1.6) is a zip archive::

    <name>/data.pkl      a pickle of the saved object (the state dict)
    <name>/data/<key>    the raw bytes of each storage, little- or big-endian
    <name>/byteorder     "little" or "big" (absent in older files: little)

The pickle names each tensor as a call ``torch._utils._rebuild_tensor_v2(
storage, storage_offset, size, stride, ...)`` whose storage is a *persistent
id* ``("storage", torch.FloatStorage, key, location, numel)``. A tensor is
therefore a strided view of a flat storage::

    tensor[i_0, ..., i_k] = storage[storage_offset + sum_j i_j * stride[j]]

so a transposed or sliced tensor, and several tensors sharing one storage,
come back as saved (each as its own C-contiguous copy).

A pickle is a program: unpickling calls any function it names. The reader
here resolves only the names above (tensor and parameter rebuilding, the
storage types, ``collections.OrderedDict`` and plain containers); any other
global is refused with :class:`UnsafePickleError`, which names it, *before*
anything is called. A file from the internet can at worst hold wrong numbers.
"""
import collections
import os
import pickle
import zipfile

import numpy as np

__all__ = ["load_torch_state_dict", "read_torch_file", "TorchFileError", "UnsafePickleError"]

# torch storage type -> the NumPy dtype of its bytes (bfloat16 is read as uint16 bits and
# widened to float32 afterwards: NumPy has no bfloat16).
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "HalfStorage": np.float16, "BFloat16Storage": np.uint16,
    "DoubleStorage": np.float64, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
# The first 8 bytes of a legacy (pre-1.6, non-zip) torch.save file: pickle protocol 2, then
# the LONG1 opcode of torch's magic number 0x1950a86a20f9469cfc6c.
_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j"


class TorchFileError(ValueError):
    """A file that is not a readable ``torch.save`` archive, or holds something else than arrays."""


class UnsafePickleError(TorchFileError):
    """The pickle names a global outside the allowed list (it was not imported, let alone called)."""


class _StorageType:
    """What the pickle's ``torch.FloatStorage`` & co. resolve to: a name and a NumPy dtype."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    """One storage's elements as a flat NumPy array (bfloat16: the raw uint16 bits)."""

    def __init__(self, array, type_name):
        self.array = array
        self.type_name = type_name


def bfloat16_to_float32(bits):
    """bfloat16 values given as their uint16 bits, as float32: bfloat16 is the upper half of a
    float32 (same sign and exponent, 7 of its 23 mantissa bits), so this widening is exact."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    """``torch._utils._rebuild_tensor(_v2)``: the strided view of ``storage``, copied (see the
    module docstring); bfloat16 is widened to float32."""
    if not isinstance(storage, _Storage):
        raise TorchFileError(f"a tensor's storage is a {type(storage).__name__}, not a storage")
    flat = storage.array
    size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise TorchFileError(f"a tensor has size {size} and stride {stride}, which do not describe "
                             f"a view")
    if 0 not in size:
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if storage_offset < 0 or last >= flat.size:
            raise TorchFileError(f"a tensor of size {size}, stride {stride} and offset "
                                 f"{storage_offset} reaches element {last} of a storage of "
                                 f"{flat.size}: the file is corrupt")
        view = np.lib.stride_tricks.as_strided(flat[storage_offset:], shape=size,
                                               strides=[s * flat.itemsize for s in stride])
        array = np.array(view, order="C", copy=True)  # C-contiguous, writable, independent of the storage
    else:
        array = np.zeros(size, dtype=flat.dtype)
    if storage.type_name == "BFloat16Storage":
        array = bfloat16_to_float32(array)
    return array


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    """``torch._utils._rebuild_parameter(_with_state)``: a Parameter is its data here."""
    return data


_ALLOWED = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
    # Protocol 2 writes sets and bytes through these (pure functions of their arguments).
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): lambda text, encoding="utf-8": text.encode(encoding),
}


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose globals come from ``_ALLOWED`` and the storage types only."""

    def __init__(self, stream, archive, prefix, byteorder, path):
        super().__init__(stream)
        self._archive, self._prefix, self._path = archive, prefix, path
        self._byteorder = "<" if byteorder == "little" else ">"
        self._storages = {}  # key -> _Storage: tensors that share a storage share its array

    def find_class(self, module, name):
        # Protocol 2 writes Python 2's module names; the base class would map them.
        module = "builtins" if module == "__builtin__" else module
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        raise UnsafePickleError(
            f"{self._path}: the pickle refers to the global {module}.{name}, which is not a "
            f"tensor, a storage or a plain container; it was not loaded (unpickling it would run "
            f"code from the file). Only state dicts of tensors, OrderedDicts, dicts, lists, "
            f"numbers and strings are read")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise TorchFileError(f"{self._path}: unknown persistent id {pid!r} in the pickle "
                                 f"(expected a storage)")
        _, storage_type, key, _location, numel = pid
        if key not in self._storages:
            record = f"{self._prefix}data/{key}"
            try:
                raw = self._archive.read(record)
            except KeyError:
                raise TorchFileError(f"{self._path}: truncated or corrupt: the storage {record} "
                                     f"is missing from the archive") from None
            dtype = storage_type.dtype.newbyteorder(self._byteorder)
            if len(raw) < numel * dtype.itemsize:
                raise TorchFileError(f"{self._path}: truncated: the storage {record} holds "
                                     f"{len(raw)} bytes, {numel} {storage_type.name} elements "
                                     f"need {numel * dtype.itemsize}")
            flat = np.frombuffer(raw, dtype=dtype, count=numel).astype(dtype.newbyteorder("="))
            self._storages[key] = _Storage(flat, storage_type.name)
        return self._storages[key]


def _open_archive(path):
    """The zip archive of a ``torch.save`` file and the prefix of its records, or a clear error."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"PyTorch checkpoint not found: {path}")
    with open(path, "rb") as stream:
        head = stream.read(len(_LEGACY_MAGIC))
    if not zipfile.is_zipfile(path):
        if head == _LEGACY_MAGIC:
            raise TorchFileError(f"{path}: a legacy torch.save file (the pre-1.6 format, or "
                                 f"_use_new_zipfile_serialization=False), which is not read; "
                                 f"re-save it with torch.save in PyTorch >= 1.6")
        raise TorchFileError(f"{path}: not a torch.save file, or a truncated one (it is not a "
                             f"complete zip archive)")
    try:
        archive = zipfile.ZipFile(path)
        names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise TorchFileError(f"{path}: not a readable torch.save file ({error})") from error
    pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") <= 1]
    if len(pickles) != 1:
        archive.close()
        hint = " (a TorchScript archive: save the state_dict instead)" \
            if any(n.endswith("constants.pkl") for n in names) else ""
        raise TorchFileError(f"{path}: a zip archive but not a torch.save file: it holds "
                             f"{len(pickles)} data.pkl records, expected one{hint}")
    return archive, pickles[0][:-len("data.pkl")]


def read_torch_file(path):
    """The object saved in a ``torch.save`` file with its tensors as NumPy arrays.

    Only tensors, parameters, OrderedDicts and plain containers (dict, list,
    tuple, set, numbers, strings) are read; see the module docstring.
    """
    path = os.fspath(path)
    archive, prefix = _open_archive(path)
    with archive:
        try:
            byteorder = archive.read(prefix + "byteorder").decode().strip()
        except KeyError:
            byteorder = "little"  # files from before PyTorch 1.10 have no byteorder record
        try:
            with archive.open(prefix + "data.pkl") as stream:
                return _RestrictedUnpickler(stream, archive, prefix, byteorder, path).load()
        except TorchFileError:
            raise
        except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError, TypeError,
                IndexError, KeyError, AttributeError, OSError) as error:
            raise TorchFileError(f"{path}: truncated or corrupt torch.save file (reading its "
                                 f"pickle failed: {type(error).__name__}: {error})") from error


def _is_array_dict(value):
    return isinstance(value, dict) and all(isinstance(v, np.ndarray) for v in value.values())


def load_torch_state_dict(path) -> dict:
    """A PyTorch checkpoint's state dict as ``{name: numpy array}``, without importing torch.

    ``path`` is a ``.pth``/``.pt`` file of ``torch.save`` (the zip format) holding
    either a state dict or a whole checkpoint dict with its state dict under
    ``"state_dict"`` or ``"model"`` (the other entries, epochs or optimizer
    state, are read but dropped). The ``"module."`` prefix that
    ``nn.DataParallel`` puts on every key is removed. Tensors come back as
    C-contiguous arrays of their dtype (float32, float16, float64, int64,
    bool, ...) except bfloat16, widened to float32 exactly.

    Raises ``FileNotFoundError``, :class:`TorchFileError` (a ValueError) for a
    file that is not a readable ``torch.save`` archive or holds no state dict,
    and :class:`UnsafePickleError` for a pickle that names any other global
    than tensors, storages and containers (nothing in it is run).
    """
    path = os.fspath(path)
    saved = read_torch_file(path)
    state = saved
    if isinstance(saved, dict) and not _is_array_dict(saved):
        for key in ("state_dict", "model"):
            if _is_array_dict(saved.get(key)):
                state = saved[key]
                break
    if not _is_array_dict(state):
        if isinstance(state, dict):
            bad = next(k for k, v in state.items() if not isinstance(v, np.ndarray))
            raise TorchFileError(f"{path}: not a state dict: the entry {bad!r} is a "
                                 f"{type(state[bad]).__name__}, not a tensor, and there is no "
                                 f"'state_dict' or 'model' entry of tensors")
        raise TorchFileError(f"{path}: holds a {type(state).__name__}, not a state dict "
                             f"(a dict of tensors)")
    keys = list(state)
    if keys and all(k.startswith("module.") for k in keys):
        return {k[len("module."):]: v for k, v in state.items()}
    return dict(state)
