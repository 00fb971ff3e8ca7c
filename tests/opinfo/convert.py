"""PyTorch sample arguments as minicnn arguments, and minicnn results as NumPy.

``to_minicnn`` walks args/kwargs: a torch tensor becomes a minicnn tensor
with the same values, dtype and ``requires_grad`` (the same torch tensor
twice gives the same minicnn tensor, so shared inputs stay shared); a
``torch.Size`` a tuple; a ``torch.dtype`` its NumPy dtype; everything else
(numbers, strings, None, torch objects minicnn does not model); a
``torch.memory_format`` becomes its name, as minicnn spells it as it is, for
minicnn to accept or reject.
"""
import numpy as np
import torch

import minicnn

_DTYPES = {torch.float16: np.float16, torch.float32: np.float32, torch.float64: np.float64,
           torch.int8: np.int8, torch.int16: np.int16, torch.int32: np.int32,
           torch.int64: np.int64, torch.uint8: np.uint8, torch.bool: np.bool_}


class Converter:
    """``convert(value)`` gives minicnn's arguments, ``convert.torch(value)`` PyTorch's.

    PyTorch's side gets fresh leaves (``detach`` keeps the strides, so
    non-contiguous samples stay non-contiguous): a sample's tensor may be a
    view made from another leaf, whose gradient would go to that leaf.
    """

    def __init__(self):
        self.tensors = {}  # id(sample tensor) -> (torch leaf, minicnn tensor)

    def torch(self, value):
        if isinstance(value, torch.Tensor):
            self.tensor(value)
            return self.tensors[id(value)][0]
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return type(value)(*(self.torch(v) for v in value))
        if isinstance(value, (list, tuple)):
            return type(value)(self.torch(v) for v in value)
        if isinstance(value, dict):
            return {k: self.torch(v) for k, v in value.items()}
        return value

    def __call__(self, value):
        if isinstance(value, torch.Tensor):
            return self.tensor(value)
        if isinstance(value, torch.Size):
            return tuple(value)
        if isinstance(value, torch.memory_format):  # torch.preserve_format -> "preserve_format"
            return str(value).replace("torch.", "")
        if isinstance(value, torch.dtype):
            return np.dtype(_DTYPES[value]) if value in _DTYPES else value
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return type(value)(*(self(v) for v in value))
        if isinstance(value, (list, tuple)):
            return type(value)(self(v) for v in value)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return value

    def tensor(self, value):
        key = id(value)
        if key not in self.tensors:
            grad = value.requires_grad
            # minicnn's own constructor, so that it rejects what it does not model.
            ours = minicnn.tensor(value.detach().resolve_conj().numpy(), requires_grad=grad)
            leaf = value.detach().requires_grad_(grad)
            self.tensors[key] = (leaf, ours)
        return self.tensors[key][1]

    def leaves(self):
        """(torch, minicnn) pairs of the inputs that require a gradient."""
        return [(t, m) for t, m in self.tensors.values() if t.requires_grad]


def flatten_outputs(result):
    """A result (tensor, tuple, list, namedtuple) as a flat list of leaves."""
    if isinstance(result, (list, tuple)):
        return [leaf for item in result for leaf in flatten_outputs(item)]
    return [result]


def as_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, minicnn.Tensor):
        return value.numpy()
    return np.asarray(value)
