"""The ONNX graph under construction: value names, initializers and nodes.

Every tensor the traced forward touches gets one name: the graph input, the
output of a traced Function, or an initializer (a parameter or buffer, named
by its state-dict key, or any other constant array or scalar).
"""
import itertools

import numpy as np

from ..backend import is_cupy_array
from ..tensor import Tensor


class OnnxExportError(ValueError):
    """The traced forward holds something ONNX export does not translate (named in the message)."""


def host(array):
    """A NumPy copy of ``array`` (from the GPU if needed)."""
    return array.get() if is_cupy_array(array) else np.asarray(array)


class GraphBuilder:
    """Collects nodes and initializers; :meth:`name` gives any argument its ONNX value name."""

    def __init__(self, opset: int, dynamic_batch: bool, state_names: dict):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.opset = opset
        self.dynamic_batch = dynamic_batch
        self.nodes, self.initializers = [], []
        self.values = {}                # id(Tensor) -> value name
        self._constants = {}            # id(array) -> initializer name (each stored once)
        self._state_names = state_names  # id(array) -> state-dict key
        self._keep = []                 # the traced objects, alive so that no id is reused
        self._counter = itertools.count()

    def fresh(self, hint: str) -> str:
        return f"{hint}_{next(self._counter)}"

    def constant(self, array, hint="const") -> str:
        """An initializer holding ``array`` (a NumPy or CuPy array, or a scalar)."""
        key = id(array)
        if key in self._constants:
            return self._constants[key]
        self._keep.append(array)
        name = self._state_names.get(key) or self.fresh(hint)
        self.initializers.append(self.numpy_helper.from_array(host(array), name))
        self._constants[key] = name
        return name

    def ints(self, values, hint="shape") -> str:
        """An int64 1-D initializer (the shape, axes and pads inputs of ONNX ops)."""
        return self.constant(np.asarray(list(values), dtype=np.int64), hint)

    def scalar(self, value, dtype) -> str:
        """A 0-d initializer of ``dtype`` (a clamp bound, an operand like the 2 in ``x * 2``)."""
        return self.constant(np.asarray(value, dtype=dtype), "scalar")

    def name(self, arg, dtype=np.float32) -> str:
        """The value name of a Function argument: a traced tensor's, or a new initializer's
        (a parameter keeps its state-dict key); ``""`` (ONNX's absent input) for None."""
        if arg is None:
            return ""
        if isinstance(arg, Tensor):
            if id(arg) in self.values:
                return self.values[id(arg)]
            self._keep.append(arg)
            return self.constant(arg.data)  # a parameter, a buffer or another constant
        if isinstance(arg, (bool, int, float, np.generic)):
            return self.scalar(arg, dtype)
        return self.constant(arg)

    def node(self, op_type: str, inputs, outputs=1, **attributes):
        """Append one node; returns its output name (or the list of ``outputs`` names)."""
        names = [self.fresh(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names,
                                                name=self.fresh(op_type), **attributes))
        return names[0] if outputs == 1 else names

    def batch_dim(self, target, source_shape, what):
        """A target shape for Reshape: with a dynamic batch its first entry becomes 0 (ONNX:
        "copy the input's size"), which needs the batch axis to stay first and unchanged."""
        target = [int(n) for n in target]
        if not self.dynamic_batch:
            return target
        if not target or not source_shape or target[0] != source_shape[0]:
            raise OnnxExportError(
                f"{what}: reshapes {tuple(source_shape)} to {tuple(target)}, which does not keep "
                f"the batch axis first; export with dynamic_batch=False")
        return [0] + target[1:]
