"""Kernel-against-twin checks, shared by the simulator tests and the real-GPU tests.

Each ``check_*`` runs one kernel family's launchers on arrays held by an
:class:`Arrays` backend (NumPy arrays under Numba's CUDA simulator, CuPy
arrays on a GPU) and compares the results with the NumPy twins of
``tests/reference/kernels.py``. The kernel modules are imported on first
use, so importing this file does not decide Numba's target.

Every output is pre-filled with NaN (indices with -7), so an element a
kernel forgets to write fails the comparison.

Tolerances (float32 kernels against float64 twins fed the same float32
inputs): data movement (im2col, channel shuffle, max-pool values and
indices) must be exact. Sums accumulate in float64 and round once, and
elementwise formulas round at each float32 operation, so results agree to a
few float32 ulps: ``rtol=1e-5`` (float32 epsilon is 1.2e-7; 1e-5 leaves room
for the handful of rounded operations per element) with ``atol=1e-5`` for
entries that cancel to ~0; reductions over ``M`` terms of size O(1) get an
``atol`` of ``1e-6 * sqrt(M)`` (the typical size of such a sum's rounding).
float64 runs use ``rtol = atol = 1e-12``.
"""
import numpy as np

from minicnn.ops._gpu import kernel_module
from tests.kernels.cases import conv_out_size, pool_input, pool_out_size
from tests.reference import kernels as ref

F32 = dict(rtol=1e-5, atol=1e-5)
F64 = dict(rtol=1e-12, atol=1e-12)


def _tol(dtype):
    return F32 if np.dtype(dtype) == np.float32 else F64


def _sum_tol(dtype, terms):
    """Tolerance for sums of ``terms`` O(1) values."""
    if np.dtype(dtype) == np.float64:
        return F64
    return dict(rtol=1e-5, atol=1e-6 * np.sqrt(terms))


def _rng(seed):
    return np.random.default_rng(seed)


class Arrays:
    """Where the kernels' arrays live: ``numpy`` (simulator) or ``cupy`` (GPU)."""

    def __init__(self, xp):
        self.xp = xp

    def put(self, array):
        return self.xp.asarray(array)

    def nan(self, shape, dtype=np.float32):
        return self.xp.full(shape, np.nan, dtype=dtype)

    def get(self, array):
        return array if self.xp is np else self.xp.asnumpy(array)


def _threads(value):
    return {} if value is None else {"threads": value}


# ------------------------------------------------------------------ im2col
def check_im2col(arrays, shape, kernel, stride, padding, dilation, out_size, dtype=np.float32,
                 threads=(64, 32)):
    im2col_k = kernel_module("im2col")
    rng = _rng(0)
    if out_size is None:
        out_size = conv_out_size(shape[2:], kernel, stride, padding, dilation)
    x = rng.standard_normal(shape).astype(dtype)
    cols = arrays.nan((shape[0], shape[1] * kernel[0] * kernel[1], out_size[0] * out_size[1]),
                      dtype)
    im2col_k.im2col(arrays.put(x), cols, kernel, stride, padding, dilation, out_size,
                    **_threads(threads[0]))
    expected = ref.im2col(x, kernel, stride, padding, dilation, out_size).astype(dtype)
    np.testing.assert_array_equal(arrays.get(cols), expected)
    g = rng.standard_normal(cols.shape).astype(dtype)
    x_grad = arrays.nan(shape, dtype)
    im2col_k.col2im(arrays.put(g), x_grad, kernel, stride, padding, dilation, out_size,
                    **_threads(threads[1]))
    expected = ref.col2im(g, shape, kernel, stride, padding, dilation, out_size)
    np.testing.assert_allclose(arrays.get(x_grad), expected, **_tol(dtype))


# --------------------------------------------------------------- depthwise
def check_depthwise(arrays, shape, multiplier, kernel, stride, padding, dilation,
                    dtype=np.float32, threads=(64, 64, 16)):
    depthwise_k = kernel_module("depthwise")
    rng = _rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((shape[1] * multiplier, 1) + tuple(kernel)).astype(dtype)
    out_size = conv_out_size(shape[2:], kernel, stride, padding, dilation)
    d_x, d_w = arrays.put(x), arrays.put(w)
    y = arrays.nan((shape[0], w.shape[0]) + out_size, dtype)
    depthwise_k.depthwise_forward(d_x, d_w, y, stride, padding, dilation, **_threads(threads[0]))
    np.testing.assert_allclose(arrays.get(y), ref.depthwise_forward(x, w, stride, padding,
                                                                    dilation, out_size),
                               **_tol(dtype))
    g = rng.standard_normal(y.shape).astype(dtype)
    d_g = arrays.put(g)
    grad_in = arrays.nan(shape, dtype)
    depthwise_k.depthwise_grad_input(d_g, d_w, grad_in, stride, padding, dilation,
                                     **_threads(threads[1]))
    np.testing.assert_allclose(arrays.get(grad_in),
                               ref.depthwise_grad_input(g, w, shape, stride, padding, dilation),
                               **_tol(dtype))
    grad_w = arrays.nan(w.shape, dtype)
    depthwise_k.depthwise_grad_weight(d_x, d_g, grad_w, stride, padding, dilation,
                                      **_threads(threads[2]))
    expected = ref.depthwise_grad_weight(x, g, w.shape, stride, padding, dilation)
    np.testing.assert_allclose(arrays.get(grad_w), expected,
                               **_sum_tol(dtype, shape[0] * out_size[0] * out_size[1]))


# ----------------------------------------------------------------- shuffle
def check_shuffle(arrays, shape, groups, threads=64):
    shuffle_k = kernel_module("shuffle")
    x = _rng(4).standard_normal(shape).astype(np.float32)
    y = arrays.nan(shape)
    shuffle_k.channel_shuffle(arrays.put(x), y, groups, **_threads(threads))
    np.testing.assert_array_equal(arrays.get(y), ref.channel_shuffle(x, groups))
    back = arrays.nan(shape)
    shuffle_k.channel_shuffle_backward(y, back, groups, **_threads(threads))
    np.testing.assert_array_equal(arrays.get(back), x)


# -------------------------------------------------------------- batch norm
def bn_inputs(shape, dtype, seed, offset=2.0):
    rng = _rng(seed)
    channels = shape[1]
    x = (rng.standard_normal(shape) * 3 + offset).astype(dtype)
    w = rng.standard_normal(channels).astype(dtype)
    b = rng.standard_normal(channels).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    return x, w, b, g


def _bn_stats(arrays, d_x, eps, chunk, threads):
    bn_k = kernel_module("batchnorm")
    mean, var, inv_std = (arrays.nan(d_x.shape[1], d_x.dtype) for _ in range(3))
    kwargs = {} if chunk is None else {"chunk": chunk}
    bn_k.batchnorm_stats(d_x, mean, var, inv_std, eps, **kwargs, **_threads(threads))
    return mean, var, inv_std


def check_batchnorm(arrays, shape, chunk, threads, dtype=np.float32, eps=1e-5):
    """Statistics, forward, backward; ``chunk=None``/``threads=None``: the launchers' defaults."""
    bn_k = kernel_module("batchnorm")
    x, w, b, g = bn_inputs(shape, dtype, 5)
    d_x, d_w, d_b, d_g = (arrays.put(a) for a in (x, w, b, g))
    mean, var, inv_std = _bn_stats(arrays, d_x, eps, chunk, threads)
    count = g.size // shape[1]
    stats_tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else F64
    for got, want in zip((mean, var, inv_std), ref.batchnorm_stats(x, eps)):
        np.testing.assert_allclose(arrays.get(got), want, **stats_tol)
    y = arrays.nan(shape, dtype)
    bn_k.batchnorm_forward(d_x, mean, inv_std, d_w, d_b, y)
    # the twin takes the kernel's statistics: this checks the normalisation alone
    h_mean, h_inv_std = arrays.get(mean), arrays.get(inv_std)
    np.testing.assert_allclose(arrays.get(y), ref.batchnorm_forward(x, h_mean, h_inv_std, w, b),
                               **_tol(dtype))
    grad_in, grad_w, grad_b = arrays.nan(shape, dtype), arrays.nan(shape[1], dtype), \
        arrays.nan(shape[1], dtype)
    kwargs = {} if chunk is None else {"chunk": chunk}
    bn_k.batchnorm_backward(d_g, d_x, mean, inv_std, d_w, grad_in, grad_w, grad_b, **kwargs,
                            **_threads(threads))
    ref_in, ref_w, ref_b = ref.batchnorm_backward(g, x, h_mean, h_inv_std, w)
    np.testing.assert_allclose(arrays.get(grad_b), ref_b, **_sum_tol(dtype, count))
    np.testing.assert_allclose(arrays.get(grad_w), ref_w, **_sum_tol(dtype, count))
    np.testing.assert_allclose(arrays.get(grad_in), ref_in, **_tol(dtype))


def check_batchnorm_offset_variance(arrays, shape=(4, 2, 6, 5), chunk=16, threads=8):
    """Values 1000 + N(0, 0.01^2) in float32: ``sum(x^2)/M - mean^2`` would lose every digit
    (x^2 ~ 1e6, float32 ulp there ~ 0.06, var ~ 1e-4); the chunked two-pass with Chan's
    merge gets the variance of the float32 inputs right to float32 accuracy."""
    rng = _rng(7)
    x = (1000 + 0.01 * rng.standard_normal(shape)).astype(np.float32)
    mean, var, _ = _bn_stats(arrays, arrays.put(x), 0.0, chunk, threads)
    ref_mean, ref_var, _ = ref.batchnorm_stats(x, 0.0)
    np.testing.assert_allclose(arrays.get(mean), ref_mean, rtol=1e-7)
    np.testing.assert_allclose(arrays.get(var), ref_var, rtol=1e-4)


# ------------------------------------------------------------- activations
def activation_inputs(dtype, size=200):
    special = np.array([-3.0, 3.0, np.nextafter(-3.0, -4), np.nextafter(-3.0, 0),
                        np.nextafter(3.0, 0), np.nextafter(3.0, 4), 0.0, -50.0, 50.0,
                        np.inf, -np.inf, np.nan])
    values = np.concatenate([special, _rng(8).uniform(-5, 5, size - special.size)])
    return values.astype(dtype).reshape(2, -1, 25) if size % 50 == 0 else values.astype(dtype)


def check_activation(arrays, name, dtype, threads=64, size=200):
    act_k = kernel_module("activation")
    x = activation_inputs(dtype, size)
    g = _rng(9).standard_normal(x.shape).astype(dtype)
    d_x = arrays.put(x)
    y = arrays.nan(x.shape, dtype)
    getattr(act_k, name + "_forward")(d_x, y, **_threads(threads))
    # assert_allclose treats NaN == NaN and inf == inf: the twin's values at +-inf
    # (hardswish(-inf) = -inf * 0 = NaN, as in PyTorch) and at NaN must match too.
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(arrays.get(y), getattr(ref, name)(x), **_tol(dtype))
    grad_in = arrays.nan(x.shape, dtype)
    getattr(act_k, name + "_backward")(d_x, arrays.put(g), grad_in, **_threads(threads))
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(arrays.get(grad_in), getattr(ref, name + "_grad")(x, g),
                                   **_tol(dtype))


def check_activation_kinks(arrays):
    """PyTorch's conventions at exactly -3 and 3 (see kernels/activation.py)."""
    act_k = kernel_module("activation")
    x = arrays.put(np.array([-3.0, 3.0], dtype=np.float32))
    g = arrays.put(np.ones(2, dtype=np.float32))
    out = arrays.nan(2)
    act_k.hardswish_backward(x, g, out)
    np.testing.assert_array_equal(arrays.get(out), [0.0, 1.0])
    act_k.hardsigmoid_backward(x, g, out)
    np.testing.assert_array_equal(arrays.get(out), [0.0, 0.0])


# ---------------------------------------------------------------------- SE
def check_se(arrays, shape, scale_4d, dtype, threads=(32, 8)):
    se_k = kernel_module("se")
    rng = _rng(10)
    n, c = shape[:2]
    x = rng.standard_normal(shape).astype(dtype)
    s = rng.uniform(0, 1, (n, c, 1, 1) if scale_4d else (n, c)).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    d_x, d_s, d_g = arrays.put(x), arrays.put(s), arrays.put(g)
    y = arrays.nan(shape, dtype)
    se_k.se_scale(d_x, d_s, y, **_threads(threads[0]))
    np.testing.assert_allclose(arrays.get(y), ref.se_scale(x, s), **_tol(dtype))
    grad_in = arrays.nan(shape, dtype)
    se_k.se_scale(d_g, d_s, grad_in, **_threads(threads[0]))  # dL/dx = g * s: the same kernel
    np.testing.assert_allclose(arrays.get(grad_in), ref.se_scale(g, s), **_tol(dtype))
    grad_s = arrays.nan(s.shape, dtype)
    se_k.se_grad_scale(d_g, d_x, grad_s, **_threads(threads[1]))
    np.testing.assert_allclose(arrays.get(grad_s).reshape(n, c), ref.se_grad_scale(g, x),
                               **_sum_tol(dtype, x[0, 0].size))


# ---------------------------------------------------------------- max pool
def check_maxpool(arrays, shape, kernel, stride, padding, dilation, ceil_mode, kind,
                  threads=32):
    pool_k = kernel_module("maxpool")
    rng = _rng(11)
    x = pool_input(shape, rng, kind).astype(np.float32)
    out_size = pool_out_size(shape, kernel, stride, padding, dilation, ceil_mode)
    y = arrays.nan(tuple(shape[:2]) + out_size)
    indices = arrays.put(np.full(y.shape, -7, dtype=np.int64))
    pool_k.maxpool_forward(arrays.put(x), y, indices, kernel, stride, padding, dilation,
                           **_threads(threads))
    values, ref_indices = ref.maxpool_forward(x, kernel, stride, padding, dilation, out_size)
    np.testing.assert_array_equal(arrays.get(y), values.astype(np.float32))
    np.testing.assert_array_equal(arrays.get(indices), ref_indices)
    g = rng.standard_normal(y.shape).astype(np.float32)
    grad_in = arrays.nan(shape)
    pool_k.maxpool_backward(arrays.put(g), indices, grad_in, kernel, stride, padding, dilation,
                            **_threads(threads))
    np.testing.assert_allclose(arrays.get(grad_in), ref.maxpool_backward(g, ref_indices, shape),
                               **F32)


def check_maxpool_padding_only_window(arrays):
    """H = 1, kernel 2, dilation 2, padding 1: the window's rows -1 and 1 are both outside."""
    pool_k = kernel_module("maxpool")
    x = _rng(12).standard_normal((1, 1, 1, 4)).astype(np.float32)
    y = arrays.nan((1, 1, 1, 4))
    indices = arrays.put(np.full(y.shape, -7, dtype=np.int64))
    pool_k.maxpool_forward(arrays.put(x), y, indices, (2, 1), 1, (1, 0), (2, 1))
    values, ref_indices = ref.maxpool_forward(x, (2, 1), 1, (1, 0), (2, 1), (1, 4))
    np.testing.assert_array_equal(arrays.get(y), values.astype(np.float32))
    np.testing.assert_array_equal(arrays.get(indices), ref_indices)


# ------------------------------------------------------- fused BN+hardswish
def check_bn_hardswish_fused(arrays, shape, chunk, threads):
    """The fused kernels against the unfused twin: z = BN(x), y = hardswish(z), and the
    backward chained through hardswish' and the batch-norm backward."""
    fused_k = kernel_module("fused")
    x, w, b, g = bn_inputs(shape, np.float32, 13, offset=0.5)
    d_x, d_w, d_b, d_g = (arrays.put(a) for a in (x, w, b, g))
    mean, _, inv_std = _bn_stats(arrays, d_x, 1e-5, chunk, threads)
    h_mean, h_inv_std = arrays.get(mean), arrays.get(inv_std)
    y = arrays.nan(shape)
    fused_k.bn_hardswish_forward(d_x, mean, inv_std, d_w, d_b, y)
    z = ref.batchnorm_forward(x, h_mean, h_inv_std, w, b)
    np.testing.assert_allclose(arrays.get(y), ref.hardswish(z), **F32)
    grad_in, grad_w, grad_b = arrays.nan(shape), arrays.nan(shape[1]), arrays.nan(shape[1])
    kwargs = {} if chunk is None else {"chunk": chunk}
    fused_k.bn_hardswish_backward(d_g, d_x, mean, inv_std, d_w, d_b, grad_in, grad_w, grad_b,
                                  **kwargs, **_threads(threads))
    ref_in, ref_w, ref_b = ref.batchnorm_backward(ref.hardswish_grad(z, g), x, h_mean, h_inv_std,
                                                  w)
    count = g.size // shape[1]
    np.testing.assert_allclose(arrays.get(grad_b), ref_b, **_sum_tol(np.float32, count))
    np.testing.assert_allclose(arrays.get(grad_w), ref_w, **_sum_tol(np.float32, count))
    np.testing.assert_allclose(arrays.get(grad_in), ref_in, **F32)
