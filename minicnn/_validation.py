"""Argument checks shared by the operators.

Every check raises before any state changes, and its message names the
argument, the value given and what was expected.
"""
import numbers

import numpy as np


class UnsupportedForm(NotImplementedError):
    """A form of a PyTorch call that minicnn does not support on purpose.

    ``key`` names its row in docs/unsupported.md, which gives the reason;
    ``message`` says what was given and what to do instead.
    """

    def __init__(self, op: str, key: str, message: str):
        self.key = key
        super().__init__(f"{op}: {message} (a form minicnn does not support on purpose: "
                         f"docs/unsupported.md, '{key}')")


class MixedDtypes(UnsupportedForm, TypeError):
    """Tensors of different dtypes where PyTorch would promote: minicnn never casts
    silently (row ``dtype-promotion``). A TypeError too, as a wrong dtype is."""

    def __init__(self, op: str, message: str):
        super().__init__(op, "dtype-promotion", message)


#: The memory formats a copy or cast can be asked for. minicnn's arrays are
#: always row-major, which is what both "contiguous" and "preserve" mean for them.
MEMORY_FORMATS = ("preserve_format", "contiguous_format")


def check_memory_format(memory_format, op: str) -> None:
    """PyTorch's ``memory_format=`` (by name): the row-major ones pass, channels-last is
    an :class:`UnsupportedForm`, anything else a ValueError."""
    if memory_format in ("channels_last", "channels_last_3d"):
        raise UnsupportedForm(op, "memory-format", f"memory_format={memory_format!r} was given; "
                              f"minicnn arrays are always row-major (NCHW)")
    if memory_format not in MEMORY_FORMATS:
        raise ValueError(f"{op}: memory_format must be one of {MEMORY_FORMATS}, "
                         f"got {memory_format!r}")


def _is_int(value) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)


def as_pair(value, name: str, minimum: int = 0, op: str = "") -> tuple:
    """``value`` (an int, a pair of ints or a one-element tuple) as a pair, each
    element >= ``minimum``. ``(k,)`` means ``(k, k)``, as PyTorch expands it."""
    where = f"{op}: " if op else ""
    if _is_int(value):
        pair = (int(value), int(value))
    elif (isinstance(value, (tuple, list)) and len(value) in (1, 2)
          and all(_is_int(v) for v in value)):
        pair = (int(value[0]), int(value[-1]))
    else:
        raise TypeError(f"{where}{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{where}{name} must be >= {minimum}, got {value!r}")
    return pair


def require_bool(value, name: str, op: str = "") -> bool:
    """``value`` as a bool (True/False or NumPy's), else TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be a bool, got {value!r}")
    return bool(value)


def require_real(value, name: str, op: str = ""):
    """``value`` itself if it is a real number (not a bool), else TypeError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    return value


def as_int(value, name: str, minimum=None, op: str = "") -> int:
    """``value`` as an int, >= ``minimum`` when given."""
    where = f"{op}: " if op else ""
    if not _is_int(value):
        raise TypeError(f"{where}{name} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{where}{name} must be >= {minimum}, got {value!r}")
    return int(value)


def is_floating(dtype) -> bool:
    return np.issubdtype(np.dtype(dtype), np.floating)


def require_float(tensor, name: str, op: str = "") -> None:
    """A floating-point tensor is required (integers are never cast silently)."""
    where = f"{op}: " if op else ""
    if not is_floating(tensor.dtype):
        raise TypeError(
            f"{where}{name} must be a floating-point tensor (float32 or float64), "
            f"got dtype {np.dtype(tensor.dtype).name}"
        )


def require_ndim(tensor, name: str, ndim, op: str = "", layout: str = "") -> None:
    """``tensor`` must have ``ndim`` dimensions (an int or a tuple of allowed ranks)."""
    allowed = (ndim,) if _is_int(ndim) else tuple(ndim)
    if tensor.ndim not in allowed:
        where = f"{op}: " if op else ""
        want = " or ".join(f"{n}-D" for n in allowed)
        hint = f" {layout}" if layout else ""
        raise ValueError(f"{where}{name} must be {want}{hint}, got shape {tuple(tensor.shape)}")


def normalize_dim(dim, ndim: int, name: str = "dim", op: str = "") -> int:
    """A dimension index in ``[-ndim, ndim)`` as a non-negative int."""
    where = f"{op}: " if op else ""
    if not _is_int(dim):
        raise TypeError(f"{where}{name} must be an int, got {dim!r}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{where}{name}={dim} is out of range for a {ndim}-D tensor "
                         f"(expected in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
    return int(dim) % max(ndim, 1)


def normalize_dims(dim, ndim: int, name: str = "dim", op: str = "") -> tuple:
    """``None`` (all dims), an int or a sequence of ints, as a sorted tuple without repeats."""
    if dim is None:
        return tuple(range(ndim))
    if not _is_int(dim) and not isinstance(dim, (tuple, list)):
        where = f"{op}: " if op else ""
        raise TypeError(f"{where}{name} must be an int or a tuple of ints, got {dim!r}")
    dims = (dim,) if _is_int(dim) else tuple(dim)
    out = tuple(normalize_dim(d, ndim, name, op) for d in dims)
    if len(set(out)) != len(out):
        where = f"{op}: " if op else ""
        raise ValueError(f"{where}{name} contains a repeated dimension: {dim!r}")
    return tuple(sorted(out))
