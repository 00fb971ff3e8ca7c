"""The launchers reject bad arguments with errors that name the argument, before launching.

The checks run on the host, so these tests need neither a GPU nor the
simulator: NumPy arrays (which have ``__array_interface__``) stand in for
device arrays, and every call here must raise before a kernel is launched
(a launch in this non-simulator process without a GPU would raise a CUDA
driver error instead, and the test would fail on the exception type or
message). Outputs are checked untouched.
"""
import os

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    pytest.skip("these checks must raise before a launch, and only outside the simulator does "
                "a stray launch fail loudly (a CUDA driver error); the main pytest process runs "
                "them, this is the simulator's child process (test_kernels_subprocess.py)",
                allow_module_level=True)

from minicnn.ops._gpu import kernel_module  # noqa: E402

im2col_k = kernel_module("im2col")
depthwise_k = kernel_module("depthwise")
shuffle_k = kernel_module("shuffle")
bn_k = kernel_module("batchnorm")
act_k = kernel_module("activation")
se_k = kernel_module("se")
pool_k = kernel_module("maxpool")


def _zeros(*shape, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


def test_im2col_rejects_wrong_cols_shape():
    x, cols = _zeros(1, 2, 5, 5), np.full((1, 18, 24), 7, dtype=np.float32)  # needs (1, 18, 25)
    with pytest.raises(ValueError, match="cols must have shape"):
        im2col_k.im2col(x, cols, 3, 1, 1, 1, (5, 5))
    assert (cols == 7).all()


def test_im2col_rejects_bad_geometry_and_dtype():
    x, cols = _zeros(1, 2, 5, 5), _zeros(1, 18, 25)
    with pytest.raises(ValueError, match="stride"):
        im2col_k.im2col(x, cols, 3, 0, 1, 1, (5, 5))
    with pytest.raises(TypeError, match="cols"):
        im2col_k.im2col(x, cols.astype(np.float64), 3, 1, 1, 1, (5, 5))
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        im2col_k.im2col(x[0], cols, 3, 1, 1, 1, (5, 5))


def test_non_contiguous_arrays_are_rejected():
    x = _zeros(1, 2, 5, 10)[:, :, :, ::2]  # strided view
    with pytest.raises(ValueError, match="x must be C-contiguous"):
        im2col_k.im2col(x, _zeros(1, 18, 25), 3, 1, 1, 1, (5, 5))


def test_non_arrays_are_rejected():
    with pytest.raises(TypeError, match="x must be a device array"):
        act_k.hardswish_forward([1.0, 2.0], _zeros(2))


def test_depthwise_rejects_bad_weight():
    x, y = _zeros(1, 3, 5, 5), _zeros(1, 3, 5, 5)
    with pytest.raises(ValueError, match="weight must have shape"):
        depthwise_k.depthwise_forward(x, _zeros(3, 2, 3, 3), y, 1, 1, 1)
    with pytest.raises(ValueError, match="weight must have shape"):
        depthwise_k.depthwise_forward(x, _zeros(4, 1, 3, 3), _zeros(1, 4, 5, 5), 1, 1, 1)
    with pytest.raises(ValueError, match="out must have shape"):
        depthwise_k.depthwise_forward(x, _zeros(6, 1, 3, 3), y, 1, 1, 1)


def test_depthwise_grad_weight_needs_power_of_two_threads():
    x, g, gw = _zeros(1, 2, 4, 4), _zeros(1, 2, 4, 4), np.full((2, 1, 3, 3), 7, np.float32)
    with pytest.raises(ValueError, match="threads must be a power of two"):
        depthwise_k.depthwise_grad_weight(x, g, gw, 1, 1, 1, threads=48)
    with pytest.raises(ValueError, match="threads"):
        depthwise_k.depthwise_grad_weight(x, g, gw, 1, 1, 1, threads=512)  # > shared array
    assert (gw == 7).all()


def test_channel_shuffle_rejects_groups_not_dividing_channels():
    x, out = _zeros(1, 6, 2, 2), np.full((1, 6, 2, 2), 7, np.float32)
    with pytest.raises(ValueError, match="groups=4 must divide"):
        shuffle_k.channel_shuffle(x, out, 4)
    with pytest.raises(ValueError, match="groups=0"):
        shuffle_k.channel_shuffle(x, out, 0)
    with pytest.raises(ValueError, match="out must have"):
        shuffle_k.channel_shuffle(x, _zeros(1, 6, 4), 2)
    assert (out == 7).all()


def test_batchnorm_rejects_mismatched_vectors_and_workspace():
    x = _zeros(2, 3, 4, 4)
    mean, var, inv_std = (np.full(3, 7, np.float32) for _ in range(3))
    with pytest.raises(ValueError, match="var must have shape"):
        bn_k.batchnorm_stats(x, mean, _zeros(4), inv_std)
    with pytest.raises(TypeError, match="inv_std"):
        bn_k.batchnorm_stats(x, mean, var, inv_std.astype(np.float64))
    with pytest.raises(ValueError, match="workspace must have shape"):
        bn_k.batchnorm_stats(x, mean, var, inv_std, workspace=_zeros(2, 3, 5, dtype=np.float64))
    with pytest.raises(ValueError, match="chunk"):
        bn_k.batchnorm_stats(x, mean, var, inv_std, chunk=0)
    with pytest.raises(ValueError, match="at least one value"):
        bn_k.batchnorm_stats(_zeros(0, 3, 4), mean, var, inv_std)
    assert (mean == 7).all() and (var == 7).all() and (inv_std == 7).all()


def test_batchnorm_workspace_shape():
    # M = 2 * 16 = 32 values per channel in chunks of 10: 4 chunks, the last partial
    assert bn_k.workspace_shape((2, 3, 4, 4), chunk=10) == (2, 3, 4)
    assert bn_k.workspace_shape((2, 3, 4, 4)) == (2, 3, 1)


def test_activation_rejects_shape_and_dtype_mismatch():
    with pytest.raises(ValueError, match="out must have shape"):
        act_k.hardswish_forward(_zeros(4), _zeros(5))
    with pytest.raises(TypeError, match="grad_in"):
        act_k.hardsigmoid_backward(_zeros(4), _zeros(4), _zeros(4, dtype=np.float64))
    with pytest.raises(TypeError, match="float32 or float64"):
        act_k.hardswish_forward(_zeros(4, dtype=np.int32), _zeros(4, dtype=np.int32))


def test_se_rejects_bad_scale():
    with pytest.raises(ValueError, match="scale must have shape"):
        se_k.se_scale(_zeros(2, 3, 4, 4), _zeros(3, 2), _zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match="grad_scale must have shape"):
        se_k.se_grad_scale(_zeros(2, 3, 4, 4), _zeros(2, 3, 4, 4), _zeros(2, 3, 2))


def test_maxpool_rejects_bad_indices_and_geometry():
    x, y = _zeros(1, 2, 6, 6), _zeros(1, 2, 3, 3)
    with pytest.raises(TypeError, match="indices must have dtype int64"):
        pool_k.maxpool_forward(x, y, _zeros(1, 2, 3, 3, dtype=np.int32), 2)
    with pytest.raises(ValueError, match="indices must have shape"):
        pool_k.maxpool_forward(x, y, _zeros(1, 2, 3, 2, dtype=np.int64), 2)
    with pytest.raises(ValueError, match="padding"):
        pool_k.maxpool_forward(x, y, _zeros(1, 2, 3, 3, dtype=np.int64), 2, padding=-1)
    with pytest.raises(ValueError, match="kernel_size"):
        pool_k.maxpool_forward(x, y, _zeros(1, 2, 3, 3, dtype=np.int64), (2, 2, 2))
