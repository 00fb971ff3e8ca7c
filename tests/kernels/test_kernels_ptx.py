"""Every CUDA kernel compiles to PTX for compute capability 9.0 (H100/H200), without a GPU.

The simulator runs kernels as Python, so it accepts code that Numba's CUDA
compiler rejects (Python objects, unsupported functions, type-unstable
variables). This compiles each kernel for real with
``numba.cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))`` using each
module's ``SIGNATURES`` (float32, C-contiguous arrays), in this process,
which must not be in simulator mode.

Needs numba-cuda and the NVRTC and NVVM libraries (PyPI wheels, no GPU or
driver needed)::

    pip install "numba-cuda>=0.30,<0.31" "nvidia-cuda-nvrtc>=13,<14" "nvidia-nvvm>=13,<14"

Without them the tests skip and say so; with ``MINICNN_REQUIRE_PTX=1`` they
fail instead, as they do whenever ``CI`` is set (a skip there would hide a
missing install). The total
compile time is printed at the end of the pytest run (tests/kernels/conftest.py).

The kernels call ``@cuda.jit(device=True)`` functions (``kernels/_reduce.py``,
``kernels/_index.py``), which numba-cuda 0.30 compiles for the current
device's compute capability, asked of the driver; without a GPU the fixture
below stands in compute capability 9.0 (see ``_device_functions_for_sm90``).
"""
import importlib.metadata
import os
import time
import types

import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    pytest.skip("the PTX compile needs Numba's real CUDA target; this process runs the "
                "simulator (the main pytest run, without NUMBA_ENABLE_CUDASIM, compiles them)",
                allow_module_level=True)

from minicnn.ops._gpu import kernel_module, kernel_package as package  # noqa: E402
from tests.kernels.conftest import PTX_TIMES  # noqa: E402

INSTALL = ('pip install "numba-cuda>=0.30,<0.31" "nvidia-cuda-nvrtc>=13,<14" '
           '"nvidia-nvvm>=13,<14"')
COMPUTE_CAPABILITY = (9, 0)

#: Kernels whose float32 PTX must hold no float64 instruction: a stray Python
#: float literal would silently make them compute in double precision.
FLOAT32_ONLY = {
    "im2col_kernel", "channel_shuffle_kernel", "bn_forward_kernel",
    "hardsigmoid_forward_kernel", "hardsigmoid_backward_kernel", "hardswish_forward_kernel",
    "hardswish_backward_kernel", "se_scale_kernel", "maxpool_forward_kernel",
    "bn_hardswish_forward_kernel",
}


def _missing_packages():
    missing = []
    for name in ("numba-cuda", "nvidia-cuda-nvrtc", "nvidia-nvvm"):
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def _device_functions_for_sm90(monkeypatch):
    """Without a GPU, make numba-cuda compile device functions for compute capability 9.0.

    In numba-cuda 0.30 (pinned ``numba-cuda>=0.30,<0.31`` in setup.py's test
    extra), compiling a kernel that calls a ``@cuda.jit(device=True)``
    function compiles that function with ``CUDADispatcher.compile_device``,
    which reads ``get_current_device().compute_capability`` (a name imported
    into ``numba.cuda.dispatcher``); with no device (CI) that asks a driver
    that is not there and the compile fails. These tests compile every kernel
    for cc 9.0 anyway, so the stand-in device reports 9.0: the device
    functions are compiled for the same target as the kernels that inline
    them. Depends on that module attribute: if numba-cuda moves it, the
    assert below fails loudly rather than the patch silently doing nothing.
    """
    import numba.cuda.dispatcher as dispatcher

    assert hasattr(dispatcher, "get_current_device"), (
        "numba.cuda.dispatcher.get_current_device is gone: numba-cuda changed how device "
        "functions get their compute capability; update this shim (tests/kernels/"
        "test_kernels_ptx.py) for the installed numba-cuda")
    monkeypatch.setattr(dispatcher, "get_current_device",
                        lambda: types.SimpleNamespace(compute_capability=COMPUTE_CAPABILITY))


@pytest.fixture(scope="module")
def compile_ptx():
    """``numba.cuda.compile_ptx``, after a probe compile; skips (or fails) if it cannot work.

    Without a GPU, device functions are compiled for cc 9.0 while the module's
    tests run (:func:`_device_functions_for_sm90`).
    """
    from numba import cuda, float32

    def probe(a):
        a[0] = 1.0

    try:
        cuda.compile_ptx(probe, (float32[::1],), cc=COMPUTE_CAPABILITY)
    except Exception as error:  # noqa: BLE001 (any failure: decide below)
        missing = _missing_packages()
        if not missing:
            raise  # the packages are there: a real failure
        message = (f"cannot compile PTX without {', '.join(missing)} "
                   f"({type(error).__name__}); install with: {INSTALL}")
        # In CI (CI=true) the test extra is installed, so a missing package is a failure.
        if os.environ.get("MINICNN_REQUIRE_PTX") == "1" or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with pytest.MonkeyPatch.context() as monkeypatch:
        if not cuda.is_available():  # with a GPU, device functions compile as they would
            _device_functions_for_sm90(monkeypatch)
        yield cuda.compile_ptx


def _kernels():
    cases = []
    for module_name in package().MODULES:
        module = kernel_module(module_name)
        for kernel, signature in module.SIGNATURES:
            cases.append(pytest.param(module_name, kernel, signature,
                                      id=f"{module_name}.{kernel.py_func.__name__}"))
    return cases


@pytest.mark.parametrize("module_name, kernel, signature", _kernels())
def test_kernel_compiles_for_sm90(compile_ptx, module_name, kernel, signature, request):
    start = time.perf_counter()
    ptx, _ = compile_ptx(kernel.py_func, signature, cc=COMPUTE_CAPABILITY)
    request.config.stash.setdefault(PTX_TIMES, []).append(
        (f"{module_name}.{kernel.py_func.__name__}", time.perf_counter() - start))
    assert ".target sm_90" in ptx
    assert ".entry" in ptx  # a kernel entry point, not only device functions
    if kernel.py_func.__name__ in FLOAT32_ONLY:
        double = [line.strip() for line in ptx.splitlines() if ".f64" in line]
        assert not double, f"float64 instructions in a float32 kernel: {double[:3]}"


def test_every_kernel_has_a_signature():
    """A kernel missing from its module's SIGNATURES would never be compiled here."""
    for module_name in package().MODULES:
        module = kernel_module(module_name)
        listed = {kernel.py_func.__name__ for kernel, _ in module.SIGNATURES}
        defined = {name for name, obj in vars(module).items()
                   if hasattr(obj, "py_func") and obj.py_func.__module__ == module.__name__
                   and not getattr(obj, "targetoptions", {}).get("device", False)}
        assert defined, f"no kernel found in {module_name}"
        assert defined == listed, f"{module_name}: kernels without a signature: {defined - listed}"

