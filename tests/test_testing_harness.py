"""The harness itself: gradcheck and compare_with_torch must catch wrong backwards,
including ones that an all-ones upstream gradient would let through."""
import re

import numpy as np
import pytest
import torch

import minicnn as mc
from minicnn.backend import is_cupy_array
from minicnn import Function
from minicnn.nn import functional as F
from minicnn.testing import GradcheckError, compare_with_torch, gradcheck, gradcheck_report


class Double(Function):
    """y = 2 x, with a backward chosen by ``mistake`` (None: the right one)."""

    @staticmethod
    def forward(ctx, x, *, mistake=None):
        ctx.mistake = mistake
        return 2 * x

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.mistake == "scale":
            return 3 * grad_out  # wrong factor
        if ctx.mistake == "permute":
            # Right values, wrong places: reversed. Under an all-ones grad_out the
            # reversal changes nothing, so such a test cannot see it.
            return 2 * grad_out[::-1].copy()
        return 2 * grad_out


def leaf64(array):
    return mc.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


X = np.array([0.3, -1.2, 0.8, 2.0, -0.5])


def test_gradcheck_passes_a_right_backward():
    assert gradcheck(lambda t: Double.apply(t), [leaf64(X)])


def test_gradcheck_reports_the_worst_element_with_both_values():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: Double.apply(t, mistake="scale"), [leaf64(X)], seed=0)
    message = str(info.value)
    # Derived independently: L = <g, y> with gradcheck's upstream g (seed 0), so the
    # analytic gradient is 3 g, the numeric one 2 g, and the error |g| is worst where |g| is.
    upstream = np.random.default_rng(0).standard_normal(X.shape)
    worst = int(np.argmax(np.abs(upstream)))
    found = re.search(r"input 0 \(shape \(5,\)\): worst element \((\d+),\): analytic (\S+), "
                      r"numeric (\S+),", message)
    assert found, message
    assert int(found.group(1)) == worst
    assert float(found.group(2)) == pytest.approx(3 * upstream[worst], rel=1e-9)
    assert float(found.group(3)) == pytest.approx(2 * upstream[worst], rel=1e-6)


def _ones_upstream_check(fn, x):
    """What a weak test does: backward of y.sum() against central differences of y.sum()."""
    t = leaf64(x)
    fn(t).sum().backward()
    numeric = np.zeros_like(x)
    for k in range(x.size):
        step = np.zeros_like(x)
        step[k] = 1e-6
        with mc.no_grad():
            plus = fn(mc.tensor(x + step)).sum().item()
            minus = fn(mc.tensor(x - step)).sum().item()
        numeric[k] = (plus - minus) / 2e-6
    return np.allclose(t.grad, numeric, atol=1e-6)


def test_permuted_gradient_passes_all_ones_but_not_gradcheck():
    wrong = lambda t: Double.apply(t, mistake="permute")  # noqa: E731
    assert _ones_upstream_check(wrong, X)  # the weak check is fooled...
    with pytest.raises(GradcheckError, match="worst element"):
        gradcheck(wrong, [leaf64(X)])  # ...the random upstream gradient is not


def test_permuted_gradient_passes_all_ones_but_not_compare_with_torch():
    wrong = lambda t: Double.apply(t, mistake="permute")  # noqa: E731
    x32 = X.astype(np.float32)
    ours, theirs = mc.tensor(x32, requires_grad=True), torch.tensor(x32, requires_grad=True)
    wrong(ours).sum().backward()
    (2 * theirs).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())  # fooled by all ones
    with pytest.raises(AssertionError, match=r"grad input 0: \d+ of 5 elements differ"):
        compare_with_torch(wrong, lambda t: 2 * t, [x32])


def test_compare_with_torch_catches_wrong_values_dtypes_and_graphs():
    x = X.astype(np.float32)
    with pytest.raises(AssertionError, match="output 0: 5 of 5 elements differ"):
        compare_with_torch(lambda t: t * 2, lambda t: t * 3, [x])
    with pytest.raises(AssertionError, match="output 0: dtype float64 != PyTorch's float32"):
        compare_with_torch(lambda t: t.double(), lambda t: t * 1, [x])
    with pytest.raises(AssertionError, match="output 0: requires_grad is False in minicnn, "
                                             "True in PyTorch"):
        compare_with_torch(lambda t: (t * 2).detach(), lambda t: t * 2, [x])
    with pytest.raises(AssertionError, match=r"output 0: shape \(5,\) != PyTorch's \(1, 5\)"):
        compare_with_torch(lambda t: t, lambda t: t[None], [x])
    report = compare_with_torch(lambda t: t * 2, lambda t: t * 2, [x])
    assert report.passed and report.worst_abs == 0.0


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_compare_with_torch_treats_matching_nan_and_inf_as_equal():
    x = np.array([0.0, 1.0, -1.0], np.float32)
    compare_with_torch(lambda t: t.log(), torch.log, [x])  # -inf, 0, nan in both


def test_gradcheck_needs_float64_leaves():
    with pytest.raises(TypeError, match="gradcheck: input 0 has dtype float32; use float64"):
        gradcheck(lambda t: t * 2, [mc.tensor(X.astype(np.float32), requires_grad=True)])
    with pytest.raises(ValueError, match="gradcheck: no input has requires_grad=True"):
        gradcheck(lambda t: t * 2, [mc.tensor(X)])
    with pytest.raises(ValueError, match="gradcheck: input 0 is not a leaf"):
        gradcheck(lambda t: t * 2, [leaf64(X) * 1])


def test_gradcheck_perturbs_non_contiguous_inputs():
    """A transposed view: perturbing a reshaped copy would leave the input unchanged."""
    base = np.arange(6.0).reshape(2, 3) / 7
    view = mc.from_numpy(base.T).requires_grad_()
    assert not view.data.flags.c_contiguous
    assert gradcheck(lambda t: (t * t).sum(0), [view])
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: Double.apply(t, mistake="scale"),
                  [mc.from_numpy(base.T.copy().T).requires_grad_()])


def test_gradcheck_with_an_integer_output_first():
    """(indices, values): the upstream gradient must go to the float output."""
    x = leaf64([[0.1, 0.9, 0.4], [0.7, 0.2, 0.3]])
    assert gradcheck(lambda t: tuple(reversed(F.max(t, 1))), [x])
    reports = gradcheck_report(lambda t: F.max(t, 1), [x])
    assert len(reports) == 1 and reports[0].passed


def test_check_cases_of_the_core_families_pass():
    """``minicnn check`` for elementwise, reduce, shape, linalg: every case passes."""
    from importlib import import_module

    from minicnn.checks import run_case

    failures = []
    for family in ("elementwise", "reduce", "shape", "linalg"):
        cases = import_module(f"minicnn.checks.{family}").CASES
        ops = {case.op for case in cases}
        assert len(cases) >= 2 * len(ops), family  # at least two configurations per op
        for case in cases:
            failures += [r for r in run_case(case) if not r.passed]
    assert not failures, "\n".join(f"{r.op} [{r.config}] {r.check}: {r.detail}" for r in failures)


# ------------------------------------------------------------------ compare_devices
class _LeavesTheGpu(Function):
    """``y = 2x``, computed on the host for GPU input: the result is right but on the CPU."""

    @staticmethod
    def forward(ctx, x):
        return (x.get() if is_cupy_array(x) else x) * 2.0

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out * 2.0


def test_compare_devices_reports_results_that_leave_the_gpu(monkeypatch):
    from minicnn.ops import _gpu
    from minicnn.testing import compare_devices
    from tests.kernels import _fake_cupy

    _fake_cupy.install(monkeypatch)
    monkeypatch.setattr(_gpu, "serves", lambda *arrays: False)
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    assert compare_devices(lambda t: t * 2.0, [x], "cuda").passed
    report = compare_devices(_LeavesTheGpu.apply, [x], "cuda", check=False)
    assert report.failures == ["output 0: on cpu, not on cuda:0",
                               "grad input 0: on cpu, not on cuda:0"]
    with pytest.raises(AssertionError, match="cuda:0 and cpu disagree"):
        compare_devices(_LeavesTheGpu.apply, [x], "cuda")
