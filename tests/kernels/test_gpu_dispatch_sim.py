"""The operators' GPU path (dispatch edits + ``minicnn/ops/_gpu.py`` glue) under the CUDA simulator.

On a GPU, a Function that receives CuPy arrays hands them to ``_gpu.py``,
which allocates outputs and launches the kernels of ``kernels/``. Under
Numba's CUDA simulator the kernels take NumPy arrays, so this file runs
that whole path without a GPU: each operator's module is made to treat
NumPy arrays as device arrays (its ``is_cupy_array`` patched to accept
``np.ndarray``), so ``Function.apply`` -> ``forward``/``backward`` -> the
dispatch line -> the ``_gpu`` glue (with ``xp = numpy``) -> the launchers ->
the simulated kernels all run, and forward, input gradients (and running
statistics) must equal the CPU operator's. A spy on the glue proves the
kernel path was taken, and together the cases call every glue function.

The last section goes one step further: with ``tests/kernels/_fake_cupy.py``
installed as ``cupy`` (NumPy memory under a class from module ``cupy``),
nothing is patched in minicnn, ``Tensor.to('cuda')`` works, and the GPU
branch of ``tests/test_devices.py`` runs for one configuration of each
kernel-backed operator, so that branch has run before a GPU machine sees it.

Runs only with ``NUMBA_ENABLE_CUDASIM=1`` set before numba is imported;
``test_kernels_subprocess.py`` starts such a process for it. By hand::

    NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/kernels/test_gpu_dispatch_sim.py

Tolerances: float32 kernels against the float32 NumPy formulas round
differently (other operation order; the kernels' sums accumulate in float64,
NumPy's in float32), by a few float32 ulps of O(1) values: ``rtol = atol =
1e-5`` (float32 epsilon 1.2e-7, with room for the handful of rounded
operations per element and for sums of up to ~100 terms). float64: ``1e-12``.
Data movement (channel shuffle, max-pool values) must be exact.
"""
import warnings

import numpy as np
import pytest

from tests.kernels._simulator import require_simulator

require_simulator()

from minicnn import Tensor  # noqa: E402
from minicnn.nn import functional as F  # noqa: E402
from minicnn.ops import (_gpu, activation, channel_scale, conv, fold, norm, pooling,  # noqa: E402
                         shuffle)
from tests.kernels.cases import pool_input  # noqa: E402
from tests.kernels.checks import activation_inputs  # noqa: E402

DISPATCHING_MODULES = (activation, norm, shuffle, pooling, channel_scale, conv, fold)
CONV_CALLS = {"conv2d_forward", "conv2d_grad_input", "conv2d_grad_weight"}

# Glue functions each case must call (the union must be all of them: see the last test).
CALLS = {
    "hardswish": {"hardswish_forward", "hardswish_backward"},
    "hardsigmoid": {"hardsigmoid_forward", "hardsigmoid_backward"},
    "channel_shuffle": {"channel_shuffle_forward", "channel_shuffle_backward"},
    "batch_norm": {"batch_norm_forward", "batch_norm_backward"},
    "max_pool2d": {"max_pool2d_forward", "max_pool2d_backward"},
    "channel_scale": {"channel_scale_forward", "channel_scale_backward"},
    "conv2d": CONV_CALLS,
    "conv_transpose2d": CONV_CALLS,  # its forward is conv2d's input gradient, and so on
    "unfold": {"unfold_forward", "fold_forward"},  # each one's backward is the other
    "fold": {"unfold_forward", "fold_forward"},
}


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if np.dtype(dtype) == np.float32 else \
        dict(rtol=1e-12, atol=1e-12)


@pytest.fixture
def kernel_path(monkeypatch):
    """A context manager: inside it the operators take the GPU path on NumPy arrays.

    Yields the set of glue functions called. Small blocks keep the simulator
    fast and give several blocks, partial last blocks and partial reductions.
    """
    import contextlib

    called = set()

    @contextlib.contextmanager
    def on_kernels():
        with monkeypatch.context() as patch:
            for module in DISPATCHING_MODULES:
                patch.setattr(module, "is_cupy_array", lambda a: isinstance(a, np.ndarray))
            patch.setattr(_gpu, "ELEMENTWISE_THREADS", 32)
            patch.setattr(_gpu, "REDUCE_THREADS", 8)
            patch.setattr(_gpu, "BN_CHUNK", 16)
            for name in _gpu.__all__:
                patch.setattr(_gpu, name, _spy(getattr(_gpu, name), name, called))
            yield called

    return on_kernels


def _spy(function, name, called, xp=np):
    expected = xp

    def wrapper(xp, *args, **kwargs):
        assert xp is expected, f"{name}: expected xp={expected.__name__}, got {xp!r}"
        called.add(name)
        return function(xp, *args, **kwargs)

    return wrapper


def _run(fn, arrays, grad_positions, seed=0):
    """``fn`` on fresh tensors, then backward with a seeded random upstream gradient.

    Returns ``(output, [gradient of each input in grad_positions])`` as NumPy arrays.
    """
    tensors = [Tensor(a.copy(), requires_grad=i in grad_positions) if isinstance(a, np.ndarray)
               else a for i, a in enumerate(arrays)]
    out = fn(*tensors)
    upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    out.backward(Tensor(upstream))
    return out.data, [tensors[i].grad for i in grad_positions]


def _compare(kernel_path, op, fn, arrays, grad_positions, tol, grad_tol=None):
    """The kernel path equals the CPU path: output and every input gradient
    (within ``tol``, or ``grad_tol`` for the gradients when given)."""
    cpu_out, cpu_grads = _run(fn, arrays, grad_positions)
    with kernel_path() as called:
        gpu_out, gpu_grads = _run(fn, arrays, grad_positions)
    assert CALLS[op] <= called, f"{op}: kernel path not taken, glue called: {sorted(called)}"
    assert gpu_out.dtype == cpu_out.dtype and gpu_out.shape == cpu_out.shape
    np.testing.assert_allclose(gpu_out, cpu_out, **tol)
    for position, gpu, cpu in zip(grad_positions, gpu_grads, cpu_grads):
        assert gpu.dtype == cpu.dtype and gpu.shape == cpu.shape, f"grad input {position}"
        np.testing.assert_allclose(gpu, cpu, **(grad_tol or tol), err_msg=f"grad input {position}")


# ------------------------------------------------------------- activations
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["hardswish", "hardsigmoid"])
def test_activations(kernel_path, op, dtype):
    # the kinks -3 and 3 and their neighbours, +-inf, NaN, and uniform values in (-5, 5)
    x = activation_inputs(dtype)  # (2, 4, 25)
    warnings.simplefilter("ignore", RuntimeWarning)  # -inf * 0 in the simulator and in NumPy
    _compare(kernel_path, op, getattr(F, op), [x], [0], _tol(dtype))


def test_activation_of_a_non_contiguous_input(kernel_path):
    """The kernels index C-contiguous arrays: the glue must copy a transposed input."""
    x = np.random.default_rng(1).uniform(-5, 5, (7, 3, 5)).astype(np.float32)
    _compare(kernel_path, "hardswish", lambda t: F.hardswish(t.transpose(0, 2)), [x], [0],
             _tol(np.float32))


# ----------------------------------------------------------------- shuffle
@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 5), 3), ((1, 12, 7), 4)])
def test_channel_shuffle(kernel_path, shape, groups):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    _compare(kernel_path, "channel_shuffle", lambda t: F.channel_shuffle(t, groups), [x], [0],
             dict(rtol=0, atol=0))


# -------------------------------------------------------------- batch norm
# M = N*L values per channel against BN_CHUNK = 16: 24 = 16 + 8 (a partial last chunk),
# 13 (2-D input, one partial chunk); affine or not; float64.
@pytest.mark.parametrize("shape, affine, dtype", [
    ((2, 3, 4, 3), True, np.float32),
    ((2, 3, 4, 3), False, np.float32),
    ((13, 2), True, np.float32),
    ((2, 2, 3, 3), True, np.float64),
])
def test_batch_norm_training(kernel_path, shape, affine, dtype):
    rng = np.random.default_rng(3)
    channels = shape[1]
    x = (rng.standard_normal(shape) * 2 + 1.5).astype(dtype)
    weight = rng.standard_normal(channels).astype(dtype)
    bias = rng.standard_normal(channels).astype(dtype)
    stats = {}

    def fn(x, weight=None, bias=None):
        running_mean = Tensor(np.linspace(-1, 1, channels).astype(dtype))
        running_var = Tensor(np.linspace(0.5, 2, channels).astype(dtype))
        out = F.batch_norm(x, running_mean, running_var, weight, bias, training=True,
                           momentum=0.2, eps=1e-3)
        stats.setdefault("runs", []).append((running_mean.data, running_var.data))
        return out

    arrays, positions = ([x, weight, bias], [0, 1, 2]) if affine else ([x], [0])
    _compare(kernel_path, "batch_norm", fn, arrays, positions, _tol(dtype))
    (cpu_mean, cpu_var), (gpu_mean, gpu_var) = stats["runs"]
    np.testing.assert_allclose(gpu_mean, cpu_mean, **_tol(dtype))
    np.testing.assert_allclose(gpu_var, cpu_var, **_tol(dtype))


def test_batch_norm_backward_only_for_the_input(kernel_path):
    """weight and bias given but frozen: the kernel path returns no gradient for them."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2, 2, 3)).astype(np.float32)
    weight, bias = (rng.standard_normal(2).astype(np.float32) for _ in range(2))
    _compare(kernel_path, "batch_norm",
             lambda t, w, b: F.batch_norm(t, None, None, w, b, training=True),
             [x, weight, bias], [0], _tol(np.float32))


# ---------------------------------------------------------------- max pool
# (shape, kernel, stride, padding, dilation, ceil_mode, input kind)
POOL = [
    ((2, 2, 7, 7), 3, 2, 1, 1, False, "random"),
    ((1, 2, 6, 6), 3, 2, 0, 1, True, "ties"),  # ceil_mode: windows hang past the input
    ((2, 5, 5), 2, 1, 1, 2, False, "special"),  # (C, H, W) input, dilation, NaN and -inf
    # W = 1, kernel_w 2, dilation 2, padding 1: every window's columns -1 and 1 are
    # padding. minicnn passes such a window no gradient; its index (PyTorch's, past
    # the row end) names the next row's pixel, which must not receive it.
    ((1, 1, 3, 1), (1, 2), 1, (0, 1), (1, 2), False, "random"),
]


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, ceil_mode, kind", POOL)
def test_max_pool2d(kernel_path, shape, kernel, stride, padding, dilation, ceil_mode, kind):
    x = pool_input(shape, np.random.default_rng(5), kind).astype(np.float32)
    # Values and the choice of argmax are exact; where windows overlap, the kernel adds
    # the gradients in float64 and rounds once, NumPy in float32: a few ulps.
    _compare(kernel_path, "max_pool2d",
             lambda t: F.max_pool2d(t, kernel, stride, padding, dilation, ceil_mode), [x], [0],
             dict(rtol=0, atol=0), grad_tol=_tol(np.float32))


def test_max_pool2d_without_gradient_saves_no_indices(kernel_path):
    x = np.random.default_rng(6).standard_normal((1, 2, 5, 5)).astype(np.float32)
    expected = F.max_pool2d(Tensor(x), 2).data
    with kernel_path() as called:
        out = F.max_pool2d(Tensor(x), 2)
    assert called == {"max_pool2d_forward"} and not out.requires_grad
    np.testing.assert_array_equal(out.data, expected)


# ----------------------------------------------------------- channel scale
@pytest.mark.parametrize("shape, scale_shape, dtype", [
    ((2, 3, 4, 5), (2, 3, 1, 1), np.float32),
    ((2, 3, 4, 5), (2, 3), np.float64),
    ((4, 3), (4, 3), np.float32),
])
def test_channel_scale(kernel_path, shape, scale_shape, dtype):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    scale = rng.uniform(0, 1, scale_shape).astype(dtype)
    _compare(kernel_path, "channel_scale", channel_scale.channel_scale, [x, scale], [0, 1],
             _tol(dtype))


# ------------------------------------------------------------- convolution
# (x shape, weight shape, bias, stride, padding, dilation, groups): dense with stride and
# bias; grouped and dilated; 1x1 (no im2col: x is its own column matrix); PyTorch's 'same'
# with an even kernel (asymmetric padding: the output size fixes bottom/right); depthwise
# with a channel multiplier, stride 2; depthwise 'same'.
CONV = [
    ((2, 3, 5, 4), (4, 3, 3, 3), True, 2, 1, 1, 1),
    ((1, 4, 6, 5), (2, 2, 2, 3), False, 1, (1, 2), 2, 2),
    ((2, 4, 3, 3), (6, 4, 1, 1), True, 1, 0, 1, 1),
    ((1, 2, 4, 5), (3, 2, 2, 2), False, 1, "same", 1, 1),
    ((2, 2, 6, 5), (4, 1, 3, 3), True, 2, 1, 1, 2),
    ((1, 3, 5, 5), (3, 1, 3, 3), False, 1, "same", 2, 3),
]


@pytest.mark.parametrize("x_shape, w_shape, bias, stride, padding, dilation, groups", CONV)
def test_conv2d(kernel_path, x_shape, w_shape, bias, stride, padding, dilation, groups):
    _check_conv2d(kernel_path, x_shape, w_shape, bias, stride, padding, dilation, groups,
                  np.float32)


@pytest.mark.parametrize("case", [0, 4], ids=["dense", "depthwise"])
def test_conv2d_float64(kernel_path, case):
    _check_conv2d(kernel_path, *CONV[case], np.float64)


def _check_conv2d(kernel_path, x_shape, w_shape, bias, stride, padding, dilation, groups, dtype):
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal(x_shape).astype(dtype),
              rng.standard_normal(w_shape).astype(dtype)]
    if bias:
        arrays.append(rng.standard_normal(w_shape[0]).astype(dtype))
    _compare(kernel_path, "conv2d",
             lambda x, w, b=None: F.conv2d(x, w, b, stride, padding, dilation, groups),
             arrays, list(range(len(arrays))), _tol(dtype))


def test_conv2d_in_chunks_of_images(kernel_path, monkeypatch):
    """A column budget of one image: im2col, the product and col2im run image by image."""
    monkeypatch.setattr(_gpu, "COLUMN_BYTES", 1)
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((3, 2, 4, 4)), rng.standard_normal((2, 1, 3, 3))
    _compare(kernel_path, "conv2d", lambda x, w: F.conv2d(x, w, stride=2, padding=1, groups=2),
             [x, w], [0, 1], _tol(np.float64))


# (x shape, weight shape, stride, padding, output_padding, dilation, groups)
CONV_T = [
    # output_padding 1: the last output row/column is read by no window (zero gradient there)
    ((2, 3, 3, 3), (3, 2, 3, 3), 2, 1, 1, 1, 1),
    ((1, 4, 3, 4), (4, 1, 2, 2), 2, 0, 0, 1, 4),  # depthwise (groups == C)
]


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, output_padding, dilation, groups",
                         CONV_T)
def test_conv_transpose2d(kernel_path, x_shape, w_shape, stride, padding, output_padding,
                          dilation, groups):
    rng = np.random.default_rng(10)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[1] * groups).astype(np.float32)
    _compare(kernel_path, "conv_transpose2d",
             lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups,
                                                dilation),
             [x, w, b], [0, 1, 2], _tol(np.float32))


# ------------------------------------------------------------ unfold / fold
# (x shape, kernel, dilation, padding, stride): padded and strided with overlapping windows;
# dilated, asymmetric geometry; 1x1 stride 1 (no im2col: x is its own column matrix).
FOLD = [
    ((2, 3, 5, 4), 3, 1, 1, 2),
    ((1, 2, 6, 7), (2, 3), (2, 1), (0, 1), (1, 2)),
    ((2, 3, 3, 3), 1, 1, 0, 1),
]


@pytest.mark.parametrize("x_shape, kernel, dilation, padding, stride", FOLD)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unfold_and_fold(kernel_path, x_shape, kernel, dilation, padding, stride, dtype):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape).astype(dtype)
    args = dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)
    # unfold copies (exact); fold's kernel sums a pixel's entries in float64, NumPy in the dtype
    _compare(kernel_path, "unfold", lambda t: F.unfold(t, **args), [x], [0], dict(rtol=0, atol=0),
             grad_tol=_tol(dtype))
    cols = rng.standard_normal(F.unfold(Tensor(x), **args).shape).astype(dtype)
    _compare(kernel_path, "fold", lambda t: F.fold(t, x_shape[2:], **args), [cols], [0],
             _tol(dtype), grad_tol=dict(rtol=0, atol=0))


def test_the_cases_call_every_glue_function():
    assert set().union(*CALLS.values()) == set(_gpu.__all__)


# ------------------------------------- tests/test_devices.py's GPU branch, on a stand-in CuPy
def _device_cases():
    """Every case of tests/test_devices.py, but only the first configuration of each
    kernel-backed operator (the simulator is slow, and their configurations are covered
    above; this checks the path through ``Tensor.to('cuda')`` and that test's GPU branch)."""
    from tests import test_devices

    seen, cases = set(), []
    for case in test_devices.CASES:
        if case.op not in test_devices.KERNEL_OPS or case.op not in seen:
            seen.add(case.op)
            cases.append(case)
    return cases


def _raw_memory_launchers(kernel_module):
    """``kernel_module`` whose launchers get plain NumPy views of stand-in device arrays.

    On a GPU, Numba takes a CuPy array's pointer, shape and strides; the kernels never
    see CuPy's array class. Under the simulator they index NumPy memory, so the stand-in's
    strict device-array class (no mixing with host arrays) is stripped off here, sharing
    memory, so what the kernels write lands in the caller's arrays."""
    import types

    from tests.kernels import _fake_cupy

    def raw(value):
        return value.view(np.ndarray) if isinstance(value, _fake_cupy.ndarray) else value

    def wrap(launcher):
        def launch(*args, **kwargs):
            return launcher(*(raw(a) for a in args), **{k: raw(v) for k, v in kwargs.items()})
        return launch

    def load(name):
        module = kernel_module(name)
        proxy = types.SimpleNamespace(**{n: getattr(module, n) for n in dir(module)
                                         if not n.startswith("__")})
        for attr, value in vars(proxy).items():
            if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
                setattr(proxy, attr, wrap(value))
        return proxy

    return load


@pytest.fixture
def stand_in_cupy(monkeypatch):
    """``cupy`` is ``tests/kernels/_fake_cupy.py`` (NumPy memory, which the simulated kernels
    take) and ``tests/test_devices.py`` believes a GPU is there; yields the glue calls."""
    from tests import test_devices
    from tests.kernels import _fake_cupy

    _fake_cupy.install(monkeypatch)
    monkeypatch.setattr(test_devices, "CUDA_REASON", None)
    monkeypatch.setattr(_gpu, "kernel_module", _raw_memory_launchers(_gpu.kernel_module))
    monkeypatch.setattr(_gpu, "ELEMENTWISE_THREADS", 64)
    monkeypatch.setattr(_gpu, "REDUCE_THREADS", 16)
    monkeypatch.setattr(_gpu, "BN_CHUNK", 64)
    called = set()
    for name in _gpu.__all__:
        monkeypatch.setattr(_gpu, name, _spy(getattr(_gpu, name), name, called, xp=_fake_cupy))
    return called


@pytest.mark.parametrize("case", _device_cases(), ids=lambda case: f"{case.op} {case.config}")
def test_device_suite_gpu_branch_on_a_stand_in_cupy(stand_in_cupy, case):
    """``test_operator_on_device[...-cuda]`` end to end: ``Tensor.to('cuda')``, the real
    dispatch (no patching of the operators), the glue, the kernels; compared there with the
    CPU run and PyTorch. Proves the GPU branch of that test runs, and the operators'
    GPU path with it, before a GPU machine first sees them."""
    from tests import test_devices

    test_devices.test_operator_on_device(case, "cuda")
    # (batch norm in evaluation mode is an affine map on CuPy: no kernel)
    expected = set() if "eval" in case.config else CALLS.get(case.op, set())
    assert expected <= stand_in_cupy, \
        f"{case.op}: kernel path not taken, glue called: {sorted(stand_in_cupy)}"


@pytest.mark.parametrize("op", ["gather", "index_select", "masked_fill"])
def test_an_index_or_mask_on_another_device_is_refused(stand_in_cupy, op):
    """The index (mask) reaches the operator as an array, past Function's device check:
    a host index next to a GPU input is refused by name, as PyTorch refuses it."""
    import minicnn

    x = minicnn.randn(2, 3).to("cuda")
    calls = {"gather": lambda: minicnn.gather(x, 1, minicnn.tensor(np.array([[0], [2]]))),
             "index_select": lambda: minicnn.index_select(x, 1, minicnn.tensor(np.array([0]))),
             "masked_fill": lambda: minicnn.masked_fill(x, minicnn.tensor(np.array([True] * 3)),
                                                        0.0)}
    name = "mask" if op == "masked_fill" else "index"
    with pytest.raises(RuntimeError, match=rf"{op}: {name} is on cpu but input is on cuda:0"):
        calls[op]()


# ------------------------------- training steps of the article's blocks on a stand-in GPU
def _tiny_network():
    """One of each kernel-backed block (conv + BN + h-swish, the MobileNetV3 bottleneck with
    SE and a depthwise conv, the ShuffleNetV2 unit, max pooling), small enough for the
    simulator."""
    from minicnn import nn
    from minicnn.nn.blocks import Conv2dNormActivation, MobileNetV3Bottleneck, ShuffleV2Block

    return nn.Sequential(
        Conv2dNormActivation(3, 4, activation_layer=nn.Hardswish),
        MobileNetV3Bottleneck(4, 8, 4, kernel_size=3, use_se=True, activation="HS"),
        ShuffleV2Block(4, 4),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def _train(model, make_optimizer, device, steps=2):
    """``steps`` training steps on a fixed batch; returns (losses, state dict after)."""
    import minicnn
    from minicnn.nn import functional as F

    rng = np.random.default_rng(0)
    images = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    labels = np.array([0, 2])
    model.to(device)
    optimizer = make_optimizer(model.parameters())
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(minicnn.tensor(images).to(device)),
                               minicnn.tensor(labels).to(device))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    for name, value in model.state_dict(keep_vars=True).items():
        assert value.device == ("cpu" if device == "cpu" else "cuda:0"), f"{name} on {value.device}"
    return losses, {k: np.array(v) for k, v in model.state_dict().items()}


def test_training_steps_on_a_stand_in_gpu(stand_in_cupy, monkeypatch):
    """Module.to('cuda'), forward, loss, backward and two SGD steps (momentum, Nesterov,
    weight decay) on device arrays: losses, parameters and BN running statistics equal the
    CPU run's (float32: the kernels' float64 accumulation and other summation orders; 1e-5
    as above). Not Adam: some gradients here are zero in exact arithmetic (the bias of a BN
    whose output feeds another BN through a 1x1 conv: the second BN removes any constant
    shift), and Adam's ``m / sqrt(v)`` turns float32 noise of 1e-10 there into a full
    ``lr``-sized step on either engine. Every optimizer's update on device arrays:
    ``test_optimizers_on_a_stand_in_gpu``."""
    import copy

    import minicnn
    from minicnn import optim

    # Few threads and one chunk per channel: the simulator pays per block and per barrier.
    monkeypatch.setattr(_gpu, "REDUCE_THREADS", 4)
    monkeypatch.setattr(_gpu, "BN_CHUNK", 256)
    minicnn.manual_seed(0)
    model = _tiny_network()
    make = lambda params: optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True,  # noqa: E731
                                    weight_decay=1e-3)
    gpu_losses, gpu_state = _train(copy.deepcopy(model), make, "cuda")
    cpu_losses, cpu_state = _train(model, make, "cpu")
    assert {"conv2d_forward", "conv2d_grad_weight", "batch_norm_backward", "hardswish_backward",
            "channel_shuffle_backward", "channel_scale_backward",
            "max_pool2d_backward"} <= stand_in_cupy
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-5, atol=1e-5)
    assert gpu_state.keys() == cpu_state.keys()
    for key in cpu_state:
        np.testing.assert_allclose(gpu_state[key], cpu_state[key], rtol=1e-5, atol=1e-5,
                                   err_msg=key)
