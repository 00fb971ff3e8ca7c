"""``SyncBatchNorm``: batch normalisation whose statistics cover the batches of every rank.

With data-parallel training on N ranks, a ``BatchNorm2d`` normalises each
rank's batch b by that batch's own mean and variance: a different model from
BatchNorm over the global batch N*b (docs/distributed.md says how it differs).
``SyncBatchNorm`` all-reduces the statistics (one all-reduce of sum, sum of
squares and count per layer forward; one of the two gradient sums per
backward: :mod:`minicnn.ops.sync_norm`), so N ranks x batch b train the very
model that one process with batch N*b trains.

It takes any (N, C, *) input and holds exactly BatchNorm2d's parameters and
buffers (state dicts load either way). Without :func:`minicnn.distributed.init`,
with one rank, or in evaluation mode it is plain batch norm, as PyTorch's.
``convert_sync_batchnorm(model)`` swaps every BatchNorm1d/BatchNorm2d of a model
for one, keeping its parameters and buffers.
"""
from ..ops.sync_norm import sync_batch_norm
from .norm import _BatchNorm

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch norm of an (N, C, *) input with per-channel mean and variance over every rank's batch."""

    _RANKS = (2, 3, 4, 5)
    _LAYOUT = "(N, C, *)"
    _batch_norm = staticmethod(sync_batch_norm)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None, *, bias=True):
        if process_group is not None:
            raise ValueError(f"SyncBatchNorm: process_group must be None (the statistics are "
                             f"reduced over every rank of the job), got {process_group!r}")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d/BatchNorm2d (it or below it) replaced by a
        SyncBatchNorm that shares its parameters and buffers and keeps its training mode."""
        if process_group is not None:
            raise ValueError(f"convert_sync_batchnorm: process_group must be None, got "
                             f"{process_group!r}")
        converted = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, bias=module.bias is not None)
            for name in ("weight", "bias"):
                if module._parameters.get(name) is not None:
                    converted._parameters[name] = module._parameters[name]
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                converted._buffers[name] = module._buffers.get(name)
            converted.train(module.training)
        for name, child in list(module._modules.items()):
            if child is not None:
                converted._modules[name] = cls.convert_sync_batchnorm(child)
        return converted
