"""``BatchNorm2d``: batch normalisation over (N, H, W) per channel, with running statistics.

The normalisation and its gradient are in :mod:`minicnn.ops.norm`; the
layer holds the state, exactly as ``torch.nn.BatchNorm2d`` names it:

* parameters ``weight`` (gamma, init 1) and ``bias`` (beta, init 0) when ``affine``;
* buffers ``running_mean`` (init 0), ``running_var`` (init 1) and
  ``num_batches_tracked`` (int64, init 0) when ``track_running_stats``.

Each training-mode call updates, with ``m = momentum``::

    running_mean <- (1 - m) running_mean + m mean_batch
    running_var  <- (1 - m) running_var  + m var_batch * n / (n - 1)   (unbiased, n = N*H*W)
    num_batches_tracked <- num_batches_tracked + 1

``momentum=None`` uses ``m = 1 / num_batches_tracked`` (after the increment),
which makes the running values the plain average over all batches seen.
Eval mode normalises with the running statistics (batch statistics when
they are not tracked).
"""
from .. import tensor as _tensor
from . import functional as F
from . import init
from ._layer_helpers import (check_channels, check_input, empty_parameter, factory_dtype,
                             move_to_device, positive_int, require_bool, require_real)
from .module import Module

__all__ = ["BatchNorm2d"]


class BatchNorm2d(Module):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel of an (N, C, H, W) input."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        layer = type(self).__name__
        num_features = positive_int(num_features, "num_features", layer)
        require_real(eps, "eps", layer)
        if not eps >= 0:
            raise ValueError(f"{layer}: eps must be >= 0, got {eps!r}")
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
        if affine:
            self.weight = empty_parameter((num_features,), dtype)
            if bias:
                self.bias = empty_parameter((num_features,), dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
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
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

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

    def _check_input(self, input) -> None:
        layer = f"{type(self).__name__}({self.num_features})"
        check_input(input, layer, (4,), "(N, C, H, W)")
        check_channels(input, self.num_features, layer, "num_features")
        if self.training:
            n, _, h, w = input.shape
            if n * h * w <= 1:
                raise ValueError(f"{layer}: expected more than 1 value per channel when training "
                                 f"(N*H*W = {n * h * w} for input shape {input.shape})")

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
        output = F.batch_norm(input,
                              self.running_mean if pass_buffers else None,
                              self.running_var if pass_buffers else None,
                              self.weight, self.bias, use_batch_stats, factor, self.eps)
        if tracking:
            self.num_batches_tracked.data += 1  # only after batch_norm succeeded
        return output
