"""Grade an exercise file: its forward and every gradient its backward returns against
minicnn's own operator (the output, and the gradients autograd computes under a random
upstream gradient), element by element, as :func:`minicnn.testing.gradcheck` does.

A wrong gradient is reported with its name, the configuration, the worst element (its
index, your value, minicnn's value, the float64 central difference of the forward there as
:func:`minicnn.testing.gradcheck` takes it, the error), how many elements are off, a guess at
the kind of mistake where one is easy to see (a flipped sign, a missing factor) and the
part of the card to reread.
"""
import importlib.util
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..testing.gradcheck import _compare
from ..tensor import Tensor
from .specs import BY_NAME, EXERCISES

# Both sides are float64 computations of the same formula in a different order:
# their difference is rounding, ~1e-15 relative; 1e-7 flags any real mistake.
ATOL, RTOL = 1e-8, 1e-7


@dataclass
class Result:
    name: str
    status: str       # "pass", "fail", "not started", "missing"
    message: str = ""


def load(path):
    """Import the exercise file at ``path`` as a fresh module."""
    spec = importlib.util.spec_from_file_location(f"minicnn_exercise_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reread(exercise, what):
    return (f"reread docs/ops/{exercise.card}.md, {exercise.reread[what]} "
            f"(`minicnn explain {exercise.explain}`)")


def _guess(yours, expected):
    """A likely cause, where the numbers show one."""
    scale = np.abs(expected).max()
    if scale == 0:
        return ""
    if np.allclose(yours, -expected, atol=ATOL * 10, rtol=RTOL * 10):
        return "yours is exactly minus minicnn's: a sign error. "
    ratio = np.sum(yours * expected) / np.sum(expected * expected)
    if abs(ratio) > 1e-3 and not np.isclose(ratio, 1) and np.allclose(
            yours, ratio * expected, atol=ATOL * 10 + 1e-9 * scale, rtol=RTOL * 10):
        return f"yours is minicnn's times {ratio:.6g}: a missing or extra factor. "
    return ""


def _central_difference(forward, arrays, position, index, grad_output, params, eps=1e-6):
    """d/dx sum(grad_output * forward(x)) at one element of input ``position``: the float64
    central difference :func:`minicnn.testing.gradcheck` takes, for the worst element only."""
    def loss(shift):
        shifted = [np.array(a, copy=True) for a in arrays]
        shifted[position][index] += shift
        return float(np.sum(grad_output * forward(*shifted, **params)))
    return (loss(eps) - loss(-eps)) / (2 * eps)


def _mismatch(exercise, case, what, yours, expected, numeric=None):
    """The failure message for one array (``what``: "forward" or a gradient name);
    ``numeric(index)``, where given, is the central difference of the forward there."""
    label = "the forward output" if what == "forward" else what
    where = f"{exercise.name} [{case.label}]"
    if np.shape(yours) != np.shape(expected):
        return (f"{where}: {label} has shape {np.shape(yours)}, expected {np.shape(expected)}.\n"
                f"  {_reread(exercise, what)}")
    report = _compare(0, yours, expected, ATOL, RTOL)
    if report.passed:
        return None
    off = int(np.sum(np.abs(yours - expected) > ATOL + RTOL * np.abs(expected)))
    check = (f", central difference of the forward {numeric(report.worst_index):.8g}"
             if numeric is not None else "")
    return (f"{where}: {label} is wrong.\n"
            f"  worst element {report.worst_index}: yours {report.analytic:.8g}, minicnn's "
            f"{report.numeric:.8g}{check} (abs error {report.max_abs_error:.3g}); "
            f"{off} of {expected.size} elements off (atol {ATOL:g}, rtol {RTOL:g}).\n"
            f"  {_guess(yours, expected)}{_reread(exercise, what)}")


def _copies(case, exercise):
    return [np.array(case.arrays[name], copy=True) for name in exercise.inputs]


def grade_module(exercise, module, seed=0):
    """Grade an imported exercise module; returns a :class:`Result`."""
    for function in (exercise.forward, exercise.backward):
        if not callable(getattr(module, function, None)):
            return Result(exercise.name, "fail", f"{exercise.name}: no function {function}()")
    rng = np.random.default_rng(seed)
    for case in exercise.cases(rng):
        differentiable = exercise.inputs[:len(exercise.grads)]
        tensors = [Tensor(np.array(case.arrays[name], copy=True),
                          requires_grad=name in differentiable) for name in exercise.inputs]
        output = exercise.reference(*tensors, **case.params)
        grad_output = rng.standard_normal(output.shape)
        output.backward(Tensor(grad_output))
        expected = [np.asarray(t.grad) for t in tensors[:len(exercise.grads)]]
        try:
            yours = getattr(module, exercise.forward)(*_copies(case, exercise), **case.params)
            message = _mismatch(exercise, case, "forward", np.asarray(yours, dtype=float),
                                np.asarray(output.data))
            if message:
                return Result(exercise.name, "fail", message)
            grads = getattr(module, exercise.backward)(np.array(grad_output, copy=True),
                                                       *_copies(case, exercise), **case.params)
        except NotImplementedError as error:
            return Result(exercise.name, "not started", str(error))
        except Exception:  # the student's code raised: show where
            return Result(exercise.name, "fail", f"{exercise.name} [{case.label}] raised:\n"
                          + traceback.format_exc(limit=-2))
        grads = (grads,) if len(exercise.grads) == 1 and not isinstance(grads, tuple) else grads
        if not isinstance(grads, (tuple, list)) or len(grads) != len(exercise.grads):
            return Result(exercise.name, "fail",
                          f"{exercise.backward} must return {len(exercise.grads)} arrays "
                          f"({', '.join(exercise.grads)}), got {type(grads).__name__}"
                          + (f" of {len(grads)}" if isinstance(grads, (tuple, list)) else ""))
        # every wrong gradient of the first failing configuration, not just the first one
        forward = getattr(module, exercise.forward)  # equal to minicnn's, checked above
        arrays = _copies(case, exercise)
        messages = [_mismatch(exercise, case, name, np.asarray(mine, dtype=float), reference,
                              lambda index, i=i: _central_difference(
                                  forward, arrays, i, index, grad_output, case.params))
                    for i, (name, mine, reference) in enumerate(zip(exercise.grads, grads,
                                                                     expected))]
        if any(messages):
            return Result(exercise.name, "fail", "\n".join(m for m in messages if m))
    return Result(exercise.name, "pass")


def grade(directory, name=None, seed=0):
    """Grade the exercise files in ``directory`` (all, or the one called ``name``)."""
    if name is not None and name not in BY_NAME:
        raise KeyError(f"no exercise {name!r}; the exercises are: {', '.join(BY_NAME)}")
    chosen = [BY_NAME[name]] if name else EXERCISES
    results = []
    for exercise in chosen:
        path = Path(directory) / f"{exercise.name}.py"
        if not path.is_file():
            results.append(Result(exercise.name, "missing",
                                  f"{path} does not exist (minicnn exercises init {directory})"))
            continue
        try:
            module = load(path)
        except Exception:
            results.append(Result(exercise.name, "fail", f"{path} does not import:\n"
                                  + traceback.format_exc(limit=-1)))
            continue
        results.append(grade_module(exercise, module, seed))
    return results
