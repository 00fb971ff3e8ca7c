"""The GPU path of the kernel-backed operators: glue between the Functions and ``kernels/``.

On CuPy arrays the Functions of :mod:`minicnn.ops` hand their work to
minicnn's own CUDA kernels (``kernels/``, Numba CUDA, installed as
``minicnn._kernels``); their NumPy formulas stay the reference. Each function
here takes the array module ``xp`` first, allocates the outputs with it, makes
the inputs C-contiguous (the kernels index with C strides) and calls the
launchers. ``xp`` is ``cupy`` on a GPU; under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``) it is ``numpy`` and NumPy arrays stand in for
device arrays, which is how CI runs this file without a GPU
(``tests/kernels/test_gpu_dispatch_sim.py``).

==========================================  ==================  ===========================
glue                                        kernels             NumPy twin (the reference)
==========================================  ==================  ===========================
hardswish_forward / _backward               activation          activation.Hardswish
hardsigmoid_forward / _backward             activation          activation.Hardsigmoid
channel_shuffle_forward / _backward         shuffle             shuffle.ChannelShuffle
batch_norm_forward / _backward (training)   batchnorm           norm.BatchNorm
max_pool2d_forward / _backward              maxpool             pooling.MaxPool2d
channel_scale_forward / _backward           se                  channel_scale.ChannelScale
conv2d_forward / _grad_input / _grad_weight im2col, depthwise   conv (_conv_im2col,
                                            (+ cuBLAS matmul)   _conv_depthwise)
unfold_forward, fold_forward                im2col              fold (_conv_im2col.im2col,
                                                                col2im)
==========================================  ==================  ===========================

The kernels serve float32 and float64 (:func:`serves`); other dtypes (float16)
take the CuPy formulation of the NumPy twin. The kernel package is imported
on the first call, never before: importing ``numba.cuda`` fixes, for the
whole process, whether Numba targets the GPU or the simulator.
"""
import functools
import importlib
import importlib.util
from pathlib import Path

import numpy as np

__all__ = [
    "hardswish_forward", "hardswish_backward", "hardsigmoid_forward", "hardsigmoid_backward",
    "channel_shuffle_forward", "channel_shuffle_backward", "batch_norm_forward",
    "batch_norm_backward", "max_pool2d_forward", "max_pool2d_backward", "channel_scale_forward",
    "channel_scale_backward", "conv2d_forward", "conv2d_grad_input", "conv2d_grad_weight",
    "unfold_forward", "fold_forward",
]

#: Block sizes handed to the launchers; None keeps each launcher's default.
#: The simulator tests set small ones (the simulator runs every CUDA thread as
#: a Python thread, so a 256-thread block of a tiny array mostly idles, slowly;
#: small blocks also give several blocks and partial last blocks).
ELEMENTWISE_THREADS = None  # elementwise kernels (any int in [1, 1024])
REDUCE_THREADS = None  # block-reduction kernels (a power of two <= 256)
BN_CHUNK = None  # values of one channel per batch-norm statistics block
#: Largest im2col column matrix built at once, in bytes: the batch is processed in
#: chunks of whole images under it (a 3x3 conv of 128 x 64 x 224 x 224 images has
#: 14.8 GB of columns; a few hundred MB per product still keeps cuBLAS busy).
COLUMN_BYTES = 256 * 2**20

_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def serves(*arrays) -> bool:
    """True when the kernels can take ``arrays`` (float32 or float64, one dtype)."""
    dtype = arrays[0].dtype
    return dtype in _KERNEL_DTYPES and all(a.dtype == dtype for a in arrays[1:])


# ------------------------------------------------------------------ loading
@functools.cache
def _package() -> str:
    """``kernels`` when it is this checkout's ``kernels/`` folder, else ``minicnn._kernels``.

    In a checkout the kernels are the top-level ``kernels`` package (what the
    kernel tests import, so both share one set of compiled kernels); an
    installed wheel ships them as ``minicnn._kernels``. A ``kernels`` package
    from anywhere else is never taken.
    """
    checkout = Path(__file__).resolve().parents[2] / "kernels" / "__init__.py"
    try:
        spec = importlib.util.find_spec("kernels")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin and Path(spec.origin).resolve() == checkout:
        return "kernels"
    return "minicnn._kernels"


def kernel_module(name):
    """The kernel module ``name`` (``"activation"``, ``"batchnorm"``, ...)."""
    return importlib.import_module(f"{_package()}.{name}")


def kernel_package():
    """The kernel package itself (its ``MODULES`` lists the kernel modules)."""
    return importlib.import_module(_package())


def _stream(xp):
    """CuPy's current stream as a Numba stream, so kernels queue behind CuPy's work.

    None (the launchers' ``stream=0``) for CuPy's default (null) stream, which
    is Numba's default stream too, and under the simulator.
    """
    if xp is np:
        return None
    pointer = xp.cuda.get_current_stream().ptr
    if not pointer:
        return None
    from numba import cuda

    return cuda.external_stream(pointer)


def _options(xp, threads=None, chunk=False):
    """Keyword arguments for a launcher: block size, stream and (batch norm) chunk."""
    options = {}
    if threads is not None:
        options["threads"] = threads
    if chunk and BN_CHUNK is not None:
        options["chunk"] = BN_CHUNK
    stream = _stream(xp)
    if stream is not None:
        options["stream"] = stream
    return options


def _contiguous(xp, *arrays):
    """The arrays as C-contiguous arrays (no copy when they already are)."""
    return [xp.ascontiguousarray(a) for a in arrays]


# ------------------------------------------------------------- activations
def _elementwise(xp, launcher, x, grad_out=None):
    if grad_out is None:
        (x,) = _contiguous(xp, x)
        out = xp.empty_like(x)
        launcher(x, out, **_options(xp, ELEMENTWISE_THREADS))
    else:
        x, grad_out = _contiguous(xp, x, grad_out)
        out = xp.empty_like(x)
        launcher(x, grad_out, out, **_options(xp, ELEMENTWISE_THREADS))
    return out


def hardswish_forward(xp, x):
    """``x * min(max(x + 3, 0), 6) / 6`` (kernels/activation.py)."""
    return _elementwise(xp, kernel_module("activation").hardswish_forward, x)


def hardswish_backward(xp, x, grad_out):
    """``grad_out * hardswish'(x)``, PyTorch's kink values (kernels/activation.py)."""
    return _elementwise(xp, kernel_module("activation").hardswish_backward, x, grad_out)


def hardsigmoid_forward(xp, x):
    """``min(max(x + 3, 0), 6) / 6`` (kernels/activation.py)."""
    return _elementwise(xp, kernel_module("activation").hardsigmoid_forward, x)


def hardsigmoid_backward(xp, x, grad_out):
    """``grad_out / 6`` on ``-3 < x < 3``, else 0 (kernels/activation.py)."""
    return _elementwise(xp, kernel_module("activation").hardsigmoid_backward, x, grad_out)


# ----------------------------------------------------------------- shuffle
def channel_shuffle_forward(xp, x, groups):
    """``x`` (N, C, *) with its channels shuffled between ``groups`` groups (kernels/shuffle.py)."""
    (x,) = _contiguous(xp, x)
    out = xp.empty_like(x)
    kernel_module("shuffle").channel_shuffle(x, out, groups, **_options(xp, ELEMENTWISE_THREADS))
    return out


def channel_shuffle_backward(xp, grad_out, groups):
    """The inverse shuffle of ``grad_out`` (a shuffle with ``C / groups`` groups)."""
    (grad_out,) = _contiguous(xp, grad_out)
    grad_in = xp.empty_like(grad_out)
    kernel_module("shuffle").channel_shuffle_backward(grad_out, grad_in, groups,
                                                      **_options(xp, ELEMENTWISE_THREADS))
    return grad_in


# -------------------------------------------------------------- batch norm
def _affine_vectors(xp, weight, bias, channels, dtype):
    """``weight``/``bias``, with ones/zeros standing in for absent ones (the kernels need both)."""
    weight = xp.ones(channels, dtype=dtype) if weight is None else xp.ascontiguousarray(weight)
    bias = xp.zeros(channels, dtype=dtype) if bias is None else xp.ascontiguousarray(bias)
    return weight, bias


def _bn_workspace(xp, batchnorm, x):
    """The float64 (2, C, chunks) scratch of the reduction kernels, from ``xp``'s allocator."""
    chunk = batchnorm.DEFAULT_CHUNK if BN_CHUNK is None else BN_CHUNK
    return xp.empty(batchnorm.workspace_shape(tuple(x.shape), chunk), dtype=np.float64)


def batch_norm_forward(xp, x, weight, bias, eps):
    """Training batch norm of ``x`` (N, C, *): ``(out, mean, var, inv_std)``.

    ``mean``, biased ``var`` and ``inv_std = 1/sqrt(var + eps)`` are (C,) in
    ``x``'s dtype (what the running statistics and the backward need);
    ``weight``/``bias`` (C,) or None. Kernels: ``batchnorm_stats`` (chunked
    two-pass statistics) then ``batchnorm_forward``.
    """
    batchnorm = kernel_module("batchnorm")
    (x,) = _contiguous(xp, x)
    channels = x.shape[1]
    mean, var, inv_std = (xp.empty(channels, dtype=x.dtype) for _ in range(3))
    batchnorm.batchnorm_stats(x, mean, var, inv_std, eps, workspace=_bn_workspace(xp, batchnorm, x),
                              **_options(xp, REDUCE_THREADS, chunk=True))
    weight, bias = _affine_vectors(xp, weight, bias, channels, x.dtype)
    out = xp.empty_like(x)
    batchnorm.batchnorm_forward(x, mean, inv_std, weight, bias, out,
                                **_options(xp, ELEMENTWISE_THREADS))
    return out, mean, var, inv_std


def batch_norm_backward(xp, grad_out, x, mean, inv_std, weight, needs_input_grad=(True,) * 3):
    """Training backward: ``(grad_x, grad_weight, grad_bias)`` (None where not needed).

    ``grad_bias = sum g`` and ``grad_weight = sum g * xhat`` per channel come
    from one reduction (``batchnorm_backward_reduce``); ``grad_x`` (the
    projection formula of :class:`~minicnn.ops.norm.BatchNorm`) from the
    elementwise ``batchnorm_backward_input``.
    """
    batchnorm = kernel_module("batchnorm")
    needs_x, needs_w, needs_b = needs_input_grad
    grad_out, x = _contiguous(xp, grad_out, x)
    channels = x.shape[1]
    sum_g, sum_g_xhat = (xp.empty(channels, dtype=x.dtype) for _ in range(2))
    batchnorm.batchnorm_backward_reduce(grad_out, x, mean, inv_std, sum_g, sum_g_xhat,
                                        workspace=_bn_workspace(xp, batchnorm, x),
                                        **_options(xp, REDUCE_THREADS, chunk=True))
    grad_x = None
    if needs_x:
        weight, _ = _affine_vectors(xp, weight, None, channels, x.dtype)
        grad_x = xp.empty_like(x)
        batchnorm.batchnorm_backward_input(grad_out, x, mean, inv_std, weight, sum_g, sum_g_xhat,
                                           grad_x, **_options(xp, ELEMENTWISE_THREADS))
    return grad_x, sum_g_xhat if needs_w else None, sum_g if needs_b else None


# ---------------------------------------------------------------- max pool
def _as_nchw(array):
    """(C, H, W) -> (1, C, H, W); (N, C, H, W) as it is."""
    return array.reshape((1,) * (4 - array.ndim) + tuple(array.shape))


def max_pool2d_forward(xp, x, kernel_size, stride, padding, dilation, out_size):
    """``(out, indices)`` for ``x`` (N, C, H, W) or (C, H, W) (kernels/maxpool.py).

    Pairs ``kernel_size``, ``stride``, ``padding`` (symmetric), ``dilation``,
    ``out_size`` = (Ho, Wo) (floor or ceil mode: the caller's output size).
    ``indices``: int64 flat positions ``h*W + w`` of each maximum in its plane.
    """
    maxpool = kernel_module("maxpool")
    (x4,) = _contiguous(xp, _as_nchw(x))
    shape = tuple(x4.shape[:2]) + tuple(out_size)
    out = xp.empty(shape, dtype=x.dtype)
    indices = xp.empty(shape, dtype=np.int64)
    maxpool.maxpool_forward(x4, out, indices, kernel_size, stride, padding, dilation,
                            **_options(xp, ELEMENTWISE_THREADS))
    leading = tuple(x.shape[:-2])
    return out.reshape(leading + tuple(out_size)), indices.reshape(leading + tuple(out_size))


def max_pool2d_backward(xp, grad_out, indices, input_shape, kernel_size, stride, padding,
                        dilation):
    """``dL/dx`` of ``input_shape``: each window's gradient to its argmax (gathered, no atomics).

    A window of padding only (possible with dilation) passes no gradient, as
    in :class:`~minicnn.ops.pooling.MaxPool2d`: an input pixel gathers only
    from the windows that contain it, so the nominal index PyTorch gives such
    a window (past the row end, naming the next row's pixel) is never matched.
    """
    maxpool = kernel_module("maxpool")
    grad4, indices4 = _contiguous(xp, _as_nchw(grad_out), _as_nchw(indices))
    grad_in = xp.empty(tuple(grad4.shape[:2]) + tuple(input_shape[-2:]), dtype=grad_out.dtype)
    maxpool.maxpool_backward(grad4, indices4, grad_in, kernel_size, stride, padding, dilation,
                             **_options(xp, ELEMENTWISE_THREADS))
    return grad_in.reshape(tuple(input_shape))


# ----------------------------------------------------------- channel scale
def channel_scale_forward(xp, x, scale):
    """``x[n, c, *] * scale[n, c]``; ``scale`` (N, C) or (N, C, 1, ..., 1) (kernels/se.py)."""
    x, scale = _contiguous(xp, x, scale)
    out = xp.empty_like(x)
    kernel_module("se").se_scale(x, scale, out, **_options(xp, ELEMENTWISE_THREADS))
    return out


def channel_scale_backward(xp, grad_out, x, scale, needs_input_grad=(True, True)):
    """``(grad_x, grad_scale)``: ``g * scale[n, c]`` and ``sum_* g * x`` (scale's shape)."""
    se = kernel_module("se")
    needs_x, needs_scale = needs_input_grad
    grad_out, x, scale = _contiguous(xp, grad_out, x, scale)
    grad_x = grad_scale = None
    if needs_x:  # the forward kernel applied to g
        grad_x = xp.empty_like(grad_out)
        se.se_scale(grad_out, scale, grad_x, **_options(xp, ELEMENTWISE_THREADS))
    if needs_scale:
        grad_scale = xp.empty_like(scale)
        se.se_grad_scale(grad_out, x, grad_scale, **_options(xp, REDUCE_THREADS))
    return grad_x, grad_scale


# -------------------------------------------------------------- convolution
# Geometry as minicnn.ops.conv passes it: stride, dilation pairs; padding
# ((top, bottom), (left, right)); the output size fixes the bottom/right padding,
# so the kernels take only (top, left).
def _top_left(padding):
    return padding[0][0], padding[1][0]


def _depthwise(channels, weight_shape, groups):
    from .conv import _is_depthwise  # the CPU path's own test (conv imports this module)

    return _is_depthwise(channels, weight_shape, groups)


def _no_im2col(kernel_size, stride, padding, in_size, out_size):
    """A 1x1, stride-1, unpadded kernel reads each pixel once: x is its own column matrix."""
    return (tuple(kernel_size) == (1, 1) and tuple(stride) == (1, 1)
            and tuple(in_size) == tuple(out_size) and padding == ((0, 0), (0, 0)))


def _image_chunks(n_batch, bytes_per_image):
    images = max(1, min(n_batch, COLUMN_BYTES // max(bytes_per_image, 1)))
    return [(n0, min(n_batch, n0 + images)) for n0 in range(0, n_batch, images)]


def _columns(xp, im2col, x, kernel_size, stride, padding, dilation, out_size):
    """The column matrix of images ``x`` (nb, C, H, W): (nb, C*kH*kW, Ho*Wo)."""
    n_batch, channels = x.shape[:2]
    length = out_size[0] * out_size[1]
    if _no_im2col(kernel_size, stride, padding, x.shape[2:], out_size):
        return x.reshape(n_batch, channels, length)
    cols = xp.empty((n_batch, channels * kernel_size[0] * kernel_size[1], length), dtype=x.dtype)
    im2col.im2col(x, cols, kernel_size, stride, _top_left(padding), dilation, out_size,
                  **_options(xp, ELEMENTWISE_THREADS))
    return cols


def _add_bias(y, bias):
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def conv2d_forward(xp, x, weight, bias, stride, padding, dilation, groups, out_size):
    """``y`` (N, Co, Ho, Wo) of conv2d (see :class:`~minicnn.ops.conv.Conv2d`).

    Depthwise (``groups == C``): ``kernels/depthwise.py``, one thread per
    output. Otherwise per chunk of images: ``kernels/im2col.py`` builds the
    columns and cuBLAS (``xp.matmul``) multiplies
    ``(G, Co/G, K) @ (nb, G, K, Ho*Wo)`` straight into ``y``.
    """
    x, weight = _contiguous(xp, x, weight)
    n_batch, channels = x.shape[:2]
    out_channels, group_channels, k_h, k_w = weight.shape
    y = xp.empty((n_batch, out_channels) + tuple(out_size), dtype=x.dtype)
    if _depthwise(channels, weight.shape, groups):
        kernel_module("depthwise").depthwise_forward(
            x, weight, y, stride, _top_left(padding), dilation, **_options(xp, ELEMENTWISE_THREADS))
        return _add_bias(y, bias)
    im2col = kernel_module("im2col")
    k = group_channels * k_h * k_w
    length = out_size[0] * out_size[1]
    w = weight.reshape(groups, out_channels // groups, k)  # (G, Co/G, K)
    for n0, n1 in _image_chunks(n_batch, channels * k_h * k_w * length * x.itemsize):
        cols = _columns(xp, im2col, x[n0:n1], (k_h, k_w), stride, padding, dilation, out_size)
        # (G, Co/G, K) @ (nb, G, K, Ho*Wo) -> (nb, G, Co/G, Ho*Wo), a view of y's images
        xp.matmul(w, cols.reshape(n1 - n0, groups, k, length),
                  out=y[n0:n1].reshape(n1 - n0, groups, out_channels // groups, length))
    return _add_bias(y, bias)


def conv2d_grad_input(xp, grad_out, weight, input_size, stride, padding, dilation, groups):
    """conv2d's ``dL/dx`` (N, C, *input_size), the transposed convolution of ``grad_out``.

    Depthwise: ``kernels/depthwise.py`` (one thread per input pixel, gathering).
    Otherwise per chunk: ``dcols = w^T @ grad_out`` per group (cuBLAS), then
    ``kernels/im2col.py``'s col2im (one thread per input pixel, gathering; no
    atomics). Pixels no window reads (``input_size`` larger than the forward
    reads, as conv_transpose2d's output_padding asks) get zero.
    """
    grad_out, weight = _contiguous(xp, grad_out, weight)
    n_batch, out_channels, out_h, out_w = grad_out.shape
    _, group_channels, k_h, k_w = weight.shape
    channels = groups * group_channels
    grad_in = xp.empty((n_batch, channels) + tuple(input_size), dtype=grad_out.dtype)
    if _depthwise(channels, weight.shape, groups):
        kernel_module("depthwise").depthwise_grad_input(
            grad_out, weight, grad_in, stride, _top_left(padding), dilation,
            **_options(xp, ELEMENTWISE_THREADS))
        return grad_in
    im2col = kernel_module("im2col")
    k = group_channels * k_h * k_w
    length = out_h * out_w
    w_t = weight.reshape(groups, out_channels // groups, k).transpose(0, 2, 1)  # (G, K, Co/G)
    g = grad_out.reshape(n_batch, groups, out_channels // groups, length)
    direct = _no_im2col((k_h, k_w), stride, padding, input_size, (out_h, out_w))
    for n0, n1 in _image_chunks(n_batch, channels * k_h * k_w * length * grad_out.itemsize):
        # (G, K, Co/G) @ (nb, G, Co/G, Ho*Wo) -> (nb, G, K, Ho*Wo) = (nb, C*kH*kW, Ho*Wo)
        if direct:  # 1x1: the column gradient is the input gradient
            xp.matmul(w_t, g[n0:n1], out=grad_in[n0:n1].reshape(n1 - n0, groups, k, length))
            continue
        dcols = xp.matmul(w_t, g[n0:n1]).reshape(n1 - n0, channels * k_h * k_w, length)
        im2col.col2im(dcols, grad_in[n0:n1], (k_h, k_w), stride, _top_left(padding), dilation,
                      (out_h, out_w), **_options(xp, ELEMENTWISE_THREADS))
    return grad_in


def conv2d_grad_weight(xp, x, grad_out, weight_shape, stride, padding, dilation, groups):
    """conv2d's ``dL/dw`` of ``weight_shape``: ``x`` correlated with ``grad_out``.

    Depthwise: ``kernels/depthwise.py`` (one block per (channel, tap), a
    shared-memory sum). Otherwise ``sum_n grad_out[n, g] @ cols[n, g]^T``
    (cuBLAS), the columns rebuilt per chunk by ``kernels/im2col.py``.
    """
    x, grad_out = _contiguous(xp, x, grad_out)
    n_batch, channels = x.shape[:2]
    out_channels, group_channels, k_h, k_w = weight_shape
    out_size = tuple(grad_out.shape[2:])
    if _depthwise(channels, weight_shape, groups):
        grad_w = xp.empty(tuple(weight_shape), dtype=x.dtype)
        kernel_module("depthwise").depthwise_grad_weight(
            x, grad_out, grad_w, stride, _top_left(padding), dilation,
            **_options(xp, REDUCE_THREADS))
        return grad_w
    im2col = kernel_module("im2col")
    k = group_channels * k_h * k_w
    length = out_size[0] * out_size[1]
    grad_w = xp.zeros((groups, out_channels // groups, k), dtype=x.dtype)
    for n0, n1 in _image_chunks(n_batch, channels * k_h * k_w * length * x.itemsize):
        cols = _columns(xp, im2col, x[n0:n1], (k_h, k_w), stride, padding, dilation, out_size)
        cols = cols.reshape(n1 - n0, groups, k, length)
        g = grad_out[n0:n1].reshape(n1 - n0, groups, out_channels // groups, length)
        # (nb, G, Co/G, Ho*Wo) @ (nb, G, Ho*Wo, K) -> (nb, G, Co/G, K), summed over nb
        grad_w += xp.matmul(g, cols.transpose(0, 1, 3, 2)).sum(axis=0)
    return grad_w.reshape(tuple(weight_shape))  # (G, Co/G, K) = (Co, C/G, kH, kW)


# ------------------------------------------------------------ unfold / fold
def unfold_forward(xp, x, kernel_size, stride, padding, dilation, out_size):
    """F.unfold: the column matrix (N, C*kH*kW, Ho*Wo) of the whole batch (``kernels/im2col.py``;
    ``padding`` as for conv2d, ((top, bottom), (left, right)))."""
    (x,) = _contiguous(xp, x)
    return _columns(xp, kernel_module("im2col"), x, kernel_size, stride, padding, dilation,
                    out_size)


def fold_forward(xp, cols, image_size, kernel_size, stride, padding, dilation, out_size):
    """F.fold: ``cols`` (N, C*kH*kW, Ho*Wo) summed back into images (N, C, *image_size) by
    ``kernels/im2col.py``'s col2im (one thread per pixel, gathering its taps)."""
    (cols,) = _contiguous(xp, cols)
    channels = cols.shape[1] // (kernel_size[0] * kernel_size[1])
    image = xp.empty((cols.shape[0], channels) + tuple(image_size), dtype=cols.dtype)
    kernel_module("im2col").col2im(cols, image, kernel_size, stride, _top_left(padding), dilation,
                                   out_size, **_options(xp, ELEMENTWISE_THREADS))
    return image
