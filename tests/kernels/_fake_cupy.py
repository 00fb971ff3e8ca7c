"""A stand-in for CuPy under Numba's CUDA simulator: NumPy arrays that say they are CuPy's.

``test_gpu_dispatch_sim.py`` installs this module as ``cupy`` (in
``sys.modules``, for one test at a time) to run the GPU branch of
``tests/test_devices.py`` without a GPU: ``Tensor.to('cuda')`` then yields
arrays of :class:`ndarray`, a NumPy subclass whose ``type(...).__module__`` is
``"cupy"``, so minicnn takes every GPU code path (device moves, the operators'
dispatch to ``_gpu.py``, the simulated kernels, which accept NumPy memory).

It mimics only what those paths use: the NumPy namespace (each function's
array results come back as :class:`ndarray`), ``asarray``/``asnumpy``,
``ndarray.get()``/``.device.id``, ``cuda.Device``, ``cuda.runtime`` and
``cuda.get_current_stream``. It says nothing about CuPy's own API: that is
what the real-GPU runs check.
"""
import types

import numpy as _np


class ndarray(_np.ndarray):  # noqa: N801 (CuPy's name)
    """A NumPy array that minicnn takes for a CuPy array on device 0."""

    device = types.SimpleNamespace(id=0)

    def get(self):
        """Copy to the host, as ``cupy.ndarray.get``."""
        return _np.array(self).view(_np.ndarray)


ndarray.__module__ = "cupy"  # what minicnn.backend.is_cupy_array looks at


def _on_device(result):
    if isinstance(result, _np.ndarray) and not isinstance(result, ndarray):
        return result.view(ndarray)
    return result


def __getattr__(name):
    """NumPy's function ``name``, its array results returned as :class:`ndarray`."""
    attr = getattr(_np, name)
    if not callable(attr) or isinstance(attr, type):
        return attr

    def function(*args, **kwargs):
        result = attr(*args, **kwargs)
        if isinstance(result, tuple):
            return tuple(_on_device(r) for r in result)
        return _on_device(result)

    return function


def asarray(array, dtype=None):
    """A device copy of a host array (CuPy copies host memory to the GPU)."""
    if isinstance(array, ndarray):
        return array if dtype is None else array.astype(dtype)
    return _np.array(array, dtype=dtype).view(ndarray)


def asnumpy(array):
    return _np.array(array).view(_np.ndarray)


class _Device:
    def __init__(self, index=0):
        self.id = index

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


cuda = types.SimpleNamespace(
    Device=_Device,
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
    get_current_stream=lambda: types.SimpleNamespace(ptr=0),  # the null stream
)
