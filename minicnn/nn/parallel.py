"""``DistributedDataParallel``: one model trained by N processes, each on its share of the batch.

Every rank holds the same model, runs forward and backward on its own batch,
and before the optimizer step every parameter's gradient is replaced by its
average over the ranks: the gradient of the mean loss over the global batch
(docs/distributed.md), so every rank applies the same update and the copies
stay identical.

* At construction rank 0's parameters and buffers are broadcast, after a check
  that every rank's model has the same parameter names, shapes and dtypes.
* Gradients are averaged in *buckets* (about ``bucket_cap_mb`` each, parameters
  in reverse registration order, which is roughly the order backward finishes
  them). A post-accumulate hook on each parameter counts it in; when its bucket
  is complete, the bucket's gradients are copied into one flat buffer and a
  non-blocking all-reduce (MPI ``Iallreduce``) starts, so communication
  overlaps the rest of the backward pass. Buckets start in index order on
  every rank (MPI needs the same order of collectives everywhere); when the
  last one has started, all are waited for and the averages written back into
  ``.grad``.
* ``broadcast_buffers=True`` (the default, as PyTorch) copies rank 0's buffers
  (BatchNorm's running statistics) to every rank before each training forward.
* ``no_sync()``: a context in which backward accumulates local gradients only
  (gradient accumulation); the next synchronised backward averages the sum.

Every parameter that requires a gradient must receive one in each backward
(as PyTorch with ``find_unused_parameters=False``): the next forward says which
did not.
"""
import contextlib

import numpy as np

from .. import distributed
from ..autograd import no_grad
from ..backend import xp_of
from .module import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """Parameters whose gradients are all-reduced together, in one flat buffer."""

    def __init__(self, params):
        self.params = params
        self.ready = set()  # id() of the parameters whose gradient is in
        self.buffer = None
        self.work = None

    def start(self, world_size):
        xp = xp_of(self.params[0].grad)
        # One contiguous copy of the bucket's gradients, pre-divided so the sum is the mean.
        self.buffer = xp.concatenate([p.grad.reshape(-1) for p in self.params]) / world_size
        self.work = distributed.all_reduce(self.buffer, async_op=True)

    def finish(self):
        self.work.wait()
        offset = 0
        for param in self.params:
            size = param.grad.size
            param.grad[...] = self.buffer[offset:offset + size].reshape(param.grad.shape)
            offset += size
        self.ready, self.buffer, self.work = set(), None, None

    def is_complete(self):
        return len(self.ready) == len(self.params)


class DistributedDataParallel(Module):
    """Wrap ``module`` so that backward averages its gradients over the ranks."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=25,
                 find_unused_parameters=False):
        super().__init__()
        if not distributed.is_initialized():
            raise RuntimeError("DistributedDataParallel: minicnn.distributed is not initialised; "
                               "call minicnn.distributed.init() first, in a program started by "
                               "mpiexec -n N")
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a minicnn.nn.Module, got "
                            f"{type(module).__name__}")
        if dim != 0:
            raise ValueError(f"DistributedDataParallel: dim must be 0 (the batch), got {dim!r}")
        if process_group is not None:
            raise ValueError(f"DistributedDataParallel: process_group must be None (every rank "
                             f"of the job), got {process_group!r}")
        if find_unused_parameters:
            raise ValueError("DistributedDataParallel: find_unused_parameters=True is not "
                             "supported: every parameter must receive a gradient")
        if not (isinstance(bucket_cap_mb, (int, float)) and bucket_cap_mb > 0):
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a positive number, "
                             f"got {bucket_cap_mb!r}")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = bucket_cap_mb
        self.device_ids, self.output_device = device_ids, output_device
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        _check_same_parameters(module)
        with no_grad():
            for _, tensor in list(module.named_parameters()) + list(module.named_buffers()):
                distributed.broadcast(tensor.data, src=0)
        self._buckets = _make_buckets([p for _, p in named], bucket_cap_mb * 2 ** 20)
        self._bucket_of = {}
        self._next_bucket = 0  # the first bucket whose all-reduce has not started
        self._sync = True
        self._names = {id(p): name for name, p in named}
        for index, bucket in enumerate(self._buckets):
            for param in bucket.params:
                self._bucket_of[id(param)] = index
                param.register_post_accumulate_grad_hook(self._grad_ready)

    # ------------------------------------------------------------ the hooks
    def _grad_ready(self, param):
        if not self._sync:
            return
        self._buckets[self._bucket_of[id(param)]].ready.add(id(param))
        # Start every complete bucket in index order: MPI needs one collective order on all ranks.
        world_size = distributed.get_world_size()
        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].is_complete():
            self._buckets[self._next_bucket].start(world_size)
            self._next_bucket += 1
        if self._next_bucket == len(self._buckets):  # every gradient is in: collect the averages
            for bucket in self._buckets:
                bucket.finish()
            self._next_bucket = 0

    def _check_previous_backward_complete(self):
        if not any(bucket.ready for bucket in self._buckets):
            return
        missing = [self._names[id(p)] for bucket in self._buckets for p in bucket.params
                   if id(p) not in bucket.ready]
        for bucket in self._buckets:
            if bucket.work is not None:
                bucket.work.wait()  # complete the all-reduces already started before dropping them
            bucket.ready, bucket.buffer, bucket.work = set(), None, None
        self._next_bucket = 0
        raise RuntimeError(
            f"DistributedDataParallel: the previous backward gave no gradient to "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}, so no gradient was "
            f"averaged; every parameter that requires grad must be used in forward (or set "
            f"requires_grad=False on the unused ones)")

    # ------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        self._check_previous_backward_complete()
        if self.broadcast_buffers and self.training:
            for buffer in self.module.buffers():
                distributed.broadcast(buffer.data, src=0)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward inside accumulates local gradients without averaging them."""
        previous, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = previous


def _make_buckets(params, cap_bytes):
    """Consecutive parameters (reverse registration order), at most ``cap_bytes`` of one
    dtype per bucket (a parameter larger than the cap gets its own)."""
    buckets, current, size = [], [], 0
    for param in reversed(params):
        nbytes = param.data.nbytes
        if current and (size + nbytes > cap_bytes or param.dtype != current[0].dtype):
            buckets.append(_Bucket(current))
            current, size = [], 0
        current.append(param)
        size += nbytes
    if current:
        buckets.append(_Bucket(current))
    return buckets


def _check_same_parameters(module):
    """Every rank's parameters and buffers have rank 0's names, shapes and dtypes."""
    mine = [(name, tuple(t.shape), np.dtype(t.dtype).name)
            for name, t in list(module.named_parameters()) + list(module.named_buffers())]
    every = distributed._comm("DistributedDataParallel").allgather(mine)
    for rank, theirs in enumerate(every):
        if theirs == every[0]:
            continue
        for (name0, shape0, dtype0), (name, shape, dtype) in zip(every[0], theirs):
            if (name0, shape0, dtype0) != (name, shape, dtype):
                raise ValueError(f"DistributedDataParallel: the model differs across ranks: "
                                 f"rank 0 has {name0} of shape {shape0} ({dtype0}), rank {rank} "
                                 f"has {name} of shape {shape} ({dtype})")
        raise ValueError(f"DistributedDataParallel: the model differs across ranks: rank 0 has "
                         f"{len(every[0])} parameters and buffers, rank {rank} has {len(theirs)}")
