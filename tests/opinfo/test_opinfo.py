"""PyTorch's own test inputs (OpInfo / ModuleInfo) run through minicnn.

For each pair in ``tests/opinfo/mapping.py``, every ``sample_inputs`` (and
``reference_inputs``) case of the OpInfo, in float64: the output against
PyTorch's, then every input gradient under one random upstream gradient per
output; every ``error_inputs`` case must raise in minicnn too. For layers,
every ModuleInfo input in training and in eval mode: the output, the input
and parameter gradients, and the buffers after the forward (running
statistics).

A form minicnn does not support on purpose raises ``UnsupportedForm`` naming
a row of docs/unsupported.md; that is asserted, and nothing else is skipped.
"""
import pathlib
import re

import numpy as np
import pytest
import torch
from torch.testing._internal.common_methods_invocations import op_db
from torch.testing._internal.common_modules import module_db

import minicnn
from minicnn._validation import UnsupportedForm

from .convert import Converter, as_numpy, flatten_outputs
from .mapping import MODULES, OPS

# float64 on both sides: the formulas differ in rounding order only.
RTOL, ATOL = 1e-7, 1e-9

# What an error input may raise in minicnn (PyTorch raises RuntimeError where
# minicnn, like Python, says TypeError/ValueError/IndexError).
ERRORS = (TypeError, ValueError, IndexError, RuntimeError, NotImplementedError, ZeroDivisionError)

_DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "unsupported.md"
UNSUPPORTED_KEYS = set(re.findall(r"^\|\s*`([a-z0-9_-]+)`\s*\|", _DOC.read_text(), re.M))

_OPINFOS = {(o.name, o.variant_test_name): o for o in op_db}
_MODULEINFOS = {m.module_cls.__name__: m for m in module_db}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """PyTorch's thread pool on tiny samples costs ~25 ms a call on 2 shared cores
    (measured: max_pool2d's 1440 samples took 94 s with the default threads, 7 s with one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _opinfo(entry):
    return _OPINFOS[(entry.name, entry.variant)]


def test_mapping_names_exist():
    missing = [e.id for e in OPS if (e.name, e.variant) not in _OPINFOS]
    missing += [e.name for e in MODULES if e.name not in _MODULEINFOS]
    assert not missing, f"not in PyTorch's op_db/module_db: {missing}"


def test_unsupported_table_is_read():
    assert UNSUPPORTED_KEYS, f"no rows found in {_DOC}"


def _expect_documented(error):
    """``error`` (an UnsupportedForm) names a row of docs/unsupported.md."""
    assert error.key in UNSUPPORTED_KEYS, (
        f"UnsupportedForm key {error.key!r} is not a row of docs/unsupported.md")


def _close(what, ours, theirs):
    ours, theirs = as_numpy(ours), as_numpy(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != torch {theirs.shape}"
    if theirs.dtype.kind in "biu":
        assert ours.dtype.kind == theirs.dtype.kind, f"{what}: dtype {ours.dtype} != {theirs.dtype}"
        if not np.array_equal(ours, theirs):
            np.testing.assert_array_equal(ours, theirs, err_msg=what)
    else:
        assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} != torch {theirs.dtype}"
        if not np.allclose(ours, theirs, rtol=RTOL, atol=ATOL, equal_nan=True):
            # assert_allclose (slow: a few thousand calls here) only to explain a failure
            np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, equal_nan=True,
                                       err_msg=what)


def _upstream(rng, outputs):
    """One random upstream gradient per floating output that carries a gradient."""
    return [torch.from_numpy(rng.standard_normal(o.shape)).to(o.dtype)
            if isinstance(o, torch.Tensor) and o.requires_grad else None for o in outputs]


def _check_grads(what, torch_outputs, ours_outputs, leaves, rng):
    """Back-propagate the same random upstream gradient through both; compare each leaf's."""
    grads = _upstream(rng, torch_outputs)
    pairs = [(t, o, g) for t, o, g in zip(torch_outputs, ours_outputs, grads) if g is not None]
    if not pairs or not leaves:
        return
    theirs = torch.autograd.grad([t for t, _, _ in pairs], [t for t, _ in leaves],
                                 [g for _, _, g in pairs], allow_unused=True)
    loss = None
    for _, ours, g in pairs:
        assert isinstance(ours, minicnn.Tensor) and ours.requires_grad, (
            f"{what}: minicnn's output carries no gradient where PyTorch's does")
        term = (ours * minicnn.Tensor._wrap(g.numpy())).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    for k, ((_, ours), grad) in enumerate(zip(leaves, theirs)):
        expected = np.zeros(ours.shape) if grad is None else grad.numpy()
        got = np.zeros(ours.shape) if ours.grad is None else ours.grad
        _close(f"{what}: gradient of input {k}", got, expected)


def _run_sample(entry, sample, rng, grads=True):
    what = f"{entry.id}: {sample.summary() if hasattr(sample, 'summary') else sample}"
    convert = Converter()
    try:
        args = convert((sample.input,) + tuple(sample.args))
        kwargs = convert(dict(sample.kwargs))
        ours = entry.fn(*args, **kwargs)
    except UnsupportedForm as error:
        _expect_documented(error)
        return
    if entry.mask_axes is None:
        theirs = _opinfo(entry).op(*convert.torch((sample.input,) + tuple(sample.args)),
                                   **convert.torch(dict(sample.kwargs)))
    else:
        theirs = _random_reference(entry, sample, ours, convert)
    ours_flat, theirs_flat = flatten_outputs(ours), flatten_outputs(theirs)
    assert len(ours_flat) == len(theirs_flat), (
        f"{what}: {len(ours_flat)} outputs, torch gives {len(theirs_flat)}")
    for k, (o, t) in enumerate(zip(ours_flat, theirs_flat)):
        _close(f"{what}: output {k}", o, t)
    if grads:
        _check_grads(what, theirs_flat, ours_flat, convert.leaves(), rng)


def _random_reference(entry, sample, ours, convert):
    """A random op (dropout) computed by PyTorch with minicnn's mask: no two RNGs agree, so
    the mask is read off minicnn's output (kept where it is nonzero; the samples hold no
    exact zeros), shared over ``entry.mask_axes``, and PyTorch evaluates
    ``y = x * mask / (1 - p)`` (identity when not training or p = 0, zeros when p = 1).
    A mask of the wrong structure (single elements dropped inside a kept channel) or a
    wrong scale then shows as an output mismatch; the gradients follow by autograd."""
    x = convert.torch(sample.input)
    p = float(sample.kwargs.get("p", sample.args[0] if sample.args else 0.5))
    if not sample.kwargs.get("training", True) or p == 0:
        return x * 1.0
    if p == 1:
        return x * 0.0
    axes = tuple(a % x.ndim for a in entry.mask_axes(x.ndim))
    kept = np.asarray(as_numpy(ours) != 0)
    if axes:
        kept = kept.any(axis=axes, keepdims=True)
    return x * torch.from_numpy(kept).to(x.dtype) / (1 - p)


def _samples(entry, inputs):
    """``inputs`` ("sample_inputs" or "reference_inputs") of the entry's OpInfo in its dtype."""
    # reference_inputs without requires_grad: they are compared forward only, and
    # PyTorch's generators fail asking a gradient of their integer tensors.
    grad = inputs == "sample_inputs" and entry.dtype.startswith("float")
    return getattr(_opinfo(entry), inputs)("cpu", getattr(torch, entry.dtype), requires_grad=grad)


@pytest.mark.parametrize("entry", OPS, ids=lambda e: e.id)
def test_sample_inputs(entry):
    rng = np.random.default_rng(0)
    for sample in _samples(entry, "sample_inputs"):
        _run_sample(entry, sample, rng)


@pytest.mark.parametrize("entry", [e for e in OPS if e.reference], ids=lambda e: e.id)
def test_reference_inputs(entry):
    opinfo = _opinfo(entry)
    if opinfo.reference_inputs_func is None:
        return  # reference_inputs would repeat sample_inputs, run above
    rng = np.random.default_rng(1)
    for sample in _samples(entry, "reference_inputs"):
        # Forward only, as PyTorch's own reference tests: its backward fails on some
        # of these (clamp with broadcast tensor bounds) or differs between its
        # vectorised and scalar loops (relu6 at NaN).
        _run_sample(entry, sample, rng, grads=False)


@pytest.mark.parametrize("entry", [e for e in OPS if _opinfo(e).error_inputs_func is not None],
                         ids=lambda e: e.id)
def test_error_inputs(entry):
    for error_input in _opinfo(entry).error_inputs("cpu"):
        sample = error_input.sample_input
        convert = Converter()
        with pytest.raises(ERRORS):  # building the minicnn tensors may be what fails
            entry.fn(*convert((sample.input,) + tuple(sample.args)), **convert(dict(sample.kwargs)))


# ------------------------------------------------------------------ modules
def _build(entry, constructor):
    """minicnn's layer from a ModuleInfo constructor input (tensors converted, no cast)."""
    convert = Converter()
    return entry.cls(*convert(tuple(constructor.args)), **convert(dict(constructor.kwargs)))


def _module_pair(entry, module_input):
    """PyTorch's and minicnn's layer, both in float64, minicnn's holding PyTorch's state."""
    info = _MODULEINFOS[entry.name]
    constructor = module_input.constructor_input
    theirs = info.module_cls(*constructor.args, **constructor.kwargs).double()
    ours = _build(entry, constructor).double()
    state = {k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    return theirs, ours


def _run_module_input(entry, module_input, training, rng):
    what = f"{entry.name}({module_input.constructor_input}) training={training}"
    try:
        theirs, ours = _module_pair(entry, module_input)
    except UnsupportedForm as error:
        _expect_documented(error)
        return
    theirs.train(training)
    ours.train(training)
    convert = Converter()
    forward = module_input.forward_input
    args, kwargs = convert(tuple(forward.args)), convert(dict(forward.kwargs))
    try:
        out = ours(*args, **kwargs)
    except UnsupportedForm as error:
        _expect_documented(error)
        return
    expected = theirs(*convert.torch(tuple(forward.args)), **convert.torch(dict(forward.kwargs)))
    ours_flat, theirs_flat = flatten_outputs(out), flatten_outputs(expected)
    assert len(ours_flat) == len(theirs_flat), what
    for k, (o, t) in enumerate(zip(ours_flat, theirs_flat)):
        _close(f"{what}: output {k}", o, t)
    # Parameters join the inputs whose gradients are compared.
    their_params = dict(theirs.named_parameters())
    leaves = convert.leaves() + [(their_params[name], p) for name, p in ours.named_parameters()]
    _check_grads(what, theirs_flat, ours_flat, leaves, rng)
    their_buffers = dict(theirs.named_buffers())
    for name, buffer in ours.named_buffers():
        _close(f"{what}: buffer {name}", buffer, their_buffers[name])


@pytest.mark.parametrize("entry", MODULES, ids=lambda e: e.name)
def test_module_inputs(entry):
    info = _MODULEINFOS[entry.name]
    rng = np.random.default_rng(2)
    for training in (True, False):
        for module_input in info.module_inputs_func(info, device="cpu", dtype=torch.float64,
                                                    requires_grad=True, training=training):
            _run_module_input(entry, module_input, training, rng)


@pytest.mark.parametrize("entry", [e for e in MODULES
                                   if _MODULEINFOS[e.name].module_error_inputs_func],
                         ids=lambda e: e.name)
def test_module_error_inputs(entry):
    info = _MODULEINFOS[entry.name]
    for error_input in info.module_error_inputs_func(info, device="cpu", dtype=torch.float64,
                                                     requires_grad=False, training=True):
        module_input = error_input.module_error_input
        with pytest.raises(ERRORS):
            ours = _build(entry, module_input.constructor_input)
            forward = module_input.forward_input
            convert = Converter()
            ours(*convert(tuple(forward.args)), **convert(dict(forward.kwargs)))
