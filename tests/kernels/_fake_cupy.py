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
``cuda.get_current_stream``.

It is strict where CuPy is: a host (NumPy) array never mixes with a device
array. CuPy refuses a ``numpy.ndarray`` operand in its ufuncs and functions
(``TypeError``), so here a NumPy ufunc or function (``np.add``, ``np.sum``,
``np.concatenate``, ...; CuPy serves those through ``__array_ufunc__`` /
``__array_function__``) given both kinds raises ``TypeError`` too. Code that
pulls a device array to the host by accident (``np.asarray(x)``, which this
NumPy subclass cannot forbid) then fails at the next operation with a device
array, or leaves a result on the host, which the device tests catch.
Otherwise it says nothing about CuPy's own API: the static scan in
``tests/test_devices.py`` (where CuPy is installed) and the real-GPU runs
check that.
"""
import types

import numpy as _np


class ndarray(_np.ndarray):  # noqa: N801 (CuPy's name)
    """A NumPy array that minicnn takes for a CuPy array on device 0."""

    device = types.SimpleNamespace(id=0)

    def get(self):
        """Copy to the host, as ``cupy.ndarray.get``."""
        return _np.array(self).view(_np.ndarray)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _refuse_host_arrays(f"{ufunc.__name__}.{method}", (inputs, kwargs))
        inputs = tuple(_host_view(a) for a in inputs)
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_host_view(a) for a in out)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _on_device(result)

    def __array_function__(self, func, types, args, kwargs):
        _refuse_host_arrays(func.__name__, (args, kwargs))
        # NumPy runs on plain views (its internals mix in host temporaries, as CuPy's do not)
        result = func(*_host_views(args), **dict(zip(kwargs, _host_views(kwargs.values()))))
        out = kwargs.get("out")
        return out if out is not None else _on_device(result)

    def __getitem__(self, index):  # CuPy gives a 0-d array where NumPy gives a scalar
        return _on_device(super().__getitem__(index))


def _refuse_host_arrays(name, arguments):
    """TypeError if ``arguments`` (nested tuples, lists, dicts) hold a host array."""
    pending = [arguments]
    while pending:
        item = pending.pop()
        if isinstance(item, (tuple, list)):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, _np.ndarray) and not isinstance(item, ndarray):
            raise TypeError(f"stand-in CuPy: {name} was given a host numpy.ndarray "
                            f"{item.shape} {item.dtype} next to device arrays (CuPy refuses "
                            f"NumPy operands; move it with cupy.asarray)")


def _host_view(array):
    return array.view(_np.ndarray) if isinstance(array, ndarray) else array


def _host_views(values):
    """``values`` with stand-in arrays (also inside lists and tuples) as plain NumPy views."""
    return [type(v)(_host_views(v)) if isinstance(v, (list, tuple)) else _host_view(v)
            for v in values]


ndarray.__module__ = "cupy"  # what minicnn.backend.is_cupy_array looks at


def _on_device(result):
    """NumPy's result as CuPy's: arrays (and scalars, which CuPy returns as 0-d arrays)
    on the device; tuples and lists element by element."""
    if isinstance(result, (tuple, list)):
        return type(result)(_on_device(r) for r in result)
    if isinstance(result, _np.generic):
        return _np.asarray(result).view(ndarray)
    if isinstance(result, _np.ndarray) and not isinstance(result, ndarray):
        return result.view(ndarray)
    return result


def _device_attribute(namespace, name):
    """``namespace.name`` (NumPy or a NumPy submodule) as CuPy has it: functions return
    device arrays, submodules (``lib.stride_tricks``, ``linalg``) wrap theirs alike."""
    attr = getattr(namespace, name)
    if isinstance(attr, types.ModuleType):
        return _Submodule(attr)
    if isinstance(attr, _np.ufunc):
        return _Ufunc(attr)
    if name in ("ogrid", "mgrid"):  # index-grid objects: cupy.ogrid[...] gives device arrays
        return _IndexGrid(attr)
    if not callable(attr) or isinstance(attr, type):
        return attr
    return _device_function(attr, name)


def _device_function(attr, name):
    """``attr`` (a NumPy function) taking and returning device arrays only."""
    def function(*args, **kwargs):
        _refuse_host_arrays(name, (args, kwargs))  # CuPy's functions take no NumPy arrays
        return _on_device(attr(*_host_views(args), **dict(zip(kwargs,
                                                              _host_views(kwargs.values())))))

    function.__name__ = name
    return function


class _Ufunc:
    """A NumPy ufunc as CuPy's: called, or ``.at`` (CuPy >= 13 has ``ufunc.at``; the
    scatter-add of integer-array indexing backward uses ``add.at``), on device arrays only."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _device_function(self._ufunc, self.__name__)(*args, **kwargs)

    def at(self, a, indices, b=None):
        _refuse_host_arrays(f"{self.__name__}.at", (a, indices, b))
        args = (b,) if b is not None else ()
        self._ufunc.at(_host_view(a), *_host_views([indices]), *_host_views(args))


class _IndexGrid:
    def __init__(self, grid):
        self._grid = grid

    def __getitem__(self, key):
        return _on_device(self._grid[key])


class _Submodule:
    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return _device_attribute(self._module, name)


def __getattr__(name):
    """NumPy's ``name``, its array results returned as :class:`ndarray`."""
    return _device_attribute(_np, name)


def asarray(array, dtype=None):
    """A device copy of a host array (CuPy copies host memory to the GPU)."""
    if isinstance(array, ndarray):
        return array if dtype is None else array.astype(dtype)
    return _np.array(array, dtype=dtype).view(ndarray)


def array(obj, dtype=None, copy=True):
    """A device copy of ``obj`` (host or device), as ``cupy.array``."""
    if isinstance(obj, ndarray) and not copy:
        return asarray(obj, dtype)
    return _np.array(_host_view(obj), dtype=dtype).view(ndarray)


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
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1, deviceSynchronize=lambda: None),
    get_current_stream=lambda: types.SimpleNamespace(ptr=0),  # the null stream
)


def _erf(x):
    """``cupyx.scipy.special.erf``: minicnn's own float erf (what the CPU path uses)."""
    from minicnn.ops._activation_erf import erf

    return _on_device(erf(_host_view(x)))


#: Stand-ins for the ``cupyx`` modules minicnn imports (install in ``sys.modules``).
CUPYX_MODULES = {
    "cupyx": types.SimpleNamespace(),
    "cupyx.scipy": types.SimpleNamespace(),
    "cupyx.scipy.special": types.SimpleNamespace(erf=_erf),
}
CUPYX_MODULES["cupyx"].scipy = CUPYX_MODULES["cupyx.scipy"]
CUPYX_MODULES["cupyx.scipy"].special = CUPYX_MODULES["cupyx.scipy.special"]


def install(monkeypatch):
    """Make this module ``cupy`` (and its ``cupyx`` stand-ins) for one test, with Numba's
    CUDA target reported available, so ``minicnn.cuda.is_available()`` is True and
    ``Tensor.to('cuda')`` gives stand-in device arrays."""
    import sys

    from numba import cuda as numba_cuda

    monkeypatch.setitem(sys.modules, "cupy", sys.modules[__name__])
    for name, module in CUPYX_MODULES.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(numba_cuda, "is_available", lambda: True)
