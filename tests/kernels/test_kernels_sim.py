"""Every CUDA kernel, run by Numba's CUDA simulator, equals its NumPy twin.

Runs only in a process started with ``NUMBA_ENABLE_CUDASIM=1`` (Numba reads
it once, when ``numba`` is first imported); elsewhere the module is skipped.
A plain ``python -m pytest`` runs it anyway: ``test_kernels_subprocess.py``
starts such a process for this file. By hand::

    NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/kernels/test_kernels_sim.py

The simulator runs every CUDA thread as a Python thread (about 0.5 ms per
thread here), so the shapes are tiny but chosen to cover what the index
arithmetic can get wrong: partial last blocks (sizes that are not multiples
of the block size; small ``threads=`` values force several blocks and
partial reductions), strides, top/left and asymmetric padding, dilation,
kernel taps that fall outside the input at every edge, channel multipliers.

The checks themselves, and their float32 tolerances, are in
``tests/kernels/checks.py``; the real-GPU tests run the same checks on CuPy
arrays.
"""
import warnings

import numpy as np
import pytest

from tests.kernels._simulator import require_simulator

require_simulator()

from tests.kernels import checks  # noqa: E402
from minicnn.ops._gpu import kernel_module  # noqa: E402
from tests.kernels.cases import DEPTHWISE_CASES, IM2COL_CASES, POOL_CASES, POOL_INPUT_KINDS, \
    SHUFFLE_CASES  # noqa: E402
from tests.reference import kernels as ref  # noqa: E402

ARRAYS = checks.Arrays(np)  # the simulator takes NumPy arrays as device arrays


def test_running_under_the_simulator():
    from numba import cuda

    kernel = kernel_module("im2col").im2col_kernel
    assert type(kernel).__name__ == "FakeCUDAKernel", \
        "the kernels were compiled for a real GPU, not the simulator"
    assert cuda.is_available()


# ------------------------------------------------------------------ im2col
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, out_size", IM2COL_CASES)
def test_im2col_and_col2im(shape, kernel, stride, padding, dilation, out_size):
    checks.check_im2col(ARRAYS, shape, kernel, stride, padding, dilation, out_size)


def test_im2col_col2im_float64_default_threads():
    checks.check_im2col(ARRAYS, (2, 2, 6, 5), (3, 3), (2, 2), (1, 1), (1, 1), None,
                        dtype=np.float64, threads=(None, None))


# --------------------------------------------------------------- depthwise
@pytest.mark.parametrize("shape, multiplier, kernel, stride, padding, dilation", DEPTHWISE_CASES)
def test_depthwise(shape, multiplier, kernel, stride, padding, dilation):
    checks.check_depthwise(ARRAYS, shape, multiplier, kernel, stride, padding, dilation)


def test_depthwise_float64_default_threads():
    checks.check_depthwise(ARRAYS, (2, 2, 5, 4), 1, (3, 3), (1, 1), (1, 1), (1, 1),
                           dtype=np.float64, threads=(None, None, None))


# ----------------------------------------------------------------- shuffle
@pytest.mark.parametrize("shape, groups", SHUFFLE_CASES)
def test_channel_shuffle(shape, groups):
    checks.check_shuffle(ARRAYS, shape, groups)


# -------------------------------------------------------------- batch norm
# shape, chunk, threads: several chunks with a partial last one (M = 105 = 6*16 + 9),
# a block size that does not divide the chunk, the launchers' defaults, a 2-D input.
@pytest.mark.parametrize("shape, chunk, threads", [
    ((3, 4, 5, 7), 16, 8),
    ((3, 4, 5, 7), 40, 16),
    ((2, 3, 4, 4), None, None),
    ((37, 3), 10, 4),
])
def test_batchnorm(shape, chunk, threads):
    checks.check_batchnorm(ARRAYS, shape, chunk, threads)


def test_batchnorm_float64():
    checks.check_batchnorm(ARRAYS, (3, 2, 5, 3), 7, 4, dtype=np.float64, eps=1e-3)


def test_batchnorm_variance_of_offset_data_is_accurate():
    checks.check_batchnorm_offset_variance(ARRAYS)


# ------------------------------------------------------------- activations
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["hardswish", "hardsigmoid"])
def test_activation(name, dtype):
    warnings.simplefilter("ignore", RuntimeWarning)  # the simulator computes -inf * 0 in NumPy
    checks.check_activation(ARRAYS, name, dtype)


def test_activation_kinks_exact():
    checks.check_activation_kinks(ARRAYS)


# ---------------------------------------------------------------------- SE
@pytest.mark.parametrize("scale_4d", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_se_scale(scale_4d, dtype):
    # H*W = 20 summed by 8 threads: 3 strides, the last partial
    checks.check_se(ARRAYS, (2, 3, 4, 5), scale_4d, dtype)


# ---------------------------------------------------------------- max pool
@pytest.mark.parametrize("kind", POOL_INPUT_KINDS)
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, ceil_mode", POOL_CASES)
def test_maxpool(shape, kernel, stride, padding, dilation, ceil_mode, kind):
    checks.check_maxpool(ARRAYS, shape, kernel, stride, padding, dilation, ceil_mode, kind)


def test_maxpool_window_of_padding_only():
    checks.check_maxpool_padding_only_window(ARRAYS)


# ------------------------------------------------------- fused BN+hardswish
@pytest.mark.parametrize("shape, chunk, threads", [((3, 4, 5, 7), 16, 8), ((2, 3, 3, 3), 64, 32)])
def test_bn_hardswish_fused_equals_unfused(shape, chunk, threads):
    checks.check_bn_hardswish_fused(ARRAYS, shape, chunk, threads)


def test_kernels_accept_numba_device_arrays():
    """Numba device arrays (the simulator's stand-in for CuPy's __cuda_array_interface__)."""
    from numba import cuda

    x = np.random.default_rng(14).standard_normal((2, 4, 3, 3)).astype(np.float32)
    d_x, d_y = cuda.to_device(x), cuda.device_array(x.shape, np.float32)
    kernel_module("shuffle").channel_shuffle(d_x, d_y, 2)
    np.testing.assert_array_equal(d_y.copy_to_host(), ref.channel_shuffle(x, 2))
