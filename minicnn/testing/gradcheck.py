"""Finite-difference gradient checks (float64 central differences).

For inputs ``x_1..x_m`` and outputs ``y_1..y_k = fn(x)``, draw a random
upstream gradient ``g_j`` for each output (not all ones: an all-ones ``g``
lets a backward that, say, swaps two output positions pass) and check the
scalar ``L(x) = sum_j <g_j, y_j>``:

* analytic: ``dL/dx_i`` from ``backward`` with ``g`` as the gradient;
* numeric:  ``(L(x + eps e) - L(x - eps e)) / (2 eps)`` for every element ``e``
  of every input that requires a gradient.

The truncation error of central differences is ``O(eps^2 f''')`` and the
rounding error ``O(u |L| / eps)``; with float64 (``u = 1.1e-16``) and
``eps = 1e-6`` both stay near 1e-10 for smooth functions of O(1) values, so
``atol = 1e-5, rtol = 1e-4`` has ample margin yet fails on any wrong formula.
"""
from dataclasses import dataclass

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and the numeric gradient disagree (the message says where)."""


@dataclass
class InputReport:
    """How one input's analytic gradient compares with the numeric one."""

    position: int
    shape: tuple
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    passed: bool

    def describe(self) -> str:
        return (f"input {self.position} (shape {self.shape}): worst element {self.worst_index}: "
                f"analytic {self.analytic:.10g}, numeric {self.numeric:.10g}, "
                f"abs error {self.max_abs_error:.3g}, rel error {self.max_rel_error:.3g}")


def _float_outputs(result):
    """The floating-point tensors ``fn`` returned, in order (indices and masks are skipped).

    Chosen by dtype, not by ``requires_grad``, so the list is the same with
    and without grad mode and each output keeps its upstream gradient.
    """
    results = [result] if isinstance(result, Tensor) else list(result)
    return [r for r in results if isinstance(r, Tensor) and np.issubdtype(r.dtype, np.floating)]


def _to_host(array):
    return array.get() if hasattr(array, "get") else np.asarray(array)


def gradcheck_report(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Compare analytic and numeric gradients of ``fn`` at ``inputs``; one report per input.

    ``inputs`` are Tensors; those with ``requires_grad`` are checked and must
    be float64 (float32 central differences are too coarse to judge a
    gradient). ``fn(*inputs)`` returns a Tensor or a tuple of them and must
    be deterministic.
    """
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; use float64 "
                            f"(central differences in float32 cannot resolve a gradient)")
        if not inputs[i].is_leaf:
            raise ValueError(f"gradcheck: input {i} is not a leaf tensor (its .grad would not "
                             f"be kept); pass a leaf, e.g. x.detach().requires_grad_()")
        inputs[i].grad = None

    outputs = _float_outputs(fn(*inputs))
    if not any(out.requires_grad for out in outputs):
        raise ValueError("gradcheck: fn returned no floating-point tensor that requires grad")
    rng = np.random.default_rng(seed)
    upstream = [rng.standard_normal(out.shape) for out in outputs]

    # Analytic: one backward of L = sum_j <g_j, y_j> (outputs that do not depend
    # on any checked input contribute nothing).
    total = None
    for out, g in zip(outputs, upstream):
        if out.requires_grad:
            term = (out * Tensor._wrap(np.asarray(g, dtype=out.dtype))).sum()
            total = term if total is None else total + term
    total.backward()

    def loss_value():
        with no_grad():
            outs = _float_outputs(fn(*inputs))
        return sum(float(np.sum(_to_host(o.data) * g)) for o, g in zip(outs, upstream))

    reports = []
    for i in checked:
        tensor = inputs[i]
        analytic = (np.zeros(tensor.shape) if tensor.grad is None else _to_host(tensor.grad))
        numeric = np.zeros(tensor.shape)
        data = tensor.data  # perturbed in place, element by element (any memory layout)
        for k in np.ndindex(*tensor.shape):
            original = data[k].item()
            data[k] = original + eps
            plus = loss_value()
            data[k] = original - eps
            minus = loss_value()
            data[k] = original
            numeric[k] = (plus - minus) / (2 * eps)
        reports.append(_compare(i, analytic, numeric, atol, rtol))
        tensor.grad = None
    return reports


def _compare(position, analytic, numeric, atol, rtol):
    error = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    if error.size == 0:
        return InputReport(position, analytic.shape, 0.0, 0.0, (), 0.0, 0.0, True)
    excess = error - allowed
    worst = np.unravel_index(int(np.argmax(excess)), error.shape)
    # Relative error where it means something: elements whose numeric gradient is at least
    # atol in size (below that, central-difference noise ~1e-10 over a near-zero reference
    # would dominate; the absolute error is the measure there).
    sized = np.abs(numeric) >= atol
    rel = float((error[sized] / np.abs(numeric[sized])).max()) if sized.any() else 0.0
    return InputReport(position, analytic.shape, float(error.max()), rel,
                       tuple(int(w) for w in worst),
                       float(analytic[worst]), float(numeric[worst]), bool((excess <= 0).all()))


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0) -> bool:
    """Raise :class:`GradcheckError` naming the worst element if any gradient is wrong.

    Returns True when every input passes. See :func:`gradcheck_report`.
    """
    reports = gradcheck_report(fn, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
    failed = [r for r in reports if not r.passed]
    if failed:
        lines = "\n  ".join(r.describe() for r in failed)
        raise GradcheckError(f"gradient check failed (atol={atol}, rtol={rtol}, eps={eps}):\n  {lines}")
    return True
