"""Loss modules: ``CrossEntropyLoss``, ``NLLLoss`` and ``MSELoss`` over :mod:`minicnn.ops.loss`.

As in torch.nn, a class ``weight`` is a buffer (saved in ``state_dict``) and
``reduction`` is 'mean', 'sum' or 'none'.
"""
from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss"]

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction, layer):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{layer}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


class _WeightedLoss(Module):
    def __init__(self, weight, reduction):
        super().__init__()
        layer = type(self).__name__
        if weight is not None and not isinstance(weight, Tensor):
            raise TypeError(f"{layer}: weight must be a Tensor of per-class weights or None, "
                            f"got {type(weight).__name__}")
        self.register_buffer("weight", weight)
        self.reduction = _check_reduction(reduction, layer)


class CrossEntropyLoss(_WeightedLoss):
    """``-log softmax(input)[target]`` per sample (class indices), reduced; see ``F.cross_entropy``."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], "
                             f"got {label_smoothing!r}")
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """``-input[target]`` per sample (``input`` holds log-probabilities), reduced."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class MSELoss(Module):
    """``(input - target)^2``, reduced."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = _check_reduction(reduction, "MSELoss")

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)
