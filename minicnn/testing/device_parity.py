"""Run one operator on a GPU and on the CPU and compare: ``minicnn check --device cuda``.

The same float32 inputs go to both devices; both runs are back-propagated with
the same random upstream gradient. Compared, within the caller's tolerance:
every output, every input gradient, and every input array after the call (an
operator may update an input in place: batch norm's running statistics). The
GPU run must also keep its results on the GPU: outputs, input gradients and
updated inputs that came back on the host are failures.
"""
import numpy as np

from ..backend import is_cupy_array
from ..tensor import Tensor, tensor
from .torch_parity import ParityReport, _as_list, _check, _host


def _where(array):
    return f"cuda:{array.device.id}" if is_cupy_array(array) else "cpu"


def _run(fn, inputs, grad_inputs, device, seed):
    """Outputs, input gradients and inputs after the call of ``fn`` on ``device`` (arrays)."""
    tensors = [tensor(a, requires_grad=i in grad_inputs, device=device)
               if isinstance(a, np.ndarray) else a for i, a in enumerate(inputs)]
    outs = [o for o in _as_list(fn(*tensors)) if isinstance(o, Tensor)]
    rng = np.random.default_rng(seed)
    terms = [(o, rng.standard_normal(o.shape).astype(o.dtype)) for o in outs if o.requires_grad]
    if terms:
        # each upstream gradient on its output's device: a misplaced output is reported below
        sum((o * tensor(g, device=o.device)).sum() for o, g in terms).backward()
    return ([o.data for o in outs], [tensors[i].grad for i in grad_inputs],
            [t.data for t in tensors if isinstance(t, Tensor)])


def compare_devices(fn, inputs, device="cuda", *, atol=1e-5, rtol=1e-4, grad_inputs=None,
                    seed=0, check=True):
    """Compare ``fn(*inputs)`` on ``device`` with the same call on the CPU (the reference).

    ``inputs``: NumPy arrays (floating ones require a gradient unless
    ``grad_inputs`` lists the positions that do) or other values, passed as
    they are. Each difference must satisfy ``|gpu - cpu| <= atol + rtol |cpu|``.
    Raises AssertionError listing every mismatch when ``check``; returns a
    :class:`~minicnn.testing.ParityReport`.
    """
    from .._device import parse_device

    kind, index = parse_device(device)
    expected = "cpu" if kind == "cpu" else f"cuda:{index}"
    inputs = [np.asarray(a) if isinstance(a, np.generic) else a for a in inputs]
    if grad_inputs is None:
        grad_inputs = [i for i, a in enumerate(inputs)
                       if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)]
    runs = [_run(fn, inputs, grad_inputs, where, seed) for where in (device, "cpu")]
    report = ParityReport()
    names = (expected, "cpu")
    for label, ours, theirs in zip(("output", "grad input", "input after the call"), *runs):
        if len(ours) != len(theirs):
            report.failures.append(f"{label}: {len(ours)} on {expected}, {len(theirs)} on cpu")
        for k, (a, b) in enumerate(zip(ours, theirs)):
            what = f"{label} {grad_inputs[k] if label == 'grad input' else k}"
            if a is None or b is None:
                if (a is None) != (b is None):
                    report.failures.append(f"{what}: missing on {expected if a is None else 'cpu'}")
                continue
            if _where(a) != expected:
                report.failures.append(f"{what}: on {_where(a)}, not on {expected}")
            if np.dtype(a.dtype) != np.dtype(b.dtype):
                report.failures.append(f"{what}: dtype {a.dtype} on {expected}, {b.dtype} on cpu")
            _check(report, what, _host(a), _host(b), atol, rtol, names)
    if check and report.failures:
        raise AssertionError(f"{expected} and cpu disagree:\n  " + "\n  ".join(report.failures))
    return report
