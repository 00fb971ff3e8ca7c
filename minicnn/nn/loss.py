"""Loss modules over the functional losses (:mod:`minicnn.ops.loss` and its siblings).

As in torch.nn, a ``weight`` (and BCEWithLogitsLoss's ``pos_weight``) is a
buffer (saved in ``state_dict``); ``reduction`` is 'mean', 'sum' or 'none'
('batchmean' too for KLDivLoss); the deprecated ``size_average``/``reduce``
are translated to it with PyTorch's warning, where PyTorch's layer takes them.
"""
from .._validation import require_bool, require_real
from ..ops.loss import _reduction
from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss"]

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction, layer, size_average=None, reduce=None, allowed=_REDUCTIONS):
    return _reduction(reduction, size_average, reduce, layer, allowed)


def _register_weight(module, name, weight):
    """A Tensor (or None) buffer ``name``, saved in ``state_dict`` as in torch.nn."""
    if weight is not None and not isinstance(weight, Tensor):
        raise TypeError(f"{type(module).__name__}: {name} must be a Tensor or None, "
                        f"got {type(weight).__name__}")
    module.register_buffer(name, weight)


class _WeightedLoss(Module):
    def __init__(self, weight, reduction, size_average=None, reduce=None):
        super().__init__()
        layer = type(self).__name__
        _register_weight(self, "weight", weight)
        self.reduction = _check_reduction(reduction, layer, size_average, reduce)


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


class L1Loss(Module):
    """``|input - target|``, reduced (see ``F.l1_loss``)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = _check_reduction(reduction, "L1Loss", size_average, reduce)

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(Module):
    """``0.5 d^2 / beta`` for ``|d| < beta``, else ``|d| - beta / 2``, reduced (see ``F.smooth_l1_loss``)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__()
        self.reduction = _check_reduction(reduction, "SmoothL1Loss", size_average, reduce)
        self.beta = require_real(beta, "beta", "SmoothL1Loss")
        if not beta >= 0:
            raise ValueError(f"SmoothL1Loss: beta must be >= 0, got {beta}")

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(Module):
    """``0.5 d^2`` for ``|d| < delta``, else ``delta (|d| - delta / 2)``, reduced (see ``F.huber_loss``)."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__()
        self.reduction = _check_reduction(reduction, "HuberLoss")
        self.delta = require_real(delta, "delta", "HuberLoss")
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta}")

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities, logs clamped at -100 (see ``F.binary_cross_entropy``)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(weight, reduction, size_average, reduce)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy of ``sigmoid(input)`` in the stable form, with an optional
    ``pos_weight`` per class (see ``F.binary_cross_entropy_with_logits``)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(weight, reduction, size_average, reduce)
        _register_weight(self, "pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class KLDivLoss(Module):
    """``target (log target - input)`` pointwise, reduced; 'batchmean' is the KL divergence per
    sample (see ``F.kl_div``)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__()
        self.reduction = _check_reduction(reduction, "KLDivLoss", size_average, reduce,
                                          allowed=("none", "batchmean", "sum", "mean"))
        self.log_target = require_bool(log_target, "log_target", "KLDivLoss")

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
