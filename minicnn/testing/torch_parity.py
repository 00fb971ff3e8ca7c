"""Run one operator in minicnn and in PyTorch on the same data and compare.

PyTorch is the oracle here and nowhere else: it is imported only when these
helpers run, never by the engine.
"""
from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor


@dataclass
class ParityReport:
    """Largest differences found, per compared quantity ("output 0", "grad input 1", ...)."""

    max_abs_error: dict = field(default_factory=dict)
    max_rel_error: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def worst_abs(self) -> float:
        return max(self.max_abs_error.values(), default=0.0)

    @property
    def worst_rel(self) -> float:
        return max(self.max_rel_error.values(), default=0.0)


def _as_list(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _host(array):
    return array.get() if hasattr(array, "get") else np.asarray(array)


def _check(report, what, ours, theirs, atol, rtol, names=("minicnn", "PyTorch")):
    """Record in ``report`` how far ``ours`` is from the reference ``theirs`` (``names``: the
    two runs, for the messages)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        report.failures.append(f"{what}: shape {ours.shape} != {names[1]}'s {theirs.shape}")
        return
    if ours.size == 0:
        report.max_abs_error[what] = report.max_rel_error[what] = 0.0
        return
    # Equal values (including equal infinities) and nan against nan agree.
    same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
    with np.errstate(invalid="ignore"):
        error = np.where(same, 0.0, np.abs(ours - theirs))
        bad = ~(same | (error <= atol + rtol * np.abs(theirs)))
        relative = error / np.maximum(np.abs(theirs), 1e-12)
    report.max_abs_error[what] = float(np.max(error))  # nan if any element is nan
    report.max_rel_error[what] = float(np.max(relative))
    if bad.any():
        k = np.unravel_index(int(np.argmax(np.where(bad, error, -1))), error.shape)
        report.failures.append(
            f"{what}: {int(bad.sum())} of {error.size} elements differ beyond atol={atol}, "
            f"rtol={rtol}; worst at {tuple(int(i) for i in k)}: {names[0]} {ours[k]:.8g}, "
            f"{names[1]} {theirs[k]:.8g}")


def _check_dtype(report, what, ours, theirs):
    theirs = str(theirs).replace("torch.", "")
    if np.dtype(ours).name != theirs:
        report.failures.append(f"{what}: dtype {np.dtype(ours).name} != PyTorch's {theirs}")


def compare_with_torch(fn, torch_fn, inputs, *, atol=1e-5, rtol=1e-4, grad_inputs=None,
                       seed=0, check=True):
    """Compare ``fn(*inputs)`` (minicnn) with ``torch_fn(*inputs)`` and all input gradients.

    ``inputs`` are NumPy arrays (or other values, passed through as they
    are). Floating arrays require a gradient unless ``grad_inputs`` lists the
    positions that do. Both outputs are back-propagated with the same random
    upstream gradient, then the outputs and every input gradient are
    compared with ``|ours - theirs| <= atol + rtol |theirs|``.
    Dtypes must match too (no silent float64), and an output must require a
    gradient in minicnn exactly when it does in PyTorch. Raises
    AssertionError listing every mismatch when ``check``; returns a
    :class:`ParityReport`.
    """
    import torch

    # NumPy scalars (what 0-d arithmetic gives) are 0-d arrays here.
    inputs = [np.asarray(a) if isinstance(a, np.generic) else a for a in inputs]
    if grad_inputs is None:
        grad_inputs = [i for i, a in enumerate(inputs)
                       if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)]
    ours_in, theirs_in = [], []
    for i, a in enumerate(inputs):
        if isinstance(a, np.ndarray):
            ours_in.append(Tensor(a.copy(), requires_grad=i in grad_inputs))
            theirs_in.append(torch.tensor(a.copy(), requires_grad=i in grad_inputs))
        else:
            ours_in.append(a)
            theirs_in.append(a)

    ours_out = [o for o in _as_list(fn(*ours_in)) if isinstance(o, Tensor)]
    theirs_out = [o for o in _as_list(torch_fn(*theirs_in)) if isinstance(o, torch.Tensor)]
    report = ParityReport()
    if len(ours_out) != len(theirs_out):
        report.failures.append(f"minicnn returned {len(ours_out)} tensors, PyTorch {len(theirs_out)}")
    rng = np.random.default_rng(seed)
    ours_terms, theirs_terms = [], []
    for k, (o, t) in enumerate(zip(ours_out, theirs_out)):
        _check_dtype(report, f"output {k}", o.dtype, t.dtype)
        _check(report, f"output {k}", _host(o.data), t.detach().numpy(), atol, rtol)
        if o.requires_grad != t.requires_grad:
            report.failures.append(f"output {k}: requires_grad is {o.requires_grad} in minicnn, "
                                   f"{t.requires_grad} in PyTorch")
        elif o.requires_grad and o.shape == tuple(t.shape):  # (a shape mismatch is reported)
            g = rng.standard_normal(o.shape).astype(o.dtype)
            ours_terms.append((o, g))
            theirs_terms.append((t, torch.from_numpy(g.copy())))
    if ours_terms:
        ours_loss = sum((o * Tensor._wrap(g).to(o.device)).sum() for o, g in ours_terms)
        ours_loss.backward()
        torch.autograd.backward([t for t, _ in theirs_terms], [g for _, g in theirs_terms])
        for i in grad_inputs:
            ours_grad, theirs_grad = ours_in[i].grad, theirs_in[i].grad
            if ours_grad is None and theirs_grad is None:
                continue
            if ours_grad is None or theirs_grad is None:
                report.failures.append(f"grad input {i}: minicnn {'None' if ours_grad is None else 'set'}"
                                       f", PyTorch {'None' if theirs_grad is None else 'set'}")
                continue
            _check_dtype(report, f"grad input {i}", ours_grad.dtype, theirs_grad.dtype)
            _check(report, f"grad input {i}", _host(ours_grad), theirs_grad.numpy(), atol, rtol)
    if check and report.failures:
        raise AssertionError("minicnn and PyTorch disagree:\n  " + "\n  ".join(report.failures))
    return report
