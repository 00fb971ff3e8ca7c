"""Activation layers: thin modules over :mod:`minicnn.ops.activation` (formulas there).

Names, arguments and reprs are torch.nn's. ``inplace=True`` is accepted (and
shown in the repr, as in PyTorch) but the result is always a new tensor:
minicnn's autograd records no in-place operations.
"""
from . import functional as F
from . import init as _init
from ._layer_helpers import (empty_parameter, factory_dtype, move_to_device, positive_int,
                             require_bool, require_real)
from .module import Module

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SiLU", "Hardswish", "Hardsigmoid", "Sigmoid",
           "Tanh", "GELU", "Softmax", "LogSoftmax", "Softplus", "Mish", "PReLU"]


class _InplaceActivation(Module):
    """An activation with PyTorch's ``inplace`` flag; ``extra_repr`` shows it when True."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = require_bool(inplace, "inplace", type(self).__name__)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    """``max(x, 0)``."""

    def forward(self, input):
        return F.relu(input, self.inplace)


class ReLU6(_InplaceActivation):
    """``min(max(x, 0), 6)``."""

    def forward(self, input):
        return F.relu6(input, self.inplace)


class SiLU(_InplaceActivation):
    """``x * sigmoid(x)`` (swish)."""

    def forward(self, input):
        return F.silu(input, self.inplace)


class Hardswish(_InplaceActivation):
    """``x * relu6(x + 3) / 6``."""

    def extra_repr(self) -> str:
        return ""  # PyTorch's Hardswish repr never shows inplace

    def forward(self, input):
        return F.hardswish(input, self.inplace)


class Hardsigmoid(_InplaceActivation):
    """``relu6(x + 3) / 6``."""

    def extra_repr(self) -> str:
        return ""  # PyTorch's Hardsigmoid repr never shows inplace

    def forward(self, input):
        return F.hardsigmoid(input, self.inplace)


class Mish(_InplaceActivation):
    """``x * tanh(softplus(x))``."""

    def forward(self, input):
        return F.mish(input, self.inplace)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, and ``x`` where ``beta x > threshold``."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = require_real(beta, "beta", "Softplus")
        self.threshold = require_real(threshold, "threshold", "Softplus")
        if beta == 0:
            raise ValueError("Softplus: beta must be non-zero (the output divides by it), got 0")

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)


class PReLU(Module):
    """``max(x, 0) + a min(x, 0)`` with a learned slope ``a``: one shared (``num_parameters=1``)
    or one per channel (``num_parameters=C``, dim 1 of the input), initialised to ``init``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = positive_int(num_parameters, "num_parameters", "PReLU")
        self.init = require_real(init, "init", "PReLU")
        self.weight = empty_parameter((self.num_parameters,), factory_dtype(dtype, "PReLU"))
        self.reset_parameters()
        move_to_device(self, device)

    def reset_parameters(self) -> None:
        _init.constant_(self.weight, self.init)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"

    def forward(self, input):
        return F.prelu(input, self.weight)


class LeakyReLU(Module):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""

    def __init__(self, negative_slope=1e-2, inplace=False):
        super().__init__()
        self.negative_slope = require_real(negative_slope, "negative_slope", "LeakyReLU")
        self.inplace = require_bool(inplace, "inplace", "LeakyReLU")

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)


class ELU(Module):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = require_real(alpha, "alpha", "ELU")
        self.inplace = require_bool(inplace, "inplace", "ELU")

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """``tanh(x)``."""

    def forward(self, input):
        return F.tanh(input)


class GELU(Module):
    """``x * Phi(x)`` (``approximate='none'``) or its tanh approximation (``'tanh'``)."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)


class Softmax(Module):
    """``exp(x) / sum(exp(x), dim)``; ``dim=None`` is PyTorch's deprecated implicit choice."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, input):
        return F.softmax(input, self.dim, _stacklevel=5)


class LogSoftmax(Module):
    """``x - log(sum(exp(x), dim))``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, input):
        return F.log_softmax(input, self.dim, _stacklevel=5)
