"""``minicnn.onnx.export``: a model's forward as an ONNX graph, for ONNX Runtime and others.

Export *traces* one forward pass: while the model runs on the example input,
``Function.apply`` reports each operator it applies (its class, arguments,
options and result) to a recorder, and each record becomes the ONNX node(s)
of :mod:`minicnn.onnx._converters` (Conv, BatchNormalization, Gemm, MaxPool,
GlobalAveragePool, HardSwish, Concat, Slice, Reshape/Transpose for the
channel shuffle, ...). Parameters and buffers become initializers named by
their state-dict keys. When nothing is traced the hook costs one test of a
module global per operator application.

A trace records one path: Python control flow that depends on the input's
values is frozen as it went, and shapes are fixed except the batch axis when
``dynamic_batch=True`` (the default), where the graph takes any batch size.
In-place methods (``x.add_(y)``) are followed: later uses of ``x`` read the
new value. A Function without a converter stops the export with an error
naming it.

Needs the ``onnx`` package (``pip install "minicnn[onnx]"``); running the
graph needs an ONNX runtime (``onnxruntime``), which minicnn does not.
"""
import os

import numpy as np

from .. import function as _function
from ..autograd import no_grad
from ..tensor import Tensor
from ._converters import CONVERTERS
from ._graph import GraphBuilder, OnnxExportError, host

__all__ = ["export", "OnnxExportError", "supported_functions"]

_MISSING = "ONNX export needs the onnx package: pip install \"minicnn[onnx]\" (or pip install onnx)"


def supported_functions() -> list:
    """The names of the Functions that export translates, sorted."""
    return sorted(function.__name__ for function in CONVERTERS)


def _as_tensors(example_input):
    items = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    tensors = []
    for position, item in enumerate(items):
        if isinstance(item, Tensor):
            tensors.append(Tensor(item.data.copy()))
        elif isinstance(item, np.ndarray):
            tensors.append(Tensor(item.copy()))
        else:
            raise TypeError(f"export: example_input must be a Tensor, a NumPy array or a tuple of "
                            f"them; item {position} is a {type(item).__name__}")
        if tensors[-1].ndim == 0:
            raise ValueError(f"export: example input {position} is 0-d; inputs have a batch axis")
    return tensors


def _state_names(model) -> dict:
    """id(array) -> state-dict key, for every parameter and buffer (initializer names)."""
    names = {}
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        names.setdefault(id(tensor.data), name)
    return names


class _Recorder:
    """What ``Function.apply`` and the in-place methods report during the traced forward."""

    def __init__(self):
        self.records = []

    def __call__(self, function, args, kwargs, result):
        self.records.append((function, args, kwargs, result))

    def in_place(self, tensor, result):
        """``tensor`` now holds ``result``'s values (``x.add_(y)``, ``x.clamp_(0)``, ...)."""
        self.records.append((None, tensor, None, result))


def _trace(model, inputs, graph):
    """Run ``model(*inputs)`` once, turning each Function application into ONNX nodes."""
    recorder = _Recorder()
    previous, _function._tracer = _function._tracer, recorder
    try:
        with no_grad():
            outputs = model(*inputs)
    finally:
        _function._tracer = previous
    for function, args, kwargs, result in recorder.records:
        if function is None:  # an in-place write: the tensor's later uses read the result
            graph._keep.append((args, result))
            graph.values[id(args)] = graph.name(result)
            continue
        converter = CONVERTERS.get(function)
        if converter is None:
            raise OnnxExportError(
                f"export: the model applies {function.__name__} ({function.__module__}), which "
                f"has no ONNX translation; supported: {', '.join(supported_functions())}")
        graph._keep.append((args, kwargs, result))
        graph.values[id(result)] = converter(graph, function, args, kwargs, result)
    return outputs


def _value_info(helper, name, array_shape, dtype, dynamic_batch):
    shape = list(array_shape)
    if dynamic_batch:
        shape[0] = "batch"
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)),
                                         shape)


def export(model, example_input, path, opset_version=17, dynamic_batch=True,
           input_names=None, output_names=None):
    """Write ``model``'s forward on ``example_input`` to ``path`` as an ONNX model.

    ``example_input``: a Tensor or NumPy array (or a tuple of them, one per
    forward argument) of the shape the graph takes; the model runs once on it,
    in eval mode (restored afterwards), without gradients. ``opset_version``:
    the ONNX operator set (14 or newer: HardSwish). ``dynamic_batch``: the
    first axis of every input and output is named ``batch`` and may take any
    size. Inputs are named ``input`` (``input_0``, ... for several) and outputs
    ``output`` unless ``input_names``/``output_names`` say otherwise.

    The graph is validated by ``onnx.checker`` (with shape inference) before
    it is written. Returns the ``onnx.ModelProto``. Raises
    :class:`OnnxExportError` naming the first Function without an ONNX
    translation, or a shape use that a dynamic batch cannot follow.
    """
    try:
        import onnx
        from onnx import helper
    except ImportError:
        raise ImportError(_MISSING) from None
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset_version, bool) or not isinstance(opset_version, int) \
            or not 14 <= opset_version <= newest:
        raise ValueError(f"export: opset_version must be an int from 14 to {newest} (this onnx "
                         f"package's newest), got {opset_version!r}")
    if not isinstance(dynamic_batch, bool):
        raise TypeError(f"export: dynamic_batch must be a bool, got {dynamic_batch!r}")
    inputs = _as_tensors(example_input)
    input_names = list(input_names) if input_names is not None else (
        ["input"] if len(inputs) == 1 else [f"input_{i}" for i in range(len(inputs))])
    if len(input_names) != len(inputs):
        raise ValueError(f"export: {len(input_names)} input_names for {len(inputs)} inputs")

    graph = GraphBuilder(opset_version, dynamic_batch, _state_names(model))
    for tensor, name in zip(inputs, input_names):
        graph.values[id(tensor)] = name
    was_training = model.training
    model.eval()
    try:
        outputs = _trace(model, inputs, graph)
    finally:
        model.train(was_training)
    outputs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    if not all(isinstance(out, Tensor) for out in outputs):
        raise OnnxExportError(f"export: the model must return a Tensor or a tuple of Tensors, got "
                              f"{', '.join(type(out).__name__ for out in outputs)}")
    output_names = list(output_names) if output_names is not None else (
        ["output"] if len(outputs) == 1 else [f"output_{i}" for i in range(len(outputs))])
    if len(output_names) != len(outputs):
        raise ValueError(f"export: {len(output_names)} output_names for {len(outputs)} outputs")
    for out, name in zip(outputs, output_names):
        # An Identity gives each output its own name (an output may be an input or a constant).
        graph.nodes.append(helper.make_node("Identity", [graph.name(out)], [name],
                                            name=graph.fresh("Identity")))

    onnx_graph = helper.make_graph(
        graph.nodes, type(model).__name__,
        [_value_info(helper, n, t.shape, t.dtype, dynamic_batch) for t, n in zip(inputs, input_names)],
        [_value_info(helper, n, t.shape, t.dtype, dynamic_batch) for t, n in zip(outputs, output_names)],
        initializer=graph.initializers)
    proto = helper.make_model(onnx_graph, producer_name="minicnn",
                              opset_imports=[helper.make_opsetid("", opset_version)])
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, os.fspath(path))
    return proto
