"""Rung 4: the CUDA kernels of ``kernels/`` (Numba CUDA), one GPU thread per output element.

* dense and grouped: ``kernels/im2col.py``: ``im2col_kernel`` writes every column entry
  with its own thread (so the copy that costs rung 2 a pass over memory per tap becomes
  one massively parallel gather), the product runs in cuBLAS (``cupy.matmul``), and
  ``col2im_kernel`` gives each *input* pixel a thread that gathers the column entries
  that read it (no atomics, deterministic).
* depthwise: ``kernels/depthwise.py``: the forward gives each output element a thread that
  sums its ``k_h k_w`` taps in registers (neighbouring threads read overlapping inputs,
  served by the L1/L2 caches); the input gradient gathers per input pixel; the weight
  gradient gives each ``(channel, tap)`` a block that reduces ``N H_out W_out`` products
  in shared memory.

Arrays are CuPy arrays on a GPU. Under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1`` set before Numba is first imported) the same kernels run on
NumPy arrays, one Python thread per CUDA thread: slow, but it checks the indexing on a
machine without a GPU (``tests/docs/test_ladder.py`` does, in a subprocess).
:func:`availability` says which, or why neither.
"""
import os

from ..ops._gpu import kernel_module
from .naive import out_size


def _simulated():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        return False
    import numba

    return bool(numba.config.ENABLE_CUDASIM)


def availability():
    """``(True, how)`` when the CUDA rung can run here, else ``(False, why not)``."""
    if _simulated():
        return True, "Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1): NumPy arrays, very slow"
    try:
        import cupy
    except ImportError:
        return False, ("CuPy is not installed (the CUDA rung needs an NVIDIA GPU and CuPy: "
                       "pip install 'minicnn[gpu]')")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CuPy raises its own CUDARuntimeError without a driver
        return False, f"no usable CUDA device ({type(error).__name__}: {error})"
    if count == 0:
        return False, "no CUDA device"
    try:
        kernel_module("im2col")
    except Exception as error:
        return False, f"the CUDA kernels do not load ({type(error).__name__}: {error})"
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    return True, f"CUDA device 0 ({name.decode() if isinstance(name, bytes) else name})"


def xp_for(array):
    """The array module of the CUDA rung: CuPy on a GPU, NumPy under the simulator."""
    if _simulated():
        import numpy

        return numpy
    import cupy

    return cupy


def _threads():
    """Launch sizes: the kernels' defaults on a GPU; 32 (one warp) under the simulator, which
    runs every thread of a launched block in Python, padding included."""
    return {"threads": 32} if _simulated() else {}


def _top_left(padding):
    return padding[0][0], padding[1][0]


def conv2d_forward(x, weight, stride, padding, dilation, groups):
    xp = xp_for(x)
    im2col = kernel_module("im2col")
    n_batch, channels, height, width = x.shape
    out_channels, group_channels, k_h, k_w = weight.shape
    out_hw = out_size((height, width), (k_h, k_w), stride, padding, dilation)
    cols = xp.empty((n_batch, channels * k_h * k_w, out_hw[0] * out_hw[1]), dtype=x.dtype)
    im2col.im2col(xp.ascontiguousarray(x), cols, (k_h, k_w), stride, _top_left(padding), dilation,
                  out_hw, **_threads())
    k = group_channels * k_h * k_w
    w = weight.reshape(groups, out_channels // groups, k)
    # (G, C_out/G, K) @ (N, G, K, HW) -> (N, G, C_out/G, HW), in cuBLAS
    y = xp.matmul(w, cols.reshape(n_batch, groups, k, -1))
    return y.reshape((n_batch, out_channels) + out_hw)


def conv2d_grad_weight(x, grad_out, weight_shape, stride, padding, dilation, groups):
    xp = xp_for(x)
    im2col = kernel_module("im2col")
    n_batch, channels = x.shape[:2]
    out_channels, group_channels, k_h, k_w = weight_shape
    out_hw = tuple(grad_out.shape[2:])
    cols = xp.empty((n_batch, channels * k_h * k_w, out_hw[0] * out_hw[1]), dtype=x.dtype)
    im2col.im2col(xp.ascontiguousarray(x), cols, (k_h, k_w), stride, _top_left(padding), dilation,
                  out_hw, **_threads())
    k = group_channels * k_h * k_w
    g = grad_out.reshape(n_batch, groups, out_channels // groups, -1)
    grad = xp.matmul(g, cols.reshape(n_batch, groups, k, -1).transpose(0, 1, 3, 2)).sum(axis=0)
    return grad.reshape(weight_shape)


def conv2d_grad_input(grad_out, weight, input_shape, stride, padding, dilation, groups):
    xp = xp_for(grad_out)
    im2col = kernel_module("im2col")
    n_batch = grad_out.shape[0]
    out_channels, group_channels, k_h, k_w = weight.shape
    k = group_channels * k_h * k_w
    w_t = weight.reshape(groups, out_channels // groups, k).transpose(0, 2, 1)
    g = grad_out.reshape(n_batch, groups, out_channels // groups, -1)
    dcols = xp.ascontiguousarray(xp.matmul(w_t, g).reshape(n_batch, groups * k, -1))
    grad_in = xp.empty(tuple(input_shape), dtype=grad_out.dtype)
    im2col.col2im(dcols, grad_in, (k_h, k_w), stride, _top_left(padding), dilation,
                  tuple(grad_out.shape[2:]), **_threads())
    return grad_in


def depthwise_forward(x, weight, stride, padding, dilation, out_hw):
    xp = xp_for(x)
    out = xp.empty((x.shape[0], weight.shape[0]) + tuple(out_hw), dtype=x.dtype)
    kernel_module("depthwise").depthwise_forward(xp.ascontiguousarray(x),
                                                  xp.ascontiguousarray(weight), out, stride,
                                                  _top_left(padding), dilation, **_threads())
    return out


def depthwise_grad_input(grad_out, weight, input_shape, stride, padding, dilation):
    xp = xp_for(grad_out)
    grad_in = xp.empty(tuple(input_shape), dtype=grad_out.dtype)
    kernel_module("depthwise").depthwise_grad_input(xp.ascontiguousarray(grad_out),
                                                     xp.ascontiguousarray(weight), grad_in, stride,
                                                     _top_left(padding), dilation, **_threads())
    return grad_in


def depthwise_grad_weight(x, grad_out, weight_shape, stride, padding, dilation):
    xp = xp_for(x)
    grad_w = xp.empty(tuple(weight_shape), dtype=x.dtype)
    kernel_module("depthwise").depthwise_grad_weight(xp.ascontiguousarray(x),
                                                      xp.ascontiguousarray(grad_out), grad_w,
                                                      stride, _top_left(padding), dilation,
                                                      **_threads())
    return grad_w
