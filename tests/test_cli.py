"""The ``minicnn check`` command and the coverage of its check cases."""
import subprocess
import sys

import numpy as np
import pytest

import minicnn
import minicnn.checks as checks
import minicnn.nn.functional as F
from minicnn.checks import Case
from minicnn.cli import main, run_check

# Public functional names that are aliases, helpers or have no gradient to check.
NOT_CHECKED = {"view", "concat", "clip", "unwrap_index", "argmax", "argmin", "index", "cast",
               "clone"}


def test_every_functional_operator_has_check_cases():
    public = {name for name, value in vars(F).items()
              if callable(value) and not name.startswith("_") and value.__module__.startswith("minicnn")}
    covered = {case.op for case in checks.all_cases()}
    missing = sorted(public - NOT_CHECKED - covered)
    assert not missing, f"operators without a case in minicnn/checks: {missing}"


def test_check_prints_a_table_and_passes(capsys):
    assert main(["check", "relu", "conv2d"]) == 0
    out = capsys.readouterr().out
    assert "max abs err" in out and "conv2d" in out and "relu" in out
    assert "grad f64" in out and "torch f32" in out
    assert " 0 failed" in out


def test_check_rejects_unknown_operator_and_lists_valid_ones(capsys):
    assert main(["check", "no_such_op"]) == 2
    err = capsys.readouterr().err
    assert "no_such_op" in err and "conv2d" in err


class _WrongSquare(minicnn.Function):
    """y = x^2 with a wrong backward (x instead of 2x): the check must fail."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_arrays
        return grad_out * x


def test_check_exits_nonzero_when_a_gradient_is_wrong(monkeypatch, capsys):
    bad = Case("wrong_square", "3x4", lambda rng: [rng.standard_normal((3, 4))],
               _WrongSquare.apply, lambda x: x * x)
    monkeypatch.setattr(checks, "all_cases", lambda: [bad])
    assert run_check([], seed=0, use_torch=True) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "wrong_square" in out


def test_python_dash_m_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "minicnn", "check", "sum"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sum" in proc.stdout


def test_gradcheck_case_inputs_are_float64():
    seen = []

    def fn(x):
        seen.append(x.dtype)
        return x * 2

    checks.run_case(Case("double", "2", lambda rng: [rng.standard_normal(2).astype(np.float32)],
                         fn, None), torch_available=False)
    assert seen and all(dtype == np.float64 for dtype in seen)


@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"]])
def test_help(argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0


# ------------------------------------------------------- minicnn check --device cuda
@pytest.fixture
def stand_in_gpu(monkeypatch):
    """tests/kernels/_fake_cupy.py as CuPy; the operators take their CuPy formulation (the
    kernels need the simulator: tests/kernels/test_gpu_dispatch_sim.py)."""
    from minicnn.ops import _gpu
    from tests.kernels import _fake_cupy

    _fake_cupy.install(monkeypatch)
    monkeypatch.setattr(_gpu, "serves", lambda *arrays: False)


def test_check_on_a_gpu_adds_a_row_against_the_cpu(stand_in_gpu, capsys):
    assert main(["check", "relu", "avg_pool2d", "--device", "cuda"]) == 0
    out = capsys.readouterr().out
    assert "cuda f32" in out and "torch f32" in out and " 0 failed" in out


class _OffOnTheGpu(minicnn.Function):
    """``y = 2x`` on the CPU, ``y = 2.01x`` on a GPU: the device check must catch it."""

    @staticmethod
    def forward(ctx, x):
        return x * (2.01 if minicnn.backend.is_cupy_array(x) else 2.0)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * 2.0


def test_check_on_a_gpu_fails_when_the_gpu_disagrees(stand_in_gpu, monkeypatch, capsys):
    bad = Case("off_on_gpu", "3x4", lambda rng: [rng.standard_normal((3, 4))],
               _OffOnTheGpu.apply, lambda x: 2 * x)
    monkeypatch.setattr(checks, "all_cases", lambda: [bad])
    assert run_check([], seed=0, use_torch=True, device="cuda") == 1
    out = capsys.readouterr().out
    assert "FAIL off_on_gpu [3x4] cuda f32: output 0:" in out
    assert "cuda:0" in out and " cpu " in out  # the message names both runs


def test_check_on_a_gpu_without_one_says_why(capsys):
    if minicnn.cuda.is_available():
        pytest.skip("a GPU is usable here")
    assert main(["check", "relu", "--device", "cuda"]) == 2
    assert "--device cuda: " in capsys.readouterr().err


def test_check_refuses_an_unknown_device(capsys):
    assert main(["check", "relu", "--device", "gpu"]) == 2
    assert "device must be 'cpu', 'cuda' or 'cuda:N', got 'gpu'" in capsys.readouterr().err
