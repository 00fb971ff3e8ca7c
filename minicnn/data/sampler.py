"""``DistributedSampler``: each rank's disjoint share of a dataset, the same number of steps on every rank.

Epoch ``e``'s global order is ``default_rng([seed, e]).permutation(n)`` (or
``0..n-1`` without shuffling): every rank computes it from the shared seed,
so nothing is communicated. Beginning at position ``start`` of that order (0,
or how many samples the job had consumed when it was interrupted), the
remaining ``n - start`` indices are

* padded, by repeating the first ones (``drop_last=False``), or cut
  (``drop_last=True``) to a multiple of the number of ranks R;
* dealt out: rank ``r`` takes positions ``r, r + R, r + 2R, ...``.

Dealing (rather than one block per rank) makes the first ``k * R * b`` positions
exactly what the R ranks consumed after ``k`` steps of per-rank batch ``b``:
the position in an epoch is a single global number, so a run resumes from it
with the same or another number of ranks (``set_epoch(epoch, start=...)``).
"""
import numpy as np

from .. import distributed
from .._validation import as_int

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """The indices of rank ``rank``'s share of ``dataset`` (``torch.utils.data.DistributedSampler``)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        name = "DistributedSampler"
        if num_replicas is None or rank is None:
            if not distributed.is_initialized():
                raise RuntimeError(f"{name}: num_replicas and rank default to the job's world "
                                   f"size and rank, but minicnn.distributed is not initialised; "
                                   f"call minicnn.distributed.init() or pass both")
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        self.num_replicas = as_int(num_replicas, "num_replicas", 1, name)
        self.rank = as_int(rank, "rank", 0, name)
        if self.rank >= self.num_replicas:
            raise ValueError(f"{name}: rank must be in [0, num_replicas - 1] = "
                             f"[0, {self.num_replicas - 1}], got {self.rank}")
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.seed = as_int(seed, "seed", 0, name)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self.start = 0
        self._check_size(len(dataset))

    def _check_size(self, remaining):
        if remaining < self.num_replicas:
            raise ValueError(
                f"DistributedSampler: {remaining} sample(s) cannot be shared by num_replicas="
                f"{self.num_replicas} ranks: every rank needs a distinct sample (drop_last=True "
                f"would leave none, padding would repeat one on several ranks); use fewer ranks "
                f"or a larger dataset")

    def set_epoch(self, epoch, start=0):
        """Use epoch ``epoch``'s order from its position ``start`` (the samples the whole job
        has consumed of it: 0 for a new epoch). Call it on every rank, before each epoch."""
        self.epoch = as_int(epoch, "epoch", 0, "DistributedSampler.set_epoch")
        start = as_int(start, "start", 0, "DistributedSampler.set_epoch")
        if start >= len(self.dataset):
            raise ValueError(f"DistributedSampler.set_epoch: start must be below the dataset's "
                             f"{len(self.dataset)} samples, got {start}")
        self._check_size(len(self.dataset) - start)
        self.start = start

    def __len__(self) -> int:
        remaining = len(self.dataset) - self.start
        if self.drop_last:
            return remaining // self.num_replicas
        return -(-remaining // self.num_replicas)

    def __iter__(self):
        n = len(self.dataset)
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle
                 else np.arange(n))[self.start:]
        total = len(self) * self.num_replicas
        if total > len(order):  # pad with the first indices (several times if need be)
            order = np.resize(order, total)
        return iter(order[:total][self.rank::self.num_replicas].tolist())
