"""One configuration of one operator, checked two ways.

A :class:`Case` names an operator and a configuration, makes its inputs
(NumPy arrays from a seeded generator) and says how to call it in minicnn and
in PyTorch. :func:`run_case` then

* checks the float64 gradient by central differences (``minicnn.testing.gradcheck_report``);
* when PyTorch is importable, compares the float32 output and every input
  gradient with PyTorch's under a random upstream gradient;
* with ``device="cuda"``, runs the float32 case on the GPU and compares it
  with the CPU run (``minicnn.testing.compare_devices``), within the case's
  float32 tolerance: the GPU rounds as another float32 engine does (other
  summation orders; cuBLAS instead of OpenBLAS).
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..tensor import Tensor


@dataclass
class Case:
    op: str
    config: str
    make_inputs: Callable  # rng -> list of arrays / values
    fn: Callable  # minicnn tensors -> Tensor (or tuple)
    torch_fn: Optional[Callable] = None  # torch tensors -> torch.Tensor; None: no parity check
    atol: float = 1e-5  # float32 parity tolerances
    rtol: float = 1e-4
    grad_inputs: Optional[list] = None  # positions that need a gradient (default: float arrays)
    gradcheck: bool = True


@dataclass
class CaseResult:
    op: str
    config: str
    check: str  # "grad f64", "torch f32" or "cuda f32" (against the CPU)
    max_abs_error: float
    max_rel_error: float
    passed: bool
    detail: str = ""


def _grad_positions(case, inputs):
    if case.grad_inputs is not None:
        return list(case.grad_inputs)
    return [i for i, a in enumerate(inputs)
            if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)]


def _float32(inputs):
    return [a.astype(np.float32) if isinstance(a, np.ndarray) and
            np.issubdtype(a.dtype, np.floating) else a for a in inputs]


def run_case(case: Case, seed: int = 0, torch_available: bool = True, device: str = "cpu") -> list:
    from ..testing import compare_devices, compare_with_torch, gradcheck_report

    results = []
    inputs = case.make_inputs(np.random.default_rng(seed))
    positions = _grad_positions(case, inputs)
    if case.gradcheck:
        tensors = [Tensor(a.astype(np.float64), requires_grad=i in positions)
                   if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)
                   else (Tensor(a) if isinstance(a, np.ndarray) else a)
                   for i, a in enumerate(inputs)]
        try:
            reports = gradcheck_report(case.fn, tensors, seed=seed)
            worst = max(reports, key=lambda r: r.max_abs_error)
            failed = [r for r in reports if not r.passed]
            results.append(CaseResult(case.op, case.config, "grad f64",
                                      max(r.max_abs_error for r in reports),
                                      max(r.max_rel_error for r in reports), not failed,
                                      "; ".join(r.describe() for r in failed) or worst.describe()))
        except Exception as exc:  # a crash is a failure, reported, not a traceback
            results.append(CaseResult(case.op, case.config, "grad f64", float("nan"), float("nan"),
                                      False, f"{type(exc).__name__}: {exc}"))
    comparisons = []
    if case.torch_fn is not None and torch_available:
        comparisons.append(("torch f32", lambda arrays: compare_with_torch(
            case.fn, case.torch_fn, arrays, atol=case.atol, rtol=case.rtol,
            grad_inputs=positions, seed=seed, check=False)))
    if device != "cpu":
        comparisons.append((f"{device.split(':')[0]} f32", lambda arrays: compare_devices(
            case.fn, arrays, device, atol=case.atol, rtol=case.rtol, grad_inputs=positions,
            seed=seed, check=False)))
    for check, compare in comparisons:
        try:
            report = compare(_float32(inputs))
            results.append(CaseResult(case.op, case.config, check, report.worst_abs,
                                      report.worst_rel, report.passed, "; ".join(report.failures)))
        except Exception as exc:  # a crash is a failure, reported, not a traceback
            results.append(CaseResult(case.op, case.config, check, float("nan"), float("nan"),
                                      False, f"{type(exc).__name__}: {exc}"))
    return results
