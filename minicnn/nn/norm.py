"""The normalisation layers, with torch.nn's names, arguments and state-dict keys.

* ``BatchNorm1d`` ((N, C) or (N, C, L)) and ``BatchNorm2d`` ((N, C, H, W)):
  one code path (:class:`_BatchNorm`), batch statistics per channel and
  running statistics;
* ``InstanceNorm2d``: statistics per sample and channel; running statistics
  only with ``track_running_stats=True``;
* ``GroupNorm``, ``LayerNorm``: statistics per sample, no running statistics.

The normalisations and their gradients are in :mod:`minicnn.ops.norm` and
:mod:`minicnn.ops.per_sample_norm`; the layers hold the state, named exactly
as in torch.nn:

* parameters ``weight`` (gamma, init 1) and ``bias`` (beta, init 0) when
  ``affine`` (``elementwise_affine`` for LayerNorm; ``bias=False`` drops beta);
* buffers ``running_mean`` (init 0), ``running_var`` (init 1) and
  ``num_batches_tracked`` (int64, init 0) when ``track_running_stats``.

Each training-mode batch norm call updates, with ``m = momentum``::

    running_mean <- (1 - m) running_mean + m mean_batch
    running_var  <- (1 - m) running_var  + m var_batch * n / (n - 1)   (unbiased, n values per channel)
    num_batches_tracked <- num_batches_tracked + 1

``momentum=None`` uses ``m = 1 / num_batches_tracked`` (after the increment),
which makes the running values the plain average over all batches seen.
Eval mode normalises with the running statistics (batch statistics when
they are not tracked). InstanceNorm2d, as PyTorch's, averages its batch
statistic over the samples, never counts batches, and reads ``momentum=None`` as 0.
"""
import warnings

from .. import tensor as _tensor
from ..ops.per_sample_norm import check_eps, normalized_shape_tuple
from . import functional as F
from . import init
from ._layer_helpers import (check_channels, check_input, empty_parameter, factory_dtype,
                             move_to_device, positive_int, require_bool, require_real)
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "InstanceNorm2d", "GroupNorm", "LayerNorm"]


def _affine_parameters(module, shape, affine, bias, dtype) -> None:
    """``weight`` and ``bias`` of ``shape`` (``bias`` only if asked), or None, as torch names them."""
    module.register_parameter("weight", empty_parameter(shape, dtype) if affine else None)
    module.register_parameter("bias", empty_parameter(shape, dtype) if affine and bias else None)


def _reset_affine(module) -> None:
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _NormBase(Module):
    """The parameters and running statistics of the batch and instance norms (torch's _NormBase)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        layer = type(self).__name__
        num_features = positive_int(num_features, "num_features", layer)
        check_eps(eps, layer, non_negative=True)
        if momentum is not None:
            require_real(momentum, "momentum", layer)
            if not 0 <= momentum <= 1:
                raise ValueError(f"{layer}: momentum must be in [0, 1] or None (cumulative "
                                 f"average), got {momentum!r}")
        affine = require_bool(affine, "affine", layer)
        track_running_stats = require_bool(track_running_stats, "track_running_stats", layer)
        bias = require_bool(bias, "bias", layer)
        dtype = factory_dtype(dtype, layer)

        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _affine_parameters(self, (num_features,), affine, bias, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", _tensor.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", _tensor.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", _tensor.tensor(0, dtype=_tensor.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()
        move_to_device(self, device)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")

    def _fill_missing_state(self, state_dict, prefix) -> None:
        # As PyTorch does for checkpoints without version metadata (any plain dict):
        # a missing num_batches_tracked is not an error; the buffer keeps its value.
        key = prefix + "num_batches_tracked"
        if self.track_running_stats and self.num_batches_tracked is not None and key not in state_dict:
            state_dict[key] = self.num_batches_tracked.data.copy()


class _BatchNorm(_NormBase):
    """Batch normalisation per channel (dim 1) of an input of one of the ranks ``_RANKS``."""

    _RANKS = ()
    _LAYOUT = ""
    # The functional that normalises (SyncBatchNorm's reduces over the ranks).
    _batch_norm = staticmethod(F.batch_norm)

    def _check_input(self, input) -> None:
        layer = f"{type(self).__name__}({self.num_features})"
        check_input(input, layer, self._RANKS, self._LAYOUT)
        check_channels(input, self.num_features, layer, "num_features", dim=1)
        if self.training:
            per_channel = input.numel() // input.shape[1]
            if per_channel == 1:  # none (an empty batch) is fine: an empty output, as PyTorch
                raise ValueError(f"{layer}: expected more than 1 value per channel when training "
                                 f"({per_channel} for input shape {input.shape})")

    def forward(self, input):
        # Every check comes first: a rejected input leaves the running statistics untouched.
        self._check_input(input)
        tracking = self.training and self.track_running_stats and self.num_batches_tracked is not None
        if tracking and self.momentum is None:
            factor = 1.0 / float(int(self.num_batches_tracked.item()) + 1)  # cumulative average
        else:
            factor = 0.0 if self.momentum is None else self.momentum
        # Batch statistics in training, and in eval when no running statistics exist.
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        # The running buffers are passed (and updated) only when they are tracked.
        pass_buffers = not self.training or self.track_running_stats
        output = self._batch_norm(input,
                                  self.running_mean if pass_buffers else None,
                                  self.running_var if pass_buffers else None,
                                  self.weight, self.bias, use_batch_stats, factor, self.eps)
        if tracking:
            self.num_batches_tracked.data += 1  # only after batch_norm succeeded
        return output


class BatchNorm1d(_BatchNorm):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel of an (N, C) or
    (N, C, L) input (an MLP head's features, or sequences), statistics over N (and L)."""

    _RANKS = (2, 3)
    _LAYOUT = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel of an (N, C, H, W) input."""

    _RANKS = (4,)
    _LAYOUT = "(N, C, H, W)"


class InstanceNorm2d(_NormBase):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` per sample and channel of an
    (N, C, H, W) or unbatched (C, H, W) input (statistics over H, W).

    Defaults as PyTorch's: ``affine=False``, ``track_running_stats=False``. With
    tracking, training updates the running statistics (the batch statistic averaged
    over the samples) and evaluation normalises with them; without, every call uses
    the input's statistics.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def forward(self, input):
        layer = f"{type(self).__name__}({self.num_features})"
        check_input(input, layer, (3, 4), "(N, C, H, W) or (C, H, W)")
        channels = input.shape[-3]
        if channels != self.num_features:
            if self.affine or self.track_running_stats:  # the parameters would not fit
                check_channels(input, self.num_features, layer, "num_features")
            warnings.warn(f"{layer}: input has {channels} channels (shape {input.shape}), not "
                          f"num_features={self.num_features}; num_features is unused because "
                          f"affine=False and track_running_stats=False", stacklevel=2)
        batched = input if input.ndim == 4 else input.unsqueeze(0)
        output = F.instance_norm(batched, self.running_mean, self.running_var, self.weight,
                                 self.bias, self.training or not self.track_running_stats,
                                 0.0 if self.momentum is None else self.momentum, self.eps)
        return output if input.ndim == 4 else output.squeeze(0)


class _PerSampleNorm(Module):
    """GroupNorm and LayerNorm: affine parameters only (no running statistics)."""

    def _init_affine(self, shape, affine, bias, dtype, device) -> None:
        layer = type(self).__name__
        _affine_parameters(self, shape, affine, require_bool(bias, "bias", layer),
                           factory_dtype(dtype, layer))
        self.reset_parameters()
        move_to_device(self, device)

    def reset_parameters(self) -> None:
        _reset_affine(self)


class GroupNorm(_PerSampleNorm):
    """``num_channels`` in ``num_groups`` groups, each standardised per sample over its
    channels and positions, then ``weight``, ``bias`` per channel (``affine``): the
    small-batch normalisation (no batch statistics, the same in training and eval)."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__()
        layer = type(self).__name__
        num_groups = positive_int(num_groups, "num_groups", layer)
        num_channels = positive_int(num_channels, "num_channels", layer)
        if num_channels % num_groups:
            raise ValueError(f"{layer}: num_channels must be divisible by num_groups, got "
                             f"num_channels={num_channels} and num_groups={num_groups}")
        check_eps(eps, layer, non_negative=True)
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = require_bool(affine, "affine", layer)
        self._init_affine((num_channels,), self.affine, bias, dtype, device)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")

    def forward(self, input):
        layer = f"{type(self).__name__}({self.num_groups}, {self.num_channels})"
        if not isinstance(input, _tensor.Tensor) or input.ndim < 2:
            raise ValueError(f"{layer}: expected an input (N, C, *) with at least 2 dimensions, "
                             f"got {getattr(input, 'shape', type(input).__name__)}")
        check_channels(input, self.num_channels, layer, "num_channels", dim=1)
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)


class LayerNorm(_PerSampleNorm):
    """Each sample standardised over its last ``len(normalized_shape)`` dimensions, then
    ``weight``, ``bias`` of shape ``normalized_shape`` elementwise (``elementwise_affine``)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        layer = type(self).__name__
        self.normalized_shape = normalized_shape_tuple(normalized_shape, layer)
        check_eps(eps, layer, non_negative=True)
        self.eps = eps
        self.elementwise_affine = require_bool(elementwise_affine, "elementwise_affine", layer)
        self._init_affine(self.normalized_shape, self.elementwise_affine, bias, dtype, device)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

