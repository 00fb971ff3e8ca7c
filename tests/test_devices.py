"""Every operator on every device, and the errors for tensors on different devices.

* ``test_operator_on_device[<op> <config>-<device>]``: the operator suite of
  ``minicnn check`` (``minicnn/checks``: one representative configuration per
  operator, every configuration of the operators that have CUDA kernels) run
  on ``cpu`` and on ``cuda``, forward and backward under one seeded upstream
  gradient. On ``cpu`` the float32 results must match PyTorch; on ``cuda`` they
  must match both the CPU run and PyTorch. Tolerances: each case's stated
  float32 tolerance against PyTorch (``minicnn/checks/<family>.py`` says why);
  the GPU differs from the CPU by float32 rounding of the same kind (another
  summation order, cuBLAS against OpenBLAS), so the same tolerance applies.
  The ``cuda`` runs skip with the reason ``minicnn.cuda.cuda_unavailable_reason()``
  gives (no CuPy, no driver, no device), or fail instead with
  ``MINICNN_REQUIRE_GPU=1`` (``benchmarks/gpu_check.sh``).
* The device errors (CPU only): an operator given tensors on two devices
  raises before computing anything, naming both devices.
"""
import os
import types

import numpy as np
import pytest

import minicnn
import minicnn.nn.functional as F
from minicnn import Tensor
from minicnn.backend import is_cupy_array
from minicnn.checks import Case, all_cases
from minicnn.cuda import cuda_unavailable_reason
from minicnn.function import Function
from minicnn.testing import compare_devices, compare_with_torch
from minicnn.ops.channel_scale import channel_scale
from tests.kernels._fake_cupy import ndarray as FakeCupyArray


def _cuda_reason():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "this process runs Numba's CUDA simulator, not a GPU"
    return cuda_unavailable_reason()


CUDA_REASON = _cuda_reason()

# Operators served by minicnn's CUDA kernels on a GPU: all their configurations run.
KERNEL_OPS = {"hardswish", "hardsigmoid", "batch_norm", "channel_shuffle", "max_pool2d",
              "channel_scale", "conv2d", "conv_transpose2d", "unfold", "fold"}


def _channel_scale_case():
    """channel_scale is not in ``minicnn check`` (not a PyTorch functional): its case here."""
    def make(rng):
        return [rng.standard_normal((2, 3, 4, 5)), rng.uniform(0, 1, (2, 3, 1, 1))]

    # dL/ds sums 20 float32 products in another order than PyTorch: a few ulps.
    return Case("channel_scale", "x(2, 3, 4, 5) scale (2, 3, 1, 1)", make, channel_scale,
                lambda x, s: x * s, atol=1e-5, rtol=1e-5)


def _representative_cases():
    seen, cases = set(), []
    for case in all_cases() + [_channel_scale_case()]:
        if case.op in KERNEL_OPS or case.op not in seen:
            seen.add(case.op)
            cases.append(case)
    return cases


CASES = _representative_cases()


def _float32(value):
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return value.astype(np.float32)
    return value


def _grad_positions(case, inputs):
    if case.grad_inputs is not None:
        return list(case.grad_inputs)
    return [i for i, a in enumerate(inputs)
            if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)]


def _on(device, fn):
    """``fn`` with its tensor arguments moved to ``device`` first (differentiably, so the
    input gradients come back to the CPU tensors ``compare_with_torch`` made)."""
    def call(*args):
        return fn(*[a.to(device) if isinstance(a, Tensor) else a for a in args])

    return call


def _skip_without_gpu(device):
    if device == "cuda" and CUDA_REASON is not None:
        if os.environ.get("MINICNN_REQUIRE_GPU") == "1":
            pytest.fail(f"MINICNN_REQUIRE_GPU=1 but no usable GPU: {CUDA_REASON}", pytrace=False)
        pytest.skip(f"no usable GPU: {CUDA_REASON}")


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c.op} {c.config}" for c in CASES])
def test_operator_on_device(case, device):
    _skip_without_gpu(device)
    seed = 0
    inputs = [_float32(a) for a in case.make_inputs(np.random.default_rng(seed))]
    positions = _grad_positions(case, inputs)
    tolerance = dict(atol=case.atol, rtol=case.rtol, grad_inputs=positions, seed=seed)
    if device != "cpu":  # outputs, input gradients, updated inputs: on the GPU and as on the CPU
        compare_devices(case.fn, inputs, device, **tolerance)
    if case.torch_fn is not None:
        compare_with_torch(_on(device, case.fn), case.torch_fn, inputs, **tolerance)
    else:  # no PyTorch twin (channel_scale): the forward still has to run there
        out = case.fn(*[Tensor(a).to(device) if isinstance(a, np.ndarray) else a
                        for a in inputs])
        assert out.device == ("cpu" if device == "cpu" else "cuda:0")


def test_representative_cases_cover_every_checked_operator():
    assert {c.op for c in CASES} == {c.op for c in all_cases()} | {"channel_scale"}


# ------------------------------------------------------------------ device errors
def _on_gpu(array, device_id=0):
    """A tensor whose data passes for a CuPy array on ``cuda:<device_id>``: NumPy memory
    viewed as ``tests/kernels/_fake_cupy.ndarray`` (a NumPy subclass from module ``cupy``,
    which is what ``is_cupy_array`` and ``Tensor.device`` look at)."""
    data = np.asarray(array).view(FakeCupyArray)
    if device_id:
        data.device = types.SimpleNamespace(id=device_id)
    return Tensor._wrap(data)


def test_stand_in_gpu_tensors_report_their_device():
    assert _on_gpu(np.ones(2)).device == "cuda:0"
    assert _on_gpu(np.ones(2), device_id=1).device == "cuda:1"
    assert minicnn.ones(2).device == "cpu"


def test_mixing_cpu_and_gpu_tensors_names_both_devices():
    cpu, gpu = minicnn.ones(2, 3), _on_gpu(np.ones((2, 3), np.float32))
    with pytest.raises(RuntimeError, match=r"input 0 is on cpu and input 1 is on cuda:0"):
        cpu + gpu
    with pytest.raises(RuntimeError, match=r"input 0 is on cuda:0 and input 1 is on cpu"):
        F.add(gpu, cpu)
    with pytest.raises(RuntimeError, match=r"Mul: .*cuda:0.*cpu"):
        F.mul(gpu, cpu)


def test_two_gpus_are_two_devices():
    with pytest.raises(RuntimeError, match=r"input 0 is on cuda:0 and input 1 is on cuda:1"):
        _on_gpu(np.ones(3)) + _on_gpu(np.ones(3), device_id=1)


def test_device_error_comes_before_forward_runs():
    calls = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b, c):
            calls.append("forward")
            return a

    with pytest.raises(RuntimeError, match=r"Probe: .*input 0 is on cpu and input 2 is on cuda:0"):
        Probe.apply(minicnn.ones(2), 3.0, _on_gpu(np.ones(2, np.float32)))
    assert calls == []
    # numbers, None and raw arrays are not tensors: no device to disagree
    Probe.apply(minicnn.ones(2), None, np.ones(2))
    assert calls == ["forward"]


def test_mixed_devices_in_multi_input_operators():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((1, 2, 5, 5)).astype(np.float32))
    weight = _on_gpu(rng.standard_normal((3, 2, 3, 3)).astype(np.float32))
    with pytest.raises(RuntimeError, match=r"input 0 is on cpu and input 1 is on cuda:0"):
        F.conv2d(x, weight)
    with pytest.raises(RuntimeError, match=r"input 0 is on cpu and input 1 is on cuda:0"):
        F.linear(Tensor(np.ones((2, 4), np.float32)), _on_gpu(np.ones((3, 4), np.float32)))


def test_mixed_devices_leave_batch_norm_running_statistics_untouched():
    x = Tensor(np.random.default_rng(1).standard_normal((4, 2, 3, 3)).astype(np.float32))
    running_mean, running_var = minicnn.zeros(2), minicnn.ones(2)
    weight = _on_gpu(np.ones(2, np.float32))
    with pytest.raises(RuntimeError, match=r"input 0 is on cpu and input 1 is on cuda:0"):
        F.batch_norm(x, running_mean, running_var, weight, minicnn.zeros(2), training=True)
    np.testing.assert_array_equal(running_mean.numpy(), [0, 0])
    np.testing.assert_array_equal(running_var.numpy(), [1, 1])


def test_running_statistics_on_another_device_are_refused_before_any_update():
    x = Tensor(np.random.default_rng(2).standard_normal((4, 2, 3, 3)).astype(np.float32))
    running_mean, running_var = minicnn.zeros(2), _on_gpu(np.ones(2, np.float32))
    with pytest.raises(RuntimeError, match=r"running_var is on cuda:0 but input is on cpu"):
        F.batch_norm(x, running_mean, running_var, training=True)
    np.testing.assert_array_equal(running_mean.numpy(), [0, 0])


def test_instance_norm_refuses_parameters_on_another_device_before_updating_statistics():
    """Its affine map runs after the running statistics are updated: checked first."""
    x = Tensor(np.random.default_rng(3).standard_normal((2, 2, 3, 3)).astype(np.float32))
    running_mean, running_var = minicnn.zeros(2), minicnn.ones(2)
    with pytest.raises(RuntimeError, match=r"instance_norm: bias is on cuda:0 but input is on cpu"):
        F.instance_norm(x, running_mean, running_var, minicnn.ones(2),
                        _on_gpu(np.zeros(2, np.float32)))
    np.testing.assert_array_equal(running_mean.numpy(), [0, 0])
    np.testing.assert_array_equal(running_var.numpy(), [1, 1])


def test_tensors_on_one_gpu_pass_the_check():
    out = F.add(_on_gpu(np.ones(2, np.float32)), _on_gpu(np.ones(2, np.float32)))
    assert out.device == "cuda:0"  # (computed by NumPy underneath)
    np.testing.assert_array_equal(np.asarray(out.data), [2.0, 2.0])


def test_every_array_function_the_operators_call_through_xp_exists_in_cupy():
    """Every ``xp.name`` / ``xp.name.attr`` in minicnn/ is part of CuPy's API (a static scan:
    CuPy imports without a GPU, so this runs wherever CuPy is installed)."""
    import ast
    import pathlib

    cupy = pytest.importorskip("cupy", reason="CuPy is not installed (the GPU extra)")
    missing = []
    for path in pathlib.Path(minicnn.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            if isinstance(node.value, ast.Name) and node.value.id == "xp":
                if not hasattr(cupy, node.attr):
                    missing.append(f"cupy.{node.attr} ({path.name}:{node.lineno})")
            elif (isinstance(node.value, ast.Attribute) and isinstance(node.value.value, ast.Name)
                  and node.value.value.id == "xp"):
                base = getattr(cupy, node.value.attr, None)
                if base is not None and not hasattr(base, node.attr):
                    missing.append(f"cupy.{node.value.attr}.{node.attr} ({path.name}:{node.lineno})")
    assert not missing, missing


# ------------------------------------------------------- tensors created on a device
FACTORIES = {
    "zeros": lambda **kw: minicnn.zeros(2, 3, **kw),
    "ones": lambda **kw: minicnn.ones((2, 3), **kw),
    "empty": lambda **kw: minicnn.empty(2, 3, **kw),
    "randn": lambda **kw: minicnn.randn(2, 3, **kw),
    "rand": lambda **kw: minicnn.rand(2, 3, **kw),
    "full": lambda **kw: minicnn.full((2, 3), 0.5, **kw),
    "arange": lambda **kw: minicnn.arange(0.0, 3.0, 0.5, **kw),
    "tensor": lambda **kw: minicnn.tensor([[1.0, 2.0], [3.0, 4.0]], **kw),
    "zeros_like": lambda **kw: minicnn.zeros_like(minicnn.ones(2), **kw),
    "ones_like": lambda **kw: minicnn.ones_like(minicnn.ones(2), **kw),
    "randn_like": lambda **kw: minicnn.randn_like(minicnn.ones(2), **kw),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_create_leaf_tensors_on_the_device(monkeypatch, name):
    """``device=`` as in PyTorch, on a stand-in GPU (tests/kernels/_fake_cupy.py): the tensor
    is created there and, with ``requires_grad=True``, is a leaf that receives ``.grad``."""
    from tests.kernels import _fake_cupy

    _fake_cupy.install(monkeypatch)
    t = FACTORIES[name](device="cuda", requires_grad=True)
    assert t.device == "cuda:0" and t.is_leaf and t.requires_grad
    (t * 2.0).sum().backward()
    assert is_cupy_array(t.grad)
    np.testing.assert_array_equal(t.grad.get(), np.full(t.shape, 2.0, t.dtype))
    assert FACTORIES[name](device="cpu").device == "cpu"


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "randn_like"])
def test_like_factories_keep_the_device_of_their_tensor(monkeypatch, name):
    from tests.kernels import _fake_cupy

    _fake_cupy.install(monkeypatch)
    like = getattr(minicnn, name)
    on_gpu = minicnn.ones(2, device="cuda")
    assert like(on_gpu).device == "cuda:0"
    assert like(on_gpu, device="cpu").device == "cpu"
    assert like(minicnn.ones(2)).device == "cpu"


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_on_cuda_without_a_gpu_say_why(name):
    if CUDA_REASON is None:
        pytest.skip("a GPU is usable here")
    with pytest.raises(minicnn.cuda.DeviceUnavailableError, match="CuPy|driver|GPU"):
        FACTORIES[name](device="cuda")


def test_tensor_to_takes_pytorchs_forms(monkeypatch):
    """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``, keywords."""
    from tests.kernels import _fake_cupy

    _fake_cupy.install(monkeypatch)
    x = minicnn.ones(2)
    assert x.to("cpu") is x and x.to(minicnn.float32) is x
    assert x.to(minicnn.float64).dtype == np.float64
    moved = x.to("cuda", minicnn.float64)
    assert (moved.device, moved.dtype, moved.is_cuda) == ("cuda:0", np.float64, True)
    like = x.to(minicnn.zeros(1, dtype=minicnn.float64, device="cuda"))
    assert (like.device, like.dtype) == ("cuda:0", np.float64)
    keywords = x.to(device="cuda:0", dtype=minicnn.int64)
    assert (keywords.device, keywords.dtype) == ("cuda:0", np.int64)
    assert not x.is_cuda and moved.cpu().device == "cpu"


@pytest.mark.parametrize("args, kwargs, error, match", [
    (("gpu",), {}, TypeError, r"expected a device \('cpu', 'cuda', 'cuda:N'\) or a dtype, got 'gpu'"),
    (("cuda:x",), {}, ValueError, r"device must be 'cpu', 'cuda' or 'cuda:N', got 'cuda:x'"),
    ((), {"devices": "cuda"}, TypeError, r"unexpected keyword arguments \['devices'\]"),
    (("cpu", minicnn.float32, 1), {}, TypeError, r"at most 2 positional arguments, got 3"),
])
def test_tensor_to_refuses_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        minicnn.ones(2).to(*args, **kwargs)


def test_device_count_and_synchronize(monkeypatch):
    if CUDA_REASON is not None:  # no GPU here: none counted, and synchronize says why
        assert minicnn.cuda.device_count() == 0
        with pytest.raises(minicnn.cuda.DeviceUnavailableError, match=r"synchronize\(\): "):
            minicnn.cuda.synchronize()
    from tests.kernels import _fake_cupy

    _fake_cupy.install(monkeypatch)  # one stand-in GPU
    assert minicnn.cuda.device_count() == 1
    minicnn.cuda.synchronize()
