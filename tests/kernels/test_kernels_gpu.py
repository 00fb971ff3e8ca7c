"""Every CUDA kernel on a real GPU, launched on CuPy arrays, equals its NumPy twin.

The same checks as the simulator tests (``tests/kernels/checks.py``, same
tolerances), on the same tiny edge-case shapes with the same small block
sizes, plus realistic shapes with the launchers' default block sizes and
chunking (many blocks, full occupancy, reductions over ~100k values).

Skips, saying why, when CuPy is not installed, when no CUDA device is usable,
or in a simulator process (``NUMBA_ENABLE_CUDASIM=1``); with
``MINICNN_REQUIRE_GPU=1`` (set by ``benchmarks/gpu_check.sh``, which runs these
on a GPU machine) a missing GPU or CuPy is a failure instead.
"""
import os

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    pytest.skip("real-GPU tests: this process runs Numba's CUDA simulator", allow_module_level=True)

def _unavailable(reason):
    """Skip the module; fail instead under MINICNN_REQUIRE_GPU=1 (benchmarks/gpu_check.sh)."""
    if os.environ.get("MINICNN_REQUIRE_GPU") == "1":
        pytest.fail(f"MINICNN_REQUIRE_GPU=1 but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


try:
    import cupy
except ImportError as error:
    _unavailable(f"CuPy is not installed ({error}); on a GPU machine: "
                 f'pip install "cupy-cuda13x>=14" "numba-cuda[cu13]"')


def _device_problem():
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # noqa: BLE001 (no driver, driver too old, ...)
        return f"no usable CUDA driver/device: {type(error).__name__}: {error}"
    if count == 0:
        return "CUDA driver found but no GPU"
    try:
        from numba import cuda
        if not cuda.is_available():
            return "CuPy sees a GPU but numba.cuda does not (install numba-cuda[cu13])"
    except Exception as error:  # noqa: BLE001
        return f"numba.cuda unusable: {type(error).__name__}: {error}"
    return None


_PROBLEM = _device_problem()
if _PROBLEM:
    _unavailable(_PROBLEM)

from tests.kernels import checks  # noqa: E402
from tests.kernels.cases import DEPTHWISE_CASES, IM2COL_CASES, POOL_CASES, POOL_INPUT_KINDS, \
    SHUFFLE_CASES  # noqa: E402

ARRAYS = checks.Arrays(cupy)


def test_device_is_real():
    from numba import cuda

    from minicnn.ops._gpu import kernel_module

    assert type(kernel_module("im2col").im2col_kernel).__name__ != "FakeCUDAKernel"
    name = cuda.get_current_device().name
    print(f"GPU: {name.decode() if isinstance(name, bytes) else name}")


# ------------------------------------------------- the simulator's edge cases
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, out_size", IM2COL_CASES)
def test_im2col_edge_cases(shape, kernel, stride, padding, dilation, out_size):
    checks.check_im2col(ARRAYS, shape, kernel, stride, padding, dilation, out_size)


@pytest.mark.parametrize("shape, multiplier, kernel, stride, padding, dilation", DEPTHWISE_CASES)
def test_depthwise_edge_cases(shape, multiplier, kernel, stride, padding, dilation):
    checks.check_depthwise(ARRAYS, shape, multiplier, kernel, stride, padding, dilation)


@pytest.mark.parametrize("shape, groups", SHUFFLE_CASES)
def test_channel_shuffle_edge_cases(shape, groups):
    checks.check_shuffle(ARRAYS, shape, groups)


@pytest.mark.parametrize("shape, chunk, threads", [((3, 4, 5, 7), 16, 8), ((37, 3), 10, 4)])
def test_batchnorm_edge_cases(shape, chunk, threads):
    checks.check_batchnorm(ARRAYS, shape, chunk, threads)


def test_batchnorm_offset_variance():
    checks.check_batchnorm_offset_variance(ARRAYS, shape=(16, 4, 33, 31), chunk=4096, threads=256)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["hardswish", "hardsigmoid"])
def test_activation_edge_cases(name, dtype):
    checks.check_activation(ARRAYS, name, dtype)


def test_activation_kinks():
    checks.check_activation_kinks(ARRAYS)


@pytest.mark.parametrize("kind", POOL_INPUT_KINDS)
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, ceil_mode", POOL_CASES)
def test_maxpool_edge_cases(shape, kernel, stride, padding, dilation, ceil_mode, kind):
    checks.check_maxpool(ARRAYS, shape, kernel, stride, padding, dilation, ceil_mode, kind)


def test_maxpool_padding_only_window():
    checks.check_maxpool_padding_only_window(ARRAYS)


# ------------------------------------------- realistic shapes, default launches
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_realistic(dtype):
    checks.check_im2col(ARRAYS, (4, 16, 28, 28), (3, 3), (2, 2), (1, 1), (1, 1), None,
                        dtype=dtype, threads=(None, None))


@pytest.mark.parametrize("multiplier, kernel, stride", [(1, (3, 3), (1, 1)), (1, (5, 5), (2, 2)),
                                                        (2, (3, 3), (2, 2))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_depthwise_realistic(multiplier, kernel, stride, dtype):
    padding = (kernel[0] // 2, kernel[1] // 2)
    checks.check_depthwise(ARRAYS, (8, 32, 28, 28), multiplier, kernel, stride, padding, (1, 1),
                           dtype=dtype, threads=(None, None, None))


def test_channel_shuffle_realistic():
    checks.check_shuffle(ARRAYS, (8, 116, 28, 28), 2, threads=None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(16, 24, 56, 56), (64, 96, 7, 7), (256, 40)])
def test_batchnorm_realistic(shape, dtype):
    checks.check_batchnorm(ARRAYS, shape, None, None, dtype=dtype)


@pytest.mark.parametrize("name", ["hardswish", "hardsigmoid"])
def test_activation_realistic(name):
    checks.check_activation(ARRAYS, name, np.float32, threads=None, size=1_000_000)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_se_realistic(dtype):
    checks.check_se(ARRAYS, (16, 72, 28, 28), True, dtype, threads=(None, None))


@pytest.mark.parametrize("kind", POOL_INPUT_KINDS)
def test_maxpool_realistic(kind):
    checks.check_maxpool(ARRAYS, (8, 64, 112, 112), (3, 3), (2, 2), (1, 1), (1, 1), False, kind,
                         threads=None)


@pytest.mark.parametrize("shape", [(16, 24, 56, 56), (3, 4, 5, 7)])
def test_bn_hardswish_fused(shape):
    checks.check_bn_hardswish_fused(ARRAYS, shape, None, None)
