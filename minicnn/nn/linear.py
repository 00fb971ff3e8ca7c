"""``Linear`` and ``Identity`` (torch.nn's arguments, names and init).

``Linear``: ``y = x W^T + b`` with ``W`` (out_features, in_features) and ``b``
(out_features,); PyTorch's default init, as for Conv2d: ``W`` by
kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(in_features), 1/sqrt(in_features)),
and ``b`` from the same interval.
"""
import math

from . import functional as F
from . import init
from ._layer_helpers import (empty_parameter, factory_dtype, move_to_device, positive_int,
                             require_bool)
from .module import Module

__all__ = ["Identity", "Linear"]


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (as in PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = input @ weight.T + bias`` on the last dimension: (*, in_features) -> (*, out_features)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        layer = type(self).__name__
        self.in_features = positive_int(in_features, "in_features", layer)
        self.out_features = positive_int(out_features, "out_features", layer)
        bias = require_bool(bias, "bias", layer)
        dtype = factory_dtype(dtype, layer)
        self.weight = empty_parameter((self.out_features, self.in_features), dtype)
        if bias:
            self.bias = empty_parameter((self.out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        move_to_device(self, device)

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

    def forward(self, input):
        from ..tensor import Tensor

        if not isinstance(input, Tensor):
            raise TypeError(f"Linear({self.extra_repr()}): input must be a Tensor, "
                            f"got {type(input).__name__}")
        if input.ndim < 1 or input.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.extra_repr()}): expected input with "
                             f"in_features={self.in_features} in its last dimension, "
                             f"got shape {input.shape}")
        return F.linear(input, self.weight, self.bias)
