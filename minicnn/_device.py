"""Devices: the :class:`device` object, and moving tensors between the CPU (NumPy)
and an NVIDIA GPU (CuPy).

``Tensor.to('cuda')`` is differentiable, as in PyTorch: the gradient of a
moved tensor is moved back. When no GPU can be used, :func:`cuda_unavailable_reason`
says which of the possible causes it is (CuPy missing, no driver, no device)
and how to fix it, and ``to('cuda')`` raises that instead of a driver traceback.
"""
import numpy as np

from .backend import is_cupy_array
from .function import Function


class DeviceUnavailableError(RuntimeError):
    """A GPU was asked for but cannot be used; the message says why and how to fix it."""


def cuda_unavailable_reason():
    """None if a CUDA device can be used, else a sentence saying why not."""
    try:
        import cupy
    except ImportError:
        return ("CuPy is not installed: install the GPU extra, pip install 'minicnn[gpu]' "
                "(CuPy and numba-cuda for CUDA 13)")
    except Exception as exc:  # a broken CuPy install raises other errors at import
        return f"CuPy failed to import ({type(exc).__name__}: {exc}); reinstall 'minicnn[gpu]'"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return (f"CuPy is installed but the CUDA driver is not usable ({type(exc).__name__}: "
                f"{exc}); install an NVIDIA driver, or use device='cpu'")
    if count == 0:
        return "CuPy and the CUDA driver are present but no GPU was found; use device='cpu'"
    try:  # minicnn's own kernels are Numba CUDA kernels
        from numba import cuda

        if not cuda.is_available():
            return ("CuPy sees a GPU but Numba's CUDA target does not; install the GPU extra, "
                    "pip install 'minicnn[gpu]' (numba-cuda)")
    except Exception as exc:
        return f"Numba's CUDA target failed to load ({type(exc).__name__}: {exc}); reinstall 'minicnn[gpu]'"
    return None


def is_available() -> bool:
    """True when CuPy, a CUDA driver and at least one GPU are present."""
    return cuda_unavailable_reason() is None


class device:
    """Where a tensor lives, as ``torch.device``: ``device('cpu')``, ``device('cuda', 0)``,
    ``device('cuda:0')`` or ``device(other_device)``.

    ``type`` is ``'cpu'`` or ``'cuda'``; ``index`` the GPU number, or None when not
    given (``device('cuda')`` means the current GPU, number 0 here). ``str()`` gives
    the text form (``'cuda:0'``) and a device is accepted wherever that text is.
    Unlike PyTorch, a device also equals its text form (``t.device == 'cpu'``), so
    code written when ``Tensor.device`` was a string keeps working.
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise TypeError(f"device: index must not be given with a device, got {index!r}")
            kind, number = type.type, type.index
        elif isinstance(type, str):
            kind, _, text_index = type.partition(":")
            if kind not in ("cpu", "cuda") or (_ and not text_index.isdigit()):
                raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {type!r}")
            number = int(text_index) if text_index else None
            if number is not None and index is not None:
                raise ValueError(f"device: type {type!r} already holds an index; "
                                 f"got index={index!r} too")
            if index is not None:
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
                    raise ValueError(f"device: index must be a non-negative int, got {index!r}")
                number = int(index)
        else:
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', or a device, "
                            f"got {type!r}")
        if kind == "cpu" and number not in (None, 0):
            raise ValueError(f"device: the CPU has no index other than 0, got {number}")
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "index", None if kind == "cpu" else number)

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except ValueError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash(str(self))  # equal to its text form, so hashed as that text

    def __reduce__(self):
        return device, (self.type, self.index)


def parse_device(value) -> tuple:
    """``'cpu'``, ``'cuda'``, ``'cuda:1'`` or a :class:`device` -> (kind, index); no index is 0."""
    try:
        parsed = device(value) if isinstance(value, (str, device)) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {value!r} "
                         f"(or pass a minicnn.device)")
    return parsed.type, parsed.index or 0


def parse_to_args(args, kwargs):
    """``(device, dtype)`` from ``to()``'s arguments, either None when not given.

    As PyTorch: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``,
    ``to(tensor)`` (its device and dtype), or the keywords ``device=``,
    ``dtype=`` (``non_blocking=`` is accepted and ignored). ``device`` is a
    checked string (:func:`parse_device`), ``dtype`` a ``numpy.dtype``.
    """
    from .tensor import Tensor

    kwargs = dict(kwargs)
    target = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    if len(args) > 2:
        raise TypeError(f"to() takes at most 2 positional arguments, got {len(args)}")
    for arg in args:
        if isinstance(arg, Tensor):
            target, dtype = arg.device, arg.dtype
        elif isinstance(arg, device) or (isinstance(arg, str)
                                         and arg.split(":")[0] in ("cpu", "cuda")):
            target = arg
        else:
            dtype = arg
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"to(): expected a device ('cpu', 'cuda', 'cuda:N') or a dtype, "
                            f"got {dtype!r}") from None
    if target is not None:
        parse_device(target)  # raises, naming the value, unless cpu / cuda / cuda:N
        target = str(target)
    return target, dtype


class ToDevice(Function):
    """``y = x`` on another device;  ``dL/dx = g`` moved back to ``x``'s device."""

    @staticmethod
    def forward(ctx, x, *, kind, index):
        ctx.source = ("cuda", x.device.id) if is_cupy_array(x) else ("cpu", 0)
        return _move(x, kind, index)

    @staticmethod
    def backward(ctx, grad_out):
        return _move(grad_out, *ctx.source)


def _move(array, kind, index):
    if kind == "cpu":
        return array.get() if is_cupy_array(array) else array
    import cupy

    with cupy.cuda.Device(index):
        return cupy.asarray(array)


def to_device(tensor, target):
    """``tensor`` on the device ``target`` (itself if already there)."""
    kind, index = parse_device(target)
    on_gpu = is_cupy_array(tensor.data)
    if kind == "cpu" and not on_gpu:
        return tensor
    if kind == "cuda":
        reason = cuda_unavailable_reason()
        if reason is not None:
            raise DeviceUnavailableError(f"to('{target}'): {reason}")
        if on_gpu and tensor.data.device.id == index:
            return tensor
    return ToDevice.apply(tensor, kind=kind, index=index)
