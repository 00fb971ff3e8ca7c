"""Moving tensors between the CPU (NumPy) and an NVIDIA GPU (CuPy).

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


def parse_device(device) -> tuple:
    """``'cpu'``, ``'cuda'``, ``'cuda:1'`` -> (kind, index)."""
    text = str(device)
    kind, _, index = text.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()) or (kind == "cpu" and index):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return kind, int(index) if index else 0


def parse_to_args(args, kwargs):
    """``(device, dtype)`` from ``to()``'s arguments, either None when not given.

    As PyTorch: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``,
    ``to(tensor)`` (its device and dtype), or the keywords ``device=``,
    ``dtype=`` (``non_blocking=`` is accepted and ignored). ``device`` is a
    checked string (:func:`parse_device`), ``dtype`` a ``numpy.dtype``.
    """
    from .tensor import Tensor

    kwargs = dict(kwargs)
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    if len(args) > 2:
        raise TypeError(f"to() takes at most 2 positional arguments, got {len(args)}")
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda"):
            device = arg
        else:
            dtype = arg
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"to(): expected a device ('cpu', 'cuda', 'cuda:N') or a dtype, "
                            f"got {dtype!r}") from None
    if device is not None:
        parse_device(device)  # raises, naming the value, unless cpu / cuda / cuda:N
        device = str(device)
    return device, dtype


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


def to_device(tensor, device):
    """``tensor`` on ``device`` (itself if already there)."""
    kind, index = parse_device(device)
    on_gpu = is_cupy_array(tensor.data)
    if kind == "cpu" and not on_gpu:
        return tensor
    if kind == "cuda":
        reason = cuda_unavailable_reason()
        if reason is not None:
            raise DeviceUnavailableError(f"to('{device}'): {reason}")
        if on_gpu and tensor.data.device.id == index:
            return tensor
    return ToDevice.apply(tensor, kind=kind, index=index)
